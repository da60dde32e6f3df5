/* config_int.h - private to src/config*.c: the parse context shared by the
 * walker (config_walk.c), the cross-reference checks (config_check.c) and
 * the string helpers (config_util.c: URLs, listen addresses, ${VAR}).
 *
 * Nothing here is part of the public API; other modules include config.h.
 */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <libfyaml.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* One parse: where messages go and where we are in the document. */
typedef struct gw__cfg_ctx {
    const char *name;      /* file name used in messages */
    char *err;             /* caller's message buffer (may be NULL) */
    size_t errlen;
    int failed;            /* the first error wins */
    gw_config_t *c;        /* being filled */
    struct fy_node *root;  /* document root (NULL for an empty file) */
    char path[256];        /* dotted path of the current key, "limits.max_body_bytes" */
    size_t path_len;
    const char *text;      /* the parsed text (after gw_config_flow_env_fixup) */
    const size_t *fix;     /* offsets that fixup rewrote, ascending */
    size_t nfix;
} gw__cfg_ctx_t;

/* Writes "name:line: message" into the context's err (once) and returns
 * GW_ECONFIG. line <= 0 leaves the line out. */
gw_err_t gw__cfg_fail(gw__cfg_ctx_t *x, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copies file text into out for a one-line message: printable ASCII
 * only (others become '?'), at most 60 characters. Returns out. */
const char *gw__cfg_safe(const char *s, size_t n, char out[64]);

/* 1-based line of a node: its own token for scalars, its first scalar for
 * collections, fallback when it has none (empty values). */
int gw__cfg_line(struct fy_node *n, int fallback);

/* The text of scalar n as written in the file (undoing
 * gw_config_flow_env_fixup). *owned is a copy to free when one was needed.
 * NULL (reported at line) when it cannot be restored. */
const char *gw__cfg_scalar(gw__cfg_ctx_t *x, struct fy_node *n, int line, size_t *len, char **owned);

/* The pair of mapping map whose key is the plain text key; NULL if none. */
struct fy_node_pair *gw__cfg_map_pair(struct fy_node *map, const char *key);

/* Walks the whole document into x->c (config_walk.c). */
gw_err_t gw__cfg_walk(gw__cfg_ctx_t *x);
/* Reference and policy checks after the walk (config_check.c). */
gw_err_t gw__cfg_check(gw__cfg_ctx_t *x);
/* Wipes then frees a string that may hold a secret (an API key, a password
 * in a URL). NULL is fine. */
void gw__cfg_free_secret(char *s);
/* Fills the documented defaults; auth_enabled is left to the caller. */
gw_err_t gw__cfg_set_defaults(gw_config_t *c);

/* A parsed http(s) URL; strings are new (caller frees). */
typedef struct gw__cfg_url {
    int is_tls;
    char *host; /* without brackets for IPv6 */
    uint16_t port;
    char *path; /* "" or "/x/y", no trailing slash */
} gw__cfg_url_t;

/* gw_config_flow_env_fixup, also giving in *qmark the offset of the first
 * explicit-key indicator ("? "), or len when there is none. */
gw_err_t gw__cfg_lex(char *text, size_t len, size_t **offs, size_t *n, size_t *qmark);

/* Parses an http:// or https:// URL without userinfo, query or fragment.
 * On GW_EINVAL *why says what is wrong (static text, never the URL). */
gw_err_t gw__cfg_parse_url(const char *url, gw__cfg_url_t *u, const char **why);
/* Parses "host:port" or "[v6]:port" (port 1..65535); *host is new. */
gw_err_t gw__cfg_parse_listen(const char *s, char **host, uint16_t *port);
/* 1 for localhost, 127.0.0.0/8, ::1 and ::ffff:127.x.x.x. */
int gw__cfg_is_loopback(const char *host);
/* 1 when s is "blake2b:" followed by exactly 64 hex digits (either case,
 * as auth.c accepts them). */
int gw__cfg_key_hash_ok(const char *s);
#endif

/* prov_internal.h - what the provider adapter files (prov_*.c) share and
 * nobody else includes: the jsmn tokenizer wrapper used on the OpenAI fast
 * path, jansson helpers used to rebuild requests for Anthropic and Gemini,
 * the stream translator's state and the OpenAI chunk writers.
 * jsmn is compiled once, static, in prov_json.c (GW_PROV_JSMN_IMPL).
 */
#ifndef GW_PROV_INTERNAL_H
#define GW_PROV_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifdef GW_PROV_JSMN_IMPL
#define JSMN_STATIC
#else
#define JSMN_HEADER
#endif
#include <jsmn.h>

#include "provider.h"

/* ---- jsmn documents (prov_json.c) ---- */

#define GW__JTOK_SMALL 256

typedef struct gw__jdoc {
    const char *js;
    int n;          /* tokens used */
    jsmntok_t *tok; /* small, or a heap array when the document is bigger */
    jsmntok_t small[GW__JTOK_SMALL];
} gw__jdoc_t;

/* Tokenizes js[0..len), which must hold exactly one JSON value with only
 * whitespace around it (no NUL byte). GW_EINVAL otherwise, GW_ENOMEM.
 * Always pair with gw__jdoc_free, whatever the result. */
gw_err_t gw__jdoc_parse(gw__jdoc_t *d, const char *js, size_t len);
void gw__jdoc_free(gw__jdoc_t *d);
/* Index of the first token after token i and everything inside it. */
int gw__jnext(const gw__jdoc_t *d, int i);
/* 1 if token i is a string whose raw bytes are s. */
int gw__jstreq(const gw__jdoc_t *d, int i, const char *s);
/* 1 if token i is an object key that, unescaped, equals s (ASCII). */
int gw__jkeyeq(const gw__jdoc_t *d, int i, const char *s);
/* Value token of key in object obj (first match, keys unescaped), -1 if none. */
int gw__jget(const gw__jdoc_t *d, int obj, const char *key);
/* 1 if token i is the primitive literal lit ("true", "null" ...). */
int gw__jlit(const gw__jdoc_t *d, int i, const char *lit);
/* Reads an integer primitive (no fraction or exponent). GW_EINVAL otherwise. */
gw_err_t gw__jint(const gw__jdoc_t *d, int i, int64_t *out);

/* ---- small shared helpers (prov_json.c) ---- */

/* Cuts an incomplete UTF-8 sequence off the end of s (after a truncation). */
void gw__utf8_trim(char *s);
/* Sets msg (may be NULL) to a printf message and a param ("" = null). */
void gw__errmsg(gw_prov_errmsg_t *msg, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends compact JSON text of j to out. */
gw_err_t gw__json_append(gw_buf_t *out, const json_t *j);
/* Parses body with jansson (NUL bytes in strings allowed); NULL if not JSON. */
json_t *gw__json_load(const char *body, size_t len);
/* Appends "Name: value\r\n"; GW_EINVAL if value holds CR, LF or NUL. */
gw_err_t gw__hdr_add(gw_buf_t *h, const char *name, const char *value);
/* Appends base_path (trailing '/' dropped), then "/" version unless the
 * last segment of base_path already is a version ("v" then a digit:
 * v1, v4, v1beta ...), then rest. */
gw_err_t gw__path_join(gw_buf_t *p, const char *base_path, const char *version, const char *rest);
/* Fills out with 2*nbytes random lowercase hex digits and a NUL. */
void gw__rand_hex(char *out, size_t nbytes);
/* Splits "data:<mime>;base64,<data>"; 0 when url is not such a URI. */
int gw__data_uri(const char *url, const char **mime, size_t *mime_len, const char **data);
/* Text of a message content: a string, or an array of {type:text,text}
 * (or {type:refusal,refusal}) parts joined with sep; NULL content gives
 * "". Returns a new string
 * value, or NULL (with *bad = 1) when content has another shape. */
json_t *gw__content_text(const json_t *content, const char *sep, int *bad);
/* "stop": a string or array of strings, as a new array; NULL + *bad if not. */
json_t *gw__stop_array(const json_t *stop, int *bad);
/* Parses an assistant tool call's "arguments" string into an object
 * ("" gives {}); NULL when it is not a JSON object. */
json_t *gw__tool_args(const json_t *arguments);
/* Upstream token counts are clamped to [0, GW__MAX_TOKENS] so that sums
 * of them cannot overflow. */
#define GW__MAX_TOKENS ((int64_t)1 << 40)
int64_t gw__tokens(int64_t v);
/* Token-count field of a jansson object (clamped), 0 when absent or not an integer. */
int64_t gw__jint_get(const json_t *o, const char *key);
/* String field of a jansson object, NULL when absent or not a string. */
const char *gw__jstr_get(const json_t *o, const char *key);
/* New OpenAI usage object {prompt_tokens, completion_tokens, total_tokens,
 * prompt_tokens_details.cached_tokens (cached >= 0),
 * completion_tokens_details.reasoning_tokens (reasoning >= 0)}; NULL on OOM. */
json_t *gw__usage_json(int64_t prompt, int64_t completion, int64_t total, int64_t cached, int64_t reasoning);
/* New OpenAI chat.completion {id, object, created: now, model, choices,
 * usage}; takes choices and usage (either may be NULL: usage omitted,
 * choices NULL means OOM). NULL on OOM. */
json_t *gw__completion_json(const char *id, const char *model, json_t *choices, json_t *usage);
/* New tool call {id, type:"function", function:{name, arguments}} with
 * arguments the compact JSON text of args; NULL on OOM. */
json_t *gw__tool_call_json(const char *id, const char *name, const json_t *args);

/* ---- statuses and errors (prov_common.c, wire-formats 5.5) ---- */

/* The status for the client: 529 -> 503, a non-error status -> 502. */
int gw__client_status(int status);
/* OpenAI error type / code (NULL: none) for a client status. */
const char *gw__status_type(int status);
const char *gw__status_code(int status);
/* Appends the OpenAI error for an upstream status with message (NULL: a
 * generic one quoting the start of body); returns the client status. */
int gw__error_default(int status, const char *message, const char *body, size_t len, gw_buf_t *out);

/* ---- streaming translator (prov_common.c) ---- */

struct gw_xlat {
    gw_prov_kind_t kind;
    int include_usage;
    char *model;       /* upstream model echoed in chunks */
    char id[96];       /* chunk id, same for the whole stream */
    int64_t created;   /* same for the whole stream */
    gw_usage_t usage;  /* -1 fields until seen */
    int64_t cached;    /* cached prompt tokens, -1 unknown */
    int64_t reasoning; /* reasoning tokens, -1 unknown */
    int role_sent;     /* the first (role) chunk went out */
    int id_fixed;      /* id taken from the upstream; do not change it */
    int ntools;        /* tool calls started so far (OpenAI tool index) */
    int saw_tool;      /* gemini: a functionCall part was seen */
    int64_t ant_input;       /* anthropic: input_tokens, -1 unknown */
    int64_t ant_cache_write; /* anthropic: cache_creation_input_tokens, -1 unknown */
    int *blk_tool;     /* anthropic: content block index -> tool index or -1 */
    size_t blk_cap;
};

/* Chunk writers: each appends one whole "data: {...}\n\n" frame. */
gw_err_t gw__chunk_role(gw_xlat_t *x, gw_buf_t *out);
gw_err_t gw__chunk_text(gw_xlat_t *x, gw_buf_t *out, const char *text, size_t len);
gw_err_t gw__chunk_tool_start(gw_xlat_t *x, gw_buf_t *out, int k, const char *id, const char *name,
                              const char *args, size_t args_len);
gw_err_t gw__chunk_tool_args(gw_xlat_t *x, gw_buf_t *out, int k, const char *args, size_t len);
gw_err_t gw__chunk_finish(gw_xlat_t *x, gw_buf_t *out, const char *reason);
gw_err_t gw__chunk_usage(gw_xlat_t *x, gw_buf_t *out);
/* Takes the upstream's id (s, n bytes) as the stream's chunk id if it has
 * not been fixed yet and fits; later calls do nothing. */
void gw__xlat_set_id(gw_xlat_t *x, const char *s, size_t n);
/* Fills info's error fields (message, type, code may be NULL). */
void gw__xlat_set_error(gw_xlat_info_t *info, const char *message, const char *type, const char *code);

/* ---- per provider (prov_openai.c, prov_anthropic.c, prov_gemini.c) ---- */

gw_err_t gw__openai_build(const char *body, size_t len, const gw_chat_info_t *info, const char *base_path,
                          const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                          gw_prov_errmsg_t *msg);
gw_err_t gw__openai_response(const char *body, size_t len, gw_buf_t *out, gw_usage_t *usage);
int gw__openai_error(int status, const char *body, size_t len, gw_buf_t *out);
gw_err_t gw__openai_event(gw_xlat_t *x, const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info);

gw_err_t gw__anthropic_build(const char *body, size_t len, const gw_chat_info_t *info, const char *base_path,
                             const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                             gw_prov_errmsg_t *msg);
gw_err_t gw__anthropic_response(const char *body, size_t len, const char *upstream_model, gw_buf_t *out,
                                gw_usage_t *usage);
int gw__anthropic_error(int status, const char *body, size_t len, gw_buf_t *out);
gw_err_t gw__anthropic_event(gw_xlat_t *x, const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info);
const char *gw__anthropic_finish(const char *stop_reason);

gw_err_t gw__gemini_build(const char *body, size_t len, const gw_chat_info_t *info, const char *base_path,
                          const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                          gw_prov_errmsg_t *msg);
gw_err_t gw__gemini_response(const char *body, size_t len, const char *upstream_model, gw_buf_t *out,
                             gw_usage_t *usage);
int gw__gemini_error(int status, const char *body, size_t len, gw_buf_t *out);
gw_err_t gw__gemini_event(gw_xlat_t *x, const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info);
const char *gw__gemini_finish(const char *reason, int has_tool_calls);
int gw__gemini_retry_after(const char *body, size_t len);

/* ---- operations other than chat (prov_ops.c, prov_embed.c, prov_rerank.c) ---- */

/* Starts the inspection of an op request: zeroes info (max_tokens -1),
 * tokenizes body into d and checks it is one JSON object. GW_EINVAL with
 * msg, GW_ENOMEM. Always pair with gw__jdoc_free. */
gw_err_t gw__op_parse(gw__jdoc_t *d, const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg);
/* Value tokens of the top-level keys: keys[k]'s value goes to
 * val[slot[k]] (slot NULL: val[k]), -1 when absent. GW_EINVAL with msg on
 * a key given twice (an alias counts as the key it stands for) or a
 * malformed member. */
gw_err_t gw__op_keys(const gw__jdoc_t *d, const char *const *keys, const int *slot, int nkeys, int *val,
                     gw_prov_errmsg_t *msg);
/* Checks the "model" value token v (-1: absent) is a non-empty string and
 * fills info's model and splice (body, model offsets, obj_end). */
gw_err_t gw__op_model(const gw__jdoc_t *d, int v, const char *body, size_t len, gw_chat_info_t *info,
                      gw_prov_errmsg_t *msg);
/* 1 for true, 0 for false, null or no token (v < 0), -1 for anything else. */
int gw__jbool(const gw__jdoc_t *d, int v);
/* Appends body with its "model" value (info->splice offsets) replaced by
 * model as a JSON string; the other bytes are copied as they are. */
gw_err_t gw__splice_model(const char *body, size_t len, const gw_chat_info_t *info, const char *model,
                          gw_buf_t *out);
/* Appends "Authorization: Bearer <key>" unless key is NULL or "";
 * GW_EINVAL with msg when it holds a line break. */
gw_err_t gw__bearer(gw_buf_t *headers, const char *api_key, gw_prov_errmsg_t *msg);
/* Appends a Gemini model path: base_path (then "/v1beta" unless it ends
 * in a version), "/models/", model without a leading "models/" and
 * percent-encoded, then suffix (":batchEmbedContents"). */
gw_err_t gw__gemini_model_path(gw_buf_t *p, const char *base_path, const char *model, const char *suffix);

/* Embeddings (prov_embed.c) and rerank (prov_rerank.c): inspect, build
 * (model non-empty, info for this body) and answer (usage preset to
 * {-1, 0}; info may be NULL; out is restored by the caller on failure). */
gw_err_t gw__embed_inspect(const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg);
gw_err_t gw__embed_build(gw_prov_kind_t kind, const char *body, size_t len, const gw_chat_info_t *info,
                         const char *base_path, const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                         gw_prov_errmsg_t *msg);
gw_err_t gw__embed_response(gw_prov_kind_t kind, const gw_chat_info_t *info, const char *body, size_t len,
                            const char *upstream_model, gw_buf_t *out, gw_usage_t *usage);
gw_err_t gw__rerank_inspect(const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg);
gw_err_t gw__rerank_build(gw_prov_kind_t kind, const char *body, size_t len, const gw_chat_info_t *info,
                          const char *base_path, const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                          gw_prov_errmsg_t *msg);
gw_err_t gw__rerank_response(gw_prov_kind_t kind, const gw_chat_info_t *info, const char *body, size_t len,
                             const char *upstream_model, gw_buf_t *out, gw_usage_t *usage);

/* Appends item (taken, NULL = out of memory) to the last turn of turns when
 * that turn has this role, else to a new {role, key: [item]} turn: the
 * consecutive-same-role merging both Anthropic (content) and Gemini (parts)
 * need. */
gw_err_t gw__append_turn(json_t *turns, const char *role, const char *key, json_t *item);

#endif

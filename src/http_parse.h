/* http_parse.h - the request head of HTTP/1.1 with llmgw's limits and
 * framing rules, as a pure function over bytes (no connection, no I/O), so
 * that it can be unit-tested and fuzzed on its own.
 */
#ifndef GW_HTTP_PARSE_H
#define GW_HTTP_PARSE_H

#include <stddef.h>

#include "http.h"

typedef struct gw_http_limits_in {
    size_t max_header_bytes;
    size_t max_headers;
    size_t max_body_bytes;
} gw_http_limits_in_t;

typedef struct gw_http_head {
    const char *method; /* all pointers point into the caller's buffer */
    size_t method_len;
    const char *path;
    size_t path_len;
    int minor_version;
    size_t num_headers;
    size_t head_len;       /* bytes of the head, CRLFCRLF included */
    int keepalive;         /* HTTP/1.1 default, Connection: close/keep-alive */
    int chunked;           /* Transfer-Encoding: chunked */
    size_t content_length; /* 0 when absent */
    int expect_continue;   /* Expect: 100-continue */
    const char *error;     /* why, when the result is an HTTP status */
} gw_http_head_t;

/* Parses the head at buf[0..len). headers (capacity cap, at least
 * max_headers + 1) receives the header fields.
 * Returns 0 when the head is complete and acceptable, -2 when more bytes
 * are needed, or the HTTP status to answer with out->error set: 400
 * (malformed, conflicting or unsupported framing), 413 (Content-Length over
 * max_body_bytes), 431 (head over max_header_bytes or too many headers). */
int gw_http_parse_head(const char *buf, size_t len, const gw_http_limits_in_t *lim, gw_http_hdr_t *headers,
                       size_t cap, gw_http_head_t *out);

/* Case-insensitive exact header-name comparison. */
int gw_http_hdr_is(const gw_http_hdr_t *h, const char *name);

#endif

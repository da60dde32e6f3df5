/* http_resp.h - incremental framing of one HTTP/1.1 response, as an
 * upstream client reads it: the head (picohttpparser; interim 1xx heads
 * skipped), then a Content-Length body, a chunked body decoded in place,
 * or a body that runs to EOF; and whether the connection may carry the
 * next exchange. Pure: no I/O, bytes in, callbacks out (so it is fuzzed
 * on its own: fuzz/fuzz_http_resp.c).
 *
 * A callback returns nonzero to stop hearing of this response (the
 * caller cancelled); the framing still runs to the response's end so the
 * connection can be reused when the rest is already there.
 */
#ifndef GW_HTTP_RESP_H
#define GW_HTTP_RESP_H

#include <stddef.h>

#include "buf.h"
#include "picohttpparser.h"

#define GW_RESP_HEAD_MAX 65536 /* a longer head is a protocol error */

typedef enum { GW_RESP_MORE, GW_RESP_DONE, GW_RESP_ERROR } gw_resp_rc_t;

typedef struct gw_resp_cbs {
    /* The final head. retry_after: the Retry-After value or NULL. */
    int (*on_head)(void *data, int status, const char *retry_after, size_t retry_after_len);
    /* Body bytes (de-chunked), n > 0. */
    int (*on_body)(void *data, const char *p, size_t n);
} gw_resp_cbs_t;

typedef struct gw_resp {
    int state;      /* internal */
    int keepalive;  /* valid once DONE: the connection may be reused */
    int head_seen;  /* a final head was parsed */
    int quiet;      /* a callback asked to stop: no more callbacks */
    size_t body_left;
    struct phr_chunked_decoder dec;
    gw_buf_t head;  /* a head that came in pieces */
} gw_resp_t;

/* Ready for a response (gw_resp_free releases the head buffer). */
void gw_resp_init(gw_resp_t *r);
/* Ready for the next response on the same connection. */
void gw_resp_reset(gw_resp_t *r);
void gw_resp_free(gw_resp_t *r);
/* Feeds p[0..n) (modified in place by chunk decoding). MORE: needs more
 * bytes; DONE: the response ended (bytes after it clear keepalive);
 * ERROR: malformed (the connection must be closed). */
gw_resp_rc_t gw_resp_feed(gw_resp_t *r, char *p, size_t n, const gw_resp_cbs_t *cbs, void *data);
/* The peer closed: DONE for a body read to EOF, else ERROR. */
gw_resp_rc_t gw_resp_eof(gw_resp_t *r);

#endif

/* upstream.h - HTTP/1.1 requests to LLM providers on the worker's loop.
 *
 * A thin adapter over libh2o's http1client with a socket pool per upstream
 * (host, port, tls) and per worker (keep-alive reuse, TLS with peer
 * verification against the system CA bundle). It adds what the gateway
 * needs on top: separate connect, first-byte and idle timeouts per attempt,
 * a bound on the response body it buffers, and a cancel that guarantees no
 * callback afterwards.
 */
#ifndef GW_UPSTREAM_H
#define GW_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"

typedef struct gw_upstream_ctx gw_upstream_ctx_t;
typedef struct gw_upstream_req gw_upstream_req_t;

typedef enum {
    GW_UP_OK = 0,          /* the response ended normally */
    GW_UP_ECONNECT,        /* could not connect */
    GW_UP_ERESET,          /* connection closed or broken before the response ended */
    GW_UP_ETIMEOUT_CONNECT,
    GW_UP_ETIMEOUT_FIRST_BYTE,
    GW_UP_ETIMEOUT_IDLE,
    GW_UP_EPROTOCOL        /* malformed HTTP from the upstream */
} gw_up_result_t;

/* Short name for logs and metrics: "ok", "connect_error", "reset", ... */
const char *gw_up_result_name(gw_up_result_t r);

typedef struct gw_upstream_timeouts {
    uint32_t connect_ms;
    uint32_t first_byte_ms;
    uint32_t idle_ms;
} gw_upstream_timeouts_t;

typedef struct gw_upstream_cbs {
    /* The response head arrived. retry_after: the Retry-After value or NULL. */
    void (*on_head)(void *data, int status, const char *retry_after, size_t retry_after_len);
    /* Some body bytes arrived (de-chunked). */
    void (*on_body)(void *data, const char *p, size_t n);
    /* The exchange is over (after on_head, or instead of it on failure).
     * The request object is gone when this returns. */
    void (*on_done)(void *data, gw_up_result_t result);
} gw_upstream_cbs_t;

/* One per worker loop. */
gw_upstream_ctx_t *gw_upstream_ctx_new(uv_loop_t *loop);
/* Frees pools and contexts; call after every request is done or cancelled. */
void gw_upstream_ctx_free(gw_upstream_ctx_t *ctx);

/* Sends POST path with the given Content-Type (NULL: application/json),
 * extra header lines and body to prov.
 * The bytes are copied. Callbacks come on the loop, never from inside this
 * call. Returns NULL on allocation failure. */
gw_upstream_req_t *gw_upstream_post(gw_upstream_ctx_t *ctx, const gw_cfg_provider_t *prov, const char *path,
                                    const char *content_type, const char *extra_headers, size_t extra_len, const char *body, size_t body_len,
                                    const gw_upstream_timeouts_t *t, const gw_upstream_cbs_t *cbs, void *data);
/* Flags of gw_upstream_post_ex. */
enum {
    /* The body is not copied: it must stay as it is until on_done has
     * been called or the request cancelled (a batch of spans). */
    GW_UP_F_BORROW = 1,
};
/* gw_upstream_post with flags (GW_UP_F_*). */
gw_upstream_req_t *gw_upstream_post_ex(gw_upstream_ctx_t *ctx, const gw_cfg_provider_t *prov, const char *path,
                                       const char *content_type, const char *extra_headers, size_t extra_len,
                                       const char *body, size_t body_len, const gw_upstream_timeouts_t *t,
                                       const gw_upstream_cbs_t *cbs, void *data, unsigned flags);
/* Aborts the exchange: no callback is called after this. */
void gw_upstream_cancel(gw_upstream_req_t *r);

#endif

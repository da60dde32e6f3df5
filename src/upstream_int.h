/* upstream_int.h - what upstream.c (the exchange: timers, callbacks, and
 * the TLS path through libh2o) shares with upstream_plain.c (plain HTTP on
 * our own keep-alive pool). Private to those two files.
 *
 * The exchange object is common; a backend attaches to it, feeds its
 * callbacks and ends it with gw__up_finish. Re-entrancy rule: a backend
 * sets r->in_cb around every user callback; a gw_upstream_cancel from
 * inside one only marks the request done (phase GW__UP_DONE, no callback
 * afterwards) and the backend frees it with gw__up_release once the
 * callback has returned.
 */
#ifndef GW_UPSTREAM_INT_H
#define GW_UPSTREAM_INT_H

#include "h2o.h"
#include "upstream.h"

enum { GW__UP_CONNECT, GW__UP_FIRST_BYTE, GW__UP_BODY, GW__UP_DONE };

struct gw__plain_ctx;
struct gw__plain_conn;

struct gw_upstream_req {
    gw_upstream_ctx_t *ctx;
    uv_timer_t timer;
    gw_upstream_cbs_t cbs;
    void *data;
    gw_upstream_timeouts_t t;
    int phase;
    int in_cb;   /* inside a user callback */
    int in_post; /* inside gw_upstream_post: failures are reported from the loop */
    gw_up_result_t deferred;
    /* TLS path (libh2o) */
    h2o_http1client_t *client;
    h2o_iovec_t reqbufs[2];
    /* plain path (upstream_plain.c) */
    struct gw__plain_conn *conn;
    int retried; /* a reused connection died before answering: tried once more */
    size_t headlen;   /* the request head, in bytes[] */
    const char *body; /* the body: in bytes[] after the head, or the caller's (GW_UP_F_BORROW) */
    size_t body_len;
    char bytes[];
};

/* Arms the exchange's one timer (0 stops it); it ends the exchange with
 * the timeout of the current phase. */
void gw__up_arm(gw_upstream_req_t *r, uint32_t ms);
/* Ends the exchange: reports on_done (unless cancelled) and frees it. The
 * backend must have detached itself first. From inside gw_upstream_post
 * the report is deferred to the loop. */
void gw__up_finish(gw_upstream_req_t *r, gw_up_result_t res);
/* Frees a request that a user callback cancelled (phase is GW__UP_DONE). */
void gw__up_release(gw_upstream_req_t *r);

/* The plain-HTTP backend: one per worker loop. */
struct gw__plain_ctx *gw__plain_ctx_new(uv_loop_t *loop);
/* Closes every pooled connection; the memory goes with the loop's close
 * callbacks (run the loop afterwards). Requests must all be over. */
void gw__plain_ctx_free(struct gw__plain_ctx *p);
/* Starts r on a pooled connection to prov, or a new one. */
void gw__plain_start(struct gw__plain_ctx *p, gw_upstream_req_t *r, const gw_cfg_provider_t *prov);
/* Detaches r from its connection (closing it when the exchange was not
 * complete). Safe when r has no connection. */
void gw__plain_detach(gw_upstream_req_t *r);

#endif

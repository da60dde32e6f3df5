/* upstream.c - provider HTTP exchanges on the worker's libuv loop (see
 * upstream.h): the exchange object, its timers and callbacks; plain HTTP
 * goes through our own keep-alive pool (upstream_plain.c), TLS through
 * libh2o's http1client and socket pools with a client SSL_CTX made on the
 * first TLS request (loading the CA bundle costs memory a plain-HTTP
 * deployment never needs). */
#include "upstream_int.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"

#define POOL_MAX 32
#define POOL_CAPACITY 4096

typedef struct pool_entry {
    char key[300]; /* host:port:tls */
    h2o_socketpool_t pool;
} pool_entry_t;

struct gw_upstream_ctx {
    uv_loop_t *loop;
    h2o_http1client_ctx_t client_ctx;
    h2o_timeout_t io_timeout;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t getaddr_receiver;
    SSL_CTX *ssl_ctx; /* made on the first TLS request */
    pool_entry_t *pools[POOL_MAX];
    size_t n_pools;
    struct gw__plain_ctx *plain;
};

enum { PH_CONNECT = GW__UP_CONNECT, PH_FIRST_BYTE = GW__UP_FIRST_BYTE, PH_BODY = GW__UP_BODY, PH_DONE = GW__UP_DONE };

const char *gw_up_result_name(gw_up_result_t r)
{
    static const char *const names[] = {"ok", "connect_error", "reset", "connect_timeout", "first_byte_timeout",
                                        "idle_timeout", "protocol_error"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "error";
}

gw_upstream_ctx_t *gw_upstream_ctx_new(uv_loop_t *loop)
{
    gw_upstream_ctx_t *ctx = gw_calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->loop = loop;
    h2o_timeout_init(loop, &ctx->io_timeout, 3600 * 1000); /* backstop; ours are per request */
    ctx->queue = h2o_multithread_create_queue(loop);
    h2o_multithread_register_receiver(ctx->queue, &ctx->getaddr_receiver, h2o_hostinfo_getaddr_receiver);
    ctx->client_ctx.loop = loop;
    ctx->client_ctx.getaddr_receiver = &ctx->getaddr_receiver;
    ctx->client_ctx.io_timeout = &ctx->io_timeout;
    ctx->plain = gw__plain_ctx_new(loop);
    if (ctx->plain == NULL) {
        gw_upstream_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

/* The client TLS context, made once per worker on first use; NULL on failure. */
static SSL_CTX *ctx_ssl(gw_upstream_ctx_t *ctx)
{
    if (ctx->ssl_ctx != NULL)
        return ctx->ssl_ctx;
    SSL_CTX *s = SSL_CTX_new(TLS_client_method());
    if (s == NULL)
        return NULL;
    SSL_CTX_set_default_verify_paths(s);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
    ctx->ssl_ctx = s;
    ctx->client_ctx.ssl_ctx = s;
    return s;
}

void gw_upstream_ctx_free(gw_upstream_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    gw__plain_ctx_free(ctx->plain);
    for (size_t i = 0; i < ctx->n_pools; i++) {
        h2o_socketpool_dispose(&ctx->pools[i]->pool);
        gw_free(ctx->pools[i]);
    }
    h2o_multithread_unregister_receiver(ctx->queue, &ctx->getaddr_receiver);
    h2o_multithread_destroy_queue(ctx->queue);
    h2o_timeout_dispose(ctx->loop, &ctx->io_timeout);
    if (ctx->ssl_ctx != NULL)
        SSL_CTX_free(ctx->ssl_ctx);
    gw_free(ctx);
}

static h2o_socketpool_t *ctx_pool(gw_upstream_ctx_t *ctx, const gw_cfg_provider_t *p)
{
    char key[300];
    if (ctx_ssl(ctx) == NULL)
        return NULL;
    snprintf(key, sizeof(key), "%s:%u:%d", p->host, (unsigned)p->port, p->is_tls);
    for (size_t i = 0; i < ctx->n_pools; i++)
        if (strcmp(ctx->pools[i]->key, key) == 0)
            return &ctx->pools[i]->pool;
    if (ctx->n_pools == POOL_MAX)
        return NULL;
    pool_entry_t *e = gw_calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    memcpy(e->key, key, sizeof(key));
    h2o_socketpool_init_by_hostport(&e->pool, h2o_iovec_init(p->host, strlen(p->host)), p->port, p->is_tls,
                                    POOL_CAPACITY);
    h2o_socketpool_set_timeout(&e->pool, ctx->loop, 30000);
    ctx->pools[ctx->n_pools++] = e;
    return &e->pool;
}

/* ---- one exchange ------------------------------------------------------- */

static void req_on_timer_closed(uv_handle_t *h) { gw_free(h->data); }

/* Ends the exchange: stops the timer, reports, frees (deferred). */
static void on_deferred(uv_timer_t *t);
static void req_on_timer_closed(uv_handle_t *h);

/* Frees a request that was marked done from inside a callback. */
static void req_free_later(gw_upstream_req_t *r)
{
    r->client = NULL;
    uv_close((uv_handle_t *)&r->timer, req_on_timer_closed);
}

static void req_finish(gw_upstream_req_t *r, gw_up_result_t res)
{
    if (r->phase == PH_DONE)
        return;
    if (r->in_post) {
        r->deferred = res;
        r->client = NULL;
        uv_timer_start(&r->timer, on_deferred, 0, 0);
        return;
    }
    r->phase = PH_DONE;
    r->client = NULL;
    uv_timer_stop(&r->timer);
    if (r->cbs.on_done != NULL)
        r->cbs.on_done(r->data, res);
    uv_close((uv_handle_t *)&r->timer, req_on_timer_closed);
}

void gw__up_finish(gw_upstream_req_t *r, gw_up_result_t res) { req_finish(r, res); }
void gw__up_release(gw_upstream_req_t *r) { req_free_later(r); }

static void on_deferred(uv_timer_t *t)
{
    gw_upstream_req_t *r = t->data;
    req_finish(r, r->deferred);
}

static void req_on_timeout(uv_timer_t *t)
{
    gw_upstream_req_t *r = t->data;
    gw_up_result_t res = r->phase == PH_CONNECT      ? GW_UP_ETIMEOUT_CONNECT
                         : r->phase == PH_FIRST_BYTE ? GW_UP_ETIMEOUT_FIRST_BYTE
                                                     : GW_UP_ETIMEOUT_IDLE;
    if (r->client != NULL)
        h2o_http1client_cancel(r->client);
    gw__plain_detach(r);
    req_finish(r, res);
}

static void req_arm(gw_upstream_req_t *r, uint32_t ms)
{
    if (ms == 0)
        uv_timer_stop(&r->timer);
    else
        uv_timer_start(&r->timer, req_on_timeout, ms, 0);
}

void gw__up_arm(gw_upstream_req_t *r, uint32_t ms) { req_arm(r, ms); }

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    gw_upstream_req_t *r = client->data;
    h2o_buffer_t *in = client->sock != NULL ? client->sock->input : NULL;
    if (in != NULL && in->size > 0) {
        size_t n = in->size;
        r->in_cb = 1;
        if (r->cbs.on_body != NULL)
            r->cbs.on_body(r->data, in->bytes, n);
        r->in_cb = 0;
        h2o_buffer_consume(&client->sock->input, n);
    }
    if (r->phase == PH_DONE) { /* the callback cancelled us */
        req_free_later(r);
        return -1;
    }
    if (errstr == h2o_http1client_error_is_eos) {
        req_finish(r, GW_UP_OK);
        return 0;
    }
    if (errstr != NULL) {
        req_finish(r, GW_UP_ERESET);
        return -1;
    }
    req_arm(r, r->t.idle_ms);
    return 0;
}

static const char *find_retry_after(h2o_header_t *headers, size_t n, size_t *len)
{
    for (size_t i = 0; i < n; i++)
        if (headers[i].name->len == 11 && strncasecmp(headers[i].name->base, "retry-after", 11) == 0) {
            *len = headers[i].value.len;
            return headers[i].value.base;
        }
    return NULL;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor, int status,
                                       h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers, int rlen)
{
    gw_upstream_req_t *r = client->data;
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        req_finish(r, strstr(errstr, "parse") != NULL ? GW_UP_EPROTOCOL : GW_UP_ERESET);
        return NULL;
    }
    size_t ralen = 0;
    const char *ra = find_retry_after(headers, num_headers, &ralen);
    r->phase = PH_BODY;
    r->in_cb = 1;
    if (r->cbs.on_head != NULL)
        r->cbs.on_head(r->data, status, ra, ralen);
    r->in_cb = 0;
    if (r->phase == PH_DONE) {
        req_free_later(r);
        return NULL;
    }
    if (errstr == h2o_http1client_error_is_eos) { /* no body */
        req_finish(r, GW_UP_OK);
        return NULL;
    }
    req_arm(r, r->t.idle_ms);
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs,
                                          size_t *reqbufcnt, int *method_is_head)
{
    gw_upstream_req_t *r = client->data;
    if (errstr != NULL) {
        req_finish(r, GW_UP_ECONNECT);
        return NULL;
    }
    r->phase = PH_FIRST_BYTE;
    req_arm(r, r->t.first_byte_ms);
    r->reqbufs[0] = h2o_iovec_init(r->bytes, r->headlen);
    r->reqbufs[1] = h2o_iovec_init(r->body, r->body_len);
    *reqbufs = r->reqbufs;
    *reqbufcnt = r->body_len > 0 ? 2 : 1;
    *method_is_head = 0;
    return on_head;
}

static void on_start(uv_timer_t *t);

/* Makes the request: head (and the body, unless borrowed) in one block. */
static gw_upstream_req_t *req_new(const gw_cfg_provider_t *prov, const char *path, const char *content_type,
                                  const char *extra, size_t extra_len, const char *body, size_t body_len,
                                  unsigned flags)
{
    int borrow = (flags & GW_UP_F_BORROW) != 0;
    char head[1024], port[8] = "";
    int v6 = strchr(prov->host, ':') != NULL;
    if (prov->port != (prov->is_tls ? 443 : 80))
        snprintf(port, sizeof(port), ":%u", (unsigned)prov->port);
    int hn = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: %s%s%s%s\r\nContent-Type: %s\r\n"
                      "Accept: application/json, text/event-stream\r\nContent-Length: %zu\r\n",
                      path, v6 ? "[" : "", prov->host, v6 ? "]" : "", port,
                      content_type != NULL ? content_type : "application/json", body_len);
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return NULL;
    size_t headlen = (size_t)hn + extra_len + 2;
    /* not calloc: a copied body would be zeroed only to be overwritten */
    gw_upstream_req_t *r = gw_malloc(sizeof(*r) + headlen + (borrow ? 0 : body_len));
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof(*r));
    memcpy(r->bytes, head, (size_t)hn);
    memcpy(r->bytes + hn, extra, extra_len);
    memcpy(r->bytes + hn + extra_len, "\r\n", 2);
    r->headlen = headlen;
    r->body = borrow ? body : memcpy(r->bytes + headlen, body, body_len);
    r->body_len = body_len;
    return r;
}

gw_upstream_req_t *gw_upstream_post_ex(gw_upstream_ctx_t *ctx, const gw_cfg_provider_t *prov, const char *path,
                                       const char *content_type, const char *extra, size_t extra_len,
                                       const char *body, size_t body_len, const gw_upstream_timeouts_t *t,
                                       const gw_upstream_cbs_t *cbs, void *data, unsigned flags)
{
    gw_upstream_req_t *r = req_new(prov, path, content_type, extra, extra_len, body, body_len, flags);
    if (r == NULL)
        return NULL;
    r->ctx = ctx;
    r->cbs = *cbs;
    r->data = data;
    r->t = *t;
    r->phase = PH_CONNECT;
    uv_timer_init(ctx->loop, &r->timer);
    r->timer.data = r;
    if (!prov->is_tls) {
        req_arm(r, t->connect_ms);
        r->in_post = 1;
        gw__plain_start(ctx->plain, r, prov);
        r->in_post = 0;
        return r;
    }
    h2o_socketpool_t *pool = ctx_pool(ctx, prov);
    if (pool == NULL) {
        uv_timer_start(&r->timer, on_start, 0, 0); /* report the failure from the loop */
        return r;
    }
    req_arm(r, t->connect_ms);
    r->in_post = 1;
    h2o_http1client_connect_with_pool(&r->client, r, &ctx->client_ctx, pool, on_connect);
    r->in_post = 0;
    return r;
}

gw_upstream_req_t *gw_upstream_post(gw_upstream_ctx_t *ctx, const gw_cfg_provider_t *prov, const char *path,
                                    const char *content_type, const char *extra, size_t extra_len, const char *body,
                                    size_t body_len, const gw_upstream_timeouts_t *t, const gw_upstream_cbs_t *cbs,
                                    void *data)
{
    return gw_upstream_post_ex(ctx, prov, path, content_type, extra, extra_len, body, body_len, t, cbs, data, 0);
}

static void on_start(uv_timer_t *t) { req_finish(t->data, GW_UP_ECONNECT); }

void gw_upstream_cancel(gw_upstream_req_t *r)
{
    if (r == NULL || r->phase == PH_DONE)
        return;
    r->cbs.on_done = NULL;
    if (r->in_cb) {
        /* inside a backend's callback: the backend frees the request
         * (gw__up_release) once the callback has returned */
        r->phase = PH_DONE;
        uv_timer_stop(&r->timer);
        return;
    }
    if (r->client != NULL)
        h2o_http1client_cancel(r->client);
    gw__plain_detach(r);
    r->in_post = 0;
    req_finish(r, GW_UP_ERESET);
}

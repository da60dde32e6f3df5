/* upstream_plain.c - plain-HTTP/1.1 upstream exchanges on the worker's libuv
 * loop with our own keep-alive pool (see upstream_int.h).
 *
 * Why not libh2o's socket pool: on libuv it dup()s, closes and re-imports
 * the pooled fd on every request (ioctl, two epoll_ctl, an EAGAIN read),
 * measured at a third of the proxy's CPU per request. Here a pooled
 * connection keeps its uv_tcp_t and stays read-armed (a close by the
 * server while idle is seen at once), the request goes out with one
 * uv_try_write, the head is parsed with picohttpparser and chunked bodies
 * are decoded in place as they arrive. A POST is retried on a fresh
 * connection only when not one byte of it left (the pooled connection
 * was found dead by the write itself): once the upstream may have
 * received it, a failure belongs to the router's failover, which counts
 * and logs the attempt (a second send could bill twice).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "http_resp.h"
#include "upstream_int.h"

#define PLAIN_POOLS_MAX 32
#define PLAIN_IDLE_MAX 256      /* per pool */
#define PLAIN_IDLE_MS 20000     /* closed after this long unused */
#define PLAIN_SWEEP_MS 5000
#define PLAIN_RBUF 65536

typedef struct gw__plain_conn conn_t;

typedef struct pool {
    char host[256];
    uint16_t port;
    conn_t *idle; /* most recently used first */
    size_t n_idle;
} pool_t;

typedef struct gw__plain_ctx {
    uv_loop_t *loop;
    uv_timer_t sweep;
    pool_t *pools[PLAIN_POOLS_MAX];
    size_t n_pools;
    conn_t *all; /* every open connection */
    int freeing;
    char rbuf[PLAIN_RBUF]; /* reads land here; consumed before the callback returns */
} plain_ctx_t;

enum { C_RESOLVING, C_CONNECTING, C_ACTIVE, C_IDLE, C_CLOSING };

struct gw__plain_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_getaddrinfo_t gai;
    uv_write_t write;
    plain_ctx_t *ctx;
    pool_t *pool;
    conn_t *next_idle;
    conn_t *prev, *next; /* ctx->all */
    gw_upstream_req_t *req;
    int state;
    int keepalive; /* may carry another exchange */
    int reused;
    int unsent;    /* the request's write failed before any byte left */
    int got_bytes; /* a byte of the answer arrived */
    uint64_t idle_since_ms;
    gw_resp_t resp; /* the answer's framing (http_resp.c) */
    char *wcopy;    /* the unsent tail of the request, while uv_write runs */
};

static void conn_close(conn_t *c);
static void conn_fail(conn_t *c, gw_up_result_t res);
static void conn_send(conn_t *c);

/* ---- pools and context ------------------------------------------------------ */

static void on_sweep(uv_timer_t *t)
{
    plain_ctx_t *p = t->data;
    uint64_t now = uv_now(p->loop);
    for (size_t i = 0; i < p->n_pools; i++) {
        conn_t **pp = &p->pools[i]->idle;
        while (*pp != NULL) {
            conn_t *c = *pp;
            if (now - c->idle_since_ms >= PLAIN_IDLE_MS) {
                *pp = c->next_idle;
                p->pools[i]->n_idle--;
                c->state = C_ACTIVE; /* off the idle list */
                conn_close(c);
            } else {
                pp = &c->next_idle;
            }
        }
    }
}

plain_ctx_t *gw__plain_ctx_new(uv_loop_t *loop)
{
    plain_ctx_t *p = gw_calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->loop = loop;
    uv_timer_init(loop, &p->sweep);
    p->sweep.data = p;
    uv_timer_start(&p->sweep, on_sweep, PLAIN_SWEEP_MS, PLAIN_SWEEP_MS);
    uv_unref((uv_handle_t *)&p->sweep);
    return p;
}

static void ctx_on_sweep_closed(uv_handle_t *h)
{
    plain_ctx_t *p = h->data;
    for (size_t i = 0; i < p->n_pools; i++)
        gw_free(p->pools[i]);
    gw_free(p);
}

void gw__plain_ctx_free(plain_ctx_t *p)
{
    if (p == NULL)
        return;
    p->freeing = 1;
    while (p->all != NULL) { /* conn_close unlinks */
        conn_t *c = p->all;
        if (c->state == C_IDLE)
            c->state = C_ACTIVE;
        if (c->req != NULL)
            c->req->conn = NULL;
        c->req = NULL;
        conn_close(c);
    }
    uv_close((uv_handle_t *)&p->sweep, ctx_on_sweep_closed);
}

static pool_t *ctx_pool(plain_ctx_t *p, const gw_cfg_provider_t *prov)
{
    for (size_t i = 0; i < p->n_pools; i++)
        if (p->pools[i]->port == prov->port && strcmp(p->pools[i]->host, prov->host) == 0)
            return p->pools[i];
    size_t hl = strlen(prov->host);
    if (p->n_pools == PLAIN_POOLS_MAX || hl >= sizeof(p->pools[0]->host))
        return NULL;
    pool_t *pl = gw_calloc(1, sizeof(*pl));
    if (pl == NULL)
        return NULL;
    memcpy(pl->host, prov->host, hl + 1);
    pl->port = prov->port;
    p->pools[p->n_pools++] = pl;
    return pl;
}

/* ---- connection lifetime ------------------------------------------------------ */

static void conn_on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    gw_resp_free(&c->resp);
    gw_free(c->wcopy);
    gw_free(c);
}

static void conn_unlink(conn_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (c->ctx->all == c)
        c->ctx->all = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void idle_remove(conn_t *c)
{
    for (conn_t **pp = &c->pool->idle; *pp != NULL; pp = &(*pp)->next_idle)
        if (*pp == c) {
            *pp = c->next_idle;
            c->pool->n_idle--;
            break;
        }
    c->next_idle = NULL;
}

/* Closes c (while resolving, the resolver callback closes the handle). */
static void conn_close(conn_t *c)
{
    if (c->state == C_CLOSING)
        return;
    if (c->state == C_IDLE)
        idle_remove(c);
    int resolving = c->state == C_RESOLVING;
    c->state = C_CLOSING;
    c->req = NULL;
    conn_unlink(c);
    if (!resolving)
        uv_close((uv_handle_t *)&c->tcp, conn_on_closed);
}

/* The exchange on c is over and c may serve the next one. */
static void conn_release(conn_t *c)
{
    c->req = NULL;
    if (!c->keepalive || c->ctx->freeing || c->pool->n_idle >= PLAIN_IDLE_MAX) {
        conn_close(c);
        return;
    }
    c->state = C_IDLE;
    c->reused = 1;
    c->idle_since_ms = uv_now(c->ctx->loop);
    c->next_idle = c->pool->idle;
    c->pool->idle = c;
    c->pool->n_idle++;
}

/* ---- the response ------------------------------------------------------------- */

/* http_resp callbacks: hand the head and body to the user; nonzero when
 * the user cancelled from inside (the rest of the answer is then read
 * silently). */
static int resp_on_head(void *data, int status, const char *ra, size_t ralen)
{
    conn_t *c = data;
    gw_upstream_req_t *r = c->req;
    r->phase = GW__UP_BODY;
    if (r->cbs.on_head != NULL) {
        r->in_cb = 1;
        r->cbs.on_head(r->data, status, ra, ralen);
        r->in_cb = 0;
    }
    if (r->phase == GW__UP_DONE)
        return 1;
    gw__up_arm(r, r->t.idle_ms);
    return 0;
}

static int resp_on_body(void *data, const char *p, size_t n)
{
    conn_t *c = data;
    gw_upstream_req_t *r = c->req;
    if (r->cbs.on_body != NULL) {
        r->in_cb = 1;
        r->cbs.on_body(r->data, p, n);
        r->in_cb = 0;
    }
    if (r->phase == GW__UP_DONE)
        return 1;
    gw__up_arm(r, r->t.idle_ms);
    return 0;
}

static const gw_resp_cbs_t resp_cbs = {resp_on_head, resp_on_body};

/* The answer is complete: the connection goes back to the pool, then the
 * user hears of it (and may reuse the connection at once). */
static void conn_complete(conn_t *c)
{
    gw_upstream_req_t *r = c->req;
    int cancelled = c->resp.quiet;
    c->keepalive = c->resp.keepalive;
    r->conn = NULL;
    conn_release(c);
    if (cancelled)
        gw__up_release(r);
    else
        gw__up_finish(r, GW_UP_OK);
}

/* Consumes p[0..n) for the current exchange. */
static void conn_input(conn_t *c, char *p, size_t n)
{
    c->got_bytes = 1;
    gw_resp_rc_t rc = gw_resp_feed(&c->resp, p, n, &resp_cbs, c);
    if (rc == GW_RESP_DONE) {
        conn_complete(c);
    } else if (rc == GW_RESP_ERROR) {
        conn_fail(c, GW_UP_EPROTOCOL);
    } else if (c->resp.quiet) { /* cancelled and the answer is not over: do not wait for it */
        gw_upstream_req_t *r = c->req;
        r->conn = NULL;
        c->keepalive = 0;
        conn_close(c);
        gw__up_release(r);
    }
}

/* ---- failures and retries ----------------------------------------------------- */

static void conn_start_new(plain_ctx_t *p, pool_t *pl, gw_upstream_req_t *r);

/* The exchange failed on c: retry once when c was a reused connection that
 * died before answering, else end it with res. */
static void conn_fail(conn_t *c, gw_up_result_t res)
{
    gw_upstream_req_t *r = c->req;
    int retry = r != NULL && c->reused && c->unsent && !r->retried && !c->resp.quiet;
    int draining = c->resp.quiet;
    pool_t *pl = c->pool;
    plain_ctx_t *p = c->ctx;
    if (r != NULL)
        r->conn = NULL;
    c->keepalive = 0;
    conn_close(c);
    if (r == NULL)
        return;
    if (draining) {
        gw__up_release(r);
    } else if (retry) {
        r->retried = 1;
        r->phase = GW__UP_CONNECT;
        gw__up_arm(r, r->t.connect_ms);
        conn_start_new(p, pl, r);
    } else {
        if (res == GW_UP_ERESET && !c->got_bytes && r->phase == GW__UP_CONNECT)
            res = GW_UP_ECONNECT;
        gw__up_finish(r, res);
    }
}

/* ---- I/O callbacks ------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    conn_t *c = h->data;
    buf->base = c->ctx->rbuf;
    buf->len = sizeof(c->ctx->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    if (nread == 0 || c->state == C_CLOSING)
        return;
    if (c->state == C_IDLE || c->req == NULL) { /* the server spoke or left while idle */
        conn_close(c);
        return;
    }
    if (nread > 0) {
        conn_input(c, buf->base, (size_t)nread);
        return;
    }
    if (nread == UV_EOF && gw_resp_eof(&c->resp) == GW_RESP_DONE) {
        conn_complete(c);
        return;
    }
    conn_fail(c, GW_UP_ERESET);
}

static void on_write(uv_write_t *w, int status)
{
    conn_t *c = w->data;
    gw_free(c->wcopy);
    c->wcopy = NULL;
    if (status != 0 && c->state != C_CLOSING && c->req != NULL)
        conn_fail(c, GW_UP_ERESET);
}

/* Sends the request of c->req: uv_try_write, the rest by uv_write. */
static void conn_send(conn_t *c)
{
    gw_upstream_req_t *r = c->req;
    c->state = C_ACTIVE;
    c->got_bytes = 0;
    c->unsent = 0;
    gw_resp_reset(&c->resp);
    r->phase = GW__UP_FIRST_BYTE;
    gw__up_arm(r, r->t.first_byte_ms);
    uv_buf_t bufs[2] = {uv_buf_init(r->bytes, (unsigned)r->headlen), uv_buf_init((char *)r->body, (unsigned)r->body_len)};
    size_t total = r->headlen + r->body_len;
    int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, r->body_len > 0 ? 2 : 1);
    if (n >= 0 && (size_t)n == total)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        c->unsent = 1;
        conn_fail(c, GW_UP_ERESET);
        return;
    }
    size_t sent = n > 0 ? (size_t)n : 0, rest = total - sent;
    c->wcopy = gw_malloc(rest);
    if (c->wcopy == NULL) {
        conn_fail(c, GW_UP_ERESET);
        return;
    }
    size_t hsent = sent < r->headlen ? sent : r->headlen; /* the head's bytes that left */
    size_t hrest = r->headlen - hsent;
    memcpy(c->wcopy, r->bytes + hsent, hrest);
    if (rest > hrest)
        memcpy(c->wcopy + hrest, r->body + (sent - hsent), rest - hrest);
    uv_buf_t b = uv_buf_init(c->wcopy, (unsigned)rest);
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        gw_free(c->wcopy);
        c->wcopy = NULL;
        conn_fail(c, GW_UP_ERESET);
    }
}

static void on_connect(uv_connect_t *cr, int status)
{
    conn_t *c = cr->data;
    if (c->state == C_CLOSING)
        return;
    if (status != 0 || c->req == NULL) {
        conn_fail(c, GW_UP_ECONNECT);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_fail(c, GW_UP_ECONNECT);
        return;
    }
    conn_send(c);
}

static void conn_connect(conn_t *c, const struct sockaddr *sa)
{
    c->state = C_CONNECTING;
    c->connect.data = c;
    if (uv_tcp_connect(&c->connect, &c->tcp, sa, on_connect) != 0)
        conn_fail(c, GW_UP_ECONNECT);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    conn_t *c = g->data;
    if (c->state == C_CLOSING) { /* closed while resolving (the context may be gone) */
        uv_close((uv_handle_t *)&c->tcp, conn_on_closed);
    } else if (status != 0 || res == NULL) {
        c->state = C_CONNECTING;
        conn_fail(c, GW_UP_ECONNECT);
    } else {
        conn_connect(c, res->ai_addr);
    }
    uv_freeaddrinfo(res);
}

/* ---- starting an exchange ------------------------------------------------------ */

static void conn_start_new(plain_ctx_t *p, pool_t *pl, gw_upstream_req_t *r)
{
    conn_t *c = gw_calloc(1, sizeof(*c));
    if (c == NULL) {
        gw__up_finish(r, GW_UP_ECONNECT);
        return;
    }
    c->ctx = p;
    c->pool = pl;
    c->req = r;
    r->conn = c;
    gw_resp_init(&c->resp);
    uv_tcp_init(p->loop, &c->tcp);
    c->tcp.data = c;
    c->next = p->all;
    if (p->all != NULL)
        p->all->prev = c;
    p->all = c;
    struct sockaddr_storage ss;
    if (uv_ip4_addr(pl->host, pl->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(pl->host, pl->port, (struct sockaddr_in6 *)&ss) == 0) {
        conn_connect(c, (const struct sockaddr *)&ss);
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)pl->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->state = C_RESOLVING;
    c->gai.data = c;
    if (uv_getaddrinfo(p->loop, &c->gai, on_resolved, pl->host, port, &hints) != 0) {
        c->state = C_CONNECTING;
        conn_fail(c, GW_UP_ECONNECT);
    }
}

void gw__plain_start(plain_ctx_t *p, gw_upstream_req_t *r, const gw_cfg_provider_t *prov)
{
    pool_t *pl = ctx_pool(p, prov);
    if (pl == NULL) {
        gw__up_finish(r, GW_UP_ECONNECT);
        return;
    }
    conn_t *c = pl->idle;
    if (c == NULL) {
        conn_start_new(p, pl, r);
        return;
    }
    pl->idle = c->next_idle;
    pl->n_idle--;
    c->next_idle = NULL;
    c->req = r;
    r->conn = c;
    conn_send(c);
}

void gw__plain_detach(gw_upstream_req_t *r)
{
    conn_t *c = r->conn;
    if (c == NULL)
        return;
    r->conn = NULL;
    c->keepalive = 0;
    conn_close(c);
}

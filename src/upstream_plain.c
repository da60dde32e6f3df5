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
#include "picohttpparser.h"
#include "upstream_int.h"

#define PLAIN_POOLS_MAX 32
#define PLAIN_IDLE_MAX 256      /* per pool */
#define PLAIN_IDLE_MS 20000     /* closed after this long unused */
#define PLAIN_SWEEP_MS 5000
#define PLAIN_HEAD_MAX 65536
#define PLAIN_HEADERS_MAX 64
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
enum { R_HEAD, R_LEN, R_CHUNKED, R_EOF };

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
    int rstate;
    int keepalive;
    int reused;
    int unsent; /* the request's write failed before any byte left */
    int got_bytes;
    int draining; /* the request was cancelled mid-answer: read the rest silently */
    size_t body_left;
    uint64_t idle_since_ms;
    struct phr_chunked_decoder dec;
    gw_buf_t head; /* a response head that came in pieces */
    char *wcopy;   /* the unsent tail of the request, while uv_write runs */
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
    gw_buf_free(&c->head);
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
    c->draining = 0;
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

static int header_is(const struct phr_header *h, const char *name, size_t n)
{
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static int value_has(const struct phr_header *h, const char *token)
{
    size_t n = strlen(token);
    for (size_t i = 0; i + n <= h->value_len; i++)
        if (strncasecmp(h->value + i, token, n) == 0)
            return 1;
    return 0;
}

/* Reads the framing headers; 0, or -1 when they are malformed. */
static int head_framing(conn_t *c, int minor, int status, const struct phr_header *hs, size_t n)
{
    int chunked = 0, have_len = 0;
    size_t len = 0;
    c->keepalive = minor >= 1;
    for (size_t i = 0; i < n; i++) {
        if (header_is(&hs[i], "content-length", 14)) {
            char tmp[24];
            if (hs[i].value_len == 0 || hs[i].value_len >= sizeof(tmp))
                return -1;
            memcpy(tmp, hs[i].value, hs[i].value_len);
            tmp[hs[i].value_len] = '\0';
            char *end = NULL;
            unsigned long long v = strtoull(tmp, &end, 10);
            if (*end != '\0' || tmp[0] < '0' || tmp[0] > '9' || (have_len && v != len))
                return -1;
            len = (size_t)v;
            have_len = 1;
        } else if (header_is(&hs[i], "transfer-encoding", 17)) {
            chunked = value_has(&hs[i], "chunked");
        } else if (header_is(&hs[i], "connection", 10)) {
            if (value_has(&hs[i], "close"))
                c->keepalive = 0;
        }
    }
    if (status == 204 || status == 304) {
        c->rstate = R_LEN;
        c->body_left = 0;
    } else if (chunked) {
        c->rstate = R_CHUNKED;
        memset(&c->dec, 0, sizeof(c->dec));
        c->dec.consume_trailer = 1; /* up to the blank line after the last chunk */
    } else if (have_len) {
        c->rstate = R_LEN;
        c->body_left = len;
    } else {
        c->rstate = R_EOF;
        c->keepalive = 0;
    }
    return 0;
}

static const char *find_retry_after(const struct phr_header *hs, size_t n, size_t *len)
{
    for (size_t i = 0; i < n; i++)
        if (header_is(&hs[i], "retry-after", 11)) {
            *len = hs[i].value_len;
            return hs[i].value;
        }
    return NULL;
}

/* Hands bytes to the user; 1 when the request was cancelled from inside
 * (the connection then drains the rest of the answer silently). */
static int deliver(conn_t *c, const char *p, size_t n)
{
    gw_upstream_req_t *r = c->req;
    if (c->draining || n == 0 || r->cbs.on_body == NULL)
        return c->draining;
    r->in_cb = 1;
    r->cbs.on_body(r->data, p, n);
    r->in_cb = 0;
    if (r->phase == GW__UP_DONE) {
        c->draining = 1;
        return 1;
    }
    gw__up_arm(r, r->t.idle_ms);
    return 0;
}

/* The answer is complete: the connection goes back to the pool, then the
 * user hears of it (and may reuse the connection at once). */
static void conn_complete(conn_t *c)
{
    gw_upstream_req_t *r = c->req;
    int cancelled = c->draining;
    r->conn = NULL;
    conn_release(c);
    if (cancelled)
        gw__up_release(r);
    else
        gw__up_finish(r, GW_UP_OK);
}

/* Body bytes (p may be modified: chunks are decoded in place). Returns 1
 * when the answer is complete. */
static int body_feed(conn_t *c, char *p, size_t n)
{
    if (c->rstate == R_LEN) {
        size_t m = n < c->body_left ? n : c->body_left;
        c->body_left -= m;
        if (m < n)
            c->keepalive = 0; /* bytes after the answer: never reuse */
        deliver(c, p, m);
        return c->body_left == 0;
    }
    if (c->rstate == R_CHUNKED) {
        size_t sz = n;
        ssize_t rc = phr_decode_chunked(&c->dec, p, &sz);
        if (rc == -1) {
            conn_fail(c, GW_UP_EPROTOCOL);
            return -1;
        }
        if (rc > 0)
            c->keepalive = 0;
        deliver(c, p, sz);
        return rc >= 0;
    }
    deliver(c, p, n);
    return 0;
}

/* Parses a head at p[0..n); returns bytes consumed, 0 when incomplete, -1
 * after failing the exchange. Interim 1xx heads are skipped. */
static ssize_t head_parse(conn_t *c, const char *p, size_t n)
{
    struct phr_header hs[PLAIN_HEADERS_MAX];
    size_t nh = PLAIN_HEADERS_MAX, msg_len = 0;
    int minor = 0, status = 0;
    const char *msg = NULL;
    int rc = phr_parse_response(p, n, &minor, &status, &msg, &msg_len, hs, &nh, 0);
    if (rc == -2) {
        if (n > PLAIN_HEAD_MAX)
            goto bad;
        return 0;
    }
    if (rc < 0 || head_framing(c, minor, status, hs, nh) != 0)
        goto bad;
    if (status >= 100 && status < 200)
        return rc; /* interim: the real head follows */
    gw_upstream_req_t *r = c->req;
    size_t ralen = 0;
    const char *ra = find_retry_after(hs, nh, &ralen);
    r->phase = GW__UP_BODY;
    if (r->cbs.on_head != NULL) {
        r->in_cb = 1;
        r->cbs.on_head(r->data, status, ra, ralen);
        r->in_cb = 0;
    }
    if (r->phase == GW__UP_DONE)
        c->draining = 1;
    else
        gw__up_arm(r, r->t.idle_ms);
    c->got_bytes = 2; /* a head was seen */
    return rc;
bad:
    conn_fail(c, GW_UP_EPROTOCOL);
    return -1;
}

/* Reads response heads from p[0..n) (after a partial one kept in c->head)
 * until the final one is parsed; *p and *n then describe the body bytes
 * that followed it. Returns 1 when a final head was parsed, 0 when more
 * bytes are needed, -1 after failing the exchange. */
static int head_input(conn_t *c, char **p, size_t *n)
{
    if (c->head.len > 0) {
        if (gw_buf_add(&c->head, *p, *n) != GW_OK) {
            conn_fail(c, GW_UP_EPROTOCOL);
            return -1;
        }
        *p = c->head.ptr;
        *n = c->head.len;
    }
    for (;;) {
        ssize_t used = head_parse(c, *p, *n);
        if (used < 0)
            return -1;
        if (used == 0) { /* incomplete: keep what we have at the buffer's start */
            if (c->head.len > 0) {
                memmove(c->head.ptr, *p, *n);
                c->head.len = *n;
            } else if (gw_buf_add(&c->head, *p, *n) != GW_OK) {
                conn_fail(c, GW_UP_EPROTOCOL);
                return -1;
            }
            return 0;
        }
        *p += used;
        *n -= (size_t)used;
        if (c->got_bytes >= 2) {
            c->head.len = 0; /* the body bytes stay readable in place */
            return 1;
        }
    }
}

/* Consumes p[0..n) for the current exchange. */
static void conn_input(conn_t *c, char *p, size_t n)
{
    c->got_bytes |= 1;
    if (c->got_bytes < 2) {
        int rc = head_input(c, &p, &n);
        if (rc <= 0)
            return;
        if (c->rstate == R_LEN && c->body_left == 0) {
            if (n > 0)
                c->keepalive = 0;
            conn_complete(c);
            return;
        }
    }
    if (n > 0) {
        int done = body_feed(c, p, n);
        if (done < 0)
            return;
        if (done) {
            conn_complete(c);
            return;
        }
    }
    if (c->draining) { /* cancelled and the answer is not over: do not wait for it */
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
    int retry = r != NULL && c->reused && c->unsent && !r->retried && !c->draining;
    int draining = c->draining;
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
    if (nread == UV_EOF && c->rstate == R_EOF && c->got_bytes >= 2) {
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
    c->rstate = R_HEAD;
    c->got_bytes = 0;
    c->unsent = 0;
    c->draining = 0;
    c->head.len = 0;
    r->phase = GW__UP_FIRST_BYTE;
    gw__up_arm(r, r->t.first_byte_ms);
    uv_buf_t b = uv_buf_init(r->bytes, (unsigned)r->reqlen);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)r->reqlen)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        c->unsent = 1;
        conn_fail(c, GW_UP_ERESET);
        return;
    }
    size_t sent = n > 0 ? (size_t)n : 0, rest = r->reqlen - sent;
    c->wcopy = gw_malloc(rest);
    if (c->wcopy == NULL) {
        conn_fail(c, GW_UP_ERESET);
        return;
    }
    memcpy(c->wcopy, r->bytes + sent, rest);
    b = uv_buf_init(c->wcopy, (unsigned)rest);
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
    gw_buf_init(&c->head, PLAIN_HEAD_MAX);
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

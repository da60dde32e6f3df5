/* http_conn.c - one client connection of the HTTP/1.1 server: reading,
 * parsing with explicit limits, dispatch, responses, keep-alive, timeouts.
 *
 * States: IDLE (keep-alive, no byte of the next request yet) -> HEAD (bytes
 * of a head arrived; header_timeout runs) -> BODY (body_timeout runs) ->
 * BUSY (a handler owns the request; reads go to a side buffer so the
 * request's bytes never move, and EOF aborts the handler) -> IDLE or close.
 * A connection is freed only from the close callback of its last handle.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "http.h"
#include "http_internal.h"
#include "http_parse.h"
#include "picohttpparser.h"
#include "provider.h"
#include "routes.h"
#include "worker.h"

enum conn_state { ST_IDLE, ST_HEAD, ST_BODY, ST_BUSY, ST_CLOSING };

struct gw_http_conn {
    uv_tcp_t tcp; /* tcp.data == conn */
    uv_timer_t timer;
    gw_worker_t *w;
    struct gw_http_conn *prev, *next;
    enum conn_state state;
    int open_handles;
    int keepalive;
    int close_after; /* close once the current response is written */
    int streaming;
    int chunked_in;
    size_t content_length;
    struct phr_chunked_decoder dec;
    gw_buf_t rbuf;  /* head + body of the current request */
    gw_buf_t side;  /* bytes read while BUSY (pipelined or junk) */
    size_t head_len;
    int head_moved; /* rbuf was reallocated after the head was parsed */
    size_t body_raw; /* bytes of rbuf after the head, as received */
    size_t body_len; /* decoded body bytes */
    gw_http_hdr_t *hdrs;
    size_t max_hdrs;
    size_t wqueue; /* bytes queued for writing */
    gw_buf_t pend; /* a streamed response's head, sent with its first chunk */
    gw_http_req_t req;
};

typedef struct write_req {
    uv_write_t w;
    struct gw_http_conn *conn;
    size_t len;
    char data[];
} write_req_t;

static void conn_close(struct gw_http_conn *c);

/* The limits in force: the worker's current runtime (it holds a reference). */
static inline const gw_cfg_limits_t *conn_lim(const struct gw_http_conn *c) { return &c->w->rt->cfg->limits; }
static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void conn_process(struct gw_http_conn *c);

/* ---- lifecycle ---------------------------------------------------------- */

static void conn_link(gw_worker_t *w, struct gw_http_conn *c)
{
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    w->n_conns++;
}

static void conn_unlink(struct gw_http_conn *c)
{
    gw_worker_t *w = c->w;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    w->n_conns--;
}

static void conn_on_handle_closed(uv_handle_t *h)
{
    struct gw_http_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    conn_unlink(c);
    gw_buf_free(&c->rbuf);
    gw_buf_free(&c->side);
    gw_buf_free(&c->pend);
    gw_free(c->hdrs);
    gw_worker_t *w = c->w;
    gw_free(c);
    gw_worker_conn_gone(w);
}

static void conn_close(struct gw_http_conn *c)
{
    if (c->state == ST_CLOSING)
        return;
    int was_busy = c->state == ST_BUSY;
    c->state = ST_CLOSING;
    if (was_busy && c->req.on_abort != NULL) {
        gw_http_abort_cb cb = c->req.on_abort;
        c->req.on_abort = NULL;
        cb(&c->req);
    }
    uv_close((uv_handle_t *)&c->timer, conn_on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, conn_on_handle_closed);
}

static void conn_on_timeout(uv_timer_t *t)
{
    struct gw_http_conn *c = t->data;
    if (c->state == ST_HEAD)
        gw_http_fail(c, 408, "request headers not received within header_timeout_ms");
    else if (c->state == ST_BODY)
        gw_http_fail(c, 408, "request body not received within body_timeout_ms");
    else
        conn_close(c); /* idle keep-alive expired, or lingering close */
}

static void conn_arm(struct gw_http_conn *c, uint32_t ms)
{
    if (ms == 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, conn_on_timeout, ms, 0);
}

void gw_http_accept(gw_worker_t *w, uv_stream_t *listener, const gw_cfg_limits_t *lim)
{
    struct gw_http_conn *c = gw_calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    uv_timer_init(&w->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    conn_link(w, c);
    c->max_hdrs = lim->max_headers + 1;
    c->hdrs = gw_calloc(c->max_hdrs, sizeof(*c->hdrs));
    gw_buf_init(&c->rbuf, lim->max_header_bytes + lim->max_body_bytes * 2 + 65536);
    gw_buf_init(&c->side, 65536);
    gw_buf_init(&c->pend, 65536);
    if (c->hdrs == NULL || uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->req.conn = c;
    c->req.worker = w;
    gw_http_peer_ip(&c->tcp, c->req.client_ip, sizeof(c->req.client_ip));
    if (w->drain_started || w->n_conns > lim->max_connections / (w->app->n_workers ? w->app->n_workers : 1)) {
        c->state = ST_BUSY;
        c->close_after = 1;
        w->n_inflight++;
        gw_routes_conn_error(&c->req, 503, w->drain_started ? "server is shutting down" : "too many open connections",
                             NULL, 0);
        gw_http_error(&c->req, 503, "server_error", w->drain_started ? "shutting_down" : "too_many_connections",
                      NULL, w->drain_started ? "server is shutting down" : "too many open connections", NULL);
        return;
    }
    c->state = ST_IDLE;
    /* a new connection gets header_timeout_ms for its first byte (slowloris),
     * keep-alive connections keepalive_timeout_ms between requests */
    conn_arm(c, lim->header_timeout_ms);
    uv_read_start((uv_stream_t *)&c->tcp, gw_http_alloc_cb, conn_on_read);
}

/* ---- reading ------------------------------------------------------------ */

void gw_http_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct gw_http_conn *c = h->data;
    gw_buf_t *b = c->state == ST_BUSY ? &c->side : &c->rbuf;
    size_t want = b->len < 16384 ? 16384 - b->len : 16384;
    if (b->max - b->len < want)
        want = b->max - b->len;
    uintptr_t before = (uintptr_t)b->ptr;
    if (want == 0 || gw_buf_reserve(b, want) != GW_OK) {
        out->base = NULL;
        out->len = 0;
        return;
    }
    if ((uintptr_t)b->ptr != before && b == &c->rbuf && c->head_len > 0)
        c->head_moved = 1; /* the parsed head's pointers are stale */
    out->base = b->ptr + b->len;
    out->len = b->cap - 1 - b->len;
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct gw_http_conn *c = s->data;
    if (nread == UV_ENOBUFS) {
        if (c->state == ST_BUSY) {
            uv_read_stop(s); /* side buffer full: wait for the response */
            return;
        }
        gw_http_fail(c, 431, "request too large");
        return;
    }
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    gw_buf_t *b = c->state == ST_BUSY ? &c->side : &c->rbuf;
    b->len += (size_t)nread;
    b->ptr[b->len] = '\0';
    if (c->state == ST_BUSY || c->state == ST_CLOSING)
        return;
    conn_process(c);
}

/* Points the request at the head's bytes (method, path, query, headers). */
static void conn_point_req(struct gw_http_conn *c, const gw_http_head_t *h)
{
    gw_http_req_t *r = &c->req;
    r->method = h->method;
    r->method_len = h->method_len;
    const char *q = memchr(h->path, '?', h->path_len);
    r->path = h->path;
    r->path_len = q ? (size_t)(q - h->path) : h->path_len;
    r->query = q ? q + 1 : NULL;
    r->query_len = q ? h->path_len - (size_t)(q - h->path) - 1 : 0;
    r->headers = c->hdrs;
    r->num_headers = h->num_headers;
}

static void conn_fill_req(struct gw_http_conn *c, const gw_http_head_t *h)
{
    gw_http_req_t *r = &c->req;
    conn_point_req(c, h);
    c->head_moved = 0;
    r->body = NULL;
    r->body_len = 0;
    r->on_abort = NULL;
    r->handler_data = NULL;
    gw_http_new_id(r);
}

void gw_http_new_id(gw_http_req_t *r)
{
    gw_worker_t *w = r->worker;
    r->start_ns = gw_now_ns();
    snprintf(r->request_id, sizeof(r->request_id), "req_%016llx%04zx%08llx",
             (unsigned long long)(w->app->start_ns ^ r->start_ns), w->index, (unsigned long long)++w->req_seq);
}

/* Parses the head. Returns 1 when complete, 0 when more bytes are needed,
 * -1 after answering an error. */
static int conn_parse_head(struct gw_http_conn *c)
{
    const gw_cfg_limits_t *l = conn_lim(c);
    gw_http_limits_in_t lim = {l->max_header_bytes, l->max_headers, l->max_body_bytes};
    gw_http_head_t h;
    int st = gw_http_parse_head(c->rbuf.ptr, c->rbuf.len, &lim, c->hdrs, c->max_hdrs, &h);
    if (st == -2)
        return 0;
    if (st != 0)
        return gw_http_fail(c, st, h.error), -1;
    c->head_len = h.head_len;
    c->keepalive = h.keepalive;
    c->chunked_in = h.chunked;
    c->content_length = h.content_length;
    conn_fill_req(c, &h);
    if (h.expect_continue)
        gw_http_write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 1;
}

/* Decodes as much chunked body as has arrived. 1 done, 0 more, -1 error. */
static int conn_body_chunked(struct gw_http_conn *c)
{
    char *start = c->rbuf.ptr + c->head_len + c->body_len;
    size_t avail = c->rbuf.len - c->head_len - c->body_len;
    size_t sz = avail;
    ssize_t r = phr_decode_chunked(&c->dec, start, &sz);
    /* decoded bytes were moved to start; drop the consumed raw bytes */
    size_t left = r >= 0 ? (size_t)r : 0;
    memmove(start + sz, start + avail - left, left);
    c->rbuf.len = c->head_len + c->body_len + sz + left;
    c->body_len += sz;
    if (c->body_len > conn_lim(c)->max_body_bytes)
        return gw_http_fail(c, 413, "request body exceeds max_body_bytes"), -1;
    if (r == -1)
        return gw_http_fail(c, 400, "malformed chunked request body"), -1;
    if (r == -2)
        return 0;
    c->body_raw = c->body_len + left; /* leftover bytes are the next request */
    return 1;
}

static int conn_body(struct gw_http_conn *c)
{
    if (c->chunked_in)
        return conn_body_chunked(c);
    size_t have = c->rbuf.len - c->head_len;
    if (have < c->content_length)
        return 0;
    c->body_len = c->content_length;
    c->body_raw = c->content_length;
    return 1;
}

/* The body's reads grew (moved) the buffer holding the head: parse the
 * head again, in place, so the request points at live bytes. */
static void conn_repoint_req(struct gw_http_conn *c)
{
    const gw_cfg_limits_t *l = conn_lim(c);
    gw_http_limits_in_t lim = {l->max_header_bytes, l->max_headers, l->max_body_bytes};
    gw_http_head_t h;
    if (gw_http_parse_head(c->rbuf.ptr, c->head_len, &lim, c->hdrs, c->max_hdrs, &h) == 0)
        conn_point_req(c, &h);
    c->head_moved = 0;
}

static void conn_dispatch(struct gw_http_conn *c)
{
    if (c->head_moved)
        conn_repoint_req(c);
    /* bytes past this request belong to the next one: move them aside */
    size_t used = c->head_len + c->body_raw;
    if (c->rbuf.len > used) {
        if (gw_buf_add(&c->side, c->rbuf.ptr + used, c->rbuf.len - used) != GW_OK) {
            gw_http_fail(c, 431, "pipelined data too large");
            return;
        }
        c->rbuf.len = used;
    }
    c->req.body = c->rbuf.ptr + c->head_len;
    c->req.body_len = c->body_len;
    c->rbuf.ptr[c->head_len + c->body_len] = '\0';
    c->state = ST_BUSY;
    uv_timer_stop(&c->timer);
    c->w->n_inflight++;
    gw_routes_dispatch(&c->req);
}

static void conn_process(struct gw_http_conn *c)
{
    if (c->state == ST_IDLE) {
        c->state = ST_HEAD;
        c->head_len = 0;
        c->body_len = 0;
        c->body_raw = 0;
        memset(&c->dec, 0, sizeof(c->dec));
        c->dec.consume_trailer = 1;
        conn_arm(c, conn_lim(c)->header_timeout_ms);
    }
    if (c->state == ST_HEAD) {
        int r = conn_parse_head(c);
        if (r <= 0)
            return;
        c->state = ST_BODY;
        conn_arm(c, conn_lim(c)->body_timeout_ms);
    }
    if (c->state == ST_BODY) {
        int r = conn_body(c);
        if (r <= 0)
            return;
        conn_dispatch(c);
    }
}

/* ---- writing ------------------------------------------------------------ */

static void conn_on_linger_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct gw_http_conn *c = s->data;
    c->side.len = 0; /* discard */
    if (nread < 0)
        conn_close(c);
}

static void conn_on_linger_timeout(uv_timer_t *t) { conn_close(t->data); }

static void conn_on_shutdown(uv_shutdown_t *sr, int status)
{
    struct gw_http_conn *c = sr->data;
    gw_free(sr);
    if (status != 0 || c->state == ST_CLOSING) {
        conn_close(c);
        return;
    }
    /* lingering close: read and drop what the client still sends, so that
     * an early error answer is not destroyed by a reset */
    c->state = ST_BUSY;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_read_start((uv_stream_t *)&c->tcp, gw_http_alloc_cb, conn_on_linger_read);
    uv_timer_start(&c->timer, conn_on_linger_timeout, 1000, 0);
}

static void conn_shutdown(struct gw_http_conn *c)
{
    uv_shutdown_t *sr = gw_malloc(sizeof(*sr));
    if (sr == NULL) {
        conn_close(c);
        return;
    }
    sr->data = c;
    if (uv_shutdown(sr, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0) {
        gw_free(sr);
        conn_close(c);
    }
}

static void conn_on_written(uv_write_t *w, int status)
{
    write_req_t *wr = (write_req_t *)w;
    struct gw_http_conn *c = wr->conn;
    c->wqueue -= wr->len;
    gw_free(wr);
    if (status != 0)
        conn_close(c);
}

/* Sends bufs[0..n) in order: straight from the caller's memory with one
 * writev when nothing is queued (the common case: no allocation, no
 * copy, and no POLLOUT round trip through epoll), the unsent rest copied
 * into a queued uv_write. */
static void conn_writev(struct gw_http_conn *c, uv_buf_t *bufs, unsigned n)
{
    if (c->state == ST_CLOSING)
        return;
    size_t total = 0, sent = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    if (c->wqueue == 0) {
        int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
        if (w < 0 && w != UV_EAGAIN) {
            conn_close(c);
            return;
        }
        sent = w > 0 ? (size_t)w : 0;
        if (sent == total)
            return;
    }
    write_req_t *wr = gw_malloc(sizeof(*wr) + (total - sent));
    if (wr == NULL) {
        conn_close(c);
        return;
    }
    char *o = wr->data;
    size_t skip = sent;
    for (unsigned i = 0; i < n; i++) {
        size_t l = bufs[i].len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        memcpy(o, bufs[i].base + skip, l - skip);
        o += l - skip;
        skip = 0;
    }
    wr->conn = c;
    wr->len = total - sent;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
    c->wqueue += wr->len;
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, conn_on_written) != 0) {
        c->wqueue -= wr->len;
        gw_free(wr);
        conn_close(c);
    }
}

void gw_http_write_raw(struct gw_http_conn *c, const char *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    conn_writev(c, &b, 1);
}

/* The response is complete: go on with the next request or close. */
static void conn_response_done(struct gw_http_conn *c)
{
    if (c->state == ST_CLOSING)
        return;
    c->w->n_inflight--;
    c->req.on_abort = NULL;
    c->streaming = 0;
    if (c->close_after || !c->keepalive || c->w->drain_started) {
        conn_shutdown(c);
        return;
    }
    /* the pipelined bytes become the start of the next request */
    gw_buf_reset(&c->rbuf);
    if (c->side.len > 0) {
        gw_buf_add(&c->rbuf, c->side.ptr, c->side.len);
        gw_buf_reset(&c->side);
    }
    if (c->rbuf.len == 0) {
        gw_buf_free(&c->rbuf); /* idle connections hold no buffer */
        gw_buf_free(&c->side);
    }
    c->state = ST_IDLE;
    conn_arm(c, conn_lim(c)->keepalive_timeout_ms);
    uv_read_start((uv_stream_t *)&c->tcp, gw_http_alloc_cb, conn_on_read);
    if (c->rbuf.len > 0)
        conn_process(c);
}

/* Decimal digits of v into tmp (right-aligned); returns the first digit. */
static const char *fmt_u64(char tmp[24], uint64_t v)
{
    char *p = tmp + 23;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p;
}

static void head_begin(gw_buf_t *h, struct gw_http_conn *c, int status, const char *ctype, const char *extra)
{
    char tmp[24];
    gw_buf_add(h, "HTTP/1.1 ", 9);
    gw_buf_adds(h, fmt_u64(tmp, (uint64_t)status));
    gw_buf_add(h, " ", 1);
    gw_buf_adds(h, gw_http_reason(status));
    if (ctype != NULL) {
        gw_buf_add(h, "\r\nContent-Type: ", 16);
        gw_buf_adds(h, ctype);
    }
    gw_buf_add(h, "\r\nx-request-id: ", 16);
    gw_buf_adds(h, c->req.request_id);
    gw_buf_add(h, "\r\n", 2);
    if (extra != NULL)
        gw_buf_adds(h, extra);
    if (!c->keepalive || c->close_after || c->w->drain_started)
        gw_buf_add(h, "Connection: close\r\n", 19);
}

void gw_http_respond(gw_http_req_t *req, int status, const char *ctype, const char *extra, const char *body,
                     size_t len)
{
    struct gw_http_conn *c = req->conn;
    if (c->state != ST_BUSY)
        return; /* the client left; nothing to answer */
    gw_buf_t h;
    gw_buf_init(&h, 65536 + len);
    head_begin(&h, c, status, ctype, extra);
    char tmp[24];
    gw_buf_add(&h, "Content-Length: ", 16);
    gw_buf_adds(&h, fmt_u64(tmp, len));
    gw_buf_add(&h, "\r\n\r\n", 4);
    gw_buf_add(&h, body, len);
    gw_http_write_raw(c, h.ptr, h.len);
    gw_buf_free(&h);
    conn_response_done(c);
}

void gw_http_error(gw_http_req_t *req, int status, const char *type, const char *code, const char *param,
                   const char *message, const char *extra)
{
    gw_buf_t b;
    gw_buf_init(&b, 8192);
    gw_openai_error(&b, message, type, param, code);
    gw_http_respond(req, status, "application/json", extra, b.ptr, b.len);
    gw_buf_free(&b);
}

void gw_http_fail(struct gw_http_conn *c, int status, const char *message)
{
    static const char *const codes[][2] = {{"400", "bad_request"}, {"408", "request_timeout"},
                                           {"413", "request_too_large"}, {"431", "headers_too_large"}};
    const char *code = "bad_request";
    char st[8];
    snprintf(st, sizeof(st), "%d", status);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(codes[i][0], st) == 0)
            code = codes[i][1];
    gw_routes_conn_error(&c->req, status, message, c->state == ST_BODY ? c->rbuf.ptr : NULL, c->head_len);
    c->close_after = 1;
    c->keepalive = 0;
    c->state = ST_BUSY;
    c->w->n_inflight++;
    uv_timer_stop(&c->timer);
    gw_http_error(&c->req, status, "invalid_request_error", code, NULL, message, NULL);
}

void gw_http_stream_begin(gw_http_req_t *req, int status, const char *ctype, const char *extra)
{
    struct gw_http_conn *c = req->conn;
    if (c->state != ST_BUSY)
        return;
    gw_buf_reset(&c->pend);
    head_begin(&c->pend, c, status, ctype, extra);
    gw_buf_adds(&c->pend, "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n\r\n");
    c->streaming = 1;
}

/* Writes the pending head (if any), one chunk of data (if any) and the
 * terminator (if last) in one write. */
static void stream_send(struct gw_http_conn *c, const char *data, size_t len, int last)
{
    char pre[24];
    uv_buf_t b[4];
    unsigned nb = 0;
    if (c->pend.len > 0)
        b[nb++] = uv_buf_init(c->pend.ptr, (unsigned)c->pend.len);
    if (len > 0) {
        int n = snprintf(pre, sizeof(pre), "%zx\r\n", len);
        b[nb++] = uv_buf_init(pre, (unsigned)n);
        b[nb++] = uv_buf_init((char *)data, (unsigned)len);
        b[nb++] = uv_buf_init(last ? "\r\n0\r\n\r\n" : "\r\n", last ? 7 : 2);
    } else if (last) {
        b[nb++] = uv_buf_init("0\r\n\r\n", 5);
    }
    conn_writev(c, b, nb);
    gw_buf_reset(&c->pend);
}

void gw_http_stream_write(gw_http_req_t *req, const char *data, size_t len)
{
    struct gw_http_conn *c = req->conn;
    if (c->state != ST_BUSY || !c->streaming || len == 0)
        return;
    stream_send(c, data, len, 0);
}

void gw_http_stream_end(gw_http_req_t *req, const char *data, size_t len)
{
    struct gw_http_conn *c = req->conn;
    if (c->state != ST_BUSY || !c->streaming)
        return;
    stream_send(c, data, len, 1);
    conn_response_done(c);
}

size_t gw_http_write_queue(const gw_http_req_t *req) { return req->conn->wqueue; }

const char *gw_http_header(const gw_http_req_t *req, const char *name, size_t *vlen)
{
    for (size_t i = 0; i < req->num_headers; i++)
        if (gw_http_hdr_is(&req->headers[i], name)) {
            if (vlen != NULL)
                *vlen = req->headers[i].value_len;
            return req->headers[i].value;
        }
    return NULL;
}

size_t gw_http_header_count(const gw_http_req_t *req, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < req->num_headers; i++)
        n += gw_http_hdr_is(&req->headers[i], name) != 0;
    return n;
}

void gw_http_peer_ip(uv_tcp_t *tcp, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    out[0] = '\0';
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, out, cap);
    else if (ss.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&ss, out, cap);
}

/* ---- drain -------------------------------------------------------------- */

void gw_http_conns_drain(gw_worker_t *w)
{
    struct gw_http_conn *c = w->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        if (c->state == ST_IDLE)
            conn_close(c);
        else
            c->close_after = 1;
    }
}

void gw_http_conns_close_all(gw_worker_t *w)
{
    struct gw_http_conn *c = w->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        conn_close(c);
    }
}

const char *gw_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Site Overloaded";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

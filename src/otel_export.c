/* otel_export.c - the OTLP/HTTP exporter (otel_export.h): the process-wide
 * options and counters, and the per-loop batcher and sender.
 *
 * A loop keeps a ring of batches. Each batch buffer starts with head_max
 * reserved bytes, then the Span entries of whole traces, at most
 * batch_spans spans (one trace alone may pass it). The oldest batch is the
 * one sent: its request head (gw_otlp_head, which depends on the spans'
 * length) is written right-aligned into the reserve, and the buffer stays
 * as it is for retries while the next batches collect. Buffers keep their
 * memory from one round to the next. Every state change happens on the
 * loop; the counters are atomics so /metrics can read them from any
 * thread.
 */
#include "otel_export.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "otlp.h"
#include "upstream.h"

#define BACKOFF_CAP_MS 5000
#define RETRY_AFTER_CAP_MS 30000
#define RESP_MAX 65536
#define TRACES_SUFFIX "/v1/traces"

struct gw_otel_exporter {
    gw_otel_opts_t o;
    gw_cfg_provider_t ep; /* the endpoint as an upstream: host, port, tls */
    char *path;           /* its path, ending in /v1/traces */
    char *service_name;
    gw_otlp_prefix_t prefix; /* the resource and scope, encoded once */
    size_t head_max;      /* the longest head gw_otlp_head can write */
    uint64_t sample_below; /* sample_ratio x 2^64 (used when the ratio is below 1) */
    atomic_uint_fast64_t queued, exported, dropped, failed, requests, retries;
};

/* One batch: head_max reserved bytes, then whole traces' Span entries. */
typedef struct batch {
    gw_buf_t buf;
    size_t spans;
} batch_t;

struct gw_otel_local {
    gw_otel_exporter_t *e;
    uv_loop_t *loop;
    struct gw_upstream_ctx *up;
    batch_t *ring;          /* nring slots; buffers keep their memory for reuse */
    size_t nring, first, count; /* ring[first] is the oldest batch, the last one collects */
    size_t waiting;         /* spans in the ring */
    int in_flight;          /* ring[first] is being sent (or waits for a retry) */
    int flush_due;          /* the oldest waiting span waited flush_ms */
    size_t body_off;        /* where in ring[first] the request starts */
    uint32_t attempt;
    gw_upstream_req_t *req;
    int status;
    uint64_t retry_after_ms;
    gw_buf_t resp;
    gw_buf_t head;
    uv_timer_t flush_timer, retry_timer, close_timer;
    int closing, finished, handles_open;
    uint64_t deadline_ns;
    void (*done)(void *);
    void *done_data;
};

static void cnt_add(atomic_uint_fast64_t *c, uint64_t v) { atomic_fetch_add_explicit(c, v, memory_order_relaxed); }

void gw_otel_opts_default(gw_otel_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->service_name = "llmgw";
    o->queue_spans = 4096;
    o->batch_spans = 64;
    o->flush_ms = 1000;
    o->timeout_ms = 10000;
    o->connect_timeout_ms = 2000;
    o->max_retries = 3;
    o->backoff_ms = 100;
    o->max_body_bytes = 8u << 20;
    o->sample_ratio = 1.0;
}

int gw_otel_sample(const gw_otel_exporter_t *e, const uint8_t trace_id[GW_TRACE_ID_LEN])
{
    if (e == NULL || e->o.sample_ratio >= 1.0)
        return 1;
    uint64_t x = 0;
    for (int i = 8; i < GW_TRACE_ID_LEN; i++)
        x = x << 8 | trace_id[i];
    return x < e->sample_below;
}

/* ---- the process-wide part ---------------------------------------------- */

void gw_otel_stats(const gw_otel_exporter_t *e, gw_otel_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (e == NULL)
        return;
    gw_otel_exporter_t *m = (gw_otel_exporter_t *)e; /* atomics: loads only */
    out->spans_queued = atomic_load(&m->queued);
    out->spans_exported = atomic_load(&m->exported);
    out->spans_dropped = atomic_load(&m->dropped);
    out->spans_failed = atomic_load(&m->failed);
    out->requests = atomic_load(&m->requests);
    out->retries = atomic_load(&m->retries);
}

void gw_otel_exporter_free(gw_otel_exporter_t *e)
{
    if (e == NULL)
        return;
    gw_cfg_endpoint_free(&e->ep);
    gw_otlp_prefix_free(&e->prefix);
    gw_free(e->path);
    gw_free(e->service_name);
    gw_free(e);
}

/* The endpoint's path + "/v1/traces" (unless it already ends so). */
static char *traces_path(const char *base)
{
    size_t n = strlen(base), sl = sizeof(TRACES_SUFFIX) - 1;
    int has = n >= sl && memcmp(base + n - sl, TRACES_SUFFIX, sl) == 0;
    char *p = gw_malloc(n + sl + 1);
    if (p != NULL)
        snprintf(p, n + sl + 1, "%s%s", base, has ? "" : TRACES_SUFFIX);
    return p;
}

static int valid_opts(const gw_otel_opts_t *o)
{
    return o->queue_spans > 0 && o->batch_spans > 0 && o->flush_ms > 0 && o->timeout_ms > 0 &&
           o->max_body_bytes >= 1024 && o->sample_ratio >= 0 && o->sample_ratio <= 1;
}

gw_otel_exporter_t *gw_otel_exporter_new(const gw_otel_opts_t *o, char *err, size_t errlen)
{
    const char *why = "otlp exporter: out of memory";
    gw_otel_exporter_t *e = gw_calloc(1, sizeof(*e));
    gw_buf_t h;
    gw_buf_init(&h, 1 << 20);
    if (e == NULL)
        goto out;
    if (o->endpoint == NULL || !valid_opts(o)) {
        why = "otlp exporter: endpoint must be an http(s) URL and the sizes non-zero";
        goto out;
    }
    const char *uwhy = NULL;
    if (gw_cfg_endpoint_parse(o->endpoint, &e->ep, &uwhy) != GW_OK) {
        why = uwhy != NULL ? uwhy : why;
        goto out;
    }
    e->o = *o;
    e->sample_below = o->sample_ratio < 1 ? (uint64_t)(o->sample_ratio * 18446744073709551616.0) : UINT64_MAX;
    e->o.endpoint = e->o.service_name = NULL;
    e->path = traces_path(e->ep.base_path);
    e->service_name = gw_strdup(o->service_name ? o->service_name : "llmgw");
    if (e->path == NULL || e->service_name == NULL || gw_otlp_prefix_init(&e->prefix, e->service_name) != GW_OK ||
        gw_otlp_head_from(&e->prefix, o->max_body_bytes, &h) != GW_OK)
        goto out;
    e->head_max = h.len;
    why = NULL;
out:
    gw_buf_free(&h);
    if (why != NULL) {
        gw_otel_exporter_free(e);
        e = NULL;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", why);
    }
    return e;
}

/* ---- the per-loop part: the ring of batches ------------------------------ */

static void finish(gw_otel_local_t *l);
static void post(gw_otel_local_t *l);
static void on_retry_timer(uv_timer_t *h) { post(h->data); }

/* ms left before the close deadline (UINT32_MAX when not closing). */
static uint32_t left_ms(const gw_otel_local_t *l)
{
    if (!l->closing)
        return UINT32_MAX;
    uint64_t now = uv_hrtime();
    uint64_t left = l->deadline_ns > now ? (l->deadline_ns - now) / 1000000u : 0;
    return left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

static batch_t *last_batch(gw_otel_local_t *l) { return &l->ring[(l->first + l->count - 1) % l->nring]; }

/* Opens a new collecting batch: its buffer reset to the head reserve. NULL
 * when the ring is full or on OOM. */
static batch_t *open_batch(gw_otel_local_t *l)
{
    if (l->count == l->nring)
        return NULL;
    batch_t *b = &l->ring[(l->first + l->count) % l->nring];
    gw_buf_reset(&b->buf);
    if (gw_buf_reserve(&b->buf, l->e->head_max + 16 * 1024) != GW_OK)
        return NULL;
    b->buf.len = l->e->head_max;
    b->buf.ptr[b->buf.len] = '\0';
    b->spans = 0;
    l->count++;
    return b;
}

/* The collecting batch that takes ns more spans (a new one when the last
 * is in flight or would pass batch_spans). */
static batch_t *batch_for(gw_otel_local_t *l, uint32_t ns)
{
    if (l->count > 0) {
        batch_t *b = last_batch(l);
        int sending = l->in_flight && l->count == 1;
        if (!sending && (b->spans == 0 || b->spans + ns <= l->e->o.batch_spans))
            return b;
    }
    return open_batch(l);
}

/* The oldest batch is over (sent, failed or cut): drops it from the ring. */
static void pop_batch(gw_otel_local_t *l)
{
    batch_t *b = &l->ring[l->first];
    l->waiting -= b->spans;
    b->spans = 0;
    gw_buf_reset(&b->buf);
    /* its buffer, still in the cache, is the next one to collect into: the
     * ring's slots rotate, the memory touched stays two buffers */
    batch_t *next = &l->ring[(l->first + l->count) % l->nring];
    if (next != b) {
        gw_buf_t hot = b->buf;
        b->buf = next->buf;
        next->buf = hot;
    }
    l->first = (l->first + 1) % l->nring;
    l->count--;
    l->in_flight = 0;
}

/* Starts sending the oldest batch when one is due and none is in flight. */
static void kick(gw_otel_local_t *l)
{
    if (l->in_flight || l->finished)
        return;
    if (l->count == 0) {
        if (l->closing)
            finish(l);
        return;
    }
    batch_t *b = &l->ring[l->first];
    if (!(l->closing || l->flush_due || l->count > 1 || b->spans >= l->e->o.batch_spans))
        return;
    if (l->count == 1) { /* the last spans go: the next span starts a new flush_ms wait */
        uv_timer_stop(&l->flush_timer);
        l->flush_due = 0;
    }
    gw_buf_reset(&l->head);
    if (gw_otlp_head_from(&l->e->prefix, b->buf.len - l->e->head_max, &l->head) != GW_OK) {
        cnt_add(&l->e->failed, b->spans);
        pop_batch(l);
        kick(l);
        return;
    }
    l->body_off = l->e->head_max - l->head.len;
    memcpy(b->buf.ptr + l->body_off, l->head.ptr, l->head.len);
    l->in_flight = 1;
    l->attempt = 0;
    post(l);
}

/* ---- the per-loop part: one POST ------------------------------------------ */

static int retryable(int status) { return status == 0 || status == 429 || (status >= 500 && status <= 599); }

static void on_head(void *data, int status, const char *ra, size_t ra_len)
{
    gw_otel_local_t *l = data;
    l->status = status;
    l->retry_after_ms = 0;
    if (ra != NULL && ra_len > 0 && ra_len < 9 && strspn(ra, "0123456789") >= ra_len) {
        uint64_t s = strtoull(ra, NULL, 10) * 1000u;
        l->retry_after_ms = s > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : s;
    }
}

static void on_body(void *data, const char *p, size_t n)
{
    gw_otel_local_t *l = data;
    if (gw_buf_add(&l->resp, p, n) != GW_OK)
        l->resp.len = l->resp.max + 1; /* marks "too big"; the rest is ignored */
}

/* The batch in flight ends: n_ok exported, the rest failed. */
static void batch_over(gw_otel_local_t *l, uint64_t n_ok)
{
    uint64_t n = l->ring[l->first].spans;
    cnt_add(&l->e->exported, n_ok);
    cnt_add(&l->e->failed, n - n_ok);
    pop_batch(l);
    kick(l);
}

/* Counts an accepted batch: partial_success.rejected_spans are failed. */
static void accepted(gw_otel_local_t *l)
{
    int64_t rej = 0;
    uint64_t n = l->ring[l->first].spans;
    if (l->resp.len > l->resp.max ||
        gw_otlp_parse_response((const uint8_t *)l->resp.ptr, l->resp.len, &rej) != GW_OK)
        rej = 0;
    uint64_t r = rej < 0 ? 0 : (uint64_t)rej > n ? n : (uint64_t)rej;
    batch_over(l, n - r);
}

/* The try failed: waits and tries again, or gives the batch up. */
static void retry_or_fail(gw_otel_local_t *l)
{
    const gw_otel_opts_t *o = &l->e->o;
    uint64_t wait = (uint64_t)o->backoff_ms << (l->attempt < 16 ? l->attempt : 16);
    wait = wait > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : wait;
    if (l->retry_after_ms > wait)
        wait = l->retry_after_ms;
    if (!retryable(l->status) || l->attempt >= o->max_retries || wait >= left_ms(l)) {
        batch_over(l, 0);
        return;
    }
    l->attempt++;
    cnt_add(&l->e->retries, 1);
    uv_timer_start(&l->retry_timer, on_retry_timer, wait, 0);
}

static void on_done(void *data, gw_up_result_t result)
{
    gw_otel_local_t *l = data;
    l->req = NULL;
    if (result != GW_UP_OK)
        l->status = 0; /* a transport error, even after a head */
    if (l->status >= 200 && l->status < 300)
        accepted(l);
    else
        retry_or_fail(l);
}

/* One try of the oldest batch. */
static void post(gw_otel_local_t *l)
{
    static const gw_upstream_cbs_t cbs = {on_head, on_body, on_done};
    const gw_otel_opts_t *o = &l->e->o;
    const batch_t *b = &l->ring[l->first];
    uint32_t left = left_ms(l);
    if (left == 0) {
        batch_over(l, 0);
        return;
    }
    uint32_t tmo = o->timeout_ms < left ? o->timeout_ms : left;
    gw_upstream_timeouts_t t = {o->connect_timeout_ms < left ? o->connect_timeout_ms : left, tmo, tmo};
    l->status = 0;
    l->retry_after_ms = 0;
    gw_buf_reset(&l->resp);
    cnt_add(&l->e->requests, 1);
    l->req = gw_upstream_post_ex(l->up, &l->e->ep, l->e->path, "application/x-protobuf", "", 0,
                                 b->buf.ptr + l->body_off, b->buf.len - l->body_off, &t, &cbs, l,
                                 GW_UP_F_BORROW);
    if (l->req == NULL)
        retry_or_fail(l); /* out of memory: like a transport error */
}

static void on_flush_timer(uv_timer_t *h)
{
    gw_otel_local_t *l = h->data;
    l->flush_due = 1;
    kick(l);
}

/* ---- the per-loop part: submit, make, close ------------------------------ */

int gw_otel_submit(gw_otel_local_t *l, gw_trace_t *t)
{
    if (t == NULL)
        return 0;
    if (l == NULL || l->finished || !gw_trace_sampled(t)) {
        gw_trace_free(t);
        return 0;
    }
    uint32_t ns = t->n_spans;
    batch_t *b = l->waiting + ns <= l->e->o.queue_spans ? batch_for(l, ns) : NULL;
    int ok = b != NULL && gw_otlp_encode_spans(t, &b->buf) == GW_OK;
    gw_trace_free(t);
    if (!ok) {
        if (b != NULL && b->spans == 0)
            l->count--; /* b is the last batch and stays empty: no batch is ever sent empty */
        cnt_add(&l->e->dropped, ns);
        return 0;
    }
    cnt_add(&l->e->queued, ns);
    if (!uv_is_active((uv_handle_t *)&l->flush_timer) && !l->flush_due && !l->closing)
        uv_timer_start(&l->flush_timer, on_flush_timer, l->e->o.flush_ms, 0);
    b->spans += ns;
    l->waiting += ns;
    kick(l);
    return 1;
}

gw_otel_local_t *gw_otel_local_new(gw_otel_exporter_t *e, uv_loop_t *loop, struct gw_upstream_ctx *up)
{
    if (e == NULL)
        return NULL;
    gw_otel_local_t *l = gw_calloc(1, sizeof(*l));
    size_t nring = e->o.queue_spans / e->o.batch_spans + 2;
    if (l == NULL || (l->ring = gw_calloc(nring, sizeof(*l->ring))) == NULL) {
        gw_free(l);
        return NULL;
    }
    l->e = e;
    l->loop = loop;
    l->up = up;
    l->nring = nring;
    for (size_t i = 0; i < nring; i++)
        gw_buf_init(&l->ring[i].buf, e->head_max + e->o.max_body_bytes);
    gw_buf_init(&l->resp, RESP_MAX);
    gw_buf_init(&l->head, e->head_max);
    uv_timer_t *timers[] = {&l->flush_timer, &l->retry_timer, &l->close_timer};
    for (size_t i = 0; i < 3; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = l;
        uv_unref((uv_handle_t *)timers[i]); /* the exporter alone does not keep a loop alive */
    }
    l->handles_open = 3;
    return l;
}

static void on_handle_closed(uv_handle_t *h)
{
    gw_otel_local_t *l = h->data;
    if (--l->handles_open > 0)
        return;
    void (*done)(void *) = l->done;
    void *data = l->done_data;
    for (size_t i = 0; i < l->nring; i++)
        gw_buf_free(&l->ring[i].buf);
    gw_free(l->ring);
    gw_buf_free(&l->resp);
    gw_buf_free(&l->head);
    gw_free(l);
    if (done != NULL)
        done(data);
}

/* Ends everything still open (counted) and closes the handles. */
static void finish(gw_otel_local_t *l)
{
    if (l->finished)
        return;
    l->finished = 1;
    if (l->req != NULL) {
        gw_upstream_cancel(l->req);
        l->req = NULL;
    }
    if (l->in_flight) { /* cut by the deadline */
        cnt_add(&l->e->failed, l->ring[l->first].spans);
        pop_batch(l);
    }
    cnt_add(&l->e->dropped, l->waiting);
    l->waiting = l->count = 0;
    uv_close((uv_handle_t *)&l->flush_timer, on_handle_closed);
    uv_close((uv_handle_t *)&l->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&l->close_timer, on_handle_closed);
}

static void on_close_timer(uv_timer_t *h) { finish(h->data); }

void gw_otel_local_close(gw_otel_local_t *l, uint32_t deadline_ms, void (*done)(void *), void *data)
{
    if (l == NULL) {
        if (done != NULL)
            done(data);
        return;
    }
    l->done = done;
    l->done_data = data;
    l->closing = 1;
    l->deadline_ns = uv_hrtime() + (uint64_t)deadline_ms * 1000000u;
    uv_timer_stop(&l->flush_timer);
    if (deadline_ms == 0) {
        finish(l);
        return;
    }
    uv_ref((uv_handle_t *)&l->close_timer);
    uv_timer_start(&l->close_timer, on_close_timer, deadline_ms, 0);
    kick(l); /* sends what waits, or finishes when nothing does */
}

/* otel_export.c - the OTLP/HTTP exporter thread and its bounded queue.
 *
 * Producers (workers) lock e->lock only to store a pointer in the ring and
 * signal when a batch is full. The thread sleeps on a monotonic condvar
 * until batch_spans spans wait, flush_ms passed or stop was asked, takes
 * whole traces up to batch_spans spans, encodes and POSTs them with a
 * reused libcurl easy handle (keep-alive), outside the lock.
 */
#include "otel_export.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "buf.h"
#include "otlp.h"

#ifndef GW_VERSION
#define GW_VERSION "0"
#endif

#define BACKOFF_CAP_MS 5000
#define RETRY_AFTER_CAP_MS 30000

struct gw_otel_exporter {
    gw_otel_opts_t o;
    char *url;
    char *service_name;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    gw_trace_t **ring;  /* queue_traces slots */
    gw_trace_t **batch; /* the thread's: min(batch_spans, queue_traces) slots */
    size_t head, n;    /* under lock */
    size_t spans;      /* spans in the ring, under lock */
    int stopping;      /* under lock */
    uint64_t deadline_ns; /* under lock, valid when stopping */
    atomic_uint_fast64_t queued, exported, dropped, failed, requests, retries;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void gw_otel_opts_default(gw_otel_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->service_name = "llmgw";
    o->queue_traces = 2048;
    o->batch_spans = 64;
    o->flush_ms = 1000;
    o->timeout_ms = 10000;
    o->connect_timeout_ms = 2000;
    o->max_retries = 3;
    o->backoff_ms = 100;
    o->max_body_bytes = 8u << 20;
}

/* endpoint without trailing '/' + "/v1/traces" (unless already there). */
static char *traces_url(const char *endpoint)
{
    static const char sfx[] = "/v1/traces";
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    int has = n >= sizeof(sfx) - 1 && memcmp(endpoint + n - (sizeof(sfx) - 1), sfx, sizeof(sfx) - 1) == 0;
    size_t total = n + (has ? 0 : sizeof(sfx) - 1);
    char *u = gw_malloc(total + 1);
    if (u == NULL)
        return NULL;
    memcpy(u, endpoint, n);
    if (!has)
        memcpy(u + n, sfx, sizeof(sfx) - 1);
    u[total] = '\0';
    return u;
}

static void cnt_add(atomic_uint_fast64_t *c, uint64_t v) { atomic_fetch_add_explicit(c, v, memory_order_relaxed); }

static uint64_t spans_of(gw_trace_t *const *ts, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += ts[i]->n_spans;
    return s;
}

/* ---- the producer side -------------------------------------------------- */

int gw_otel_submit(gw_otel_exporter_t *e, gw_trace_t *t)
{
    if (t == NULL)
        return 0;
    if (e == NULL || !gw_trace_sampled(t)) {
        gw_trace_free(t);
        return 0;
    }
    uint32_t ns = t->n_spans;
    pthread_mutex_lock(&e->lock);
    int ok = !e->stopping && e->n < e->o.queue_traces;
    if (ok) {
        e->ring[(e->head + e->n) % e->o.queue_traces] = t;
        e->n++;
        e->spans += ns;
        if (e->spans >= e->o.batch_spans && e->spans - ns < e->o.batch_spans)
            pthread_cond_signal(&e->cond);
    }
    pthread_mutex_unlock(&e->lock);
    if (!ok) {
        cnt_add(&e->dropped, ns);
        gw_trace_free(t);
        return 0;
    }
    cnt_add(&e->queued, ns);
    return 1;
}

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

/* ---- the exporter thread ------------------------------------------------ */

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    gw_buf_t *b = ud;
    size_t n = sz * nm;
    if (gw_buf_add(b, p, n) != GW_OK)
        b->len = b->max + 1; /* marks "too big"; the rest is ignored */
    return n;
}

/* One POST of body. Returns the HTTP status, 0 on a transport error;
 * *retry_after_ms from a Retry-After header (0 when none). */
static long post_once(gw_otel_exporter_t *e, CURL *h, const gw_buf_t *body, uint32_t timeout_ms, gw_buf_t *resp,
                      long *retry_after_ms)
{
    long status = 0;
    curl_off_t ra = 0;
    *retry_after_ms = 0;
    gw_buf_reset(resp);
    if (h == NULL)
        return 0;
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->ptr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(e->o.connect_timeout_ms < timeout_ms ? e->o.connect_timeout_ms : timeout_ms));
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    cnt_add(&e->requests, 1);
    if (curl_easy_perform(h) != CURLE_OK)
        return 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        *retry_after_ms = ra > RETRY_AFTER_CAP_MS / 1000 ? RETRY_AFTER_CAP_MS : (long)ra * 1000;
    return status;
}

static CURL *make_handle(gw_otel_exporter_t *e, struct curl_slist **hdrs)
{
    CURL *h = curl_easy_init();
    *hdrs = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    if (*hdrs != NULL)
        *hdrs = curl_slist_append(*hdrs, "Expect:"); /* no 100-continue round trip */
    if (h == NULL || *hdrs == NULL) {
        curl_easy_cleanup(h);
        curl_slist_free_all(*hdrs);
        *hdrs = NULL;
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_URL, e->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "llmgw-otlp/" GW_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    return h;
}

/* Waits ms (lock held) unless stopping makes the deadline pass first.
 * Returns 0 when there is no time left for another try. */
static int backoff_wait(gw_otel_exporter_t *e, uint64_t ms)
{
    uint64_t until = mono_ns() + ms * 1000000u;
    int ok = 1;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        if (e->stopping && until >= e->deadline_ns) {
            ok = 0;
            break;
        }
        if (mono_ns() >= until)
            break;
        struct timespec ts = {(time_t)(until / 1000000000u), (long)(until % 1000000000u)};
        pthread_cond_timedwait(&e->cond, &e->lock, &ts);
    }
    pthread_mutex_unlock(&e->lock);
    return ok;
}

/* The POST timeout for the next try: timeout_ms, or what is left of the
 * stop deadline; 0 when none is left. */
static uint32_t try_timeout(gw_otel_exporter_t *e)
{
    uint32_t t = e->o.timeout_ms;
    pthread_mutex_lock(&e->lock);
    if (e->stopping) {
        uint64_t now = mono_ns();
        uint64_t left = e->deadline_ns > now ? (e->deadline_ns - now) / 1000000u : 0;
        t = left < t ? (uint32_t)left : t;
    }
    pthread_mutex_unlock(&e->lock);
    return t;
}

static int retryable(long status) { return status == 0 || status == 429 || (status >= 500 && status <= 599); }

/* POSTs one encoded batch of nspans spans, with retries; counts the outcome. */
static void send_batch(gw_otel_exporter_t *e, CURL *h, const gw_buf_t *body, uint64_t nspans, gw_buf_t *resp)
{
    for (uint32_t attempt = 0;; attempt++) {
        uint32_t tmo = try_timeout(e);
        long ra = 0, status = tmo > 0 ? post_once(e, h, body, tmo, resp, &ra) : 0;
        if (status >= 200 && status < 300) {
            int64_t rej = 0;
            if (resp->len <= resp->max && gw_otlp_parse_response((const uint8_t *)resp->ptr, resp->len, &rej) != GW_OK)
                rej = 0;
            uint64_t r = rej < 0 ? 0 : (uint64_t)rej > nspans ? nspans : (uint64_t)rej;
            cnt_add(&e->exported, nspans - r);
            cnt_add(&e->failed, r);
            return;
        }
        if (tmo == 0 || !retryable(status) || attempt >= e->o.max_retries) {
            cnt_add(&e->failed, nspans);
            return;
        }
        uint64_t wait = (uint64_t)e->o.backoff_ms << (attempt < 16 ? attempt : 16);
        wait = wait > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : wait;
        if ((uint64_t)ra > wait)
            wait = (uint64_t)ra;
        if (!backoff_wait(e, wait)) {
            cnt_add(&e->failed, nspans);
            return;
        }
        cnt_add(&e->retries, 1);
    }
}

/* Encodes batch[0..k) (and frees it), then sends it. */
static void export_batch(gw_otel_exporter_t *e, CURL *h, gw_trace_t **batch, size_t k, gw_buf_t *body,
                         gw_buf_t *resp)
{
    uint64_t nspans = spans_of(batch, k);
    gw_buf_reset(body);
    gw_err_t rc = gw_otlp_encode((const gw_trace_t *const *)batch, k, e->service_name, body);
    for (size_t i = 0; i < k; i++)
        gw_trace_free(batch[i]);
    if (rc != GW_OK) {
        cnt_add(&e->failed, nspans);
        return;
    }
    send_batch(e, h, body, nspans, resp);
}

/* Takes whole traces from the ring, up to batch_spans spans (at least one
 * trace). Lock held. */
static size_t take_batch(gw_otel_exporter_t *e, gw_trace_t **batch)
{
    size_t k = 0, spans = 0;
    while (e->n > 0) {
        gw_trace_t *t = e->ring[e->head];
        if (k > 0 && spans + t->n_spans > e->o.batch_spans)
            break;
        batch[k++] = t;
        spans += t->n_spans;
        e->head = (e->head + 1) % e->o.queue_traces;
        e->n--;
        e->spans -= t->n_spans;
    }
    return k;
}

/* Stop deadline passed: what is still queued is dropped. Lock held. */
static void drop_rest(gw_otel_exporter_t *e)
{
    while (e->n > 0) {
        gw_trace_t *t = e->ring[e->head];
        e->head = (e->head + 1) % e->o.queue_traces;
        e->n--;
        e->spans -= t->n_spans;
        cnt_add(&e->dropped, t->n_spans);
        gw_trace_free(t);
    }
}

static void *run(void *arg)
{
    gw_otel_exporter_t *e = arg;
    struct curl_slist *hdrs = NULL;
    CURL *h = make_handle(e, &hdrs);
    gw_buf_t body, resp;
    gw_buf_init(&body, e->o.max_body_bytes);
    gw_buf_init(&resp, 65536);
    gw_trace_t **batch = e->batch;
    pthread_mutex_lock(&e->lock);
    uint64_t next_flush = mono_ns() + (uint64_t)e->o.flush_ms * 1000000u;
    for (;;) {
        while (!e->stopping && e->spans < e->o.batch_spans && mono_ns() < next_flush) {
            struct timespec ts = {(time_t)(next_flush / 1000000000u), (long)(next_flush % 1000000000u)};
            pthread_cond_timedwait(&e->cond, &e->lock, &ts);
        }
        if (e->n == 0 && e->stopping)
            break;
        if (e->stopping && mono_ns() >= e->deadline_ns) {
            drop_rest(e);
            break;
        }
        size_t k = take_batch(e, batch);
        pthread_mutex_unlock(&e->lock);
        if (k > 0)
            export_batch(e, h, batch, k, &body, &resp);
        pthread_mutex_lock(&e->lock);
        if (e->spans < e->o.batch_spans)
            next_flush = mono_ns() + (uint64_t)e->o.flush_ms * 1000000u;
    }
    pthread_mutex_unlock(&e->lock);
    gw_buf_free(&body);
    gw_buf_free(&resp);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return NULL;
}

/* ---- start and stop ----------------------------------------------------- */

static void destroy(gw_otel_exporter_t *e)
{
    gw_free(e->ring);
    gw_free(e->batch);
    gw_free(e->url);
    gw_free(e->service_name);
    gw_free(e);
}

static int init_sync(gw_otel_exporter_t *e)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return 0;
    int ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&e->cond, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (ok && pthread_mutex_init(&e->lock, NULL) != 0) {
        pthread_cond_destroy(&e->cond);
        ok = 0;
    }
    return ok;
}

static int valid_opts(const gw_otel_opts_t *o)
{
    return o->endpoint != NULL &&
           (strncmp(o->endpoint, "http://", 7) == 0 || strncmp(o->endpoint, "https://", 8) == 0) &&
           o->queue_traces > 0 && o->batch_spans > 0 && o->flush_ms > 0 && o->timeout_ms > 0 &&
           o->max_body_bytes >= 1024;
}

/* Allocates e with copies of the options' strings, its ring and batch. */
static gw_otel_exporter_t *alloc_exporter(const gw_otel_opts_t *o)
{
    gw_otel_exporter_t *e = gw_calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->o = *o;
    e->o.endpoint = NULL;
    e->o.service_name = NULL;
    size_t bcap = o->batch_spans < o->queue_traces ? o->batch_spans : o->queue_traces;
    e->url = traces_url(o->endpoint);
    e->service_name = gw_strdup(o->service_name ? o->service_name : "llmgw");
    e->ring = gw_calloc(o->queue_traces, sizeof(*e->ring));
    e->batch = gw_calloc(bcap, sizeof(*e->batch));
    if (e->url == NULL || e->service_name == NULL || e->ring == NULL || e->batch == NULL) {
        destroy(e);
        return NULL;
    }
    return e;
}

gw_otel_exporter_t *gw_otel_exporter_start(const gw_otel_opts_t *o, char *err, size_t errlen)
{
    const char *why = NULL;
    int synced = 0;
    gw_otel_exporter_t *e = NULL;
    if (!valid_opts(o)) {
        why = "otlp exporter: endpoint must be an http(s) URL and the sizes non-zero";
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        why = "otlp exporter: curl_global_init failed";
        goto out;
    }
    why = "otlp exporter: out of memory";
    e = alloc_exporter(o);
    if (e == NULL || !(synced = init_sync(e)))
        goto out;
    if (pthread_create(&e->thread, NULL, run, e) != 0) {
        why = "otlp exporter: cannot start its thread";
        goto out;
    }
    why = NULL;
out:
    if (why != NULL) {
        if (synced) {
            pthread_mutex_destroy(&e->lock);
            pthread_cond_destroy(&e->cond);
        }
        if (e != NULL)
            destroy(e);
        e = NULL;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", why);
    }
    return e;
}

void gw_otel_exporter_stop(gw_otel_exporter_t *e, uint32_t deadline_ms, gw_otel_stats_t *final)
{
    if (final != NULL)
        gw_otel_stats(e, final);
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->lock);
    e->stopping = 1;
    e->deadline_ns = mono_ns() + (uint64_t)deadline_ms * 1000000u;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    if (final != NULL)
        gw_otel_stats(e, final);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->cond);
    destroy(e);
}

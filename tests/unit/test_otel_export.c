/* test_otel_export.c - unit tests for src/otel_export.c on a libuv loop:
 * option checks, the bounded queue (overflow dropped and counted),
 * unsampled traces, batches sent when full or when flush_ms passed, the
 * close deadline (before a POST and during one), retries against a refused
 * connection, and every span counted exactly once.
 *
 * With --emit URL it is instead the driver of tests/integration/otel.test.mjs:
 * it exports a known set of traces to URL (an OTLP receiver) through the real
 * exporter, closes it, and prints one JSON line with the traceparents it would
 * have sent upstream and the exporter's counters.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otel_export.h"
#include "test.h"
#include "trace.h"
#include "upstream.h"

/* A local port nobody listens on (bound then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static gw_trace_t *two_span_trace(gw_idgen_t *g, const char *tp)
{
    gw_trace_t *t = gw_trace_begin(g, 10, tp, tp ? strlen(tp) : 0, "POST", "/v1/chat/completions");
    gw_trace_attempt_t a = {.number = 1, .operation = "chat", .provider_name = "openai", .model = "m",
                            .status = 200, .reason = "ok", .input_tokens = 1, .output_tokens = 2,
                            .start_ns = 11, .end_ns = 12};
    gw_trace_attempt(t, g, &a);
    gw_trace_end(t, 20, 200, "t1", NULL);
    return t;
}

/* A loop with an upstream context and one local exporter on it. */
typedef struct rig {
    uv_loop_t loop;
    gw_upstream_ctx_t *up;
    gw_otel_exporter_t *e;
    gw_otel_local_t *l;
    int closed;
} rig_t;

static int rig_open(rig_t *r, const gw_otel_opts_t *o)
{
    memset(r, 0, sizeof(*r));
    uv_loop_init(&r->loop);
    r->up = gw_upstream_ctx_new(&r->loop);
    r->e = gw_otel_exporter_new(o, NULL, 0);
    r->l = gw_otel_local_new(r->e, &r->loop, r->up);
    return r->up != NULL && r->e != NULL && r->l != NULL;
}

static void on_closed(void *data) { ((rig_t *)data)->closed++; }

static void stop_timer(uv_timer_t *t) { uv_stop(t->loop); }

/* Runs the loop for ms (the upstream context's async handle keeps it alive). */
static void rig_run_for(rig_t *r, uint32_t ms)
{
    uv_timer_t t;
    uv_timer_init(&r->loop, &t);
    uv_timer_start(&t, stop_timer, ms, 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&r->loop, UV_RUN_NOWAIT); /* its close callback */
}

/* Closes the local within deadline_ms, frees everything, returns the counters. */
static void rig_close(rig_t *r, uint32_t deadline_ms, gw_otel_stats_t *st)
{
    gw_otel_local_close(r->l, deadline_ms, on_closed, r);
    while (r->closed == 0)
        uv_run(&r->loop, UV_RUN_ONCE);
    T_OK(r->closed == 1, "close called back once (%d)", r->closed);
    gw_otel_stats(r->e, st);
    gw_upstream_ctx_free(r->up);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    T_OK(uv_loop_close(&r->loop) == 0, "no handle left on the loop");
    gw_otel_exporter_free(r->e);
}

static void test_opts(void)
{
    gw_otel_opts_t o;
    char err[128] = "";
    gw_otel_opts_default(&o);
    T_OK(o.queue_spans == 4096 && o.batch_spans == 64 && o.flush_ms == 1000 && o.max_retries == 3, "defaults");
    T_OK(gw_otel_exporter_new(&o, err, sizeof(err)) == NULL && strstr(err, "endpoint") != NULL,
         "no endpoint refused: %s", err);
    o.endpoint = "ftp://127.0.0.1:1";
    T_OK(gw_otel_exporter_new(&o, err, sizeof(err)) == NULL && strstr(err, "http") != NULL, "non-http endpoint: %s",
         err);
    o.endpoint = "http://127.0.0.1:1";
    o.queue_spans = 0;
    T_OK(gw_otel_exporter_new(&o, NULL, 0) == NULL, "zero queue refused");
    gw_otel_stats_t st;
    memset(&st, 0x55, sizeof(st));
    gw_otel_stats(NULL, &st);
    T_OK(st.spans_queued == 0 && st.spans_dropped == 0 && st.requests == 0, "stats(NULL) are zero");
    T_OK(gw_otel_local_new(NULL, NULL, NULL) == NULL, "no exporter, no local");
    rig_t none = {.closed = 0};
    gw_otel_local_close(NULL, 0, on_closed, &none);
    T_OK(none.closed == 1, "close(NULL) calls back at once");
}

/* Head sampling by trace id (OTel TraceIdRatioBased): the last 8 bytes
 * against ratio x 2^64; 1 keeps all, 0 none, a ratio keeps its share. */
static void test_sample(gw_idgen_t *g)
{
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    T_OK(o.sample_ratio == 1.0, "sample_ratio defaults to 1");
    o.endpoint = "http://127.0.0.1:1";
    o.sample_ratio = 1.5;
    T_OK(gw_otel_exporter_new(&o, NULL, 0) == NULL, "sample_ratio above 1 refused");
    uint8_t id[GW_TRACE_ID_LEN] = {0};
    T_OK(gw_otel_sample(NULL, id) == 1, "no exporter: sampled");
    double ratios[] = {0, 0.5, 0.25, 1};
    for (size_t r = 0; r < 4; r++) {
        o.sample_ratio = ratios[r];
        gw_otel_exporter_t *e = gw_otel_exporter_new(&o, NULL, 0);
        T_OK(e != NULL, "exporter with ratio %.2f", ratios[r]);
        if (e == NULL)
            continue;
        int kept = 0, n = 20000;
        for (int i = 0; i < n; i++) {
            gw_idgen_trace_id(g, id);
            kept += gw_otel_sample(e, id);
        }
        double share = (double)kept / n;
        T_OK(share >= ratios[r] - 0.02 && share <= ratios[r] + 0.02, "ratio %.2f keeps %.3f of %d", ratios[r], share, n);
        if (ratios[r] == 0.5) { /* the boundary: the last 8 bytes big-endian, against 2^63 */
            memset(id, 0xff, 8);
            memcpy(id + 8, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8);
            T_OK(gw_otel_sample(e, id) == 1, "just under half: kept");
            memcpy(id + 8, "\x80\x00\x00\x00\x00\x00\x00\x00", 8);
            T_OK(gw_otel_sample(e, id) == 0, "half: not kept (first 8 bytes do not count)");
        }
        gw_otel_exporter_free(e);
    }
}

static void idle_opts(gw_otel_opts_t *o, const char *url, size_t queue, uint32_t retries)
{
    gw_otel_opts_default(o);
    o->endpoint = url;
    o->queue_spans = queue;
    o->batch_spans = 1000000; /* never full ... */
    o->flush_ms = 600000;     /* ... and never old: only close exports */
    o->max_retries = retries;
    o->backoff_ms = 10;
    o->timeout_ms = 2000;
}

#define U(x) ((unsigned long long)(x))

static void test_overflow(gw_idgen_t *g)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", closed_port());
    gw_otel_opts_t o;
    idle_opts(&o, url, 8, 2);
    rig_t r;
    T_OK(rig_open(&r, &o), "exporter made");
    int queued = 0;
    for (int i = 0; i < 10; i++)
        queued += gw_otel_submit(r.l, two_span_trace(g, NULL));
    const char *unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    T_OK(gw_otel_submit(r.l, two_span_trace(g, unsampled)) == 0, "unsampled trace not queued");
    T_OK(gw_otel_submit(r.l, NULL) == 0, "NULL trace");
    T_OK(gw_otel_submit(NULL, two_span_trace(g, NULL)) == 0, "NULL local frees the trace");
    rig_run_for(&r, 50);
    gw_otel_stats_t st;
    gw_otel_stats(r.e, &st);
    T_OK(queued == 4 && st.spans_queued == 8, "4 traces (8 spans) queued: %d, %llu", queued, U(st.spans_queued));
    T_OK(st.spans_dropped == 12, "6 traces (12 spans) dropped when full: %llu", U(st.spans_dropped));
    T_OK(st.requests == 0 && st.spans_exported == 0, "nothing sent before a batch is due");
    /* close exports the queue in one batch: refused, retried twice, failed */
    rig_close(&r, 5000, &st);
    T_OK(st.requests == 3 && st.retries == 2, "close flushed: 3 tries (%llu)", U(st.requests));
    T_OK(st.spans_failed == 8 && st.spans_exported == 0 && st.spans_dropped == 12,
         "8 failed, 12 dropped (%llu, %llu)", U(st.spans_failed), U(st.spans_dropped));
}

/* Default options aimed at a local port nobody listens on (url: 64 bytes). */
static void refused_opts(gw_otel_opts_t *o, char *url)
{
    snprintf(url, 64, "http://127.0.0.1:%d", closed_port());
    gw_otel_opts_default(o);
    o->endpoint = url;
}

static void test_batch_due(gw_idgen_t *g)
{
    char url[64];
    gw_otel_opts_t o;
    refused_opts(&o, url);
    o.batch_spans = 4; /* two traces make a batch */
    o.flush_ms = 600000;
    o.max_retries = 1;
    o.backoff_ms = 5;
    rig_t r;
    T_OK(rig_open(&r, &o), "exporter made");
    gw_otel_submit(r.l, two_span_trace(g, NULL));
    gw_otel_stats_t st;
    gw_otel_stats(r.e, &st);
    T_OK(st.requests == 0, "half a batch waits");
    gw_otel_submit(r.l, two_span_trace(g, NULL));
    gw_otel_stats(r.e, &st);
    T_OK(st.requests == 1, "a full batch goes at once: %llu", U(st.requests));
    gw_otel_submit(r.l, two_span_trace(g, NULL)); /* the next batch collects meanwhile */
    rig_run_for(&r, 300);
    gw_otel_stats(r.e, &st);
    T_OK(st.spans_failed == 4 && st.requests == 2 && st.retries == 1, "the full batch tried twice: %llu failed",
         U(st.spans_failed));
    rig_close(&r, 1000, &st);
    T_OK(st.spans_failed == 6 && st.spans_exported == 0 && st.spans_dropped == 0 && st.requests == 4,
         "the rest at close: %llu failed, %llu tries", U(st.spans_failed), U(st.requests));
}

static void test_flush_by_time(gw_idgen_t *g)
{
    char url[64];
    gw_otel_opts_t o;
    refused_opts(&o, url);
    o.flush_ms = 40;
    o.max_retries = 0;
    rig_t r;
    T_OK(rig_open(&r, &o), "exporter made");
    gw_otel_submit(r.l, two_span_trace(g, NULL));
    rig_run_for(&r, 10);
    gw_otel_stats_t st;
    gw_otel_stats(r.e, &st);
    T_OK(st.requests == 0, "young spans wait");
    rig_run_for(&r, 200);
    gw_otel_stats(r.e, &st);
    T_OK(st.requests == 1 && st.spans_failed == 2, "sent once flush_ms passed (%llu tries)", U(st.requests));
    gw_otel_submit(r.l, two_span_trace(g, NULL));
    rig_run_for(&r, 200);
    gw_otel_stats(r.e, &st);
    T_OK(st.requests == 2, "the timer starts again for the next spans (%llu)", U(st.requests));
    rig_close(&r, 1000, &st);
    T_OK(st.spans_queued == 4 && st.spans_failed == 4 && st.requests == 2, "nothing left at close");
}

static void test_close_deadline(gw_idgen_t *g)
{
    gw_otel_opts_t o;
    idle_opts(&o, "http://127.0.0.1:1", 64, 0);
    rig_t r;
    T_OK(rig_open(&r, &o), "exporter made");
    for (int i = 0; i < 3; i++)
        gw_otel_submit(r.l, two_span_trace(g, NULL));
    gw_otel_stats_t st;
    rig_close(&r, 0, &st);
    T_OK(st.spans_queued == 6 && st.spans_dropped == 6 && st.requests == 0,
         "zero deadline: the queue is dropped unsent (%llu dropped, %llu tries)", U(st.spans_dropped),
         U(st.requests));
}

/* A receiver that accepts and never answers: the close deadline cuts the
 * POST in flight (failed) and drops what waits behind it. */
static void test_close_cuts_in_flight(gw_idgen_t *g)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    bind(ls, (struct sockaddr *)&a, sizeof(a));
    listen(ls, 8);
    getsockname(ls, (struct sockaddr *)&a, &al);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    o.endpoint = url;
    o.batch_spans = 2;
    rig_t r;
    T_OK(rig_open(&r, &o), "exporter made");
    for (int i = 0; i < 3; i++)
        gw_otel_submit(r.l, two_span_trace(g, NULL));
    rig_run_for(&r, 20);
    gw_otel_stats_t st;
    uint64_t t0 = uv_hrtime();
    rig_close(&r, 150, &st);
    uint64_t ms = (uv_hrtime() - t0) / 1000000u;
    T_OK(ms >= 140 && ms < 2000, "close waited for its deadline: %llu ms", U(ms));
    T_OK(st.requests == 1 && st.spans_failed == 2 && st.spans_dropped == 4 && st.spans_exported == 0,
         "cut: 2 failed in flight, 4 dropped waiting (%llu tries, %llu failed, %llu dropped)", U(st.requests),
         U(st.spans_failed), U(st.spans_dropped));
    close(ls);
}

/* Many traces against a small queue and batch while POSTs fail: every
 * span is accounted for exactly once. */
static void test_accounting(gw_idgen_t *g)
{
    char url[64];
    gw_otel_opts_t o;
    refused_opts(&o, url);
    o.queue_spans = 32;
    o.batch_spans = 16;
    o.max_retries = 0;
    rig_t r;
    T_OK(rig_open(&r, &o), "exporter made");
    int queued = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 100; i++)
            queued += gw_otel_submit(r.l, two_span_trace(g, NULL));
        uv_run(&r.loop, UV_RUN_NOWAIT);
    }
    gw_otel_stats_t st;
    rig_close(&r, 5000, &st);
    T_OK(st.spans_queued == (uint64_t)queued * 2, "queued spans = accepted traces x 2 (%llu)", U(st.spans_queued));
    T_OK(st.spans_exported + st.spans_failed + st.spans_dropped == 4000,
         "exported + failed + dropped = 4000 submitted (%llu + %llu + %llu)", U(st.spans_exported),
         U(st.spans_failed), U(st.spans_dropped));
    T_OK(st.spans_failed > 0 && st.spans_dropped > 0 && st.requests > 1,
         "sent while it collected, dropped past the bound");
}

/* ---- --emit: the integration test's driver ------------------------------- */

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

/* Trace 0: the chat request with a failover (gemini 503, then openai 200)
 * and an ask-style stage; the others: one embeddings attempt each. */
static gw_trace_t *emit_trace(gw_idgen_t *g, int i, const char *parent, char tps[2][GW_TRACEPARENT_LEN + 1])
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t b = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - 30000000u; /* 30 ms ago */
    char rid[32];
    snprintf(rid, sizeof(rid), "req-%d", i);
    if (i > 0) {
        gw_trace_t *t = gw_trace_begin(g, b + 1000, NULL, 0, "POST", "/v1/embeddings");
        gw_trace_set_str(t, 0, "llmgw.request_id", rid);
        gw_trace_attempt_t a = {.number = 1, .operation = "embeddings", .provider_name = "openai",
                                .provider = "openai", .alias = "emb", .model = "text-embedding-3-small",
                                .status = 200, .reason = "ok", .input_tokens = i, .output_tokens = -1,
                                .start_ns = b + 2000, .end_ns = b + 3000};
        gw_trace_attempt(t, g, &a);
        gw_trace_end(t, b + 4000, 200, "beta", NULL);
        return t;
    }
    gw_trace_t *t = gw_trace_begin(g, b + 1000000, parent, parent ? strlen(parent) : 0, "POST", "/v1/chat/completions");
    gw_trace_set_str(t, 0, "llmgw.request_id", rid);
    gw_trace_set_bool(t, 0, "llmgw.stream", 1);
    gw_trace_stage(t, g, "retrieve", b + 1100000, b + 1200000, 1);
    gw_trace_attempt_open(t, g, NULL, 1, 0, b + 2000000, tps[0]);
    gw_trace_attempt_open(t, g, NULL, 2, 0, b + 7000000, tps[1]);
    gw_trace_attempt_t a1 = {.number = 1, .operation = "chat", .provider_name = "gcp.gemini", .provider = "gemini",
                             .alias = "gemini-1.5-pro", .model = "gemini-1.5-pro", .status = 503,
                             .reason = "status_503", .input_tokens = -1, .output_tokens = -1,
                             .server_address = "127.0.0.1", .server_port = 18000, .end_ns = b + 7000000};
    gw_trace_attempt_t a2 = {.number = 2, .operation = "chat", .provider_name = "openai", .provider = "openai",
                             .alias = "gpt-4o", .model = "gpt-4o", .response_model = "gpt-4o-2024-08-06",
                             .status = 200, .reason = "ok", .input_tokens = 21, .output_tokens = 300,
                             .end_ns = b + 19000000};
    gw_trace_attempt(t, g, &a1);
    gw_trace_attempt(t, g, &a2);
    gw_trace_set_double(t, 0, "llmgw.cost_usd", 0.0031);
    gw_trace_end(t, b + 20000000, 200, "acme", NULL);
    return t;
}

static int emit(int argc, char **argv)
{
    gw_idgen_t g;
    gw_idgen_init(&g);
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    o.endpoint = arg(argc, argv, "--emit", NULL);
    o.service_name = arg(argc, argv, "--service", "llmgw-itest");
    o.batch_spans = (size_t)strtoul(arg(argc, argv, "--batch", "512"), NULL, 10);
    o.flush_ms = (uint32_t)strtoul(arg(argc, argv, "--flush-ms", "200"), NULL, 10);
    o.max_retries = (uint32_t)strtoul(arg(argc, argv, "--retries", "3"), NULL, 10);
    o.backoff_ms = 20;
    int n = (int)strtol(arg(argc, argv, "--traces", "1"), NULL, 10);
    const char *parent = arg(argc, argv, "--parent", NULL);
    uint32_t linger = (uint32_t)strtoul(arg(argc, argv, "--linger-ms", "0"), NULL, 10);
    char tps[2][GW_TRACEPARENT_LEN + 1] = {"", ""};
    rig_t r;
    if (!rig_open(&r, &o)) {
        fprintf(stderr, "cannot make the exporter\n");
        return 1;
    }
    for (int i = 0; i < n; i++)
        gw_otel_submit(r.l, emit_trace(&g, i, parent, tps));
    if (linger > 0)
        rig_run_for(&r, linger); /* let time-based flushing happen before close */
    gw_otel_stats_t st;
    rig_close(&r, 10000, &st);
    printf("{\"traceparents\":[\"%s\",\"%s\"],\"stats\":{\"queued\":%llu,\"exported\":%llu,\"dropped\":%llu,"
           "\"failed\":%llu,\"requests\":%llu,\"retries\":%llu}}\n",
           tps[0], tps[1], U(st.spans_queued), U(st.spans_exported), U(st.spans_dropped), U(st.spans_failed),
           U(st.requests), U(st.retries));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--emit") == 0)
        return emit(argc, argv);
    gw_idgen_t g;
    gw_idgen_init(&g);
    test_opts();
    test_sample(&g);
    test_overflow(&g);
    test_batch_due(&g);
    test_flush_by_time(&g);
    test_close_deadline(&g);
    test_close_cuts_in_flight(&g);
    test_accounting(&g);
    return t_done("test_otel_export");
}

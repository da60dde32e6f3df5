/* test_otel_export.c - unit tests for src/otel_export.c: option checks, the
 * bounded queue (overflow dropped and counted), unsampled traces, the stop
 * deadline, and retries against a refused connection.
 *
 * With --emit URL it is instead the driver of tests/integration/otel.test.mjs:
 * it exports a known set of traces to URL (an OTLP receiver) through the real
 * exporter, stops it, and prints one JSON line with the traceparents it would
 * have sent upstream and the exporter's counters.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otel_export.h"
#include "test.h"
#include "trace.h"

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

static void test_opts(void)
{
    gw_otel_opts_t o;
    char err[128] = "";
    gw_otel_opts_default(&o);
    T_OK(o.queue_traces == 2048 && o.batch_spans == 64 && o.flush_ms == 1000 && o.max_retries == 3,
         "defaults");
    T_OK(gw_otel_exporter_start(&o, err, sizeof(err)) == NULL && strstr(err, "endpoint") != NULL,
         "no endpoint refused: %s", err);
    o.endpoint = "ftp://127.0.0.1:1";
    T_OK(gw_otel_exporter_start(&o, NULL, 0) == NULL, "non-http endpoint refused");
    o.endpoint = "http://127.0.0.1:1";
    o.queue_traces = 0;
    T_OK(gw_otel_exporter_start(&o, NULL, 0) == NULL, "zero queue refused");
    gw_otel_stats_t st;
    memset(&st, 0x55, sizeof(st));
    gw_otel_exporter_stop(NULL, 0, &st);
    T_OK(st.spans_queued == 0 && st.spans_dropped == 0 && st.requests == 0, "stop(NULL) gives zero stats");
}

static gw_otel_exporter_t *idle_exporter(const char *url, size_t queue, uint32_t retries)
{
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    o.endpoint = url;
    o.queue_traces = queue;
    o.batch_spans = 1000000; /* never full ... */
    o.flush_ms = 600000;     /* ... and never old: only stop exports */
    o.max_retries = retries;
    o.backoff_ms = 10;
    o.timeout_ms = 2000;
    return gw_otel_exporter_start(&o, NULL, 0);
}

#define U(x) ((unsigned long long)(x))

static void test_overflow(gw_idgen_t *g)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", closed_port());
    gw_otel_exporter_t *e = idle_exporter(url, 4, 2);
    T_OK(e != NULL, "exporter started");
    int queued = 0;
    for (int i = 0; i < 10; i++)
        queued += gw_otel_submit(e, two_span_trace(g, NULL));
    const char *unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    T_OK(gw_otel_submit(e, two_span_trace(g, unsampled)) == 0, "unsampled trace not queued");
    T_OK(gw_otel_submit(e, NULL) == 0, "NULL trace");
    T_OK(gw_otel_submit(NULL, two_span_trace(g, NULL)) == 0, "NULL exporter frees the trace");
    gw_otel_stats_t st;
    gw_otel_stats(e, &st);
    T_OK(queued == 4 && st.spans_queued == 8, "4 traces (8 spans) queued: %d, %llu", queued, U(st.spans_queued));
    T_OK(st.spans_dropped == 12, "6 traces (12 spans) dropped when full: %llu", U(st.spans_dropped));
    T_OK(st.requests == 0 && st.spans_exported == 0, "nothing sent before a batch is due");
    /* stop exports the queue in one batch: refused, retried twice, failed */
    gw_otel_exporter_stop(e, 5000, &st);
    T_OK(st.requests == 3 && st.retries == 2, "stop flushed: 3 tries (%llu)", U(st.requests));
    T_OK(st.spans_failed == 8 && st.spans_exported == 0 && st.spans_dropped == 12,
         "8 failed, 12 dropped (%llu, %llu)", U(st.spans_failed), U(st.spans_dropped));
}

static void test_batch_due(gw_idgen_t *g)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    o.endpoint = url;
    o.batch_spans = 4; /* two traces make a batch */
    o.flush_ms = 600000;
    o.max_retries = 1;
    o.backoff_ms = 5;
    gw_otel_exporter_t *e = gw_otel_exporter_start(&o, NULL, 0);
    gw_otel_submit(e, two_span_trace(g, NULL));
    gw_otel_submit(e, two_span_trace(g, NULL));
    gw_otel_stats_t st;
    for (int i = 0; i < 500; i++) { /* the batch is due now, not at flush_ms */
        gw_otel_stats(e, &st);
        if (st.spans_failed == 4)
            break;
        usleep(10000);
    }
    T_OK(st.spans_failed == 4 && st.requests == 2 && st.retries == 1, "full batch sent at once: %llu tries",
         U(st.requests));
    gw_otel_submit(e, two_span_trace(g, NULL));
    gw_otel_exporter_stop(e, 1000, &st);
    T_OK(st.spans_failed == 6 && st.spans_exported == 0 && st.spans_dropped == 0 && st.requests == 4,
         "the rest at stop: %llu failed, %llu tries", U(st.spans_failed), U(st.requests));
}

static void test_stop_deadline(gw_idgen_t *g)
{
    gw_otel_exporter_t *e = idle_exporter("http://127.0.0.1:1", 16, 0);
    for (int i = 0; i < 3; i++)
        gw_otel_submit(e, two_span_trace(g, NULL));
    gw_otel_stats_t st;
    gw_otel_exporter_stop(e, 0, &st);
    T_OK(st.spans_queued == 6 && st.spans_dropped == 6 && st.requests == 0,
         "zero deadline: the queue is dropped unsent (%llu dropped, %llu tries)", U(st.spans_dropped),
         U(st.requests));
}

typedef struct producer {
    gw_otel_exporter_t *e;
    int n, queued;
} producer_t;

static void *produce(void *arg)
{
    producer_t *p = arg;
    gw_idgen_t g;
    gw_idgen_init(&g);
    for (int i = 0; i < p->n; i++)
        p->queued += gw_otel_submit(p->e, two_span_trace(&g, NULL));
    return NULL;
}

/* Four threads submit at once against a small queue while the exporter
 * drains it: every span is accounted for exactly once. */
static void test_concurrent(void)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    o.endpoint = url;
    o.queue_traces = 32;
    o.batch_spans = 16;
    o.max_retries = 0;
    gw_otel_exporter_t *e = gw_otel_exporter_start(&o, NULL, 0);
    producer_t ps[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        ps[i] = (producer_t){e, 500, 0};
        pthread_create(&th[i], NULL, produce, &ps[i]);
    }
    int queued = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        queued += ps[i].queued;
    }
    gw_otel_stats_t st;
    gw_otel_exporter_stop(e, 5000, &st);
    T_OK(st.spans_queued == (uint64_t)queued * 2, "queued spans = accepted traces x 2 (%llu)", U(st.spans_queued));
    T_OK(st.spans_dropped >= 4000 - st.spans_queued, "every refused trace counted dropped");
    T_OK(st.spans_exported + st.spans_failed + st.spans_dropped == 4000,
         "exported + failed + dropped = 4000 submitted (%llu + %llu + %llu)", U(st.spans_exported),
         U(st.spans_failed), U(st.spans_dropped));
    T_OK(st.spans_failed > 0 && st.requests > 0, "the exporter drained while producers ran");
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
    char err[128], tps[2][GW_TRACEPARENT_LEN + 1] = {"", ""};
    gw_otel_exporter_t *e = gw_otel_exporter_start(&o, err, sizeof(err));
    if (e == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (int i = 0; i < n; i++)
        gw_otel_submit(e, emit_trace(&g, i, parent, tps));
    if (linger > 0)
        usleep(linger * 1000u); /* let time-based flushing happen before stop */
    gw_otel_stats_t st;
    gw_otel_exporter_stop(e, 10000, &st);
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
    test_overflow(&g);
    test_batch_due(&g);
    test_stop_deadline(&g);
    test_concurrent();
    return t_done("test_otel_export");
}

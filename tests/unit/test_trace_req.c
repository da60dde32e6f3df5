/* test_trace_req.c - unit tests for src/trace_req.c (the request path's
 * tracing glue) and gw_trace_adopt: no allocation per request with
 * tracing off (checked with the allocator's failure injector), the
 * client's traceparent forwarded only when valid, a traced request's root
 * under the client's span and its hand-off to the exporter, the exporter
 * made from telemetry.*, and stage spans adopting the attempts they hold.
 */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "test.h"
#include "trace.h"
#include "trace_req.h"
#include "upstream.h"
#include "worker.h"

static const char *TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

typedef struct fixture {
    gw_app_t app;
    gw_worker_t w;
    gw_http_hdr_t hdr[2];
    gw_http_req_t req;
} fixture_t;

/* A request with one traceparent header value tp (NULL: none). */
static void fixture_init(fixture_t *f, const char *tp)
{
    memset(f, 0, sizeof(*f));
    f->w.app = &f->app;
    gw_idgen_init(&f->w.ids);
    f->hdr[0] = (gw_http_hdr_t){"Content-Type", 12, "application/json", 16};
    f->hdr[1] = (gw_http_hdr_t){"Traceparent", 11, tp, tp ? strlen(tp) : 0};
    f->req = (gw_http_req_t){.worker = &f->w, .method = "POST", .method_len = 4, .headers = f->hdr,
                             .num_headers = tp ? 2 : 1, .start_ns = gw_now_ns()};
    memcpy(f->req.request_id, "req-1", 6);
}

static void test_off_allocates_nothing(void)
{
    fixture_t f;
    fixture_init(&f, TP);
    gw_router_trace_t tr;
    gw_reqlog_t l = {.status = 200, .prompt_tokens = -1, .completion_tokens = -1};
    gw_alloc_fail_after(1); /* one allocation may succeed from now on */
    gw_trace_t *t = gw_trace_req_begin(&f.req, "POST", "/v1/chat/completions");
    gw_trace_req_router(t, &f.req, 0, &tr);
    gw_trace_req_end(&f.req, &t, &l);
    void *p = gw_malloc(16), *q = gw_malloc(16);
    gw_alloc_fail_after(-1);
    T_OK(t == NULL, "tracing off: no trace");
    T_OK(p != NULL, "tracing off: begin, router context and end made no allocation");
    T_OK(q == NULL, "the injector was armed");
    gw_free(p);
    gw_free(q);
    T_OK(tr.trace == NULL && tr.parent == 0 && tr.ids == &f.w.ids, "router context without a trace");
    T_STREQ(tr.client_tp, TP, "the client's traceparent is forwarded unchanged");
}

static void test_client_tp_forwarding(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\t",
         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},     /* OWS trimmed, flags kept */
        {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ""}, /* uppercase: invalid */
        {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""}, /* zero trace id */
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nx: y", ""},
        {"garbage", ""},
        {NULL, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_t f;
        fixture_init(&f, cases[i].in);
        gw_router_trace_t tr;
        memset(&tr, 'x', sizeof(tr));
        gw_trace_req_router(NULL, &f.req, 0, &tr);
        T_STREQ(tr.client_tp, cases[i].out, "forwarded traceparent of case %zu", i);
    }
}

/* A worker's exporter side: a loop, its upstream context, the local part. */
typedef struct otel_rig {
    uv_loop_t loop;
    gw_upstream_ctx_t *up;
    int closed;
} otel_rig_t;

static void rig_start(otel_rig_t *r, fixture_t *f, const gw_otel_opts_t *o)
{
    memset(r, 0, sizeof(*r));
    uv_loop_init(&r->loop);
    r->up = gw_upstream_ctx_new(&r->loop);
    f->app.otel = gw_otel_exporter_new(o, NULL, 0);
    f->w.otel = gw_otel_local_new(f->app.otel, &r->loop, r->up);
}

static void rig_closed(void *data) { ((otel_rig_t *)data)->closed = 1; }

static void rig_stop(otel_rig_t *r, fixture_t *f, uint32_t deadline_ms, gw_otel_stats_t *st)
{
    gw_otel_local_close(f->w.otel, deadline_ms, rig_closed, r);
    while (!r->closed)
        uv_run(&r->loop, UV_RUN_ONCE);
    if (st != NULL)
        gw_otel_stats(f->app.otel, st);
    gw_upstream_ctx_free(r->up);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
    gw_otel_exporter_free(f->app.otel);
}

static void test_on(void)
{
    fixture_t f;
    fixture_init(&f, TP);
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    o.endpoint = "http://127.0.0.1:1"; /* nothing listens: the span ends dropped or failed */
    o.max_retries = 0;
    o.connect_timeout_ms = 200;
    otel_rig_t r;
    rig_start(&r, &f, &o);
    T_OK(f.app.otel != NULL && f.w.otel != NULL, "exporter made");
    gw_alloc_fail_after(1);
    gw_trace_t *t = gw_trace_req_begin(&f.req, "POST", "/v1/chat/completions");
    void *p = gw_malloc(16);
    gw_alloc_fail_after(-1);
    T_OK(t != NULL && p == NULL, "tracing on: begin allocates the trace (one block)");
    T_OK(t != NULL && t->has_remote_parent && t->n_spans == 1, "a root under the client's span");
    T_OK(t != NULL && memcmp(t->remote_parent, "\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8) == 0, "the client's span id");
    size_t n = 0;
    const char *rid = gw_trace_attr_str(t, 0, "llmgw.request_id", &n);
    T_OK(rid != NULL && n == 5 && memcmp(rid, "req-1", 5) == 0, "llmgw.request_id on the root");
    const char *route = gw_trace_attr_str(t, 0, "http.route", &n);
    T_OK(route != NULL && n == 20 && memcmp(route, "/v1/chat/completions", 20) == 0, "http.route");
    gw_router_trace_t tr;
    gw_trace_req_router(t, &f.req, 0, &tr);
    T_OK(tr.trace == t && tr.ids == &f.w.ids && tr.client_tp[0] == '\0', "router context with the trace");
    gw_reqlog_t l = {.status = 200, .tenant = "acme", .model = "c1", .model_len = 2, .stream = 1,
                     .cost_nusd = 1500, .prompt_tokens = -1, .completion_tokens = -1};
    gw_trace_req_end(&f.req, &t, &l);
    T_OK(t == NULL, "the trace was handed over");
    gw_otel_stats_t st;
    gw_otel_stats(f.app.otel, &st);
    T_OK(st.spans_queued == 1, "one span queued (%llu)", (unsigned long long)st.spans_queued);
    rig_stop(&r, &f, 500, &st);
    T_OK(st.spans_exported == 0 && st.spans_dropped + st.spans_failed == 1, "the span ended dropped or failed");
}

static void test_unknown_route_name(void)
{
    fixture_t f;
    fixture_init(&f, NULL);
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    o.endpoint = "http://127.0.0.1:1";
    otel_rig_t r;
    rig_start(&r, &f, &o);
    f.req.method = "PROPFIND-VERY-LONG-METHOD";
    f.req.method_len = strlen(f.req.method);
    gw_trace_t *t = gw_trace_req_begin(&f.req, NULL, NULL);
    size_t n = 0;
    const char *m = gw_trace_attr_str(t, 0, "http.request.method", &n);
    T_OK(m != NULL && n == 6 && memcmp(m, "_OTHER", 6) == 0, "a long unknown method is _OTHER");
    T_OK(gw_trace_attr_str(t, 0, "http.route", &n) == NULL, "no http.route for an unknown path");
    T_OK(t != NULL && !t->has_remote_parent && (t->flags & GW_TRACE_FLAG_SAMPLED), "a new sampled trace");
    gw_trace_free(t);
    rig_stop(&r, &f, 100, NULL);
}

static void test_exporter_from_config(void)
{
    gw_config_t c;
    memset(&c, 0, sizeof(c));
    gw_otel_exporter_t *e = (gw_otel_exporter_t *)&c; /* must be overwritten */
    char err[256] = "";
    T_OK(gw_trace_req_exporter(&c, &e, err, sizeof(err)) == GW_OK && e == NULL, "no endpoint: off");
    char bad[] = "ftp://example.com", good[] = "http://127.0.0.1:1/";
    c.telemetry.otlp_endpoint = bad;
    T_OK(gw_trace_req_exporter(&c, &e, err, sizeof(err)) == GW_EINVAL && e == NULL, "a bad endpoint fails");
    T_OK(strstr(err, "telemetry.otlp_endpoint") != NULL, "with a reason: %s", err);
    c.telemetry.otlp_endpoint = good;
    T_OK(gw_trace_req_exporter(&c, &e, err, sizeof(err)) == GW_OK && e != NULL, "an http endpoint is taken");
    gw_otel_exporter_free(e);
}

/* Stage spans adopt the root's CLIENT children that ran inside them. */
static void test_adopt(void)
{
    gw_idgen_t g;
    gw_idgen_init(&g);
    gw_trace_t *t = gw_trace_begin(&g, 1000, NULL, 0, "POST", "/v1/ask");
    char tp[GW_TRACEPARENT_LEN + 1];
    int a1 = gw_trace_attempt_open(t, &g, &g, 1, 0, 1100, tp); /* inside plan */
    gw_trace_span_end(t, a1, 1400, GW_STATUS_UNSET, NULL);
    int a2 = gw_trace_attempt_open(t, &g, &g, 2, 0, 1450, tp); /* straddles plan's end */
    gw_trace_span_end(t, a2, 1600, GW_STATUS_UNSET, NULL);
    int a3 = gw_trace_attempt_open(t, &g, t, 1, 0, 2100, tp); /* inside format */
    gw_trace_span_end(t, a3, 2200, GW_STATUS_UNSET, NULL);
    int plan = gw_trace_stage(t, &g, "plan", 1050, 1500, 1);
    int inner = gw_trace_stage(t, &g, "guard", 1200, 1300, 1); /* INTERNAL: never moved */
    int fmt = gw_trace_stage(t, &g, "format", 2000, 2300, 1);
    gw_trace_adopt(t, plan);
    gw_trace_adopt(t, fmt);
    gw_trace_adopt(t, 0);  /* no-op */
    gw_trace_adopt(t, 99); /* no-op */
    T_OK(t->spans[a1].parent == plan, "the attempt inside plan moved under it");
    T_OK(t->spans[a2].parent == 0, "an attempt not wholly inside stays under the root");
    T_OK(t->spans[a3].parent == fmt, "the formatter attempt under format");
    T_OK(t->spans[inner].parent == 0 && t->spans[plan].parent == 0, "stages stay under the root");
    gw_trace_adopt(NULL, 1);
    gw_trace_free(t);
}

/* A router call's identity (an address) may come back in a later call of
 * the same request once the first is forgotten: new spans then. */
static void test_forget(void)
{
    gw_idgen_t g;
    gw_idgen_init(&g);
    gw_trace_t *t = gw_trace_begin(&g, 1000, NULL, 0, "POST", "/v1/ask");
    char tp1[GW_TRACEPARENT_LEN + 1], tp2[GW_TRACEPARENT_LEN + 1];
    int call = 0, other = 0;
    int a = gw_trace_attempt_open(t, &g, &call, 1, 0, 1100, tp1);
    int b = gw_trace_attempt_open(t, &g, &other, 1, 0, 1100, tp2);
    T_OK(a > 0 && gw_trace_attempt_open(t, &g, &call, 1, 0, 1200, tp2) == a, "the same (call, number): the same span");
    gw_trace_attempts_forget(t, &call);
    T_OK(gw_trace_attempt_span(t, &call, 1) == -1, "forgotten");
    T_OK(gw_trace_attempt_span(t, &other, 1) == b, "another call's attempts stay");
    int c = gw_trace_attempt_open(t, &g, &call, 1, 0, 1300, tp2);
    T_OK(c > b && strcmp(tp1, tp2) != 0, "a new span (and traceparent) for the reused identity");
    T_OK(t->spans[a].start_ns == 1100, "the old span is untouched");
    gw_trace_attempts_forget(NULL, &call);
    gw_trace_free(t);
}

int main(void)
{
    test_off_allocates_nothing();
    test_client_tp_forwarding();
    test_on();
    test_unknown_route_name();
    test_exporter_from_config();
    test_adopt();
    test_forget();
    return t_done("test_trace_req");
}

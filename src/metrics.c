/* metrics.c - slots, histograms and the Prometheus text exposition (see metrics.h). */
#include "metrics.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "otel_export.h"
#include "usage.h"

static const char *const route_names[GW_ROUTE__N] = {
    "/v1/chat/completions", "/v1/embeddings", "/v1/rerank", "/v1/ask", "/v1/search", "/v1/sql", "/v1/models",
    "/v1/usage", "/metrics", "/", "/favicon.svg", "/healthz", "/readyz", "unknown", "none"};

static const int status_codes[GW_STATUS__N - 4] = {200, 400, 401, 403, 404, 405, 408, 413, 422,
                                                   429, 431, 499, 500, 502, 503, 504, 529, 206};
static const char *const status_names[GW_STATUS__N] = {
    "200", "400", "401", "403", "404", "405", "408", "413", "422", "429", "431",
    "499", "500", "502", "503", "504", "529", "206", "2xx", "3xx", "4xx", "5xx"};

static const char *const reason_names[GW_REASON__N] = {
    "ok", "status_429", "status_529", "status_5xx", "client_error", "connect_error", "reset",
    "connect_timeout", "first_byte_timeout", "idle_timeout", "protocol_error", "stream_broken",
    "stream_error_before_content", "stream_ended_before_content", "malformed_response", "response_too_large",
    "not_expressible", "internal_error", "client_abort", "other"};

static const double lat_bounds[GW_HIST_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1,      2.5,   5,    10,    30,   60,  120};
static const double fine_bounds[GW_HIST_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                    0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};

void gw_metrics_init(gw_metrics_t *m)
{
    m->overhead.fine = 1;
    pthread_mutex_init(&m->labels_lock, NULL);
}

const char *gw_metrics_route_name(int route)
{
    return route >= 0 && route < GW_ROUTE__N ? route_names[route] : "unknown";
}

int gw_metrics_status_slot(int status)
{
    for (int i = 0; i < GW_STATUS__N - 4; i++)
        if (status_codes[i] == status)
            return i;
    int cls = status / 100;
    return cls >= 2 && cls <= 5 ? GW_STATUS__N - 4 + (cls - 2) : GW_STATUS__N - 1;
}

const char *gw_metrics_status_name(int slot) { return slot >= 0 && slot < GW_STATUS__N ? status_names[slot] : "5xx"; }

int gw_metrics_reason_slot(const char *reason)
{
    if (reason == NULL)
        return GW_REASON__N - 1;
    for (int i = 0; i < GW_REASON__N - 1; i++)
        if (strcmp(reason_names[i], reason) == 0)
            return i;
    return GW_REASON__N - 1;
}

const char *gw_metrics_reason_name(int slot) { return slot >= 0 && slot < GW_REASON__N ? reason_names[slot] : "other"; }

void gw_hist_observe(gw_hist_t *h, double ms)
{
    double s = ms > 0 ? ms / 1000.0 : 0;
    const double *bounds = h->fine ? fine_bounds : lat_bounds;
    int i = 0;
    while (i < GW_HIST_BUCKETS && s > bounds[i])
        i++;
    gw_metrics_add(&h->b[i], 1);
    gw_metrics_add(&h->sum_ns, (uint64_t)(s * 1e9));
    gw_metrics_add(&h->count, 1);
}

void gw_metrics_add_nano(gw_buf_t *b, int64_t v)
{
    const char *sign = v < 0 ? "-" : "";
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    gw_buf_printf(b, "%s%llu.%09llu", sign, (unsigned long long)(u / 1000000000ull),
                  (unsigned long long)(u % 1000000000ull));
}

/* ---- exposition ------------------------------------------------------------ */

static inline uint64_t ld(const _Atomic uint64_t *p) { return atomic_load_explicit(p, memory_order_relaxed); }

static void head(gw_buf_t *b, const char *name, const char *type, const char *help)
{
    gw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped (format 0.0.4). */
static void label_value(gw_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            gw_buf_add(b, "\\", 1);
        if (*s == '\n') {
            gw_buf_add(b, "\\n", 2);
            continue;
        }
        gw_buf_add(b, s, 1);
    }
}

static void render_requests(const gw_metrics_t *m, const gw_usage_table_t *u, gw_buf_t *b)
{
    head(b, "llmgw_requests_total", "counter", "Requests answered, by route, status and model alias (\"\" when none).");
    for (int r = 0; r < GW_ROUTE__N; r++)
        for (int s = 0; s < GW_STATUS__N; s++) {
            uint64_t v = ld(&m->requests[r][s]);
            if (v)
                gw_buf_printf(b, "llmgw_requests_total{route=\"%s\",status=\"%s\",model=\"\"} %llu\n",
                              route_names[r], status_names[s], (unsigned long long)v);
            for (size_t k = 0; u != NULL && k < u->n_models; k++) {
                uint64_t w = ld(&u->models[k]->requests[r][s]);
                if (w == 0)
                    continue;
                gw_buf_printf(b, "llmgw_requests_total{route=\"%s\",status=\"%s\",model=\"", route_names[r],
                              status_names[s]);
                label_value(b, u->cfg->models[k].alias);
                gw_buf_printf(b, "\"} %llu\n", (unsigned long long)w);
            }
        }
}

static void render_reasons(gw_buf_t *b, const char *name, const char *help, const _Atomic uint64_t *c)
{
    head(b, name, "counter", help);
    for (int i = 0; i < GW_REASON__N; i++)
        if (ld(&c[i]))
            gw_buf_printf(b, "%s{reason=\"%s\"} %llu\n", name, reason_names[i], (unsigned long long)ld(&c[i]));
}

static void render_hist(gw_buf_t *b, const char *name, const char *help, const gw_hist_t *h)
{
    head(b, name, "histogram", help);
    const double *bounds = h->fine ? fine_bounds : lat_bounds;
    uint64_t cum = 0;
    for (int i = 0; i < GW_HIST_BUCKETS; i++) {
        cum += ld(&h->b[i]);
        gw_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
    }
    cum += ld(&h->b[GW_HIST_BUCKETS]);
    gw_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum ", name, (unsigned long long)cum, name);
    gw_metrics_add_nano(b, (int64_t)ld(&h->sum_ns));
    gw_buf_printf(b, "\n%s_count %llu\n", name, (unsigned long long)cum);
}

static void render_gauges(const gw_metrics_t *m, double uptime_s, gw_buf_t *b)
{
    static const char *const rej[GW_REJECT__N] = {"per_ip", "tenant_rps", "tenant_tokens_per_min", "budget"};
    head(b, "llmgw_rejections_total", "counter", "Requests refused at admission, by limit.");
    for (int i = 0; i < GW_REJECT__N; i++)
        gw_buf_printf(b, "llmgw_rejections_total{reason=\"%s\"} %llu\n", rej[i],
                      (unsigned long long)ld(&m->rejections[i]));
    head(b, "llmgw_requests_in_flight", "gauge", "Requests being handled now.");
    gw_buf_printf(b, "llmgw_requests_in_flight %lld\n", (long long)atomic_load(&m->inflight_requests));
    head(b, "llmgw_streams_in_flight", "gauge", "LLM streams being relayed now.");
    gw_buf_printf(b, "llmgw_streams_in_flight %lld\n", (long long)atomic_load(&m->inflight_streams));
    head(b, "llmgw_log_lines_dropped_total", "counter", "Request log lines dropped because the writer queue was full.");
    gw_buf_printf(b, "llmgw_log_lines_dropped_total %llu\n", (unsigned long long)ld(&m->log_dropped));
    head(b, "llmgw_uptime_seconds", "gauge", "Seconds since the process started.");
    gw_buf_printf(b, "llmgw_uptime_seconds %.3f\n", uptime_s);
}

enum { F_REQ, F_PROMPT, F_COMPL, F_COST, F_EST, F_EST_P, F_EST_C, F__N };

static uint64_t cell_field(const gw_usage_cell_t *c, int f)
{
    const _Atomic uint64_t *p[F__N] = {&c->requests,     &c->prompt_tokens,     &c->completion_tokens,
                                       &c->cost_nusd,    &c->est_attempts,      &c->est_prompt_tokens,
                                       &c->est_completion_tokens};
    return ld(p[f]);
}

typedef struct rank {
    uint64_t cost;
    uint64_t activity;
    size_t row;
} rank_t;

static int rank_cmp(const void *a, const void *b)
{
    const rank_t *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    if (x->activity != y->activity)
        return x->activity > y->activity ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static void sample(gw_buf_t *b, const char *name, const char *tenant, const char *model, const char *type, int f,
                   uint64_t v)
{
    gw_buf_printf(b, "%s{tenant=\"", name);
    label_value(b, tenant);
    gw_buf_adds(b, "\",model=\"");
    label_value(b, model);
    if (type != NULL)
        gw_buf_printf(b, "\",type=\"%s", type);
    gw_buf_adds(b, "\"} ");
    if (f == F_COST)
        gw_metrics_add_nano(b, (int64_t)v);
    else
        gw_buf_printf(b, "%llu", (unsigned long long)v);
    gw_buf_adds(b, "\n");
}

static const char *row_label(const gw_usage_table_t *u, size_t row)
{
    return row ? u->cfg->tenants[row - 1].id : "none";
}

/* Gives labels (rk in rank order, top first): the active rows without one
 * while fewer than k rows have one; past k (k shrank), the lowest-ranked
 * labelled rows give theirs back. lab[row] receives the outcome. */
static void assign_labels(gw_metrics_t *mt, const gw_usage_table_t *u, const rank_t *rk, size_t k, char *lab)
{
    pthread_mutex_lock(&mt->labels_lock);
    size_t n = 0;
    for (size_t r = 0; r < u->n_rows; r++)
        n += u->tenants[r]->metrics_label != 0;
    for (size_t i = 0; i < u->n_rows && n < k; i++) {
        gw_budget_state_t *t = u->tenants[rk[i].row];
        if (!t->metrics_label && (rk[i].cost > 0 || rk[i].activity > 0))
            t->metrics_label = 1, n++;
    }
    for (size_t i = u->n_rows; i-- > 0 && n > k;) {
        gw_budget_state_t *t = u->tenants[rk[i].row];
        if (t->metrics_label)
            t->metrics_label = 0, n--;
    }
    for (size_t r = 0; r < u->n_rows; r++)
        lab[r] = (char)(u->tenants[r]->metrics_label != 0);
    pthread_mutex_unlock(&mt->labels_lock);
}

/* One series per (labelled tenant, model) with a non-zero value, then "other". */
static void render_field(const gw_usage_table_t *u, const rank_t *rk, const char *lab, gw_buf_t *b, const char *name,
                         const char *type, int f)
{
    for (size_t m = 0; m < u->n_models; m++) {
        uint64_t other = 0;
        for (size_t i = 0; i < u->n_rows; i++) {
            uint64_t v = cell_field(u->cells[rk[i].row * u->n_models + m], f);
            if (!lab[rk[i].row])
                other += v;
            else if (v != 0)
                sample(b, name, row_label(u, rk[i].row), u->cfg->models[m].alias, type, f, v);
        }
        if (other != 0)
            sample(b, name, "other", u->cfg->models[m].alias, type, f, other);
    }
}

static void render_budgets(const gw_usage_table_t *u, const rank_t *rk, const char *lab, gw_buf_t *b)
{
    head(b, "llmgw_budget_remaining_usd", "gauge", "Budget left (budget minus spend and reservations), labelled tenants.");
    for (size_t i = 0; i < u->n_rows; i++) {
        const gw_budget_limits_t *lim = &u->limits[rk[i].row];
        if (!lab[rk[i].row] || lim->budget_nusd < 0)
            continue;
        gw_buf_adds(b, "llmgw_budget_remaining_usd{tenant=\"");
        label_value(b, row_label(u, rk[i].row));
        gw_buf_adds(b, "\"} ");
        gw_metrics_add_nano(b, gw_budget_left(u->tenants[rk[i].row], lim));
        gw_buf_adds(b, "\n");
    }
}

static gw_err_t render_usage(gw_metrics_t *mt, const gw_usage_table_t *u, size_t max_tenants, gw_buf_t *b)
{
    rank_t *rk = gw_calloc(u->n_rows, sizeof(*rk));
    char *lab = gw_calloc(u->n_rows, 1);
    if (rk == NULL || lab == NULL) {
        gw_free(rk);
        gw_free(lab);
        return GW_ENOMEM;
    }
    for (size_t r = 0; r < u->n_rows; r++) {
        rk[r].row = r;
        for (size_t m = 0; m < u->n_models; m++) {
            const gw_usage_cell_t *c = u->cells[r * u->n_models + m];
            rk[r].cost += ld(&c->cost_nusd);
            rk[r].activity += ld(&c->requests) + ld(&c->prompt_tokens) + ld(&c->completion_tokens);
        }
    }
    qsort(rk, u->n_rows, sizeof(*rk), rank_cmp);
    assign_labels(mt, u, rk, max_tenants, lab);
    head(b, "llmgw_tenant_requests_total", "counter", "Requests per tenant and the model alias they asked for.");
    render_field(u, rk, lab, b, "llmgw_tenant_requests_total", NULL, F_REQ);
    head(b, "llmgw_tokens_total", "counter", "Tokens billed by upstreams (estimates included).");
    render_field(u, rk, lab, b, "llmgw_tokens_total", "prompt", F_PROMPT);
    render_field(u, rk, lab, b, "llmgw_tokens_total", "completion", F_COMPL);
    head(b, "llmgw_cost_usd_total", "counter", "USD spent, by tenant and model (exact to 1e-9).");
    render_field(u, rk, lab, b, "llmgw_cost_usd_total", NULL, F_COST);
    head(b, "llmgw_estimated_attempts_total", "counter", "Attempts without usage (tokens estimated).");
    render_field(u, rk, lab, b, "llmgw_estimated_attempts_total", NULL, F_EST);
    head(b, "llmgw_estimated_tokens_total", "counter", "The estimated part of llmgw_tokens_total.");
    render_field(u, rk, lab, b, "llmgw_estimated_tokens_total", "prompt", F_EST_P);
    render_field(u, rk, lab, b, "llmgw_estimated_tokens_total", "completion", F_EST_C);
    render_budgets(u, rk, lab, b);
    gw_free(rk);
    gw_free(lab);
    return GW_OK;
}

/* The OTLP trace exporter's counters (otel_export.h), in spans; zeros
 * with llmgw_otel_enabled 0 when telemetry.otlp_endpoint is null. */
static void render_otel(const gw_metrics_t *m, gw_buf_t *b)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } cs[] = {
        {"llmgw_otel_spans_queued_total", "Spans accepted by the trace exporter's queue.",
         offsetof(gw_otel_stats_t, spans_queued)},
        {"llmgw_otel_spans_exported_total", "Spans the OTLP receiver accepted.",
         offsetof(gw_otel_stats_t, spans_exported)},
        {"llmgw_otel_spans_dropped_total", "Spans dropped: queue full, or still queued at the stop deadline.",
         offsetof(gw_otel_stats_t, spans_dropped)},
        {"llmgw_otel_spans_failed_total", "Spans the receiver refused, or whose retries ran out.",
         offsetof(gw_otel_stats_t, spans_failed)},
        {"llmgw_otel_export_requests_total", "OTLP/HTTP POSTs made, retries included.",
         offsetof(gw_otel_stats_t, requests)},
        {"llmgw_otel_export_retries_total", "OTLP/HTTP POSTs that were retries.", offsetof(gw_otel_stats_t, retries)},
    };
    gw_otel_stats_t st;
    gw_otel_stats(m->otel, &st);
    head(b, "llmgw_otel_enabled", "gauge", "1 when traces are exported (telemetry.otlp_endpoint set).");
    gw_buf_printf(b, "llmgw_otel_enabled %d\n", m->otel != NULL);
    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
        uint64_t v;
        memcpy(&v, (const char *)&st + cs[i].off, sizeof(v));
        head(b, cs[i].name, "counter", cs[i].help);
        gw_buf_printf(b, "%s %llu\n", cs[i].name, (unsigned long long)v);
    }
}

gw_err_t gw_metrics_render(gw_metrics_t *m, const gw_usage_table_t *u, size_t max_tenants, double uptime_s,
                           gw_buf_t *out)
{
    render_requests(m, u, out);
    render_reasons(out, "llmgw_upstream_attempts_total", "Upstream attempts, by outcome.", m->attempts);
    render_reasons(out, "llmgw_failovers_total", "Attempts that failed and were followed by another, by reason.",
                   m->failovers);
    render_gauges(m, uptime_s, out);
    render_hist(out, "llmgw_request_duration_seconds", "Total time per request, every route.", &m->latency);
    render_hist(out, "llmgw_upstream_duration_seconds", "Time spent in upstream attempts per LLM request.",
                &m->upstream);
    render_hist(out, "llmgw_time_to_first_token_seconds", "Time to the first byte of the answer per LLM request.",
                &m->ttft);
    render_hist(out, "llmgw_gateway_overhead_seconds", "Total time minus upstream time per LLM request.",
                &m->overhead);
    render_otel(m, out);
    if (u != NULL && render_usage(m, u, max_tenants, out) != GW_OK)
        return GW_ENOMEM;
    /* gw_buf refuses what passes its bound: a full buffer means a cut exposition */
    return out->len + 256 < out->max ? GW_OK : GW_ETOOBIG;
}

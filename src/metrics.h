/* metrics.h - the gateway's counters, gauges and histograms, and their
 * Prometheus text exposition (format 0.0.4) for GET /metrics.
 *
 * Everything is a relaxed atomic in one process-wide gw_metrics_t (owned
 * by the app) or in the per-model / per-(tenant, model) cells of the usage
 * table (usage.h): a request adds to a few counters, nothing takes a lock.
 * Labels are bounded by construction: routes and status codes map to fixed
 * slots, models to the configured aliases, attempt reasons to a fixed
 * list, and tenants to the top telemetry.metrics_max_tenants by spend plus
 * "other" at render time.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct gw_otel_exporter;

/* Route slots (the route table's patterns; "unknown": no route matched
 * (404/405); "none": answered by the connection layer before routing). */
enum {
    GW_ROUTE_CHAT = 0, GW_ROUTE_EMBEDDINGS, GW_ROUTE_RERANK, GW_ROUTE_ASK, GW_ROUTE_SEARCH, GW_ROUTE_SQL,
    GW_ROUTE_MODELS, GW_ROUTE_USAGE, GW_ROUTE_METRICS, GW_ROUTE_PAGE, GW_ROUTE_FAVICON, GW_ROUTE_HEALTH,
    GW_ROUTE_READY, GW_ROUTE_UNKNOWN, GW_ROUTE_NONE, GW_ROUTE__N
};
/* Status slots: common codes exactly, the rest by class. */
enum { GW_STATUS__N = 22 };
/* Attempt outcome slots (router reasons). */
enum { GW_REASON__N = 20 };
/* Admission rejections. */
enum { GW_REJECT_PER_IP = 0, GW_REJECT_TENANT_RPS, GW_REJECT_TENANT_TPM, GW_REJECT_BUDGET, GW_REJECT__N };

#define GW_HIST_BUCKETS 16

typedef struct gw_hist {
    int fine;                                /* bounds: 0 latency (1 ms .. 120 s), 1 overhead (50 us .. 5 s) */
    _Atomic uint64_t b[GW_HIST_BUCKETS + 1]; /* per bucket (not cumulative); the last is +Inf */
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t count;
} gw_hist_t;

/* Per configured model alias, shared across reloads (see usage.h). */
typedef struct gw_model_stats {
    atomic_int refs;
    _Atomic uint64_t requests[GW_ROUTE__N][GW_STATUS__N];
} gw_model_stats_t;

typedef struct gw_metrics {
    _Atomic uint64_t requests[GW_ROUTE__N][GW_STATUS__N]; /* requests that named no configured model */
    _Atomic uint64_t attempts[GW_REASON__N];
    _Atomic uint64_t failovers[GW_REASON__N]; /* attempts that failed and were followed by another */
    _Atomic uint64_t rejections[GW_REJECT__N];
    _Atomic int64_t inflight_requests;
    _Atomic int64_t inflight_streams;
    _Atomic uint64_t log_dropped; /* request log lines dropped (writer queue full) */
    gw_hist_t latency;  /* every request, total */
    gw_hist_t upstream; /* LLM requests: time spent in upstream attempts */
    gw_hist_t ttft;     /* LLM requests: first byte to the client */
    gw_hist_t overhead; /* LLM requests: total minus upstream */
    const struct gw_otel_exporter *otel; /* the trace exporter (set before the workers start), or NULL */
    pthread_mutex_t labels_lock; /* which tenants have a label of their own (gw_metrics_render) */
} gw_metrics_t;

/* Sets the histogram bounds of a zeroed m (the counters start at 0). */
void gw_metrics_init(gw_metrics_t *m);

/* Names for slots (static strings). */
const char *gw_metrics_route_name(int route);
/* Slot of an HTTP status; gw_metrics_status_name gives its label. */
int gw_metrics_status_slot(int status);
const char *gw_metrics_status_name(int slot);
/* Slot of a router attempt reason (NULL = "pending"); unknown -> "other". */
int gw_metrics_reason_slot(const char *reason);
const char *gw_metrics_reason_name(int slot);

/* Adds one observation of ms milliseconds (negative counts as 0). */
void gw_hist_observe(gw_hist_t *h, double ms);

/* Adds v to a counter (relaxed atomic). */
static inline void gw_metrics_add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

struct gw_usage_table;

/* Appends the whole exposition to out: the app counters m, the usage
 * table u (tokens, USD, per-model requests; may be NULL) with at most
 * max_tenants tenant label values, and uptime_s. A tenant's label, once
 * given, stays (so every tenant series and tenant="other" only grow, as
 * Prometheus counters must): while fewer than max_tenants tenants have
 * one, the active tenants without one get one, top spenders first; the
 * rest are summed into tenant="other". Shrinking max_tenants (a reload)
 * takes labels back from the lowest spenders. GW_ETOOBIG when out's bound
 * is too small. Allocates a scratch array of u's tenant rows. */
gw_err_t gw_metrics_render(gw_metrics_t *m, const struct gw_usage_table *u, size_t max_tenants,
                           double uptime_s, gw_buf_t *out);

/* Appends v nano-units as a decimal with 9 digits after the point. */
void gw_metrics_add_nano(gw_buf_t *b, int64_t v);

#endif

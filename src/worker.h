/* worker.h - process-wide state (gw_app_t) and per-thread workers.
 *
 * gw_app_t is the one clearly named place for mutable state shared between
 * threads: the current runtime (config generation), the shared rate
 * limiters and the drain flag. Each worker thread owns a libuv loop, its
 * listening socket (SO_REUSEPORT), its connections and its upstream socket
 * pools, and holds a reference to the runtime it currently serves with.
 *
 * Runtime lifetime: the app holds one reference to the current runtime,
 * each worker one to the runtime it uses, each request one to the runtime
 * it started with. A reload builds a new runtime, publishes it and wakes
 * the workers, which swap their reference on their own loop.
 */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "logwriter.h"
#include "metrics.h"
#include "ratelimit.h"
#include "trace.h"

struct gw_http_conn;
struct gw_upstream_ctx;
struct gw_reqlog;
struct gw_usage_table;
struct gw_otel_exporter;
struct gw_otel_local;

typedef struct gw_tenant_state {
    pthread_mutex_t lock;
    gw_bucket_t rps;
} gw_tenant_state_t;

typedef struct gw_runtime {
    atomic_int refcnt;
    gw_config_t *cfg;
    gw_auth_table_t *auth;
    gw_tenant_state_t *tenants; /* parallel to cfg->tenants */
    struct gw_usage_table *usage; /* accounting and budgets; cells shared with the previous runtime */
    uint64_t generation;
} gw_runtime_t;

typedef struct gw_worker gw_worker_t;

struct gw_services;

enum { GW_SVC_STARTING = 0, GW_SVC_READY, GW_SVC_FAILED, GW_SVC_DISABLED };

typedef struct gw_app {
    _Atomic(struct gw_services *) services; /* the catalog side, NULL until ready */
    atomic_int services_state;              /* GW_SVC_* */
    char services_error[256];               /* why it failed (written before the state) */
    uv_thread_t services_thread;
    _Atomic(gw_runtime_t *) rt; /* current runtime; written under rt_lock */
    pthread_mutex_t rt_lock;
    gw_ratelimit_t *per_ip;
    gw_worker_t *workers;
    size_t n_workers;
    atomic_int draining;
    char *log_path;            /* telemetry.log when it names a file (reopened on SIGHUP and SIGUSR1), else NULL */
    gw_logwriter_t *logw;      /* the request log's writer thread */
    gw_metrics_t metrics;      /* process-wide counters (atomics) */
    struct gw_otel_exporter *otel; /* trace export options and counters; NULL when telemetry.otlp_endpoint is null */
    uint64_t start_ns;
} gw_app_t;

struct gw_worker {
    gw_app_t *app;
    size_t index;
    uv_loop_t loop;
    uv_tcp_t listener;
    int listening;
    uv_async_t wakeup; /* reload or drain requested */
    uv_timer_t drain_timer;
    uv_thread_t thread;
    gw_runtime_t *rt;
    struct gw_http_conn *conns; /* intrusive list of live connections */
    size_t n_conns;
    size_t n_inflight;
    struct gw_upstream_ctx *up;
    struct gw_otel_local *otel; /* this loop's trace batcher and sender; NULL without telemetry.otlp_endpoint */
    struct gw_shared *shared; /* shared limits and budgets on Redis (redis_shared.h); NULL without redis_url */
    gw_buf_t logbuf;      /* request log lines not yet written */
    uv_check_t log_check; /* writes logbuf once per loop turn */
    uint64_t req_seq;
    gw_idgen_t ids;       /* trace and span ids of this thread's requests */
    int drain_started;
    int stopping;
};

/* Takes a reference on the worker's current runtime for one request. */
gw_runtime_t *gw_runtime_acquire(gw_worker_t *w);
void gw_runtime_release(gw_runtime_t *rt);
/* Builds a runtime from a loaded config (takes ownership of cfg). */
gw_runtime_t *gw_runtime_new(gw_config_t *cfg, uint64_t generation, const gw_runtime_t *prev, char *err,
                             size_t errlen);

/* Queues one request log line; handed to the writer at the end of this loop turn. */
void gw_worker_log(gw_worker_t *w, const struct gw_reqlog *l);

/* Monotonic clock in nanoseconds. */
uint64_t gw_now_ns(void);

#endif

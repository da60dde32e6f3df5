/* redis_metrics.c - the llmgw_redis_* and llmgw_schema_cache_* lines of
 * /metrics (redis_metrics.h): sums of the per-worker shared-limits
 * counters and the schema cache's counters, Prometheus text format.
 */
#include "redis_metrics.h"

#include <stddef.h>
#include <string.h>

#include "services.h"
#include "worker.h"

typedef struct counter {
    const char *name, *help;
    size_t off;
} counter_t;

static const counter_t SHARED[] = {
    {"llmgw_redis_commands_total", "Commands sent to Redis by the shared limits.",
     offsetof(gw_shared_stats_t, commands)},
    {"llmgw_redis_errors_total", "Redis commands that failed (error reply, connection lost).",
     offsetof(gw_shared_stats_t, errors)},
    {"llmgw_redis_timeouts_total", "Redis commands whose limits.redis_timeout_ms passed.",
     offsetof(gw_shared_stats_t, timeouts)},
    {"llmgw_redis_reconnects_total", "Connections to Redis made again after a drop.",
     offsetof(gw_shared_stats_t, reconnects)},
    {"llmgw_redis_script_reloads_total", "Scripts sent again after NOSCRIPT (a restarted or flushed Redis).",
     offsetof(gw_shared_stats_t, script_reloads)},
    {"llmgw_redis_fail_open_admits_total", "Requests admitted by redis_policy fail_open without the shared check.",
     offsetof(gw_shared_stats_t, fail_open_admits)},
    {"llmgw_redis_fail_closed_refusals_total", "Requests refused 503 shared_state_unavailable (fail_closed).",
     offsetof(gw_shared_stats_t, fail_closed_refusals)},
    {"llmgw_redis_settles_lost_total", "Settles and undos Redis never took (spend missing from the shared budget).",
     offsetof(gw_shared_stats_t, settles_lost)},
};

static const counter_t CACHE[] = {
    {"llmgw_schema_cache_misses_total", "Schemas described by the engine (then stored).",
     offsetof(gw_schema_cache_stats_t, misses)},
    {"llmgw_schema_cache_stores_total", "Schemas written to Redis.", offsetof(gw_schema_cache_stats_t, stores)},
    {"llmgw_schema_cache_redis_errors_total", "Schema cache Redis failures (the in-process cache applied).",
     offsetof(gw_schema_cache_stats_t, redis_errors)},
    {"llmgw_schema_cache_bypasses_total", "Schemas described directly: no catalog fingerprint.",
     offsetof(gw_schema_cache_stats_t, bypasses)},
};

static void head(gw_buf_t *b, const char *name, const char *type, const char *help)
{
    gw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counters(gw_buf_t *b, const counter_t *cs, size_t n, const void *st)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)st + cs[i].off, sizeof(v));
        head(b, cs[i].name, "counter", cs[i].help);
        gw_buf_printf(b, "%s %llu\n", cs[i].name, (unsigned long long)v);
    }
}

void gw_redis_metrics_format(const gw_shared_stats_t *s, int enabled, const gw_schema_cache_stats_t *c, gw_buf_t *out)
{
    head(out, "llmgw_redis_enabled", "gauge", "1 when limits and budgets are shared through Redis (redis_url set).");
    gw_buf_printf(out, "llmgw_redis_enabled %d\n", enabled);
    head(out, "llmgw_redis_connections_up", "gauge", "Workers whose connection to Redis is established.");
    gw_buf_printf(out, "llmgw_redis_connections_up %d\n", s->up);
    head(out, "llmgw_redis_limit_calls_total", "counter", "Shared limit and budget script calls, by result.");
    gw_buf_printf(out, "llmgw_redis_limit_calls_total{result=\"allowed\"} %llu\n", (unsigned long long)s->allowed);
    gw_buf_printf(out, "llmgw_redis_limit_calls_total{result=\"denied\"} %llu\n", (unsigned long long)s->denied);
    gw_buf_printf(out, "llmgw_redis_limit_calls_total{result=\"unavailable\"} %llu\n",
                  (unsigned long long)s->unavailable);
    counters(out, SHARED, sizeof(SHARED) / sizeof(SHARED[0]), s);
    if (c == NULL)
        return;
    head(out, "llmgw_schema_cache_hits_total", "counter", "Schemas served from a cache, by level.");
    gw_buf_printf(out, "llmgw_schema_cache_hits_total{level=\"process\"} %llu\n", (unsigned long long)c->hits);
    gw_buf_printf(out, "llmgw_schema_cache_hits_total{level=\"redis\"} %llu\n", (unsigned long long)c->redis_hits);
    counters(out, CACHE, sizeof(CACHE) / sizeof(CACHE[0]), c);
    head(out, "llmgw_schema_cache_redis_up", "gauge", "1 when the schema cache's last Redis command worked.");
    gw_buf_printf(out, "llmgw_schema_cache_redis_up %d\n", c->redis_up);
}

static void add(gw_shared_stats_t *d, const gw_shared_stats_t *o)
{
    d->commands += o->commands;
    d->errors += o->errors;
    d->timeouts += o->timeouts;
    d->reconnects += o->reconnects;
    d->allowed += o->allowed;
    d->denied += o->denied;
    d->unavailable += o->unavailable;
    d->script_reloads += o->script_reloads;
    d->fail_open_admits += o->fail_open_admits;
    d->fail_closed_refusals += o->fail_closed_refusals;
    d->settles_lost += o->settles_lost;
    d->up += o->up;
}

void gw_redis_metrics_render(struct gw_app *app, gw_buf_t *out)
{
    gw_shared_stats_t sum, one;
    memset(&sum, 0, sizeof(sum));
    int enabled = 0;
    for (size_t i = 0; i < app->n_workers && !atomic_load(&app->draining); i++) {
        const gw_shared_t *sh = app->workers[i].shared;
        if (sh == NULL)
            continue;
        enabled = 1;
        gw_shared_stats(sh, &one);
        add(&sum, &one);
    }
    gw_services_t *svc = atomic_load(&app->services);
    gw_schema_cache_stats_t cs;
    if (svc != NULL && svc->schema_cache != NULL)
        gw_schema_cache_stats(svc->schema_cache, &cs);
    gw_redis_metrics_format(&sum, enabled, svc != NULL && svc->schema_cache != NULL ? &cs : NULL, out);
}

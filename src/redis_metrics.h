/* redis_metrics.h - the /metrics lines of the shared state on Redis: the
 * workers' shared-limits clients (redis_shared.h, summed over workers) and
 * the process's schema cache (schema_cache.h, once the catalog side is up).
 * Names: llmgw_redis_* and llmgw_schema_cache_*.
 */
#ifndef GW_REDIS_METRICS_H
#define GW_REDIS_METRICS_H

#include "buf.h"
#include "redis_shared.h"
#include "schema_cache.h"

struct gw_app;

/* Appends the lines for s (the sum over workers; enabled 0 without
 * redis_url) and c (NULL: the catalog side is not up). */
void gw_redis_metrics_format(const gw_shared_stats_t *s, int enabled, const gw_schema_cache_stats_t *c, gw_buf_t *out);

/* Collects from app (any worker thread) and appends with
 * gw_redis_metrics_format. While the app drains, the workers' clients may
 * be going away: their counters are then left out. */
void gw_redis_metrics_render(struct gw_app *app, gw_buf_t *out);

#endif

/* schema_cache.h - the ask pipeline's schema cache (issue 4 item 1): the
 * engine's schema description (gw_schema_t) kept as JSON in Redis, shared
 * by every process and replica, with an in-process cache in front that is
 * also the fallback when Redis is absent or down (counted, logged once per
 * change of state, never an error to the caller).
 *
 * Key: <prefix>:v<format>:<engine>:<max_values>:<fingerprint>, where the
 * fingerprint is a 64-bit FNV-1a hash over the four catalog tables' row
 * counts and, on DuckDB and ClickHouse, their column names and types
 * (SELECT * ... LIMIT 0) and MAX(inventory.updated_at). BigQuery gets the
 * row counts only (free: table metadata), so as not to bill a scan. A new
 * catalog (regenerated, reloaded, another seed) gets a new key; the old one
 * expires by its TTL. When the fingerprint cannot be read (a catalog
 * without those tables) the engine is described directly, uncached.
 *
 * Redis runs on a private libuv loop (redis.h's synchronous wrapper): the
 * cache is consulted while the pipeline is built, on the services thread
 * or the CLI, which have no loop of their own. Functions borrow arguments.
 */
#ifndef GW_SCHEMA_CACHE_H
#define GW_SCHEMA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"

struct gw_config;

#define GW_SCHEMA_CACHE_FORMAT 1 /* bump when the JSON of a schema changes */

typedef struct gw_schema_cache gw_schema_cache_t;

typedef struct gw_schema_cache_opts {
    const char *redis_url;  /* NULL: in-process only */
    uint32_t ttl_s;         /* Redis and in-process; 0: 3600 */
    uint32_t timeout_ms;    /* per Redis command; 0: 100 */
    size_t max_entries;     /* in-process entries; 0: 8 */
    const char *key_prefix; /* NULL: "llmgw:schema" */
} gw_schema_cache_opts_t;

typedef struct gw_schema_cache_stats {
    uint64_t hits;         /* served from the in-process cache */
    uint64_t redis_hits;   /* served from Redis */
    uint64_t misses;       /* described by the engine (then stored) */
    uint64_t stores;       /* schemas written to Redis */
    uint64_t redis_errors; /* Redis down, timed out or refused: the in-process fallback applied */
    uint64_t bypasses;     /* no fingerprint: described directly, not cached */
    int redis_up;          /* the last Redis command worked */
} gw_schema_cache_stats_t;

/* A new cache. With a redis_url it connects at once; a Redis that does not
 * answer is not an error (it is retried with backoff). NULL with a reason
 * in err for a bad URL (rediss:// included) or no memory. */
gw_schema_cache_t *gw_schema_cache_new(const gw_schema_cache_opts_t *o, char *err, size_t errlen);
/* Frees it. NULL is fine. */
void gw_schema_cache_free(gw_schema_cache_t *c);

/* The schema of e with values up to max_values (0: 1000), as
 * gw_engine_describe gives it: from the in-process cache, else Redis, else
 * the engine (then stored in both). *out is new (gw_schema_free). Errors are
 * the engine's describe errors only. Thread-safe (one lock). */
gw_err_t gw_schema_cache_get(gw_schema_cache_t *c, gw_engine_t *e, size_t max_values, gw_schema_t **out, char *err,
                             size_t errlen);
/* Copies the counters. */
void gw_schema_cache_stats(gw_schema_cache_t *c, gw_schema_cache_stats_t *out);

/* What gw_ask_new calls: with cfg->ask.schema_cache_redis_url set, a cache
 * on that Redis (ttl ask.schema_cache.ttl_s, timeout limits.redis_timeout_ms)
 * for this one call, and its outcome logged; with no URL (or cfg NULL), just
 * gw_engine_describe. Same contract as gw_engine_describe. */
gw_err_t gw_schema_cache_describe(const struct gw_config *cfg, gw_engine_t *e, size_t max_values, gw_schema_t **out,
                                  char *err, size_t errlen);

/* The catalog fingerprint of e (see above) as 16 hex digits + NUL.
 * GW_EUPSTREAM (with the engine's reason in err) when a query fails. */
gw_err_t gw_schema_fingerprint(gw_engine_t *e, char out[17], char *err, size_t errlen);

/* Parses the JSON of gw_schema_to_json back into a new *out (gw_schema_free):
 * gw_schema_to_json of the result is byte-identical to a json that this
 * function accepts from gw_schema_to_json. Strict: unknown or missing
 * keys, wrong types, NUL bytes, negative counts and duplicate keys are
 * GW_EINVAL with a reason in err; more than 64 MiB is GW_ETOOBIG. */
gw_err_t gw_schema_from_json(const char *json, size_t len, gw_schema_t **out, char *err, size_t errlen);

#endif

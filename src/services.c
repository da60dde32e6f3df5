/* services.c - the catalog side of the server: engine + SQL guard, the ask
 * pipeline and the search index, opened in the background after the
 * gateway is listening (the gateway never waits for a catalog).
 *
 * With the embedded default (no config file) a missing DuckDB catalog is
 * generated first (1M SKUs, progress bar on a terminal). With a config file
 * a missing catalog is an error that says how to make one. ask.engine:
 * none turns the catalog side off.
 */
#include "services.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_cli.h"
#include "catalog_gen.h"
#include "log.h"
#include "schema_cache.h"
#include "taxonomy.h"
#include "worker.h"

#define DEFAULT_SKUS 1000000

/* Generates the embedded default's catalog when it is missing. */
static gw_err_t ensure_catalog(const gw_config_t *cfg, int may_generate, char *err, size_t errlen)
{
    const char *engine = cfg->ask.engine ? cfg->ask.engine : "duckdb";
    const char *path = cfg->ask.duckdb_path ? cfg->ask.duckdb_path : "data/catalog.duckdb";
    struct stat st;
    if (strcmp(engine, "duckdb") != 0 || stat(path, &st) == 0)
        return GW_OK;
    if (!may_generate) {
        snprintf(err, errlen, "catalog %s not found: run 'llmgw catalog generate --out %s'", path, path);
        return GW_ENOTFOUND;
    }
    gw_log_msg("catalog %s not found: generating %d SKUs (once)", path, DEFAULT_SKUS);
    gw_catalog_bar_t bar = {gw_catalog_mono_s(), -1};
    gw_catalog_opts_t o = {.skus = DEFAULT_SKUS, .seed = 42, .out = path, .format = GW_CATALOG_DUCKDB, .threads = 2,
                           .shard_count = 1};
    if (isatty(STDERR_FILENO)) {
        o.progress = gw_catalog_bar_draw;
        o.progress_data = &bar;
    }
    gw_catalog_stats_t stats;
    gw_err_t rc = gw_catalog_generate(&o, &stats, err, errlen);
    if (rc == GW_OK)
        gw_log_msg("catalog %s: %llu SKUs in %.1f s", path, (unsigned long long)stats.skus, stats.seconds);
    return rc;
}

/* The process's schema cache: on ask.schema_cache.redis_url when set
 * (shared by every replica), in-process otherwise. */
static gw_err_t schema_cache_open(gw_services_t *s, const gw_config_t *cfg, char *err, size_t errlen)
{
    gw_schema_cache_opts_t o = {.redis_url = cfg->ask.schema_cache_redis_url,
                                .ttl_s = cfg->ask.schema_cache_ttl_s,
                                .timeout_ms = cfg->limits.redis_timeout_ms};
    char cerr[256] = "";
    if ((s->schema_cache = gw_schema_cache_new(&o, cerr, sizeof cerr)) != NULL)
        return GW_OK;
    if (o.redis_url != NULL) { /* no Redis client: the ask side still works, in-process */
        gw_log_msg("schema cache: %s (in-process only)", cerr);
        o.redis_url = NULL;
        if ((s->schema_cache = gw_schema_cache_new(&o, cerr, sizeof cerr)) != NULL)
            return GW_OK;
    }
    snprintf(err, errlen, "schema cache: %s", cerr);
    return GW_ENOMEM;
}

gw_services_t *gw_services_open(const gw_config_t *cfg, int may_generate, char *err, size_t errlen)
{
    gw_services_t *s = gw_calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    uint64_t t0 = gw_now_ns();
    if (ensure_catalog(cfg, may_generate, err, errlen) != GW_OK)
        goto fail;
    if ((s->guard = gw_guard_new_for_config(cfg, err, errlen)) == NULL)
        goto fail;
    if (gw_engine_open(cfg, gw_guard_engine_hook, s->guard, &s->engine, err, errlen) != GW_OK)
        goto fail;
    if (schema_cache_open(s, cfg, err, errlen) != GW_OK)
        goto fail;
    if ((s->ask = gw_ask_new(cfg, s->schema_cache, s->engine, s->guard, err, errlen)) == NULL)
        goto fail;
    gw_taxonomy_t *tax = gw_taxonomy_load(NULL, NULL, 0);
    gw_search_opts_t so = {.taxonomy = tax};
    gw_err_t rc = gw_search_build(s->engine, &so, &s->search, err, errlen);
    gw_taxonomy_free(tax);
    if (rc != GW_OK)
        goto fail;
    snprintf(s->engine_name, sizeof(s->engine_name), "%s", cfg->ask.engine ? cfg->ask.engine : "duckdb");
    gw_log_msg("catalog ready on %s in %llu ms", s->engine_name, (unsigned long long)((gw_now_ns() - t0) / 1000000));
    return s;
fail:
    gw_services_free(s);
    return NULL;
}

void gw_services_free(gw_services_t *s)
{
    if (s == NULL)
        return;
    gw_search_free(s->search);
    gw_ask_free(s->ask);
    gw_schema_cache_free(s->schema_cache);
    gw_engine_close(s->engine);
    gw_guard_free(s->guard);
    gw_free(s);
}

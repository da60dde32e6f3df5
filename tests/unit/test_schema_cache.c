/* test_schema_cache.c - the schema cache (src/schema_cache*.c): the JSON
 * round trip (byte-identical re-serialisation) and the strict parser; the
 * catalog fingerprint through the SQL guard on two generated DuckDB
 * catalogs; hit/miss counts in process and in Redis (two caches = two
 * processes); Redis stopped mid-run (answers keep coming from the
 * in-process cache; a new cache falls back to the engine); TTL expiry;
 * gw_schema_cache_describe from a config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_gen.h"
#include "config.h"
#include "engine.h"
#include "schema_cache.h"
#include "sql_guard.h"
#include "test_redis_util.h"

#define PRIVATE_PORT 16393

static char tmpdir[64];
static gw_guard_t *guard;

/* ---- an engine that counts describes (forwards to a real one) ---- */

typedef struct counting {
    gw_engine_t base;
    gw_engine_t *inner;
    int describes;
} counting_t;

static gw_err_t c_describe(gw_engine_t *e, size_t max, gw_schema_t **out, char *err, size_t errlen)
{
    counting_t *c = (counting_t *)e;
    c->describes++;
    return gw_engine_describe(c->inner, max, out, err, errlen);
}

static gw_err_t c_query(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                        const gw_row_sink_t *sink, gw_query_info_t *info)
{
    return gw_engine_query(((counting_t *)e)->inner, sql, len, o, sink, info);
}

static void c_close(gw_engine_t *e)
{
}

static const gw_engine_ops_t counting_ops = {"duckdb", c_describe, c_query, c_close};

static gw_engine_t *open_catalog(const char *name, uint64_t skus, uint64_t seed)
{
    char path[160], err[512];
    gw_catalog_opts_t o = {0};
    gw_engine_t *e = NULL;
    snprintf(path, sizeof path, "%s/%s.duckdb", tmpdir, name);
    o.skus = skus;
    o.seed = seed;
    o.out = path;
    o.format = GW_CATALOG_DUCKDB;
    o.threads = 2;
    o.shard_count = 1;
    o.data_dir = GW_SOURCE_DIR "/data";
    gw_duckdb_opts_t d = {.path = path, .threads = 1, .check = gw_guard_engine_hook, .check_data = guard};
    if (gw_catalog_generate(&o, NULL, err, sizeof err) != GW_OK ||
        gw_engine_duckdb_open(&d, &e, err, sizeof err) != GW_OK) {
        fprintf(stderr, "catalog %s: %s\n", name, err);
        return NULL;
    }
    return e;
}

static char *json_of(const gw_schema_t *s)
{
    gw_buf_t b;
    gw_buf_init(&b, (size_t)64 << 20);
    if (s == NULL || gw_schema_to_json(s, &b) != GW_OK) {
        gw_buf_free(&b);
        return NULL;
    }
    return gw_buf_take(&b, NULL);
}

/* ---- JSON ---- */

static void roundtrip(const char *what, const char *json)
{
    gw_schema_t *s = NULL;
    char err[256];
    gw_err_t rc = gw_schema_from_json(json, strlen(json), &s, err, sizeof err);
    T_OK(rc == GW_OK, "%s parses: %s", what, err);
    char *again = json_of(s);
    T_OK(again != NULL && strcmp(again, json) == 0, "%s re-serialises byte for byte:\n  %s\n  %s", what, json,
         again ? again : "(null)");
    gw_free(again);
    gw_schema_free(s);
}

static void test_json(void)
{
    roundtrip("minimal", "{\"engine\":\"duckdb\",\"tables\":[]}");
    roundtrip("full",
              "{\"engine\":\"clickhouse\",\"tables\":[{\"name\":\"skus\",\"row_count\":18446744073709551,"
              "\"columns\":[{\"name\":\"brand\",\"type\":\"VARCHAR\","
              "\"values\":[\"A \\\"q\\\" \\\\ b\",\"caf\xc3\xa9\","
              "\"tab\\tnl\\n\"]},{\"name\":\"title\",\"type\":\"VARCHAR\",\"high_cardinality\":true},"
              "{\"name\":\"none\",\"type\":\"VARCHAR\",\"values\":[]},{\"name\":\"sku_id\",\"type\":\"BIGINT\"}]},"
              "{\"name\":\"empty\",\"row_count\":0,\"columns\":[]}]}");
    gw_schema_t *s = NULL;
    char err[256];
    const char *ev = "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"row_count\":1,\"columns\":[{\"name\":"
                     "\"c\",\"type\":\"V\",\"values\":[]}]}]}";
    T_OK(gw_schema_from_json(ev, strlen(ev), &s, err, sizeof err) == GW_OK &&
             s->tables[0].columns[0].values != NULL && s->tables[0].columns[0].n_values == 0,
         "an empty values array stays an array (not absent)");
    gw_schema_free(s);
    static const char *bad[] = {
        "", "[]", "{}", "{\"engine\":\"d\"}", "{\"engine\":1,\"tables\":[]}", "{\"engine\":\"d\",\"tables\":{}}",
        "{\"engine\":\"d\",\"tables\":[],\"x\":1}", "{\"engine\":\"d\",\"engine\":\"e\",\"tables\":[]}",
        "{\"engine\":\"d\",\"tables\":[]} x", "{\"engine\":\"d\\u0000\",\"tables\":[]}",
        "{\"engine\":\"d\",\"tables\":[1]}", "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"columns\":[]}]}",
        "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"row_count\":-1,\"columns\":[]}]}",
        "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"row_count\":1.5,\"columns\":[]}]}",
        "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"row_count\":1,\"columns\":[{\"name\":\"c\"}]}]}",
        "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"row_count\":1,\"columns\":[{\"name\":\"c\",\"type\":\"V\","
        "\"values\":[1]}]}]}",
        "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"row_count\":1,\"columns\":[{\"name\":\"c\",\"type\":\"V\","
        "\"high_cardinality\":false}]}]}",
        "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"row_count\":1,\"columns\":[{\"name\":\"c\",\"type\":\"V\","
        "\"values\":[\"a\\u0000b\"]}]}]}",
        "{\"engine\":\"d\",\"tables\":[{\"name\":\"t\",\"row_count\":1,\"columns\":[],\"extra\":[]}]}",
        "{\"engine\":\"\xff\",\"tables\":[]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s = (gw_schema_t *)1;
        gw_err_t rc = gw_schema_from_json(bad[i], strlen(bad[i]), &s, err, sizeof err);
        T_OK(rc == GW_EINVAL && s == NULL && strncmp(err, "schema JSON: ", 13) == 0, "refused #%zu: %s (%s)", i,
             bad[i], err);
    }
}

/* ---- fingerprint and the in-process cache ---- */

static void test_fingerprint(gw_engine_t *a, gw_engine_t *b)
{
    char fa[17], fa2[17], fb[17], err[512];
    T_OK(gw_schema_fingerprint(a, fa, err, sizeof err) == GW_OK && strlen(fa) == 16, "fingerprint: %s", err);
    T_OK(gw_schema_fingerprint(a, fa2, err, sizeof err) == GW_OK && strcmp(fa, fa2) == 0, "stable (%s)", fa);
    T_OK(gw_schema_fingerprint(b, fb, err, sizeof err) == GW_OK && strcmp(fa, fb) != 0,
         "another catalog, another fingerprint (%s vs %s)", fa, fb);
}

static void test_local(counting_t *ce, const char *want)
{
    char err[256];
    gw_schema_t *s = NULL;
    gw_schema_cache_stats_t st;
    gw_schema_cache_opts_t o = {0};
    gw_schema_cache_t *c = gw_schema_cache_new(&o, err, sizeof err);
    T_OK(c != NULL, "in-process cache: %s", err);
    ce->describes = 0;
    for (int i = 0; i < 3; i++) {
        T_OK(gw_schema_cache_get(c, &ce->base, 50, &s, err, sizeof err) == GW_OK, "get %d: %s", i, err);
        char *j = json_of(s);
        T_OK(j != NULL && strcmp(j, want) == 0, "get %d: the engine's own schema", i);
        gw_free(j);
        gw_schema_free(s);
    }
    gw_schema_cache_stats(c, &st);
    T_OK(ce->describes == 1 && st.misses == 1 && st.hits == 2 && st.redis_hits == 0 && st.stores == 0 &&
             st.redis_errors == 0, "one describe, then hits (describes %d misses %llu hits %llu)", ce->describes,
         (unsigned long long)st.misses, (unsigned long long)st.hits);
    T_OK(gw_schema_cache_get(c, &ce->base, 20, &s, err, sizeof err) == GW_OK && ce->describes == 2,
         "another max_values is another key");
    gw_schema_free(s);
    gw_schema_cache_free(c);
}

/* ---- Redis ---- */

static gw_schema_cache_t *cache_on(const char *url, const char *prefix, uint32_t ttl)
{
    char err[256];
    gw_schema_cache_opts_t o = {.redis_url = url, .ttl_s = ttl, .timeout_ms = 300, .key_prefix = prefix};
    gw_schema_cache_t *c = gw_schema_cache_new(&o, err, sizeof err);
    T_OK(c != NULL, "cache on %s: %s", url, err);
    return c;
}

/* Gets the schema; checks it equals want; returns the stats after. */
static gw_schema_cache_stats_t get_check(gw_schema_cache_t *c, counting_t *ce, const char *want, const char *what)
{
    gw_schema_t *s = NULL;
    gw_schema_cache_stats_t st;
    char err[256];
    T_OK(gw_schema_cache_get(c, &ce->base, 50, &s, err, sizeof err) == GW_OK, "%s: %s", what, err);
    char *j = json_of(s);
    T_OK(j != NULL && strcmp(j, want) == 0, "%s: the right schema", what);
    gw_free(j);
    gw_schema_free(s);
    gw_schema_cache_stats(c, &st);
    return st;
}

static void test_shared(const char *url, counting_t *ce, const char *want)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "gwtest:schema:%d", (int)getpid());
    ce->describes = 0;
    gw_schema_cache_t *c1 = cache_on(url, prefix, 60), *c2 = cache_on(url, prefix, 60);
    gw_schema_cache_stats_t st = get_check(c1, ce, want, "first process");
    T_OK(st.misses == 1 && st.stores == 1 && st.redis_up == 1 && ce->describes == 1, "miss, described, stored");
    st = get_check(c2, ce, want, "second process");
    T_OK(st.redis_hits == 1 && st.misses == 0 && ce->describes == 1, "the second one hits Redis, no describe");
    st = get_check(c2, ce, want, "second process again");
    T_OK(st.hits == 1 && st.redis_hits == 1 && ce->describes == 1, "then its in-process cache");
    gw_schema_cache_free(c1);
    gw_schema_cache_free(c2);
}

static void test_redis_down(int port, counting_t *ce, const char *want)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    ce->describes = 0;
    gw_schema_cache_t *c1 = cache_on(url, "gwtest:down", 60), *c2 = cache_on(url, "gwtest:down", 60);
    get_check(c1, ce, want, "before the stop");
    gw_schema_cache_stats_t st = get_check(c2, ce, want, "second cache before the stop");
    T_OK(st.redis_hits == 1 && ce->describes == 1, "warm in Redis and in c2");
    rt_private_stop(port);
    st = get_check(c2, ce, want, "Redis stopped, warm cache");
    T_OK(st.hits == 1 && ce->describes == 1 && st.redis_errors == 0, "answered from the in-process cache");
    gw_schema_cache_t *c3 = cache_on(url, "gwtest:down", 60);
    st = get_check(c3, ce, want, "Redis stopped, cold cache");
    T_OK(st.misses == 1 && st.redis_errors >= 1 && st.redis_up == 0 && ce->describes == 2,
         "a cold cache falls back to the engine (errors %llu), no error to the caller",
         (unsigned long long)st.redis_errors);
    st = get_check(c3, ce, want, "Redis stopped, c3 again");
    T_OK(st.hits == 1 && ce->describes == 2, "and then serves it in process");
    T_OK(rt_private_start(port), "Redis restarted (empty: no persistence)");
    gw_schema_cache_t *c4 = cache_on(url, "gwtest:down", 60);
    st = get_check(c4, ce, want, "after the restart");
    T_OK(st.misses == 1 && st.stores == 1 && st.redis_up == 1, "stored again");
    gw_schema_cache_free(c1);
    gw_schema_cache_free(c2);
    gw_schema_cache_free(c3);
    gw_schema_cache_free(c4);
}

static void test_ttl(const char *url, counting_t *ce, const char *want)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "gwtest:ttl:%d", (int)getpid());
    ce->describes = 0;
    gw_schema_cache_t *c = cache_on(url, prefix, 1);
    get_check(c, ce, want, "ttl 1 s");
    gw_schema_cache_stats_t st = get_check(c, ce, want, "ttl 1 s, at once");
    T_OK(st.hits == 1 && ce->describes == 1, "hit within the TTL");
    usleep(1150 * 1000);
    gw_schema_cache_t *other = cache_on(url, prefix, 1);
    st = get_check(other, ce, want, "another process after the TTL");
    T_OK(st.redis_hits == 0 && st.misses == 1 && ce->describes == 2, "expired in Redis");
    usleep(1150 * 1000);
    st = get_check(c, ce, want, "the first after the TTL");
    T_OK(st.hits == 1 && st.misses == 2 && ce->describes == 3, "expired in process too (misses %llu)",
         (unsigned long long)st.misses);
    gw_schema_cache_free(other);
    gw_schema_cache_free(c);
}

static void test_describe_cfg(const char *url, counting_t *ce, const char *want)
{
    gw_config_t *cfg = gw_config_default();
    gw_schema_t *s = NULL;
    char err[256];
    ce->describes = 0;
    T_OK(gw_schema_cache_describe(cfg, &ce->base, 50, &s, err, sizeof err) == GW_OK && ce->describes == 1,
         "no schema_cache.redis_url: a plain describe");
    gw_schema_free(s);
    cfg->ask.schema_cache_redis_url = gw_strdup(url);
    cfg->ask.schema_cache_ttl_s = 60;
    for (int i = 0; i < 2; i++) {
        T_OK(gw_schema_cache_describe(cfg, &ce->base, 50, &s, err, sizeof err) == GW_OK, "describe via Redis");
        char *j = json_of(s);
        T_OK(j != NULL && strcmp(j, want) == 0, "the same schema");
        gw_free(j);
        gw_schema_free(s);
    }
    T_OK(ce->describes <= 2, "the second build hits Redis (describes %d: the plain one + at most one miss)",
         ce->describes);
    int before = ce->describes;
    T_OK(gw_schema_cache_describe(cfg, &ce->base, 50, &s, err, sizeof err) == GW_OK && ce->describes == before,
         "a third build: no describe");
    gw_schema_free(s);
    gw_config_unref(cfg);
}

int main(void)
{
    char err[256], cmd[128];
    test_json();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_schema_cache-XXXXXX");
    gw_engine_t *a = NULL, *b = NULL;
    err[0] = '\0';
    if (mkdtemp(tmpdir) == NULL || (guard = gw_guard_new(GW_SQL_DUCKDB, err, sizeof err)) == NULL ||
        (a = open_catalog("a", 3000, 42)) == NULL || (b = open_catalog("b", 3000, 43)) == NULL) {
        T_OK(0, "setup: %s", guard == NULL ? err : "catalog (see above)");
        goto out;
    }
    counting_t ce = {{&counting_ops}, a, 0};
    gw_schema_t *direct = NULL;
    T_OK(gw_engine_describe(a, 50, &direct, err, sizeof err) == GW_OK, "describe: %s", err);
    char *want = json_of(direct);
    roundtrip("a described DuckDB catalog", want);
    gw_schema_free(direct);
    test_fingerprint(a, b);
    test_local(&ce, want);
    const char *url = rt_server_url("test_schema_cache");
    if (url != NULL) {
        test_shared(url, &ce, want);
        test_ttl(url, &ce, want);
        test_describe_cfg(url, &ce, want);
    }
    if (rt_private_start(PRIVATE_PORT)) {
        test_redis_down(PRIVATE_PORT, &ce, want);
        rt_private_stop(PRIVATE_PORT);
    }
    gw_free(want);
out:
    gw_engine_close(a);
    gw_engine_close(b);
    gw_guard_free(guard);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return t_done("test_schema_cache");
}

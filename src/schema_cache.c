/* schema_cache.c - the schema cache of schema_cache.h: the catalog
 * fingerprint, the in-process entries (key -> schema JSON, expiry), Redis
 * GET / SET EX through the synchronous client, and the fallback to the
 * engine's own describe. One mutex: the cache is consulted while a pipeline
 * is built, not per question.
 */
#include "schema_cache.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "redis.h"

#define MAX_SCHEMA_JSON ((size_t)64 << 20)

typedef struct entry {
    char *key;
    char *json;
    size_t len;
    uint64_t expires_ns;
} entry_t;

struct gw_schema_cache {
    pthread_mutex_t lock;
    gw_redis_sync_t *redis; /* NULL: in-process only */
    int redis_ok;           /* the last Redis command worked (logged on change) */
    uint32_t ttl_s;
    char prefix[64];
    entry_t *entries;
    size_t n_entries, max_entries;
    gw_schema_cache_stats_t st;
};

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

/* ---- the fingerprint ---- */

static const char *const TABLES[] = {"categories", "skus", "warehouses", "inventory"};

typedef struct fp {
    uint64_t h;
} fp_t;

static void fp_add(fp_t *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        f->h ^= b[i];
        f->h *= 1099511628211ull;
    }
    f->h ^= 0xff; /* field separator */
    f->h *= 1099511628211ull;
}

static gw_err_t fp_columns(void *data, const gw_column_t *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fp_add(data, cols[i].name, strlen(cols[i].name));
        fp_add(data, cols[i].type, strlen(cols[i].type));
    }
    return GW_OK;
}

static gw_err_t fp_row(void *data, const gw_cell_t *cells, size_t n)
{
    gw_buf_t b;
    gw_buf_init(&b, 256);
    gw_err_t rc = GW_OK;
    for (size_t i = 0; rc == GW_OK && i < n; i++)
        if ((rc = gw_cell_to_json(&cells[i], &b)) == GW_OK)
            rc = gw_buf_add(&b, ",", 1);
    if (rc == GW_OK)
        fp_add(data, b.ptr, b.len);
    gw_buf_free(&b);
    return rc;
}

static gw_err_t fp_query(gw_engine_t *e, fp_t *f, const char *sql, char *err, size_t errlen)
{
    gw_row_sink_t sink = {fp_columns, fp_row, f};
    gw_query_opts_t o = {10, 30000};
    gw_query_info_t info;
    gw_err_t rc = gw_engine_query(e, sql, strlen(sql), &o, &sink, &info);
    if (rc != GW_OK)
        snprintf(err, errlen, "fingerprint: %s: %s", sql, info.message[0] ? info.message : gw_strerror(rc));
    return rc;
}

gw_err_t gw_schema_fingerprint(gw_engine_t *e, char out[17], char *err, size_t errlen)
{
    fp_t f = {14695981039346656037ull};
    char sql[128];
    gw_err_t rc = GW_OK;
    out[0] = '\0';
    if (e == NULL)
        return GW_EINVAL;
    int full = strcmp(e->ops->name, "bigquery") != 0; /* BigQuery: metadata only */
    fp_add(&f, e->ops->name, strlen(e->ops->name));
    for (size_t i = 0; rc == GW_OK && i < sizeof TABLES / sizeof *TABLES; i++) {
        snprintf(sql, sizeof sql, "SELECT COUNT(*) AS n FROM %s", TABLES[i]);
        rc = fp_query(e, &f, sql, err, errlen);
        snprintf(sql, sizeof sql, "SELECT * FROM %s LIMIT 0", TABLES[i]);
        if (rc == GW_OK && full)
            rc = fp_query(e, &f, sql, err, errlen);
    }
    if (rc == GW_OK && full)
        rc = fp_query(e, &f, "SELECT MAX(updated_at) AS latest FROM inventory", err, errlen);
    if (rc == GW_OK)
        snprintf(out, 17, "%016" PRIx64, f.h);
    return rc;
}

/* ---- in-process entries ---- */

static entry_t *find_entry(gw_schema_cache_t *c, const char *key)
{
    for (size_t i = 0; i < c->n_entries; i++)
        if (strcmp(c->entries[i].key, key) == 0)
            return &c->entries[i];
    return NULL;
}

static void drop_entry(gw_schema_cache_t *c, entry_t *e)
{
    gw_free(e->key);
    gw_free(e->json);
    *e = c->entries[--c->n_entries];
}

/* Stores a copy of json under key; when full, the entry expiring first goes. */
static void put_entry(gw_schema_cache_t *c, const char *key, const char *json, size_t len)
{
    entry_t *e = find_entry(c, key);
    if (e != NULL)
        drop_entry(c, e);
    if (c->n_entries == c->max_entries) {
        entry_t *old = &c->entries[0];
        for (size_t i = 1; i < c->n_entries; i++)
            if (c->entries[i].expires_ns < old->expires_ns)
                old = &c->entries[i];
        drop_entry(c, old);
    }
    entry_t n = {gw_strdup(key), gw_strndup(json, len), len, now_ns() + (uint64_t)c->ttl_s * 1000000000u};
    if (n.key == NULL || n.json == NULL) {
        gw_free(n.key);
        gw_free(n.json);
        return; /* no memory: simply not cached */
    }
    c->entries[c->n_entries++] = n;
}

/* ---- Redis ---- */

static void redis_state(gw_schema_cache_t *c, int ok, const char *why)
{
    if (!ok)
        c->st.redis_errors++;
    if (ok != c->redis_ok)
        gw_log_msg(ok ? "schema cache: Redis is available again"
                      : "schema cache: Redis unavailable (%s): schemas come from the in-process cache and the engine",
                   why);
    c->redis_ok = ok;
}

typedef struct got {
    gw_schema_cache_t *c;
    char *json; /* GET: the value, or NULL */
    size_t len;
    int ok;     /* a reply that is not an error */
} got_t;

static void on_reply(gw_redis_t *r, gw_err_t err, const struct redisReply *rep, void *data)
{
    got_t *g = data;
    g->ok = err == GW_OK && rep->type != REDIS_REPLY_ERROR;
    if (g->ok && rep->type == REDIS_REPLY_STRING && rep->len <= MAX_SCHEMA_JSON)
        if ((g->json = gw_strndup(rep->str, rep->len)) != NULL)
            g->len = rep->len;
}

static gw_err_t redis_run(gw_schema_cache_t *c, int argc, const char **argv, const size_t *lens, got_t *g)
{
    gw_err_t rc = gw_redis_sync_command(c->redis, argc, argv, lens, on_reply, g);
    const char *why = rc == GW_ETIMEOUT ? "timeout" : rc == GW_EIO ? "not connected" : "error reply";
    redis_state(c, rc == GW_OK && g->ok, why);
    return rc == GW_OK && g->ok ? GW_OK : GW_EIO;
}

/* The schema under key from Redis, or NULL (a miss, an error, a bad value). */
static gw_schema_t *redis_get(gw_schema_cache_t *c, const char *key)
{
    const char *argv[2] = {"GET", key};
    got_t g = {c, NULL, 0, 0};
    gw_schema_t *s = NULL;
    char err[256];
    if (redis_run(c, 2, argv, NULL, &g) == GW_OK && g.json != NULL) {
        if (gw_schema_from_json(g.json, g.len, &s, err, sizeof err) == GW_OK)
            put_entry(c, key, g.json, g.len);
        else
            gw_log_msg("schema cache: ignoring the value of %s in Redis (%s)", key, err);
    }
    gw_free(g.json);
    return s;
}

static void redis_set(gw_schema_cache_t *c, const char *key, const char *json, size_t len)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%u", c->ttl_s);
    const char *argv[5] = {"SET", key, json, "EX", ttl};
    size_t lens[5] = {3, strlen(key), len, 2, strlen(ttl)};
    got_t g = {c, NULL, 0, 0};
    if (redis_run(c, 5, argv, lens, &g) == GW_OK)
        c->st.stores++;
    gw_free(g.json);
}

/* ---- the cache ---- */

gw_schema_cache_t *gw_schema_cache_new(const gw_schema_cache_opts_t *o, char *err, size_t errlen)
{
    gw_schema_cache_t *c = gw_calloc(1, sizeof *c);
    if (c == NULL || (c->entries = gw_calloc(o->max_entries ? o->max_entries : 8, sizeof *c->entries)) == NULL) {
        gw_free(c);
        snprintf(err, errlen, "schema cache: out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->max_entries = o->max_entries ? o->max_entries : 8;
    c->ttl_s = o->ttl_s ? o->ttl_s : 3600;
    snprintf(c->prefix, sizeof c->prefix, "%s", o->key_prefix ? o->key_prefix : "llmgw:schema");
    if (o->redis_url != NULL) {
        gw_redis_opts_t ro = {.url = o->redis_url, .timeout_ms = o->timeout_ms, .name = "schema cache"};
        if (gw_redis_sync_new(&ro, &c->redis, err, errlen) != GW_OK) {
            gw_schema_cache_free(c);
            return NULL;
        }
        c->redis_ok = gw_redis_up(gw_redis_sync_client(c->redis));
        if (!c->redis_ok)
            gw_log_msg("schema cache: Redis unavailable at start: schemas come from the in-process cache and the "
                       "engine");
    }
    return c;
}

void gw_schema_cache_free(gw_schema_cache_t *c)
{
    if (c == NULL)
        return;
    gw_redis_sync_free(c->redis);
    while (c->n_entries > 0)
        drop_entry(c, &c->entries[0]);
    gw_free(c->entries);
    pthread_mutex_destroy(&c->lock);
    gw_free(c);
}

/* The in-process entry under key as a new schema, or NULL. */
static gw_schema_t *local_get(gw_schema_cache_t *c, const char *key)
{
    entry_t *e = find_entry(c, key);
    gw_schema_t *s = NULL;
    char err[256];
    if (e != NULL && e->expires_ns <= now_ns()) {
        drop_entry(c, e);
        e = NULL;
    }
    if (e != NULL && gw_schema_from_json(e->json, e->len, &s, err, sizeof err) != GW_OK)
        drop_entry(c, e);
    return s;
}

/* Described by the engine, then stored in process and in Redis. */
static gw_err_t describe_store(gw_schema_cache_t *c, gw_engine_t *e, const char *key, size_t max_values,
                               gw_schema_t **out, char *err, size_t errlen)
{
    gw_buf_t b;
    gw_err_t rc = gw_engine_describe(e, max_values, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    c->st.misses++;
    gw_buf_init(&b, MAX_SCHEMA_JSON);
    if (gw_schema_to_json(*out, &b) == GW_OK) {
        put_entry(c, key, b.ptr, b.len);
        if (c->redis != NULL)
            redis_set(c, key, b.ptr, b.len);
    }
    gw_buf_free(&b);
    return GW_OK;
}

gw_err_t gw_schema_cache_get(gw_schema_cache_t *c, gw_engine_t *e, size_t max_values, gw_schema_t **out, char *err,
                             size_t errlen)
{
    char fp[17], key[192], ferr[256];
    gw_err_t rc;
    *out = NULL;
    if (c == NULL || e == NULL)
        return gw_engine_describe(e, max_values, out, err, errlen);
    max_values = max_values ? max_values : 1000;
    pthread_mutex_lock(&c->lock);
    if (gw_schema_fingerprint(e, fp, ferr, sizeof ferr) != GW_OK) {
        c->st.bypasses++;
        rc = gw_engine_describe(e, max_values, out, err, errlen);
        goto out;
    }
    snprintf(key, sizeof key, "%s:v%d:%s:%zu:%s", c->prefix, GW_SCHEMA_CACHE_FORMAT, e->ops->name, max_values, fp);
    rc = GW_OK;
    if ((*out = local_get(c, key)) != NULL) {
        c->st.hits++;
        goto out;
    }
    if (c->redis != NULL && (*out = redis_get(c, key)) != NULL) {
        c->st.redis_hits++;
        goto out;
    }
    rc = describe_store(c, e, key, max_values, out, err, errlen);
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void gw_schema_cache_stats(gw_schema_cache_t *c, gw_schema_cache_stats_t *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->st;
    out->redis_up = c->redis != NULL && c->redis_ok;
    pthread_mutex_unlock(&c->lock);
}

static const char *outcome(const gw_schema_cache_stats_t *st)
{
    if (st->hits || st->redis_hits)
        return st->hits ? "hit in process" : "hit in Redis";
    if (st->bypasses)
        return "no catalog fingerprint, described directly";
    return st->stores ? "miss, described and stored in Redis" : "described (Redis unavailable)";
}

gw_err_t gw_schema_cache_describe(const struct gw_config *cfg, gw_engine_t *e, size_t max_values, gw_schema_t **out,
                                  char *err, size_t errlen)
{
    if (cfg == NULL || cfg->ask.schema_cache_redis_url == NULL || e == NULL)
        return gw_engine_describe(e, max_values, out, err, errlen);
    gw_schema_cache_opts_t o = {.redis_url = cfg->ask.schema_cache_redis_url,
                                .ttl_s = cfg->ask.schema_cache_ttl_s,
                                .timeout_ms = cfg->limits.redis_timeout_ms};
    char cerr[256];
    gw_schema_cache_t *c = gw_schema_cache_new(&o, cerr, sizeof cerr);
    if (c == NULL) {
        gw_log_msg("schema cache: %s (describing the engine directly)", cerr);
        return gw_engine_describe(e, max_values, out, err, errlen);
    }
    uint64_t t0 = now_ns();
    gw_err_t rc = gw_schema_cache_get(c, e, max_values, out, err, errlen);
    gw_log_msg("schema cache: %s in %.1f ms", outcome(&c->st), (double)(now_ns() - t0) / 1e6);
    gw_schema_cache_free(c);
    return rc;
}

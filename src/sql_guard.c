/* sql_guard.c - public entry points of the SQL guard: argument and text
 * checks common to every dialect (size, NUL bytes, UTF-8), the verdict
 * helpers, timing, and the per-guard mutex around the DuckDB backend.
 * The dialect logic lives in sql_guard_duckdb.c, sql_guard_clickhouse.c
 * and sql_guard_bigquery.c.
 */
#include "sql_guard.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "catalog_schema.h"
#include "config.h"
#include "sql_guard_int.h"

struct gw_guard {
    gw_sql_dialect_t dialect;
    pthread_mutex_t mu; /* serializes checks on the one DuckDB connection */
    gw__gduck_t *duck;  /* NULL for ClickHouse and BigQuery */
    char *bq_project;   /* BigQuery: NULL accepts no project.dataset.table */
    char *bq_dataset;   /* BigQuery: the one dataset tables may come from */
};

static const char *const reason_names[] = {
    [GW_GUARD_OK] = "ok",
    [GW_GUARD_EMPTY] = "empty",
    [GW_GUARD_TOO_LONG] = "too_long",
    [GW_GUARD_BAD_TEXT] = "bad_text",
    [GW_GUARD_SYNTAX] = "syntax",
    [GW_GUARD_MULTI] = "multiple_statements",
    [GW_GUARD_NOT_SELECT] = "not_select",
    [GW_GUARD_TABLE] = "table",
    [GW_GUARD_SCHEMA] = "schema",
    [GW_GUARD_TABLE_FUNCTION] = "table_function",
    [GW_GUARD_FUNCTION] = "function",
    [GW_GUARD_CLAUSE] = "clause",
    [GW_GUARD_BIND] = "bind",
    [GW_GUARD_UNSAFE] = "unsafe",
    [GW_GUARD_INTERNAL] = "internal",
};

const char *gw_guard_reason_name(gw_guard_reason_t r)
{
    if ((size_t)r >= sizeof(reason_names) / sizeof(reason_names[0]) || reason_names[r] == NULL)
        return "unknown";
    return reason_names[r];
}

static void verdict_vset(gw_guard_verdict_t *v, gw_guard_reason_t r, const char *fmt, va_list ap)
{
    v->reason = r;
    vsnprintf(v->message, sizeof(v->message), fmt, ap);
}

gw_err_t gw__guard_refuse(gw_guard_verdict_t *v, gw_guard_reason_t r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verdict_vset(v, r, fmt, ap);
    va_end(ap);
    return GW_EDENIED;
}

gw_err_t gw__guard_fail(gw_guard_verdict_t *v, gw_err_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verdict_vset(v, GW_GUARD_INTERNAL, fmt, ap);
    va_end(ap);
    return err;
}

int gw__guard_ieq(const char *a, const char *b, size_t n)
{
    return strlen(a) == n && strncasecmp(a, b, n) == 0;
}

gw_guard_t *gw_guard_new(gw_sql_dialect_t dialect, char *err, size_t errlen)
{
    gw_guard_t *g = NULL;
    if (dialect == GW_SQL_BIGQUERY)
        return gw_guard_new_bigquery(NULL, NULL, err, errlen);
    if (dialect != GW_SQL_DUCKDB && dialect != GW_SQL_CLICKHOUSE) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "unknown SQL dialect %d", (int)dialect);
        return NULL;
    }
    g = gw_calloc(1, sizeof(*g));
    if (g == NULL)
        goto oom;
    g->dialect = dialect;
    if (pthread_mutex_init(&g->mu, NULL) != 0)
        goto oom;
    if (dialect == GW_SQL_DUCKDB) {
        g->duck = gw__gduck_new(err, errlen);
        if (g->duck == NULL) {
            pthread_mutex_destroy(&g->mu);
            gw_free(g);
            return NULL;
        }
    }
    return g;
oom:
    gw_free(g);
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "out of memory");
    return NULL;
}

/* 1 when s is a BigQuery name: letters, digits, _ and (projects) - . : */
static int bq_name_ok(const char *s, const char *extra)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 1024)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              strchr(extra, *p) != NULL))
            return 0;
    return 1;
}

gw_guard_t *gw_guard_new_bigquery(const char *project, const char *dataset, char *err, size_t errlen)
{
    gw_guard_t *g = NULL;
    if (dataset == NULL)
        dataset = GW_CATALOG_DATASET;
    if ((project != NULL && !bq_name_ok(project, "-.:")) || !bq_name_ok(dataset, "")) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "bigquery guard: bad project or dataset name");
        return NULL;
    }
    if ((g = gw_calloc(1, sizeof(*g))) == NULL || pthread_mutex_init(&g->mu, NULL) != 0) {
        gw_free(g);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->dialect = GW_SQL_BIGQUERY;
    g->bq_dataset = gw_strdup(dataset);
    g->bq_project = project != NULL ? gw_strdup(project) : NULL;
    if (g->bq_dataset == NULL || (project != NULL && g->bq_project == NULL)) {
        gw_guard_free(g);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return g;
}

gw_sql_dialect_t gw_guard_dialect_for_engine(const char *engine)
{
    if (engine != NULL && strcmp(engine, "clickhouse") == 0)
        return GW_SQL_CLICKHOUSE;
    if (engine != NULL && strcmp(engine, "bigquery") == 0)
        return GW_SQL_BIGQUERY;
    return GW_SQL_DUCKDB;
}

gw_guard_t *gw_guard_new_for_config(const gw_config_t *cfg, char *err, size_t errlen)
{
    gw_sql_dialect_t d = gw_guard_dialect_for_engine(cfg != NULL ? cfg->ask.engine : NULL);
    if (d == GW_SQL_BIGQUERY)
        return gw_guard_new_bigquery(cfg->ask.bigquery_project, cfg->ask.bigquery_dataset, err, errlen);
    return gw_guard_new(d, err, errlen);
}

void gw_guard_free(gw_guard_t *g)
{
    if (g == NULL)
        return;
    gw_free(g->bq_project);
    gw_free(g->bq_dataset);
    gw__gduck_free(g->duck);
    pthread_mutex_destroy(&g->mu);
    gw_free(g);
}

gw_sql_dialect_t gw_guard_dialect(const gw_guard_t *g)
{
    return g->dialect;
}

/* Returns the offset of the first byte that breaks UTF-8 (overlongs,
 * surrogates and code points above U+10FFFF included), or n when valid. */
static size_t utf8_bad_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (n - i <= k)
            return i;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += k + 1;
    }
    return n;
}

/* The dialect-independent refusals: size, NUL bytes, UTF-8, blank text. */
static gw_err_t precheck(const char *sql, size_t len, gw_guard_verdict_t *v)
{
    size_t bad;
    if (len > GW_GUARD_MAX_SQL)
        return gw__guard_refuse(v, GW_GUARD_TOO_LONG, "the SQL is longer than %d bytes",
                                GW_GUARD_MAX_SQL);
    if (memchr(sql, '\0', len) != NULL)
        return gw__guard_refuse(v, GW_GUARD_BAD_TEXT, "the SQL contains a NUL byte");
    bad = utf8_bad_at((const unsigned char *)sql, len);
    if (bad != len)
        return gw__guard_refuse(v, GW_GUARD_BAD_TEXT, "the SQL is not valid UTF-8 (byte %zu)", bad);
    for (size_t i = 0; i < len; i++)
        if (strchr(" \t\r\n\f\v", sql[i]) == NULL)
            return GW_OK;
    return gw__guard_refuse(v, GW_GUARD_EMPTY, "the SQL is empty");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static gw_err_t check_duckdb(gw_guard_t *g, const char *sql, size_t len, int64_t row_cap,
                             gw_buf_t *out, gw_guard_verdict_t *v)
{
    gw_err_t rc;
    char *copy = gw_strndup(sql, len); /* DuckDB wants a C string */
    if (copy == NULL)
        return gw__guard_fail(v, GW_ENOMEM, "out of memory");
    pthread_mutex_lock(&g->mu);
    rc = gw__gduck_check(g->duck, copy, len, row_cap, out, v);
    pthread_mutex_unlock(&g->mu);
    gw_free(copy);
    return rc;
}

gw_err_t gw_guard_check(gw_guard_t *g, const char *sql, size_t len, int64_t row_cap,
                        gw_buf_t *out_sql, gw_guard_verdict_t *v)
{
    gw_err_t rc;
    double t0 = now_ms();
    if (v == NULL)
        return GW_EINVAL;
    memset(v, 0, sizeof(*v));
    if (g == NULL || out_sql == NULL || (sql == NULL && len > 0))
        return gw__guard_fail(v, GW_EINVAL, "bad arguments to the SQL guard");
    gw_buf_reset(out_sql);
    rc = precheck(sql == NULL ? "" : sql, len, v);
    if (rc == GW_OK && g->dialect == GW_SQL_DUCKDB)
        rc = check_duckdb(g, sql, len, row_cap, out_sql, v);
    else if (rc == GW_OK && g->dialect == GW_SQL_BIGQUERY)
        rc = gw__gbq_check(g->bq_project, g->bq_dataset, sql, len, row_cap, out_sql, v);
    else if (rc == GW_OK)
        rc = gw__gch_check(sql, len, row_cap, out_sql, v);
    if (rc == GW_OK) {
        v->reason = GW_GUARD_OK;
        v->message[0] = '\0';
    } else {
        gw_buf_reset(out_sql);
        v->limit_added = 0;
    }
    v->ms = now_ms() - t0;
    return rc;
}

gw_err_t gw_guard_engine_hook(void *data, const char *sql, size_t len, int64_t row_cap, gw_buf_t *out_sql, char *why,
                              size_t whylen)
{
    gw_guard_verdict_t v;
    gw_err_t rc = gw_guard_check(data, sql, len, row_cap, out_sql, &v);
    if (rc != GW_OK)
        snprintf(why, whylen, "%s", v.message[0] != '\0' ? v.message : gw_strerror(rc));
    return rc;
}

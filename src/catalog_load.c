/* catalog_load.c - DuckDB catalog -> ClickHouse (catalog_load.h): DDL on every
 * node, rows streamed from a DuckDB streaming result formatted as
 * TabSeparated straight into chunked HTTP POSTs, counts checked at the end.
 */
#include "catalog_load.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "catalog_schema.h"
#include "clickhouse_http.h"
#include "config.h"
#include "duckdb_dl.h"

#define DEFAULT_BATCH 2000000u
#define ROWS_PER_FILL 512u
#define INSERT_TIMEOUT_MS 600000L
#define DDL_TIMEOUT_MS 60000L

/* Sort keys for the question shapes: category filters on skus, warehouse /
 * region filters on inventory (platform-clickhouse.md 5: 4-5x faster than
 * sorting both by sku_id). Nullable columns can't be keys. */
static const struct {
    const char *table, *order_by;
    int sharded; /* skus and inventory: *_local + Distributed on a cluster */
} layout[] = {
    {"categories", "category_id", 0},
    {"skus", "(category_id, sku_id)", 1},
    {"warehouses", "warehouse_id", 0},
    {"inventory", "(warehouse_id, sku_id)", 1},
};

typedef struct loader {
    const gw_chload_opts_t *o;
    const char *db;
    CURL *curl;
    duckdb_database duck;
    duckdb_connection con;
    char *err;
    size_t errlen;
} loader_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- ClickHouse statements ---- */

/* Runs one statement on node url; the answer body (if wanted) in resp. */
static gw_err_t ch_run(loader_t *L, const char *url_base, const char *sql, const char *settings, gw_buf_t *resp)
{
    gw_buf_t url, own;
    long status = 0;
    int code = 0;
    char msg[384], shown[512];
    gw_buf_init(&url, 4096);
    gw_buf_init(&own, 1u << 20);
    gw_buf_t *r = resp != NULL ? resp : &own;
    gw_err_t rc = gw_ch_url_init(&url, url_base);
    if (rc == GW_OK && settings != NULL)
        rc = gw_buf_adds(&url, settings);
    if (rc != GW_OK) {
        snprintf(L->err, L->errlen, "clickhouse: bad url %s", gw_ch_url_shown(url_base, shown, sizeof shown));
        goto out;
    }
    gw_ch_request_t rq = {url.ptr, L->o->user, L->o->password, sql, strlen(sql), NULL, NULL, DDL_TIMEOUT_MS, 0};
    if ((rc = gw_ch_post(L->curl, &rq, r, &status, msg, sizeof msg)) != GW_OK) {
        snprintf(L->err, L->errlen, "%s: %s", gw_ch_url_shown(url_base, shown, sizeof shown), msg);
        goto out;
    }
    if (status != 200) {
        if (!gw_ch_error_find(r->ptr, r->len, 0, &code, msg, sizeof msg))
            snprintf(msg, sizeof msg, "HTTP %ld", status);
        snprintf(L->err, L->errlen, "%s: %.200s: %s", gw_ch_url_shown(url_base, shown, sizeof shown), sql, msg);
        rc = GW_EUPSTREAM;
    }
out:
    gw_buf_free(&url);
    gw_buf_free(&own);
    return rc;
}

/* Appends `name` (backquoted, escaped). */
static gw_err_t add_ident(gw_buf_t *b, const char *name)
{
    gw_err_t rc = gw_buf_add(b, "`", 1);
    for (const char *p = name; rc == GW_OK && *p != '\0'; p++) {
        if (*p == '`' || *p == '\\')
            rc = gw_buf_add(b, "\\", 1);
        if (rc == GW_OK)
            rc = gw_buf_add(b, p, 1);
    }
    return rc == GW_OK ? gw_buf_add(b, "`", 1) : rc;
}

/* `db`.`table` + suffix ("_local" or ""). */
static gw_err_t add_table(gw_buf_t *b, const char *db, const char *table, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s", table, suffix);
    gw_err_t rc = add_ident(b, db);
    if (rc == GW_OK)
        rc = gw_buf_add(b, ".", 1);
    return rc == GW_OK ? add_ident(b, name) : rc;
}

/* The column list "(`a` T, `b` U)" or, types == 0, "(`a`, `b`)". */
static gw_err_t add_columns(gw_buf_t *b, const gw_catalog_table_t *t, int types)
{
    gw_err_t rc = gw_buf_add(b, "(", 1);
    for (size_t i = 0; rc == GW_OK && i < t->n_columns; i++) {
        if (i > 0)
            rc = gw_buf_adds(b, ", ");
        if (rc == GW_OK)
            rc = add_ident(b, t->columns[i].name);
        if (rc == GW_OK && types)
            rc = gw_buf_printf(b, " %s", t->columns[i].clickhouse_type);
    }
    return rc == GW_OK ? gw_buf_add(b, ")", 1) : rc;
}

/* CREATE TABLE for layout entry i on one node. */
static gw_err_t create_sql(loader_t *L, size_t i, int distributed, gw_buf_t *sql)
{
    const gw_catalog_table_t *t = &gw_catalog_tables[i];
    int local = L->o->cluster != NULL && layout[i].sharded && !distributed;
    gw_buf_reset(sql);
    gw_err_t rc = gw_buf_adds(sql, "CREATE TABLE ");
    if (rc == GW_OK)
        rc = add_table(sql, L->db, t->name, local ? "_local" : "");
    if (rc == GW_OK && distributed) {
        rc = gw_buf_adds(sql, " AS ");
        if (rc == GW_OK)
            rc = add_table(sql, L->db, t->name, "_local");
        if (rc == GW_OK)
            rc = gw_buf_printf(sql, " ENGINE = Distributed('%s', '%s', '%s_local', intHash64(sku_id))",
                               L->o->cluster, L->db, t->name);
        return rc;
    }
    if (rc == GW_OK)
        rc = gw_buf_add(sql, " ", 1);
    if (rc == GW_OK)
        rc = add_columns(sql, t, 1);
    return rc == GW_OK ? gw_buf_printf(sql, " ENGINE = MergeTree ORDER BY %s", layout[i].order_by) : rc;
}

/* Names in the DDL go into '...' literals unescaped: keep them plain. */
static int plain_name(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 64)
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static gw_err_t drop_all(loader_t *L, const char *url, gw_buf_t *sql)
{
    gw_err_t rc = GW_OK;
    for (size_t i = 0; rc == GW_OK && i < gw_catalog_n_tables; i++)
        for (int local = 0; rc == GW_OK && local <= layout[i].sharded; local++) {
            gw_buf_reset(sql);
            rc = gw_buf_adds(sql, "DROP TABLE IF EXISTS ");
            if (rc == GW_OK)
                rc = add_table(sql, L->db, gw_catalog_tables[i].name, local ? "_local" : "");
            if (rc == GW_OK)
                rc = ch_run(L, url, sql->ptr, NULL, NULL);
        }
    return rc;
}

/* The database and the four tables (plus *_local ones) on one node. */
static gw_err_t prepare_node(loader_t *L, const char *url)
{
    gw_buf_t sql;
    gw_buf_init(&sql, 65536);
    gw_err_t rc = gw_buf_adds(&sql, "CREATE DATABASE IF NOT EXISTS ");
    if (rc == GW_OK)
        rc = add_ident(&sql, L->db);
    if (rc == GW_OK)
        rc = ch_run(L, url, sql.ptr, NULL, NULL);
    if (rc == GW_OK)
        rc = drop_all(L, url, &sql);
    for (size_t i = 0; rc == GW_OK && i < gw_catalog_n_tables; i++) {
        rc = create_sql(L, i, 0, &sql);
        if (rc == GW_OK)
            rc = ch_run(L, url, sql.ptr, NULL, NULL);
        if (rc == GW_OK && L->o->cluster != NULL && layout[i].sharded &&
            (rc = create_sql(L, i, 1, &sql)) == GW_OK)
            rc = ch_run(L, url, sql.ptr, NULL, NULL);
    }
    gw_buf_free(&sql);
    return rc;
}

/* A count answered as TSV by node url. */
static gw_err_t ch_count(loader_t *L, const char *url, const char *sql, uint64_t *n)
{
    gw_buf_t resp;
    char *end, shown[512];
    gw_buf_init(&resp, 4096);
    gw_err_t rc = ch_run(L, url, sql, "?default_format=TabSeparated", &resp);
    if (rc == GW_OK) {
        errno = 0;
        *n = strtoull(resp.ptr != NULL ? resp.ptr : "", &end, 10);
        if (errno != 0 || resp.len == 0 || (*end != '\n' && *end != '\0')) {
            snprintf(L->err, L->errlen, "%s: unexpected answer to %s", gw_ch_url_shown(url, shown, sizeof shown),
                     sql);
            rc = GW_EUPSTREAM;
        }
    }
    gw_buf_free(&resp);
    return rc;
}

/* With a cluster: it exists on every node with as many shards as URLs. */
static gw_err_t check_cluster(loader_t *L)
{
    char sql[256], shown[512];
    uint64_t shards = 0;
    gw_err_t rc = GW_OK;
    snprintf(sql, sizeof sql, "SELECT uniqExact(shard_num) FROM system.clusters WHERE cluster = '%s'",
             L->o->cluster);
    for (size_t i = 0; rc == GW_OK && i < L->o->n_urls; i++) {
        if ((rc = ch_count(L, L->o->urls[i], sql, &shards)) == GW_OK && shards != L->o->n_urls) {
            snprintf(L->err, L->errlen,
                     "%s: cluster '%s' has %" PRIu64 " shards but %zu node URLs were given (give one --url per shard)",
                     gw_ch_url_shown(L->o->urls[i], shown, sizeof shown), L->o->cluster, shards, L->o->n_urls);
            rc = GW_EINVAL;
        }
        for (size_t j = 0; rc == GW_OK && j < i; j++)
            if (strcmp(L->o->urls[i], L->o->urls[j]) == 0) {
                snprintf(L->err, L->errlen, "node URL %s is given twice",
                         gw_ch_url_shown(L->o->urls[i], shown, sizeof shown));
                rc = GW_EINVAL;
            }
    }
    return rc;
}

/* ---- DuckDB vectors -> TabSeparated ---- */

typedef struct colfmt {
    duckdb_type type; /* logical type */
    duckdb_type phys; /* DECIMAL: storage */
    uint8_t scale;
} colfmt_t;

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

static char *put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

static char *put_2(char *p, unsigned v)
{
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

/* Days since 1970-01-01 -> YYYY-MM-DD (H. Hinnant's civil_from_days). */
static char *put_date(char *p, int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    if (y < 0 || y > 9999)
        y = 0;
    p = put_2(p, (unsigned)(y / 100));
    p = put_2(p, (unsigned)(y % 100));
    *p++ = '-';
    p = put_2(p, m);
    *p++ = '-';
    return put_2(p, d);
}

/* Microseconds since the epoch -> YYYY-MM-DD hh:mm:ss (DateTime has whole
 * seconds; the fraction is dropped). */
static char *put_timestamp(char *p, int64_t us)
{
    int64_t secs = us / 1000000 - (us % 1000000 < 0);
    int64_t day = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        day--;
    }
    p = put_date(p, day);
    *p++ = ' ';
    p = put_2(p, (unsigned)(rem / 3600));
    *p++ = ':';
    p = put_2(p, (unsigned)(rem / 60 % 60));
    *p++ = ':';
    return put_2(p, (unsigned)(rem % 60));
}

static char *put_decimal(char *p, int64_t v, unsigned scale)
{
    char digits[24];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = (size_t)(put_u64(digits, mag) - digits);
    if (v < 0)
        *p++ = '-';
    if (n <= scale) {
        *p++ = '0';
    } else {
        memcpy(p, digits, n - scale);
        p += n - scale;
    }
    if (scale == 0)
        return p;
    *p++ = '.';
    for (size_t k = n; k < scale; k++)
        *p++ = '0';
    size_t frac = n < scale ? n : scale;
    memcpy(p, digits + n - frac, frac);
    return p + frac;
}

/* A string with TabSeparated escapes (\t \n \\ \' \r \b \f \0). */
static gw_err_t put_string(gw_buf_t *b, const char *s, size_t n)
{
    size_t start = 0;
    gw_err_t rc = GW_OK;
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '\t': e = "\\t"; break;
        case '\n': e = "\\n"; break;
        case '\\': e = "\\\\"; break;
        case '\'': e = "\\'"; break;
        case '\r': e = "\\r"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\0': e = "\\0"; break;
        default: continue;
        }
        if ((rc = gw_buf_add(b, s + start, i - start)) == GW_OK)
            rc = gw_buf_add(b, e, 2);
        start = i + 1;
    }
    return rc == GW_OK ? gw_buf_add(b, s + start, n - start) : rc;
}

static int64_t decimal_value(const colfmt_t *f, const void *data, idx_t row)
{
    switch (f->phys) {
    case DUCKDB_TYPE_SMALLINT: return ((const int16_t *)data)[row];
    case DUCKDB_TYPE_INTEGER: return ((const int32_t *)data)[row];
    default: return ((const int64_t *)data)[row];
    }
}

/* One non-NULL fixed-width value into p (room for 64 bytes). */
static char *put_fixed(char *p, const colfmt_t *f, const void *data, idx_t row)
{
    switch (f->type) {
    case DUCKDB_TYPE_BOOLEAN: *p++ = ((const bool *)data)[row] ? '1' : '0'; return p;
    case DUCKDB_TYPE_TINYINT: return put_i64(p, ((const int8_t *)data)[row]);
    case DUCKDB_TYPE_SMALLINT: return put_i64(p, ((const int16_t *)data)[row]);
    case DUCKDB_TYPE_INTEGER: return put_i64(p, ((const int32_t *)data)[row]);
    case DUCKDB_TYPE_BIGINT: return put_i64(p, ((const int64_t *)data)[row]);
    case DUCKDB_TYPE_UTINYINT: return put_u64(p, ((const uint8_t *)data)[row]);
    case DUCKDB_TYPE_USMALLINT: return put_u64(p, ((const uint16_t *)data)[row]);
    case DUCKDB_TYPE_UINTEGER: return put_u64(p, ((const uint32_t *)data)[row]);
    case DUCKDB_TYPE_UBIGINT: return put_u64(p, ((const uint64_t *)data)[row]);
    case DUCKDB_TYPE_DATE: return put_date(p, ((const int32_t *)data)[row]);
    case DUCKDB_TYPE_TIMESTAMP: return put_timestamp(p, ((const int64_t *)data)[row]);
    case DUCKDB_TYPE_DECIMAL: return put_decimal(p, decimal_value(f, data, row), f->scale);
    case DUCKDB_TYPE_DOUBLE: return p + snprintf(p, 40, "%.17g", ((const double *)data)[row]);
    case DUCKDB_TYPE_FLOAT: return p + snprintf(p, 40, "%.9g", (double)((const float *)data)[row]);
    default: return p;
    }
}

static int supported(const colfmt_t *f)
{
    switch (f->type) {
    case DUCKDB_TYPE_BOOLEAN: case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT: case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT: case DUCKDB_TYPE_DATE: case DUCKDB_TYPE_TIMESTAMP: case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_VARCHAR:
        return 1;
    case DUCKDB_TYPE_DECIMAL:
        return f->phys != DUCKDB_TYPE_HUGEINT;
    default:
        return 0;
    }
}

/* ---- the row stream: a DuckDB streaming result read by the POST ---- */

typedef struct stream {
    loader_t *L;
    const char *table;
    duckdb_prepared_statement ps;
    duckdb_pending_result pending;
    duckdb_result res;
    int has_res;
    colfmt_t *cols;
    idx_t ncols;
    duckdb_data_chunk chunk;
    idx_t chunk_rows, at;
    void **data;
    uint64_t **valid;
    gw_buf_t out; /* formatted rows not yet handed to curl */
    size_t out_off;
    uint64_t batch_left, rows, total;
    int eof, failed;
    char why[256];
} stream_t;

static gw_err_t stream_open(stream_t *s, const gw_catalog_table_t *t)
{
    gw_buf_t sql;
    gw_buf_init(&sql, 8192);
    gw_err_t rc = gw_buf_adds(&sql, "SELECT ");
    for (size_t i = 0; rc == GW_OK && i < t->n_columns; i++)
        rc = gw_buf_printf(&sql, "%s\"%s\"", i ? ", " : "", t->columns[i].name);
    if (rc == GW_OK)
        rc = gw_buf_printf(&sql, " FROM main.\"%s\"", t->name);
    if (rc != GW_OK || duckdb_prepare(s->L->con, sql.ptr, &s->ps) != DuckDBSuccess) {
        const char *e = s->ps != NULL ? duckdb_prepare_error(s->ps) : NULL;
        snprintf(s->why, sizeof s->why, "duckdb: %s: %s", t->name, e != NULL ? e : "cannot read the table");
        gw_buf_free(&sql);
        return GW_EINVAL;
    }
    gw_buf_free(&sql);
    if (duckdb_pending_prepared_streaming(s->ps, &s->pending) != DuckDBSuccess) {
        const char *e = duckdb_pending_error(s->pending);
        snprintf(s->why, sizeof s->why, "duckdb: %s: %s", t->name, e != NULL ? e : "cannot read the table");
        return GW_EINVAL;
    }
    s->has_res = 1;
    if (duckdb_execute_pending(s->pending, &s->res) != DuckDBSuccess) {
        snprintf(s->why, sizeof s->why, "duckdb: %s", duckdb_result_error(&s->res));
        return GW_EINVAL;
    }
    return GW_OK;
}

static gw_err_t stream_columns(stream_t *s)
{
    s->ncols = duckdb_column_count(&s->res);
    s->cols = gw_calloc(s->ncols + 1, sizeof *s->cols);
    s->data = gw_calloc(s->ncols + 1, sizeof *s->data);
    s->valid = gw_calloc(s->ncols + 1, sizeof *s->valid);
    if (s->cols == NULL || s->data == NULL || s->valid == NULL)
        return GW_ENOMEM;
    for (idx_t c = 0; c < s->ncols; c++) {
        duckdb_logical_type lt = duckdb_column_logical_type(&s->res, c);
        colfmt_t *f = &s->cols[c];
        f->type = duckdb_get_type_id(lt);
        if (f->type == DUCKDB_TYPE_DECIMAL) {
            f->phys = duckdb_decimal_internal_type(lt);
            f->scale = duckdb_decimal_scale(lt);
        }
        duckdb_destroy_logical_type(&lt);
        if (!supported(f)) {
            snprintf(s->why, sizeof s->why, "%s.%s has a type the loader does not handle", s->table,
                     duckdb_column_name(&s->res, c));
            return GW_EUNSUPPORTED;
        }
    }
    return GW_OK;
}

static void stream_close(stream_t *s)
{
    if (s->chunk != NULL)
        duckdb_destroy_data_chunk(&s->chunk);
    if (s->has_res)
        duckdb_destroy_result(&s->res);
    if (s->pending != NULL)
        duckdb_destroy_pending(&s->pending);
    if (s->ps != NULL)
        duckdb_destroy_prepare(&s->ps);
    gw_free(s->cols);
    gw_free(s->data);
    gw_free(s->valid);
    gw_buf_free(&s->out);
}

/* Makes s->chunk a chunk with rows left, or sets eof. */
static int next_chunk(stream_t *s)
{
    while (s->chunk == NULL || s->at == s->chunk_rows) {
        if (s->chunk != NULL)
            duckdb_destroy_data_chunk(&s->chunk);
        s->chunk = duckdb_fetch_chunk(s->res);
        if (s->chunk == NULL) {
            const char *e = duckdb_result_error(&s->res);
            if (e != NULL) {
                snprintf(s->why, sizeof s->why, "duckdb: %s", e);
                s->failed = 1;
            }
            s->eof = 1;
            return 0;
        }
        s->chunk_rows = duckdb_data_chunk_get_size(s->chunk);
        s->at = 0;
        for (idx_t c = 0; c < s->ncols; c++) {
            duckdb_vector v = duckdb_data_chunk_get_vector(s->chunk, c);
            s->data[c] = duckdb_vector_get_data(v);
            s->valid[c] = duckdb_vector_get_validity(v);
        }
    }
    return 1;
}

static gw_err_t format_row(stream_t *s, idx_t r)
{
    gw_err_t rc = GW_OK;
    for (idx_t c = 0; rc == GW_OK && c < s->ncols; c++) {
        if (c > 0 && (rc = gw_buf_add(&s->out, "\t", 1)) != GW_OK)
            break;
        if (s->valid[c] != NULL && !duckdb_validity_row_is_valid(s->valid[c], r)) {
            rc = gw_buf_add(&s->out, "\\N", 2);
        } else if (s->cols[c].type == DUCKDB_TYPE_VARCHAR) {
            duckdb_string_t *str = &((duckdb_string_t *)s->data[c])[r];
            rc = put_string(&s->out, duckdb_string_t_data(str), duckdb_string_t_length(*str));
        } else if ((rc = gw_buf_reserve(&s->out, 64)) == GW_OK) {
            char *end = put_fixed(s->out.ptr + s->out.len, &s->cols[c], s->data[c], r);
            s->out.len = (size_t)(end - s->out.ptr);
            s->out.ptr[s->out.len] = '\0';
        }
    }
    return rc == GW_OK ? gw_buf_add(&s->out, "\n", 1) : rc;
}

/* Formats up to ROWS_PER_FILL rows of this batch into s->out. */
static void fill(stream_t *s)
{
    gw_buf_reset(&s->out);
    s->out_off = 0;
    for (unsigned k = 0; k < ROWS_PER_FILL && s->batch_left > 0 && next_chunk(s); k++) {
        if (format_row(s, s->at) != GW_OK) {
            snprintf(s->why, sizeof s->why, "out of memory formatting %s", s->table);
            s->failed = 1;
            return;
        }
        s->at++;
        s->rows++;
        s->batch_left--;
    }
}

static size_t stream_read(char *dst, size_t cap, void *data)
{
    stream_t *s = data;
    size_t n = 0;
    while (n < cap) {
        if (s->out_off == s->out.len) {
            if (s->batch_left == 0 || s->eof)
                break;
            fill(s);
            if (s->failed)
                return GW_CH_READ_ABORT;
            continue;
        }
        size_t k = s->out.len - s->out_off;
        if (k > cap - n)
            k = cap - n;
        memcpy(dst + n, s->out.ptr + s->out_off, k);
        s->out_off += k;
        n += k;
    }
    return n;
}

/* ---- loading ---- */

/* One INSERT of up to batch_rows rows into `table` on node url. */
static gw_err_t insert_batch(loader_t *L, stream_t *s, const char *url_base, const char *settings)
{
    gw_buf_t url, sql, resp;
    long status = 0;
    int code = 0;
    char msg[384], shown[512];
    gw_ch_url_shown(url_base, shown, sizeof shown);
    gw_buf_init(&url, 8192);
    gw_buf_init(&sql, 4096);
    gw_buf_init(&resp, 1u << 20);
    const gw_catalog_table_t *t = gw_catalog_find_table(s->table, strlen(s->table));
    gw_err_t rc = gw_buf_adds(&sql, "INSERT INTO ");
    if (rc == GW_OK)
        rc = add_table(&sql, L->db, t->name, "");
    if (rc == GW_OK)
        rc = gw_buf_add(&sql, " ", 1);
    if (rc == GW_OK)
        rc = add_columns(&sql, t, 0);
    if (rc == GW_OK)
        rc = gw_buf_adds(&sql, " FORMAT TabSeparated");
    if (rc == GW_OK && (rc = gw_ch_url_init(&url, url_base)) == GW_OK)
        rc = gw_ch_url_param(&url, "query", sql.ptr);
    if (rc == GW_OK && settings != NULL)
        rc = gw_buf_adds(&url, settings);
    s->batch_left = L->o->batch_rows ? L->o->batch_rows : DEFAULT_BATCH;
    gw_ch_request_t rq = {url.ptr, L->o->user, L->o->password, NULL, 0, stream_read, s, INSERT_TIMEOUT_MS, 0};
    if (rc != GW_OK)
        snprintf(L->err, L->errlen, "%s: loading %s: cannot build the INSERT (bad URL?)", shown, s->table);
    else if ((rc = gw_ch_post(L->curl, &rq, &resp, &status, msg, sizeof msg)) != GW_OK)
        snprintf(L->err, L->errlen, "%s: loading %s: %s", shown, s->table, s->failed ? s->why : msg);
    if (rc == GW_OK && status != 200) {
        if (!gw_ch_error_find(resp.ptr, resp.len, 0, &code, msg, sizeof msg))
            snprintf(msg, sizeof msg, "HTTP %ld", status);
        snprintf(L->err, L->errlen, "%s: loading %s: %s", shown, s->table, msg);
        rc = GW_EUPSTREAM;
    }
    gw_buf_free(&url);
    gw_buf_free(&sql);
    gw_buf_free(&resp);
    return rc;
}

static gw_err_t duck_count(loader_t *L, const char *table, uint64_t *n)
{
    duckdb_result res;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM main.\"%s\"", table);
    if (duckdb_query(L->con, sql, &res) != DuckDBSuccess) {
        snprintf(L->err, L->errlen, "duckdb: %s", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return GW_EINVAL;
    }
    *n = (uint64_t)duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    return GW_OK;
}

/* Streams one DuckDB table into node url, batch after batch. */
static gw_err_t load_table(loader_t *L, const gw_catalog_table_t *t, const char *url, const char *settings)
{
    stream_t s;
    memset(&s, 0, sizeof s);
    s.L = L;
    s.table = t->name;
    gw_buf_init(&s.out, 16u << 20);
    gw_err_t rc = duck_count(L, t->name, &s.total);
    if (rc == GW_OK && (rc = stream_open(&s, t)) == GW_OK)
        rc = stream_columns(&s);
    if (rc != GW_OK && L->err[0] == '\0')
        snprintf(L->err, L->errlen, "%s", s.why[0] ? s.why : "out of memory");
    while (rc == GW_OK && next_chunk(&s)) {
        rc = insert_batch(L, &s, url, settings);
        if (L->o->progress != NULL)
            L->o->progress(t->name, s.rows, s.total, L->o->progress_data);
    }
    if (rc == GW_OK && s.failed) {
        snprintf(L->err, L->errlen, "%s", s.why);
        rc = GW_EIO;
    }
    stream_close(&s);
    return rc;
}

/* Every count on ClickHouse equals DuckDB's; on a cluster the shards' local
 * tables add up to it. */
static gw_err_t verify(loader_t *L, size_t i, uint64_t *out)
{
    gw_buf_t sql;
    uint64_t want = 0, got = 0, sum = 0;
    const gw_catalog_table_t *t = &gw_catalog_tables[i];
    int sharded = L->o->cluster != NULL && layout[i].sharded;
    gw_buf_init(&sql, 1024);
    gw_err_t rc = duck_count(L, t->name, &want);
    for (size_t n = 0; rc == GW_OK && n < L->o->n_urls; n++) {
        gw_buf_reset(&sql);
        if ((rc = gw_buf_adds(&sql, "SELECT count() FROM ")) == GW_OK &&
            (rc = add_table(&sql, L->db, t->name, sharded ? "_local" : "")) == GW_OK &&
            (rc = ch_count(L, L->o->urls[n], sql.ptr, &got)) == GW_OK)
            sum += got;
        if (rc == GW_OK && !sharded && got != want)
            break;
    }
    if (rc == GW_OK && (sharded ? sum : got) != want) {
        snprintf(L->err, L->errlen, "%s: clickhouse has %" PRIu64 " rows after the load, duckdb %" PRIu64,
                 t->name, sharded ? sum : got, want);
        rc = GW_EUPSTREAM;
    }
    *out = want;
    gw_buf_free(&sql);
    return rc;
}

static gw_err_t load_all(loader_t *L, gw_chload_stats_t *st)
{
    gw_err_t rc = GW_OK;
    uint64_t *counts[] = {&st->categories, &st->skus, &st->warehouses, &st->inventory};
    if (L->o->cluster != NULL)
        rc = check_cluster(L);
    for (size_t n = 0; rc == GW_OK && n < L->o->n_urls; n++)
        rc = prepare_node(L, L->o->urls[n]);
    for (size_t i = 0; rc == GW_OK && i < gw_catalog_n_tables; i++) {
        const gw_catalog_table_t *t = &gw_catalog_tables[i];
        if (layout[i].sharded || L->o->cluster == NULL)
            rc = load_table(L, t, L->o->urls[0], L->o->cluster != NULL ? "&insert_distributed_sync=1" : NULL);
        else
            for (size_t n = 0; rc == GW_OK && n < L->o->n_urls; n++)
                rc = load_table(L, t, L->o->urls[n], NULL);
        if (rc == GW_OK)
            rc = verify(L, i, counts[i]);
    }
    return rc;
}

static gw_err_t check_opts(const gw_chload_opts_t *o, char *err, size_t errlen)
{
    if (o == NULL || o->from == NULL || o->urls == NULL || o->n_urls == 0) {
        snprintf(err, errlen, "no DuckDB file or no ClickHouse URL");
        return GW_EINVAL;
    }
    if (o->cluster == NULL && o->n_urls != 1) {
        snprintf(err, errlen, "several URLs need --cluster");
        return GW_EINVAL;
    }
    if ((o->cluster != NULL && !plain_name(o->cluster)) || (o->database != NULL && !plain_name(o->database))) {
        snprintf(err, errlen, "database and cluster names must be [A-Za-z0-9_]+");
        return GW_EINVAL;
    }
    if (access(o->from, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s (run: llmgw catalog generate)", o->from, strerror(errno));
        return GW_ENOTFOUND;
    }
    return GW_OK;
}

static gw_err_t open_duck(loader_t *L)
{
    duckdb_config cfg = NULL;
    char *oerr = NULL;
    gw_err_t rc = GW_EIO;
    if ((rc = gw_duckdb_load(L->err, L->errlen)) != GW_OK)
        return rc;
    rc = GW_EIO;
    if (duckdb_create_config(&cfg) != DuckDBSuccess)
        return GW_ENOMEM;
    duckdb_set_config(cfg, "access_mode", "READ_ONLY");
    duckdb_set_config(cfg, "enable_external_access", "false");
    if (duckdb_open_ext(L->o->from, &L->duck, cfg, &oerr) != DuckDBSuccess)
        snprintf(L->err, L->errlen, "duckdb: %s: %s", L->o->from, oerr != NULL ? oerr : "cannot open");
    else if (duckdb_connect(L->duck, &L->con) != DuckDBSuccess)
        snprintf(L->err, L->errlen, "duckdb: cannot connect");
    else
        rc = GW_OK;
    if (oerr != NULL)
        duckdb_free(oerr);
    duckdb_destroy_config(&cfg);
    return rc;
}

gw_err_t gw_clickhouse_load(const gw_chload_opts_t *o, gw_chload_stats_t *stats, char *err, size_t errlen)
{
    loader_t L;
    gw_chload_stats_t st;
    double t0 = now_s();
    memset(&L, 0, sizeof L);
    memset(&st, 0, sizeof st);
    err[0] = '\0';
    gw_err_t rc = check_opts(o, err, errlen);
    if (rc != GW_OK)
        return rc;
    L.o = o;
    L.db = o->database != NULL ? o->database : GW_CATALOG_DATASET;
    L.err = err;
    L.errlen = errlen;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if ((L.curl = curl_easy_init()) == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = GW_ENOMEM;
    }
    if (rc == GW_OK)
        rc = open_duck(&L);
    if (rc == GW_OK)
        rc = load_all(&L, &st);
    st.seconds = now_s() - t0;
    if (rc == GW_OK && stats != NULL)
        *stats = st;
    if (L.con != NULL)
        duckdb_disconnect(&L.con);
    if (L.duck != NULL)
        duckdb_close(&L.duck);
    if (L.curl != NULL)
        curl_easy_cleanup(L.curl);
    curl_global_cleanup();
    return rc;
}

/* ---- llmgw catalog load ---- */

static const char load_usage[] =
    "usage: llmgw catalog load --engine clickhouse [--from FILE] [--url URL]...\n"
    "         [--database NAME] [--cluster NAME] [--user U] [--batch-rows N]\n"
    "         [--config FILE]\n"
    "  --from FILE     the DuckDB catalog (default: ask.duckdb.path, else data/catalog.duckdb)\n"
    "  --url URL       a node's HTTP URL (default: ask.clickhouse.url, else\n"
    "                  http://127.0.0.1:8123); with --cluster give every node's URL\n"
    "  --database      default: ask.clickhouse.database, else retail\n"
    "  --cluster NAME  remote_servers cluster: *_local tables + Distributed ones\n"
    "  --user U        a user that may write (default: ask.clickhouse.user, else the\n"
    "                  server's default user; password: $LLMGW_CLICKHOUSE_PASSWORD,\n"
    "                  else ask.clickhouse.password when the user comes from the config)\n"
    "  --batch-rows N  rows per INSERT (default 2000000)\n";

#define MAX_URLS 64

typedef struct load_args {
    const char *engine, *config, *from, *database, *cluster, *user, *password;
    const char *urls[MAX_URLS];
    size_t n_urls;
    uint64_t batch;
} load_args_t;

/* "--name VALUE" or "--name=VALUE": 1 and *val, -1 when the value is
 * missing, 0 for another argument. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* One option; 1 taken, 0 unknown, -1 bad value. */
static int load_option(load_args_t *a, int argc, char **argv, int *i)
{
    static const char *const names[] = {"--engine", "--config", "--from", "--database", "--cluster", "--user"};
    const char **slots[] = {&a->engine, &a->config, &a->from, &a->database, &a->cluster, &a->user};
    const char *v = NULL;
    int r;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if ((r = opt_value(argc, argv, i, names[k], slots[k])) != 0)
            return r;
    if ((r = opt_value(argc, argv, i, "--url", &v)) != 0) {
        if (r < 0 || a->n_urls == MAX_URLS)
            return -1;
        a->urls[a->n_urls++] = v;
        return 1;
    }
    if ((r = opt_value(argc, argv, i, "--batch-rows", &v)) != 0) {
        char *end;
        errno = 0;
        unsigned long long n = r > 0 ? strtoull(v, &end, 10) : 0;
        if (r < 0 || errno != 0 || *end != '\0' || n == 0 || v[0] == '-')
            return -1;
        a->batch = n;
        return 1;
    }
    return 0;
}

static void progress(const char *table, uint64_t done, uint64_t total, void *data)
{
    fprintf(stderr, "\rloading %-10s %12" PRIu64 " / %" PRIu64 " rows%s", table, done, total,
            done >= total ? "\n" : "");
    fflush(stderr);
}

/* Fills what the command line left out from the config. */
static int apply_config(load_args_t *a, gw_config_t **cfg)
{
    char err[512] = "";
    const char *path = a->config;
    if (path == NULL && access("llmgw.yaml", R_OK) == 0)
        path = "llmgw.yaml";
    *cfg = path != NULL ? gw_config_load(path, err, sizeof err) : gw_config_default();
    if (*cfg == NULL) {
        fprintf(stderr, "llmgw catalog load: %s\n", err[0] ? err : "out of memory");
        return 1;
    }
    if (a->from == NULL)
        a->from = (*cfg)->ask.duckdb_path != NULL ? (*cfg)->ask.duckdb_path : "data/catalog.duckdb";
    if (a->n_urls == 0)
        a->urls[a->n_urls++] = (*cfg)->ask.clickhouse_url != NULL ? (*cfg)->ask.clickhouse_url
                                                                  : "http://127.0.0.1:8123";
    if (a->database == NULL)
        a->database = (*cfg)->ask.clickhouse_database;
    if (a->cluster == NULL)
        a->cluster = (*cfg)->ask.clickhouse_cluster;
    a->password = getenv("LLMGW_CLICKHOUSE_PASSWORD");
    if (a->user == NULL && (*cfg)->ask.clickhouse_user != NULL) {
        a->user = (*cfg)->ask.clickhouse_user;
        if (a->password == NULL)
            a->password = (*cfg)->ask.clickhouse_password;
    }
    return 0;
}

int gw_catalog_load_cmd(int argc, char **argv)
{
    load_args_t a;
    gw_config_t *cfg = NULL;
    char err[1024];
    memset(&a, 0, sizeof a);
    for (int i = 1; i < argc; i++) {
        int r = load_option(&a, argc, argv, &i);
        if (r <= 0) {
            fprintf(stderr, "llmgw catalog load: %s '%s'\n%s", r < 0 ? "bad value for" : "unknown option", argv[i],
                    load_usage);
            return 2;
        }
    }
    if (a.engine == NULL || strcmp(a.engine, "clickhouse") != 0) {
        fprintf(stderr, "llmgw catalog load: --engine clickhouse is required here\n%s", load_usage);
        return 2;
    }
    if (apply_config(&a, &cfg) != 0)
        return 1;
    gw_chload_opts_t o = {a.from, a.urls, a.n_urls, a.database, a.cluster, a.user,
                          a.password, a.batch, isatty(2) ? progress : NULL, NULL};
    gw_chload_stats_t st;
    gw_err_t rc = gw_clickhouse_load(&o, &st, err, sizeof err);
    if (rc != GW_OK) {
        fprintf(stderr, "llmgw catalog load: %s\n", err);
        gw_config_unref(cfg);
        return rc == GW_EINVAL ? 2 : 1;
    }
    uint64_t rows = st.categories + st.skus + st.warehouses + st.inventory;
    char shown[512];
    printf("catalog load: clickhouse %s%s%s, %" PRIu64 " skus, %" PRIu64 " inventory rows, %" PRIu64
           " categories, %" PRIu64 " warehouses in %.2f s (%.0f rows/s)\n",
           gw_ch_url_shown(a.urls[0], shown, sizeof shown), a.cluster != NULL ? " cluster " : "",
           a.cluster != NULL ? a.cluster : "", st.skus, st.inventory, st.categories, st.warehouses, st.seconds,
           st.seconds > 0 ? (double)rows / st.seconds : 0.0);
    gw_config_unref(cfg); /* a.urls, a.cluster may point into it */
    return 0;
}

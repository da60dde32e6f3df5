/* engine_clickhouse.c - the ClickHouse engine (engine_clickhouse.h): a pool of
 * libcurl easy handles, one blocking POST per query, the JSONCompact body
 * checked in full (clickhouse_json.c) before any row reaches the sink, so a
 * failed query never delivers half a result, and typed cells.
 *
 * Type mapping (ClickHouse meta type -> gw_cell_t; Nullable() and
 * LowCardinality() are looked through, null is GW_CELL_NULL):
 *   Int8..Int64, UInt8..UInt32      INT (64-bit values arrive quoted: parsed exactly)
 *   UInt64                           INT, or NUMBER (exact text) above INT64_MAX
 *   Float32/Float64                  DOUBLE (nan/inf -> null in JSON)
 *   Decimal(P,S), DecimalN(S)        DECIMAL scale S, exact from the literal
 *   String, FixedString, Date, DateTime, UUID, Enum   TEXT ("YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS")
 *   Array, Tuple, Nested, ...        refused (GW_EUNSUPPORTED), as in the DuckDB engine
 * Two catalog-aware exceptions keep answers identical to DuckDB's: a result
 * column named like a catalog BOOLEAN column (is_active) whose type is UInt8
 * is BOOL, and one named like a catalog DECIMAL(p,s) column stored as Float64
 * (price_usd) is DECIMAL scale s, rounded to cents. Aggregates of prices
 * under other names stay DOUBLE; planners round them with round(x, 2).
 */
#include "engine_clickhouse.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_schema.h"
#include "clickhouse_http.h"
#include "clickhouse_json.h"

#define DEFAULT_TIMEOUT_MS 10000u
#define DEFAULT_MAX_READ 100000000ull
#define DEFAULT_MAX_MEMORY 2000000000ull
#define DEFAULT_MAX_RESPONSE (64u << 20)
#define DEFAULT_POOL 4u
#define TIMEOUT_GRACE_MS 500u
#define KILL_TIMEOUT_MS 2000L
#define SCRATCH 48 /* bytes per cell for number text */

typedef struct ch {
    gw_engine_t base;
    char *url;   /* base URL, as given (may hold user:password@) */
    char *shown; /* the URL without userinfo, for messages */
    char *database, *user, *password, *cluster;
    gw_clickhouse_opts_t o; /* defaults filled in; strings borrowed from above */
    int settable;            /* the user's profile lets URL settings through (readonly=0) */
    uint64_t server_max_result_rows; /* the profile's cap when not settable (0: none) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    CURL **idle;
    size_t n_idle, n_handles;
    uint64_t seq, tag; /* query ids: llmgw-<tag>-<seq> */
} ch_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static gw_err_t fail(gw_query_info_t *info, gw_err_t rc, int code, const char *msg)
{
    snprintf(info->message, sizeof info->message, "%s", msg != NULL ? msg : "query failed");
    info->engine_code = code;
    return rc;
}

/* ---- the handle pool ---- */

static CURL *pool_get(ch_t *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->mu);
    while (c->n_idle == 0 && c->n_handles >= c->o.pool_size)
        pthread_cond_wait(&c->cv, &c->mu);
    if (c->n_idle > 0) {
        h = c->idle[--c->n_idle];
    } else if ((h = curl_easy_init()) != NULL) {
        c->n_handles++;
    }
    pthread_mutex_unlock(&c->mu);
    return h;
}

static void pool_put(ch_t *c, CURL *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->idle[c->n_idle++] = h;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static uint64_t next_seq(ch_t *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t s = ++c->seq;
    pthread_mutex_unlock(&c->mu);
    return s;
}

/* ---- column types and cells ---- */

typedef enum ct_kind { K_INT, K_UINT64, K_FLOAT, K_DECIMAL, K_TEXT, K_BOOL, K_MONEY, K_NOTHING } ct_kind_t;

typedef struct coltype {
    ct_kind_t kind;
    uint8_t scale;
} coltype_t;

/* Strips one wrapper W(...) from t[0..*n) when present. */
static const char *unwrap(const char *t, size_t *n, const char *w)
{
    size_t wl = strlen(w);
    if (*n > wl + 1 && strncmp(t, w, wl) == 0 && t[wl] == '(' && t[*n - 1] == ')') {
        *n -= wl + 2;
        return t + wl + 1;
    }
    return t;
}

static int type_is(const char *t, size_t n, const char *name)
{
    return strlen(name) == n && strncmp(t, name, n) == 0;
}

static int type_starts(const char *t, size_t n, const char *prefix)
{
    return n >= strlen(prefix) && strncmp(t, prefix, strlen(prefix)) == 0;
}

/* The scale of Decimal(P, S) / Decimal32(S) / Decimal64(S) / Decimal128(S). */
static int decimal_scale(const char *t, size_t n)
{
    const char *comma = memchr(t, ',', n);
    const char *open = memchr(t, '(', n);
    const char *p = comma != NULL ? comma + 1 : open != NULL ? open + 1 : NULL;
    if (p == NULL)
        return -1;
    long s = strtol(p, NULL, 10);
    return s >= 0 && s <= 18 ? (int)s : -1;
}

/* The catalog column (any table) named name, or NULL. */
static const gw_catalog_column_t *catalog_column(const char *name)
{
    for (size_t i = 0; i < gw_catalog_n_tables; i++) {
        const gw_catalog_column_t *c = gw_catalog_find_column(&gw_catalog_tables[i], name, strlen(name));
        if (c != NULL)
            return c;
    }
    return NULL;
}

static gw_err_t type_of(const char *col, const char *type, coltype_t *ct)
{
    size_t n = strlen(type);
    const char *t = unwrap(type, &n, "LowCardinality");
    t = unwrap(t, &n, "Nullable");
    const gw_catalog_column_t *cat = catalog_column(col);
    ct->scale = 0;
    if (type_is(t, n, "Nothing"))
        ct->kind = K_NOTHING;
    else if (type_is(t, n, "UInt8") && cat != NULL && strcmp(cat->duckdb_type, "BOOLEAN") == 0)
        ct->kind = K_BOOL;
    else if (type_is(t, n, "UInt64"))
        ct->kind = K_UINT64;
    else if (type_starts(t, n, "Int") || type_starts(t, n, "UInt"))
        ct->kind = K_INT;
    else if (type_starts(t, n, "Float") && cat != NULL && strncmp(cat->duckdb_type, "DECIMAL(", 8) == 0) {
        ct->kind = K_MONEY;
        ct->scale = (uint8_t)decimal_scale(cat->duckdb_type, strlen(cat->duckdb_type));
    } else if (type_starts(t, n, "Float"))
        ct->kind = K_FLOAT;
    else if (type_starts(t, n, "Decimal")) {
        int s = decimal_scale(t, n);
        if (s < 0)
            return GW_EUNSUPPORTED;
        ct->kind = K_DECIMAL;
        ct->scale = (uint8_t)s;
    } else if (type_is(t, n, "String") || type_starts(t, n, "FixedString(") || type_is(t, n, "Date") ||
               type_starts(t, n, "DateTime") || type_is(t, n, "UUID") || type_starts(t, n, "Enum"))
        ct->kind = K_TEXT;
    else
        return GW_EUNSUPPORTED;
    return GW_OK;
}

static void set_text(gw_cell_t *c, const char *p, size_t n)
{
    c->kind = GW_CELL_TEXT;
    c->v.text.ptr = p;
    c->v.text.len = n;
}

/* The value's text NUL-terminated in scratch (numbers and quoted numbers). */
static const char *num_text(const gw_chjson_val_t *v, char *scratch)
{
    if ((v->kind != GW_CHJSON_NUMBER && v->kind != GW_CHJSON_STRING) || v->len == 0 || v->len >= SCRATCH)
        return NULL;
    memcpy(scratch, v->ptr, v->len);
    scratch[v->len] = '\0';
    return scratch;
}

/* "12.3" with scale 2 -> 1230, exactly; -1 when the text is not plain. */
static int decimal_exact(const char *s, unsigned scale, int64_t *out)
{
    int neg = *s == '-';
    uint64_t v = 0;
    unsigned frac = 0;
    int dot = 0, digits = 0;
    for (s += neg; *s != '\0'; s++) {
        if (*s == '.' && !dot) {
            dot = 1;
            continue;
        }
        if (*s < '0' || *s > '9' || (dot && frac == scale) || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        frac += (unsigned)dot;
        digits++;
    }
    for (; frac < scale; frac++) {
        if (v > UINT64_MAX / 10)
            return -1;
        v *= 10;
    }
    if (digits == 0 || v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int money_cell(double d, unsigned scale, gw_cell_t *c)
{
    double m = d * pow(10.0, (double)scale);
    if (!isfinite(m) || fabs(m) >= 9e15)
        return -1;
    c->kind = GW_CELL_DECIMAL;
    c->v.dec.unscaled = (int64_t)llround(m);
    c->v.dec.scale = (uint8_t)scale;
    return 0;
}

/* One numeric value; returns -1 when the text does not fit the type. */
static int number_cell(const coltype_t *ct, const char *s, gw_cell_t *c)
{
    char *end;
    errno = 0;
    switch (ct->kind) {
    case K_INT:
    case K_BOOL:
        c->v.i = strtoll(s, &end, 10);
        if (ct->kind == K_BOOL) {
            c->kind = GW_CELL_BOOL;
            c->v.b = c->v.i != 0;
        } else {
            c->kind = GW_CELL_INT;
        }
        return errno != 0 || *end != '\0' ? -1 : 0;
    case K_UINT64: {
        unsigned long long u = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || s[0] == '-')
            return -1;
        if (u <= (unsigned long long)INT64_MAX) {
            c->kind = GW_CELL_INT;
            c->v.i = (int64_t)u;
        } else {
            set_text(c, s, strlen(s));
            c->kind = GW_CELL_NUMBER;
        }
        return 0;
    }
    case K_DECIMAL:
        if (decimal_exact(s, ct->scale, &c->v.dec.unscaled) == 0) {
            c->kind = GW_CELL_DECIMAL;
            c->v.dec.scale = ct->scale;
            return 0;
        }
        return money_cell(strtod(s, NULL), ct->scale, c);
    case K_MONEY:
        c->v.d = strtod(s, &end);
        if (*end != '\0')
            return -1;
        if (money_cell(c->v.d, ct->scale, c) != 0)
            c->kind = GW_CELL_DOUBLE;
        return 0;
    default:
        c->kind = GW_CELL_DOUBLE;
        c->v.d = strtod(s, &end);
        return *end != '\0' ? -1 : 0;
    }
}

/* One value -> one cell; -1 when the value does not fit the column type. */
static int cell_of(const coltype_t *ct, const gw_chjson_val_t *v, char *scratch, gw_cell_t *c)
{
    memset(c, 0, sizeof *c);
    if (v->kind == GW_CHJSON_NULL || ct->kind == K_NOTHING)
        return 0;
    if (v->kind == GW_CHJSON_TRUE || v->kind == GW_CHJSON_FALSE) {
        c->kind = GW_CELL_BOOL;
        c->v.b = v->kind == GW_CHJSON_TRUE;
        return 0;
    }
    if (ct->kind == K_TEXT) {
        if (v->kind != GW_CHJSON_STRING && v->kind != GW_CHJSON_NUMBER)
            return -1;
        set_text(c, v->ptr, v->len);
        return 0;
    }
    const char *s = num_text(v, scratch);
    return s == NULL ? -1 : number_cell(ct, s, c);
}

/* ---- one response -> the sink ---- */

typedef struct delivery {
    const gw_row_sink_t *sink; /* NULL: validation pass, count rows only */
    const gw_query_opts_t *o;
    gw_query_info_t *info;
    coltype_t *types;
    gw_cell_t *cells;
    char *scratch;
    size_t rows_seen;
    gw_err_t sink_rc;
} delivery_t;

static gw_err_t on_meta(void *data, const gw_chjson_col_t *cols, size_t n)
{
    delivery_t *d = data;
    size_t k = n ? n : 1;
    if ((d->types = gw_calloc(k, sizeof *d->types)) == NULL || (d->cells = gw_calloc(k, sizeof *d->cells)) == NULL ||
        (d->scratch = gw_malloc(k * SCRATCH)) == NULL)
        return fail(d->info, GW_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (type_of(cols[i].name, cols[i].type, &d->types[i]) != GW_OK) {
            char m[GW_ENGINE_MSG_MAX];
            snprintf(m, sizeof m, "result column '%.100s' has type %.100s, which has no JSON form here; "
                     "convert it with toString() or arrayStringConcat()", cols[i].name, cols[i].type);
            return fail(d->info, GW_EUNSUPPORTED, 0, m);
        }
    }
    if (d->sink == NULL)
        return GW_OK;
    gw_column_t *gc = gw_calloc(k, sizeof *gc);
    if (gc == NULL)
        return fail(d->info, GW_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < n; i++) {
        gc[i].name = (char *)cols[i].name;
        gc[i].type = (char *)cols[i].type;
    }
    gw_err_t rc = d->sink->columns_cb(d->sink->data, gc, n);
    gw_free(gc);
    return rc == GW_OK ? GW_OK : (d->sink_rc = fail(d->info, rc, 0, "the row consumer refused the columns"));
}

static gw_err_t on_row(void *data, const gw_chjson_val_t *vals, size_t n)
{
    delivery_t *d = data;
    size_t at = d->rows_seen++;
    for (size_t i = 0; i < n; i++)
        if (cell_of(&d->types[i], &vals[i], d->scratch + i * SCRATCH, &d->cells[i]) != 0) {
            char m[160];
            snprintf(m, sizeof m, "clickhouse sent a value that does not fit its column type (row %zu, column %zu)",
                     at + 1, i + 1);
            return fail(d->info, GW_EUPSTREAM, 0, m);
        }
    if (d->sink == NULL || (d->o->max_rows != 0 && at >= d->o->max_rows))
        return GW_OK;
    gw_err_t rc = d->sink->row_cb(d->sink->data, d->cells, n);
    if (rc != GW_OK)
        return d->sink_rc = fail(d->info, rc, 0, "the row consumer stopped the query");
    d->info->rows++;
    return GW_OK;
}

static void delivery_free(delivery_t *d)
{
    gw_free(d->types);
    gw_free(d->cells);
    gw_free(d->scratch);
    d->types = NULL;
    d->cells = NULL;
    d->scratch = NULL;
}

/* A 200 body: the full document is checked first (an error glued after the
 * rows fails it), then the rows go to the sink. */
static gw_err_t deliver(ch_t *c, const gw_buf_t *body, const gw_query_opts_t *o, const gw_row_sink_t *sink,
                        gw_query_info_t *info)
{
    delivery_t d = {NULL, o, info, NULL, NULL, NULL, 0, GW_OK};
    gw_chjson_result_t res;
    gw_err_t rc = gw_chjson_parse(body->ptr, body->len, on_meta, on_row, &d, &res);
    delivery_free(&d);
    if (rc == GW_EINVAL) {
        int code = 0;
        char msg[GW_ENGINE_MSG_MAX - 32];
        if (gw_ch_error_find(body->ptr, body->len, res.error_at, &code, msg, sizeof msg))
            return fail(info, gw_ch_error_kind(code), code, msg);
        snprintf(msg, sizeof msg, "malformed response from clickhouse: %s", res.message);
        return fail(info, GW_EUPSTREAM, 0, msg);
    }
    if (rc != GW_OK)
        return info->message[0] != '\0' ? rc : fail(info, rc, 0, res.message);
    size_t total = d.rows_seen;
    d = (delivery_t){sink, o, info, NULL, NULL, NULL, 0, GW_OK};
    rc = gw_chjson_parse(body->ptr, body->len, on_meta, on_row, &d, &res);
    delivery_free(&d);
    if (rc != GW_OK)
        return info->message[0] != '\0' ? rc : fail(info, rc, 0, res.message);
    uint64_t cap = c->settable ? 0 : c->server_max_result_rows;
    info->truncated = (o->max_rows != 0 && total > o->max_rows) || (cap != 0 && total >= cap);
    return GW_OK;
}

/* ---- the request ---- */

/* The URL of one query: database, id, output, and the limits when the
 * user's profile lets them be set. */
static gw_err_t query_url(ch_t *c, gw_buf_t *url, const char *db, const char *qid, const gw_query_opts_t *o,
                          uint32_t timeout_ms, int internal)
{
    char v[32];
    gw_err_t rc = gw_ch_url_init(url, c->url);
    if (rc == GW_OK && db != NULL)
        rc = gw_ch_url_param(url, "database", db);
    if (rc == GW_OK)
        rc = gw_ch_url_param(url, "query_id", qid);
    if (rc == GW_OK)
        rc = gw_ch_url_param(url, "default_format", "JSONCompact");
    if (rc == GW_OK && !c->o.stream)
        rc = gw_ch_url_param(url, "wait_end_of_query", "1");
    if (rc == GW_OK && c->settable)
        rc = gw_ch_url_param(url, "readonly", "1");
    if (rc != GW_OK || !c->settable || internal)
        return rc;
    snprintf(v, sizeof v, "%u", (timeout_ms + 999) / 1000);
    if (rc == GW_OK)
        rc = gw_ch_url_param(url, "max_execution_time", v);
    snprintf(v, sizeof v, "%" PRIu64, c->o.max_rows_to_read);
    if (rc == GW_OK)
        rc = gw_ch_url_param(url, "max_rows_to_read", v);
    snprintf(v, sizeof v, "%" PRIu64, c->o.max_memory_usage);
    if (rc == GW_OK)
        rc = gw_ch_url_param(url, "max_memory_usage", v);
    if (rc == GW_OK)
        rc = gw_ch_url_param(url, "distributed_product_mode", "local");
    if (rc == GW_OK && o->max_rows != 0) {
        snprintf(v, sizeof v, "%zu", o->max_rows + 1);
        rc = gw_ch_url_param(url, "max_result_rows", v);
        if (rc == GW_OK)
            rc = gw_ch_url_param(url, "result_overflow_mode", "break");
    }
    return rc;
}

/* Best effort: closing the connection does not stop a query in 18.16. */
static void kill_query(ch_t *c, const char *qid)
{
    gw_buf_t url, sql, resp;
    char err[128];
    long status;
    CURL *h = curl_easy_init();
    gw_buf_init(&url, 4096);
    gw_buf_init(&sql, 512);
    gw_buf_init(&resp, 65536);
    if (h != NULL && gw_ch_url_init(&url, c->url) == GW_OK && gw_ch_url_param(&url, "database", "system") == GW_OK &&
        gw_buf_printf(&sql, "KILL QUERY WHERE query_id = '%s' ASYNC", qid) == GW_OK) {
        gw_ch_request_t rq = {url.ptr, c->user, c->password, sql.ptr, sql.len, NULL, NULL, KILL_TIMEOUT_MS,
                              (long)c->o.connect_timeout_ms};
        gw_ch_post(h, &rq, &resp, &status, err, sizeof err);
    }
    if (h != NULL)
        curl_easy_cleanup(h);
    gw_buf_free(&url);
    gw_buf_free(&sql);
    gw_buf_free(&resp);
}

/* A non-200 answer: ClickHouse's error text, or the status. */
static gw_err_t http_failure(const gw_buf_t *body, long status, gw_query_info_t *info)
{
    int code = 0;
    char msg[GW_ENGINE_MSG_MAX - 32];
    if (gw_ch_error_find(body->ptr, body->len, 0, &code, msg, sizeof msg))
        return fail(info, gw_ch_error_kind(code), code, msg);
    snprintf(msg, sizeof msg, "clickhouse answered HTTP %ld: %.200s", status, body->ptr != NULL ? body->ptr : "");
    return fail(info, status == 401 || status == 403 ? GW_EDENIED : GW_EUPSTREAM, 0, msg);
}

/* Sends sql (NUL-terminated) and delivers the answer. internal: our own
 * describe/probe queries (database `db`, no URL settings). */
static gw_err_t exchange(ch_t *c, const char *sql, size_t len, const char *db, int internal,
                         const gw_query_opts_t *o, const gw_row_sink_t *sink, gw_query_info_t *info)
{
    char qid[64], err[GW_ENGINE_MSG_MAX];
    long status = 0;
    gw_buf_t url, body;
    uint32_t timeout = o->timeout_ms ? o->timeout_ms : c->o.timeout_ms;
    gw_buf_init(&url, 8192);
    gw_buf_init(&body, c->o.max_response_bytes);
    snprintf(qid, sizeof qid, "llmgw-%016" PRIx64 "-%" PRIu64, c->tag, next_seq(c));
    CURL *h = pool_get(c);
    gw_err_t rc = h == NULL ? fail(info, GW_ENOMEM, 0, "out of memory") : GW_OK;
    if (rc == GW_OK && (rc = query_url(c, &url, db, qid, o, timeout, internal)) != GW_OK)
        fail(info, rc, 0, "cannot build the query URL");
    if (rc == GW_OK) {
        gw_ch_request_t rq = {url.ptr, c->user, c->password, sql, len, NULL, NULL,
                              (long)timeout + TIMEOUT_GRACE_MS, (long)c->o.connect_timeout_ms};
        if ((rc = gw_ch_post(h, &rq, &body, &status, err, sizeof err)) != GW_OK)
            fail(info, rc, 0, err);
        if (rc == GW_ETIMEOUT) {
            kill_query(c, qid);
            snprintf(info->message, sizeof info->message, "query timed out after %u ms", (unsigned)timeout);
        }
    }
    pool_put(c, h);
    if (rc == GW_OK)
        rc = status == 200 ? deliver(c, &body, o, sink, info) : http_failure(&body, status, info);
    gw_buf_free(&url);
    gw_buf_free(&body);
    return rc;
}

/* ---- checks and the query entry point ---- */

/* Skips whitespace, comments and opening parentheses. */
static const char *skip_lead(const char *p, const char *end)
{
    while (p < end) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '(') {
            p++;
        } else if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
            const char *q = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
            p = q != NULL ? q + 2 : end;
        } else {
            break;
        }
    }
    return p;
}

static int starts_word(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(end - p) < n || strncasecmp(p, w, n) != 0)
        return 0;
    return (size_t)(end - p) == n || !((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
                                       (p[n] >= '0' && p[n] <= '9') || p[n] == '_');
}

/* The SQL to send: the check hook's output, or the text when it starts with
 * SELECT or WITH (the built-in check; the server's readonly=1 backs both). */
static gw_err_t sql_text(ch_t *c, const char *sql, size_t len, const gw_query_opts_t *o, gw_buf_t *out,
                         gw_query_info_t *info)
{
    if (memchr(sql, '\0', len) != NULL)
        return fail(info, GW_EDENIED, 0, "the query contains a NUL byte");
    if (c->o.check != NULL) {
        gw_err_t rc = c->o.check(c->o.check_data, sql, len, o->max_rows ? (int64_t)o->max_rows + 1 : 0, out,
                                 info->message, sizeof info->message);
        if (rc != GW_OK && info->message[0] == '\0')
            snprintf(info->message, sizeof info->message, "refused by the SQL guard");
        return rc;
    }
    const char *p = skip_lead(sql, sql + len);
    if (!starts_word(p, sql + len, "SELECT") && !starts_word(p, sql + len, "WITH"))
        return fail(info, GW_EDENIED, 0, "only a read-only SELECT statement is allowed");
    gw_err_t rc = gw_buf_add(out, sql, len);
    return rc == GW_OK ? GW_OK : fail(info, rc, 0, "query too long");
}

static gw_err_t ch_query(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                         const gw_row_sink_t *sink, gw_query_info_t *info)
{
    ch_t *c = (ch_t *)e;
    gw_buf_t text;
    double t0 = now_ms();
    gw_buf_init(&text, 1u << 20);
    gw_err_t rc = sql_text(c, sql, len, o, &text, info);
    if (rc == GW_OK)
        rc = exchange(c, text.ptr, text.len, c->database, 0, o, sink, info);
    gw_buf_free(&text);
    info->ms = now_ms() - t0;
    return rc;
}

/* ---- internal queries: rows of text ---- */

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist_t;

static void strlist_free(strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        gw_free(l->v[i]);
    gw_free(l->v);
    memset(l, 0, sizeof *l);
}

static gw_err_t strlist_push(strlist_t *l, const gw_cell_t *cell)
{
    char num[64];
    const char *s = num;
    size_t n;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **p = gw_realloc(l->v, cap * sizeof *p);
        if (p == NULL)
            return GW_ENOMEM;
        l->v = p;
        l->cap = cap;
    }
    if (cell->kind == GW_CELL_TEXT || cell->kind == GW_CELL_NUMBER) {
        s = cell->v.text.ptr;
        n = cell->v.text.len;
    } else if (cell->kind == GW_CELL_INT || cell->kind == GW_CELL_BOOL) {
        n = (size_t)snprintf(num, sizeof num, "%" PRId64, cell->kind == GW_CELL_BOOL ? (int64_t)cell->v.b : cell->v.i);
    } else {
        n = 0;
    }
    if ((l->v[l->n] = gw_strndup(s, n)) == NULL)
        return GW_ENOMEM;
    l->n++;
    return GW_OK;
}

static gw_err_t list_columns(void *data, const gw_column_t *cols, size_t n)
{
    return GW_OK;
}

/* Every cell of every row, as text, row-major. */
static gw_err_t list_row(void *data, const gw_cell_t *cells, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        gw_err_t rc = strlist_push(data, &cells[i]);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

static gw_err_t run_internal(ch_t *c, const char *sql, const char *db, strlist_t *out, char *err, size_t errlen)
{
    gw_query_info_t info;
    gw_query_opts_t o = {0, 0};
    gw_row_sink_t sink = {list_columns, list_row, out};
    memset(&info, 0, sizeof info);
    gw_err_t rc = exchange(c, sql, strlen(sql), db, 1, &o, &sink, &info);
    if (rc != GW_OK)
        snprintf(err, errlen, "%s%s", strncmp(info.message, "clickhouse", 10) == 0 ? "" : "clickhouse: ",
                 info.message);
    return rc;
}

/* Appends s as a ClickHouse string literal ('...' with \\ and \' escaped). */
static gw_err_t add_literal(gw_buf_t *b, const char *s, char q)
{
    gw_err_t rc = gw_buf_add(b, &q, 1);
    for (; rc == GW_OK && *s != '\0'; s++) {
        if (*s == '\\' || *s == q)
            rc = gw_buf_add(b, "\\", 1);
        if (rc == GW_OK)
            rc = gw_buf_add(b, s, 1);
    }
    return rc == GW_OK ? gw_buf_add(b, &q, 1) : rc;
}

/* sql = pre + literal(a, qa) + mid + literal(b, qb) + post (b may be NULL). */
static gw_err_t build_sql(gw_buf_t *sql, const char *pre, const char *a, char qa, const char *mid, const char *b,
                          char qb, const char *post)
{
    gw_buf_reset(sql);
    gw_err_t rc = gw_buf_adds(sql, pre);
    if (rc == GW_OK)
        rc = add_literal(sql, a, qa);
    if (rc == GW_OK)
        rc = gw_buf_adds(sql, mid);
    if (rc == GW_OK && b != NULL)
        rc = add_literal(sql, b, qb);
    return rc == GW_OK ? gw_buf_adds(sql, post) : rc;
}

/* ---- describe ---- */

static gw_err_t count_of(ch_t *c, const char *sql, const char *db, uint64_t *n, char *err, size_t errlen)
{
    strlist_t l = {0};
    gw_err_t rc = run_internal(c, sql, db, &l, err, errlen);
    *n = rc == GW_OK && l.n == 1 ? strtoull(l.v[0], NULL, 10) : 0;
    if (rc == GW_OK && l.n != 1) {
        snprintf(err, errlen, "clickhouse: unexpected answer to %.200s", sql);
        rc = GW_EUPSTREAM;
    }
    strlist_free(&l);
    return rc;
}

static int is_string_type(const char *t)
{
    size_t n = strlen(t);
    const char *u = unwrap(t, &n, "LowCardinality");
    u = unwrap(u, &n, "Nullable");
    return type_is(u, n, "String") || type_starts(u, n, "FixedString(");
}

/* sql = pre + `col` + " AS v FROM " + `db`.`table` + post. */
static gw_err_t column_sql(gw_buf_t *sql, const char *pre, const char *col, const char *db, const char *table,
                           const char *post)
{
    gw_err_t rc = build_sql(sql, pre, col, '`', " AS v FROM ", db, '`', ".");
    if (rc == GW_OK)
        rc = add_literal(sql, table, '`');
    return rc == GW_OK ? gw_buf_adds(sql, post) : rc;
}

/* Distinct values of a string column when there are at most max (the first
 * 100000 rows decide quickly when there are clearly more). */
static gw_err_t describe_values(ch_t *c, const char *table, gw_schema_column_t *col, size_t max, char *err,
                                size_t errlen)
{
    gw_buf_t sql;
    strlist_t l = {0};
    uint64_t n = 0;
    char post[96];
    gw_buf_init(&sql, 16384);
    gw_err_t rc = column_sql(&sql, "SELECT uniqExact(v) FROM (SELECT ", col->name, c->database, table,
                             " LIMIT 100000)");
    if (rc == GW_OK)
        rc = count_of(c, sql.ptr, c->database, &n, err, errlen);
    if (rc == GW_OK && n > max)
        col->high_cardinality = true;
    snprintf(post, sizeof post, ") WHERE isNotNull(v) ORDER BY v LIMIT %zu", max + 1);
    if (rc == GW_OK && !col->high_cardinality &&
        (rc = column_sql(&sql, "SELECT DISTINCT v FROM (SELECT ", col->name, c->database, table, post)) == GW_OK &&
        (rc = run_internal(c, sql.ptr, c->database, &l, err, errlen)) == GW_OK) {
        if (l.n > max) {
            col->high_cardinality = true;
            strlist_free(&l);
        }
        col->values = l.v;
        col->n_values = l.n;
        l.v = NULL;
        l.n = 0;
    }
    strlist_free(&l);
    gw_buf_free(&sql);
    return rc;
}

static gw_err_t describe_table(ch_t *c, gw_schema_table_t *t, size_t max, char *err, size_t errlen)
{
    gw_buf_t sql;
    strlist_t cols = {0};
    gw_buf_init(&sql, 16384);
    gw_err_t rc = build_sql(&sql, "SELECT name, type FROM system.columns WHERE database = ", c->database, '\'',
                            " AND table = ", t->name, '\'', "");
    if (rc == GW_OK)
        rc = run_internal(c, sql.ptr, c->database, &cols, err, errlen);
    if (rc == GW_OK && (t->columns = gw_calloc(cols.n / 2 + 1, sizeof *t->columns)) == NULL)
        rc = GW_ENOMEM;
    for (size_t i = 0; rc == GW_OK && i + 1 < cols.n; i += 2) {
        gw_schema_column_t *col = &t->columns[t->n_columns++];
        col->name = cols.v[i];
        col->type = cols.v[i + 1];
        cols.v[i] = cols.v[i + 1] = NULL;
        if (is_string_type(col->type))
            rc = describe_values(c, t->name, col, max, err, errlen);
    }
    if (rc == GW_OK && (rc = build_sql(&sql, "SELECT count() FROM ", c->database, '`', ".", t->name, '`', "")) == GW_OK)
        rc = count_of(c, sql.ptr, c->database, &t->row_count, err, errlen);
    strlist_free(&cols);
    gw_buf_free(&sql);
    return rc;
}

/* Tables of the database; a cluster's *_local tables are storage, not schema. */
static gw_err_t ch_describe(gw_engine_t *e, size_t max, gw_schema_t **out, char *err, size_t errlen)
{
    ch_t *c = (ch_t *)e;
    strlist_t names = {0};
    gw_buf_t sql;
    gw_schema_t *s = gw_calloc(1, sizeof *s);
    gw_err_t rc = GW_ENOMEM;
    gw_buf_init(&sql, 4096);
    if (s == NULL || (s->engine = gw_strdup("clickhouse")) == NULL)
        goto out;
    rc = build_sql(&sql, "SELECT name FROM system.tables WHERE database = ", c->database, '\'',
                   " AND NOT endsWith(name, '_local') ORDER BY name", NULL, 0, "");
    if (rc == GW_OK)
        rc = run_internal(c, sql.ptr, c->database, &names, err, errlen);
    if (rc == GW_OK && (s->tables = gw_calloc(names.n + 1, sizeof *s->tables)) == NULL)
        rc = GW_ENOMEM;
    for (size_t i = 0; rc == GW_OK && i < names.n; i++) {
        gw_schema_table_t *t = &s->tables[s->n_tables++];
        t->name = names.v[i];
        names.v[i] = NULL;
        rc = describe_table(c, t, max, err, errlen);
    }
    if (rc == GW_OK) {
        *out = s;
        s = NULL;
    }
out:
    if (rc == GW_ENOMEM)
        snprintf(err, errlen, "out of memory");
    strlist_free(&names);
    gw_buf_free(&sql);
    gw_schema_free(s);
    return rc;
}

/* ---- the first contact ---- */

/* The user's readonly level decides how limits are applied (header). */
static gw_err_t probe_settings(ch_t *c, char *err, size_t errlen)
{
    strlist_t l = {0};
    gw_err_t rc = run_internal(c,
                               "SELECT name, value FROM system.settings"
                               " WHERE name IN ('readonly', 'max_result_rows')",
                               "system", &l, err, errlen);
    const char *ro = NULL;
    for (size_t i = 0; rc == GW_OK && i + 1 < l.n; i += 2) {
        if (strcmp(l.v[i], "readonly") == 0)
            ro = l.v[i + 1];
        else
            c->server_max_result_rows = strtoull(l.v[i + 1], NULL, 10);
    }
    if (rc == GW_OK && (ro == NULL || (strcmp(ro, "0") != 0 && strcmp(ro, "1") != 0))) {
        snprintf(err, errlen,
                 "clickhouse: the user's profile has readonly=%s; use a readonly=1 profile with limits "
                 "(readonly=2 re-enables url(), file() and remote()) or a readonly=0 one",
                 ro != NULL ? ro : "?");
        rc = GW_EDENIED;
    }
    if (rc == GW_OK)
        c->settable = strcmp(ro, "0") == 0;
    strlist_free(&l);
    return rc;
}

static gw_err_t ch_probe(ch_t *c, char *err, size_t errlen)
{
    gw_buf_t sql;
    uint64_t n = 0;
    gw_buf_init(&sql, 4096);
    gw_err_t rc = probe_settings(c, err, errlen);
    if (rc == GW_OK)
        rc = build_sql(&sql, "SELECT count() FROM system.databases WHERE name = ", c->database, '\'', "", NULL, 0, "");
    if (rc == GW_OK && (rc = count_of(c, sql.ptr, "system", &n, err, errlen)) == GW_OK && n == 0) {
        snprintf(err, errlen, "clickhouse: no database '%s' at %s (run: llmgw catalog load --engine clickhouse)",
                 c->database, c->shown);
        rc = GW_ENOTFOUND;
    }
    if (rc == GW_OK && c->cluster != NULL &&
        (rc = build_sql(&sql, "SELECT count() FROM system.clusters WHERE cluster = ", c->cluster, '\'', "", NULL, 0,
                        "")) == GW_OK &&
        (rc = count_of(c, sql.ptr, "system", &n, err, errlen)) == GW_OK && n == 0) {
        snprintf(err, errlen, "clickhouse: the server at %s has no cluster '%s' in remote_servers", c->shown,
                 c->cluster);
        rc = GW_ENOTFOUND;
    }
    gw_buf_free(&sql);
    return rc;
}

/* ---- open / close ---- */

static void ch_close(gw_engine_t *e)
{
    ch_t *c = (ch_t *)e;
    for (size_t i = 0; i < c->n_idle; i++)
        curl_easy_cleanup(c->idle[i]);
    gw_free(c->idle);
    gw_free(c->url);
    gw_free(c->shown);
    gw_free(c->database);
    gw_free(c->user);
    gw_free(c->password);
    gw_free(c->cluster);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    gw_free(c);
    curl_global_cleanup();
}

static const gw_engine_ops_t ch_ops = {"clickhouse", ch_describe, ch_query, ch_close};

/* url without "user:password@" (messages must not carry a password). */
static char *url_for_messages(const char *url, int *oom)
{
    const char *host = strstr(url, "://");
    char *d = NULL;
    host = host != NULL ? host + 3 : url;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at != NULL && (slash == NULL || at < slash)) {
        size_t pre = (size_t)(host - url), rest = strlen(at + 1);
        if ((d = gw_malloc(pre + rest + 1)) != NULL) {
            memcpy(d, url, pre);
            memcpy(d + pre, at + 1, rest + 1);
        }
    } else {
        d = gw_strdup(url);
    }
    if (d == NULL)
        *oom = 1;
    return d;
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d = s != NULL ? gw_strdup(s) : NULL;
    if (s != NULL && d == NULL)
        *oom = 1;
    return d;
}

/* Allocates the engine with the options' defaults filled in. */
static ch_t *ch_new(const gw_clickhouse_opts_t *o)
{
    int oom = 0;
    ch_t *c = gw_calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->base.ops = &ch_ops;
    c->o = *o;
    if (c->o.timeout_ms == 0)
        c->o.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (c->o.connect_timeout_ms == 0)
        c->o.connect_timeout_ms = 2000;
    if (c->o.max_rows_to_read == 0)
        c->o.max_rows_to_read = DEFAULT_MAX_READ;
    if (c->o.max_memory_usage == 0)
        c->o.max_memory_usage = DEFAULT_MAX_MEMORY;
    if (c->o.max_response_bytes == 0)
        c->o.max_response_bytes = DEFAULT_MAX_RESPONSE;
    if (c->o.pool_size == 0)
        c->o.pool_size = DEFAULT_POOL;
    c->url = dup_or_null(o->url, &oom);
    c->shown = url_for_messages(o->url, &oom);
    c->database = dup_or_null(o->database != NULL ? o->database : GW_CATALOG_DATASET, &oom);
    c->user = dup_or_null(o->user, &oom);
    c->password = dup_or_null(o->user != NULL ? (o->password != NULL ? o->password : "") : NULL, &oom);
    c->cluster = dup_or_null(o->cluster, &oom);
    c->idle = gw_calloc(c->o.pool_size, sizeof *c->idle);
    c->tag = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid() << 4 ^ (uint64_t)(uintptr_t)c;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (oom || c->idle == NULL) {
        ch_close(&c->base);
        return NULL;
    }
    return c;
}

gw_err_t gw_engine_clickhouse_open(const gw_clickhouse_opts_t *o, gw_engine_t **out, char *err, size_t errlen)
{
    gw_buf_t probe;
    *out = NULL;
    gw_buf_init(&probe, 4096);
    if (o == NULL || gw_ch_url_init(&probe, o->url) != GW_OK) {
        snprintf(err, errlen, "clickhouse: the url must be http(s)://host:port without a query string");
        gw_buf_free(&probe);
        return GW_EINVAL;
    }
    gw_buf_free(&probe);
    ch_t *c = ch_new(o);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    gw_err_t rc = ch_probe(c, err, errlen);
    if (rc != GW_OK) {
        ch_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return GW_OK;
}

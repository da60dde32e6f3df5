/* engine_duckdb.c - the DuckDB engine: a catalog file attached read-only as
 * "retail" to an in-memory instance, then a locked, no-external-access
 * configuration (platform-duckdb.md 0, 3). Only SELECT ever runs, so the
 * empty in-memory database cannot be written either.
 *
 * Each query gets its own connection: check hook (the SQL guard) -> exactly
 * one statement whose prepared type is SELECT -> streaming execution
 * (duckdb_pending_prepared_streaming, so a row cap stops the work early) ->
 * chunks and validity masks turned into typed cells. A watchdog thread
 * interrupts the connection when the timeout passes. This file uses the
 * deprecated streaming entry points on purpose (platform-duckdb.md 7);
 * duckdb_dl.h declares them (it undefines DUCKDB_API_NO_DEPRECATED).
 */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "duckdb_dl.h"

/* the name the catalog is attached under; the guard's catalog has it too */
#define GW_DUCKDB_CATALOG "retail"

#define SCRATCH 96 /* bytes per cell for dates, times, big numbers */

typedef struct duck {
    gw_engine_t base;
    duckdb_database db;
    gw_engine_check_cb check;
    void *check_data;
} duck_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- watchdog ---- */

typedef struct watchdog {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, done, fired;
    duckdb_connection con;
    struct timespec deadline;
} watchdog_t;

static void ts_add_ms(struct timespec *ts, uint32_t ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits for the deadline, then interrupts the connection every 50 ms until
 * the query ends (an interrupt that lands between two stages of a query
 * could otherwise be lost). */
static void *watchdog_main(void *arg)
{
    watchdog_t *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        int rc = pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline);
        if (rc == ETIMEDOUT && !w->done) {
            w->fired = 1;
            duckdb_interrupt(w->con);
            ts_add_ms(&w->deadline, 50);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watchdog_start(watchdog_t *w, duckdb_connection con, uint32_t timeout_ms)
{
    pthread_condattr_t ca;
    memset(w, 0, sizeof *w);
    if (timeout_ms == 0)
        return;
    w->con = con;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    clock_gettime(CLOCK_MONOTONIC, &w->deadline);
    ts_add_ms(&w->deadline, timeout_ms);
    w->running = pthread_create(&w->th, NULL, watchdog_main, w) == 0;
    if (!w->running) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
}

/* Stops the watchdog; returns 1 when it fired. */
static int watchdog_stop(watchdog_t *w)
{
    if (!w->running)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->running = 0;
    return w->fired;
}

/* ---- types and cells ---- */

typedef struct colinfo {
    duckdb_type type; /* logical type id */
    duckdb_type phys; /* DECIMAL: its storage type */
    uint8_t scale;
    char name[32];    /* "DECIMAL(10,2)" */
} colinfo_t;

static const char *simple_type_name(duckdb_type t)
{
    switch (t) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
    case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
    case DUCKDB_TYPE_UUID: return "UUID";
    default: return NULL;
    }
}

static const char *other_type_name(duckdb_type t)
{
    switch (t) {
    case DUCKDB_TYPE_LIST: return "LIST";
    case DUCKDB_TYPE_STRUCT: return "STRUCT";
    case DUCKDB_TYPE_MAP: return "MAP";
    case DUCKDB_TYPE_ARRAY: return "ARRAY";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_ENUM: return "ENUM";
    case DUCKDB_TYPE_UNION: return "UNION";
    case DUCKDB_TYPE_BIT: return "BIT";
    case DUCKDB_TYPE_TIME_TZ: return "TIME WITH TIME ZONE";
    default: return "an unsupported type";
    }
}

/* Fills ci from a logical type; GW_EUNSUPPORTED (with a message) for a
 * type that has no JSON form here. */
static gw_err_t colinfo_init(colinfo_t *ci, duckdb_logical_type lt, const char *col, gw_query_info_t *info)
{
    ci->type = duckdb_get_type_id(lt);
    if (ci->type == DUCKDB_TYPE_DECIMAL) {
        ci->phys = duckdb_decimal_internal_type(lt);
        ci->scale = duckdb_decimal_scale(lt);
        snprintf(ci->name, sizeof ci->name, "DECIMAL(%u,%u)", (unsigned)duckdb_decimal_width(lt),
                 (unsigned)ci->scale);
        return GW_OK;
    }
    const char *n = simple_type_name(ci->type);
    if (n == NULL) {
        snprintf(info->message, sizeof info->message,
                 "result column '%s' has type %s, which has no JSON form here; cast it to VARCHAR", col,
                 other_type_name(ci->type));
        return GW_EUNSUPPORTED;
    }
    snprintf(ci->name, sizeof ci->name, "%s", n);
    return GW_OK;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static size_t fmt_date(char *s, size_t cap, int64_t days)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    return (size_t)snprintf(s, cap, "%04" PRId64 "-%02u-%02u", y, m, d);
}

/* HH:MM:SS, then .ffffff when the microseconds aren't zero. */
static size_t fmt_time(char *s, size_t cap, int64_t us)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    int n = snprintf(s, cap, "%02" PRId64 ":%02" PRId64 ":%02" PRId64, secs / 3600, secs / 60 % 60, secs % 60);
    if (frac != 0)
        n += snprintf(s + n, cap - (size_t)n, ".%06" PRId64, frac);
    return (size_t)n;
}

/* DuckDB's 'infinity' and '-infinity' timestamps, in any unit. */
static int infinite(int64_t v)
{
    return v == INT64_MAX || v == -INT64_MAX;
}

static size_t fmt_timestamp(char *s, size_t cap, int64_t us, int tz)
{
    if (infinite(us))
        return (size_t)snprintf(s, cap, "%s", us > 0 ? "infinity" : "-infinity");
    int64_t day = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        day--;
    }
    size_t n = fmt_date(s, cap, day);
    s[n++] = ' ';
    n += fmt_time(s + n, cap - n, rem);
    if (tz)
        n += (size_t)snprintf(s + n, cap - n, "+00");
    return n;
}

static size_t fmt_interval(char *s, size_t cap, const duckdb_interval *iv)
{
    int n = 0, years = iv->months / 12, months = iv->months % 12;
    if (years != 0)
        n += snprintf(s + n, cap - (size_t)n, "%d year%s ", years, years == 1 || years == -1 ? "" : "s");
    if (months != 0)
        n += snprintf(s + n, cap - (size_t)n, "%d month%s ", months, months == 1 || months == -1 ? "" : "s");
    if (iv->days != 0)
        n += snprintf(s + n, cap - (size_t)n, "%d day%s ", iv->days, iv->days == 1 || iv->days == -1 ? "" : "s");
    if (iv->micros != 0 || n == 0) {
        int64_t us = iv->micros;
        if (us < 0) {
            s[n++] = '-';
            us = -us;
        }
        n += (int)fmt_time(s + n, cap - (size_t)n, us);
    } else {
        n--; /* the trailing space */
    }
    return (size_t)n;
}

static size_t fmt_uuid(char *s, size_t cap, const duckdb_hugeint *h)
{
    uint64_t hi = (uint64_t)h->upper ^ 0x8000000000000000ULL, lo = h->lower;
    return (size_t)snprintf(s, cap, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
                            hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48, lo & (uint64_t)0xFFFFFFFFFFFF);
}

/* A 128-bit magnitude as decimal text with `scale` digits after the point. */
static size_t fmt_u128(char *s, unsigned __int128 v, int neg, unsigned scale)
{
    char rev[48];
    size_t n = 0, at = 0;
    do {
        rev[n++] = (char)('0' + (unsigned)(v % 10));
        v /= 10;
    } while (v != 0);
    while (n <= scale)
        rev[n++] = '0';
    if (neg)
        s[at++] = '-';
    for (size_t k = n; k-- > 0;) {
        s[at++] = rev[k];
        if (k == scale && scale > 0)
            s[at++] = '.';
    }
    return at;
}

static void set_text(gw_cell_t *c, const char *p, size_t n)
{
    c->kind = GW_CELL_TEXT;
    c->v.text.ptr = p;
    c->v.text.len = n;
}

/* A signed 128-bit value: an INT/DECIMAL cell when it fits int64, else an
 * exact NUMBER literal in scratch. */
static void cell_i128(gw_cell_t *c, __int128 v, int is_decimal, uint8_t scale, char *scratch)
{
    if (v >= INT64_MIN && v <= INT64_MAX) {
        if (is_decimal) {
            c->kind = GW_CELL_DECIMAL;
            c->v.dec.unscaled = (int64_t)v;
            c->v.dec.scale = scale;
        } else {
            c->kind = GW_CELL_INT;
            c->v.i = (int64_t)v;
        }
        return;
    }
    unsigned __int128 mag = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    c->kind = GW_CELL_NUMBER;
    c->v.text.ptr = scratch;
    c->v.text.len = fmt_u128(scratch, mag, v < 0, is_decimal ? scale : 0);
}

static __int128 hugeint_value(const duckdb_hugeint *h)
{
    return (__int128)(((unsigned __int128)(uint64_t)h->upper << 64) | h->lower);
}

static void cell_decimal(const colinfo_t *ci, const void *data, idx_t row, char *scratch, gw_cell_t *c)
{
    __int128 v;
    switch (ci->phys) {
    case DUCKDB_TYPE_SMALLINT: v = ((const int16_t *)data)[row]; break;
    case DUCKDB_TYPE_INTEGER: v = ((const int32_t *)data)[row]; break;
    case DUCKDB_TYPE_BIGINT: v = ((const int64_t *)data)[row]; break;
    default: v = hugeint_value(&((const duckdb_hugeint *)data)[row]); break;
    }
    cell_i128(c, v, 1, ci->scale, scratch);
}

static void cell_temporal(const colinfo_t *ci, const void *data, idx_t row, char *scratch, gw_cell_t *c)
{
    int64_t v = ((const int64_t *)data)[row];
    size_t n;
    switch (ci->type) {
    case DUCKDB_TYPE_DATE: {
        int32_t d = ((const int32_t *)data)[row];
        n = d == INT32_MAX || d == -INT32_MAX ? (size_t)snprintf(scratch, SCRATCH, "%s", d > 0 ? "infinity" : "-infinity")
                                              : fmt_date(scratch, SCRATCH, d);
        break;
    }
    case DUCKDB_TYPE_TIME: n = fmt_time(scratch, SCRATCH, v); break;
    case DUCKDB_TYPE_TIMESTAMP_S: n = fmt_timestamp(scratch, SCRATCH, infinite(v) ? v : v * 1000000, 0); break;
    case DUCKDB_TYPE_TIMESTAMP_MS: n = fmt_timestamp(scratch, SCRATCH, infinite(v) ? v : v * 1000, 0); break;
    case DUCKDB_TYPE_TIMESTAMP_NS: n = fmt_timestamp(scratch, SCRATCH, infinite(v) ? v : v / 1000, 0); break;
    case DUCKDB_TYPE_TIMESTAMP_TZ: n = fmt_timestamp(scratch, SCRATCH, v, 1); break;
    case DUCKDB_TYPE_INTERVAL: n = fmt_interval(scratch, SCRATCH, &((const duckdb_interval *)data)[row]); break;
    case DUCKDB_TYPE_UUID: n = fmt_uuid(scratch, SCRATCH, &((const duckdb_hugeint *)data)[row]); break;
    default: n = fmt_timestamp(scratch, SCRATCH, v, 0); break;
    }
    set_text(c, scratch, n);
}

static void cell_of(const colinfo_t *ci, void *data, idx_t row, char *scratch, gw_cell_t *c)
{
    switch (ci->type) {
    case DUCKDB_TYPE_BOOLEAN: c->kind = GW_CELL_BOOL; c->v.b = ((const bool *)data)[row]; return;
    case DUCKDB_TYPE_TINYINT: cell_i128(c, ((const int8_t *)data)[row], 0, 0, scratch); return;
    case DUCKDB_TYPE_SMALLINT: cell_i128(c, ((const int16_t *)data)[row], 0, 0, scratch); return;
    case DUCKDB_TYPE_INTEGER: cell_i128(c, ((const int32_t *)data)[row], 0, 0, scratch); return;
    case DUCKDB_TYPE_BIGINT: cell_i128(c, ((const int64_t *)data)[row], 0, 0, scratch); return;
    case DUCKDB_TYPE_UTINYINT: cell_i128(c, ((const uint8_t *)data)[row], 0, 0, scratch); return;
    case DUCKDB_TYPE_USMALLINT: cell_i128(c, ((const uint16_t *)data)[row], 0, 0, scratch); return;
    case DUCKDB_TYPE_UINTEGER: cell_i128(c, ((const uint32_t *)data)[row], 0, 0, scratch); return;
    case DUCKDB_TYPE_UBIGINT: cell_i128(c, ((const uint64_t *)data)[row], 0, 0, scratch); return;
    case DUCKDB_TYPE_HUGEINT:
        cell_i128(c, hugeint_value(&((const duckdb_hugeint *)data)[row]), 0, 0, scratch);
        return;
    case DUCKDB_TYPE_UHUGEINT: {
        const duckdb_uhugeint *u = &((const duckdb_uhugeint *)data)[row];
        unsigned __int128 v = ((unsigned __int128)u->upper << 64) | u->lower;
        if (v <= INT64_MAX) {
            cell_i128(c, (__int128)v, 0, 0, scratch);
        } else {
            c->kind = GW_CELL_NUMBER;
            c->v.text.ptr = scratch;
            c->v.text.len = fmt_u128(scratch, v, 0, 0);
        }
        return;
    }
    case DUCKDB_TYPE_FLOAT: c->kind = GW_CELL_DOUBLE; c->v.d = ((const float *)data)[row]; return;
    case DUCKDB_TYPE_DOUBLE: c->kind = GW_CELL_DOUBLE; c->v.d = ((const double *)data)[row]; return;
    case DUCKDB_TYPE_DECIMAL: cell_decimal(ci, data, row, scratch, c); return;
    case DUCKDB_TYPE_VARCHAR: {
        duckdb_string_t *s = &((duckdb_string_t *)data)[row];
        set_text(c, duckdb_string_t_data(s), duckdb_string_t_length(*s));
        return;
    }
    default: cell_temporal(ci, data, row, scratch, c); return;
    }
}

/* ---- one query ---- */

typedef struct query {
    duckdb_connection con;
    duckdb_extracted_statements ex;
    duckdb_prepared_statement ps;
    duckdb_pending_result pending;
    duckdb_result res;
    int has_res;
    watchdog_t wd;
} query_t;

static gw_err_t fail(gw_query_info_t *info, gw_err_t rc, int code, const char *msg)
{
    snprintf(info->message, sizeof info->message, "%s", msg != NULL ? msg : "query failed");
    info->engine_code = code;
    return rc;
}

/* The category of an error known only by its text ("Binder Error: ..."):
 * duckdb_prepare_error and duckdb_extract_statements_error carry no type. */
static int error_code_of(const char *msg)
{
    static const struct {
        const char *prefix;
        int code;
    } known[] = {
        {"Permission Error", DUCKDB_ERROR_PERMISSION}, {"Binder Error", DUCKDB_ERROR_BINDER},
        {"Catalog Error", DUCKDB_ERROR_CATALOG},       {"Parser Error", DUCKDB_ERROR_PARSER},
        {"Invalid Input Error", DUCKDB_ERROR_INVALID_INPUT}, {"IO Error", DUCKDB_ERROR_IO},
        {"Conversion Error", DUCKDB_ERROR_CONVERSION}, {"INTERRUPT Error", DUCKDB_ERROR_INTERRUPT},
    };
    for (size_t i = 0; msg != NULL && i < sizeof known / sizeof known[0]; i++)
        if (strncmp(msg, known[i].prefix, strlen(known[i].prefix)) == 0)
            return known[i].code;
    return 0;
}

/* An engine error; a permission error (the no-external-access config at
 * work) is a refusal. */
static gw_err_t engine_failure(gw_query_info_t *info, int code, const char *msg)
{
    return fail(info, code == DUCKDB_ERROR_PERMISSION ? GW_EDENIED : GW_EUPSTREAM, code, msg);
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (unsigned char)c >= 0x80;
}

/* The name of a call to one of the functions below found in sql, or NULL.
 * enable_logging(storage := 'file', ...) passes as a SELECT yet breaks
 * every later query and aborts the process at close (platform-duckdb.md
 * 3); query()/query_table()/json_execute_serialized_sql() would run SQL
 * this check never saw. The SQL guard is the real wall (it walks the plan);
 * this textual look is the engine's own last line, so it errs on the side
 * of refusing: `name (` anywhere outside an identifier, quoted or not. */
static const char *forbidden_call(const char *sql)
{
    static const char *const names[] = {"enable_logging", "disable_logging", "truncate_duckdb_logs", "query",
                                        "query_table", "json_execute_serialized_sql"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        for (const char *p = sql; (p = strcasestr(p, names[i])) != NULL; p += n) {
            const char *after = p + n;
            if (p > sql && ident_char(p[-1]))
                continue;
            if (*after == '"')
                after++;
            while (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\r')
                after++;
            if (*after == '(')
                return names[i];
        }
    }
    return NULL;
}

/* The built-in check: exactly one statement, it is a SELECT, and it calls
 * none of the functions of forbidden_call. */
static gw_err_t prepare_select(query_t *q, const char *sql, gw_query_info_t *info)
{
    const char *bad = forbidden_call(sql);
    if (bad != NULL) {
        char m[128];
        snprintf(m, sizeof m, "the function %s() is not allowed", bad);
        return fail(info, GW_EDENIED, 0, m);
    }
    idx_t n = duckdb_extract_statements(q->con, sql, &q->ex);
    if (n == 0) {
        const char *e = duckdb_extract_statements_error(q->ex);
        if (e == NULL)
            return fail(info, GW_EDENIED, 0, "empty query: expected one SELECT statement");
        return engine_failure(info, error_code_of(e) ? error_code_of(e) : DUCKDB_ERROR_PARSER, e);
    }
    if (n != 1) {
        char m[96];
        snprintf(m, sizeof m, "only one statement is allowed, found %llu", (unsigned long long)n);
        return fail(info, GW_EDENIED, 0, m);
    }
    if (duckdb_prepare_extracted_statement(q->con, q->ex, 0, &q->ps) != DuckDBSuccess) {
        const char *e = duckdb_prepare_error(q->ps);
        return engine_failure(info, error_code_of(e), e);
    }
    if (duckdb_prepared_statement_type(q->ps) != DUCKDB_STATEMENT_TYPE_SELECT)
        return fail(info, GW_EDENIED, 0, "only a read-only SELECT statement is allowed");
    return GW_OK;
}

static gw_err_t result_failure(query_t *q, gw_query_info_t *info)
{
    const char *e = duckdb_result_error(&q->res);
    return engine_failure(info, (int)duckdb_result_error_type(&q->res), e);
}

static gw_err_t execute(query_t *q, gw_query_info_t *info)
{
    if (duckdb_pending_prepared_streaming(q->ps, &q->pending) != DuckDBSuccess) {
        const char *e = duckdb_pending_error(q->pending);
        return engine_failure(info, error_code_of(e), e);
    }
    duckdb_state st = duckdb_execute_pending(q->pending, &q->res);
    q->has_res = 1;
    return st == DuckDBSuccess ? GW_OK : result_failure(q, info);
}

typedef struct rowbuf {
    idx_t n;
    colinfo_t *ci;
    gw_column_t *cols;
    gw_cell_t *cells;
    char *scratch;
    void **data;
    uint64_t **valid;
} rowbuf_t;

static void rowbuf_free(rowbuf_t *b)
{
    gw_free(b->ci);
    gw_free(b->cols);
    gw_free(b->cells);
    gw_free(b->scratch);
    gw_free(b->data);
    gw_free(b->valid);
}

static gw_err_t rowbuf_init(rowbuf_t *b, duckdb_result *res, gw_query_info_t *info)
{
    idx_t n = duckdb_column_count(res), k = n ? n : 1;
    memset(b, 0, sizeof *b);
    b->n = n;
    b->ci = gw_calloc(k, sizeof *b->ci);
    b->cols = gw_calloc(k, sizeof *b->cols);
    b->cells = gw_calloc(k, sizeof *b->cells);
    b->scratch = gw_malloc(k * SCRATCH);
    b->data = gw_calloc(k, sizeof *b->data);
    b->valid = gw_calloc(k, sizeof *b->valid);
    if (!b->ci || !b->cols || !b->cells || !b->scratch || !b->data || !b->valid)
        return fail(info, GW_ENOMEM, 0, "out of memory");
    for (idx_t c = 0; c < n; c++) {
        duckdb_logical_type lt = duckdb_column_logical_type(res, c);
        const char *name = duckdb_column_name(res, c);
        gw_err_t rc = colinfo_init(&b->ci[c], lt, name != NULL ? name : "?", info);
        duckdb_destroy_logical_type(&lt);
        if (rc != GW_OK)
            return rc;
        b->cols[c].name = (char *)(name != NULL ? name : "");
        b->cols[c].type = b->ci[c].name;
    }
    return GW_OK;
}

/* Sends the rows of one chunk; sets *stop when the cap is reached (and
 * there was one more row: truncated) or the sink refused. */
static gw_err_t send_chunk(rowbuf_t *b, duckdb_data_chunk ch, const gw_query_opts_t *o, const gw_row_sink_t *sink,
                           gw_query_info_t *info, int *stop)
{
    idx_t rows = duckdb_data_chunk_get_size(ch);
    for (idx_t c = 0; c < b->n; c++) {
        duckdb_vector v = duckdb_data_chunk_get_vector(ch, c);
        b->data[c] = duckdb_vector_get_data(v);
        b->valid[c] = duckdb_vector_get_validity(v);
    }
    for (idx_t r = 0; r < rows; r++) {
        if (o->max_rows != 0 && info->rows == o->max_rows) {
            info->truncated = true;
            *stop = 1;
            return GW_OK;
        }
        for (idx_t c = 0; c < b->n; c++) {
            if (b->valid[c] != NULL && !duckdb_validity_row_is_valid(b->valid[c], r))
                b->cells[c].kind = GW_CELL_NULL;
            else
                cell_of(&b->ci[c], b->data[c], r, b->scratch + c * SCRATCH, &b->cells[c]);
        }
        gw_err_t rc = sink->row_cb(sink->data, b->cells, b->n);
        if (rc != GW_OK) {
            *stop = 1;
            return fail(info, rc, 0, "the row consumer stopped the query");
        }
        info->rows++;
    }
    return GW_OK;
}

static gw_err_t stream_rows(query_t *q, const gw_query_opts_t *o, const gw_row_sink_t *sink, gw_query_info_t *info)
{
    rowbuf_t b;
    int stop = 0;
    gw_err_t rc = rowbuf_init(&b, &q->res, info);
    if (rc == GW_OK && (rc = sink->columns_cb(sink->data, b.cols, b.n)) != GW_OK)
        fail(info, rc, 0, "the row consumer refused the columns");
    while (rc == GW_OK && !stop) {
        duckdb_data_chunk ch = duckdb_fetch_chunk(q->res);
        if (ch == NULL)
            break;
        if (duckdb_data_chunk_get_size(ch) == 0)
            stop = 1;
        else
            rc = send_chunk(&b, ch, o, sink, info, &stop);
        duckdb_destroy_data_chunk(&ch);
    }
    if (rc == GW_OK && !info->truncated && duckdb_result_error(&q->res) != NULL)
        rc = result_failure(q, info);
    rowbuf_free(&b);
    return rc;
}

static void query_cleanup(query_t *q)
{
    if (q->has_res)
        duckdb_destroy_result(&q->res);
    if (q->pending != NULL)
        duckdb_destroy_pending(&q->pending);
    if (q->ps != NULL)
        duckdb_destroy_prepare(&q->ps);
    if (q->ex != NULL)
        duckdb_destroy_extracted(&q->ex);
    if (q->con != NULL)
        duckdb_disconnect(&q->con);
}

/* The text to run: the check hook's output, or a NUL-terminated copy. */
static gw_err_t sql_text(gw_engine_check_cb check, void *check_data, const char *sql, size_t len,
                         const gw_query_opts_t *o, gw_buf_t *out, gw_query_info_t *info)
{
    if (memchr(sql, '\0', len) != NULL)
        return fail(info, GW_EDENIED, 0, "the query contains a NUL byte");
    if (check == NULL) {
        gw_err_t rc = gw_buf_add(out, sql, len);
        return rc == GW_OK ? GW_OK : fail(info, rc, 0, "query too long");
    }
    /* the SQL guard hook: it decides, and may add the row cap as a LIMIT */
    gw_err_t rc = check(check_data, sql, len, o->max_rows ? (int64_t)o->max_rows + 1 : 0, out,
                           info->message, sizeof info->message);
    if (rc != GW_OK && info->message[0] == '\0')
        snprintf(info->message, sizeof info->message, "refused by the SQL guard");
    if (rc == GW_OK && out->ptr == NULL)
        rc = gw_buf_add(out, "", 0); /* a hook that wrote nothing: an empty query */
    return rc;
}

/* A new connection's default database is the in-memory one: switch it to
 * the attached catalog (a local setting, allowed under the lock). */
static gw_err_t use_catalog(duckdb_connection con)
{
    duckdb_result res;
    gw_err_t rc = duckdb_query(con, "USE " GW_DUCKDB_CATALOG, &res) == DuckDBSuccess ? GW_OK : GW_EIO;
    duckdb_destroy_result(&res);
    return rc;
}

/* A query, checked by `check` (NULL: only the built-in one-SELECT check). */
static gw_err_t run_query(duck_t *d, gw_engine_check_cb check, const char *sql, size_t len,
                          const gw_query_opts_t *o, const gw_row_sink_t *sink, gw_query_info_t *info)
{
    query_t q;
    gw_buf_t text;
    double t0 = now_ms();
    memset(&q, 0, sizeof q);
    gw_buf_init(&text, 1u << 20);
    gw_err_t rc = sql_text(check, d->check_data, sql, len, o, &text, info);
    if (rc != GW_OK)
        goto out;
    if (duckdb_connect(d->db, &q.con) != DuckDBSuccess || use_catalog(q.con) != GW_OK) {
        rc = fail(info, GW_EIO, 0, "duckdb: cannot open a connection");
        goto out;
    }
    watchdog_start(&q.wd, q.con, o->timeout_ms);
    if ((rc = prepare_select(&q, text.ptr, info)) == GW_OK && (rc = execute(&q, info)) == GW_OK)
        rc = stream_rows(&q, o, sink, info);
    if (watchdog_stop(&q.wd) && rc != GW_OK && info->engine_code == DUCKDB_ERROR_INTERRUPT) {
        snprintf(info->message, sizeof info->message, "query timed out after %u ms", (unsigned)o->timeout_ms);
        rc = GW_ETIMEOUT;
    }
out:
    query_cleanup(&q);
    gw_buf_free(&text);
    info->ms = now_ms() - t0;
    return rc;
}

static gw_err_t duck_query(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                           const gw_row_sink_t *sink, gw_query_info_t *info)
{
    duck_t *d = (duck_t *)e;
    return run_query(d, d->check, sql, len, o, sink, info);
}

/* ---- describe ---- */

/* Runs an internal query and hands each row's first two columns to fn as
 * text (NULL for SQL NULL; integers are printed). */
typedef gw_err_t (*row2_fn)(void *data, const char *a, const char *b);

typedef struct internal {
    row2_fn fn;
    void *data;
    char a[4096], b[4096];
} internal_t;

static void cell_text(const gw_cell_t *c, char *dst, size_t cap)
{
    gw_buf_t tmp;
    dst[0] = '\0';
    if (c->kind == GW_CELL_TEXT) {
        snprintf(dst, cap, "%.*s", (int)c->v.text.len, c->v.text.ptr);
        return;
    }
    gw_buf_init(&tmp, cap - 1);
    if (gw_cell_to_json(c, &tmp) == GW_OK && tmp.ptr != NULL)
        snprintf(dst, cap, "%s", tmp.ptr);
    gw_buf_free(&tmp);
}

static gw_err_t internal_columns(void *data, const gw_column_t *cols, size_t n)
{
    return GW_OK;
}

static gw_err_t internal_row(void *data, const gw_cell_t *cells, size_t n)
{
    internal_t *it = data;
    if (n > 0)
        cell_text(&cells[0], it->a, sizeof it->a);
    if (n > 1)
        cell_text(&cells[1], it->b, sizeof it->b);
    return it->fn(it->data, n > 0 && cells[0].kind != GW_CELL_NULL ? it->a : NULL,
                  n > 1 && cells[1].kind != GW_CELL_NULL ? it->b : NULL);
}

static gw_err_t run_internal(duck_t *d, const char *sql, row2_fn fn, void *data, char *err, size_t errlen)
{
    internal_t *it = gw_calloc(1, sizeof *it);
    gw_row_sink_t sink = {internal_columns, internal_row, it};
    gw_query_opts_t o = {0, 0};
    gw_query_info_t info;
    if (it == NULL)
        return GW_ENOMEM;
    it->fn = fn;
    it->data = data;
    memset(&info, 0, sizeof info);
    /* our own catalog queries: only the built-in check */
    gw_err_t rc = run_query(d, NULL, sql, strlen(sql), &o, &sink, &info);
    if (rc != GW_OK)
        snprintf(err, errlen, "describe: %s", info.message);
    gw_free(it);
    return rc;
}

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist_t;

static gw_err_t strlist_push(strlist_t *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **p = gw_realloc(l->v, cap * sizeof *p);
        if (p == NULL)
            return GW_ENOMEM;
        l->v = p;
        l->cap = cap;
    }
    if ((l->v[l->n] = gw_strdup(s != NULL ? s : "")) == NULL)
        return GW_ENOMEM;
    l->n++;
    return GW_OK;
}

static void strlist_free(strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        gw_free(l->v[i]);
    gw_free(l->v);
    memset(l, 0, sizeof *l);
}

static gw_err_t push_a(void *data, const char *a, const char *b)
{
    return strlist_push(data, a);
}

static gw_err_t push_ab(void *data, const char *a, const char *b)
{
    gw_err_t rc = strlist_push(data, a);
    return rc == GW_OK ? strlist_push(data, b) : rc;
}

/* Appends s quoted: q = '"' for an identifier, '\'' for a literal. */
static gw_err_t add_quoted(gw_buf_t *b, const char *s, char q)
{
    gw_err_t rc = gw_buf_add(b, &q, 1);
    for (; rc == GW_OK && *s != '\0'; s++) {
        if (*s == q)
            rc = gw_buf_add(b, &q, 1); /* doubled */
        if (rc == GW_OK)
            rc = gw_buf_add(b, s, 1);
    }
    return rc == GW_OK ? gw_buf_add(b, &q, 1) : rc;
}

/* Builds "<pre><quoted a><mid><quoted b><post>" (b may be NULL). */
static gw_err_t build_sql(gw_buf_t *sql, const char *pre, const char *a, char qa, const char *mid, const char *b,
                          char qb, const char *post)
{
    gw_buf_reset(sql);
    gw_err_t rc = gw_buf_adds(sql, pre);
    if (rc == GW_OK)
        rc = add_quoted(sql, a, qa);
    if (rc == GW_OK && b != NULL && (rc = gw_buf_adds(sql, mid)) == GW_OK)
        rc = add_quoted(sql, b, qb);
    return rc == GW_OK ? gw_buf_adds(sql, post) : rc;
}

static gw_err_t count_of(duck_t *d, const char *sql, uint64_t *n, char *err, size_t errlen)
{
    strlist_t l = {0};
    gw_err_t rc = run_internal(d, sql, push_a, &l, err, errlen);
    *n = rc == GW_OK && l.n == 1 ? strtoull(l.v[0], NULL, 10) : 0;
    strlist_free(&l);
    return rc;
}

/* Distinct values of a string column when there are at most max. */
static gw_err_t describe_values(duck_t *d, const char *table, gw_schema_column_t *c, size_t max, char *err,
                                size_t errlen)
{
    gw_buf_t sql;
    strlist_t l = {0};
    uint64_t n = 0;
    char post[96];
    gw_buf_init(&sql, 16384);
    snprintf(post, sizeof post, " LIMIT 100000)");
    gw_err_t rc = build_sql(&sql, "SELECT count(DISTINCT v) FROM (SELECT ", c->name, '"', " AS v FROM main.",
                            table, '"', post);
    if (rc == GW_OK)
        rc = count_of(d, sql.ptr, &n, err, errlen);
    if (rc == GW_OK && n > max)
        c->high_cardinality = true;
    snprintf(post, sizeof post, " IS NOT NULL ORDER BY 1 LIMIT %zu", max + 1);
    if (rc == GW_OK && !c->high_cardinality &&
        (rc = build_sql(&sql, "SELECT DISTINCT v FROM (SELECT ", c->name, '"', " AS v FROM main.", table, '"',
                        ") WHERE v")) == GW_OK &&
        (rc = gw_buf_adds(&sql, post)) == GW_OK &&
        (rc = run_internal(d, sql.ptr, push_a, &l, err, errlen)) == GW_OK) {
        if (l.n > max) {
            c->high_cardinality = true;
            strlist_free(&l);
        }
        c->values = l.v;
        c->n_values = l.n;
        l.v = NULL;
        l.n = 0;
    }
    strlist_free(&l);
    gw_buf_free(&sql);
    return rc;
}

static gw_err_t describe_table(duck_t *d, gw_schema_table_t *t, size_t max, char *err, size_t errlen)
{
    gw_buf_t sql;
    strlist_t cols = {0};
    gw_buf_init(&sql, 16384);
    gw_err_t rc = build_sql(&sql,
                            "SELECT column_name, data_type FROM duckdb_columns()"
                            " WHERE database_name = '" GW_DUCKDB_CATALOG "' AND schema_name = 'main'"
                            " AND table_name = ", t->name, '\'', "", NULL, 0, " ORDER BY column_index");
    if (rc == GW_OK)
        rc = run_internal(d, sql.ptr, push_ab, &cols, err, errlen);
    if (rc == GW_OK && (t->columns = gw_calloc(cols.n / 2 + 1, sizeof *t->columns)) == NULL)
        rc = GW_ENOMEM;
    for (size_t i = 0; rc == GW_OK && i + 1 < cols.n; i += 2) {
        gw_schema_column_t *c = &t->columns[t->n_columns++];
        c->name = cols.v[i];
        c->type = cols.v[i + 1];
        cols.v[i] = cols.v[i + 1] = NULL;
        if (strcmp(c->type, "VARCHAR") == 0)
            rc = describe_values(d, t->name, c, max, err, errlen);
    }
    if (rc == GW_OK && (rc = build_sql(&sql, "SELECT count(*) FROM main.", t->name, '"', "", NULL, 0, "")) == GW_OK)
        rc = count_of(d, sql.ptr, &t->row_count, err, errlen);
    strlist_free(&cols);
    gw_buf_free(&sql);
    return rc;
}

static gw_err_t duck_describe(gw_engine_t *e, size_t max, gw_schema_t **out, char *err, size_t errlen)
{
    duck_t *d = (duck_t *)e;
    strlist_t names = {0};
    gw_schema_t *s = gw_calloc(1, sizeof *s);
    gw_err_t rc = GW_ENOMEM;
    if (s == NULL || (s->engine = gw_strdup("duckdb")) == NULL)
        goto out;
    rc = run_internal(d,
                      "SELECT table_name FROM duckdb_tables() WHERE database_name = '" GW_DUCKDB_CATALOG "'"
                      " AND schema_name = 'main' AND NOT temporary"
                      " ORDER BY table_name",
                      push_a, &names, err, errlen);
    if (rc == GW_OK && (s->tables = gw_calloc(names.n + 1, sizeof *s->tables)) == NULL)
        rc = GW_ENOMEM;
    for (size_t i = 0; rc == GW_OK && i < names.n; i++) {
        gw_schema_table_t *t = &s->tables[s->n_tables++];
        t->name = names.v[i];
        names.v[i] = NULL;
        rc = describe_table(d, t, max, err, errlen);
    }
    if (rc == GW_OK) {
        *out = s;
        s = NULL;
    }
out:
    if (rc == GW_ENOMEM)
        snprintf(err, errlen, "out of memory");
    strlist_free(&names);
    gw_schema_free(s);
    return rc;
}

/* ---- open / close ---- */

static void duck_close(gw_engine_t *e)
{
    duck_t *d = (duck_t *)e;
    if (d->db != NULL)
        duckdb_close(&d->db);
    gw_free(d);
}

static const gw_engine_ops_t duck_ops = {"duckdb", duck_describe, duck_query, duck_close};

static gw_err_t set_cfg(duckdb_config cfg, const char *name, const char *value, char *err, size_t errlen)
{
    if (duckdb_set_config(cfg, name, value) == DuckDBSuccess)
        return GW_OK;
    snprintf(err, errlen, "duckdb: bad setting %s=%s", name, value);
    return GW_ECONFIG;
}

/* The settings of platform-duckdb.md 3 that can be given at open. The
 * instance is in memory; the catalog file is attached read-only by
 * attach_catalog, which then turns external access off and locks. */
static gw_err_t secure_config(duckdb_config cfg, const gw_duckdb_opts_t *o, char *err, size_t errlen)
{
    char threads[16], temp[4200];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(threads, sizeof threads, "%u", o->threads ? o->threads : cores > 0 ? (unsigned)cores : 1u);
    snprintf(temp, sizeof temp, "%s.tmp", o->path);
    /* temp_directory must come before enable_external_access=false, which
     * makes DuckDB refuse to change it */
    const char *kv[][2] = {
        {"threads", threads},
        {"memory_limit", o->memory_limit ? o->memory_limit : "2GB"},
        {"temp_directory", o->temp_directory ? o->temp_directory : temp},
        {"max_temp_directory_size", o->max_temp_size ? o->max_temp_size : "4GB"},
        {"autoinstall_known_extensions", "false"},
        {"autoload_known_extensions", "false"},
        {"allow_community_extensions", "false"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        gw_err_t rc = set_cfg(cfg, kv[i][0], kv[i][1], err, errlen);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

static gw_err_t setup_sql(duckdb_connection con, const char *sql, char *err, size_t errlen)
{
    duckdb_result res;
    gw_err_t rc = GW_OK;
    if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
        const char *e = duckdb_result_error(&res);
        snprintf(err, errlen, "duckdb: %s", e != NULL ? e : "setup failed");
        rc = GW_EIO;
    }
    duckdb_destroy_result(&res);
    return rc;
}

/* The catalog file is attached read-only under the name the guard and the
 * planners use (GW_DUCKDB_CATALOG), so skus, main.skus, retail.skus and
 * retail.main.skus resolve alike whatever the file is called; each query
 * connection starts with USE. Then files, ATTACH, INSTALL/LOAD and SET are
 * closed for good (external access off, configuration locked). */
static gw_err_t attach_catalog(duck_t *d, const char *path, char *err, size_t errlen)
{
    duckdb_connection con = NULL;
    gw_buf_t sql;
    gw_err_t rc = GW_EIO;
    gw_buf_init(&sql, 16384);
    if (duckdb_connect(d->db, &con) != DuckDBSuccess) {
        snprintf(err, errlen, "duckdb: cannot connect");
        goto out;
    }
    if ((rc = build_sql(&sql, "ATTACH ", path, '\'', "", NULL, 0,
                        " AS " GW_DUCKDB_CATALOG " (READ_ONLY)")) != GW_OK ||
        (rc = setup_sql(con, sql.ptr, err, errlen)) != GW_OK)
        goto out;
    rc = setup_sql(con, "SET enable_external_access = false; SET lock_configuration = true;", err, errlen);
out:
    if (con != NULL)
        duckdb_disconnect(&con);
    gw_buf_free(&sql);
    return rc;
}

gw_err_t gw_engine_duckdb_open(const gw_duckdb_opts_t *o, gw_engine_t **out, char *err, size_t errlen)
{
    duckdb_config cfg = NULL;
    char *open_err = NULL;
    duck_t *d = NULL;
    gw_err_t rc = GW_EINVAL;
    *out = NULL;
    if (o == NULL || o->path == NULL || o->path[0] == '\0') {
        snprintf(err, errlen, "duckdb: no catalog path");
        goto out;
    }
    if ((rc = gw_duckdb_load(err, errlen)) != GW_OK)
        goto out;
    rc = GW_ENOMEM;
    if ((d = gw_calloc(1, sizeof *d)) == NULL || duckdb_create_config(&cfg) != DuckDBSuccess) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if ((rc = secure_config(cfg, o, err, errlen)) != GW_OK)
        goto out;
    if (duckdb_open_ext(NULL, &d->db, cfg, &open_err) != DuckDBSuccess) {
        snprintf(err, errlen, "duckdb: %s", open_err != NULL ? open_err : "cannot open");
        rc = GW_EIO;
        goto out;
    }
    if ((rc = attach_catalog(d, o->path, err, errlen)) != GW_OK) {
        rc = access(o->path, F_OK) == 0 ? rc : GW_ENOTFOUND;
        goto out;
    }
    d->base.ops = &duck_ops;
    d->check = o->check;
    d->check_data = o->check_data;
    *out = &d->base;
    d = NULL;
    rc = GW_OK;
out:
    if (open_err != NULL)
        duckdb_free(open_err);
    if (cfg != NULL)
        duckdb_destroy_config(&cfg);
    if (d != NULL)
        duck_close(&d->base);
    return rc;
}

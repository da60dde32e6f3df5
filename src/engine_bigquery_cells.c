/* engine_bigquery_cells.c - BigQuery schema types and row values to
 * gw_cell_t. Rows arrive as {"f":[{"v":"..."}]} with every scalar a string
 * (or null); the schema says how to read it: INT64 -> int64, NUMERIC ->
 * exact decimal (or the literal when it does not fit int64), TIMESTAMP
 * (epoch seconds as a float string) -> "YYYY-MM-DD HH:MM:SS" UTC.
 */
#include "engine_bigquery_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- types ---- */

void gw__bq_type_name(const char *t, char *out, size_t cap)
{
    static const char *const map[][2] = {
        {"INTEGER", "INT64"}, {"FLOAT", "FLOAT64"}, {"BOOLEAN", "BOOL"}, {"RECORD", "STRUCT"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(t, map[i][0]) == 0) {
            snprintf(out, cap, "%s", map[i][1]);
            return;
        }
    snprintf(out, cap, "%s", t);
}

static gw__bq_kind_t kind_of(const char *t)
{
    if (strcmp(t, "INT64") == 0)
        return GW__BQ_INT;
    if (strcmp(t, "NUMERIC") == 0 || strcmp(t, "BIGNUMERIC") == 0)
        return GW__BQ_NUMERIC;
    if (strcmp(t, "FLOAT64") == 0)
        return GW__BQ_FLOAT;
    if (strcmp(t, "BOOL") == 0)
        return GW__BQ_BOOL;
    if (strcmp(t, "DATETIME") == 0)
        return GW__BQ_DATETIME;
    if (strcmp(t, "TIMESTAMP") == 0)
        return GW__BQ_TIMESTAMP;
    return GW__BQ_TEXT;
}

/* A "10" or 10 schema attribute (precision, scale) as an int; -1 if absent. */
static int int_attr(const json_t *field, const char *key)
{
    const json_t *v = json_object_get(field, key);
    if (json_is_integer(v))
        return (int)json_integer_value(v);
    if (json_is_string(v)) {
        char *end;
        long n = strtol(json_string_value(v), &end, 10);
        if (*end == '\0' && n >= 0 && n <= 100)
            return (int)n;
    }
    return -1;
}

gw_err_t gw__bq_col_init(gw__bq_col_t *col, const json_t *field, char *msg, size_t msglen)
{
    const char *name = json_string_value(json_object_get(field, "name"));
    const char *type = json_string_value(json_object_get(field, "type"));
    const char *mode = json_string_value(json_object_get(field, "mode"));
    char base[24];
    if (name == NULL || type == NULL) {
        snprintf(msg, msglen, "BigQuery sent a result schema field without name or type");
        return GW_EUPSTREAM;
    }
    gw__bq_type_name(type, base, sizeof base);
    col->kind = kind_of(base);
    col->scale = int_attr(field, "scale");
    int precision = int_attr(field, "precision");
    if (col->kind == GW__BQ_NUMERIC && precision >= 0 && col->scale >= 0)
        snprintf(col->type, sizeof col->type, "%s(%d,%d)", base, precision, col->scale);
    else
        snprintf(col->type, sizeof col->type, "%s", base);
    if ((mode != NULL && strcasecmp(mode, "REPEATED") == 0) || strcmp(base, "STRUCT") == 0) {
        snprintf(msg, msglen,
                 "result column '%s' is %s%s, which has no JSON form here; use TO_JSON_STRING or ARRAY_TO_STRING",
                 name, mode != NULL && strcasecmp(mode, "REPEATED") == 0 ? "REPEATED " : "", base);
        return GW_EUNSUPPORTED;
    }
    return GW_OK;
}

/* ---- numbers ---- */

static void set_text(gw_cell_t *c, const char *p, size_t n)
{
    c->kind = GW_CELL_TEXT;
    c->v.text.ptr = p;
    c->v.text.len = n;
}

/* 1 when s[0..n) is a JSON number literal. */
static int is_json_number(const char *s, size_t n)
{
    size_t i = 0, d;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && isdigit((unsigned char)s[i]);)
            i++;
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = i; i < n && isdigit((unsigned char)s[i]);)
            i++;
        if (i == d)
            return 0;
    }
    return i == n;
}

/* An exact decimal "-123.45": GW_CELL_DECIMAL when it fits int64 with at
 * most 18 decimals (padded to the column's scale when it has one), else the
 * literal as GW_CELL_NUMBER. */
static gw_err_t numeric_cell(const gw__bq_col_t *col, const char *s, size_t n, gw_cell_t *c)
{
    if (!is_json_number(s, n))
        return GW_EUPSTREAM;
    c->kind = GW_CELL_NUMBER;
    c->v.text.ptr = s;
    c->v.text.len = n;
    if (memchr(s, 'e', n) != NULL || memchr(s, 'E', n) != NULL)
        return GW_OK;
    int neg = s[0] == '-';
    const char *dot = memchr(s, '.', n);
    size_t frac = dot != NULL ? n - (size_t)(dot - s) - 1 : 0;
    int scale = col->scale > (int)frac && col->scale <= 18 ? col->scale : (int)frac;
    uint64_t u = 0;
    int digits = 0;
    for (size_t i = (size_t)neg; i < n; i++) {
        if (s[i] == '.')
            continue;
        if (u != 0 || s[i] != '0')
            digits++;
        u = u * 10 + (uint64_t)(s[i] - '0');
        if (digits > 18)
            return GW_OK;
    }
    for (int k = (int)frac; k < scale; k++, digits++)
        u *= 10;
    if (digits > 18 || scale > 18)
        return GW_OK;
    c->kind = GW_CELL_DECIMAL;
    c->v.dec.unscaled = neg ? -(int64_t)u : (int64_t)u;
    c->v.dec.scale = (uint8_t)scale;
    return GW_OK;
}

static gw_err_t int_cell(const char *s, gw_cell_t *c)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return GW_EUPSTREAM;
    c->kind = GW_CELL_INT;
    c->v.i = (int64_t)v;
    return GW_OK;
}

static gw_err_t float_cell(const char *s, gw_cell_t *c)
{
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end != '\0')
        return GW_EUPSTREAM;
    c->kind = GW_CELL_DOUBLE;
    c->v.d = d;
    return GW_OK;
}

/* ---- timestamps ---- */

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

/* Decimal or scientific text to microseconds, exactly, rounded half away
 * from zero. Returns 0 on success. */
static int epoch_micros(const char *s, size_t len, int64_t *out)
{
    char dig[40];
    size_t i = 0, nd = 0;
    long point = -1, exp = 0;
    int neg = 0, eneg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < len; i++) {
        if (isdigit((unsigned char)s[i]) && nd < sizeof dig)
            dig[nd++] = s[i];
        else if (s[i] == '.' && point < 0)
            point = (long)nd;
        else
            break;
    }
    if (nd == 0)
        return -1;
    if (point < 0)
        point = (long)nd;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t d0;
        if (++i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (d0 = i; i < len && isdigit((unsigned char)s[i]) && exp < 1000; i++)
            exp = exp * 10 + (s[i] - '0');
        if (i == d0)
            return -1;
    }
    if (i != len)
        return -1;
    long k = point + (eneg ? -exp : exp) + 6; /* digits of the integer microseconds */
    uint64_t v = 0;
    for (long j = 0; j < k; j++) {
        unsigned d = j < (long)nd ? (unsigned)(dig[j] - '0') : 0;
        if (v > (UINT64_C(1) << 62) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (k >= 0 && k < (long)nd && dig[k] >= '5')
        v++;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

size_t gw__bq_format_timestamp(const char *s, size_t len, char *out, size_t cap)
{
    int64_t us, y;
    unsigned mo, d;
    if (cap < 27 || epoch_micros(s, len, &us) != 0)
        return 0;
    int64_t day = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        day--;
    }
    civil_from_days(day, &y, &mo, &d);
    if (y < 1 || y > 9999)
        return 0;
    int64_t secs = rem / 1000000, frac = rem % 1000000;
    int n = snprintf(out, cap, "%04" PRId64 "-%02u-%02u %02" PRId64 ":%02" PRId64 ":%02" PRId64, y, mo, d,
                     secs / 3600, secs / 60 % 60, secs % 60);
    if (frac != 0)
        n += snprintf(out + n, cap - (size_t)n, ".%06" PRId64, frac);
    return (size_t)n;
}

/* ---- cells ---- */

static gw_err_t text_kinds(const gw__bq_col_t *col, const char *s, size_t n, char *scratch, gw_cell_t *c)
{
    if (col->kind == GW__BQ_TIMESTAMP) {
        size_t w = gw__bq_format_timestamp(s, n, scratch, GW__BQ_SCRATCH);
        if (w == 0)
            return GW_EUPSTREAM;
        set_text(c, scratch, w);
        return GW_OK;
    }
    const char *t = memchr(s, 'T', n);
    if (col->kind == GW__BQ_DATETIME && t != NULL && n < GW__BQ_SCRATCH) {
        memcpy(scratch, s, n);
        scratch[t - s] = ' ';
        set_text(c, scratch, n);
        return GW_OK;
    }
    set_text(c, s, n);
    return GW_OK;
}

gw_err_t gw__bq_cell(const gw__bq_col_t *col, const json_t *v, char *scratch, gw_cell_t *c, char *msg,
                     size_t msglen)
{
    gw_err_t rc = GW_EUPSTREAM;
    memset(c, 0, sizeof *c);
    if (v == NULL || json_is_null(v)) {
        c->kind = GW_CELL_NULL;
        return GW_OK;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (s != NULL && strlen(s) == n) {
        switch (col->kind) {
        case GW__BQ_INT: rc = int_cell(s, c); break;
        case GW__BQ_NUMERIC: rc = numeric_cell(col, s, n, c); break;
        case GW__BQ_FLOAT: rc = float_cell(s, c); break;
        case GW__BQ_BOOL:
            c->kind = GW_CELL_BOOL;
            c->v.b = strcasecmp(s, "true") == 0;
            rc = c->v.b || strcasecmp(s, "false") == 0 ? GW_OK : GW_EUPSTREAM;
            break;
        default: rc = text_kinds(col, s, n, scratch, c); break;
        }
    } else if (s != NULL && col->kind == GW__BQ_TEXT) {
        set_text(c, s, n); /* a STRING holding NUL bytes */
        rc = GW_OK;
    }
    if (rc != GW_OK && s == NULL)
        snprintf(msg, msglen, "BigQuery sent a %s value that is not a string", col->type);
    else if (rc != GW_OK)
        snprintf(msg, msglen, "BigQuery sent a %s value that does not parse: %.*s", col->type,
                 (int)(n > 64 ? 64 : n), s);
    return rc;
}

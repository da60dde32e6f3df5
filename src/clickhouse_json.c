/* clickhouse_json.c - strict parser for ClickHouse JSONCompact bodies
 * (clickhouse_json.h): a small recursive-descent JSON reader specialised for
 * the {"meta":[...],"data":[[...]...],"rows":N,...} envelope.
 */
#include "clickhouse_json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

#define MAX_DEPTH 64
#define SCRATCH_MAX (64u << 20)

typedef struct parser {
    const char *start, *p, *end;
    gw_chjson_result_t *res;
    gw_buf_t scratch; /* unescaped strings of the current row or of meta */
    size_t n_cols;
    gw_chjson_val_t *vals;
    size_t *offs; /* scratch offset of each STRING value of the row */
    gw_chjson_meta_cb meta_cb;
    gw_chjson_row_cb row_cb;
    void *data;
    int seen_meta, seen_data;
    long long rows_field; /* "rows": N, -1 when absent */
} parser_t;

static gw_err_t fail(parser_t *ps, const char *msg)
{
    ps->res->error_at = (size_t)(ps->p - ps->start);
    snprintf(ps->res->message, sizeof ps->res->message, "%s at byte %zu", msg, ps->res->error_at);
    return GW_EINVAL;
}

static void ws(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Skips whitespace and consumes c if it is next. */
static int eat(parser_t *ps, char c)
{
    ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser_t *ps, unsigned *out)
{
    unsigned v = 0;
    if (ps->end - ps->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static gw_err_t put_utf8(gw_buf_t *out, unsigned cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return gw_buf_add(out, u, n);
}

/* \uXXXX (the "\u" already consumed), with a surrogate pair when one
 * follows; a lone surrogate becomes U+FFFD. out NULL: only validates. */
static gw_err_t unescape_u(parser_t *ps, gw_buf_t *out)
{
    unsigned cp, lo;
    if (read_hex4(ps, &cp) != 0)
        return fail(ps, "bad \\u escape");
    if (cp >= 0xD800 && cp < 0xDC00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
        const char *save = ps->p;
        ps->p += 2;
        if (read_hex4(ps, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000)
            return out != NULL ? put_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)) : GW_OK;
        ps->p = save;
    }
    if (cp >= 0xD800 && cp < 0xE000)
        cp = 0xFFFD;
    return out != NULL ? put_utf8(out, cp) : GW_OK;
}

static gw_err_t unescape_one(parser_t *ps, gw_buf_t *out)
{
    char c = *ps->p++;
    const char *m = NULL;
    switch (c) {
    case '"': m = "\""; break;
    case '\\': m = "\\"; break;
    case '/': m = "/"; break;
    case 'b': m = "\b"; break;
    case 'f': m = "\f"; break;
    case 'n': m = "\n"; break;
    case 'r': m = "\r"; break;
    case 't': m = "\t"; break;
    case 'u': return unescape_u(ps, out);
    default: ps->p--; return fail(ps, "bad escape in string");
    }
    return out != NULL ? gw_buf_add(out, m, 1) : GW_OK;
}

/* A string at ps->p (the opening quote); appends its unescaped bytes to out
 * (NULL: only validates). */
static gw_err_t string_value(parser_t *ps, gw_buf_t *out)
{
    ps->p++;
    for (;;) {
        const char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && (unsigned char)*ps->p >= 0x20)
            ps->p++;
        if (out != NULL && ps->p > run) {
            gw_err_t rc = gw_buf_add(out, run, (size_t)(ps->p - run));
            if (rc != GW_OK)
                return rc;
        }
        if (ps->p >= ps->end)
            return fail(ps, "unterminated string");
        if (*ps->p == '"') {
            ps->p++;
            return GW_OK;
        }
        if ((unsigned char)*ps->p < 0x20)
            return fail(ps, "control character in string");
        ps->p++;
        if (ps->p >= ps->end)
            return fail(ps, "unterminated string");
        gw_err_t rc = unescape_one(ps, out);
        if (rc != GW_OK)
            return rc;
    }
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A JSON number literal at ps->p. */
static gw_err_t number_value(parser_t *ps)
{
    const char *p = ps->p, *e = ps->end;
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0')
        p++;
    else if (p < e && is_digit(*p))
        while (p < e && is_digit(*p))
            p++;
    else
        return fail(ps, "bad number");
    if (p < e && *p == '.') {
        if (++p >= e || !is_digit(*p))
            return fail(ps, "bad number");
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return fail(ps, "bad number");
        while (p < e && is_digit(*p))
            p++;
    }
    ps->p = p;
    return GW_OK;
}

static gw_err_t skip_value(parser_t *ps, int depth);

/* An array or object (opening bracket at ps->p), validated and skipped. */
static gw_err_t skip_container(parser_t *ps, int depth)
{
    char close = *ps->p == '[' ? ']' : '}';
    int is_obj = close == '}';
    gw_err_t rc;
    if (depth >= MAX_DEPTH)
        return GW_ETOOBIG;
    ps->p++;
    if (eat(ps, close))
        return GW_OK;
    do {
        ws(ps);
        if (is_obj) {
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "expected a key");
            if ((rc = string_value(ps, NULL)) != GW_OK)
                return rc;
            if (!eat(ps, ':'))
                return fail(ps, "expected ':'");
        }
        if ((rc = skip_value(ps, depth + 1)) != GW_OK)
            return rc;
    } while (eat(ps, ','));
    return eat(ps, close) ? GW_OK : fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
}

static int literal(parser_t *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return 0;
    ps->p += n;
    return 1;
}

/* Any value; fills v (when not NULL) with its kind and span. Strings are
 * only validated here (v's span covers the quoted text). */
static gw_err_t scan_value(parser_t *ps, int depth, gw_chjson_val_t *v)
{
    gw_chjson_val_t tmp;
    if (v == NULL)
        v = &tmp;
    ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of body");
    const char *s = ps->p;
    gw_err_t rc = GW_OK;
    memset(v, 0, sizeof *v);
    switch (*ps->p) {
    case '"': v->kind = GW_CHJSON_STRING; rc = string_value(ps, NULL); break;
    case '[':
    case '{': v->kind = GW_CHJSON_RAW; rc = skip_container(ps, depth); break;
    case 'n': v->kind = GW_CHJSON_NULL; rc = literal(ps, "null") ? GW_OK : fail(ps, "bad literal"); break;
    case 't': v->kind = GW_CHJSON_TRUE; rc = literal(ps, "true") ? GW_OK : fail(ps, "bad literal"); break;
    case 'f': v->kind = GW_CHJSON_FALSE; rc = literal(ps, "false") ? GW_OK : fail(ps, "bad literal"); break;
    default: v->kind = GW_CHJSON_NUMBER; rc = number_value(ps); break;
    }
    if (v->kind == GW_CHJSON_NUMBER || v->kind == GW_CHJSON_RAW) {
        v->ptr = s;
        v->len = (size_t)(ps->p - s);
    }
    return rc;
}

static gw_err_t skip_value(parser_t *ps, int depth)
{
    return scan_value(ps, depth, NULL);
}

/* ---- the envelope ---- */

/* The members of one meta object (after its '{'): "name" and "type" go to
 * name and type (*have gets bits 1 and 2), others are skipped. */
static gw_err_t meta_members(parser_t *ps, gw_buf_t *name, gw_buf_t *type, int *have)
{
    gw_err_t rc;
    if (eat(ps, '}'))
        return GW_OK;
    do {
        gw_buf_t *dst = NULL;
        ws(ps);
        if (ps->p >= ps->end || *ps->p != '"')
            return fail(ps, "expected a key");
        const char *k = ps->p;
        if ((rc = string_value(ps, NULL)) != GW_OK)
            return rc;
        if (ps->p - k == 6 && memcmp(k, "\"name\"", 6) == 0)
            dst = name, *have |= 1;
        else if (ps->p - k == 6 && memcmp(k, "\"type\"", 6) == 0)
            dst = type, *have |= 2;
        if (!eat(ps, ':'))
            return fail(ps, "expected ':'");
        ws(ps);
        if (dst == NULL) {
            rc = skip_value(ps, 2);
        } else if (ps->p >= ps->end || *ps->p != '"') {
            return fail(ps, "meta name and type must be strings");
        } else {
            gw_buf_reset(dst);
            rc = string_value(ps, dst);
        }
        if (rc != GW_OK)
            return rc;
    } while (eat(ps, ','));
    return eat(ps, '}') ? GW_OK : fail(ps, "expected ',' or '}'");
}

/* One {"name":..,"type":..} of meta; appends "name\0type\0" to scratch. */
static gw_err_t meta_column(parser_t *ps)
{
    gw_buf_t name, type;
    int have = 0;
    gw_buf_init(&name, 65536);
    gw_buf_init(&type, 65536);
    /* both hold at least "" so an empty name or type is a valid C string */
    gw_err_t rc = gw_buf_reserve(&name, 0);
    if (rc == GW_OK)
        rc = gw_buf_reserve(&type, 0);
    if (rc != GW_OK)
        goto out;
    name.ptr[0] = type.ptr[0] = '\0';
    if (!eat(ps, '{')) {
        rc = fail(ps, "expected a meta object");
        goto out;
    }
    if ((rc = meta_members(ps, &name, &type, &have)) != GW_OK)
        goto out;
    if (have != 3 || memchr(name.ptr, '\0', name.len) != NULL || memchr(type.ptr, '\0', type.len) != NULL) {
        rc = fail(ps, "meta column without a name and a type");
        goto out;
    }
    if ((rc = gw_buf_add(&ps->scratch, name.ptr, name.len + 1)) == GW_OK)
        rc = gw_buf_add(&ps->scratch, type.ptr, type.len + 1);
    ps->n_cols++;
out:
    gw_buf_free(&name);
    gw_buf_free(&type);
    return rc;
}

static gw_err_t deliver_meta(parser_t *ps)
{
    size_t n = ps->n_cols;
    gw_chjson_col_t *cols = gw_calloc(n ? n : 1, sizeof *cols);
    ps->vals = gw_calloc(n ? n : 1, sizeof *ps->vals);
    ps->offs = gw_calloc(n ? n : 1, sizeof *ps->offs);
    if (cols == NULL || ps->vals == NULL || ps->offs == NULL) {
        gw_free(cols);
        return GW_ENOMEM;
    }
    const char *s = ps->scratch.ptr;
    for (size_t i = 0; i < n; i++) {
        cols[i].name = s;
        s += strlen(s) + 1;
        cols[i].type = s;
        s += strlen(s) + 1;
    }
    gw_err_t rc = ps->meta_cb(ps->data, cols, n);
    gw_free(cols);
    return rc;
}

static gw_err_t parse_meta(parser_t *ps)
{
    gw_err_t rc = GW_OK;
    if (ps->seen_meta || ps->seen_data)
        return fail(ps, "meta must come once, before data");
    ps->seen_meta = 1;
    if (!eat(ps, '['))
        return fail(ps, "meta is not an array");
    if (!eat(ps, ']')) {
        do {
            if ((rc = meta_column(ps)) != GW_OK)
                return rc;
        } while (eat(ps, ','));
        if (!eat(ps, ']'))
            return fail(ps, "expected ',' or ']' in meta");
    }
    return deliver_meta(ps);
}

/* One value of a row: strings are unescaped into scratch (offset kept). */
static gw_err_t row_value(parser_t *ps, size_t i)
{
    ws(ps);
    if (ps->p < ps->end && *ps->p == '"') {
        ps->offs[i] = ps->scratch.len;
        gw_err_t rc = string_value(ps, &ps->scratch);
        ps->vals[i].kind = GW_CHJSON_STRING;
        ps->vals[i].len = ps->scratch.len - ps->offs[i];
        return rc;
    }
    return scan_value(ps, 2, &ps->vals[i]);
}

static gw_err_t parse_row(parser_t *ps)
{
    gw_err_t rc;
    size_t i = 0;
    gw_buf_reset(&ps->scratch);
    if (!eat(ps, '['))
        return fail(ps, "expected a row array");
    if (!eat(ps, ']')) {
        do {
            if (i == ps->n_cols)
                return fail(ps, "row has more values than meta has columns");
            if ((rc = row_value(ps, i++)) != GW_OK)
                return rc;
        } while (eat(ps, ','));
        if (!eat(ps, ']'))
            return fail(ps, "expected ',' or ']' in a row");
    }
    if (i != ps->n_cols)
        return fail(ps, "row has fewer values than meta has columns");
    for (i = 0; i < ps->n_cols; i++)
        if (ps->vals[i].kind == GW_CHJSON_STRING)
            ps->vals[i].ptr = ps->scratch.ptr != NULL ? ps->scratch.ptr + ps->offs[i] : "";
    if ((rc = ps->row_cb(ps->data, ps->vals, ps->n_cols)) != GW_OK)
        return rc;
    ps->res->rows++;
    return GW_OK;
}

static gw_err_t parse_data(parser_t *ps)
{
    gw_err_t rc;
    if (!ps->seen_meta || ps->seen_data)
        return fail(ps, "data must come once, after meta");
    ps->seen_data = 1;
    if (!eat(ps, '['))
        return fail(ps, "data is not an array");
    if (eat(ps, ']'))
        return GW_OK;
    do {
        if ((rc = parse_row(ps)) != GW_OK)
            return rc;
    } while (eat(ps, ','));
    return eat(ps, ']') ? GW_OK : fail(ps, "expected ',' or ']' in data");
}

static gw_err_t parse_rows_field(parser_t *ps)
{
    gw_chjson_val_t v;
    gw_err_t rc = scan_value(ps, 1, &v);
    if (rc != GW_OK)
        return rc;
    if (v.kind != GW_CHJSON_NUMBER || v.len > 18 || memchr(v.ptr, '.', v.len) || memchr(v.ptr, 'e', v.len) ||
        v.ptr[0] == '-')
        return fail(ps, "\"rows\" is not a count");
    ps->rows_field = 0;
    for (size_t i = 0; i < v.len; i++)
        ps->rows_field = ps->rows_field * 10 + (v.ptr[i] - '0');
    return GW_OK;
}

/* One "key": value of the envelope. */
static gw_err_t member(parser_t *ps)
{
    ws(ps);
    if (ps->p >= ps->end || *ps->p != '"')
        return fail(ps, "expected a key");
    const char *k = ps->p;
    gw_err_t rc = string_value(ps, NULL);
    if (rc != GW_OK)
        return rc;
    size_t kl = (size_t)(ps->p - k);
    if (!eat(ps, ':'))
        return fail(ps, "expected ':'");
    if (kl == 6 && memcmp(k, "\"meta\"", 6) == 0)
        return parse_meta(ps);
    if (kl == 6 && memcmp(k, "\"data\"", 6) == 0)
        return parse_data(ps);
    if (kl == 6 && memcmp(k, "\"rows\"", 6) == 0)
        return parse_rows_field(ps);
    return skip_value(ps, 1);
}

static gw_err_t parse_doc(parser_t *ps)
{
    gw_err_t rc;
    if (!eat(ps, '{'))
        return fail(ps, "the body is not a JSON object");
    do {
        if ((rc = member(ps)) != GW_OK)
            return rc;
    } while (eat(ps, ','));
    if (!eat(ps, '}'))
        return fail(ps, "expected ',' or '}'");
    ws(ps);
    if (ps->p != ps->end)
        return fail(ps, "text after the JSON document");
    if (!ps->seen_meta || !ps->seen_data)
        return fail(ps, "no meta or no data");
    if (ps->rows_field >= 0 && (size_t)ps->rows_field != ps->res->rows)
        return fail(ps, "\"rows\" does not match the rows in data");
    return GW_OK;
}

gw_err_t gw_chjson_parse(const char *body, size_t len, gw_chjson_meta_cb meta_cb, gw_chjson_row_cb row_cb,
                         void *data, gw_chjson_result_t *res)
{
    parser_t ps;
    memset(res, 0, sizeof *res);
    memset(&ps, 0, sizeof ps);
    if (body == NULL && len > 0)
        return GW_EINVAL;
    ps.start = ps.p = body != NULL ? body : "";
    ps.end = ps.start + len;
    ps.res = res;
    ps.meta_cb = meta_cb;
    ps.row_cb = row_cb;
    ps.data = data;
    ps.rows_field = -1;
    gw_buf_init(&ps.scratch, SCRATCH_MAX);
    gw_err_t rc = parse_doc(&ps);
    if (rc == GW_ETOOBIG && res->message[0] == '\0') {
        res->error_at = (size_t)(ps.p - ps.start);
        snprintf(res->message, sizeof res->message, "nested too deep or a row too large at byte %zu",
                 res->error_at);
    }
    gw_buf_free(&ps.scratch);
    gw_free(ps.vals);
    gw_free(ps.offs);
    return rc;
}

/* engine.c - the engine-independent half of engine.h: dispatch, result
 * collection into an arena, and the JSON forms of results and schemas.
 */
#include "engine.h"
#include "engine_bigquery.h"
#include "engine_clickhouse.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"

#define RESULT_MAX_BYTES (256u << 20) /* text a collected result may hold */
#define ARENA_BLOCK (64u << 10)

/* ---- arena ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block_t;

struct gw_result_arena {
    arena_block_t *head;
    size_t total;
};

static char *arena_copy(gw_result_arena_t *a, const char *s, size_t n)
{
    arena_block_t *b = a->head;
    if (b == NULL || b->cap - b->used < n) {
        if (a->total + n > RESULT_MAX_BYTES)
            return NULL;
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        if ((b = gw_malloc(sizeof *b + cap)) == NULL)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
        a->total += cap;
    }
    char *p = b->data + b->used;
    if (n > 0)
        memcpy(p, s, n);
    b->used += n;
    return p;
}

static void arena_free(gw_result_arena_t *a)
{
    if (a == NULL)
        return;
    for (arena_block_t *b = a->head, *next; b != NULL; b = next) {
        next = b->next;
        gw_free(b);
    }
    gw_free(a);
}

/* ---- results ---- */

static void free_columns(gw_column_t *cols, size_t n)
{
    for (size_t i = 0; i < n && cols != NULL; i++) {
        gw_free(cols[i].name);
        gw_free(cols[i].type);
    }
    gw_free(cols);
}

void gw_result_free(gw_result_t *r)
{
    if (r == NULL)
        return;
    free_columns(r->columns, r->n_columns);
    gw_free(r->cells);
    arena_free(r->arena);
    gw_free(r);
}

typedef struct collector {
    gw_result_t *r;
    size_t cap_rows;
} collector_t;

static gw_err_t collect_columns(void *data, const gw_column_t *cols, size_t n)
{
    gw_result_t *r = ((collector_t *)data)->r;
    if ((r->columns = gw_calloc(n ? n : 1, sizeof *r->columns)) == NULL)
        return GW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r->n_columns = i + 1;
        r->columns[i].name = gw_strdup(cols[i].name);
        r->columns[i].type = gw_strdup(cols[i].type);
        if (r->columns[i].name == NULL || r->columns[i].type == NULL)
            return GW_ENOMEM;
    }
    r->n_columns = n;
    return GW_OK;
}

static gw_err_t collect_row(void *data, const gw_cell_t *cells, size_t n)
{
    collector_t *c = data;
    gw_result_t *r = c->r;
    if (r->row_count == c->cap_rows) {
        size_t cap = c->cap_rows ? c->cap_rows * 2 : 64;
        gw_cell_t *p = gw_realloc(r->cells, cap * (n ? n : 1) * sizeof *p);
        if (p == NULL)
            return GW_ENOMEM;
        r->cells = p;
        c->cap_rows = cap;
    }
    gw_cell_t *dst = r->cells + r->row_count * n;
    for (size_t i = 0; i < n; i++) {
        dst[i] = cells[i];
        if (cells[i].kind == GW_CELL_TEXT || cells[i].kind == GW_CELL_NUMBER) {
            dst[i].v.text.ptr = arena_copy(r->arena, cells[i].v.text.ptr, cells[i].v.text.len);
            if (dst[i].v.text.ptr == NULL)
                return r->arena->total + cells[i].v.text.len > RESULT_MAX_BYTES ? GW_ETOOBIG : GW_ENOMEM;
        }
    }
    r->row_count++;
    return GW_OK;
}

gw_err_t gw_engine_query_result(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                                gw_result_t **out, gw_query_info_t *info)
{
    collector_t c = {0};
    gw_row_sink_t sink = {collect_columns, collect_row, &c};
    *out = NULL;
    c.r = gw_calloc(1, sizeof *c.r);
    if (c.r == NULL || (c.r->arena = gw_calloc(1, sizeof *c.r->arena)) == NULL) {
        gw_result_free(c.r);
        snprintf(info->message, sizeof info->message, "out of memory");
        return GW_ENOMEM;
    }
    gw_err_t rc = gw_engine_query(e, sql, len, o, &sink, info);
    if (rc != GW_OK) {
        gw_result_free(c.r);
        return rc;
    }
    c.r->truncated = info->truncated;
    *out = c.r;
    return GW_OK;
}

/* ---- JSON ---- */

static gw_err_t add_double(gw_buf_t *out, double d)
{
    char s[40];
    if (!isfinite(d))
        return gw_buf_adds(out, "null");
    snprintf(s, sizeof s, "%.15g", d);
    if (strtod(s, NULL) != d)
        snprintf(s, sizeof s, "%.17g", d);
    return gw_buf_adds(out, s);
}

static gw_err_t add_decimal(gw_buf_t *out, int64_t unscaled, unsigned scale)
{
    char digits[24], s[48];
    uint64_t mag = unscaled < 0 ? (uint64_t)0 - (uint64_t)unscaled : (uint64_t)unscaled;
    int n = snprintf(digits, sizeof digits, "%" PRIu64, mag);
    size_t at = 0;
    if (unscaled < 0)
        s[at++] = '-';
    if ((unsigned)n <= scale) { /* 0.05 */
        s[at++] = '0';
        if (scale > 0)
            s[at++] = '.';
        for (unsigned k = (unsigned)n; k < scale; k++)
            s[at++] = '0';
        memcpy(s + at, digits, (size_t)n);
        at += (size_t)n;
    } else {
        size_t whole = (size_t)n - scale;
        memcpy(s + at, digits, whole);
        at += whole;
        if (scale > 0) {
            s[at++] = '.';
            memcpy(s + at, digits + whole, scale);
            at += scale;
        }
    }
    return gw_buf_add(out, s, at);
}

gw_err_t gw_cell_to_json(const gw_cell_t *c, gw_buf_t *out)
{
    gw_err_t rc;
    switch (c->kind) {
    case GW_CELL_NULL:
        return gw_buf_adds(out, "null");
    case GW_CELL_BOOL:
        return gw_buf_adds(out, c->v.b ? "true" : "false");
    case GW_CELL_INT:
        return gw_buf_printf(out, "%" PRId64, c->v.i);
    case GW_CELL_DOUBLE:
        return add_double(out, c->v.d);
    case GW_CELL_DECIMAL:
        return c->v.dec.scale > 18 ? GW_EINVAL : add_decimal(out, c->v.dec.unscaled, c->v.dec.scale);
    case GW_CELL_NUMBER:
        return gw_buf_add(out, c->v.text.ptr, c->v.text.len);
    case GW_CELL_TEXT:
        if ((rc = gw_buf_add(out, "\"", 1)) != GW_OK ||
            (rc = gw_buf_add_json_str(out, c->v.text.ptr, c->v.text.len)) != GW_OK)
            return rc;
        return gw_buf_add(out, "\"", 1);
    }
    return GW_EINVAL;
}

static gw_err_t add_json_string(gw_buf_t *out, const char *s)
{
    gw_err_t rc = gw_buf_add(out, "\"", 1);
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(out, s, strlen(s));
    return rc == GW_OK ? gw_buf_add(out, "\"", 1) : rc;
}

static gw_err_t columns_json(const gw_result_t *r, gw_buf_t *out)
{
    gw_err_t rc = gw_buf_adds(out, "\"columns\":[");
    for (size_t i = 0; rc == GW_OK && i < r->n_columns; i++) {
        rc = gw_buf_adds(out, i ? ",{\"name\":" : "{\"name\":");
        if (rc == GW_OK)
            rc = add_json_string(out, r->columns[i].name);
        if (rc == GW_OK)
            rc = gw_buf_adds(out, ",\"type\":");
        if (rc == GW_OK)
            rc = add_json_string(out, r->columns[i].type);
        if (rc == GW_OK)
            rc = gw_buf_adds(out, "}");
    }
    return rc == GW_OK ? gw_buf_adds(out, "]") : rc;
}

gw_err_t gw_result_to_json(const gw_result_t *r, gw_buf_t *out)
{
    gw_err_t rc = gw_buf_adds(out, "{");
    if (rc == GW_OK)
        rc = columns_json(r, out);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, ",\"rows\":[");
    for (size_t row = 0; rc == GW_OK && row < r->row_count; row++) {
        rc = gw_buf_adds(out, row ? ",[" : "[");
        for (size_t c = 0; rc == GW_OK && c < r->n_columns; c++) {
            if (c > 0)
                rc = gw_buf_add(out, ",", 1);
            if (rc == GW_OK)
                rc = gw_cell_to_json(&r->cells[row * r->n_columns + c], out);
        }
        if (rc == GW_OK)
            rc = gw_buf_add(out, "]", 1);
    }
    if (rc == GW_OK)
        rc = gw_buf_printf(out, "],\"row_count\":%zu,\"truncated\":%s}", r->row_count,
                           r->truncated ? "true" : "false");
    return rc;
}

/* ---- schema ---- */

void gw_schema_free(gw_schema_t *s)
{
    if (s == NULL)
        return;
    for (size_t t = 0; t < s->n_tables; t++) {
        gw_schema_table_t *tb = &s->tables[t];
        for (size_t c = 0; c < tb->n_columns; c++) {
            gw_schema_column_t *col = &tb->columns[c];
            for (size_t v = 0; v < col->n_values; v++)
                gw_free(col->values[v]);
            gw_free(col->values);
            gw_free(col->name);
            gw_free(col->type);
        }
        gw_free(tb->columns);
        gw_free(tb->name);
    }
    gw_free(s->tables);
    gw_free(s->engine);
    gw_free(s);
}

static gw_err_t schema_column_json(const gw_schema_column_t *c, gw_buf_t *out)
{
    gw_err_t rc = gw_buf_adds(out, "{\"name\":");
    if (rc == GW_OK)
        rc = add_json_string(out, c->name);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, ",\"type\":");
    if (rc == GW_OK)
        rc = add_json_string(out, c->type);
    if (rc == GW_OK && c->values != NULL) {
        rc = gw_buf_adds(out, ",\"values\":[");
        for (size_t v = 0; rc == GW_OK && v < c->n_values; v++) {
            if (v > 0)
                rc = gw_buf_add(out, ",", 1);
            if (rc == GW_OK)
                rc = add_json_string(out, c->values[v]);
        }
        if (rc == GW_OK)
            rc = gw_buf_add(out, "]", 1);
    }
    if (rc == GW_OK && c->high_cardinality)
        rc = gw_buf_adds(out, ",\"high_cardinality\":true");
    return rc == GW_OK ? gw_buf_add(out, "}", 1) : rc;
}

gw_err_t gw_schema_to_json(const gw_schema_t *s, gw_buf_t *out)
{
    gw_err_t rc = gw_buf_adds(out, "{\"engine\":");
    if (rc == GW_OK)
        rc = add_json_string(out, s->engine != NULL ? s->engine : "");
    if (rc == GW_OK)
        rc = gw_buf_adds(out, ",\"tables\":[");
    for (size_t t = 0; rc == GW_OK && t < s->n_tables; t++) {
        const gw_schema_table_t *tb = &s->tables[t];
        rc = gw_buf_adds(out, t ? ",{\"name\":" : "{\"name\":");
        if (rc == GW_OK)
            rc = add_json_string(out, tb->name);
        if (rc == GW_OK)
            rc = gw_buf_printf(out, ",\"row_count\":%" PRIu64 ",\"columns\":[", tb->row_count);
        for (size_t c = 0; rc == GW_OK && c < tb->n_columns; c++) {
            if (c > 0)
                rc = gw_buf_add(out, ",", 1);
            if (rc == GW_OK)
                rc = schema_column_json(&tb->columns[c], out);
        }
        if (rc == GW_OK)
            rc = gw_buf_adds(out, "]}");
    }
    return rc == GW_OK ? gw_buf_adds(out, "]}") : rc;
}

/* ---- dispatch ---- */

gw_err_t gw_engine_open(const struct gw_config *cfg, gw_engine_check_cb check, void *check_data, gw_engine_t **out,
                        char *err, size_t errlen)
{
    const char *name = cfg->ask.engine != NULL ? cfg->ask.engine : "duckdb";
    *out = NULL;
    if (strcmp(name, "duckdb") == 0) {
        gw_duckdb_opts_t o = {0};
        o.path = cfg->ask.duckdb_path != NULL ? cfg->ask.duckdb_path : "data/catalog.duckdb";
        o.check = check;
        o.check_data = check_data;
        return gw_engine_duckdb_open(&o, out, err, errlen);
    }
    if (strcmp(name, "clickhouse") == 0) {
        gw_clickhouse_opts_t o = {0};
        o.url = cfg->ask.clickhouse_url;
        o.database = cfg->ask.clickhouse_database;
        o.cluster = cfg->ask.clickhouse_cluster;
        o.user = cfg->ask.clickhouse_user;
        o.password = cfg->ask.clickhouse_password;
        o.check = check;
        o.check_data = check_data;
        return gw_engine_clickhouse_open(&o, out, err, errlen);
    }
    if (strcmp(name, "bigquery") == 0) {
        gw_bigquery_opts_t o = {0};
        o.project = cfg->ask.bigquery_project;
        o.dataset = cfg->ask.bigquery_dataset;
        o.max_bytes_billed = cfg->ask.bigquery_max_bytes_billed;
        o.base_url = getenv("LLMGW_BIGQUERY_BASE_URL"); /* tests point it at the fake */
        o.check = check;
        o.check_data = check_data;
        return gw_engine_bigquery_open(&o, out, err, errlen);
    }
    snprintf(err, errlen, "engine '%s' is not available in this build", name);
    return GW_EUNSUPPORTED;
}

gw_err_t gw_engine_describe(gw_engine_t *e, size_t max_values, gw_schema_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (e == NULL) {
        snprintf(err, errlen, "no engine");
        return GW_EINVAL;
    }
    return e->ops->describe(e, max_values ? max_values : 1000, out, err, errlen);
}

gw_err_t gw_engine_query(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                         const gw_row_sink_t *sink, gw_query_info_t *info)
{
    static const gw_query_opts_t none = {0, 0};
    memset(info, 0, sizeof *info);
    if (e == NULL || sql == NULL || sink == NULL || sink->columns_cb == NULL || sink->row_cb == NULL) {
        snprintf(info->message, sizeof info->message, "bad arguments");
        return GW_EINVAL;
    }
    return e->ops->query(e, sql, len, o != NULL ? o : &none, sink, info);
}

void gw_engine_close(gw_engine_t *e)
{
    if (e != NULL)
        e->ops->close(e);
}

/* schema_cache_json.c - gw_schema_from_json (schema_cache.h): the JSON of
 * gw_schema_to_json back into a gw_schema_t, with jansson, strictly (the
 * input comes from Redis, which anyone on the network may write), so that
 * re-serialising gives the same bytes.
 */
#include "schema_cache.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

#define MAX_JSON ((size_t)64 << 20)

typedef struct pctx {
    char *err;
    size_t errlen;
} pctx_t;

static gw_err_t fail(pctx_t *p, const char *what)
{
    snprintf(p->err, p->errlen, "schema JSON: %s", what);
    return GW_EINVAL;
}

/* Only the keys in allowed (NULL-terminated) may appear. */
static int only_keys(json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], k) != 0)
            i++;
        if (allowed[i] == NULL)
            return 0;
    }
    return 1;
}

/* *dst = a copy of the JSON string v; what names it in the error. */
static gw_err_t take_str(pctx_t *p, json_t *v, char **dst, const char *what)
{
    char msg[64];
    if (!json_is_string(v) || memchr(json_string_value(v), '\0', json_string_length(v)) != NULL) {
        snprintf(msg, sizeof msg, "%s is not a string without NUL", what);
        return fail(p, msg);
    }
    *dst = gw_strndup(json_string_value(v), json_string_length(v));
    return *dst != NULL ? GW_OK : GW_ENOMEM;
}

static gw_err_t parse_values(pctx_t *p, json_t *arr, gw_schema_column_t *c)
{
    size_t n = json_array_size(arr);
    if (!json_is_array(arr))
        return fail(p, "values is not an array");
    if ((c->values = gw_calloc(n + 1, sizeof *c->values)) == NULL)
        return GW_ENOMEM;
    gw_err_t rc = GW_OK;
    for (size_t i = 0; rc == GW_OK && i < n; i++)
        if ((rc = take_str(p, json_array_get(arr, i), &c->values[i], "a value")) == GW_OK)
            c->n_values++;
    return rc;
}

static gw_err_t parse_column(pctx_t *p, json_t *o, gw_schema_column_t *c)
{
    static const char *const keys[] = {"name", "type", "values", "high_cardinality", NULL};
    json_t *name = json_object_get(o, "name"), *type = json_object_get(o, "type");
    json_t *values = json_object_get(o, "values"), *hc = json_object_get(o, "high_cardinality");
    if (!json_is_object(o) || !only_keys(o, keys))
        return fail(p, "a column is not {name, type, values?, high_cardinality?}");
    if (hc != NULL && !json_is_true(hc))
        return fail(p, "high_cardinality is not true");
    gw_err_t rc = take_str(p, name, &c->name, "a column name");
    if (rc == GW_OK)
        rc = take_str(p, type, &c->type, "a column type");
    c->high_cardinality = hc != NULL;
    return rc == GW_OK && values != NULL ? parse_values(p, values, c) : rc;
}

static gw_err_t parse_table(pctx_t *p, json_t *o, gw_schema_table_t *t)
{
    static const char *const keys[] = {"name", "row_count", "columns", NULL};
    json_t *name = json_object_get(o, "name"), *rows = json_object_get(o, "row_count");
    json_t *cols = json_object_get(o, "columns");
    if (!json_is_object(o) || !only_keys(o, keys) || !json_is_integer(rows) || !json_is_array(cols))
        return fail(p, "a table is not {name, row_count, columns}");
    if (json_integer_value(rows) < 0)
        return fail(p, "negative row_count");
    gw_err_t rc = take_str(p, name, &t->name, "a table name");
    if (rc != GW_OK)
        return rc;
    t->row_count = (uint64_t)json_integer_value(rows);
    size_t n = json_array_size(cols);
    if ((t->columns = gw_calloc(n + 1, sizeof *t->columns)) == NULL)
        return GW_ENOMEM;
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        rc = parse_column(p, json_array_get(cols, i), &t->columns[i]);
        t->n_columns++; /* freed by gw_schema_free even when half filled */
    }
    return rc;
}

static gw_err_t parse_schema(pctx_t *p, json_t *root, gw_schema_t *s)
{
    static const char *const keys[] = {"engine", "tables", NULL};
    json_t *engine = json_object_get(root, "engine"), *tables = json_object_get(root, "tables");
    if (!json_is_object(root) || !only_keys(root, keys) || !json_is_array(tables))
        return fail(p, "not {engine, tables}");
    gw_err_t rc = take_str(p, engine, &s->engine, "engine");
    if (rc != GW_OK)
        return rc;
    size_t n = json_array_size(tables);
    if ((s->tables = gw_calloc(n + 1, sizeof *s->tables)) == NULL)
        return GW_ENOMEM;
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        rc = parse_table(p, json_array_get(tables, i), &s->tables[i]);
        s->n_tables++;
    }
    return rc;
}

gw_err_t gw_schema_from_json(const char *json, size_t len, gw_schema_t **out, char *err, size_t errlen)
{
    pctx_t p = {err, errlen};
    json_error_t jerr;
    json_t *root = NULL;
    gw_schema_t *s = NULL;
    gw_err_t rc;
    *out = NULL;
    if (len > MAX_JSON) {
        snprintf(err, errlen, "schema JSON: more than %zu bytes", MAX_JSON);
        return GW_ETOOBIG;
    }
    if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        snprintf(err, errlen, "schema JSON: %s at %d:%d", jerr.text, jerr.line, jerr.column);
        return GW_EINVAL;
    }
    if ((s = gw_calloc(1, sizeof *s)) == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    rc = parse_schema(&p, root, s);
    if (rc == GW_OK) {
        *out = s;
        s = NULL;
    }
out:
    if (rc == GW_ENOMEM)
        snprintf(err, errlen, "schema JSON: out of memory");
    gw_schema_free(s);
    json_decref(root);
    return rc;
}

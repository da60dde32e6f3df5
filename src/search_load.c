/* search_load.c - builds the search index from an engine's catalog: three
 * plain SELECTs (a row count to presize, the categories, the SKUs), the
 * join of SKU to category name and synonyms done here, so the SQL is the
 * same on DuckDB, ClickHouse and BigQuery. The SKUs are read in the
 * engine's order, without ORDER BY (which costs DuckDB ~130 MB at 1M
 * rows): DuckDB keeps insertion order, which is sku_id order for a
 * generated catalog; any other order is correct too, only a little slower
 * on runs of tied scores (search_score.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "search_int.h"
#include "taxonomy.h"

#define DEFAULT_TIMEOUT_MS 600000

typedef struct cat {
    int64_t id;
    char *name;  /* owned */
    char *extra; /* owned synonyms joined by " | ", or NULL */
} cat_t;

typedef struct load {
    const gw_search_opts_t *o;
    cat_t *cats;
    size_t n_cats, cap_cats;
    gw_search_builder_t *b;
    uint64_t count;
} load_t;

static gw_err_t cell_int(const gw_cell_t *c, int64_t *v)
{
    char tmp[32];
    char *end;
    if (c->kind == GW_CELL_INT) {
        *v = c->v.i;
        return GW_OK;
    }
    if (c->kind != GW_CELL_TEXT && c->kind != GW_CELL_NUMBER)
        return GW_EINVAL;
    if (c->v.text.len == 0 || c->v.text.len >= sizeof tmp)
        return GW_EINVAL;
    memcpy(tmp, c->v.text.ptr, c->v.text.len);
    tmp[c->v.text.len] = '\0';
    *v = strtoll(tmp, &end, 10);
    return *end == '\0' ? GW_OK : GW_EINVAL;
}

static void cell_text(const gw_cell_t *c, const char **p, size_t *n)
{
    if (c->kind == GW_CELL_TEXT) {
        *p = c->v.text.ptr;
        *n = c->v.text.len;
    } else {
        *p = NULL;
        *n = 0;
    }
}

static gw_err_t count_row(void *data, const gw_cell_t *cells, size_t n)
{
    load_t *l = data;
    int64_t v;
    if (n >= 1 && cell_int(&cells[0], &v) == GW_OK && v > 0)
        l->count = (uint64_t)v;
    return GW_OK;
}

/* The taxonomy's synonyms of the node named name, joined by " | ". */
static char *synonyms_of(const gw_taxonomy_t *tax, const char *name)
{
    const gw_tax_node_t *node = tax != NULL ? gw_taxonomy_find(tax, name) : NULL;
    gw_buf_t b;
    if (node == NULL || node->n_synonyms == 0)
        return NULL;
    gw_buf_init(&b, 1u << 20);
    for (size_t i = 0; i < node->n_synonyms; i++)
        if ((i > 0 && gw_buf_add(&b, " | ", 3) != GW_OK) || gw_buf_adds(&b, node->synonyms[i]) != GW_OK) {
            gw_buf_free(&b);
            return NULL;
        }
    return gw_buf_take(&b, NULL);
}

static gw_err_t cat_row(void *data, const gw_cell_t *cells, size_t n)
{
    load_t *l = data;
    const char *p;
    size_t len;
    cat_t c = {0};
    if (n < 2 || cell_int(&cells[0], &c.id) != GW_OK)
        return GW_EINVAL;
    if (l->n_cats == l->cap_cats) {
        size_t cap = l->cap_cats ? l->cap_cats * 2 : 256;
        cat_t *nc = gw_realloc(l->cats, cap * sizeof *nc);
        if (nc == NULL)
            return GW_ENOMEM;
        l->cats = nc;
        l->cap_cats = cap;
    }
    cell_text(&cells[1], &p, &len);
    if ((c.name = gw_strndup(p != NULL ? p : "", len)) == NULL)
        return GW_ENOMEM;
    c.extra = synonyms_of(l->o->taxonomy, c.name);
    l->cats[l->n_cats++] = c;
    return GW_OK;
}

static int cmp_cat(const void *a, const void *b)
{
    const cat_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static const cat_t *find_cat(const load_t *l, int64_t id)
{
    size_t lo = 0, hi = l->n_cats;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->cats[mid].id == id)
            return &l->cats[mid];
        if (l->cats[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* sku_id, title, brand, category_id, color, material */
static gw_err_t sku_row(void *data, const gw_cell_t *cells, size_t n)
{
    load_t *l = data;
    gw_search_doc_t d = {0};
    int64_t cat_id;
    if (n < 6 || cell_int(&cells[0], &d.sku_id) != GW_OK)
        return GW_EINVAL;
    cell_text(&cells[1], &d.title, &d.title_len);
    cell_text(&cells[2], &d.brand, &d.brand_len);
    cell_text(&cells[4], &d.color, &d.color_len);
    cell_text(&cells[5], &d.material, &d.material_len);
    const cat_t *c = cell_int(&cells[3], &cat_id) == GW_OK ? find_cat(l, cat_id) : NULL;
    if (c != NULL) {
        d.category = c->name;
        d.category_len = strlen(c->name);
        d.extra = c->extra;
        d.extra_len = c->extra != NULL ? strlen(c->extra) : 0;
    }
    return gw_search_builder_add(l->b, &d);
}

static gw_err_t no_columns(void *data, const gw_column_t *cols, size_t n)
{
    return GW_OK; /* the row callbacks check the cell count */
}

static gw_err_t run(gw_engine_t *e, load_t *l, const char *sql, gw_row_cb cb, char *err, size_t errlen)
{
    gw_row_sink_t sink = {no_columns, cb, l};
    gw_query_opts_t qo = {0, l->o->timeout_ms ? l->o->timeout_ms : DEFAULT_TIMEOUT_MS};
    gw_query_info_t info;
    gw_err_t rc = gw_engine_query(e, sql, strlen(sql), &qo, &sink, &info);
    if (rc != GW_OK)
        snprintf(err, errlen, "search index: %s: %s", sql, info.message[0] ? info.message : gw_strerror(rc));
    return rc;
}

gw_err_t gw_search_build(gw_engine_t *e, const gw_search_opts_t *o, gw_search_t **out, char *err, size_t errlen)
{
    gw_search_opts_t none = {0};
    load_t l = {0};
    gw_err_t rc;
    l.o = o != NULL ? o : &none;
    *out = NULL;
    err[0] = '\0';
    if ((rc = run(e, &l, "SELECT count(*) FROM skus", count_row, err, errlen)) != GW_OK)
        goto out;
    if ((rc = run(e, &l, "SELECT category_id, name FROM categories", cat_row, err, errlen)) != GW_OK)
        goto out;
    qsort(l.cats, l.n_cats, sizeof *l.cats, cmp_cat);
    if (gw_search_builder_new((size_t)l.count, &l.b) != GW_OK &&
        (rc = gw_search_builder_new(0, &l.b)) != GW_OK) /* the count was too big to presize */
        goto out;
    rc = run(e, &l, "SELECT sku_id, title, brand, category_id, color, material FROM skus", sku_row, err, errlen);
    if (rc != GW_OK)
        goto out;
    rc = gw_search_builder_finish(l.b, out);
    l.b = NULL;
    if (rc != GW_OK)
        snprintf(err, errlen, "search index: %s", gw_strerror(rc));
out:
    gw_search_builder_free(l.b);
    for (size_t i = 0; i < l.n_cats; i++) {
        gw_free(l.cats[i].name);
        gw_free(l.cats[i].extra);
    }
    gw_free(l.cats);
    return rc;
}

/* planner_sql.c - renders a rules plan (planner_rules.h) as one SELECT in
 * three dialects. DuckDB and BigQuery use joins (aliases i, s, w, c; the
 * BigQuery tables are `project.dataset.table`); ClickHouse 18.16 uses
 * unqualified names, IN subqueries for filters and at most one JOIN per
 * SELECT (nested subqueries when a query needs columns of several tables).
 * Every ORDER BY ends with a unique key, so results are deterministic.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "planner_sql_int.h"

/* ---- output helpers (sticky error) ---- */

void gw__sq_put(gw__sq_t *q, gw_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    if (q->rc != GW_OK)
        return;
    va_start(ap, fmt);
    q->rc = gw_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void gw__sq_lit(gw__sq_t *q, gw_buf_t *b, const char *s)
{
    gw__sq_put(q, b, "'");
    for (; *s != '\0' && q->rc == GW_OK; s++) {
        if (*s == '\'')
            gw__sq_put(q, b, q->t->dialect == GW_DIALECT_DUCKDB ? "''" : "\\'");
        else if (*s == '\\')
            gw__sq_put(q, b, q->t->dialect == GW_DIALECT_DUCKDB ? "\\" : "\\\\");
        else
            q->rc = gw_buf_add(b, s, 1);
    }
    gw__sq_put(q, b, "'");
}

void gw__sq_num(gw__sq_t *q, gw_buf_t *b, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        gw__sq_put(q, b, "%.0f", v);
    else
        gw__sq_put(q, b, "%.2f", v);
}

static void civil(int32_t days, int *y, unsigned *m, unsigned *d)
{
    /* Howard Hinnant's days-to-civil */
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

void gw__sq_date(gw__sq_t *q, gw_buf_t *b, int32_t days, int ts)
{
    int y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    if (q->t->dialect == GW_DIALECT_CLICKHOUSE)
        gw__sq_put(q, b, ts ? "toDateTime('%04d-%02u-%02u 00:00:00')" : "toDate('%04d-%02u-%02u')", y, m, d);
    else
        gw__sq_put(q, b, ts ? "TIMESTAMP '%04d-%02u-%02u 00:00:00'" : "DATE '%04d-%02u-%02u'", y, m, d);
}

/* "s.brand" or, on ClickHouse, "brand". */
void gw__sq_col(gw__sq_t *q, gw_buf_t *b, char alias, const char *name)
{
    if (q->ch)
        gw__sq_put(q, b, "%s", name);
    else
        gw__sq_put(q, b, "%c.%s", alias == 'w' && q->w_is_t ? 't' : alias, name);
}

/* A table in FROM / JOIN: "skus s", "`p.d.skus` s", or "skus". */
void gw__sq_table(gw__sq_t *q, gw_buf_t *b, const char *name, char alias)
{
    if (q->ch)
        gw__sq_put(q, b, "%s", name);
    else if (q->t->dialect == GW_DIALECT_BIGQUERY)
        gw__sq_put(q, b, "`%s.%s.%s` %c", q->t->project, q->t->dataset ? q->t->dataset : "retail", name, alias);
    else
        gw__sq_put(q, b, "%s %c", name, alias);
}

/* Starts one more condition of a list: " AND " after the first. */
void gw__sq_and(gw__sq_t *q, gw__conds_t *c)
{
    if (c->n++ > 0)
        gw__sq_put(q, &c->b, " AND ");
}

/* ---- conditions ---- */

static void set_cond(gw__sq_t *q, gw__conds_t *c, char alias, const char *column, const gw_plan_set_t *set)
{
    if (set->n == 0)
        return;
    gw__sq_and(q, c);
    gw__sq_col(q, &c->b, alias, column);
    if (set->n == 1) {
        gw__sq_put(q, &c->b, set->negate ? " <> " : " = ");
        gw__sq_lit(q, &c->b, set->v[0]);
        return;
    }
    gw__sq_put(q, &c->b, set->negate ? " NOT IN (" : " IN (");
    for (size_t i = 0; i < set->n; i++) {
        if (i > 0)
            gw__sq_put(q, &c->b, ", ");
        gw__sq_lit(q, &c->b, set->v[i]);
    }
    gw__sq_put(q, &c->b, ")");
}

static const char *cmp_op(gw_cmp_t op)
{
    switch (op) {
    case GW_CMP_LT: return " < ";
    case GW_CMP_LE: return " <= ";
    case GW_CMP_GT: return " > ";
    case GW_CMP_GE: return " >= ";
    case GW_CMP_EQ: return " = ";
    default: return " = ";
    }
}

/* expr op value [AND expr hi_op hi] */
void gw__sq_num_expr(gw__sq_t *q, gw_buf_t *b, const char *expr, const gw_plan_num_t *n)
{
    gw__sq_put(q, b, "%s%s", expr, cmp_op(n->op));
    gw__sq_num(q, b, n->value);
    if (n->hi_op != GW_CMP_NONE) {
        gw__sq_put(q, b, " AND %s%s", expr, cmp_op(n->hi_op));
        gw__sq_num(q, b, n->hi);
    }
}

/* column op value [AND column hi_op hi] */
void gw__sq_num_cond(gw__sq_t *q, gw__conds_t *c, char alias, const char *column, const gw_plan_num_t *n)
{
    char col[64];
    if (n->op == GW_CMP_NONE)
        return;
    if (q->ch)
        snprintf(col, sizeof col, "%s", column);
    else
        snprintf(col, sizeof col, "%c.%s", alias, column);
    gw__sq_and(q, c);
    gw__sq_num_expr(q, &c->b, col, n);
}

static void days_cond(gw__sq_t *q, gw__conds_t *c, char alias, const char *column, const gw_plan_days_t *d, int ts)
{
    int lo = d->from != INT32_MIN, hi = d->to != INT32_MAX;
    if (!d->has || (!lo && !hi))
        return;
    gw__sq_and(q, c);
    if (d->negate && lo != hi) { /* outside a one-sided window: the other side */
        gw__sq_col(q, &c->b, alias, column);
        gw__sq_put(q, &c->b, lo ? " < " : " >= ");
        gw__sq_date(q, &c->b, lo ? d->from : d->to, ts);
        return;
    }
    if (d->negate)
        gw__sq_put(q, &c->b, "NOT (");
    if (lo) {
        gw__sq_col(q, &c->b, alias, column);
        gw__sq_put(q, &c->b, " >= ");
        gw__sq_date(q, &c->b, d->from, ts);
    }
    if (hi) {
        gw__sq_put(q, &c->b, lo ? " AND " : "");
        gw__sq_col(q, &c->b, alias, column);
        gw__sq_put(q, &c->b, " < ");
        gw__sq_date(q, &c->b, d->to, ts);
    }
    if (d->negate)
        gw__sq_put(q, &c->b, ")");
}

/* A node's subtree as a path prefix, unless the path has LIKE wildcards. */
static int like_safe(const gw_tax_node_t *n)
{
    return strpbrk(n->path, "%_\\") == NULL;
}

/* Leaf names of the plan's categories (leaves themselves, and the leaves
 * under nodes whose path can't be a LIKE prefix). */
static void cat_names(gw__sq_t *q, gw_buf_t *b, size_t *n)
{
    const gw_plan_t *p = q->p;
    for (size_t i = 0; i < p->f.n_cats; i++) {
        const gw_tax_node_t *c = p->f.cats[i];
        for (size_t k = 0; k < p->tax->n_leaves; k++) {
            const gw_tax_node_t *l = &p->tax->nodes[p->tax->leaves[k]];
            size_t pl = strlen(c->path);
            int under = l == c || (!c->is_leaf && !like_safe(c) && strncmp(l->path, c->path, pl) == 0 &&
                                   strncmp(l->path + pl, " > ", 3) == 0);
            if (!under)
                continue;
            gw__sq_put(q, b, *n > 0 ? ", " : "");
            gw__sq_lit(q, b, l->name);
            (*n)++;
        }
    }
}

/* The category condition on c.name / c.path. */
void gw__sq_cat_cond(gw__sq_t *q, gw__conds_t *c)
{
    const gw_plan_t *p = q->p;
    gw_buf_t names;
    size_t nn = 0, terms = 0;
    if (p->f.n_cats == 0)
        return;
    gw_buf_init(&names, GW_PLAN_SQL_MAX);
    cat_names(q, &names, &nn);
    for (size_t i = 0; i < p->f.n_cats; i++)
        terms += !p->f.cats[i]->is_leaf && like_safe(p->f.cats[i]);
    terms += nn > 0;
    gw__sq_and(q, c);
    gw__sq_put(q, &c->b, "%s", p->f.cats_negate ? "NOT (" : terms > 1 ? "(" : "");
    size_t k = 0;
    if (nn > 0) {
        gw__sq_col(q, &c->b, 'c', "name");
        gw__sq_put(q, &c->b, nn == 1 ? " = %s" : " IN (%s)", names.ptr);
        k++;
    }
    for (size_t i = 0; i < p->f.n_cats; i++) {
        const gw_tax_node_t *n = p->f.cats[i];
        if (n->is_leaf || !like_safe(n))
            continue;
        gw__sq_put(q, &c->b, k++ > 0 ? " OR " : "");
        gw__sq_col(q, &c->b, 'c', "path");
        gw__sq_put(q, &c->b, " LIKE ");
        gw_buf_t pat;
        gw_buf_init(&pat, 4096);
        gw__sq_put(q, &pat, "%s > %%", n->path);
        gw__sq_lit(q, &c->b, pat.ptr != NULL ? pat.ptr : "");
        gw_buf_free(&pat);
    }
    gw__sq_put(q, &c->b, "%s", p->f.cats_negate || terms > 1 ? ")" : "");
    gw_buf_free(&names);
}

/* Conditions on skus (alias s). */
void gw__sq_s_conds(gw__sq_t *q, gw__conds_t *c)
{
    const gw_plan_filters_t *f = &q->p->f;
    set_cond(q, c, 's', "brand", &f->brands);
    set_cond(q, c, 's', "color", &f->colors);
    set_cond(q, c, 's', "material", &f->materials);
    if (f->active >= 0) {
        gw__sq_and(q, c);
        if (q->ch)
            gw__sq_put(q, &c->b, "is_active = %d", f->active);
        else
            gw__sq_put(q, &c->b, f->active ? "s.is_active" : "NOT s.is_active");
    }
    gw__sq_num_cond(q, c, 's', "price_usd", &f->price);
    days_cond(q, c, 's', "launched_on", &f->launched, 0);
    if (f->title[0] != '\0') {
        gw_buf_t pat;
        gw_buf_init(&pat, 256);
        gw__sq_put(q, &pat, "%%%s%%", f->title);
        gw__sq_and(q, c);
        gw__sq_put(q, &c->b, "%s(", q->ch ? "lowerUTF8" : q->t->dialect == GW_DIALECT_BIGQUERY ? "LOWER" : "lower");
        gw__sq_col(q, &c->b, 's', "title");
        gw__sq_put(q, &c->b, ") LIKE ");
        gw__sq_lit(q, &c->b, pat.ptr != NULL ? pat.ptr : "%");
        gw_buf_free(&pat);
    }
}

void gw__sq_sku_ids(gw__sq_t *q, gw__conds_t *c, char alias)
{
    const gw_plan_filters_t *f = &q->p->f;
    if (f->n_sku_ids == 0)
        return;
    gw__sq_and(q, c);
    gw__sq_col(q, &c->b, alias, "sku_id");
    gw__sq_put(q, &c->b, f->n_sku_ids == 1 ? " = " : " IN (");
    for (size_t i = 0; i < f->n_sku_ids; i++)
        gw__sq_put(q, &c->b, "%s%lld", i > 0 ? ", " : "", (long long)f->sku_ids[i]);
    gw__sq_put(q, &c->b, f->n_sku_ids == 1 ? "" : ")");
}

/* Conditions on warehouses (alias w). */
void gw__sq_w_conds(gw__sq_t *q, gw__conds_t *c)
{
    const gw_plan_filters_t *f = &q->p->f;
    set_cond(q, c, 'w', "region", &f->regions);
    set_cond(q, c, 'w', "state", &f->states);
    set_cond(q, c, 'w', "city", &f->cities);
    set_cond(q, c, 'w', "code", &f->warehouses);
}

/* Conditions on inventory rows (alias i). */
void gw__sq_i_conds(gw__sq_t *q, gw__conds_t *c)
{
    const gw_plan_t *p = q->p;
    const gw_plan_filters_t *f = &p->f;
    days_cond(q, c, 'i', "updated_at", &f->updated, 1);
    gw__sq_num_cond(q, c, 'i', "on_hand", &f->on_hand);
    gw__sq_num_cond(q, c, 'i', "reserved", &f->reserved);
    if (f->reorder != GW_CMP_NONE) {
        gw__sq_and(q, c);
        gw__sq_col(q, &c->b, 'i', "on_hand");
        gw__sq_put(q, &c->b, "%s", cmp_op(f->reorder));
        gw__sq_col(q, &c->b, 'i', "reorder_point");
    }
    if (p->in_stock && f->on_hand.op == GW_CMP_NONE) {
        gw__sq_and(q, c);
        gw__sq_col(q, &c->b, 'i', "on_hand");
        gw__sq_put(q, &c->b, " > 0");
    }
}

/* ---- which tables a plan touches ---- */

int gw__sq_has_s(const gw_plan_t *p)
{
    const gw_plan_filters_t *f = &p->f;
    return f->brands.n || f->colors.n || f->materials.n || f->active >= 0 || f->price.op != GW_CMP_NONE ||
           f->launched.has || f->title[0] != '\0';
}

int gw__sq_has_w(const gw_plan_t *p)
{
    const gw_plan_filters_t *f = &p->f;
    return f->regions.n || f->states.n || f->cities.n || f->warehouses.n;
}

int gw__sq_has_i(const gw_plan_t *p)
{
    const gw_plan_filters_t *f = &p->f;
    return f->updated.has || f->on_hand.op != GW_CMP_NONE || f->reserved.op != GW_CMP_NONE ||
           f->reorder != GW_CMP_NONE || p->in_stock || p->skucond != GW_SKUCOND_NONE;
}

/* The table a dimension lives in: 'w', 's' or 'c'. */
char gw__sq_dim_table(gw_dim_t d)
{
    switch (d) {
    case GW_DIM_REGION:
    case GW_DIM_WAREHOUSE:
    case GW_DIM_CITY:
    case GW_DIM_STATE: return 'w';
    case GW_DIM_CATEGORY:
    case GW_DIM_DEPARTMENT: return 'c';
    default: return 's';
    }
}

/* ---- entry point ---- */

static const char *const measure_names[] = {
    "units", "reserved", "available", "value", "stock_rows", "skus", "price", "brands", "categories",
    "warehouses", "list", "sku_detail", "sku_stock", "warehouse_list", "reorder_point", "share",
};
static const char *const dim_names[] = {
    "none", "region", "warehouse", "city", "state", "brand", "category", "department", "color", "material",
    "is_active", "launch_year",
};
static const char *const status_names[] = {"ok", "out_of_scope", "unsafe", "ambiguous"};

const char *gw_measure_name(gw_measure_t m)
{
    return (size_t)m < sizeof measure_names / sizeof *measure_names ? measure_names[m] : "unknown";
}

const char *gw_dim_name(gw_dim_t d)
{
    return (size_t)d < sizeof dim_names / sizeof *dim_names ? dim_names[d] : "unknown";
}

const char *gw_plan_status_name(gw_plan_status_t s)
{
    return (size_t)s < sizeof status_names / sizeof *status_names ? status_names[s] : "unknown";
}

gw_err_t gw_plan_sql(const gw_plan_t *p, const gw_sql_target_t *t, gw_buf_t *out)
{
    gw__sq_t q;
    if (p == NULL || t == NULL || out == NULL || p->status != GW_PLAN_OK || p->tax == NULL)
        return GW_EINVAL;
    if (t->dialect == GW_DIALECT_BIGQUERY && (t->project == NULL || t->project[0] == '\0'))
        return GW_EINVAL;
    memset(&q, 0, sizeof q);
    q.p = p;
    q.t = t;
    q.ch = t->dialect == GW_DIALECT_CLICKHOUSE;
    q.out = out;
    q.rc = GW_OK;
    if (q.ch)
        gw__sq_clickhouse(&q);
    else
        gw__sq_joined(&q);
    return q.rc;
}

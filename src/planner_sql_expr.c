/* planner_sql_expr.c - the measure and dimension expressions of the plan
 * renderer (planner_sql_int.h): aggregates per measure and dialect,
 * dimension columns and keys, conditional sums for differences.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "planner_sql_int.h"

char gw__sq_fact(const gw_plan_t *p)
{
    int loc_dim = 0, other_dim = 0;
    for (size_t i = 0; i < p->n_group; i++) {
        if (gw__sq_dim_table(p->group[i]) == 'w')
            loc_dim = 1;
        else
            other_dim = 1;
    }
    switch (p->measure) {
    case GW_M_SHARE: return 's';
    case GW_M_SKUS:
    case GW_M_PRICE:
    case GW_M_BRANDS:
    case GW_M_CATEGORIES: return loc_dim ? 'i' : 's';
    case GW_M_WAREHOUSES:
        return other_dim || gw__sq_has_s(p) || gw__sq_has_i(p) || p->f.n_cats || p->f.n_sku_ids ? 'i' : 'w';
    default: return 'i';
    }
}

int gw__sq_price_by_location(const gw_plan_t *p)
{
    return p->measure == GW_M_PRICE && gw__sq_fact(p) == 'i' &&
           (p->agg == GW_AGG_AVG || p->agg == GW_AGG_MEDIAN || p->agg == GW_AGG_TOTAL);
}

/* The per-row value a measure aggregates, or NULL for counts. */
static const char *inner_value(gw__sq_t *q, gw_measure_t m)
{
    switch (m) {
    case GW_M_UNITS: return q->ch ? "on_hand" : "i.on_hand";
    case GW_M_RESERVED: return q->ch ? "reserved" : "i.reserved";
    case GW_M_AVAILABLE: return q->ch ? "on_hand - reserved" : "i.on_hand - i.reserved";
    case GW_M_VALUE: return q->ch ? "on_hand * price_usd" : "i.on_hand * s.price_usd";
    case GW_M_PRICE: return q->ch ? "price_usd" : "s.price_usd";
    case GW_M_REORDER: return q->ch ? "reorder_point" : "i.reorder_point";
    default: return NULL;
    }
}

static const char *base_alias(gw_measure_t m)
{
    switch (m) {
    case GW_M_UNITS: return "units";
    case GW_M_RESERVED: return "reserved";
    case GW_M_AVAILABLE: return "available";
    case GW_M_VALUE: return "value_usd";
    case GW_M_STOCK_ROWS: return "stock_rows";
    case GW_M_SKUS: return "skus";
    case GW_M_PRICE: return "price";
    case GW_M_BRANDS: return "brands";
    case GW_M_CATEGORIES: return "categories";
    case GW_M_WAREHOUSES: return "warehouses";
    case GW_M_REORDER: return "reorder_point";
    default: return "n";
    }
}

static gw_agg_t eff_agg(const gw_plan_t *p)
{
    if (p->measure == GW_M_PRICE && p->agg == GW_AGG_TOTAL)
        return GW_AGG_AVG;
    if (inner_value(&(gw__sq_t){0}, p->measure) == NULL || p->measure == GW_M_VALUE)
        return GW_AGG_TOTAL; /* counts and value only total */
    return p->agg;
}

const char *gw__sq_measure_alias(const gw_plan_t *p)
{
    /* the combinations are few and fixed: spelled out, indexed by gw_agg_t */
    static const char *const table[][6] = {
        {"units", "avg_units", "min_units", "max_units", "min_units", "median_units"},
        {"reserved", "avg_reserved", "min_reserved", "max_reserved", "min_reserved", "median_reserved"},
        {"available", "avg_available", "min_available", "max_available", "min_available", "median_available"},
        {"avg_price", "avg_price", "min_price", "max_price", "min_price", "median_price"},
        {"reorder_point", "avg_reorder_point", "min_reorder_point", "max_reorder_point", "min_reorder_point",
         "median_reorder_point"},
    };
    gw_agg_t a = eff_agg(p);
    if (p->measure == GW_M_SHARE)
        return p->share_active ? "pct_active" : "pct_inactive";
    switch (p->measure) {
    case GW_M_UNITS: return table[0][a];
    case GW_M_RESERVED: return table[1][a];
    case GW_M_AVAILABLE: return table[2][a];
    case GW_M_PRICE: return table[3][a];
    case GW_M_REORDER: return table[4][a];
    default: return base_alias(p->measure);
    }
}

/* A total with no groups is 0 over no rows, not NULL (ClickHouse's sum()
 * already is). */
static int total0(const gw_plan_t *p)
{
    return p->n_group == 0 && !p->difference;
}

/* One aggregate of v (NULL: a count) in the dialect. */
static void agg_of(gw__sq_t *q, gw_buf_t *b, gw_agg_t a, const char *v, char fact)
{
    const gw_plan_t *p = q->p;
    int ch = q->ch, bq = q->t->dialect == GW_DIALECT_BIGQUERY;
    if (v == NULL) {
        const char *col = p->measure == GW_M_SKUS ? "sku_id"
                          : p->measure == GW_M_BRANDS ? "brand"
                          : p->measure == GW_M_CATEGORIES ? "category_id"
                          : p->measure == GW_M_WAREHOUSES ? "warehouse_id" : NULL;
        int distinct = col != NULL && !(p->measure == GW_M_SKUS && fact == 's') &&
                       !(p->measure == GW_M_WAREHOUSES && fact == 'w');
        if (!distinct)
            gw__sq_put(q, b, ch ? "count()" : "COUNT(*)");
        else if (ch)
            gw__sq_put(q, b, "count(DISTINCT %s)", col);
        else
            gw__sq_put(q, b, "COUNT(DISTINCT %c.%s)", p->measure == GW_M_BRANDS || p->measure == GW_M_CATEGORIES
                                                              ? 's' : 'i', col);
        return;
    }
    if (p->measure == GW_M_VALUE) {
        gw__sq_put(q, b, ch ? "round(sum(%s), 2)" : total0(p) ? "COALESCE(ROUND(SUM(%s), 2), 0)" : "ROUND(SUM(%s), 2)", v);
        return;
    }
    switch (a) {
    case GW_AGG_AVG: gw__sq_put(q, b, ch ? "round(avg(%s), 2)" : "ROUND(AVG(%s), 2)", v); break;
    case GW_AGG_MIN:
    case GW_AGG_MINMAX: gw__sq_put(q, b, ch ? "min(%s)" : "MIN(%s)", v); break;
    case GW_AGG_MAX: gw__sq_put(q, b, ch ? "max(%s)" : "MAX(%s)", v); break;
    case GW_AGG_MEDIAN:
        if (ch)
            gw__sq_put(q, b, "medianExact(%s)", v);
        else if (bq)
            gw__sq_put(q, b, "APPROX_QUANTILES(%s, 100)[OFFSET(50)]", v);
        else
            gw__sq_put(q, b, "MEDIAN(%s)", v);
        break;
    default: gw__sq_put(q, b, ch ? "sum(%s)" : total0(p) ? "COALESCE(SUM(%s), 0)" : "SUM(%s)", v); break;
    }
}

/* The percentage of (in)active SKUs: 100 x matching / all, 2 decimals. */
static void share_expr(gw__sq_t *q, gw_buf_t *b)
{
    int a = q->p->share_active;
    if (q->ch)
        gw__sq_put(q, b, "round(100 * countIf(is_active = %d) / count(), 2)", a);
    else
        gw__sq_put(q, b, "ROUND(100.0 * SUM(CASE WHEN %ss.is_active THEN 1 ELSE 0 END) / COUNT(*), 2)", a ? "" : "NOT ");
}

void gw__sq_measure_expr(gw__sq_t *q, gw_buf_t *b, char fact)
{
    if (q->p->measure == GW_M_SHARE) {
        share_expr(q, b);
        return;
    }
    agg_of(q, b, eff_agg(q->p), inner_value(q, q->p->measure), fact);
}

void gw__sq_measure(gw__sq_t *q, gw_buf_t *b, char fact)
{
    if (q->p->measure == GW_M_SHARE) {
        share_expr(q, b);
        gw__sq_put(q, b, " AS %s", gw__sq_measure_alias(q->p));
        return;
    }
    gw_agg_t a = eff_agg(q->p);
    const char *v = inner_value(q, q->p->measure);
    agg_of(q, b, a, v, fact);
    gw__sq_put(q, b, " AS %s", gw__sq_measure_alias(q->p));
    if (a == GW_AGG_MINMAX && v != NULL) {
        gw__sq_put(q, b, ", ");
        agg_of(q, b, GW_AGG_MAX, v, fact);
        gw__sq_put(q, b, " AS max_%s", q->p->measure == GW_M_PRICE ? "price" : base_alias(q->p->measure));
    }
}

void gw__sq_measure_if(gw__sq_t *q, gw_buf_t *b, char fact, const char *cond)
{
    const char *v = inner_value(q, q->p->measure);
    (void)fact;
    if (q->ch) {
        if (v == NULL)
            gw__sq_put(q, b, "countIf(%s)", cond);
        else
            gw__sq_put(q, b, q->p->measure == GW_M_VALUE ? "round(sumIf(%s, %s), 2)" : "sumIf(%s, %s)", v, cond);
        return;
    }
    if (v == NULL)
        gw__sq_put(q, b, "SUM(CASE WHEN %s THEN 1 ELSE 0 END)", cond);
    else
        gw__sq_put(q, b, q->p->measure == GW_M_VALUE ? "ROUND(SUM(CASE WHEN %s THEN %s ELSE 0 END), 2)"
                                                     : "SUM(CASE WHEN %s THEN %s ELSE 0 END)",
                   cond, v);
}

/* ---- dimensions ---- */

static void dept_expr(gw__sq_t *q, gw_buf_t *b)
{
    if (q->dept_col)
        gw__sq_put(q, b, "c.department");
    else if (q->ch)
        gw__sq_put(q, b, "splitByString(' > ', path)[1]");
    else if (q->t->dialect == GW_DIALECT_BIGQUERY)
        gw__sq_put(q, b, "SPLIT(c.path, ' > ')[OFFSET(0)]");
    else
        gw__sq_put(q, b, "split_part(c.path, ' > ', 1)");
}

/* The department of a categories row c, for the derived table of
 * planner_sql_join.c's categories_table: its first path segment. */
void gw__sq_dept_of_path(gw__sq_t *q, gw_buf_t *b)
{
    const char *bq = "SPLIT(c.path, ' > ')[OFFSET(0)]", *duck = "split_part(c.path, ' > ', 1)";
    gw__sq_put(q, b, "%s", q->t->dialect == GW_DIALECT_BIGQUERY ? bq : duck);
}

static void year_expr(gw__sq_t *q, gw_buf_t *b)
{
    if (q->ch)
        gw__sq_put(q, b, "toYear(launched_on)");
    else if (q->t->dialect == GW_DIALECT_BIGQUERY)
        gw__sq_put(q, b, "EXTRACT(YEAR FROM s.launched_on)");
    else
        gw__sq_put(q, b, "year(s.launched_on)");
}

const char *gw__sq_dim_column(gw_dim_t d)
{
    switch (d) {
    case GW_DIM_REGION: return "region";
    case GW_DIM_WAREHOUSE: return "code";
    case GW_DIM_CITY: return "city";
    case GW_DIM_STATE: return "state";
    case GW_DIM_BRAND: return "brand";
    case GW_DIM_COLOR: return "color";
    case GW_DIM_MATERIAL: return "material";
    case GW_DIM_ACTIVE: return "is_active";
    default: return NULL;
    }
}

/* Select items. On ClickHouse, category/department/launch_year are
 * computed in the subquery that reads their table, so only the alias is
 * selected here (launch_year from skus when skus is the fact). */
void gw__sq_dim_select(gw__sq_t *q, gw_buf_t *b, gw_dim_t d)
{
    switch (d) {
    case GW_DIM_WAREHOUSE:
        gw__sq_col(q, b, 'w', "code");
        gw__sq_put(q, b, ", ");
        gw__sq_col(q, b, 'w', "city");
        return;
    case GW_DIM_CATEGORY: gw__sq_put(q, b, q->ch ? "category" : "c.name AS category"); return;
    case GW_DIM_DEPARTMENT:
        if (q->ch) {
            gw__sq_put(q, b, "department");
            return;
        }
        dept_expr(q, b);
        gw__sq_put(q, b, " AS department");
        return;
    case GW_DIM_LAUNCH_YEAR:
        if (q->ch && gw__sq_fact(q->p) != 's') {
            gw__sq_put(q, b, "launch_year");
            return;
        }
        year_expr(q, b);
        gw__sq_put(q, b, " AS launch_year");
        return;
    default: gw__sq_col(q, b, gw__sq_dim_table(d), gw__sq_dim_column(d) ? gw__sq_dim_column(d) : "region");
    }
}

void gw__sq_dim_key(gw__sq_t *q, gw_buf_t *b, gw_dim_t d)
{
    switch (d) {
    case GW_DIM_WAREHOUSE:
        gw__sq_col(q, b, 'w', "code");
        gw__sq_put(q, b, ", ");
        gw__sq_col(q, b, 'w', "city");
        return;
    case GW_DIM_CATEGORY: gw__sq_put(q, b, q->ch ? "category" : "c.name"); return;
    case GW_DIM_DEPARTMENT: gw__sq_put(q, b, "department"); return;
    case GW_DIM_LAUNCH_YEAR: gw__sq_put(q, b, "launch_year"); return;
    default: gw__sq_col(q, b, gw__sq_dim_table(d), gw__sq_dim_column(d) ? gw__sq_dim_column(d) : "region");
    }
}

const char *gw__sq_dim_plural(gw_dim_t d)
{
    static const char *const names[] = {"n",      "regions",    "warehouses", "cities",    "states",
                                        "brands", "categories", "departments", "colors",   "materials",
                                        "statuses", "years"};
    return (size_t)d < sizeof names / sizeof *names ? names[d] : "n";
}

const gw_plan_set_t *gw__sq_dim_set(const gw_plan_t *p, gw_dim_t d)
{
    switch (d) {
    case GW_DIM_REGION: return &p->f.regions;
    case GW_DIM_WAREHOUSE: return &p->f.warehouses;
    case GW_DIM_CITY: return &p->f.cities;
    case GW_DIM_STATE: return &p->f.states;
    case GW_DIM_BRAND: return &p->f.brands;
    case GW_DIM_COLOR: return &p->f.colors;
    case GW_DIM_MATERIAL: return &p->f.materials;
    default: return NULL;
    }
}

void gw__sq_slug(const char *v, char *out, size_t outlen)
{
    size_t k = 0;
    if (outlen < 4)
        return;
    if (!isalpha((unsigned char)v[0]))
        out[k++] = 'v', out[k++] = '_';
    for (; *v != '\0' && k + 1 < outlen; v++) {
        unsigned char c = (unsigned char)*v;
        if (isalnum(c))
            out[k++] = (char)tolower(c);
        else if (k > 0 && out[k - 1] != '_')
            out[k++] = '_';
    }
    while (k > 1 && out[k - 1] == '_')
        k--;
    out[k] = '\0';
}

/* "<dim> = <value>" for a comparison: the column with its table (joined
 * queries) or bare (ClickHouse's flat query). */
static void difference_cond(gw__sq_t *q, gw_buf_t *c, gw_dim_t d, const char *value, int qualified)
{
    if (qualified) {
        gw__sq_col(q, c, gw__sq_dim_table(d), gw__sq_dim_column(d));
        gw__sq_put(q, c, " = ");
    } else {
        gw__sq_put(q, c, "%s = ", gw__sq_dim_column(d));
    }
    gw__sq_lit(q, c, value);
}

void gw__sq_difference_select(gw__sq_t *q, gw_buf_t *b, char fact, int qualified)
{
    gw_dim_t d = q->p->group[0];
    const gw_plan_set_t *set = gw__sq_dim_set(q->p, d);
    gw_buf_t ca, cb;
    char sa[40], sb[40];
    gw_buf_init(&ca, 1024);
    gw_buf_init(&cb, 1024);
    difference_cond(q, &ca, d, set->v[0], qualified);
    difference_cond(q, &cb, d, set->v[1], qualified);
    gw__sq_slug(set->v[0], sa, sizeof sa);
    gw__sq_slug(set->v[1], sb, sizeof sb);
    if (strcmp(sa, sb) == 0)
        memcpy(sb + strlen(sb) - (strlen(sb) > 30 ? 2 : 0), "_2", 3);
    if (q->rc == GW_OK) {
        gw__sq_measure_if(q, b, fact, ca.ptr);
        gw__sq_put(q, b, " AS %s, ", sa);
        gw__sq_measure_if(q, b, fact, cb.ptr);
        gw__sq_put(q, b, " AS %s, ", sb);
        gw__sq_measure_if(q, b, fact, ca.ptr);
        gw__sq_put(q, b, " - ");
        gw__sq_measure_if(q, b, fact, cb.ptr);
        gw__sq_put(q, b, " AS difference");
    }
    gw_buf_free(&ca);
    gw_buf_free(&cb);
}

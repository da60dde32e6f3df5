/* planner_sql_join.c - plan to SQL for DuckDB and BigQuery: the fact
 * table (inventory i, skus s or warehouses w) joined to the tables its
 * filters and groups need (warehouses w, skus s, categories c); filters on
 * inventory rows of a skus query become `s.sku_id IN (SELECT ...)`.
 */
#include <string.h>

#include "planner_sql_int.h"

typedef struct jq {
    gw__sq_t *q;
    char fact;
    int need_w, need_s, need_c;
} jq_t;

static void dims_list(gw__sq_t *q, gw_buf_t *b, int keys)
{
    for (size_t i = 0; i < q->p->n_group; i++) {
        gw__sq_put(q, b, i > 0 ? ", " : "");
        if (keys)
            gw__sq_dim_key(q, b, q->p->group[i]);
        else
            gw__sq_dim_select(q, b, q->p->group[i]);
    }
}

/* What the fact must be joined to. */
static void plan_joins(jq_t *j)
{
    const gw_plan_t *p = j->q->p;
    int dim_w = 0, dim_s = 0, dim_c = 0;
    for (size_t i = 0; i < p->n_group; i++) {
        char t = gw__sq_dim_table(p->group[i]);
        dim_w |= t == 'w';
        dim_s |= t == 's';
        dim_c |= t == 'c';
    }
    j->need_c = p->f.n_cats > 0 || dim_c;
    if (j->fact == 'i') {
        j->need_w = gw__sq_has_w(p) || dim_w;
        j->need_s = gw__sq_has_s(p) || j->need_c || dim_s || p->measure == GW_M_VALUE ||
                    p->measure == GW_M_PRICE || p->measure == GW_M_BRANDS || p->measure == GW_M_CATEGORIES;
    } else if (j->fact == 's') {
        j->need_s = 1;
    }
}

/* "categories c", or with q->dept_col a derived table that splits each
 * path once per category (908 rows) instead of once per joined SKU row:
 * 5x faster department groups at 10M SKUs. */
static void categories_table(gw__sq_t *q, gw_buf_t *b)
{
    if (!q->dept_col) {
        gw__sq_table(q, b, "categories", 'c');
        return;
    }
    gw__sq_put(q, b, "(SELECT c.category_id, c.name, c.path, ");
    gw__sq_dept_of_path(q, b);
    gw__sq_put(q, b, " AS department FROM ");
    gw__sq_table(q, b, "categories", 'c');
    gw__sq_put(q, b, ") c");
}

static void from_joins(jq_t *j, gw_buf_t *b)
{
    gw__sq_t *q = j->q;
    gw__sq_put(q, b, " FROM ");
    if (j->fact == 'i') {
        gw__sq_table(q, b, "inventory", 'i');
        if (j->need_w) {
            gw__sq_put(q, b, " JOIN ");
            gw__sq_table(q, b, "warehouses", 'w');
            gw__sq_put(q, b, " ON w.warehouse_id = i.warehouse_id");
        }
        if (j->need_s) {
            gw__sq_put(q, b, " JOIN ");
            gw__sq_table(q, b, "skus", 's');
            gw__sq_put(q, b, " ON s.sku_id = i.sku_id");
        }
    } else if (j->fact == 's') {
        gw__sq_table(q, b, "skus", 's');
    } else {
        gw__sq_table(q, b, "warehouses", 'w');
    }
    if (j->need_c && j->fact != 'w') {
        gw__sq_put(q, b, " JOIN ");
        categories_table(q, b);
        gw__sq_put(q, b, " ON c.category_id = s.category_id");
    }
}

/* GROUP BY sku_id HAVING of a per-SKU condition over its inventory rows. */
static void skucond_having(gw__sq_t *q, gw_buf_t *b)
{
    const char *agg = q->p->skucond == GW_SKUCOND_WAREHOUSES ? "COUNT(*)" : "SUM(i.on_hand)";
    gw__sq_put(q, b, " GROUP BY i.sku_id HAVING ");
    gw__sq_num_expr(q, b, agg, &q->p->skucond_num);
}

/* SELECT i.sku_id FROM inventory i [JOIN w] WHERE ... [GROUP BY ... HAVING].
 * A grouped subquery under filters on skus or categories is first narrowed
 * to those SKUs: the per-SKU sums then run over their rows only, not over
 * every inventory row (10x at 10M SKUs). */
static void inventory_subquery(gw__sq_t *q, gw_buf_t *b)
{
    gw__conds_t c, sc;
    gw__conds_init(&c);
    gw__conds_init(&sc);
    gw__sq_i_conds(q, &c);
    gw__sq_w_conds(q, &c);
    if (q->p->skucond != GW_SKUCOND_NONE) {
        gw__sq_s_conds(q, &sc);
        gw__sq_cat_cond(q, &sc);
    }
    if (sc.n > 0) {
        gw__sq_and(q, &c);
        gw__sq_put(q, &c.b, "i.sku_id IN (SELECT s.sku_id FROM ");
        gw__sq_table(q, &c.b, "skus", 's');
        if (q->p->f.n_cats > 0) {
            gw__sq_put(q, &c.b, " JOIN ");
            gw__sq_table(q, &c.b, "categories", 'c');
            gw__sq_put(q, &c.b, " ON c.category_id = s.category_id");
        }
        gw__sq_put(q, &c.b, " WHERE %s)", sc.b.ptr);
    }
    gw__sq_put(q, b, "SELECT i.sku_id FROM ");
    gw__sq_table(q, b, "inventory", 'i');
    if (gw__sq_has_w(q->p)) {
        gw__sq_put(q, b, " JOIN ");
        gw__sq_table(q, b, "warehouses", 'w');
        gw__sq_put(q, b, " ON w.warehouse_id = i.warehouse_id");
    }
    if (c.n > 0)
        gw__sq_put(q, b, " WHERE %s", c.b.ptr);
    if (q->p->skucond != GW_SKUCOND_NONE)
        skucond_having(q, b);
    gw_buf_free(&c.b);
    gw_buf_free(&sc.b);
}

static void where_conds(jq_t *j, gw__conds_t *c)
{
    gw__sq_t *q = j->q;
    const gw_plan_t *p = q->p;
    if (j->fact == 'i') {
        gw__sq_i_conds(q, c);
        if (p->skucond != GW_SKUCOND_NONE) { /* units of the SKUs that pass a per-SKU test */
            gw__sq_and(q, c);
            gw__sq_put(q, &c->b, "i.sku_id IN (SELECT i.sku_id FROM ");
            gw__sq_table(q, &c->b, "inventory", 'i');
            skucond_having(q, &c->b);
            gw__sq_put(q, &c->b, ")");
        }
        gw__sq_w_conds(q, c);
        gw__sq_sku_ids(q, c, 'i');
    }
    if (j->fact == 'w')
        gw__sq_w_conds(q, c);
    if (j->need_s) {
        gw__sq_s_conds(q, c);
        gw__sq_cat_cond(q, c);
    }
    if (j->fact == 's') {
        gw__sq_sku_ids(q, c, 's');
        if (gw__sq_has_i(p) || gw__sq_has_w(p)) {
            gw__sq_and(q, c);
            gw__sq_put(q, &c->b, "s.sku_id IN (");
            inventory_subquery(q, &c->b);
            gw__sq_put(q, &c->b, ")");
        }
    }
}

static void order_limit(gw__sq_t *q, gw_buf_t *b)
{
    const gw_plan_t *p = q->p;
    if (p->sort == GW_SORT_MEASURE) {
        gw__sq_put(q, b, " ORDER BY %s %s", gw__sq_measure_alias(p), p->desc ? "DESC" : "ASC");
        if (p->n_group > 0) {
            gw__sq_put(q, b, ", ");
            dims_list(q, b, 1);
        }
    } else if (p->n_group > 0) {
        gw__sq_put(q, b, " ORDER BY ");
        dims_list(q, b, 1);
    }
    if (p->limit > 0)
        gw__sq_put(q, b, " LIMIT %zu", p->limit);
}

/* SUM(CASE WHEN <dim> = 'A' ...) AS a, ... AS b, (a - b) AS difference */
static void difference_select(jq_t *j, gw_buf_t *b) { gw__sq_difference_select(j->q, b, j->fact, 1); }

/* Average prices per location: SKUs count once per group of a derived
 * table of distinct (location, sku_id) pairs, not once per stock row. */
static void price_by_location(gw__sq_t *q)
{
    const gw_plan_t *p = q->p;
    gw__conds_t ic, sc;
    gw__conds_init(&ic);
    gw__conds_init(&sc);
    gw__sq_i_conds(q, &ic);
    gw__sq_w_conds(q, &ic);
    gw__sq_sku_ids(q, &ic, 'i');
    gw__sq_s_conds(q, &sc);
    gw__sq_cat_cond(q, &sc);
    gw__sq_put(q, q->out, "SELECT ");
    q->w_is_t = 1;
    dims_list(q, q->out, 0);
    gw__sq_put(q, q->out, ", ");
    gw__sq_measure(q, q->out, 'i');
    gw__sq_put(q, q->out, " FROM (SELECT DISTINCT ");
    q->w_is_t = 0;
    for (size_t i = 0; i < p->n_group; i++)
        if (gw__sq_dim_table(p->group[i]) == 'w') {
            gw__sq_dim_select(q, q->out, p->group[i]);
            gw__sq_put(q, q->out, ", ");
        }
    gw__sq_put(q, q->out, "i.sku_id FROM ");
    gw__sq_table(q, q->out, "inventory", 'i');
    gw__sq_put(q, q->out, " JOIN ");
    gw__sq_table(q, q->out, "warehouses", 'w');
    gw__sq_put(q, q->out, " ON w.warehouse_id = i.warehouse_id%s%s) t JOIN ", ic.n ? " WHERE " : "", ic.n ? ic.b.ptr : "");
    gw__sq_table(q, q->out, "skus", 's');
    gw__sq_put(q, q->out, " ON s.sku_id = t.sku_id");
    int need_c = p->f.n_cats > 0;
    for (size_t i = 0; i < p->n_group; i++)
        need_c |= gw__sq_dim_table(p->group[i]) == 'c';
    if (need_c) {
        gw__sq_put(q, q->out, " JOIN ");
        categories_table(q, q->out);
        gw__sq_put(q, q->out, " ON c.category_id = s.category_id");
    }
    if (sc.n > 0)
        gw__sq_put(q, q->out, " WHERE %s", sc.b.ptr);
    q->w_is_t = 1;
    gw__sq_put(q, q->out, " GROUP BY ");
    dims_list(q, q->out, 1);
    order_limit(q, q->out);
    q->w_is_t = 0;
    gw_buf_free(&ic.b);
    gw_buf_free(&sc.b);
}

static void aggregate(gw__sq_t *q)
{
    const gw_plan_t *p = q->p;
    jq_t j = {q, gw__sq_fact(p), 0, 0, 0};
    gw__conds_t c;
    plan_joins(&j);
    gw__conds_init(&c);
    where_conds(&j, &c);
    if (p->count_groups)
        gw__sq_put(q, q->out, "SELECT COUNT(*) AS %s FROM (SELECT ", gw__sq_dim_plural(p->group[0]));
    else
        gw__sq_put(q, q->out, "SELECT ");
    if (p->difference) {
        difference_select(&j, q->out);
    } else if (p->count_groups) {
        dims_list(q, q->out, 0);
    } else {
        dims_list(q, q->out, 0);
        gw__sq_put(q, q->out, p->n_group > 0 ? ", " : "");
        gw__sq_measure(q, q->out, j.fact);
    }
    from_joins(&j, q->out);
    if (c.n > 0)
        gw__sq_put(q, q->out, " WHERE %s", c.b.ptr);
    if (p->n_group > 0 && !p->difference) {
        gw__sq_put(q, q->out, " GROUP BY ");
        dims_list(q, q->out, 1);
    }
    if (p->having.op != GW_CMP_NONE && !p->difference) {
        gw_buf_t h;
        gw_buf_init(&h, 1024);
        gw__sq_measure_expr(q, &h, j.fact);
        gw__sq_put(q, q->out, " HAVING ");
        gw__sq_num_expr(q, q->out, h.ptr != NULL ? h.ptr : "", &p->having);
        gw_buf_free(&h);
    }
    if (p->count_groups)
        gw__sq_put(q, q->out, ") t");
    else if (!p->difference)
        order_limit(q, q->out);
    gw_buf_free(&c.b);
}

/* "How many SKUs are stocked in more than 2 warehouses": count the SKUs of
 * a grouped inventory subquery. */
static void count_skucond(gw__sq_t *q)
{
    gw__sq_put(q, q->out, "SELECT COUNT(*) AS skus FROM (");
    inventory_subquery(q, q->out);
    gw__sq_put(q, q->out, ") t");
}

/* "The 10 SKUs with the most units" with no filter on skus: rank the
 * per-SKU sums of inventory by sku_id alone, then fetch the titles of the
 * top rows (grouping every inventory row by sku_id and title costs 3-4x
 * more at 10M SKUs). Same rows and order as the joined form. */
static void sku_top_units(gw__sq_t *q)
{
    const gw_plan_t *p = q->p;
    jq_t j = {q, 'i', gw__sq_has_w(p), 0, 0};
    const char *dir = p->desc ? "DESC" : "ASC";
    gw__conds_t c;
    gw__conds_init(&c);
    where_conds(&j, &c);
    gw__sq_put(q, q->out, "SELECT s.sku_id, s.title, t.units FROM (SELECT i.sku_id, SUM(i.on_hand) AS units");
    from_joins(&j, q->out);
    if (c.n > 0)
        gw__sq_put(q, q->out, " WHERE %s", c.b.ptr);
    gw__sq_put(q, q->out, " GROUP BY i.sku_id ORDER BY units %s, i.sku_id LIMIT %zu) t JOIN ", dir, p->limit);
    gw__sq_table(q, q->out, "skus", 's');
    gw__sq_put(q, q->out, " ON s.sku_id = t.sku_id ORDER BY t.units %s, s.sku_id", dir);
    gw_buf_free(&c.b);
}

static void sku_list(gw__sq_t *q)
{
    const gw_plan_t *p = q->p;
    if (p->sort == GW_SORT_UNITS && p->limit > 0 && !gw__sq_has_s(p) && p->f.n_cats == 0) {
        sku_top_units(q);
        return;
    }
    jq_t j = {q, 's', 0, 1, p->f.n_cats > 0};
    gw__conds_t c;
    const char *third = p->sort == GW_SORT_LAUNCHED ? "launched_on" : "price_usd";
    int per_sku = p->sort == GW_SORT_UNITS || p->sort == GW_SORT_VALUE;
    const char *agg = p->sort == GW_SORT_VALUE ? "ROUND(SUM(i.on_hand * s.price_usd), 2) AS value_usd"
                                               : "SUM(i.on_hand) AS units";
    if (per_sku) {
        j.fact = 'i';
        j.need_w = gw__sq_has_w(p);
    }
    gw__conds_init(&c);
    where_conds(&j, &c);
    if (per_sku)
        gw__sq_put(q, q->out, "SELECT s.sku_id, s.title, %s", agg);
    else
        gw__sq_put(q, q->out, "SELECT s.sku_id, s.title, s.%s", third);
    from_joins(&j, q->out);
    if (c.n > 0)
        gw__sq_put(q, q->out, " WHERE %s", c.b.ptr);
    if (per_sku)
        gw__sq_put(q, q->out, " GROUP BY s.sku_id, s.title ORDER BY %s %s, s.sku_id",
                   p->sort == GW_SORT_VALUE ? "value_usd" : "units", p->desc ? "DESC" : "ASC");
    else if (p->sort == GW_SORT_NONE)
        gw__sq_put(q, q->out, " ORDER BY s.sku_id");
    else
        gw__sq_put(q, q->out, " ORDER BY s.%s %s, s.sku_id", third, p->desc ? "DESC" : "ASC");
    if (p->limit > 0)
        gw__sq_put(q, q->out, " LIMIT %zu", p->limit);
    gw_buf_free(&c.b);
}

/* The columns of the asked attributes of a SKU, after "s.sku_id, s.title". */
static void attr_columns(gw__sq_t *q, unsigned attrs)
{
    static const char *const cols[] = {"", ", c.name AS category", ", s.brand", ", s.price_usd", ", s.color",
                                       ", s.material", ", s.launched_on", ", s.is_active", ""};
    for (unsigned a = GW_ATTR_CATEGORY; a <= GW_ATTR_TITLE; a++)
        if (attrs & (1u << a))
            gw__sq_put(q, q->out, "%s", cols[a]);
}

static void sku_detail(gw__sq_t *q)
{
    gw__conds_t c;
    unsigned attrs = q->p->attrs;
    gw__conds_init(&c);
    gw__sq_sku_ids(q, &c, 's');
    if (attrs == 0) {
        gw__sq_put(q, q->out, "SELECT s.sku_id, s.title, s.brand, s.category_id, s.price_usd, s.color, s.material, "
                              "s.launched_on, s.is_active FROM ");
    } else {
        gw__sq_put(q, q->out, "SELECT s.sku_id, s.title");
        attr_columns(q, attrs);
        gw__sq_put(q, q->out, " FROM ");
    }
    gw__sq_table(q, q->out, "skus", 's');
    if (attrs & (1u << GW_ATTR_CATEGORY)) {
        gw__sq_put(q, q->out, " JOIN ");
        gw__sq_table(q, q->out, "categories", 'c');
        gw__sq_put(q, q->out, " ON c.category_id = s.category_id");
    }
    gw__sq_put(q, q->out, " WHERE %s ORDER BY s.sku_id", c.b.ptr != NULL ? c.b.ptr : "FALSE");
    gw_buf_free(&c.b);
}

static void sku_stock(gw__sq_t *q)
{
    int many = q->p->f.n_sku_ids > 1;
    gw__conds_t c;
    gw__conds_init(&c);
    gw__sq_sku_ids(q, &c, 'i');
    gw__sq_w_conds(q, &c);
    gw__sq_put(q, q->out, "SELECT %sw.code, i.on_hand, i.reserved, i.updated_at FROM ", many ? "i.sku_id, " : "");
    gw__sq_table(q, q->out, "inventory", 'i');
    gw__sq_put(q, q->out, " JOIN ");
    gw__sq_table(q, q->out, "warehouses", 'w');
    gw__sq_put(q, q->out, " ON w.warehouse_id = i.warehouse_id WHERE %s ORDER BY %sw.code", c.b.ptr,
               many ? "i.sku_id, " : "");
    gw_buf_free(&c.b);
}

static void warehouse_list(gw__sq_t *q)
{
    gw__conds_t c;
    gw__conds_init(&c);
    gw__sq_w_conds(q, &c);
    gw__sq_put(q, q->out, "SELECT w.code, w.name, w.city, w.state, w.region FROM ");
    gw__sq_table(q, q->out, "warehouses", 'w');
    if (c.n > 0)
        gw__sq_put(q, q->out, " WHERE %s", c.b.ptr);
    gw__sq_put(q, q->out, " ORDER BY w.code");
    gw_buf_free(&c.b);
}

void gw__sq_joined(gw__sq_t *q)
{
    const gw_plan_t *p = q->p;
    for (size_t i = 0; i < p->n_group; i++)
        q->dept_col |= p->group[i] == GW_DIM_DEPARTMENT;
    switch (p->measure) {
    case GW_M_SKU_DETAIL: sku_detail(q); return;
    case GW_M_SKU_STOCK: sku_stock(q); return;
    case GW_M_WAREHOUSE_LIST: warehouse_list(q); return;
    case GW_M_LIST: sku_list(q); return;
    default: break;
    }
    if (p->measure == GW_M_SKUS && p->skucond != GW_SKUCOND_NONE && p->n_group == 0 && !gw__sq_has_s(p) &&
        p->f.n_cats == 0 && p->f.n_sku_ids == 0)
        count_skucond(q);
    else if (gw__sq_price_by_location(p) && !p->difference && !p->count_groups && p->having.op == GW_CMP_NONE &&
             p->skucond == GW_SKUCOND_NONE)
        price_by_location(q);
    else
        aggregate(q);
}

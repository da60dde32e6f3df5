/* planner_sql_ch.c - plan to SQL for the ClickHouse 18.16 subset
 * (platform-clickhouse.md 4): unqualified names, filters on other tables
 * as `x IN (SELECT ...)`, and the columns a query groups by from other
 * tables through `ALL INNER JOIN (SELECT key, cols FROM t WHERE ...) USING
 * key`, nesting subqueries so that no SELECT has more than one JOIN.
 */
#include <string.h>

#include "planner_sql_int.h"

typedef struct chq {
    gw__sq_t *q;
    char fact;
    int jw, js, jc; /* joined (not only filtered): warehouses, skus, categories */
    const char *wcols[6], *scols[10], *ccols[4];
    size_t nw, ns, nc;
} chq_t;

static void add_col(const char **v, size_t *n, size_t cap, const char *c)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i], c) == 0)
            return;
    if (*n < cap)
        v[(*n)++] = c;
}


static void put_cols(gw__sq_t *q, gw_buf_t *b, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gw__sq_put(q, b, ", %s", v[i]);
}

/* The columns each joined table must provide. */
static void plan_cols(chq_t *x)
{
    const gw_plan_t *p = x->q->p;
    for (size_t i = 0; i < p->n_group; i++) {
        gw_dim_t d = p->group[i];
        switch (d) {
        case GW_DIM_WAREHOUSE:
            add_col(x->wcols, &x->nw, 6, "code");
            add_col(x->wcols, &x->nw, 6, "city");
            break;
        case GW_DIM_CATEGORY: add_col(x->ccols, &x->nc, 4, "name AS category"); break;
        case GW_DIM_DEPARTMENT: add_col(x->ccols, &x->nc, 4, "splitByString(' > ', path)[1] AS department"); break;
        case GW_DIM_LAUNCH_YEAR: add_col(x->scols, &x->ns, 10, "toYear(launched_on) AS launch_year"); break;
        default:
            if (gw__sq_dim_table(d) == 'w')
                add_col(x->wcols, &x->nw, 6, gw__sq_dim_column(d));
            else
                add_col(x->scols, &x->ns, 10, gw__sq_dim_column(d));
        }
    }
    if (p->measure == GW_M_VALUE || p->measure == GW_M_PRICE)
        add_col(x->scols, &x->ns, 10, "price_usd");
    if (p->measure == GW_M_BRANDS)
        add_col(x->scols, &x->ns, 10, "brand");
    if (p->measure == GW_M_CATEGORIES)
        add_col(x->scols, &x->ns, 10, "category_id");
    if (x->nc > 0) /* categories columns reach the fact through skus */
        for (size_t i = 0; i < x->nc; i++)
            add_col(x->scols, &x->ns, 10, strstr(x->ccols[i], " AS category") ? "category" : "department");
    x->jw = x->nw > 0 && x->fact == 'i';
    x->jc = x->nc > 0;
    x->js = x->ns > 0 && x->fact == 'i';
}

/* sku_id IN (SELECT sku_id FROM skus WHERE ...) or category_id IN (...)
 * when the table is filtered but not joined. */
static void cat_in(gw__sq_t *q, gw__conds_t *c)
{
    gw__conds_t cc;
    if (q->p->f.n_cats == 0)
        return;
    gw__conds_init(&cc);
    gw__sq_cat_cond(q, &cc);
    gw__sq_and(q, c);
    gw__sq_put(q, &c->b, "category_id IN (SELECT category_id FROM categories WHERE %s)", cc.b.ptr);
    gw_buf_free(&cc.b);
}

/* Conditions on skus, with categories as an IN subquery unless joined. */
static void s_conds(chq_t *x, gw__conds_t *c, int cat_joined)
{
    gw__sq_s_conds(x->q, c);
    if (!cat_joined)
        cat_in(x->q, c);
}

static void sku_in(chq_t *x, gw__conds_t *c)
{
    gw__conds_t sc;
    if (!gw__sq_has_s(x->q->p) && x->q->p->f.n_cats == 0)
        return;
    gw__conds_init(&sc);
    s_conds(x, &sc, 0);
    gw__sq_and(x->q, c);
    gw__sq_put(x->q, &c->b, "sku_id IN (SELECT sku_id FROM skus WHERE %s)", sc.b.ptr);
    gw_buf_free(&sc.b);
}

static void warehouse_in(gw__sq_t *q, gw__conds_t *c)
{
    gw__conds_t wc;
    if (!gw__sq_has_w(q->p))
        return;
    gw__conds_init(&wc);
    gw__sq_w_conds(q, &wc);
    gw__sq_and(q, c);
    gw__sq_put(q, &c->b, "warehouse_id IN (SELECT warehouse_id FROM warehouses WHERE %s)", wc.b.ptr);
    gw_buf_free(&wc.b);
}

static void skucond_having(gw__sq_t *q, gw_buf_t *b)
{
    const char *agg = q->p->skucond == GW_SKUCOND_WAREHOUSES ? "count()" : "sum(on_hand)";
    gw__sq_put(q, b, " GROUP BY sku_id HAVING ");
    gw__sq_num_expr(q, b, agg, &q->p->skucond_num);
}

/* SELECT sku_id FROM inventory WHERE ... [GROUP BY sku_id HAVING ...] */
static void inventory_subquery(gw__sq_t *q, gw_buf_t *b)
{
    gw__conds_t c;
    gw__conds_init(&c);
    gw__sq_i_conds(q, &c);
    warehouse_in(q, &c);
    gw__sq_put(q, b, "SELECT sku_id FROM inventory");
    if (c.n > 0)
        gw__sq_put(q, b, " WHERE %s", c.b.ptr);
    if (q->p->skucond != GW_SKUCOND_NONE)
        skucond_having(q, b);
    gw_buf_free(&c.b);
}

/* (SELECT warehouse_id, cols FROM warehouses [WHERE ...]) */
static void w_sub(chq_t *x, gw_buf_t *b)
{
    gw__conds_t c;
    gw__conds_init(&c);
    gw__sq_w_conds(x->q, &c);
    gw__sq_put(x->q, b, "(SELECT warehouse_id");
    put_cols(x->q, b, x->wcols, x->nw);
    gw__sq_put(x->q, b, " FROM warehouses%s%s)", c.n ? " WHERE " : "", c.n ? c.b.ptr : "");
    gw_buf_free(&c.b);
}

/* ALL INNER JOIN (SELECT category_id, cols FROM categories [WHERE ...]) USING category_id */
static void c_join(chq_t *x, gw_buf_t *b)
{
    gw__conds_t c;
    gw__conds_init(&c);
    gw__sq_cat_cond(x->q, &c);
    gw__sq_put(x->q, b, " ALL INNER JOIN (SELECT category_id");
    put_cols(x->q, b, x->ccols, x->nc);
    gw__sq_put(x->q, b, " FROM categories%s%s) USING category_id", c.n ? " WHERE " : "", c.n ? c.b.ptr : "");
    gw_buf_free(&c.b);
}

/* (SELECT sku_id, cols FROM skus [c join] [WHERE ...]) */
static void s_sub(chq_t *x, gw_buf_t *b)
{
    gw__conds_t c;
    gw__conds_init(&c);
    s_conds(x, &c, x->jc);
    gw__sq_put(x->q, b, "(SELECT sku_id");
    for (size_t i = 0; i < x->ns; i++) {
        const char *col = x->scols[i];
        gw__sq_put(x->q, b, ", %s", col);
    }
    gw__sq_put(x->q, b, " FROM skus");
    if (x->jc)
        c_join(x, b);
    gw__sq_put(x->q, b, "%s%s)", c.n ? " WHERE " : "", c.n ? c.b.ptr : "");
    gw_buf_free(&c.b);
}

/* Conditions on the inventory fact that are not inside a joined subquery. */
static void i_where(chq_t *x, gw__conds_t *c)
{
    gw__sq_t *q = x->q;
    gw__sq_i_conds(q, c);
    gw__sq_sku_ids(q, c, 'i');
    if (!x->jw)
        warehouse_in(q, c);
    if (!x->js)
        sku_in(x, c);
    if (q->p->skucond != GW_SKUCOND_NONE) {
        gw__sq_and(q, c);
        gw__sq_put(q, &c->b, "sku_id IN (SELECT sku_id FROM inventory");
        skucond_having(q, &c->b);
        gw__sq_put(q, &c->b, ")");
    }
}

/* FROM ... WHERE ... of an inventory-fact query. */
static void from_inventory(chq_t *x, gw_buf_t *b)
{
    gw__sq_t *q = x->q;
    gw__conds_t c;
    gw__conds_init(&c);
    i_where(x, &c);
    if (x->jw && x->js) {
        gw__sq_put(q, b, gw__sq_price_by_location(q->p) ? " FROM (SELECT DISTINCT sku_id" /* each SKU once a group */
                                                        : " FROM (SELECT sku_id, warehouse_id, on_hand, reserved");
        put_cols(q, b, x->wcols, x->nw);
        gw__sq_put(q, b, " FROM inventory ALL INNER JOIN ");
        w_sub(x, b);
        gw__sq_put(q, b, " USING warehouse_id%s%s) ALL INNER JOIN ", c.n ? " WHERE " : "", c.n ? c.b.ptr : "");
        s_sub(x, b);
        gw__sq_put(q, b, " USING sku_id");
    } else {
        gw__sq_put(q, b, " FROM inventory");
        if (x->jw) {
            gw__sq_put(q, b, " ALL INNER JOIN ");
            w_sub(x, b);
            gw__sq_put(q, b, " USING warehouse_id");
        } else if (x->js) {
            gw__sq_put(q, b, " ALL INNER JOIN ");
            s_sub(x, b);
            gw__sq_put(q, b, " USING sku_id");
        }
        if (c.n > 0)
            gw__sq_put(q, b, " WHERE %s", c.b.ptr);
    }
    gw_buf_free(&c.b);
}

/* FROM skus [c join] WHERE ... of a skus-fact query. */
static void from_skus(chq_t *x, gw_buf_t *b)
{
    gw__sq_t *q = x->q;
    gw__conds_t c;
    gw__conds_init(&c);
    s_conds(x, &c, x->jc);
    gw__sq_sku_ids(q, &c, 's');
    if (gw__sq_has_i(q->p) || gw__sq_has_w(q->p)) {
        gw__sq_and(q, &c);
        gw__sq_put(q, &c.b, "sku_id IN (");
        inventory_subquery(q, &c.b);
        gw__sq_put(q, &c.b, ")");
    }
    gw__sq_put(q, b, " FROM skus");
    if (x->jc)
        c_join(x, b);
    if (c.n > 0)
        gw__sq_put(q, b, " WHERE %s", c.b.ptr);
    gw_buf_free(&c.b);
}

static void from_fact(chq_t *x, gw_buf_t *b)
{
    if (x->fact == 'i') {
        from_inventory(x, b);
    } else if (x->fact == 's') {
        from_skus(x, b);
    } else {
        gw__conds_t c;
        gw__conds_init(&c);
        gw__sq_w_conds(x->q, &c);
        gw__sq_put(x->q, b, " FROM warehouses%s%s", c.n ? " WHERE " : "", c.n ? c.b.ptr : "");
        gw_buf_free(&c.b);
    }
}

static void dims(gw__sq_t *q, gw_buf_t *b, int keys)
{
    for (size_t i = 0; i < q->p->n_group; i++) {
        gw__sq_put(q, b, i > 0 ? ", " : "");
        if (keys)
            gw__sq_dim_key(q, b, q->p->group[i]);
        else
            gw__sq_dim_select(q, b, q->p->group[i]);
    }
}

static void difference_select(chq_t *x, gw_buf_t *b) { gw__sq_difference_select(x->q, b, x->fact, 0); }

static void order_limit(gw__sq_t *q, gw_buf_t *b)
{
    const gw_plan_t *p = q->p;
    if (p->sort == GW_SORT_MEASURE) {
        gw__sq_put(q, b, " ORDER BY %s %s", gw__sq_measure_alias(p), p->desc ? "DESC" : "ASC");
        if (p->n_group > 0) {
            gw__sq_put(q, b, ", ");
            dims(q, b, 1);
        }
    } else if (p->n_group > 0) {
        gw__sq_put(q, b, " ORDER BY ");
        dims(q, b, 1);
    }
    if (p->limit > 0)
        gw__sq_put(q, b, " LIMIT %zu", p->limit);
}

static void aggregate(gw__sq_t *q)
{
    const gw_plan_t *p = q->p;
    chq_t x;
    memset(&x, 0, sizeof x);
    x.q = q;
    x.fact = gw__sq_fact(p);
    plan_cols(&x);
    if (p->count_groups)
        gw__sq_put(q, q->out, "SELECT count() AS %s FROM (SELECT ", gw__sq_dim_plural(p->group[0]));
    else
        gw__sq_put(q, q->out, "SELECT ");
    if (p->difference) {
        difference_select(&x, q->out);
    } else {
        dims(q, q->out, 0);
        if (!p->count_groups) {
            gw__sq_put(q, q->out, p->n_group > 0 ? ", " : "");
            gw__sq_measure(q, q->out, x.fact);
        }
    }
    from_fact(&x, q->out);
    if (p->n_group > 0 && !p->difference) {
        gw__sq_put(q, q->out, " GROUP BY ");
        dims(q, q->out, 1);
    }
    if (p->having.op != GW_CMP_NONE && !p->difference) {
        gw_buf_t h;
        gw_buf_init(&h, 1024);
        gw__sq_measure_expr(q, &h, x.fact);
        gw__sq_put(q, q->out, " HAVING ");
        gw__sq_num_expr(q, q->out, h.ptr != NULL ? h.ptr : "", &p->having);
        gw_buf_free(&h);
    }
    if (p->count_groups)
        gw__sq_put(q, q->out, ")");
    else if (!p->difference)
        order_limit(q, q->out);
}

static void sku_list(gw__sq_t *q)
{
    const gw_plan_t *p = q->p;
    chq_t x;
    const char *third = p->sort == GW_SORT_LAUNCHED ? "launched_on" : "price_usd";
    memset(&x, 0, sizeof x);
    x.q = q;
    if (p->sort == GW_SORT_UNITS || p->sort == GW_SORT_VALUE) {
        int value = p->sort == GW_SORT_VALUE;
        x.fact = 'i';
        x.js = 1;
        add_col(x.scols, &x.ns, 10, "title");
        if (value)
            add_col(x.scols, &x.ns, 10, "price_usd");
        gw__sq_put(q, q->out, "SELECT sku_id, title, %s",
                   value ? "round(sum(on_hand * price_usd), 2) AS value_usd" : "sum(on_hand) AS units");
        from_inventory(&x, q->out);
        gw__sq_put(q, q->out, " GROUP BY sku_id, title ORDER BY %s %s, sku_id", value ? "value_usd" : "units",
                   p->desc ? "DESC" : "ASC");
    } else {
        x.fact = 's';
        gw__sq_put(q, q->out, "SELECT sku_id, title, %s", third);
        from_skus(&x, q->out);
        if (p->sort == GW_SORT_NONE)
            gw__sq_put(q, q->out, " ORDER BY sku_id");
        else
            gw__sq_put(q, q->out, " ORDER BY %s %s, sku_id", third, p->desc ? "DESC" : "ASC");
    }
    if (p->limit > 0)
        gw__sq_put(q, q->out, " LIMIT %zu", p->limit);
}

static void sku_detail(gw__sq_t *q)
{
    static const char *const cols[] = {"", ", category", ", brand", ", price_usd", ", color", ", material",
                                       ", launched_on", ", is_active", ""};
    gw__conds_t c;
    unsigned attrs = q->p->attrs;
    gw__conds_init(&c);
    gw__sq_sku_ids(q, &c, 's');
    if (attrs == 0) {
        gw__sq_put(q, q->out, "SELECT sku_id, title, brand, category_id, price_usd, color, material, launched_on, "
                              "is_active FROM skus WHERE %s ORDER BY sku_id", c.b.ptr != NULL ? c.b.ptr : "0");
    } else {
        gw__sq_put(q, q->out, "SELECT sku_id, title");
        for (unsigned a = GW_ATTR_CATEGORY; a <= GW_ATTR_TITLE; a++)
            if (attrs & (1u << a))
                gw__sq_put(q, q->out, "%s", cols[a]);
        gw__sq_put(q, q->out, " FROM skus%s WHERE %s ORDER BY sku_id",
                   attrs & (1u << GW_ATTR_CATEGORY) ? " ALL INNER JOIN (SELECT category_id, name AS category FROM "
                                                      "categories) USING category_id"
                                                    : "",
                   c.b.ptr != NULL ? c.b.ptr : "0");
    }
    gw_buf_free(&c.b);
}

static void sku_stock(gw__sq_t *q)
{
    int many = q->p->f.n_sku_ids > 1;
    gw__conds_t c, wc;
    gw__conds_init(&c);
    gw__conds_init(&wc);
    gw__sq_sku_ids(q, &c, 'i');
    gw__sq_w_conds(q, &wc);
    gw__sq_put(q, q->out, "SELECT %scode, on_hand, reserved, updated_at FROM inventory ALL INNER JOIN "
                          "(SELECT warehouse_id, code FROM warehouses%s%s) USING warehouse_id WHERE %s ORDER BY %scode",
               many ? "sku_id, " : "", wc.n ? " WHERE " : "", wc.n ? wc.b.ptr : "", c.b.ptr, many ? "sku_id, " : "");
    gw_buf_free(&c.b);
    gw_buf_free(&wc.b);
}

static void warehouse_list(gw__sq_t *q)
{
    gw__conds_t c;
    gw__conds_init(&c);
    gw__sq_w_conds(q, &c);
    gw__sq_put(q, q->out, "SELECT code, name, city, state, region FROM warehouses%s%s ORDER BY code",
               c.n ? " WHERE " : "", c.n ? c.b.ptr : "");
    gw_buf_free(&c.b);
}

void gw__sq_clickhouse(gw__sq_t *q)
{
    const gw_plan_t *p = q->p;
    switch (p->measure) {
    case GW_M_SKU_DETAIL: sku_detail(q); return;
    case GW_M_SKU_STOCK: sku_stock(q); return;
    case GW_M_WAREHOUSE_LIST: warehouse_list(q); return;
    case GW_M_LIST: sku_list(q); return;
    default: break;
    }
    if (p->measure == GW_M_SKUS && p->skucond != GW_SKUCOND_NONE && p->n_group == 0 && !gw__sq_has_s(p) &&
        p->f.n_cats == 0 && p->f.n_sku_ids == 0) {
        gw__sq_put(q, q->out, "SELECT count() AS skus FROM (");
        inventory_subquery(q, q->out);
        gw__sq_put(q, q->out, ")");
        return;
    }
    aggregate(q);
}

/* formatter_text.c - the sentence of each plan class (formatter_int.h):
 * totals and averages, groups (first GW_FMT_LIST_SHOWN rows, then the
 * count in all), two-value differences, SKU lists, SKU lookups, stock per
 * warehouse and warehouse lists; "nothing matched" for empty results.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formatter_int.h"

#define PHRASE_MAX 8192

typedef struct phr {
    gw_buf_t subj, quals;
    int plain; /* the subject is just "products" */
} phr_t;

static void phr_init(phr_t *x, const gw_plan_t *p)
{
    gw_buf_init(&x->subj, PHRASE_MAX);
    gw_buf_init(&x->quals, PHRASE_MAX);
    gw__fmt_subject(p, &x->subj);
    gw__fmt_quals(p, &x->quals);
    x->plain = x->subj.ptr != NULL && strcmp(x->subj.ptr, "products") == 0;
    if (x->quals.ptr == NULL)
        gw_buf_adds(&x->quals, "");
}

static void phr_free(phr_t *x)
{
    gw_buf_free(&x->subj);
    gw_buf_free(&x->quals);
}

static int money_measure(const gw_plan_t *p)
{
    return p->measure == GW_M_PRICE || p->measure == GW_M_VALUE;
}

static void value_text(const gw_plan_t *p, const gw_cell_t *c, char *out, size_t n)
{
    double v;
    if (!gw__fmt_cell_num(c, &v))
        gw__fmt_cell_label(c, out, n);
    else if (money_measure(p))
        gw_fmt_money(v, out, n);
    else
        gw_fmt_num(v, out, n);
}

static const char *agg_word(gw_agg_t a)
{
    switch (a) {
    case GW_AGG_AVG: return "average";
    case GW_AGG_MIN: return "lowest";
    case GW_AGG_MAX: return "highest";
    case GW_AGG_MEDIAN: return "median";
    default: return "total";
    }
}

/* "units of laptops on hand", "SKUs", "average price of blenders". */
static void measure_words(const gw_plan_t *p, const phr_t *x, gw_buf_t *b)
{
    const char *of = x->plain ? "" : " of ";
    const char *s = x->plain ? "" : x->subj.ptr;
    switch (p->measure) {
    case GW_M_UNITS:
        if (p->agg == GW_AGG_TOTAL)
            gw_buf_printf(b, "units%s%s on hand", of, s);
        else
            gw_buf_printf(b, "%s units per inventory row%s%s", agg_word(p->agg), of, s);
        break;
    case GW_M_RESERVED: gw_buf_printf(b, "units%s%s reserved", of, s); break;
    case GW_M_AVAILABLE: gw_buf_printf(b, "units%s%s available", of, s); break;
    case GW_M_VALUE: gw_buf_printf(b, "inventory value%s%s", of, s); break;
    case GW_M_STOCK_ROWS: gw_buf_printf(b, "inventory rows%s%s", of, s); break;
    case GW_M_SKUS: gw_buf_printf(b, "SKUs%s%s", of, s); break;
    case GW_M_PRICE: gw_buf_printf(b, "%s price%s%s", agg_word(p->agg == GW_AGG_TOTAL ? GW_AGG_AVG : p->agg), of, s); break;
    case GW_M_BRANDS: gw_buf_printf(b, "brands%s%s", x->plain ? "" : " selling ", s); break;
    case GW_M_CATEGORIES: gw_buf_printf(b, "categories%s%s", x->plain ? "" : " with ", s); break;
    case GW_M_WAREHOUSES: gw_buf_printf(b, "warehouses%s%s", x->plain ? "" : " stocking ", s); break;
    case GW_M_REORDER: gw_buf_printf(b, "%s reorder point%s%s", agg_word(p->agg), of, s); break;
    default: gw_buf_adds(b, "values");
    }
}

static void nothing(const gw_plan_t *p, const phr_t *x, gw_buf_t *out)
{
    const char *what = p->measure == GW_M_WAREHOUSE_LIST ? "warehouses"
                       : p->measure == GW_M_UNITS || p->measure == GW_M_RESERVED || p->measure == GW_M_AVAILABLE ||
                               p->measure == GW_M_VALUE || p->measure == GW_M_STOCK_ROWS
                           ? "inventory"
                           : "SKUs";
    gw_buf_printf(out, "No matching %s %s found for %s%s.", what, strcmp(what, "inventory") ? "were" : "was",
                  x->subj.ptr, x->quals.ptr);
}

/* ---- totals ---- */

static void scalar_units(const gw_plan_t *p, const phr_t *x, double v, const char *n, gw_buf_t *out)
{
    const char *verb = p->measure == GW_M_RESERVED ? "reserved"
                       : p->measure == GW_M_AVAILABLE ? "available (on hand minus reserved)"
                                                      : "on hand";
    if (p->agg == GW_AGG_TOTAL && p->measure == GW_M_UNITS && gw__fmt_countable(p) && v != 1)
        gw_buf_printf(out, "%s %s are on hand%s.", n, x->subj.ptr, x->quals.ptr);
    else if (p->agg == GW_AGG_TOTAL && x->plain)
        gw_buf_printf(out, "%s unit%s %s %s%s.", n, v == 1 ? "" : "s", v == 1 ? "is" : "are", verb, x->quals.ptr);
    else if (p->agg == GW_AGG_TOTAL)
        gw_buf_printf(out, "%s unit%s of %s %s %s%s.", n, v == 1 ? "" : "s", x->subj.ptr, v == 1 ? "is" : "are", verb,
                      x->quals.ptr);
    else
        gw_buf_printf(out, "The %s number of units %s per inventory row (SKU and warehouse) of %s%s is %s.",
                      agg_word(p->agg), strcmp(verb, "on hand") == 0 ? "on hand" : verb, x->subj.ptr, x->quals.ptr, n);
}

static void scalar_counts(const gw_plan_t *p, const phr_t *x, double v, const char *n, gw_buf_t *out)
{
    int one = v == 1;
    switch (p->measure) {
    case GW_M_STOCK_ROWS:
        gw_buf_printf(out, "There %s %s inventory row%s (SKU and warehouse pairs)%s%s%s.", one ? "is" : "are", n,
                      one ? "" : "s", x->plain ? "" : " for ", x->plain ? "" : x->subj.ptr, x->quals.ptr);
        break;
    case GW_M_SKUS:
        if (x->plain && x->quals.len == 0)
            gw_buf_printf(out, "There %s %s SKU%s in the catalog.", one ? "is" : "are", n, one ? "" : "s");
        else
            gw_buf_printf(out, "There %s %s SKU%s%s%s%s.", one ? "is" : "are", n, one ? "" : "s",
                          x->plain ? "" : " of ", x->plain ? "" : x->subj.ptr, x->quals.ptr);
        break;
    case GW_M_BRANDS:
        gw_buf_printf(out, "%s brand%s sell%s %s%s.", n, one ? "" : "s", one ? "s" : "", x->subj.ptr, x->quals.ptr);
        break;
    case GW_M_CATEGORIES:
        gw_buf_printf(out, "%s categor%s ha%s %s%s.", n, one ? "y" : "ies", one ? "s" : "ve", x->subj.ptr, x->quals.ptr);
        break;
    default: /* warehouses */
        if (x->plain && p->f.n_sku_ids == 0)
            gw_buf_printf(out, "There %s %s warehouse%s%s.", one ? "is" : "are", n, one ? "" : "s", x->quals.ptr);
        else
            gw_buf_printf(out, "%s warehouse%s stock%s %s%s.", n, one ? "" : "s", one ? "s" : "", x->subj.ptr,
                          x->quals.ptr);
    }
}

static void count_groups(const gw_plan_t *p, const phr_t *x, double v, const char *n, gw_buf_t *out)
{
    static const char *const plural[] = {"", "regions", "warehouses", "cities", "states", "brands", "categories",
                                         "departments", "colors", "materials", "statuses", "launch years"};
    gw_buf_t cond;
    gw_buf_init(&cond, 512);
    const char *unit = p->measure == GW_M_SKUS ? "SKUs" : p->measure == GW_M_WAREHOUSES ? "warehouses" : "units";
    if (p->having.op != GW_CMP_NONE)
        gw__fmt_cond(&cond, &p->having, 0, unit);
    gw_buf_printf(out, "%s %s ha%s %s%s%s%s.", n, plural[p->group[0]], v == 1 ? "s" : "ve",
                  cond.ptr != NULL ? cond.ptr : unit, x->plain ? "" : " of ", x->plain ? "" : x->subj.ptr, x->quals.ptr);
    gw_buf_free(&cond);
}

void gw__fmt_scalar(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    phr_t x;
    char n[64], m[64];
    double v = 0, w = 0;
    phr_init(&x, p);
    if (r->row_count == 0 || r->n_columns == 0 || !gw__fmt_cell_num(gw__fmt_cell(r, 0, 0), &v)) {
        nothing(p, &x, out);
        phr_free(&x);
        return;
    }
    value_text(p, gw__fmt_cell(r, 0, 0), n, sizeof n);
    if (r->n_columns > 1 && gw__fmt_cell_num(gw__fmt_cell(r, 0, 1), &w))
        value_text(p, gw__fmt_cell(r, 0, 1), m, sizeof m);
    if (p->count_groups)
        count_groups(p, &x, v, n, out);
    else if (p->measure == GW_M_PRICE && p->agg == GW_AGG_MINMAX)
        gw_buf_printf(out, "Prices of %s%s range from %s to %s.", x.subj.ptr, x.quals.ptr, n, m);
    else if (p->measure == GW_M_PRICE)
        gw_buf_printf(out, "The %s price of %s%s is %s.", agg_word(p->agg == GW_AGG_TOTAL ? GW_AGG_AVG : p->agg),
                      x.subj.ptr, x.quals.ptr, n);
    else if (p->measure == GW_M_VALUE)
        gw_buf_printf(out, "The %s on hand%s are worth %s at list price.", x.subj.ptr, x.quals.ptr, n);
    else if (p->measure == GW_M_REORDER)
        gw_buf_printf(out, "The %s reorder point of %s%s is %s units.", agg_word(p->agg), x.subj.ptr, x.quals.ptr, n);
    else if (p->agg == GW_AGG_MINMAX && r->n_columns > 1)
        gw_buf_printf(out, "Inventory rows of %s%s hold between %s and %s units.", x.subj.ptr, x.quals.ptr, n, m);
    else if (p->measure == GW_M_UNITS || p->measure == GW_M_RESERVED || p->measure == GW_M_AVAILABLE)
        scalar_units(p, &x, v, n, out);
    else
        scalar_counts(p, &x, v, n, out);
    phr_free(&x);
}

/* ---- groups ---- */

/* The label columns of a group row ("WH-SEA-01 (Seattle)", "West"). */
static size_t group_label(const gw_plan_t *p, const gw_result_t *r, size_t row, char *out, size_t n)
{
    size_t col = 0, k = 0;
    out[0] = '\0';
    for (size_t g = 0; g < p->n_group && col < r->n_columns; g++) {
        char a[256], b[256];
        gw__fmt_cell_label(gw__fmt_cell(r, row, col++), a, sizeof a);
        if (p->group[g] == GW_DIM_WAREHOUSE && col < r->n_columns) {
            gw__fmt_cell_label(gw__fmt_cell(r, row, col++), b, sizeof b);
            k += (size_t)snprintf(out + k, n > k ? n - k : 0, "%s%s (%s)", g ? " / " : "", a, b);
        } else {
            k += (size_t)snprintf(out + k, n > k ? n - k : 0, "%s%s", g ? " / " : "", a);
        }
        if (k >= n)
            k = n - 1;
    }
    return col;
}

static const char *dim_plural(gw_dim_t d)
{
    static const char *const names[] = {"groups", "regions", "warehouses", "cities", "states", "brands",
                                        "categories", "departments", "colors", "materials", "statuses", "launch years"};
    return (size_t)d < sizeof names / sizeof *names ? names[d] : "groups";
}

static const char *dim_singular(gw_dim_t d)
{
    static const char *const names[] = {"group", "region", "warehouse", "city", "state", "brand",
                                        "category", "department", "color", "material", "status", "launch year"};
    return (size_t)d < sizeof names / sizeof *names ? names[d] : "group";
}

static void group_items(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    size_t shown = r->row_count <= GW_FMT_LIST_SHOWN + 2 ? r->row_count : GW_FMT_LIST_SHOWN;
    for (size_t i = 0; i < shown; i++) {
        char label[600], v[64], w[64];
        size_t vc = group_label(p, r, i, label, sizeof label);
        value_text(p, gw__fmt_cell(r, i, vc < r->n_columns ? vc : 0), v, sizeof v);
        gw_buf_printf(out, "%s%s %s", i ? "; " : "", label, v);
        if (p->agg == GW_AGG_MINMAX && vc + 1 < r->n_columns) {
            value_text(p, gw__fmt_cell(r, i, vc + 1), w, sizeof w);
            gw_buf_printf(out, " to %s", w);
        }
    }
    if (shown < r->row_count || r->truncated) {
        char n[32];
        gw_fmt_int((int64_t)r->row_count, n, sizeof n);
        gw_buf_printf(out, "; and more (%s%s %s in all)", r->truncated ? "at least " : "", n, dim_plural(p->group[0]));
    }
    gw_buf_adds(out, ".");
}

void gw__fmt_groups(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    phr_t x;
    gw_buf_t mw;
    phr_init(&x, p);
    gw_buf_init(&mw, PHRASE_MAX);
    measure_words(p, &x, &mw);
    if (r->row_count == 0 && p->having.op != GW_CMP_NONE) {
        gw_buf_t cond;
        gw_buf_init(&cond, 512);
        gw__fmt_cond(&cond, &p->having, money_measure(p), p->measure == GW_M_SKUS ? "SKUs"
                                                           : p->measure == GW_M_WAREHOUSES ? "warehouses"
                                                                                           : "units");
        gw_buf_printf(out, "No %s have %s%s%s%s.", dim_plural(p->group[0]), cond.ptr != NULL ? cond.ptr : "",
                      x.plain ? "" : " of ", x.plain ? "" : x.subj.ptr, x.quals.ptr);
        gw_buf_free(&cond);
    } else if (r->row_count == 0) {
        nothing(p, &x, out);
    } else if (p->sort == GW_SORT_MEASURE && p->limit == 1 && r->row_count == 1) {
        char label[600], v[64];
        size_t vc = group_label(p, r, 0, label, sizeof label);
        value_text(p, gw__fmt_cell(r, 0, vc < r->n_columns ? vc : 0), v, sizeof v);
        gw_buf_printf(out, "The %s with the %s %s%s is %s, with %s.", dim_singular(p->group[0]),
                      p->desc ? "most" : "fewest", mw.ptr, x.quals.ptr, label, v);
    } else {
        char n[32];
        gw_fmt_int((int64_t)r->row_count, n, sizeof n);
        if (p->having.op != GW_CMP_NONE) {
            gw_buf_t cond;
            gw_buf_init(&cond, 512);
            gw__fmt_cond(&cond, &p->having, money_measure(p), p->measure == GW_M_SKUS ? "SKUs"
                                                               : p->measure == GW_M_WAREHOUSES ? "warehouses"
                                                                                               : "units");
            gw_buf_printf(out, "%c%s with %s%s%s%s: ", dim_plural(p->group[0])[0] - 'a' + 'A',
                          dim_plural(p->group[0]) + 1, cond.ptr != NULL ? cond.ptr : "", x.plain ? "" : " of ",
                          x.plain ? "" : x.subj.ptr, x.quals.ptr);
            gw_buf_free(&cond);
        } else if (p->sort == GW_SORT_MEASURE && p->limit > 0)
            gw_buf_printf(out, "%s %s %s by %s%s: ", p->desc ? "Top" : "Bottom", n, dim_plural(p->group[0]), mw.ptr,
                          x.quals.ptr);
        else
            gw_buf_printf(out, "%c%s by %s%s%s%s: ",
                          mw.ptr[0] >= 'a' && mw.ptr[0] <= 'z' ? mw.ptr[0] - 'a' + 'A' : mw.ptr[0], mw.ptr + 1,
                          dim_singular(p->group[0]), p->n_group > 1 ? " and " : "",
                          p->n_group > 1 ? dim_singular(p->group[1]) : "", x.quals.ptr);
        group_items(p, r, out);
    }
    gw_buf_free(&mw);
    phr_free(&x);
}

void gw__fmt_difference(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    phr_t x;
    gw_buf_t mw;
    double a, b, d;
    const gw_plan_set_t *s = p->group[0] == GW_DIM_REGION ? &p->f.regions
                             : p->group[0] == GW_DIM_BRAND ? &p->f.brands
                             : p->group[0] == GW_DIM_CITY  ? &p->f.cities
                             : p->group[0] == GW_DIM_STATE ? &p->f.states
                             : p->group[0] == GW_DIM_COLOR ? &p->f.colors
                             : p->group[0] == GW_DIM_MATERIAL ? &p->f.materials
                                                             : &p->f.warehouses;
    phr_init(&x, p);
    gw_buf_init(&mw, PHRASE_MAX);
    measure_words(p, &x, &mw);
    if (r->row_count == 0 || r->n_columns < 3 || s->n < 2 || !gw__fmt_cell_num(gw__fmt_cell(r, 0, 0), &a) ||
        !gw__fmt_cell_num(gw__fmt_cell(r, 0, 1), &b) || !gw__fmt_cell_num(gw__fmt_cell(r, 0, 2), &d)) {
        nothing(p, &x, out);
    } else {
        char va[64], vb[64], vd[64];
        const char *in = p->group[0] == GW_DIM_BRAND || p->group[0] == GW_DIM_COLOR || p->group[0] == GW_DIM_MATERIAL
                             ? "for" : "in";
        value_text(p, gw__fmt_cell(r, 0, 0), va, sizeof va);
        value_text(p, gw__fmt_cell(r, 0, 1), vb, sizeof vb);
        if (money_measure(p))
            gw_fmt_money(fabs(d), vd, sizeof vd);
        else
            gw_fmt_num(fabs(d), vd, sizeof vd);
        gw_buf_printf(out, "There are %s %s %s %s and %s %s %s", va, mw.ptr, in, s->v[0], vb, in, s->v[1]);
        if (d == 0)
            gw_buf_printf(out, ": the same.");
        else
            gw_buf_printf(out, ": %s has %s more.", d > 0 ? s->v[0] : s->v[1], vd);
    }
    gw_buf_free(&mw);
    phr_free(&x);
}

/* ---- rows of SKUs and warehouses ---- */

static void list_item(const gw_plan_t *p, const gw_result_t *r, size_t i, gw_buf_t *out)
{
    char id[64], title[256], third[128];
    gw__fmt_cell_label(gw__fmt_cell(r, i, 0), id, sizeof id);
    gw__fmt_cell_label(gw__fmt_cell(r, i, 1), title, sizeof title);
    if (p->sort == GW_SORT_LAUNCHED) {
        char d[64];
        gw__fmt_cell_label(gw__fmt_cell(r, i, 2), d, sizeof d);
        snprintf(third, sizeof third, "launched %s", d);
    } else if (p->sort == GW_SORT_VALUE) {
        double v = 0;
        char n[48];
        gw__fmt_cell_num(gw__fmt_cell(r, i, 2), &v);
        gw_fmt_money(v, n, sizeof n);
        snprintf(third, sizeof third, "%s of stock", n);
    } else if (p->sort == GW_SORT_UNITS) {
        double v = 0;
        char n[48];
        gw__fmt_cell_num(gw__fmt_cell(r, i, 2), &v);
        gw_fmt_num(v, n, sizeof n);
        snprintf(third, sizeof third, "%s unit%s on hand", n, v == 1 ? "" : "s");
    } else {
        double v = 0;
        gw__fmt_cell_num(gw__fmt_cell(r, i, 2), &v);
        gw_fmt_money(v, third, sizeof third);
    }
    gw_buf_printf(out, "%s (SKU %s, %s)", title, id, third);
}

static const char *superlative(const gw_plan_t *p)
{
    switch (p->sort) {
    case GW_SORT_PRICE: return p->desc ? "most expensive" : "cheapest";
    case GW_SORT_LAUNCHED: return p->desc ? "newest" : "oldest";
    case GW_SORT_UNITS: return p->desc ? "best stocked" : "least stocked";
    case GW_SORT_VALUE: return p->desc ? "most valuable" : "least valuable";
    default: return "";
    }
}

void gw__fmt_list(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    phr_t x;
    char n[32];
    phr_init(&x, p);
    gw_fmt_int((int64_t)r->row_count, n, sizeof n);
    if (r->row_count == 0 || r->n_columns < 3) {
        nothing(p, &x, out);
    } else if (r->row_count == 1 && p->sort != GW_SORT_NONE) {
        gw_buf_printf(out, "The %s of the %s%s is ", superlative(p), x.subj.ptr, x.quals.ptr);
        list_item(p, r, 0, out);
        gw_buf_adds(out, ".");
    } else {
        size_t shown = r->row_count <= GW_FMT_LIST_SHOWN + 2 ? r->row_count : GW_FMT_LIST_SHOWN;
        if (p->sort != GW_SORT_NONE)
            gw_buf_printf(out, "The %s %s %s%s: ", n, superlative(p), x.subj.ptr, x.quals.ptr);
        else
            gw_buf_printf(out, "%s%s SKU%s of %s%s: ", r->truncated ? "At least " : "", n, r->row_count == 1 ? "" : "s",
                          x.subj.ptr, x.quals.ptr);
        for (size_t i = 0; i < shown; i++) {
            gw_buf_adds(out, i ? "; " : "");
            list_item(p, r, i, out);
        }
        gw_buf_adds(out, shown < r->row_count ? "; and more." : ".");
    }
    phr_free(&x);
}

/* "SKU 100007777 (Nike Vintage Travel Accessories SR-7380): category Travel
 * Accessories, price $12.99." for lookups of some attributes. */
static void detail_attrs(const gw_result_t *r, gw_buf_t *out)
{
    for (size_t i = 0; i < r->row_count && i < GW_FMT_LIST_SHOWN; i++) {
        char id[64], title[256];
        gw__fmt_cell_label(gw__fmt_cell(r, i, 0), id, sizeof id);
        gw__fmt_cell_label(gw__fmt_cell(r, i, 1), title, sizeof title);
        gw_buf_printf(out, "%sSKU %s is %s", i ? " " : "", id, title);
        for (size_t k = 2; k < r->n_columns; k++) {
            const char *name = r->columns[k].name;
            char v[256];
            double d;
            if (strcmp(name, "price_usd") == 0 && gw__fmt_cell_num(gw__fmt_cell(r, i, k), &d))
                gw_fmt_money(d, v, sizeof v);
            else
                gw__fmt_cell_label(gw__fmt_cell(r, i, k), v, sizeof v);
            const char *label = strcmp(name, "price_usd") == 0     ? "price "
                                : strcmp(name, "launched_on") == 0 ? "launched "
                                : strcmp(name, "is_active") == 0   ? ""
                                : strcmp(name, "category") == 0    ? "category "
                                : strcmp(name, "brand") == 0       ? "brand "
                                : strcmp(name, "color") == 0       ? "color "
                                : strcmp(name, "material") == 0    ? "material "
                                                                   : "";
            gw_buf_printf(out, "%s%s%s", k == 2 ? ": " : ", ", label, v);
        }
        gw_buf_adds(out, ".");
    }
}

void gw__fmt_detail(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    if (r->row_count == 0 || r->n_columns < 2) {
        gw_buf_adds(out, "No SKU with that id was found.");
        return;
    }
    if (p->attrs != 0 || r->n_columns < 9) {
        detail_attrs(r, out);
        return;
    }
    for (size_t i = 0; i < r->row_count && i < GW_FMT_LIST_SHOWN; i++) {
        char c[9][256];
        double cat = 0, price = 0;
        for (size_t k = 0; k < 9; k++)
            gw__fmt_cell_label(gw__fmt_cell(r, i, k), c[k], sizeof c[k]);
        gw__fmt_cell_num(gw__fmt_cell(r, i, 3), &cat);
        gw__fmt_cell_num(gw__fmt_cell(r, i, 4), &price);
        const gw_tax_node_t *node = p->tax != NULL ? gw_taxonomy_node(p->tax, (int)cat) : NULL;
        char money[48];
        gw_fmt_money(price, money, sizeof money);
        gw_buf_printf(out, "%sSKU %s is %s by %s (%s), priced %s, %s, %s, launched %s, %s.", i ? " " : "", c[0], c[1],
                      c[2], node != NULL ? node->name : c[3], money, c[5], c[6], c[7], c[8]);
    }
}

void gw__fmt_stock(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    size_t off = p->f.n_sku_ids > 1 ? 1 : 0;
    char n[32], id[32];
    if (r->row_count == 0 || r->n_columns < 4 + off) {
        gw_buf_adds(out, "That SKU is not stocked in any warehouse.");
        return;
    }
    gw_fmt_int((int64_t)r->row_count, n, sizeof n);
    snprintf(id, sizeof id, "%lld", p->f.n_sku_ids ? (long long)p->f.sku_ids[0] : 0LL);
    if (off)
        gw_buf_printf(out, "Stock of the %zu SKUs by warehouse (%s rows): ", p->f.n_sku_ids, n);
    else
        gw_buf_printf(out, "SKU %s is stocked in %s warehouse%s: ", id, n, r->row_count == 1 ? "" : "s");
    for (size_t i = 0; i < r->row_count && i < 2 * GW_FMT_LIST_SHOWN; i++) {
        char c[5][128];
        for (size_t k = 0; k < 4 + off; k++)
            gw__fmt_cell_label(gw__fmt_cell(r, i, k), c[k], sizeof c[k]);
        if (off)
            gw_buf_printf(out, "%sSKU %s at %s (%s on hand, %s reserved)", i ? "; " : "", c[0], c[1], c[2], c[3]);
        else
            gw_buf_printf(out, "%s%s (%s on hand, %s reserved, updated %s)", i ? "; " : "", c[0], c[1], c[2], c[3]);
    }
    gw_buf_adds(out, r->row_count > 2 * GW_FMT_LIST_SHOWN ? "; and more." : ".");
}

void gw__fmt_warehouses(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    phr_t x;
    char n[32];
    phr_init(&x, p);
    gw_fmt_int((int64_t)r->row_count, n, sizeof n);
    if (r->row_count == 0 || r->n_columns < 5) {
        gw_buf_printf(out, "No warehouses match%s.", x.quals.ptr);
    } else {
        const gw_plan_filters_t *f = &p->f;
        gw_buf_printf(out, "%s warehouse%s", n, r->row_count == 1 ? "" : "s");
        const gw_plan_set_t *sets[] = {&f->regions, &f->states, &f->cities, &f->warehouses};
        for (size_t k = 0; k < 4; k++)
            for (size_t j = 0; j < sets[k]->n; j++)
                gw_buf_printf(out, "%s%s%s%s", j ? (j + 1 == sets[k]->n ? " or " : ", ") : sets[k]->negate ? " outside " : " in ",
                              k == 0 && j == 0 ? "the " : "", sets[k]->v[j], k == 0 && j + 1 == sets[k]->n ? (j ? " regions" : " region") : "");
        gw_buf_adds(out, ": ");
        for (size_t i = 0; i < r->row_count; i++) {
            char c[5][128];
            for (size_t k = 0; k < 5; k++)
                gw__fmt_cell_label(gw__fmt_cell(r, i, k), c[k], sizeof c[k]);
            gw_buf_printf(out, "%s%s (%s, %s, %s)", i ? "; " : "", c[0], c[2], c[3], c[4]);
        }
        gw_buf_adds(out, ".");
    }
    phr_free(&x);
}

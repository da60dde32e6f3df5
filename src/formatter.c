/* formatter.c - the template answers of the ask pipeline (formatter.h):
 * number formatting, the noun phrase of a plan ("black Samsung office
 * chairs") and its qualifiers ("in West-region warehouses", "priced under
 * $500", "launched in 2025"), then one sentence per plan class. The
 * grounding check lives in formatter_ground.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formatter_int.h"

/* ---- numbers ---- */

void gw_fmt_int(int64_t v, char *out, size_t n)
{
    char digits[32];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
    size_t k = 0;
    if (n == 0)
        return;
    if (v < 0 && k + 1 < n)
        out[k++] = '-';
    for (int i = 0; i < len && k + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && k + 1 < n)
            out[k++] = ',';
        if (k + 1 < n)
            out[k++] = digits[i];
    }
    out[k] = '\0';
}

void gw_fmt_num(double v, char *out, size_t n)
{
    char frac[8] = "";
    double r = round(v * 100.0) / 100.0;
    double ip = r < 0 ? ceil(r) : floor(r);
    long cents = lround(fabs(r - ip) * 100.0);
    if (cents >= 100) { /* 0.999 rounding */
        ip += r < 0 ? -1 : 1;
        cents = 0;
    }
    if (cents % 10 != 0)
        snprintf(frac, sizeof frac, ".%02ld", cents);
    else if (cents != 0)
        snprintf(frac, sizeof frac, ".%ld", cents / 10);
    char whole[32];
    gw_fmt_int((int64_t)ip, whole, sizeof whole);
    snprintf(out, n, "%s%s%s", r < 0 && ip == 0 && cents ? "-" : "", whole, frac);
}

void gw_fmt_money(double v, char *out, size_t n)
{
    char whole[32];
    double r = round(fabs(v) * 100.0);
    gw_fmt_int((int64_t)(r / 100.0), whole, sizeof whole);
    snprintf(out, n, "%s$%s.%02ld", v < 0 ? "-" : "", whole, (long)fmod(r, 100.0));
}

/* ---- cells ---- */

int gw__fmt_cell_num(const gw_cell_t *c, double *v)
{
    switch (c->kind) {
    case GW_CELL_INT: *v = (double)c->v.i; return 1;
    case GW_CELL_DOUBLE: *v = c->v.d; return isfinite(c->v.d);
    case GW_CELL_DECIMAL: {
        double d = (double)c->v.dec.unscaled;
        for (unsigned i = 0; i < c->v.dec.scale; i++)
            d /= 10.0;
        *v = d;
        return 1;
    }
    case GW_CELL_NUMBER: {
        char buf[64];
        size_t len = c->v.text.len < sizeof buf - 1 ? c->v.text.len : sizeof buf - 1;
        memcpy(buf, c->v.text.ptr, len);
        buf[len] = '\0';
        return sscanf(buf, "%lf", v) == 1;
    }
    default: return 0;
    }
}

/* A cell as a label: text as is (timestamps cut to the date), numbers
 * without separators, booleans as active / inactive. */
void gw__fmt_cell_label(const gw_cell_t *c, char *out, size_t n)
{
    double v;
    if (c->kind == GW_CELL_TEXT) {
        size_t len = c->v.text.len;
        if (len == 19 && c->v.text.ptr[4] == '-' && c->v.text.ptr[10] == ' ')
            len = 10; /* YYYY-MM-DD HH:MM:SS */
        snprintf(out, n, "%.*s", (int)len, c->v.text.ptr);
    } else if (c->kind == GW_CELL_BOOL) {
        snprintf(out, n, "%s", c->v.b ? "active" : "inactive");
    } else if (c->kind == GW_CELL_NULL) {
        snprintf(out, n, "(none)");
    } else if (gw__fmt_cell_num(c, &v)) {
        if (v == floor(v) && fabs(v) < 1e15)
            snprintf(out, n, "%.0f", v);
        else
            gw_fmt_num(v, out, n);
    } else {
        snprintf(out, n, "?");
    }
}

const gw_cell_t *gw__fmt_cell(const gw_result_t *r, size_t row, size_t col)
{
    return &r->cells[row * r->n_columns + col];
}

/* ---- the noun phrase and its qualifiers ---- */

/* "Ergonomic Office Chairs" -> "ergonomic office chairs"; words with more
 * capitals ("TV", "DVD") stay. */
static void lower_name(gw_buf_t *b, const char *name)
{
    int word_start = 1;
    for (const char *s = name; *s != '\0'; s++) {
        char ch = *s;
        if (word_start && ch >= 'A' && ch <= 'Z') {
            int caps = 0;
            for (const char *t = s + 1; *t != '\0' && *t != ' '; t++)
                caps |= *t >= 'A' && *t <= 'Z';
            if (!caps)
                ch = (char)(ch - 'A' + 'a');
        }
        gw_buf_add(b, &ch, 1);
        word_start = ch == ' ' || ch == '-';
    }
}

static void join_set(gw_buf_t *b, const gw_plan_set_t *s, const char *conj)
{
    for (size_t i = 0; i < s->n; i++) {
        if (i > 0)
            gw_buf_printf(b, i + 1 == s->n ? " %s " : ", ", conj);
        gw_buf_adds(b, s->v[i]);
    }
}

static void join_lower(gw_buf_t *b, const gw_plan_set_t *s, const char *conj)
{
    for (size_t i = 0; i < s->n; i++) {
        if (i > 0)
            gw_buf_printf(b, i + 1 == s->n ? " %s " : ", ", conj);
        lower_name(b, s->v[i]);
    }
}

/* The adjectives and noun: "inactive black Sony headphones"; "products"
 * when no category is named. */
void gw__fmt_subject(const gw_plan_t *p, gw_buf_t *b)
{
    const gw_plan_filters_t *f = &p->f;
    if (f->active >= 0)
        gw_buf_adds(b, f->active ? "active " : "inactive ");
    if (f->n_sku_ids > 0) {
        gw_buf_adds(b, f->n_sku_ids == 1 ? "SKU " : "SKUs ");
        for (size_t i = 0; i < f->n_sku_ids; i++)
            gw_buf_printf(b, "%s%lld", i ? ", " : "", (long long)f->sku_ids[i]);
        return;
    }
    if (f->colors.n && !f->colors.negate) {
        join_lower(b, &f->colors, "or");
        gw_buf_adds(b, " ");
    }
    if (f->materials.n && !f->materials.negate) {
        join_lower(b, &f->materials, "or");
        gw_buf_adds(b, " ");
    }
    if (f->brands.n && !f->brands.negate) {
        join_set(b, &f->brands, "or");
        gw_buf_adds(b, " ");
    }
    if (f->n_cats == 0 || f->cats_negate) {
        gw_buf_adds(b, "products");
        return;
    }
    for (size_t i = 0; i < f->n_cats; i++) {
        if (i > 0)
            gw_buf_adds(b, i + 1 == f->n_cats ? " and " : ", ");
        lower_name(b, f->cats[i]->name);
    }
}

/* 1 when the subject is one category, unqualified, named by a plural noun
 * ("laptops"): it can stand for units ("1,284 laptops are on hand"). */
int gw__fmt_countable(const gw_plan_t *p)
{
    const gw_plan_filters_t *f = &p->f;
    if (f->n_cats != 1 || f->cats_negate)
        return 0;
    const char *name = f->cats[0]->name;
    size_t n = strlen(name);
    return n > 1 && name[n - 1] == 's' && name[n - 2] != 's';
}

/* "$500" for whole dollars (as a question writes a threshold), else "$499.99". */
static void money_short(double v, char *out, size_t n)
{
    char whole[32];
    if (v != floor(v) || fabs(v) >= 1e15) {
        gw_fmt_money(v, out, n);
        return;
    }
    gw_fmt_int((int64_t)fabs(v), whole, sizeof whole);
    snprintf(out, n, "%s$%s", v < 0 ? "-" : "", whole);
}

static const char *op_words(gw_cmp_t op, int price)
{
    switch (op) {
    case GW_CMP_LT: return price ? "under" : "fewer than";
    case GW_CMP_LE: return "at most";
    case GW_CMP_GT: return price ? "over" : "more than";
    case GW_CMP_GE: return "at least";
    default: return price ? "at" : "exactly";
    }
}

void gw__fmt_cond(gw_buf_t *b, const gw_plan_num_t *n, int price, const char *unit)
{
    char v[48], w[48];
    if (price) {
        money_short(n->value, v, sizeof v);
        money_short(n->hi, w, sizeof w);
    } else {
        gw_fmt_num(n->value, v, sizeof v);
        gw_fmt_num(n->hi, w, sizeof w);
    }
    size_t ul = strlen(unit);
    int one = n->value == 1 && n->hi_op == GW_CMP_NONE && ul > 1 && unit[ul - 1] == 's';
    if (n->op == GW_CMP_EQ && n->value == 0 && n->hi_op == GW_CMP_NONE && !price) {
        gw_buf_printf(b, "no %s", unit); /* "with no units": no number the rows don't hold */
        return;
    }
    if (n->hi_op != GW_CMP_NONE && (n->op == GW_CMP_GE || n->op == GW_CMP_GT))
        gw_buf_printf(b, "between %s and %s%s%s", v, w, unit[0] ? " " : "", unit);
    else /* "exactly 1 warehouse" */
        gw_buf_printf(b, "%s %s%s%.*s", op_words(n->op, price), v, unit[0] ? " " : "", (int)(one ? ul - 1 : ul), unit);
}

static void location(const gw_plan_t *p, gw_buf_t *b)
{
    const gw_plan_filters_t *f = &p->f;
    if (p->measure == GW_M_WAREHOUSES && f->regions.n && !f->regions.negate) { /* "warehouses in the West region" */
        gw_buf_adds(b, " in the ");
        join_set(b, &f->regions, "and");
        gw_buf_adds(b, f->regions.n == 1 ? " region" : " regions");
    } else if (f->regions.n == 1 && !f->regions.negate)
        gw_buf_printf(b, " in %s-region warehouses", f->regions.v[0]);
    else if (f->regions.n) {
        gw_buf_adds(b, f->regions.negate ? " outside the " : " in the ");
        join_set(b, &f->regions, "and");
        gw_buf_adds(b, f->regions.n == 1 ? " region" : " regions");
    }
    if (f->states.n) {
        gw_buf_adds(b, f->states.negate ? " in warehouses outside " : " in warehouses in ");
        join_set(b, &f->states, f->states.negate ? "and" : "or");
    }
    if (f->cities.n) {
        gw_buf_adds(b, f->cities.negate ? " outside " : " in ");
        join_set(b, &f->cities, f->cities.negate ? "and" : "and");
        gw_buf_adds(b, f->cities.n == 1 ? " warehouses" : "");
    }
    if (f->warehouses.n) {
        gw_buf_adds(b, f->warehouses.negate ? " outside warehouse " : f->warehouses.n > 1 ? " in warehouses " :
                                                                                               " in warehouse ");
        join_set(b, &f->warehouses, "and");
    }
}

/* Starts a qualifier: " " for the first, ", " after another. */
static void qsep(gw_buf_t *b, size_t start)
{
    gw_buf_adds(b, b->len > start ? ", " : " ");
}

static void days(gw_buf_t *b, size_t start, const gw_plan_days_t *d, const char *verb)
{
    if (!d->has)
        return;
    qsep(b, start);
    gw_buf_printf(b, "%s%s %s", d->negate ? "not " : "", verb, d->desc[0] ? d->desc : "in the period asked for");
}

/* Everything but the noun: where, price, dates, stock conditions; the
 * first starts with " ", the others with ", ". */
void gw__fmt_quals(const gw_plan_t *p, gw_buf_t *b)
{
    const gw_plan_filters_t *f = &p->f;
    size_t start = b->len;
    location(p, b);
    if (f->brands.n && f->brands.negate) {
        qsep(b, start);
        gw_buf_adds(b, "excluding ");
        join_set(b, &f->brands, "and");
    }
    if (f->n_cats && f->cats_negate) {
        qsep(b, start);
        gw_buf_adds(b, "excluding ");
        for (size_t i = 0; i < f->n_cats; i++)
            gw_buf_printf(b, "%s%s", i ? " and " : "", f->cats[i]->name);
    }
    if (f->price.op != GW_CMP_NONE) {
        qsep(b, start);
        gw_buf_adds(b, "priced ");
        gw__fmt_cond(b, &f->price, 1, "");
    }
    days(b, start, &f->launched, "launched");
    days(b, start, &f->updated, "updated");
    if (f->title[0] != '\0') {
        qsep(b, start);
        gw_buf_printf(b, "with \"%s\" in the title", f->title);
    }
    if (f->reorder != GW_CMP_NONE) {
        qsep(b, start);
        gw_buf_adds(b, f->reorder == GW_CMP_LE ? "at or below their reorder point" : "below their reorder point");
    }
    if (f->on_hand.op != GW_CMP_NONE) {
        qsep(b, start);
        gw_buf_adds(b, p->measure == GW_M_STOCK_ROWS ? "with " : "in inventory rows with ");
        gw__fmt_cond(b, &f->on_hand, 0, "units");
    }
    if (f->reserved.op != GW_CMP_NONE) {
        qsep(b, start);
        gw_buf_adds(b, "with ");
        gw__fmt_cond(b, &f->reserved, 0, "units reserved");
    }
    if (p->skucond != GW_SKUCOND_NONE)
        qsep(b, start);
    if (p->skucond == GW_SKUCOND_UNITS && p->skucond_num.op == GW_CMP_EQ && p->skucond_num.value == 0) {
        gw_buf_adds(b, "out of stock");
    } else if (p->skucond == GW_SKUCOND_UNITS) {
        gw_buf_adds(b, "with ");
        gw__fmt_cond(b, &p->skucond_num, 0, "units on hand");
    } else if (p->skucond == GW_SKUCOND_WAREHOUSES) {
        gw_buf_adds(b, "stocked in ");
        gw__fmt_cond(b, &p->skucond_num, 0, "warehouses");
    }
    if (p->in_stock) {
        qsep(b, start);
        gw_buf_adds(b, "in stock");
    }
}

/* ---- entry point ---- */

gw_err_t gw_format_answer(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out)
{
    if (p == NULL || r == NULL || out == NULL || p->status != GW_PLAN_OK)
        return GW_EINVAL;
    size_t before = out->len;
    switch (p->measure) {
    case GW_M_LIST: gw__fmt_list(p, r, out); break;
    case GW_M_SKU_DETAIL: gw__fmt_detail(p, r, out); break;
    case GW_M_SKU_STOCK: gw__fmt_stock(p, r, out); break;
    case GW_M_WAREHOUSE_LIST: gw__fmt_warehouses(p, r, out); break;
    default:
        if (p->difference)
            gw__fmt_difference(p, r, out);
        else if (p->n_group > 0 && !p->count_groups)
            gw__fmt_groups(p, r, out);
        else
            gw__fmt_scalar(p, r, out);
    }
    if (out->len == before || (out->max > 0 && out->len + 1 >= out->max))
        return GW_ETOOBIG;
    return GW_OK;
}

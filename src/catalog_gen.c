/* catalog_gen.c - the catalog model and its rows, pure functions of
 * (seed, index).
 *
 * skus row i: category = a leaf drawn with Zipf weights (exponent 0.75)
 * over a seed-shuffled leaf order; brand = Zipf (exponent 0.9) over the
 * department's brands in file order; price log-uniform in the leaf's
 * [price_min, price_max], rounded to .99/.49 endings; color and material
 * from the leaf's lists (earlier entries more common); title "<Brand>
 * <adjective> <leaf singular> <model code>"; launched_on uniform in
 * 2015-01-01..2026-10-31; inactive with probability 2%..14% (older is
 * likelier, 8% overall). Inventory of SKU i: 1-4 distinct warehouses
 * (30/30/25/15%), on_hand 0 with probability 20% and otherwise
 * 1 + exponential around a per-SKU mean of 4, 15, 60 or 250 (a long tail),
 * reserved <= on_hand, reorder_point 5..50, updated_at in the 90 days
 * before 2026-11-01. The only floating point per row is log/exp of glibc,
 * so a given build of the program gives byte-identical rows everywhere.
 */
#include "catalog_gen.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "catalog_rng.h"

#define LEAF_ZIPF_S 0.75
#define BRAND_ZIPF_S 0.9
#define N_SERIES 3
#define MAX_ADJ 48

/* Fields of the skus and inventory streams. */
enum { F_LEAF, F_BRAND, F_ADJ, F_MODEL, F_PRICE, F_ENDING, F_COLOR, F_LAUNCH, F_ACTIVE };
enum { F_NSTOCK, F_MEAN, F_WH = 4, F_ROW = 24 };

static const char *const adjectives[] = {
    "Premium", "Classic", "Compact", "Deluxe", "Pro", "Ultra", "Essential", "Modern",
    "Heavy-Duty", "Lightweight", "Portable", "Smart", "Advanced", "Elite", "Signature", "Everyday",
    "Performance", "Eco", "Studio", "Urban", "Travel", "Original", "Precision", "Comfort",
    "Quiet", "Slim", "Vintage", "Industrial", "Contemporary", "Professional", "Select", "Plus",
};
#define N_ADJECTIVES (sizeof adjectives / sizeof adjectives[0])

/* Walker's alias table: a pick is one 64-bit draw, O(1): the high half
 * chooses a column, the low half takes it or its alias. */
typedef struct alias_tab {
    uint32_t *keep; /* take column k when the low 32 bits are below keep[k] */
    uint32_t *alias;
    size_t n;
} alias_tab_t;

typedef struct brand_model {
    const char *name;
    size_t len;
    char series[N_SERIES][2]; /* model-code letters, e.g. "EX" */
} brand_model_t;

typedef struct dept_model {
    brand_model_t *brands;
    alias_tab_t pick; /* Zipf over brands in file order */
    size_t n;
} dept_model_t;

typedef struct leaf_model {
    const gw_tax_node_t *node;
    size_t dept;
    char *singular;
    size_t singular_len;
    uint8_t adj[MAX_ADJ];
    uint32_t n_adj;
    double ln_min, ln_span;
    int64_t min_cents, max_cents;
} leaf_model_t;

struct gw_catgen {
    const gw_taxonomy_t *tax;
    uint64_t k_skus, k_inv;
    leaf_model_t *leaves;
    size_t n_leaves;
    alias_tab_t leaf_pick;
    dept_model_t *depts;
    size_t n_depts;
};

/* ---- setup helpers ---- */

static void alias_free(alias_tab_t *a)
{
    gw_free(a->keep);
    gw_free(a->alias);
    memset(a, 0, sizeof *a);
}

/* Vose's construction for weights 1/(rank[k]+1)^s (Zipf by rank). Only
 * IEEE arithmetic and pow(): the same table on every run. */
static gw_err_t alias_zipf(alias_tab_t *a, const size_t *rank, size_t n, double s)
{
    double *p = gw_calloc(n, sizeof *p), total = 0;
    size_t *small = gw_calloc(n, sizeof *small), *large = gw_calloc(n, sizeof *large), ns = 0, nl = 0;
    a->keep = gw_calloc(n, sizeof *a->keep);
    a->alias = gw_calloc(n, sizeof *a->alias);
    a->n = n;
    gw_err_t rc = GW_ENOMEM;
    if (p == NULL || small == NULL || large == NULL || a->keep == NULL || a->alias == NULL)
        goto out;
    for (size_t k = 0; k < n; k++)
        total += p[k] = pow((double)(rank[k] + 1), -s);
    for (size_t k = 0; k < n; k++) {
        p[k] = p[k] * (double)n / total;
        if (p[k] < 1.0)
            small[ns++] = k;
        else
            large[nl++] = k;
    }
    while (ns > 0 && nl > 0) {
        size_t lo = small[--ns], hi = large[nl - 1];
        a->keep[lo] = (uint32_t)(p[lo] * 4294967296.0);
        a->alias[lo] = (uint32_t)hi;
        p[hi] -= 1.0 - p[lo];
        if (p[hi] < 1.0) {
            nl--;
            small[ns++] = hi;
        }
    }
    while (nl > 0) { /* what is left is a full column (up to rounding) */
        size_t k = large[--nl];
        a->keep[k] = UINT32_MAX;
        a->alias[k] = (uint32_t)k;
    }
    while (ns > 0) {
        size_t k = small[--ns];
        a->keep[k] = UINT32_MAX;
        a->alias[k] = (uint32_t)k;
    }
    rc = GW_OK;
out:
    gw_free(p);
    gw_free(small);
    gw_free(large);
    return rc;
}

static size_t alias_pick(const alias_tab_t *a, uint64_t x)
{
    size_t k = gw_rng_below(x, (uint32_t)a->n);
    return (uint32_t)x < a->keep[k] ? k : a->alias[k];
}

static int word_eq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

/* Plural nouns whose singular isn't made by the rules below. */
static const char *const keep_plural[] = {
    "Headphones", "Earphones", "Earbuds", "Pants", "Jeans", "Shorts", "Leggings", "Tights",
    "Scissors", "Glasses", "Sunglasses", "Goggles", "Binoculars", "Pliers", "Tongs", "Sneakers",
    "Overalls", "Pajamas", "Supplies", "Accessories", "Electronics", "Series", "Clothes",
    "Cleats", "Boots", "Slippers", "Sandals", "Socks", "Gloves", "Mittens", "Snacks", "Treats",
    "Vitamins", "Supplements", "Cosmetics", "Essentials", "Linens", "Sheets", "Towels", "Games",
    "Toys", "Tools", "Parts", "Weights", "Blocks", "Lights", "Blinds", "Curtains", "Drapes",
};
static const char *const ie_plural[] = {"Cookies", "Movies", "Hoodies", "Ties", "Beanies",
                                         "Onesies", "Smoothies", "Pies", "Brownies", "Booties"};

/* How many bytes of the last word `w` (length n) to keep for its singular. */
static size_t singular_keep(const char *w, size_t n)
{
    for (size_t k = 0; k < sizeof keep_plural / sizeof keep_plural[0]; k++)
        if (word_eq(w, n, keep_plural[k]))
            return n;
    for (size_t k = 0; k < sizeof ie_plural / sizeof ie_plural[0]; k++)
        if (word_eq(w, n, ie_plural[k]))
            return n - 1;
    if (n < 4 || w[n - 1] != 's' || w[n - 2] == 's' || w[n - 2] == 'u' || w[n - 2] == 'i')
        return n;
    if (strncmp(w + n - 3, "ies", 3) == 0)
        return n - 3; /* caller appends "y" */
    if (n >= 5 && (strncmp(w + n - 4, "ches", 4) == 0 || strncmp(w + n - 4, "shes", 4) == 0 ||
                   strncmp(w + n - 4, "sses", 4) == 0))
        return n - 2;
    if (strncmp(w + n - 3, "xes", 3) == 0)
        return n - 2;
    return n - 1;
}

/* "Ergonomic Office Chairs" -> "Ergonomic Office Chair", "Car Batteries" ->
 * "Car Battery", "Knives" -> "Knife", "Shelves" -> "Shelf". */
static char *singular_of(const char *name, size_t *len)
{
    size_t n = strlen(name), w = n;
    while (w > 0 && name[w - 1] != ' ')
        w--;
    const char *word = name + w;
    size_t wn = n - w, keep;
    const char *tail = "";
    if (word_eq(word, wn, "Knives") || word_eq(word, wn, "Shelves")) {
        keep = wn - 3;
        tail = word[0] == 'K' ? "fe" : "f";
    } else {
        keep = singular_keep(word, wn);
        if (keep == wn - 3 && wn >= 3 && strncmp(word + wn - 3, "ies", 3) == 0)
            tail = "y";
    }
    size_t tl = strlen(tail), out_len = w + keep + tl;
    char *s = gw_malloc(out_len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, name, w + keep);
    memcpy(s + w + keep, tail, tl);
    s[out_len] = '\0';
    *len = out_len;
    return s;
}

/* 1 when the phrase contains the word (case-insensitive, whole word). */
static int has_word(const char *phrase, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = phrase; *p != '\0'; p++) {
        if ((p == phrase || p[-1] == ' ') && strncasecmp(p, word, wl) == 0 &&
            (p[wl] == '\0' || p[wl] == ' '))
            return 1;
    }
    return 0;
}

static int64_t to_cents(double usd)
{
    return (int64_t)llround(usd * 100.0);
}

static gw_err_t leaf_init(leaf_model_t *lm, const gw_tax_node_t *node, char *err, size_t errlen)
{
    lm->node = node;
    lm->dept = node->department;
    if (node->n_colors == 0 || node->n_materials == 0 || !(node->price_min > 0) ||
        node->price_max < node->price_min) {
        snprintf(err, errlen, "category %d (%s): needs colors, materials and 0 < price_min <= price_max",
                 node->id, node->name);
        return GW_EINVAL;
    }
    lm->singular = singular_of(node->name, &lm->singular_len);
    if (lm->singular == NULL)
        return GW_ENOMEM;
    lm->n_adj = 0;
    for (size_t a = 0; a < N_ADJECTIVES && lm->n_adj < MAX_ADJ; a++)
        if (!has_word(node->name, adjectives[a]))
            lm->adj[lm->n_adj++] = (uint8_t)a;
    lm->ln_min = log(node->price_min);
    lm->ln_span = log(node->price_max) - lm->ln_min;
    lm->min_cents = to_cents(node->price_min);
    lm->max_cents = to_cents(node->price_max);
    return GW_OK;
}

/* Leaf k's Zipf rank: its position when leaves are sorted by a seeded hash. */
static gw_err_t leaf_ranks(const gw_catgen_t *g, uint64_t seed, size_t *rank)
{
    uint64_t *key = gw_calloc(g->n_leaves, sizeof *key);
    if (key == NULL)
        return GW_ENOMEM;
    for (size_t k = 0; k < g->n_leaves; k++)
        key[k] = gw_rng_hash(seed, GW_RNG_SETUP, (uint64_t)g->leaves[k].node->id, 1);
    for (size_t k = 0; k < g->n_leaves; k++) {
        size_t r = 0;
        for (size_t j = 0; j < g->n_leaves; j++)
            r += key[j] < key[k] || (key[j] == key[k] && j < k);
        rank[k] = r;
    }
    gw_free(key);
    return GW_OK;
}

static gw_err_t leaves_init(gw_catgen_t *g, uint64_t seed, char *err, size_t errlen)
{
    const gw_taxonomy_t *t = g->tax;
    size_t *rank = NULL;
    gw_err_t rc = GW_ENOMEM;
    g->leaves = gw_calloc(t->n_leaves, sizeof *g->leaves);
    rank = gw_calloc(t->n_leaves, sizeof *rank);
    if (g->leaves == NULL || rank == NULL)
        goto out;
    for (size_t k = 0; k < t->n_leaves; k++) {
        if ((rc = leaf_init(&g->leaves[k], &t->nodes[t->leaves[k]], err, errlen)) != GW_OK)
            goto out;
        g->n_leaves = k + 1;
    }
    if ((rc = leaf_ranks(g, seed, rank)) != GW_OK)
        goto out;
    rc = alias_zipf(&g->leaf_pick, rank, g->n_leaves, LEAF_ZIPF_S);
out:
    gw_free(rank);
    return rc;
}

static gw_err_t dept_init(dept_model_t *d, const gw_tax_department_t *td, uint64_t seed,
                          uint64_t *brand_no)
{
    size_t *rank = gw_calloc(td->n_brands, sizeof *rank);
    d->brands = gw_calloc(td->n_brands, sizeof *d->brands);
    if (rank == NULL || d->brands == NULL) {
        gw_free(rank);
        return GW_ENOMEM;
    }
    d->n = td->n_brands;
    for (size_t b = 0; b < d->n; b++) {
        brand_model_t *bm = &d->brands[b];
        bm->name = td->brands[b];
        bm->len = strlen(bm->name);
        for (int s = 0; s < N_SERIES; s++) {
            uint64_t h = gw_rng_hash(seed, GW_RNG_SETUP, *brand_no, 2 + (uint32_t)s);
            bm->series[s][0] = (char)('A' + gw_rng_below(h, 26));
            bm->series[s][1] = (char)('A' + gw_rng_below_lo(h, 26));
        }
        (*brand_no)++;
        rank[b] = b;
    }
    gw_err_t rc = alias_zipf(&d->pick, rank, d->n, BRAND_ZIPF_S);
    gw_free(rank);
    return rc;
}

static gw_err_t depts_init(gw_catgen_t *g, uint64_t seed, char *err, size_t errlen)
{
    const gw_taxonomy_t *t = g->tax;
    uint64_t brand_no = 0;
    g->depts = gw_calloc(t->n_departments, sizeof *g->depts);
    if (g->depts == NULL)
        return GW_ENOMEM;
    g->n_depts = t->n_departments;
    for (size_t d = 0; d < t->n_departments; d++) {
        if (t->departments[d].n_brands == 0) {
            snprintf(err, errlen, "department '%s' has no brands in brands.tsv",
                     t->nodes[t->departments[d].node].name);
            return GW_EINVAL;
        }
        gw_err_t rc = dept_init(&g->depts[d], &t->departments[d], seed, &brand_no);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

gw_err_t gw_catgen_new(const gw_taxonomy_t *tax, uint64_t seed, gw_catgen_t **out, char *err,
                       size_t errlen)
{
    gw_err_t rc = GW_ENOMEM;
    gw_catgen_t *g = NULL;
    *out = NULL;
    if (tax->n_leaves == 0 || tax->n_warehouses == 0 || tax->n_departments == 0) {
        snprintf(err, errlen, "taxonomy has %zu leaves, %zu departments, %zu warehouses: need each",
                 tax->n_leaves, tax->n_departments, tax->n_warehouses);
        return GW_EINVAL;
    }
    if ((g = gw_calloc(1, sizeof *g)) == NULL)
        goto out;
    g->tax = tax;
    g->k_skus = gw_rng_stream(seed, GW_RNG_SKUS);
    g->k_inv = gw_rng_stream(seed, GW_RNG_INVENTORY);
    snprintf(err, errlen, "out of memory");
    if ((rc = leaves_init(g, seed, err, errlen)) != GW_OK)
        goto out;
    if ((rc = depts_init(g, seed, err, errlen)) != GW_OK)
        goto out;
    *out = g;
    g = NULL;
    rc = GW_OK;
out:
    gw_catgen_free(g);
    return rc;
}

void gw_catgen_free(gw_catgen_t *g)
{
    if (g == NULL)
        return;
    for (size_t k = 0; k < g->n_leaves; k++)
        gw_free(g->leaves[k].singular);
    for (size_t d = 0; d < g->n_depts; d++) {
        gw_free(g->depts[d].brands);
        alias_free(&g->depts[d].pick);
    }
    gw_free(g->leaves);
    alias_free(&g->leaf_pick);
    gw_free(g->depts);
    gw_free(g);
}

const gw_taxonomy_t *gw_catgen_taxonomy(const gw_catgen_t *g)
{
    return g->tax;
}

/* ---- rows ---- */

/* Retail price endings: under $20 X.99 or X.49; up to $1000 the dollars end
 * in 9 (49.99, 129.49, 679.99); above, in 99 (1299.99). Falls back to the
 * plain price when the rounded one leaves [min, max]. */
static int64_t retail_cents(double usd, const leaf_model_t *lm, uint64_t r)
{
    int64_t whole = (int64_t)usd, step = 1, cents;
    if (usd >= 1000.0) {
        whole = whole / 100 * 100 + 99;
        step = 100;
    } else if (usd >= 20.0) {
        whole = whole / 10 * 10 + 9;
        step = 10;
    }
    cents = (usd < 200.0 && gw_rng_below(r, 100) < 25) ? 49 : 99;
    int64_t c = whole * 100 + cents;
    if (c > lm->max_cents)
        c -= step * 100;
    if (c < lm->min_cents || c > lm->max_cents) {
        c = to_cents(usd);
        c = c < lm->min_cents ? lm->min_cents : c > lm->max_cents ? lm->max_cents : c;
    }
    return c;
}

/* Index into a list of n where earlier entries are likelier (min of two). */
static size_t skewed_pick(uint64_t r, size_t n)
{
    uint32_t a = gw_rng_below(r, (uint32_t)n), b = gw_rng_below_lo(r, (uint32_t)n);
    return a < b ? a : b;
}

static size_t put(char *dst, size_t at, const char *s, size_t n)
{
    if (at + n >= GW_CATALOG_TITLE_MAX)
        n = at < GW_CATALOG_TITLE_MAX - 1 ? GW_CATALOG_TITLE_MAX - 1 - at : 0;
    memcpy(dst + at, s, n);
    return at + n;
}

static void make_title(gw_cat_sku_t *o, const brand_model_t *b, const leaf_model_t *lm,
                       uint64_t r_adj, uint64_t r_model)
{
    char code[8];
    const char *adj = lm->n_adj ? adjectives[lm->adj[gw_rng_below(r_adj, lm->n_adj)]] : "";
    const char *series = b->series[gw_rng_below(r_model, N_SERIES)];
    uint32_t num = 1000 + gw_rng_below_lo(r_model, 9000);
    code[0] = series[0];
    code[1] = series[1];
    code[2] = '-';
    for (int k = 6; k >= 3; k--, num /= 10)
        code[k] = (char)('0' + num % 10);
    size_t at = put(o->title, 0, b->name, b->len);
    at = put(o->title, at, " ", 1);
    if (*adj != '\0') {
        at = put(o->title, at, adj, strlen(adj));
        at = put(o->title, at, " ", 1);
    }
    at = put(o->title, at, lm->singular, lm->singular_len);
    at = put(o->title, at, " ", 1);
    at = put(o->title, at, code, 7);
    o->title[at] = '\0';
    o->title_len = at;
}

void gw_catgen_sku(const gw_catgen_t *g, uint64_t index, gw_cat_sku_t *o)
{
    uint64_t r = gw_rng_row(g->k_skus, index);
    size_t leaf = alias_pick(&g->leaf_pick, gw_rng_field(r, F_LEAF));
    const leaf_model_t *lm = &g->leaves[leaf];
    const dept_model_t *d = &g->depts[lm->dept];
    const brand_model_t *b = &d->brands[alias_pick(&d->pick, gw_rng_field(r, F_BRAND))];
    const gw_tax_node_t *node = lm->node;
    o->sku_id = GW_CATALOG_SKU_ID_BASE + (int64_t)index;
    o->category_id = node->id;
    o->brand = b->name;
    make_title(o, b, lm, gw_rng_field(r, F_ADJ), gw_rng_field(r, F_MODEL));
    double usd = exp(lm->ln_min + gw_rng_unit(gw_rng_field(r, F_PRICE)) * lm->ln_span);
    o->price_cents = retail_cents(usd, lm, gw_rng_field(r, F_ENDING));
    uint64_t rc = gw_rng_field(r, F_COLOR);
    o->color = node->colors[skewed_pick(rc, node->n_colors)];
    o->material = node->materials[skewed_pick(gw_rng_mix(rc), node->n_materials)];
    uint32_t span = GW_CATALOG_LAUNCH_LAST_DAY - GW_CATALOG_LAUNCH_FIRST_DAY + 1;
    uint32_t age = gw_rng_below(gw_rng_field(r, F_LAUNCH), span);
    o->launched_on = GW_CATALOG_LAUNCH_FIRST_DAY + (int32_t)age;
    /* 2% inactive for the newest, 14% for the oldest: 8% on average */
    uint32_t permille = 20 + (uint32_t)(120ULL * (span - 1 - age) / (span - 1));
    o->is_active = gw_rng_below(gw_rng_field(r, F_ACTIVE), 1000) >= permille;
}

/* Picks n distinct warehouse ids in 1..w (n <= w), sorted ascending: up to
 * 20 hashed tries, then the lowest free ids (practically never). */
static void pick_warehouses(uint64_t r, size_t n, size_t w, int32_t *ids)
{
    size_t have = 0;
    int32_t next_free = 1;
    for (uint32_t f = F_WH; have < n; f++) {
        int32_t id = f < F_ROW ? 1 + (int32_t)gw_rng_below(gw_rng_field(r, f), (uint32_t)w)
                               : next_free++;
        size_t k = 0;
        while (k < have && ids[k] != id)
            k++;
        if (k < have)
            continue;
        size_t pos = have++;
        while (pos > 0 && ids[pos - 1] > id) {
            ids[pos] = ids[pos - 1];
            pos--;
        }
        ids[pos] = id;
    }
}

size_t gw_catgen_stock(const gw_catgen_t *g, uint64_t index, gw_cat_stock_t out[GW_CATALOG_MAX_STOCK])
{
    static const double means[4] = {4.0, 15.0, 60.0, 250.0};
    uint64_t r = gw_rng_row(g->k_inv, index);
    uint32_t p = gw_rng_below(gw_rng_field(r, F_NSTOCK), 100);
    size_t n = p < 30 ? 1 : p < 60 ? 2 : p < 85 ? 3 : 4;
    size_t w = g->tax->n_warehouses;
    if (n > w)
        n = w;
    uint32_t m = gw_rng_below(gw_rng_field(r, F_MEAN), 100);
    double mean = means[m < 35 ? 0 : m < 70 ? 1 : m < 90 ? 2 : 3];
    int32_t ids[GW_CATALOG_MAX_STOCK];
    pick_warehouses(r, n, w, ids);
    for (size_t k = 0; k < n; k++) {
        gw_cat_stock_t *s = &out[k];
        uint64_t a = gw_rng_field(r, F_ROW + 3 * (uint32_t)k);
        uint64_t b = gw_rng_field(r, F_ROW + 3 * (uint32_t)k + 1);
        uint64_t c = gw_rng_field(r, F_ROW + 3 * (uint32_t)k + 2);
        s->warehouse_id = ids[k];
        if (gw_rng_below(a, 100) < 20) {
            s->on_hand = 0;
        } else {
            double v = 1.0 - mean * log(gw_rng_unit(b));
            s->on_hand = v > 1e6 ? 1000000 : (int32_t)v;
        }
        s->reserved = (s->on_hand == 0 || gw_rng_below_lo(a, 2) == 0)
                          ? 0
                          : (int32_t)gw_rng_below_lo(c, (uint32_t)(s->on_hand / 3 + 1));
        s->reorder_point = 5 + (int32_t)gw_rng_below(c, 46);
        uint64_t ago = 1 + gw_rng_below(gw_rng_mix(c), 90u * 86400u);
        s->updated_at = ((int64_t)GW_CATALOG_EPOCH_DAY * 86400 - (int64_t)ago) * 1000000;
    }
    return n;
}

void gw_catalog_shard_range(uint64_t total, uint32_t i, uint32_t n, uint64_t *first, uint64_t *end)
{
    if (n == 0)
        n = 1;
    /* total * i / n without overflow for total < 2^63 and n < 2^32 */
    *first = total / n * i + total % n * i / n;
    *end = total / n * (i + 1) + total % n * (i + 1) / n;
}

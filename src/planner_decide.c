/* planner_decide.c - the rules planner's decisions once the entities are
 * filters (planner_rules.c) and the numbers are read (planner_nums.c):
 * cue words, title searches, grouping (by/per/each/which X, comparisons),
 * the measure and its aggregate, HAVING and per-SKU conditions, order and
 * limit, SKU lookups and warehouse lists.
 */
#include <stdio.h>
#include <string.h>

#include "planner_int.h"
#include "planner_sql_int.h"

static void ambiguous(gw__pc_t *c, const char *fmt, const char *a, const char *b)
{
    c->p->status = GW_PLAN_AMBIGUOUS;
    snprintf(c->p->message, sizeof c->p->message, fmt, a, b);
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- cues ---- */

typedef struct cues {
    int count, howmuch, total, avg, median, min, max, most, least, list, compare, diff, sorted, where;
    int strong_list; /* "which ...", "list", "show": rows wanted, not a total */
    int price_word, cheap, expensive, newest, oldest;
} cues_t;

/* "the highest price", "lowest cost": a price word inside a cheap/expensive
 * phrase asks for the price itself ("lowest priced" names products). */
static int superlative_price(const gw__pc_t *c)
{
    for (size_t i = 0; i < c->q->n_links; i++) {
        const gw_link_t *l = &c->q->links[i];
        if (l->kind != GW_LINK_COLUMN || (l->id != GW_COL_CHEAP && l->id != GW_COL_EXPENSIVE) || c->used[l->tok_first])
            continue;
        for (size_t t = l->tok_first; t < l->tok_end; t++)
            if (gw__pc_is(c, t, "price") || gw__pc_is(c, t, "prices") || gw__pc_is(c, t, "cost"))
                return 1;
    }
    return 0;
}

static void read_cues(gw__pc_t *c, cues_t *k)
{
    static const char *const most[] = {"most", "highest", "largest", "biggest", "greatest", "top", "max",
                                       "maximum", NULL};
    static const char *const least[] = {"least", "fewest", "lowest", "smallest", "bottom", "min", "minimum", NULL};
    static const char *const list[] = {"which", "what", "list", "show", "give", "name", "display", "find",
                                       "get", "tell", "identify", "whats", "who", NULL};
    static const char *const compare[] = {"compare", "comparison", "versus", "vs", "against", "compared",
                                          "comparing", NULL};
    static const char *const sorted[] = {"sorted", "sort", "ranked", "rank", "ranking", "descending",
                                         "ascending", "ordered", NULL};
    memset(k, 0, sizeof *k);
    k->count = gw__pc_find(c, "how many") >= 0 || gw__pc_find(c, "number of") >= 0 || gw__pc_any_raw(c, (const char *const[]){"count", "tally", NULL});
    k->howmuch = gw__pc_find(c, "how much") >= 0;
    k->total = gw__pc_any_raw(c, (const char *const[]){"total", "sum", "overall", "altogether", "combined", NULL});
    k->avg = gw__pc_any_raw(c, (const char *const[]){"average", "avg", "mean", "typical", NULL});
    k->median = gw__pc_any_raw(c, (const char *const[]){"median", NULL});
    k->most = gw__pc_any_raw(c, most);
    k->least = gw__pc_any_raw(c, least);
    k->min = gw__pc_any_raw(c, (const char *const[]){"minimum", "min", NULL});
    k->max = gw__pc_any_raw(c, (const char *const[]){"maximum", "max", NULL});
    k->list = gw__pc_is_any(c, 0, list) || gw__pc_any_raw(c, (const char *const[]){"list", "show", NULL});
    k->strong_list = k->list && !gw__pc_is(c, 0, "what") && !gw__pc_is(c, 0, "whats") && !gw__pc_is(c, 0, "tell");
    k->compare = gw__pc_any_raw(c, compare);
    k->diff = gw__pc_find(c, "difference") >= 0 || gw__pc_find(c, "how many more") >= 0 ||
              gw__pc_find(c, "how much more") >= 0 || gw__pc_find(c, "by how many") >= 0 ||
              gw__pc_find(c, "by how much") >= 0;
    k->sorted = gw__pc_any_raw(c, sorted) || gw__pc_find(c, "order by") >= 0 || gw__pc_find(c, "most first") >= 0 ||
                gw__pc_find(c, "highest first") >= 0 || gw__pc_find(c, "largest first") >= 0;
    k->where = gw__pc_is(c, 0, "where");
    k->price_word = gw__pc_col_free(c, GW_COL_PRICE) || superlative_price(c);
    k->most |= gw__pc_find(c, "valuable") >= 0;
    k->cheap = gw__pc_col_free(c, GW_COL_CHEAP) || (gw__pc_find(c, "oldest") < 0 && k->least && k->price_word);
    k->expensive = gw__pc_col_free(c, GW_COL_EXPENSIVE) || (k->most && k->price_word && !k->cheap);
    k->newest = gw__pc_col_free(c, GW_COL_NEW) && gw__pc_find(c, "new") < 0;
    k->newest |= gw__pc_find(c, "newest") >= 0 || gw__pc_find(c, "latest") >= 0 || gw__pc_find(c, "most recent") >= 0;
    k->oldest = gw__pc_find(c, "oldest") >= 0 || gw__pc_find(c, "earliest") >= 0;
}

/* ---- grouping ---- */

static gw_dim_t dim_of_col(int col)
{
    switch (col) {
    case GW_COL_REGION: return GW_DIM_REGION;
    case GW_COL_WAREHOUSE: return GW_DIM_WAREHOUSE;
    case GW_COL_CITY: return GW_DIM_CITY;
    case GW_COL_STATE: return GW_DIM_STATE;
    case GW_COL_BRAND: return GW_DIM_BRAND;
    case GW_COL_CATEGORY: return GW_DIM_CATEGORY;
    case GW_COL_DEPARTMENT: return GW_DIM_DEPARTMENT;
    case GW_COL_COLOR: return GW_DIM_COLOR;
    case GW_COL_MATERIAL: return GW_DIM_MATERIAL;
    case GW_COL_STATUS: return GW_DIM_ACTIVE;
    default: return GW_DIM_NONE;
    }
}

static int is_location(gw_link_kind_t k)
{
    return k == GW_LINK_REGION || k == GW_LINK_STATE || k == GW_LINK_STATES || k == GW_LINK_CITY ||
           k == GW_LINK_WAREHOUSE;
}

/* "each West-region warehouse", "which 3 Midwest warehouses": a group cue
 * before a place, past numbers and "the". */
static int cue_before_value(const gw__pc_t *c, size_t at)
{
    static const char *const cue[] = {"each", "every", "per", "which", "what", "top", "list", "show", NULL};
    size_t k = at;
    while (k > 0 && ((c->t[k - 1].flags & GW_TOK_NUM) || gw__pc_is(c, k - 1, "the") || gw__pc_is(c, k - 1, "top")))
        if (gw__pc_is_any(c, --k, cue))
            return 1;
    return k > 0 && gw__pc_is_any(c, k - 1, cue);
}

/* "West region", "Texas warehouses", "Samsung brand": a dimension word
 * right after (or before) a value of its own kind only labels it. */
static int is_label(const gw__pc_t *c, const gw_link_t *l, gw_dim_t d)
{
    for (size_t back = 1; back <= 2 && l->tok_first >= back; back++) {
        const gw_link_t *p = gw__pc_link(c, l->tok_first - back);
        if (p == NULL)
            break;
        if (is_location(p->kind) && (d == GW_DIM_WAREHOUSE || d == GW_DIM_REGION || d == GW_DIM_STATE ||
                                     d == GW_DIM_CITY))
            return !(d == GW_DIM_WAREHOUSE && cue_before_value(c, p->tok_first));
        if ((p->kind == GW_LINK_BRAND && d == GW_DIM_BRAND) || (p->kind == GW_LINK_COLOR && d == GW_DIM_COLOR) ||
            (p->kind == GW_LINK_MATERIAL && d == GW_DIM_MATERIAL) ||
            (p->kind == GW_LINK_CATEGORY && (d == GW_DIM_CATEGORY || d == GW_DIM_DEPARTMENT)))
            return 1;
        if (!(p->kind == GW_LINK_COLUMN && (p->id == GW_COL_REGION || p->id == GW_COL_STATE)))
            break;
    }
    const gw_link_t *n = gw__pc_link(c, l->tok_end);
    if (n != NULL && ((n->kind == GW_LINK_BRAND && d == GW_DIM_BRAND) ||
                      (is_location(n->kind) && (d == GW_DIM_REGION || d == GW_DIM_STATE || d == GW_DIM_CITY))))
        return 1;
    return 0;
}

/* Words that may sit between a group cue and its dimension word. */
static const char *const filler[] = {"the", "a", "an", "all", "its", "their", "our", "different", "individual",
                                     "most", "least", "top", "bottom", "highest", "lowest", "largest", "smallest",
                                     "biggest", "fewest", "are", "is", "were", "of", "each", "every", "single",
                                     "stocked", "common", NULL};

static int group_cue_before(const gw__pc_t *c, size_t at)
{
    /* "across all warehouses", "in every warehouse that stocks them": all of them, not each */
    if (at >= 2 && (gw__pc_is(c, at - 1, "all") || gw__pc_is(c, at - 1, "every") || gw__pc_is(c, at - 1, "any")) &&
        (gw__pc_is(c, at - 2, "across") || gw__pc_is(c, at - 2, "in") || gw__pc_is(c, at - 2, "over")) &&
        (c->cond_units.op != GW_CMP_NONE || gw__pc_find(c, "total") >= 0 || gw__pc_is(c, at - 1, "all")))
        return 0;
    static const char *const cue[] = {"by", "per", "each", "every", "across", "which", "what", "whats", "among",
                                      "list", "show", "top", "bottom", "breakdown", "name", "for", "most", "least",
                                      "highest", "lowest", "largest", "smallest", "biggest", "fewest", NULL};
    static const char *const stop[] = {"in", "of", "for", "with", "by", "at", "from", "and", "or", "to", "on",
                                       "have", "has", "how", "many", "much", "do", "does", "are", "is", NULL};
    size_t k = at;
    int adjective = 0; /* one describing word may sit in between: "which 5 leaf categories" */
    while (k > 0) {
        int skip = gw__pc_is_any(c, k - 1, filler) || (c->t[k - 1].flags & GW_TOK_NUM) ||
                   gw__pc_col(c, k - 1) == GW_COL_CHEAP || gw__pc_col(c, k - 1) == GW_COL_EXPENSIVE ||
                   gw__pc_col(c, k - 1) == GW_COL_REGION || gw__pc_col(c, k - 1) == GW_COL_STATE ||
                   (gw__pc_link(c, k - 1) != NULL && is_location(gw__pc_link(c, k - 1)->kind));
        if (!skip && !adjective && k >= 2 && k == at && gw__pc_raw(c, k - 1) && !gw__pc_is_any(c, k - 1, stop) &&
            !gw__pc_is_any(c, k - 1, cue))
            skip = adjective = 1;
        if (!skip)
            break;
        if (gw__pc_is_any(c, k - 1, cue))
            return 1; /* "each", "top" are both filler and cue */
        k--;
    }
    if (k == 0) /* "Warehouses with more than 40000 units", "brands that sell tents" */
        return gw__pc_is_any(c, at + 1, (const char *const[]){"with", "that", "having", "whose", "where", NULL});
    if (gw__pc_is(c, k - 1, "for") && !gw__pc_is(c, k, "each") && !gw__pc_is(c, k, "every"))
        return 0;
    return gw__pc_is_any(c, k - 1, cue);
}

static void add_group(gw_plan_t *p, gw_dim_t d)
{
    for (size_t i = 0; i < p->n_group; i++)
        if (p->group[i] == d)
            return;
    if (p->n_group < 2)
        p->group[p->n_group++] = d;
}

/* The dimension words used as groups; *plural says whether the first one
 * was written in the plural ("which brands"). */
static void read_groups(gw__pc_t *c, int *singular)
{
    *singular = 0;
    for (size_t i = 0; i < c->q->n_links; i++) {
        const gw_link_t *l = &c->q->links[i];
        gw_dim_t d = l->kind == GW_LINK_COLUMN ? dim_of_col(l->id) : GW_DIM_NONE;
        if (d == GW_DIM_NONE || c->used[l->tok_first] || is_label(c, l, d) || !group_cue_before(c, l->tok_first))
            continue;
        if (c->p->n_group == 0) {
            const gw_token_t *t = &c->t[l->tok_end - 1];
            *singular = strcmp(t->text, t->stem) == 0 || t->text[strlen(t->text) - 1] != 's';
        }
        add_group(c->p, d);
    }
    /* launch years: "each year", "per year", "by year", "yearly" */
    for (size_t i = 0; i < c->n; i++) {
        size_t b = i; /* "by launch year", "per release year" */
        if (b > 0 && (gw__pc_col(c, b - 1) == GW_COL_LAUNCHED || gw__pc_col(c, b - 1) == GW_COL_NEW))
            b--;
        if ((gw__pc_is(c, i, "year") || gw__pc_is(c, i, "years")) && !c->used[i] && b > 0 &&
            gw__pc_is_any(c, b - 1, (const char *const[]){"each", "per", "by", "every", NULL}))
            add_group(c->p, GW_DIM_LAUNCH_YEAR);
    }
    if (gw__pc_any_raw(c, (const char *const[]){"yearly", "annually", "annual", NULL}))
        add_group(c->p, GW_DIM_LAUNCH_YEAR);
    if (gw__pc_find(c, "active and inactive") >= 0 || gw__pc_find(c, "active vs inactive") >= 0 ||
        gw__pc_find(c, "active or inactive") >= 0 || gw__pc_find(c, "active versus inactive") >= 0 ||
        gw__pc_find(c, "inactive and active") >= 0) {
        add_group(c->p, GW_DIM_ACTIVE);
        c->p->f.active = -1;
    }
}

/* Two or more values of one dimension with "compare"/"vs"/"or" between
 * them become a group over those values. */
static void read_compare(gw__pc_t *c, const cues_t *k)
{
    static const gw_dim_t dims[] = {GW_DIM_REGION, GW_DIM_WAREHOUSE, GW_DIM_CITY, GW_DIM_STATE,
                                    GW_DIM_BRAND,  GW_DIM_COLOR,     GW_DIM_MATERIAL};
    int or_between = gw__pc_find(c, "or") >= 0;
    for (size_t i = 0; i < N_OF(dims); i++) {
        const gw_plan_set_t *s = gw__sq_dim_set(c->p, dims[i]);
        if (s->n < 2 || s->negate || !(k->compare || k->diff || or_between))
            continue;
        if (c->p->n_group == 0 || c->p->group[0] != dims[i]) {
            gw_dim_t keep = c->p->n_group > 0 ? c->p->group[0] : GW_DIM_NONE;
            c->p->group[0] = dims[i];
            c->p->n_group = keep != GW_DIM_NONE && keep != dims[i] ? 2 : 1;
            c->p->group[1] = keep;
        }
        c->p->difference = k->diff && s->n == 2 && c->p->n_group == 1;
        return;
    }
    if (c->p->f.n_cats >= 2 && (k->compare || k->diff || or_between)) {
        int leaves = 1, depts = 1;
        for (size_t i = 0; i < c->p->f.n_cats; i++) {
            leaves &= c->p->f.cats[i]->is_leaf;
            depts &= c->p->f.cats[i]->depth == 1;
        }
        if (leaves)
            add_group(c->p, GW_DIM_CATEGORY);
        else if (depts) /* "Furniture vs Office Products" */
            add_group(c->p, GW_DIM_DEPARTMENT);
    }
}

/* ---- titles ---- */

/* The title substring of a question: a quoted phrase, or the words of
 * "with X in the title", "named X", "titles containing X". Sets *a, *b to
 * its token span so that its words are not read as entities. */
void gw__plan_title(gw__pc_t *c, size_t *a, size_t *b)
{
    static const char *const intro[] = {"named", "called", "titled", "containing", "contain", "contains",
                                        "mentioning", "mention", "mentions", NULL};
    size_t i = 0, j;
    *a = *b = 0;
    while (i < c->n && !(c->t[i].flags & GW_TOK_QUOTED))
        i++;
    if (i < c->n) {
        for (j = i; j < c->n && (c->t[j].flags & GW_TOK_QUOTED); j++)
            ;
    } else {
        int tc = gw__pc_col_at(c, GW_COL_TITLE), w = -1;
        for (size_t k = 0; k < c->n && w < 0; k++)
            if (gw__pc_is_any(c, k, intro))
                w = (int)k;
        if (w >= 0) {
            i = (size_t)w + 1;
            j = i;
            while (j < c->n && !gw__pc_is_any(c, j, (const char *const[]){"in", "at", "and", "that", "which", "with", NULL}))
                j++;
        } else if (tc > 0 && gw__pc_is(c, (size_t)tc - 1, "the") && gw__pc_is(c, (size_t)tc - 2, "in")) {
            int with = -1;
            for (int k = tc - 3; k >= 0 && with < 0; k--)
                if (gw__pc_is(c, (size_t)k, "with") || gw__pc_is(c, (size_t)k, "have") || gw__pc_is(c, (size_t)k, "has"))
                    with = k;
            if (with < 0)
                return;
            i = (size_t)with + 1;
            j = (size_t)tc - 2;
        } else {
            return;
        }
    }
    if (j <= i || j - i > 6)
        return;
    size_t s = c->t[i].start, e = c->t[j - 1].end, k = 0;
    for (; s < e && k + 1 < sizeof c->p->f.title; s++) {
        char ch = c->question[s];
        if (ch == '%' || ch == '_' || ch == '"' || (unsigned char)ch >= 0x80)
            continue;
        c->p->f.title[k++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    c->p->f.title[k] = '\0';
    *a = i;
    *b = j;
    for (size_t m = i; m < j; m++)
        c->used[m] = 1;
}

/* ---- measure ---- */

#define SUBJ_ROWS (-1)

/* What "how many" / "number of" counts: a column word (SKU, BRAND,
 * ON_HAND...), SUBJ_ROWS for stock rows, or 0 for a product noun. */
static int count_subject(const gw__pc_t *c)
{
    static const char *const skip[] = {"the", "of", "different", "distinct", "unique", "total", "individual",
                                       "separate", "are", "is", "do", "does", "we", "there", NULL};
    static const char *const rows[] = {"rows", "records", "entries", "lines", "row", "record", "pairs",
                                       "positions", "combinations", "placements", NULL};
    int at = gw__pc_find(c, "how many");
    if (at < 0)
        at = gw__pc_find(c, "number of");
    if (at < 0)
        at = gw__pc_find(c, "count of");
    if (at < 0 && (at = gw__pc_find(c, "count")) >= 0)
        at--; /* "count warehouses per region": the subject follows one word later */
    if (at < 0 && gw__pc_find(c, "count") < 0)
        return 0;
    int seen_entity = 0;
    for (size_t i = (size_t)(at + 2); i < c->n && i < (size_t)(at + 9); i++) {
        const gw_link_t *l = gw__pc_link(c, i);
        if (l == NULL) {
            if (gw__pc_is_any(c, i, rows))
                return SUBJ_ROWS;
            if (gw__pc_is_any(c, i, skip) || (c->t[i].flags & GW_TOK_NUM))
                continue;
            return 0;
        }
        if (l->kind != GW_LINK_COLUMN) {
            seen_entity = 1;
            i = l->tok_end - 1;
            continue;
        }
        if (gw__pc_is_any(c, l->tok_end, rows) ||
            (gw__pc_col(c, l->tok_end) == GW_COL_WAREHOUSE && gw__pc_is_any(c, l->tok_end + 1, rows)))
            return SUBJ_ROWS; /* "stock rows", "inventory records", "SKU-warehouse pairs" */
        switch (l->id) {
        case GW_COL_ACTIVE:
        case GW_COL_INACTIVE:
        case GW_COL_NEW:
            i = l->tok_end - 1;
            continue;
        case GW_COL_SKU:
        case GW_COL_ON_HAND:
        case GW_COL_RESERVED:
        case GW_COL_AVAILABLE: return l->id;
        default:
            if (seen_entity)
                return 0;
            return dim_of_col(l->id) != GW_DIM_NONE ? l->id : 0;
        }
    }
    return 0;
}

static int has_conds(const gw__pc_t *c)
{
    return c->cond_skus.op || c->cond_units.op || c->cond_wh.op;
}

/* "How many brands have more than 40 SKUs": count the groups that pass. */
static int count_groups(gw__pc_t *c, int subj)
{
    gw_plan_t *p = c->p;
    gw_dim_t d = dim_of_col(subj);
    if (d == GW_DIM_NONE || !has_conds(c))
        return 0;
    p->n_group = 0;
    add_group(p, d);
    p->count_groups = 1;
    p->measure = c->cond_skus.op ? GW_M_SKUS : c->cond_wh.op ? GW_M_WAREHOUSES : GW_M_UNITS;
    return 1;
}

static int sku_words(const gw__pc_t *c)
{
    static const char *const w[] = {"kinds", "types", "varieties", "different", "distinct", "unique", "catalog",
                                    "catalogue", "carry", "carries", "sell", "sells", "offer", "offers", "listed",
                                    "exist", NULL};
    return gw__pc_any_raw(c, w) || gw__pc_col_free(c, GW_COL_SKU);
}

static int unit_words(const gw__pc_t *c)
{
    return gw__pc_col_free(c, GW_COL_ON_HAND) || gw__pc_find(c, "have") >= 0 || gw__pc_find(c, "hold") >= 0 ||
           gw__pc_find(c, "holds") >= 0;
}

/* An on-hand word other than "in stock" ("units", "stock", "inventory"). */
static int stock_word(const gw__pc_t *c)
{
    for (size_t i = 0; i < c->q->n_links; i++) {
        const gw_link_t *l = &c->q->links[i];
        if (l->kind == GW_LINK_COLUMN && l->id == GW_COL_ON_HAND && !c->used[l->tok_first] &&
            !(gw__pc_is(c, l->tok_first, "in") && gw__pc_is(c, l->tok_first + 1, "stock")))
            return 1;
    }
    return 0;
}

static void measure_from_subject(gw__pc_t *c, int subj)
{
    gw_plan_t *p = c->p;
    switch (subj) {
    case GW_COL_SKU: p->measure = GW_M_SKUS; break;
    case GW_COL_BRAND: p->measure = GW_M_BRANDS; break;
    case GW_COL_CATEGORY: p->measure = GW_M_CATEGORIES; break;
    case GW_COL_WAREHOUSE: p->measure = GW_M_WAREHOUSES; break;
    case GW_COL_RESERVED: p->measure = GW_M_RESERVED; break;
    case GW_COL_AVAILABLE: p->measure = GW_M_AVAILABLE; break;
    case SUBJ_ROWS: p->measure = GW_M_STOCK_ROWS; break;
    default: /* units, unless the question says reserved or available */
        p->measure = gw__pc_col_free(c, GW_COL_AVAILABLE)  ? GW_M_AVAILABLE
                     : gw__pc_col_free(c, GW_COL_RESERVED) ? GW_M_RESERVED
                                                           : GW_M_UNITS;
    }
}

static void decide_measure(gw__pc_t *c, const cues_t *k)
{
    gw_plan_t *p = c->p;
    int subj = k->count ? count_subject(c) : 0;
    int sku_props = c->price_threshold || p->f.launched.has || p->f.active >= 0 || p->f.title[0] != '\0';
    int loc = p->f.regions.n || p->f.states.n || p->f.cities.n || p->f.warehouses.n;
    int agg_cue = k->count || k->howmuch || k->total || k->avg || k->median;
    if (subj != 0 && count_groups(c, subj))
        return;
    if (subj == GW_COL_SKU || subj == GW_COL_BRAND || subj == GW_COL_CATEGORY || subj == GW_COL_WAREHOUSE ||
        subj == GW_COL_ON_HAND || subj == GW_COL_RESERVED || subj == GW_COL_AVAILABLE || subj == SUBJ_ROWS)
        measure_from_subject(c, subj);
    else if (subj != 0 && dim_of_col(subj) != GW_DIM_NONE) { /* "how many regions ..." */
        add_group(p, dim_of_col(subj));
        p->count_groups = 1;
        p->measure = GW_M_SKUS;
    } else if (gw__pc_col_free(c, GW_COL_VALUE))
        p->measure = GW_M_VALUE;
    else if (gw__pc_col_free(c, GW_COL_REORDER) && p->f.reorder == GW_CMP_NONE &&
             (k->avg || k->median || k->total || k->min || k->max))
        p->measure = GW_M_REORDER; /* "the average reorder point of laptops" */
    else if (gw__pc_col_free(c, GW_COL_RESERVED) && (agg_cue || p->n_group || k->most || k->least))
        p->measure = GW_M_RESERVED;
    else if (gw__pc_col_free(c, GW_COL_AVAILABLE) && (agg_cue || p->n_group || gw__pc_col_free(c, GW_COL_ON_HAND)))
        p->measure = GW_M_AVAILABLE;
    else if (k->price_word || k->cheap || k->expensive)
        p->measure = GW_M_PRICE;
    else if (agg_cue)
        p->measure = !stock_word(c) && (sku_words(c) || (sku_props && !loc)) ? GW_M_SKUS : GW_M_UNITS;
    else if (stock_word(c) && !k->strong_list && p->n_group == 0 && !(k->most || k->least))
        p->measure = GW_M_UNITS; /* "what is our stock of car batteries" */
    else if (p->n_group > 0)
        p->measure = gw__pc_col_free(c, GW_COL_SKU) || gw__pc_find(c, "common") >= 0 ? GW_M_SKUS
                     : (gw__sq_dim_table(p->group[0]) == 'w' || k->most || k->least || unit_words(c)) ? GW_M_UNITS
                                                                                                   : GW_M_SKUS;
    else if (k->list || k->newest || k->oldest || c->topn > 0 || has_conds(c) || sku_props ||
             gw__pc_col_free(c, GW_COL_SKU))
        p->measure = GW_M_LIST; /* "laptops priced above $2000", "SKUs released in 2020" */
    else
        p->measure = GW_M_UNITS;
    if (gw__pc_col_free(c, GW_COL_AVAILABLE) && p->measure != GW_M_AVAILABLE)
        p->in_stock = 1;
}

/* A plain list of SKUs when a price or date superlative names products
 * ("the 3 cheapest monitors", "newest laptops") without a price word. */
static void decide_list(gw__pc_t *c, const cues_t *k)
{
    gw_plan_t *p = c->p;
    if (p->n_group > 0 || k->avg || k->median || k->count || k->total)
        return;
    if (p->measure == GW_M_PRICE && !k->price_word && (k->cheap || k->expensive) && !(k->cheap && k->expensive))
        p->measure = GW_M_LIST;
    if (p->measure == GW_M_UNITS && (k->list || c->topn > 0) && (k->most || k->least) && !k->howmuch)
        p->measure = GW_M_LIST; /* "which SKUs have the most units" */
    if (p->measure == GW_M_VALUE && (c->topn > 0 || k->most || k->least || gw__pc_find(c, "valuable") >= 0)) {
        p->measure = GW_M_LIST; /* "the 3 most valuable SKUs by inventory value" */
        p->sort = GW_SORT_VALUE;
        p->desc = !k->least;
    }
}

static void decide_agg(gw__pc_t *c, const cues_t *k)
{
    gw_plan_t *p = c->p;
    int range = gw__pc_find(c, "range") >= 0;
    if (k->avg)
        p->agg = GW_AGG_AVG;
    else if (k->median)
        p->agg = GW_AGG_MEDIAN;
    else if (p->measure == GW_M_PRICE) {
        if ((k->cheap && k->expensive) || range || (k->min && k->max))
            p->agg = GW_AGG_MINMAX;
        else if (k->cheap || k->min)
            p->agg = GW_AGG_MIN;
        else if (k->expensive || k->max)
            p->agg = GW_AGG_MAX;
        else
            p->agg = GW_AGG_AVG;
    } else if (k->min && k->max) {
        p->agg = GW_AGG_MINMAX;
    } else if (k->min && p->n_group == 0) {
        p->agg = GW_AGG_MIN;
    } else if (k->max && p->n_group == 0) {
        p->agg = GW_AGG_MAX;
    }
}

/* ---- thresholds, order, limit ---- */

static void apply_conds(gw__pc_t *c)
{
    gw_plan_t *p = c->p;
    if (p->count_groups) {
        p->having = c->cond_skus.op ? c->cond_skus : c->cond_wh.op ? c->cond_wh : c->cond_units;
        return;
    }
    if (p->n_group > 0 && p->measure != GW_M_LIST) {
        if (c->cond_skus.op) {
            p->having = c->cond_skus;
            p->measure = GW_M_SKUS;
        } else if (c->cond_wh.op) {
            p->having = c->cond_wh;
            p->measure = GW_M_WAREHOUSES;
        } else if (c->cond_units.op && c->cond_units.value > 0) {
            p->having = c->cond_units;
            if (p->measure != GW_M_RESERVED && p->measure != GW_M_AVAILABLE)
                p->measure = GW_M_UNITS;
        } else if (c->cond_units.op) {
            p->skucond = GW_SKUCOND_UNITS;
            p->skucond_num = c->cond_units;
        }
        return;
    }
    if (c->cond_units.op) {
        if (p->measure == GW_M_STOCK_ROWS || p->measure == GW_M_UNITS || p->measure == GW_M_RESERVED ||
            p->measure == GW_M_AVAILABLE)
            p->f.on_hand = c->cond_units;
        else {
            p->skucond = GW_SKUCOND_UNITS;
            p->skucond_num = c->cond_units;
        }
    } else if (c->cond_wh.op) {
        p->skucond = GW_SKUCOND_WAREHOUSES;
        p->skucond_num = c->cond_wh;
    }
}

/* The product noun of a list: singular ("the cheapest laptop") or not. */
static int noun_singular(const gw__pc_t *c)
{
    /* "what's the cheapest pair of ...", "which is the newest ...": one */
    if (gw__pc_find(c, "pair of") >= 0 || gw__pc_is(c, 0, "whats") || gw__pc_find(c, "what is the") == 0 ||
        gw__pc_find(c, "which is the") == 0 || gw__pc_find(c, "which one") >= 0)
        return 1;
    if (gw__pc_find(c, "what are") == 0 || gw__pc_find(c, "which are") == 0)
        return 0;
    for (size_t i = 0; i < c->q->n_links; i++) {
        const gw_link_t *l = &c->q->links[i];
        if (l->kind == GW_LINK_CATEGORY || (l->kind == GW_LINK_COLUMN && l->id == GW_COL_SKU)) {
            const gw_token_t *t = &c->t[l->tok_end - 1];
            size_t n = strlen(t->text);
            return strcmp(t->text, t->stem) == 0 || t->text[n - 1] != 's' || l->match == GW_MATCH_HEAD;
        }
    }
    return 0;
}

static void decide_order(gw__pc_t *c, const cues_t *k, int singular)
{
    gw_plan_t *p = c->p;
    size_t def = 0;
    if (p->measure == GW_M_LIST) {
        if (p->sort == GW_SORT_VALUE)
            ; /* set by decide_list */
        else if (k->cheap || k->expensive)
            p->sort = GW_SORT_PRICE, p->desc = k->expensive;
        else if (k->newest || k->oldest)
            p->sort = GW_SORT_LAUNCHED, p->desc = k->newest;
        else if (k->most || k->least)
            p->sort = GW_SORT_UNITS, p->desc = !k->least;
        p->singular = noun_singular(c) && c->topn == 0;
        def = p->sort == GW_SORT_NONE ? 0 : p->singular ? 1 : 5;
    } else if (p->n_group > 0 && !p->count_groups && !p->difference) {
        int super = k->most || k->least || c->topn > 0 || k->cheap || k->expensive;
        if (super || k->sorted) {
            p->sort = GW_SORT_MEASURE;
            p->desc = !(k->least || (k->cheap && !k->expensive) || gw__pc_find(c, "ascending") >= 0);
        }
        p->singular = singular && c->topn == 0;
        def = super && !k->sorted ? (p->singular ? 1 : 5) : 0;
    }
    p->limit = c->topn > 0 ? (size_t)c->topn : def;
}

/* The attributes a lookup asks for (a bit each), or 0 for all of them. */
static unsigned lookup_attrs(const gw__pc_t *c, const cues_t *k)
{
    unsigned a = 0;
    if (gw__pc_col_free(c, GW_COL_CATEGORY) || gw__pc_col_free(c, GW_COL_DEPARTMENT))
        a |= 1u << GW_ATTR_CATEGORY;
    if (gw__pc_col_free(c, GW_COL_BRAND) || gw__pc_find(c, "who makes") >= 0)
        a |= 1u << GW_ATTR_BRAND;
    if (k->price_word || k->howmuch || k->cheap || k->expensive)
        a |= 1u << GW_ATTR_PRICE;
    if (gw__pc_col_free(c, GW_COL_COLOR))
        a |= 1u << GW_ATTR_COLOR;
    if (gw__pc_col_free(c, GW_COL_MATERIAL))
        a |= 1u << GW_ATTR_MATERIAL;
    if (gw__pc_col_free(c, GW_COL_LAUNCHED) || gw__pc_col_free(c, GW_COL_NEW))
        a |= 1u << GW_ATTR_LAUNCHED;
    if (gw__pc_col_free(c, GW_COL_ACTIVE) || gw__pc_col_free(c, GW_COL_INACTIVE) || gw__pc_col_free(c, GW_COL_STATUS))
        a |= 1u << GW_ATTR_ACTIVE;
    if (a == 0 && (gw__pc_col_free(c, GW_COL_TITLE) || gw__pc_find(c, "called") >= 0))
        a |= 1u << GW_ATTR_TITLE;
    return a;
}

/* Lookups of given SKU ids. */
static int decide_lookup(gw__pc_t *c, const cues_t *k)
{
    gw_plan_t *p = c->p;
    if (p->f.n_sku_ids == 0)
        return 0;
    if (k->where || gw__pc_col_free(c, GW_COL_WAREHOUSE) || gw__pc_find(c, "stocked") >= 0 ||
        gw__pc_find(c, "located") >= 0 || gw__pc_find(c, "which warehouses") >= 0)
        p->measure = GW_M_SKU_STOCK;
    else if (gw__pc_col_free(c, GW_COL_RESERVED))
        p->measure = GW_M_RESERVED;
    else if (gw__pc_col_free(c, GW_COL_AVAILABLE))
        p->measure = GW_M_AVAILABLE;
    else if (gw__pc_col_free(c, GW_COL_ON_HAND) || k->count)
        p->measure = GW_M_UNITS;
    else {
        p->measure = GW_M_SKU_DETAIL;
        p->attrs = lookup_attrs(c, k);
    }
    return 1;
}

/* "Which warehouses are in Texas?": the warehouses themselves. */
static int decide_warehouses(gw__pc_t *c, const cues_t *k)
{
    gw_plan_t *p = c->p;
    const gw_plan_filters_t *f = &p->f;
    if (!(k->list || k->where) || k->count || k->most || k->least || gw__pc_col_at(c, GW_COL_WAREHOUSE) < 0)
        return 0;
    if (f->n_cats || f->brands.n || f->colors.n || f->materials.n || f->active >= 0 || f->price.op ||
        f->launched.has || f->title[0] || gw__pc_col_free(c, GW_COL_ON_HAND) || gw__pc_col_free(c, GW_COL_SKU) ||
        gw__pc_col_free(c, GW_COL_RESERVED) || gw__sq_has_i(p) || has_conds(c))
        return 0;
    p->measure = GW_M_WAREHOUSE_LIST;
    p->n_group = 0;
    return 1;
}

/* "the top products", "the best laptop", "compare the two warehouses": a
 * ranking with no measure, or a comparison with nothing named, is asked
 * back. */
static int vague(gw__pc_t *c, const cues_t *k)
{
    static const gw_col_t measures[] = {GW_COL_ON_HAND, GW_COL_PRICE, GW_COL_CHEAP, GW_COL_EXPENSIVE, GW_COL_VALUE,
                                        GW_COL_RESERVED, GW_COL_AVAILABLE, GW_COL_NEW, GW_COL_LAUNCHED,
                                        GW_COL_UPDATED, GW_COL_REORDER};
    int named = 0, by = gw__pc_find(c, "by"), best = gw__pc_any_raw(c, (const char *const[]){"best", NULL});
    for (size_t i = 0; i < sizeof measures / sizeof measures[0]; i++)
        named |= gw__pc_col_free(c, measures[i]);
    named |= by >= 0 && gw__pc_col_at(c, GW_COL_SKU) > by; /* "by number of SKUs" */
    named |= gw__pc_find(c, "most skus") >= 0 || gw__pc_find(c, "most products") >= 0;
    if ((best || gw__pc_any_raw(c, (const char *const[]){"top", NULL})) && !named) {
        ambiguous(c, "'%s' by what? Please say which measure to rank by: units on hand, price, inventory value or "
                     "launch date%s.", best ? "best" : "top", "");
        return 1;
    }
    const gw_plan_filters_t *f = &c->p->f;
    if ((k->compare || gw__pc_find(c, "the two") >= 0) && c->p->n_group == 0 && f->n_cats < 2 && f->brands.n < 2 &&
        f->regions.n < 2 && f->states.n < 2 && f->cities.n < 2 && f->warehouses.n < 2 && f->colors.n < 2 &&
        f->materials.n < 2) {
        ambiguous(c, "Compare %s? Please name the two things to compare (regions, warehouses, brands or "
                     "categories)%s.", "which ones", "");
        return 1;
    }
    return 0;
}

/* "What share of SKUs are inactive?": the counts on both sides (the
 * answer shows the groups; percentages are not computed). */
static void share_of(gw__pc_t *c)
{
    static const char *const share[] = {"percentage", "percent", "share", "proportion", "fraction", "ratio", NULL};
    gw_plan_t *p = c->p;
    if (!gw__pc_any_raw(c, share) && strchr(c->question, '%') == NULL)
        return;
    if (p->f.active >= 0) { /* "what percentage of SKUs are inactive" */
        int loc = 0;
        for (size_t i = 0; i < p->n_group; i++)
            loc |= gw__sq_dim_table(p->group[i]) == 'w';
        if (!loc && !gw__sq_has_i(p) && !gw__sq_has_w(p)) {
            p->measure = GW_M_SHARE;
            p->share_active = p->f.active;
            p->f.active = -1;
            return;
        }
    }
    if (p->n_group > 0)
        return;
    if (p->f.active >= 0) {
        add_group(p, GW_DIM_ACTIVE);
        p->f.active = -1;
    } else if (p->f.regions.n == 1) {
        add_group(p, GW_DIM_REGION);
        p->f.regions.n = 0;
    } else if (p->f.brands.n == 1) {
        add_group(p, GW_DIM_BRAND);
        p->f.brands.n = 0;
    }
}

void gw__plan_decide(gw__pc_t *c)
{
    gw_plan_t *p = c->p;
    cues_t k;
    int singular;
    read_cues(c, &k);
    if (decide_lookup(c, &k))
        return;
    read_groups(c, &singular);
    read_compare(c, &k);
    if (k.where && p->n_group == 0) {
        add_group(p, GW_DIM_WAREHOUSE);
        p->in_stock = 1;
    }
    if (decide_warehouses(c, &k) || vague(c, &k))
        return;
    share_of(c);
    if (p->measure == GW_M_SHARE) {
        decide_order(c, &k, singular);
        return;
    }
    decide_measure(c, &k);
    decide_list(c, &k);
    decide_agg(c, &k);
    apply_conds(c);
    if (p->difference && (p->measure == GW_M_PRICE || p->measure == GW_M_BRANDS || p->measure == GW_M_CATEGORIES ||
                          p->measure == GW_M_WAREHOUSES || (p->measure == GW_M_SKUS && gw__sq_fact(p) != 's')))
        p->difference = 0; /* not additive: show the groups side by side instead */
    int in_stock_phrase = gw__pc_find(c, "in stock") >= 0 && gw__pc_find(c, "out of stock") < 0;
    if (in_stock_phrase && p->measure != GW_M_UNITS && p->measure != GW_M_RESERVED &&
        p->measure != GW_M_AVAILABLE && p->skucond == GW_SKUCOND_NONE)
        p->in_stock = 1;
    decide_order(c, &k, singular);
}


/* planner_rules.c - the rules planner's parser (planner_rules.h): after the
 * scope checks (planner_scope.c) it turns entity links into filters
 * (resolving category ties and brand/color clashes with the taxonomy),
 * reads numbers and dates (planner_nums.c), then decides the measure, the
 * aggregate, the grouping (by/per/each/which X, comparisons), HAVING
 * thresholds, per-SKU conditions, order and limit.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "planner_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- token helpers ---- */

const char *gw__pc_text(const gw__pc_t *c, size_t i)
{
    return i < c->n ? c->t[i].text : "";
}

int gw__pc_is(const gw__pc_t *c, size_t i, const char *word)
{
    return i < c->n && strcmp(c->t[i].text, word) == 0;
}

int gw__pc_is_any(const gw__pc_t *c, size_t i, const char *const *words)
{
    for (size_t k = 0; i < c->n && words[k] != NULL; k++)
        if (strcmp(c->t[i].text, words[k]) == 0)
            return 1;
    return 0;
}

int gw__pc_raw(const gw__pc_t *c, size_t i)
{
    return i < c->n && c->t[i].link < 0;
}

size_t gw__pc_seq(const gw__pc_t *c, size_t i, const char *phrase)
{
    size_t k = 0;
    while (*phrase != '\0') {
        const char *sp = strchr(phrase, ' ');
        size_t len = sp != NULL ? (size_t)(sp - phrase) : strlen(phrase);
        if (i + k >= c->n || strlen(c->t[i + k].text) != len || strncmp(c->t[i + k].text, phrase, len) != 0)
            return 0;
        k++;
        phrase += len + (sp != NULL);
    }
    return k;
}

int gw__pc_find(const gw__pc_t *c, const char *phrase)
{
    for (size_t i = 0; i < c->n; i++)
        if (gw__pc_seq(c, i, phrase) > 0)
            return (int)i;
    return -1;
}

const gw_link_t *gw__pc_link(const gw__pc_t *c, size_t i)
{
    return i < c->n && c->t[i].link >= 0 ? &c->q->links[c->t[i].link] : NULL;
}

int gw__pc_col(const gw__pc_t *c, size_t i)
{
    const gw_link_t *l = gw__pc_link(c, i);
    return l != NULL && l->kind == GW_LINK_COLUMN ? l->id : 0;
}

int gw__pc_col_at(const gw__pc_t *c, gw_col_t col)
{
    for (size_t i = 0; i < c->q->n_links; i++)
        if (c->q->links[i].kind == GW_LINK_COLUMN && c->q->links[i].id == (int)col)
            return (int)c->q->links[i].tok_first;
    return -1;
}

/* A column link with id col whose tokens no number rule consumed. */
int gw__pc_col_free(const gw__pc_t *c, gw_col_t col)
{
    for (size_t i = 0; i < c->q->n_links; i++) {
        const gw_link_t *l = &c->q->links[i];
        if (l->kind == GW_LINK_COLUMN && l->id == (int)col && !c->used[l->tok_first])
            return 1;
    }
    return 0;
}

int gw__pc_any_raw(const gw__pc_t *c, const char *const *words)
{
    for (size_t i = 0; i < c->n; i++)
        if (gw__pc_raw(c, i) && gw__pc_is_any(c, i, words))
            return (int)i + 1;
    return 0;
}

static void ambiguous(gw__pc_t *c, const char *fmt, const char *a, const char *b)
{
    c->p->status = GW_PLAN_AMBIGUOUS;
    snprintf(c->p->message, sizeof c->p->message, fmt, a, b);
}

/* ---- entity filters ---- */

static void set_add(gw_plan_set_t *s, const char *v, int negate)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], v) == 0)
            return;
    if (s->n < GW_PLAN_MAX_VALUES)
        s->v[s->n++] = v;
    s->negate = negate;
}

/* "not", "excluding", "other than" ... right before token i. */
static int negated(const gw__pc_t *c, size_t i)
{
    static const char *const neg[] = {"not", "excluding", "exclude", "except", "without", "besides", "non",
                                      "outside", "but", NULL};
    size_t k = i;
    while (k > 0 && (gw__pc_is(c, k - 1, "the") || gw__pc_is(c, k - 1, "in") || gw__pc_is(c, k - 1, "of") ||
                     gw__pc_is(c, k - 1, "from") || gw__pc_is(c, k - 1, "any")))
        k--;
    return k > 0 && (gw__pc_is_any(c, k - 1, neg) || (gw__pc_is(c, k - 1, "than") && gw__pc_is(c, k - 2, "other")));
}

static const char *const state_codes[] = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
};

static void add_states(gw_plan_set_t *s, const char *list, int negate)
{
    for (size_t i = 0; i < N_OF(state_codes); i++) {
        const char *hit = strstr(list, state_codes[i]);
        if (hit != NULL && (hit == list || hit[-1] == '|') && (hit[2] == '\0' || hit[2] == '|'))
            set_add(s, state_codes[i], negate);
    }
}

/* True when a is b or an ancestor of b. */
static int covers(const gw_taxonomy_t *t, const gw_tax_node_t *a, const gw_tax_node_t *b)
{
    while (b != NULL) {
        if (a == b)
            return 1;
        b = b->parent_id > 0 ? gw_taxonomy_node(t, b->parent_id) : NULL;
    }
    return 0;
}

typedef struct catgroup {
    const gw_tax_node_t *v[GW_PLAN_MAX_VALUES];
    size_t n;
    int negate, head, dropped;
    size_t at;
} catgroup_t;

static void catgroup_add(const gw_taxonomy_t *t, catgroup_t *g, const gw_tax_node_t *n)
{
    for (size_t i = 0; i < g->n; i++) {
        if (covers(t, g->v[i], n))
            return;
        if (covers(t, n, g->v[i])) { /* the new node covers an old one: replace it */
            g->v[i] = n;
            return;
        }
    }
    if (g->n < GW_PLAN_MAX_VALUES)
        g->v[g->n++] = n;
}

/* A tie group of several categories in different departments, narrowed by
 * another category group that covers some of them, or ambiguous. */
static int resolve_ties(gw__pc_t *c, catgroup_t *g, size_t ng)
{
    const gw_taxonomy_t *t = c->ctx->tax;
    for (size_t i = 0; i < ng; i++) {
        if (g[i].n < 2)
            continue;
        for (size_t j = 0; j < ng; j++) {
            if (j == i || g[j].n != 1)
                continue;
            catgroup_t keep = {.n = 0};
            for (size_t k = 0; k < g[i].n; k++)
                if (covers(t, g[j].v[0], g[i].v[k]))
                    keep.v[keep.n++] = g[i].v[k];
            if (keep.n > 0) {
                memcpy(g[i].v, keep.v, sizeof keep.v);
                g[i].n = keep.n;
                g[j].dropped = 1;
            }
        }
        size_t dep0 = g[i].v[0]->department;
        for (size_t k = 1; k < g[i].n; k++)
            if (g[i].v[k]->department != dep0) {
                char list[200] = "";
                size_t len = 0;
                for (size_t m = 0; m < g[i].n && m < 6 && len + 1 < sizeof list; m++) {
                    const gw_tax_node_t *d = &t->nodes[t->departments[g[i].v[m]->department].node];
                    int w = snprintf(list + len, sizeof list - len, "%s%s (%s)", m ? ", " : "", g[i].v[m]->name,
                                     d->name);
                    len = w > 0 && (size_t)w < sizeof list - len ? len + (size_t)w : sizeof list - 1;
                }
                char word[64];
                snprintf(word, sizeof word, "%.*s", (int)(c->t[g[i].at].end - c->t[g[i].at].start),
                         c->question + c->t[g[i].at].start);
                ambiguous(c, "'%s' could mean several kinds of products: %s. Please say which one.", word, list);
                return 1;
            }
    }
    return 0;
}

/* Category groups into f.cats: a node covered by another chosen node is
 * dropped (the more specific one wins: "office chairs in furniture"). */
static void cats_from_groups(gw__pc_t *c, catgroup_t *g, size_t ng)
{
    gw_plan_filters_t *f = &c->p->f;
    const gw_taxonomy_t *t = c->ctx->tax;
    int any_pos = 0;
    for (size_t i = 0; i < ng; i++)
        any_pos |= !g[i].dropped && !g[i].negate;
    for (size_t i = 0; i < ng; i++) {
        if (g[i].dropped || (any_pos && g[i].negate))
            continue; /* mixed include/exclude: the includes win */
        f->cats_negate = g[i].negate;
        for (size_t k = 0; k < g[i].n && f->n_cats < GW_PLAN_MAX_VALUES; k++)
            f->cats[f->n_cats++] = g[i].v[k];
    }
    for (size_t i = 0; i < f->n_cats; i++) {
        int drop = 0;
        for (size_t j = 0; j < f->n_cats && !drop; j++)
            drop = j != i && f->cats[j] != f->cats[i] && covers(t, f->cats[i], f->cats[j]);
        for (size_t j = 0; j < i && !drop; j++)
            drop = f->cats[j] == f->cats[i];
        if (drop) {
            memmove(&f->cats[i], &f->cats[i + 1], (f->n_cats - i - 1) * sizeof f->cats[0]);
            f->n_cats--;
            i--;
        }
    }
}

static int in_list(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* 1 when value is a color (or material) of some leaf under the plan's
 * categories. */
static int cat_attr(const gw__pc_t *c, const char *value, int material)
{
    const gw_taxonomy_t *t = c->ctx->tax;
    for (size_t i = 0; i < t->n_leaves; i++) {
        const gw_tax_node_t *l = &t->nodes[t->leaves[i]];
        for (size_t k = 0; k < c->p->f.n_cats; k++)
            if (covers(t, c->p->f.cats[k], l) &&
                (material ? in_list(l->materials, l->n_materials, value) : in_list(l->colors, l->n_colors, value)))
                return 1;
    }
    return 0;
}

static int brand_sells(const gw__pc_t *c, const char *brand)
{
    const gw_taxonomy_t *t = c->ctx->tax;
    for (size_t k = 0; k < c->p->f.n_cats; k++) {
        const gw_tax_department_t *d = &t->departments[c->p->f.cats[k]->department];
        if (in_list(d->brands, d->n_brands, brand))
            return 1;
    }
    return 0;
}

/* A color or material that is an everyday word ("down", "light") and no
 * attribute of the categories asked about is not one ("break down laptop
 * stock"). */
static void drop_strays(gw__pc_t *c, gw_plan_set_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        char low[64];
        size_t k = 0;
        for (const char *v = s->v[i]; *v != '\0' && k + 1 < sizeof low; v++)
            low[k++] = (char)(*v >= 'A' && *v <= 'Z' ? *v - 'A' + 'a' : *v);
        low[k] = '\0';
        if (!gw_rt_common_word(low) || cat_attr(c, s->v[i], 0) || cat_attr(c, s->v[i], 1))
            continue;
        memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(char *));
        s->n--;
        i--;
    }
}

/* "purple yoga mats": a brand that does not sell in the category but
 * names one of its colors is the color; colors and materials likewise. */
static void fix_attrs(gw__pc_t *c)
{
    gw_plan_filters_t *f = &c->p->f;
    if (f->n_cats == 0)
        return;
    for (size_t i = 0; i < f->brands.n; i++) {
        const char *b = f->brands.v[i];
        int col = cat_attr(c, b, 0), mat = !col && cat_attr(c, b, 1);
        if (brand_sells(c, b) || (!col && !mat))
            continue;
        set_add(col ? &f->colors : &f->materials, b, f->brands.negate);
        memmove(&f->brands.v[i], &f->brands.v[i + 1], (f->brands.n - i - 1) * sizeof(char *));
        f->brands.n--;
        i--;
    }
    drop_strays(c, &f->colors);
    drop_strays(c, &f->materials);
    for (size_t i = 0; i < f->colors.n; i++)
        if (!cat_attr(c, f->colors.v[i], 0) && cat_attr(c, f->colors.v[i], 1)) {
            set_add(&f->materials, f->colors.v[i], f->colors.negate);
            memmove(&f->colors.v[i], &f->colors.v[i + 1], (f->colors.n - i - 1) * sizeof(char *));
            f->colors.n--;
            i--;
        }
}

static int entity(gw__pc_t *c, const gw_link_t *l, catgroup_t *g, size_t *ng, int group_start)
{
    gw_plan_filters_t *f = &c->p->f;
    int neg = negated(c, l->tok_first);
    switch (l->kind) {
    case GW_LINK_VAGUE:
        ambiguous(c, "'%s' could mean %s; please name the region (West, Southwest, Midwest, Southeast or "
                     "Northeast).",
                  gw__pc_text(c, l->tok_first), l->value);
        return 1;
    case GW_LINK_CATEGORY: {
        const gw_tax_node_t *n = gw_taxonomy_node(c->ctx->tax, l->id);
        if (n == NULL)
            return 0;
        if (group_start && *ng < GW_PLAN_MAX_VALUES) {
            memset(&g[*ng], 0, sizeof g[*ng]);
            g[*ng].negate = neg;
            g[*ng].at = l->tok_first;
            (*ng)++;
        }
        if (*ng > 0)
            catgroup_add(c->ctx->tax, &g[*ng - 1], n);
        return 0;
    }
    case GW_LINK_BRAND: set_add(&f->brands, l->value, neg); return 0;
    case GW_LINK_REGION: set_add(&f->regions, l->value, neg); return 0;
    case GW_LINK_STATE: set_add(&f->states, l->value, neg); return 0;
    case GW_LINK_STATES: add_states(&f->states, l->value, neg); return 0;
    case GW_LINK_CITY: set_add(&f->cities, l->value, neg); return 0;
    case GW_LINK_WAREHOUSE: set_add(&f->warehouses, l->value, neg); return 0;
    case GW_LINK_COLOR: set_add(&f->colors, l->value, neg); return 0;
    case GW_LINK_MATERIAL: set_add(&f->materials, l->value, neg); return 0;
    case GW_LINK_COLUMN:
        if (l->id == GW_COL_ACTIVE && f->active < 0)
            f->active = neg ? 0 : 1;
        else if (l->id == GW_COL_INACTIVE)
            f->active = neg ? 1 : 0;
        return 0;
    }
    return 0;
}

/* "dyson vacuums", "pokemon cards": a category synonym that holds a brand
 * of its department names that brand too. */
static void brands_in_categories(gw__pc_t *c)
{
    gw_plan_filters_t *f = &c->p->f;
    if (f->brands.n > 0)
        return;
    for (size_t i = 0; i < c->q->n_links; i++) {
        const gw_link_t *l = &c->q->links[i];
        if (l->kind != GW_LINK_CATEGORY || l->tok_end - l->tok_first < 2 || l->match > GW_MATCH_STEM)
            continue;
        const gw_tax_node_t *n = gw_taxonomy_node(c->ctx->tax, l->id);
        const gw_tax_department_t *d = n != NULL ? &c->ctx->tax->departments[n->department] : NULL;
        for (size_t t = l->tok_first; d != NULL && t < l->tok_end; t++) {
            const char *b = gw_retriever_brand_word(c->ctx->rt, c->t[t].text);
            if (b != NULL && in_list(d->brands, d->n_brands, b))
                set_add(&f->brands, b, 0);
        }
    }
}

/* Links to filters. Returns 1 when the question is ambiguous. */
static int entities(gw__pc_t *c)
{
    catgroup_t g[GW_PLAN_MAX_VALUES];
    size_t ng = 0;
    for (size_t i = 0; i < c->q->n_links; i++) {
        const gw_link_t *l = &c->q->links[i];
        int start = i == 0 || c->q->links[i - 1].group != l->group;
        if (!start && l->kind != GW_LINK_CATEGORY)
            continue; /* ties of other kinds: the first (best prior) wins */
        if (entity(c, l, g, &ng, start))
            return 1;
    }
    if (resolve_ties(c, g, ng))
        return 1;
    cats_from_groups(c, g, ng);
    brands_in_categories(c);
    fix_attrs(c);
    return 0;
}

static void init_plan(gw_plan_t *p, const gw_planner_ctx_t *ctx)
{
    memset(p, 0, sizeof *p);
    p->status = GW_PLAN_OK;
    p->tax = ctx->tax;
    p->f.active = -1;
    p->f.launched.from = p->f.updated.from = INT32_MIN;
    p->f.launched.to = p->f.updated.to = INT32_MAX;
}

gw_err_t gw_plan_rules(const gw_planner_ctx_t *ctx, const char *question, const gw_rquery_t *q, gw_plan_t *out)
{
    gw__pc_t c;
    size_t ta, tb;
    if (out == NULL)
        return GW_EINVAL;
    if (ctx == NULL || ctx->tax == NULL || question == NULL || q == NULL) {
        memset(out, 0, sizeof *out);
        out->status = GW_PLAN_OUT_OF_SCOPE;
        return GW_EINVAL;
    }
    init_plan(out, ctx);
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.question = question;
    c.q = q;
    c.t = q->toks;
    c.n = q->n_toks;
    c.p = out;
    if (gw__plan_unsafe(&c) || gw__plan_out_of_scope(&c))
        return GW_OK;
    gw__plan_title(&c, &ta, &tb);
    gw_rquery_t view = *q; /* the links outside the title words */
    gw_link_t kept[GW_RT_MAX_TOKENS];
    size_t nk = 0;
    for (size_t i = 0; i < q->n_links && nk < GW_RT_MAX_TOKENS; i++)
        if (q->links[i].tok_first >= tb || q->links[i].tok_end <= ta)
            kept[nk++] = q->links[i];
    view.links = kept;
    view.n_links = nk;
    c.q = &view;
    if (entities(&c))
        return GW_OK;
    c.q = q;
    gw__plan_numbers(&c);
    gw__plan_decide(&c);
    return GW_OK;
}

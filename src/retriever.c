/* retriever.c - linking a question to catalog values (retriever.h): per
 * token word candidates (exact, stem, typo through the deletion index),
 * phrase matching from each token, BM25-like scores, weak-value context,
 * then overlap resolution (best score, then longest span) with ties kept
 * as alternatives. Also the string multimap the index is made of.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "retriever_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_CANDS 48      /* word candidates per token */
#define MAX_LINK_CANDS 4096

/* ---- the multimap ---- */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

gw__slot_t *gw__map_get(const gw__map_t *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    uint32_t h = hash_str(key);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        gw__slot_t *s = &m->slots[i];
        if (s->key == NULL)
            return NULL;
        if (s->hash == h && strcmp(s->key, key) == 0)
            return s;
    }
}

static gw_err_t map_grow(gw__map_t *m)
{
    size_t nc = m->cap ? m->cap * 2 : 1024;
    gw__slot_t *ns = gw_calloc(nc, sizeof *ns);
    if (ns == NULL)
        return GW_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        gw__slot_t *s = &m->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = s->hash & (nc - 1);
        while (ns[j].key != NULL)
            j = (j + 1) & (nc - 1);
        ns[j] = *s;
    }
    gw_free(m->slots);
    m->slots = ns;
    m->cap = nc;
    return GW_OK;
}

gw_err_t gw__map_add(gw__map_t *m, const char *key, int val, int unique)
{
    gw__slot_t *s = gw__map_get(m, key);
    if (s == NULL) {
        if ((m->used + 1) * 2 > m->cap && map_grow(m) != GW_OK)
            return GW_ENOMEM;
        uint32_t h = hash_str(key);
        size_t i = h & (m->cap - 1);
        while (m->slots[i].key != NULL)
            i = (i + 1) & (m->cap - 1);
        s = &m->slots[i];
        if ((s->key = gw_strdup(key)) == NULL)
            return GW_ENOMEM;
        s->hash = h;
        m->used++;
    }
    for (size_t i = 0; unique && i < s->n; i++)
        if (s->vals[i] == val)
            return GW_OK;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 2;
        int *nv = gw_realloc(s->vals, nc * sizeof *nv);
        if (nv == NULL)
            return GW_ENOMEM;
        s->vals = nv;
        s->cap = nc;
    }
    s->vals[s->n++] = val;
    return GW_OK;
}

void gw__map_free(gw__map_t *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        gw_free(m->slots[i].key);
        gw_free(m->slots[i].vals);
    }
    gw_free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- names ---- */

const char *gw_link_kind_name(gw_link_kind_t k)
{
    static const char *const names[] = {"category", "brand", "region", "state", "states", "city",
                                        "warehouse", "color", "material", "column", "vague"};
    return (size_t)k < N_OF(names) ? names[k] : "unknown";
}

const char *gw_col_name(gw_col_t c)
{
    static const char *const names[] = {
        "",           "on_hand",  "price",    "cheap",      "expensive", "reserved", "available",
        "reorder_point", "launched_on", "new",  "updated_at", "active",    "inactive", "status",
        "sku",        "brand",    "category", "department", "region",    "warehouse", "city",
        "state",      "color",    "material", "title",      "value",
    };
    return (size_t)c < N_OF(names) && c > 0 ? names[c] : "unknown";
}

/* ---- life cycle ---- */

gw_retriever_t *gw_retriever_new(const gw_taxonomy_t *tax, const gw_schema_t *schema, char *err, size_t errlen)
{
    gw_retriever_t *r;
    if (tax == NULL) {
        snprintf(err, errlen, "retriever: no taxonomy");
        return NULL;
    }
    if ((r = gw_calloc(1, sizeof *r)) == NULL) {
        snprintf(err, errlen, "retriever: out of memory");
        return NULL;
    }
    r->tax = tax;
    if (gw__rt_build(r, schema, err, errlen) != GW_OK) {
        gw_retriever_free(r);
        return NULL;
    }
    return r;
}

void gw_retriever_free(gw_retriever_t *r)
{
    if (r == NULL)
        return;
    gw__map_free(&r->words);
    gw__map_free(&r->stems);
    gw__map_free(&r->dels);
    gw__map_free(&r->first);
    for (size_t i = 0; i < r->n_entries; i++)
        gw_free(r->ev[i].value);
    for (size_t i = 0; i < r->n_phrases; i++)
        gw_free(r->pv[i].words);
    gw_free(r->wv);
    gw_free(r->ev);
    gw_free(r->pv);
    gw_free(r);
}

const gw_taxonomy_t *gw_retriever_taxonomy(const gw_retriever_t *r)
{
    return r->tax;
}

/* ---- word candidates of one token ---- */

typedef struct cand {
    int word;
    double q;
    gw_match_t m;
} cand_t;

typedef struct tcands {
    cand_t c[MAX_CANDS];
    size_t n;
} tcands_t;

static void cand_add(tcands_t *tc, int word, double q, gw_match_t m)
{
    for (size_t i = 0; i < tc->n; i++)
        if (tc->c[i].word == word)
            return; /* the first (best) match kind wins */
    if (tc->n < MAX_CANDS)
        tc->c[tc->n++] = (cand_t){word, q, m};
}

static void typo_cands(const gw_retriever_t *r, const char *t, tcands_t *tc)
{
    size_t n = strlen(t);
    char v[GW_RT_TOKEN_MAX];
    for (size_t i = 0; i <= n; i++) {
        const char *key = t;
        if (i < n) {
            memcpy(v, t, i);
            memcpy(v + i, t + i + 1, n - i);
            key = v;
        }
        const gw__slot_t *s = gw__map_get(&r->dels, key);
        for (size_t j = 0; s != NULL && j < s->n; j++)
            if (gw_rt_edit1(r->wv[s->vals[j]].text, t))
                cand_add(tc, s->vals[j], 0.6, GW_MATCH_TYPO);
    }
}

static void token_cands(const gw_retriever_t *r, const gw_token_t *t, tcands_t *tc)
{
    tc->n = 0;
    if (t->flags & GW_TOK_QUOTED)
        return;
    const gw__slot_t *s = gw__map_get(&r->words, t->text);
    if (s != NULL)
        cand_add(tc, s->vals[0], 1.0, GW_MATCH_EXACT);
    if (!(t->flags & GW_TOK_NUM) && !gw_rt_common_word(t->text) && (s = gw__map_get(&r->stems, t->stem)) != NULL)
        for (size_t i = 0; i < s->n; i++)
            cand_add(tc, s->vals[i], 0.85, GW_MATCH_STEM);
    if (tc->n == 0 && !(t->flags & GW_TOK_NUM) && strlen(t->text) >= 5 && !gw_rt_common_word(t->text))
        typo_cands(r, t->text, tc);
}

/* The candidate of a token for a phrase word: the word itself, or a typo
 * candidate that shares its stem ("chiars" -> "chairs" -> "chair"). */
static const cand_t *cand_find(const gw_retriever_t *r, const tcands_t *tc, int word)
{
    for (size_t i = 0; i < tc->n; i++)
        if (tc->c[i].word == word)
            return &tc->c[i];
    for (size_t i = 0; i < tc->n; i++)
        if (tc->c[i].m == GW_MATCH_TYPO && strcmp(r->wv[tc->c[i].word].stem, r->wv[word].stem) == 0)
            return &tc->c[i];
    return NULL;
}

/* ---- phrase matching ---- */

typedef struct lctx {
    const gw_retriever_t *r;
    const gw_token_t *toks;
    size_t n_toks;
    tcands_t *tc;
    gw_link_t *cands;
    int *cand_entry; /* entry index of each candidate link */
    size_t n_cands;
} lctx_t;

/* Matches phrase p from token i whose first word matched as c0. */
static void match_phrase(lctx_t *x, size_t i, const gw__phrase_t *p, int pid, const cand_t *c0)
{
    const gw__entry_t *e = &x->r->ev[p->entry];
    double score = x->r->wv[p->words[0]].idf * c0->q;
    gw_match_t worst = c0->m;
    size_t j = i + 1;
    (void)pid;
    if ((e->flags & GW__E_UPPER) && !(x->toks[i].flags & GW_TOK_UPPER))
        return;
    for (size_t k = 1; k < p->n; k++) {
        const cand_t *c = j < x->n_toks ? cand_find(x->r, &x->tc[j], p->words[k]) : NULL;
        if (c == NULL) {
            if (strcmp(x->r->wv[p->words[k]].text, "and") == 0)
                continue; /* "Arm Hammer" for "Arm & Hammer" */
            return;
        }
        score += x->r->wv[p->words[k]].idf * c->q;
        if (c->m > worst)
            worst = c->m;
        j++;
    }
    if (x->n_cands >= MAX_LINK_CANDS)
        return;
    gw_link_t *l = &x->cands[x->n_cands];
    memset(l, 0, sizeof *l);
    l->kind = e->kind;
    l->id = e->id;
    l->value = e->value;
    l->score = score * p->weight * e->prior;
    l->match = (e->flags & GW__E_HEAD) ? GW_MATCH_HEAD : worst;
    l->tok_first = i;
    l->tok_end = j;
    l->start = x->toks[i].start;
    l->end = x->toks[j - 1].end;
    l->group = -1;
    x->cand_entry[x->n_cands++] = p->entry;
}

static void match_from(lctx_t *x, size_t i)
{
    char key[16];
    for (size_t c = 0; c < x->tc[i].n; c++) {
        const cand_t *c0 = &x->tc[i].c[c];
        snprintf(key, sizeof key, "%d", c0->word);
        const gw__slot_t *s = gw__map_get(&x->r->first, key);
        for (size_t k = 0; s != NULL && k < s->n; k++)
            match_phrase(x, i, &x->r->pv[s->vals[k]], s->vals[k], c0);
    }
}

/* ---- weak values, dedupe, resolution ---- */

static int tok_is(const gw_token_t *toks, size_t n, size_t i, const char *const *words, size_t nw)
{
    if (i >= n)
        return 0;
    for (size_t k = 0; k < nw; k++)
        if (strcmp(toks[i].text, words[k]) == 0)
            return 1;
    return 0;
}

/* A weak value ("light", "natural") counts only next to a color/material
 * word or right before a category or product word. */
static int weak_ok(const lctx_t *x, const gw_link_t *l)
{
    static const char *const before[] = {"in", "color", "colour", "colored", "coloured", "material", "of",
                                         "made", "shade", "finish", "from"};
    static const char *const after[] = {"color", "colour", "colored", "coloured", "material", "finish", "ones"};
    if (l->tok_first > 0 && tok_is(x->toks, x->n_toks, l->tok_first - 1, before, N_OF(before)))
        return 1;
    if (tok_is(x->toks, x->n_toks, l->tok_end, after, N_OF(after)))
        return 1;
    for (size_t i = 0; i < x->n_cands; i++) {
        const gw_link_t *o = &x->cands[i];
        if (o->tok_first == l->tok_end &&
            (o->kind == GW_LINK_CATEGORY || (o->kind == GW_LINK_COLUMN && o->id == GW_COL_SKU)))
            return 1;
    }
    return 0;
}

/* A brand that is an everyday word counts when written with a capital
 * (not as the first word), after "brand"/"by"/"from", or right before a
 * category or product word. */
static int weakb_ok(const lctx_t *x, const gw_link_t *l)
{
    static const char *const before[] = {"brand", "by", "from", "of"};
    const gw_token_t *t = &x->toks[l->tok_first];
    if ((t->flags & GW_TOK_CAP) && l->tok_first > 0)
        return 1;
    if (l->tok_first > 0 && tok_is(x->toks, x->n_toks, l->tok_first - 1, before, N_OF(before)))
        return 1;
    if (gw_rt_common_word(t->text))
        return 0; /* "on", "off": only a capital or "brand" makes them brands */
    for (size_t i = 0; i < x->n_cands; i++) {
        const gw_link_t *o = &x->cands[i];
        if (o->tok_first == l->tok_end && o->kind != GW_LINK_BRAND &&
            (o->kind == GW_LINK_CATEGORY || (o->kind == GW_LINK_COLUMN && o->id == GW_COL_SKU)))
            return 1;
    }
    return 0;
}

static int same_target(const gw_link_t *a, const gw_link_t *b)
{
    return a->kind == b->kind && a->id == b->id && strcmp(a->value, b->value) == 0;
}

/* Drops failed weak links and duplicates (same target, same span). */
static void filter_cands(lctx_t *x)
{
    size_t k = 0;
    for (size_t i = 0; i < x->n_cands; i++) {
        gw_link_t *l = &x->cands[i];
        unsigned fl = x->r->ev[x->cand_entry[i]].flags;
        if ((fl & GW__E_HEAD) && gw_rt_common_word(x->toks[l->tok_first].text))
            continue; /* "top", "range": a cue word, not the head of "Boys' Tops" */
        if (((fl & GW__E_WEAK) && !weak_ok(x, l)) || ((fl & GW__E_WEAKB) && !weakb_ok(x, l)))
            continue;
        int dup = 0;
        for (size_t j = 0; j < k && !dup; j++) {
            gw_link_t *o = &x->cands[j];
            if (o->tok_first == l->tok_first && o->tok_end == l->tok_end && same_target(o, l)) {
                dup = 1;
                if (l->score > o->score || (l->score == o->score && l->match < o->match))
                    *o = *l;
            }
        }
        if (!dup) {
            x->cands[k] = *l;
            x->cand_entry[k] = x->cand_entry[i];
            k++;
        }
    }
    x->n_cands = k;
}

static int cmp_score(const void *pa, const void *pb)
{
    const gw_link_t *a = pa, *b = pb;
    size_t la = a->tok_end - a->tok_first, lb = b->tok_end - b->tok_first;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (la != lb)
        return la > lb ? -1 : 1;
    if (a->tok_first != b->tok_first)
        return a->tok_first < b->tok_first ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return strcmp(a->value, b->value);
}

static int cmp_pos(const void *pa, const void *pb)
{
    const gw_link_t *a = pa, *b = pb;
    if (a->tok_first != b->tok_first)
        return a->tok_first < b->tok_first ? -1 : 1;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    return cmp_score(pa, pb);
}

static int ties(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1e-12);
}

/* Greedy: best score first, no overlaps, equal-score same-span ties kept. */
static size_t resolve(gw_link_t *c, size_t n)
{
    size_t k = 0;
    int groups = 0;
    qsort(c, n, sizeof *c, cmp_score);
    for (size_t i = 0; i < n; i++) {
        int keep = 1, group = -1;
        for (size_t j = 0; j < k && keep; j++) {
            if (c[i].tok_first >= c[j].tok_end || c[j].tok_first >= c[i].tok_end)
                continue;
            if (c[i].tok_first == c[j].tok_first && c[i].tok_end == c[j].tok_end && ties(c[i].score, c[j].score))
                group = c[j].group;
            else
                keep = 0;
        }
        if (!keep)
            continue;
        c[k] = c[i];
        c[k].group = group >= 0 ? group : groups++;
        k++;
    }
    qsort(c, k, sizeof *c, cmp_pos);
    return k;
}

/* ---- the entry point ---- */

static gw_err_t link_tokens(const gw_retriever_t *r, gw_rquery_t *out)
{
    lctx_t x = {r, out->toks, out->n_toks, NULL, NULL, NULL, 0};
    gw_err_t rc = GW_ENOMEM;
    x.tc = gw_malloc((out->n_toks + 1) * sizeof *x.tc);
    x.cands = gw_malloc(MAX_LINK_CANDS * sizeof *x.cands);
    x.cand_entry = gw_malloc(MAX_LINK_CANDS * sizeof *x.cand_entry);
    if (x.tc == NULL || x.cands == NULL || x.cand_entry == NULL)
        goto out;
    for (size_t i = 0; i < out->n_toks; i++)
        token_cands(r, &out->toks[i], &x.tc[i]);
    for (size_t i = 0; i < out->n_toks; i++)
        match_from(&x, i);
    filter_cands(&x);
    size_t n = resolve(x.cands, x.n_cands);
    if (n > 0 && (out->links = gw_malloc(n * sizeof *out->links)) == NULL)
        goto out;
    if (n > 0)
        memcpy(out->links, x.cands, n * sizeof *out->links);
    out->n_links = n;
    int group = -1, first = -1, prev = -1;
    for (size_t i = 0; i < n; i++) { /* renumber groups in question order */
        if (i == 0 || out->links[i].group != prev)
            group++, first = (int)i;
        prev = out->links[i].group;
        out->links[i].group = group;
        for (size_t t = out->links[i].tok_first; t < out->links[i].tok_end; t++)
            out->toks[t].link = first;
    }
    rc = GW_OK;
out:
    gw_free(x.tc);
    gw_free(x.cands);
    gw_free(x.cand_entry);
    return rc;
}

/* A question written in capitals says nothing by its capitals: "IN" is not
 * Indiana in "HOW MANY LAPTOPS ARE IN STOCK". */
static void shouting(gw_rquery_t *q)
{
    size_t words = 0, upper = 0;
    for (size_t i = 0; i < q->n_toks; i++)
        if (!(q->toks[i].flags & GW_TOK_NUM) && strlen(q->toks[i].text) >= 2) {
            words++;
            upper += (q->toks[i].flags & GW_TOK_UPPER) != 0;
        }
    if (words >= 3 && upper * 2 > words)
        for (size_t i = 0; i < q->n_toks; i++)
            q->toks[i].flags &= ~(unsigned)(GW_TOK_UPPER | GW_TOK_CAP);
}

gw_err_t gw_retriever_link(const gw_retriever_t *r, const char *question, size_t len, gw_rquery_t *out)
{
    memset(out, 0, sizeof *out);
    if (r == NULL || (question == NULL && len > 0))
        return GW_EINVAL;
    if (len > GW_RT_MAX_QUESTION)
        return GW_ETOOBIG;
    if (!gw__rt_utf8_valid(question, len))
        return GW_EINVAL;
    if ((out->toks = gw_calloc(GW_RT_MAX_TOKENS, sizeof *out->toks)) == NULL)
        return GW_ENOMEM;
    out->n_toks = gw_rt_tokenize(question, len, out->toks, GW_RT_MAX_TOKENS);
    shouting(out);
    gw_err_t rc = link_tokens(r, out);
    if (rc != GW_OK)
        gw_rquery_free(out);
    return rc;
}

const char *gw_retriever_brand_word(const gw_retriever_t *r, const char *word)
{
    char key[16];
    const gw__slot_t *w = r != NULL && word != NULL ? gw__map_get(&r->words, word) : NULL;
    if (w == NULL)
        return NULL;
    snprintf(key, sizeof key, "%d", w->vals[0]);
    const gw__slot_t *s = gw__map_get(&r->first, key);
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        const gw__phrase_t *p = &r->pv[s->vals[i]];
        if (p->n == 1 && r->ev[p->entry].kind == GW_LINK_BRAND)
            return r->ev[p->entry].value;
    }
    return NULL;
}

void gw_rquery_free(gw_rquery_t *q)
{
    if (q == NULL)
        return;
    gw_free(q->toks);
    gw_free(q->links);
    memset(q, 0, sizeof *q);
}

/* search_build.c - the search index builder: documents in, flat arrays out
 * (layout in search_int.h).
 *
 * add() tokenises a document's fields (the title counts
 * GW_SEARCH_TITLE_WEIGHT times), interns its terms in a hash table and
 * appends its (term, tf) list. finish() sorts the vocabulary, turns tf into
 * L2-normalised TF-IDF weights (in double, stored as float, in term order,
 * so equal documents get bit-equal weights and equal scores), and builds
 * the impact-ordered postings with a stable radix sort on the weight.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "search_int.h"

#define DOC_TERMS_MAX 256 /* distinct terms kept per document */
#define FC_MAX 65536      /* distinct field strings the field cache keeps */

typedef struct fc_entry {
    uint32_t hash, key_off, key_len, terms_off, n;
} fc_entry_t;

struct gw_search_builder {
    /* vocabulary being collected: term i is strs[str_off[i] .. str_off[i+1]) */
    char *strs;
    size_t strs_len, strs_cap;
    uint32_t *str_off, *hash, *df;
    size_t n_terms, terms_cap;
    uint32_t *slots; /* open addressing: term id + 1, 0 = empty */
    size_t slots_cap;
    /* documents */
    size_t n_docs, docs_cap;
    int64_t *sku;
    uint64_t *fwd_off, *title_off;
    gw__search_entry_t *fwd; /* w holds the raw tf until finish */
    size_t fwd_len, fwd_cap;
    char *titles;
    size_t titles_len, titles_cap;
    /* field cache: string -> its (term, count) list */
    uint32_t *fc_slots; /* entry index + 1, 0 = empty */
    size_t fc_cap;
    fc_entry_t *fc;
    size_t fc_n, fc_entries_cap;
    char *fc_keys;
    size_t fc_keys_len, fc_keys_cap;
    gw__search_entry_t *fc_terms;
    size_t fc_terms_len, fc_terms_cap;
};

/* Makes room for need elements of size elem in *p (capacity *cap). */
static gw_err_t grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return GW_OK;
    size_t n = *cap < 16 ? 16 : *cap;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (n > SIZE_MAX / elem)
        return GW_ENOMEM;
    void *q = gw_realloc(*p, n * elem);
    if (q == NULL)
        return GW_ENOMEM;
    *p = q;
    *cap = n;
    return GW_OK;
}

/* Grows the per-doc arrays (sku, fwd_off, title_off) together. */
static gw_err_t grow_docs(gw_search_builder_t *b, size_t need)
{
    size_t c1 = b->docs_cap, c2 = b->docs_cap, c3 = b->docs_cap;
    if (need + 1 <= b->docs_cap)
        return GW_OK;
    if (grow((void **)&b->sku, &c1, need + 1, sizeof *b->sku) != GW_OK ||
        grow((void **)&b->fwd_off, &c2, need + 1, sizeof *b->fwd_off) != GW_OK ||
        grow((void **)&b->title_off, &c3, need + 1, sizeof *b->title_off) != GW_OK)
        return GW_ENOMEM;
    b->docs_cap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    return GW_OK;
}

gw_err_t gw_search_builder_new(size_t docs_hint, gw_search_builder_t **out)
{
    gw_search_builder_t *b = gw_calloc(1, sizeof *b);
    *out = NULL;
    if (b == NULL)
        return GW_ENOMEM;
    if (docs_hint > SIZE_MAX / 64)
        docs_hint = 0;
    if (grow_docs(b, docs_hint) != GW_OK ||
        grow((void **)&b->fwd, &b->fwd_cap, docs_hint * 16, sizeof *b->fwd) != GW_OK ||
        grow((void **)&b->titles, &b->titles_cap, docs_hint * 64, 1) != GW_OK) {
        gw_search_builder_free(b);
        return GW_ENOMEM;
    }
    b->fwd_off[0] = 0;
    b->title_off[0] = 0;
    *out = b;
    return GW_OK;
}

void gw_search_builder_free(gw_search_builder_t *b)
{
    if (b == NULL)
        return;
    gw_free(b->strs);
    gw_free(b->str_off);
    gw_free(b->hash);
    gw_free(b->df);
    gw_free(b->slots);
    gw_free(b->sku);
    gw_free(b->fwd_off);
    gw_free(b->title_off);
    gw_free(b->fwd);
    gw_free(b->titles);
    gw_free(b->fc_slots);
    gw_free(b->fc);
    gw_free(b->fc_keys);
    gw_free(b->fc_terms);
    gw_free(b);
}

/* ---- vocabulary ---- */

static uint32_t hash_term(const char *t, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)t[i]) * 16777619u;
    return h;
}

static gw_err_t rehash(gw_search_builder_t *b)
{
    size_t cap = b->slots_cap ? b->slots_cap * 2 : 1024;
    uint32_t *slots = gw_calloc(cap, sizeof *slots);
    if (slots == NULL)
        return GW_ENOMEM;
    for (size_t id = 0; id < b->n_terms; id++) {
        size_t i = b->hash[id] & (cap - 1);
        while (slots[i] != 0)
            i = (i + 1) & (cap - 1);
        slots[i] = (uint32_t)id + 1;
    }
    gw_free(b->slots);
    b->slots = slots;
    b->slots_cap = cap;
    return GW_OK;
}

static gw_err_t new_term(gw_search_builder_t *b, const char *t, size_t n, uint32_t h, size_t slot, uint32_t *id)
{
    size_t c1 = b->terms_cap, c2 = b->terms_cap, c3 = b->terms_cap;
    if (b->n_terms >= UINT32_MAX - 1 || b->strs_len + n > UINT32_MAX)
        return GW_ETOOBIG;
    if (grow((void **)&b->str_off, &c1, b->n_terms + 2, sizeof *b->str_off) != GW_OK ||
        grow((void **)&b->hash, &c2, b->n_terms + 2, sizeof *b->hash) != GW_OK ||
        grow((void **)&b->df, &c3, b->n_terms + 2, sizeof *b->df) != GW_OK ||
        grow((void **)&b->strs, &b->strs_cap, b->strs_len + n, 1) != GW_OK)
        return GW_ENOMEM;
    b->terms_cap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    memcpy(b->strs + b->strs_len, t, n);
    b->str_off[b->n_terms] = (uint32_t)b->strs_len;
    b->strs_len += n;
    b->str_off[b->n_terms + 1] = (uint32_t)b->strs_len;
    b->hash[b->n_terms] = h;
    b->df[b->n_terms] = 0;
    *id = (uint32_t)b->n_terms++;
    b->slots[slot] = *id + 1;
    if (b->n_terms * 2 > b->slots_cap)
        return rehash(b);
    return GW_OK;
}

/* The id of term t[0..n), added if new. */
static gw_err_t intern(gw_search_builder_t *b, const char *t, size_t n, uint32_t *id)
{
    uint32_t h = hash_term(t, n);
    if (b->slots_cap == 0 && rehash(b) != GW_OK)
        return GW_ENOMEM;
    size_t i = h & (b->slots_cap - 1);
    for (; b->slots[i] != 0; i = (i + 1) & (b->slots_cap - 1)) {
        uint32_t cand = b->slots[i] - 1;
        size_t len = b->str_off[cand + 1] - b->str_off[cand];
        if (b->hash[cand] == h && len == n && memcmp(b->strs + b->str_off[cand], t, n) == 0) {
            *id = cand;
            return GW_OK;
        }
    }
    return new_term(b, t, n, h, i, id);
}

/* ---- documents ---- */

typedef struct doc_terms {
    gw__search_entry_t e[DOC_TERMS_MAX];
    size_t n;
} doc_terms_t;

/* Adds count of term id to dt. */
static void dt_add(doc_terms_t *dt, uint32_t id, float count)
{
    size_t i;
    for (i = 0; i < dt->n && dt->e[i].id != id; i++)
        ;
    if (i < dt->n)
        dt->e[i].w += count;
    else if (dt->n < DOC_TERMS_MAX)
        dt->e[dt->n++] = (gw__search_entry_t){id, count};
}

/* The terms of text[0..len) and their counts into ft (emptied first). */
static gw_err_t tokenize(gw_search_builder_t *b, const char *text, size_t len, doc_terms_t *ft)
{
    gw__search_lex_t lx = {text, text != NULL ? len : 0, 0};
    char tok[GW_SEARCH_TOKEN_MAX + 1];
    size_t n;
    bool at_end;
    ft->n = 0;
    while (gw__search_lex_next(&lx, tok, &n, &at_end)) {
        uint32_t id;
        if ((n = gw__search_term(tok, n)) == 0)
            continue;
        gw_err_t rc = intern(b, tok, n, &id);
        if (rc != GW_OK)
            return rc;
        dt_add(ft, id, 1.0f);
    }
    return GW_OK;
}

/* The field cache: brands, categories, synonyms, colors and materials
 * repeat across SKUs, so each distinct string is tokenised once. */
static const gw__search_entry_t *fc_find(const gw_search_builder_t *b, const char *t, size_t n, uint32_t h,
                                         size_t *slot, size_t *count)
{
    size_t i = h & (b->fc_cap - 1);
    for (; b->fc_slots[i] != 0; i = (i + 1) & (b->fc_cap - 1)) {
        const fc_entry_t *e = &b->fc[b->fc_slots[i] - 1];
        if (e->hash == h && e->key_len == n && memcmp(b->fc_keys + e->key_off, t, n) == 0) {
            *count = e->n;
            return b->fc_terms + e->terms_off;
        }
    }
    *slot = i;
    return NULL;
}

static gw_err_t fc_rehash(gw_search_builder_t *b)
{
    size_t cap = b->fc_cap ? b->fc_cap * 2 : 256;
    uint32_t *slots = gw_calloc(cap, sizeof *slots);
    if (slots == NULL)
        return GW_ENOMEM;
    for (size_t k = 0; k < b->fc_n; k++) {
        size_t i = b->fc[k].hash & (cap - 1);
        while (slots[i] != 0)
            i = (i + 1) & (cap - 1);
        slots[i] = (uint32_t)k + 1;
    }
    gw_free(b->fc_slots);
    b->fc_slots = slots;
    b->fc_cap = cap;
    return GW_OK;
}

static gw_err_t fc_put(gw_search_builder_t *b, const char *t, size_t n, uint32_t h, size_t slot, const doc_terms_t *ft)
{
    if (b->fc_n >= FC_MAX || b->fc_keys_len + n > UINT32_MAX || b->fc_terms_len + ft->n > UINT32_MAX)
        return GW_OK; /* full: the string is just not cached */
    if (grow((void **)&b->fc, &b->fc_entries_cap, b->fc_n + 1, sizeof *b->fc) != GW_OK ||
        grow((void **)&b->fc_keys, &b->fc_keys_cap, b->fc_keys_len + n, 1) != GW_OK ||
        grow((void **)&b->fc_terms, &b->fc_terms_cap, b->fc_terms_len + ft->n, sizeof *b->fc_terms) != GW_OK)
        return GW_ENOMEM;
    b->fc[b->fc_n] = (fc_entry_t){h, (uint32_t)b->fc_keys_len, (uint32_t)n, (uint32_t)b->fc_terms_len,
                                  (uint32_t)ft->n};
    memcpy(b->fc_keys + b->fc_keys_len, t, n);
    memcpy(b->fc_terms + b->fc_terms_len, ft->e, ft->n * sizeof ft->e[0]);
    b->fc_keys_len += n;
    b->fc_terms_len += ft->n;
    b->fc_slots[slot] = (uint32_t)++b->fc_n;
    return b->fc_n * 2 > b->fc_cap ? fc_rehash(b) : GW_OK;
}

/* Adds the terms of a repeated field to dt, each counting weight. */
static gw_err_t add_cached(gw_search_builder_t *b, doc_terms_t *dt, const char *text, size_t len, float weight)
{
    doc_terms_t ft;
    size_t slot = 0, n = 0;
    uint32_t h = hash_term(text, text != NULL ? len : 0);
    const gw__search_entry_t *e;
    gw_err_t rc;
    if (text == NULL || len == 0)
        return GW_OK;
    if (b->fc_cap == 0 && fc_rehash(b) != GW_OK)
        return GW_ENOMEM;
    if ((e = fc_find(b, text, len, h, &slot, &n)) == NULL) {
        if ((rc = tokenize(b, text, len, &ft)) != GW_OK || (rc = fc_put(b, text, len, h, slot, &ft)) != GW_OK)
            return rc;
        e = ft.e;
        n = ft.n;
    }
    for (size_t i = 0; i < n; i++)
        dt_add(dt, e[i].id, e[i].w * weight);
    return GW_OK;
}

static gw_err_t doc_fields(gw_search_builder_t *b, doc_terms_t *dt, const gw_search_doc_t *d)
{
    doc_terms_t ft;
    gw_err_t rc = tokenize(b, d->title, d->title_len, &ft);
    for (size_t i = 0; rc == GW_OK && i < ft.n; i++)
        dt_add(dt, ft.e[i].id, ft.e[i].w * (float)GW_SEARCH_TITLE_WEIGHT);
    if (rc == GW_OK)
        rc = add_cached(b, dt, d->brand, d->brand_len, 1.0f);
    if (rc == GW_OK)
        rc = add_cached(b, dt, d->category, d->category_len, 1.0f);
    if (rc == GW_OK)
        rc = add_cached(b, dt, d->extra, d->extra_len, 1.0f);
    if (rc == GW_OK)
        rc = add_cached(b, dt, d->color, d->color_len, 1.0f);
    if (rc == GW_OK)
        rc = add_cached(b, dt, d->material, d->material_len, 1.0f);
    return rc;
}

gw_err_t gw_search_builder_add(gw_search_builder_t *b, const gw_search_doc_t *d)
{
    doc_terms_t dt;
    size_t tlen = d->title != NULL ? d->title_len : 0;
    gw_err_t rc;
    dt.n = 0;
    if (b->n_docs >= UINT32_MAX - 1)
        return GW_ETOOBIG;
    if ((rc = doc_fields(b, &dt, d)) != GW_OK)
        return rc;
    if (grow_docs(b, b->n_docs + 1) != GW_OK ||
        grow((void **)&b->fwd, &b->fwd_cap, b->fwd_len + dt.n, sizeof *b->fwd) != GW_OK ||
        grow((void **)&b->titles, &b->titles_cap, b->titles_len + tlen + 1, 1) != GW_OK)
        return GW_ENOMEM;
    for (size_t i = 0; i < dt.n; i++)
        b->df[dt.e[i].id]++;
    memcpy(b->fwd + b->fwd_len, dt.e, dt.n * sizeof dt.e[0]);
    b->fwd_len += dt.n;
    if (tlen > 0)
        memcpy(b->titles + b->titles_len, d->title, tlen);
    b->titles_len += tlen;
    b->sku[b->n_docs] = d->sku_id;
    b->n_docs++;
    b->fwd_off[b->n_docs] = b->fwd_len;
    b->title_off[b->n_docs] = b->titles_len;
    return GW_OK;
}

/* ---- finish ---- */

typedef struct term_ref {
    const char *p;
    uint32_t n, id;
} term_ref_t;

static int cmp_term(const void *a, const void *b)
{
    const term_ref_t *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

/* The sorted vocabulary into s; remap[old id] = new id. */
static gw_err_t sort_vocab(gw_search_builder_t *b, gw_search_t *s, uint32_t *remap)
{
    size_t n = b->n_terms;
    term_ref_t *refs = gw_malloc((n ? n : 1) * sizeof *refs);
    s->terms = gw_malloc(b->strs_len + 1);
    s->term_off = gw_malloc((n + 1) * sizeof *s->term_off);
    s->df = gw_malloc((n ? n : 1) * sizeof *s->df);
    s->idf = gw_malloc((n ? n : 1) * sizeof *s->idf);
    if (refs == NULL || s->terms == NULL || s->term_off == NULL || s->df == NULL || s->idf == NULL) {
        gw_free(refs);
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        refs[i] = (term_ref_t){b->strs + b->str_off[i], b->str_off[i + 1] - b->str_off[i], (uint32_t)i};
    qsort(refs, n, sizeof *refs, cmp_term);
    uint32_t at = 0;
    for (size_t i = 0; i < n; i++) {
        remap[refs[i].id] = (uint32_t)i;
        s->term_off[i] = at;
        memcpy(s->terms + at, refs[i].p, refs[i].n);
        at += refs[i].n;
        s->df[i] = b->df[refs[i].id];
        s->idf[i] = (float)(log((1.0 + (double)b->n_docs) / (1.0 + (double)s->df[i])) + 1.0);
    }
    s->term_off[n] = at;
    s->terms[at] = '\0';
    s->n_terms = n;
    gw_free(refs);
    return GW_OK;
}

/* One document's entries: ids remapped and sorted, tf -> normalised weight. */
static void weigh_doc(gw__search_entry_t *e, size_t n, const uint32_t *remap, const float *idf)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        gw__search_entry_t x = {remap[e[i].id], e[i].w};
        size_t j = i;
        for (; j > 0 && e[j - 1].id > x.id; j--)
            e[j] = e[j - 1];
        e[j] = x;
    }
    for (size_t i = 0; i < n; i++) {
        double w = (1.0 + log((double)e[i].w)) * (double)idf[e[i].id];
        norm += w * w;
    }
    norm = sqrt(norm);
    for (size_t i = 0; i < n; i++)
        e[i].w = (float)((1.0 + log((double)e[i].w)) * (double)idf[e[i].id] / norm);
}

static uint32_t sort_key(float w)
{
    uint32_t bits;
    memcpy(&bits, &w, sizeof bits);
    return UINT32_MAX - bits; /* weights are positive: bigger weight, smaller key */
}

/* Stable sort of p[0..n) by weight descending (doc order kept for ties). */
static void impact_sort(gw__search_entry_t *p, size_t n, gw__search_entry_t *tmp)
{
    if (n < 64) {
        for (size_t i = 1; i < n; i++) {
            gw__search_entry_t x = p[i];
            size_t j = i;
            for (; j > 0 && p[j - 1].w < x.w; j--)
                p[j] = p[j - 1];
            p[j] = x;
        }
        return;
    }
    gw__search_entry_t *src = p, *dst = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((sort_key(src[i].w) >> shift) & 0xFF) + 1]++;
        if (count[((sort_key(src[0].w) >> shift) & 0xFF) + 1] == n)
            continue; /* every key has this byte: the pass changes nothing */
        for (int i = 0; i < 256; i++)
            count[i + 1] += count[i];
        for (size_t i = 0; i < n; i++)
            dst[count[(sort_key(src[i].w) >> shift) & 0xFF]++] = src[i];
        gw__search_entry_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != p)
        memcpy(p, src, n * sizeof *p);
}

static gw_err_t build_postings(gw_search_t *s)
{
    uint64_t *cur = gw_malloc((s->n_terms + 1) * sizeof *cur);
    size_t max_df = 0, total = s->fwd_off[s->n_docs];
    gw__search_entry_t *tmp = NULL;
    s->post_off = gw_malloc((s->n_terms + 1) * sizeof *s->post_off);
    s->post = gw_malloc((total ? total : 1) * sizeof *s->post);
    if (cur == NULL || s->post_off == NULL || s->post == NULL)
        goto fail;
    s->post_off[0] = 0;
    for (size_t t = 0; t < s->n_terms; t++) {
        s->post_off[t + 1] = s->post_off[t] + s->df[t];
        cur[t] = s->post_off[t];
        max_df = s->df[t] > max_df ? s->df[t] : max_df;
    }
    for (size_t d = 0; d < s->n_docs; d++)
        for (uint64_t i = s->fwd_off[d]; i < s->fwd_off[d + 1]; i++)
            s->post[cur[s->fwd[i].id]++] = (gw__search_entry_t){(uint32_t)d, s->fwd[i].w};
    if ((tmp = gw_malloc((max_df ? max_df : 1) * sizeof *tmp)) == NULL)
        goto fail;
    for (size_t t = 0; t < s->n_terms; t++)
        impact_sort(s->post + s->post_off[t], s->df[t], tmp);
    gw_free(tmp);
    gw_free(cur);
    return GW_OK;
fail:
    gw_free(cur);
    return GW_ENOMEM;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Moves the document arrays from b to s, trimming the slack of growth. */
static void take_docs(gw_search_builder_t *b, gw_search_t *s)
{
    void *p;
    if (b->fwd_len > 0 && (p = gw_realloc(b->fwd, b->fwd_len * sizeof *b->fwd)) != NULL)
        b->fwd = p;
    if (b->titles_len > 0 && (p = gw_realloc(b->titles, b->titles_len)) != NULL)
        b->titles = p;
    s->n_docs = b->n_docs;
    s->sku = b->sku;
    s->sku_sorted = true;
    for (size_t d = 1; d < s->n_docs && s->sku_sorted; d++)
        s->sku_sorted = s->sku[d - 1] <= s->sku[d];
    s->fwd_off = b->fwd_off;
    s->fwd = b->fwd;
    s->title_off = b->title_off;
    s->titles = b->titles;
    b->sku = NULL;
    b->fwd_off = b->title_off = NULL;
    b->fwd = NULL;
    b->titles = NULL;
}

gw_err_t gw_search_builder_finish(gw_search_builder_t *b, gw_search_t **out)
{
    gw_err_t rc = GW_ENOMEM;
    double t0 = mono_ms();
    gw_search_t *s = gw_calloc(1, sizeof *s);
    uint32_t *remap = gw_malloc((b->n_terms ? b->n_terms : 1) * sizeof *remap);
    *out = NULL;
    if (s == NULL || remap == NULL)
        goto out;
    if ((rc = gw__search_pool_new(&s->pool)) != GW_OK || (rc = sort_vocab(b, s, remap)) != GW_OK)
        goto out;
    take_docs(b, s);
    for (size_t d = 0; d < s->n_docs; d++)
        weigh_doc(s->fwd + s->fwd_off[d], s->fwd_off[d + 1] - s->fwd_off[d], remap, s->idf);
    if ((rc = build_postings(s)) != GW_OK)
        goto out;
    s->build_ms = mono_ms() - t0;
    *out = s;
    s = NULL;
    rc = GW_OK;
out:
    gw_free(remap);
    gw_search_free(s);
    gw_search_builder_free(b);
    return rc;
}

void gw_search_free(gw_search_t *s)
{
    if (s == NULL)
        return;
    gw_free(s->terms);
    gw_free(s->term_off);
    gw_free(s->df);
    gw_free(s->idf);
    gw_free(s->post_off);
    gw_free(s->post);
    gw_free(s->fwd_off);
    gw_free(s->fwd);
    gw_free(s->sku);
    gw_free(s->title_off);
    gw_free(s->titles);
    gw__search_pool_free(s->pool);
    gw_free(s);
}

void gw_search_get_stats(const gw_search_t *s, gw_search_stats_t *o)
{
    size_t nt = s->n_terms, nd = s->n_docs, np = nd ? s->fwd_off[nd] : 0;
    o->docs = nd;
    o->vocab = nt;
    o->postings = np;
    o->build_ms = s->build_ms;
    o->bytes = sizeof *s + (nt ? s->term_off[nt] : 0) + 1 + (nt + 1) * sizeof(uint32_t) +
               nt * (sizeof(uint32_t) + sizeof(float)) + (nt + 1) * sizeof(uint64_t) +
               2 * np * sizeof(gw__search_entry_t) + (nd + 1) * 2 * sizeof(uint64_t) + nd * sizeof(int64_t) +
               (nd ? s->title_off[nd] : 0);
}

/* search_score.c - the top k of one query, exactly (the cosine of
 * search.h), pruned by bounds so a keystroke stays in the millisecond
 * range at a million SKUs:
 *  1. the full terms' postings add into per-doc float accumulators
 *     (base), listing the touched docs;
 *  2. exact scores of each full term's first k postings (its highest
 *     weights) give a first k-th best score, the threshold;
 *  3. each completion t's impact-ordered postings record, for touched
 *     docs, the most a completion adds to the score (comp, the max of
 *     (qt - qf) w / n_t). A score is max(base / n_min, max_t (base +
 *     (qt - qf) w_t) / n_t), so base / n_min + comp bounds it. A list stops
 *     where even the best base / n_min plus what it adds cannot reach the
 *     threshold: a doc that could only get in through the rest of the list
 *     cannot get in at all, so the rest need not be recorded;
 *  4. one pass over the touched docs keeps those whose bound reaches the
 *     threshold, and clears the accumulators; the k best bounds are
 *     scored first, then the rest while their bound still reaches the
 *     k-th best score;
 *  5. docs with no full term score only through a completion: each
 *     completion's postings are walked while their weight can still beat
 *     the k-th best (a run of equal weights is in sku order when the
 *     index is, so it stops at the first loser).
 * Exact scores come from one function in one summation order, so equal
 * documents tie exactly, and a tie goes to the smaller sku_id.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search_int.h"

#define SLACK 1e-5          /* float accumulators vs exact double scores */
#define SEED_COMPLETIONS 4 /* completions whose first postings seed the threshold */
#define AHEAD 16           /* postings ahead whose accumulator is prefetched */

/* The accumulators are touched at random: ask for the one AHEAD early. */
#define PREFETCH_ACC(sc, p, end) \
    do { \
        if ((p) + AHEAD < (end)) \
            __builtin_prefetch(&(sc)->acc[(p)[AHEAD].id], 1); \
    } while (0)

typedef gw__search_qterm_t qterm_t;
typedef gw__search_query_t query_t;
typedef gw__search_hitc_t cand_t;

typedef struct heap {
    cand_t c[GW_SEARCH_K_MAX]; /* the worst at c[0] */
    size_t n, k;
} heap_t;

/* ---- top k ---- */

static int worse(const cand_t *a, const cand_t *b)
{
    return a->score < b->score || (a->score == b->score && a->sku > b->sku);
}

static void sift_down(heap_t *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && worse(&h->c[l], &h->c[m]))
            m = l;
        if (r < h->n && worse(&h->c[r], &h->c[m]))
            m = r;
        if (m == i)
            return;
        cand_t t = h->c[i];
        h->c[i] = h->c[m];
        h->c[m] = t;
        i = m;
    }
}

/* True when doc d, scoring at most bound, cannot enter the heap. The sku
 * is read only for a tie. */
static int cannot_enter(const gw_search_t *s, const heap_t *h, double bound, uint32_t d)
{
    return h->n == h->k && (bound < h->c[0].score || (bound == h->c[0].score && s->sku[d] >= h->c[0].sku));
}

/* Offers doc d with its exact score; a doc held already is not added twice. */
static void offer(const gw_search_t *s, heap_t *h, double score, uint32_t d)
{
    if (score <= 0 || cannot_enter(s, h, score, d))
        return;
    for (size_t i = 0; i < h->n; i++)
        if (h->c[i].doc == d)
            return;
    cand_t c = {score, s->sku[d], d};
    if (h->n == h->k) {
        h->c[0] = c;
        sift_down(h, 0);
        return;
    }
    size_t i = h->n++;
    for (; i > 0 && worse(&c, &h->c[(i - 1) / 2]); i = (i - 1) / 2)
        h->c[i] = h->c[(i - 1) / 2];
    h->c[i] = c;
}

static int cmp_best(const void *a, const void *b)
{
    return worse(a, b) - worse(b, a);
}

/* ---- exact scores ---- */

typedef struct comp_hit {
    const qterm_t *t;
    double w;
} comp_hit_t;

double gw__search_exact(const gw_search_t *s, const query_t *q, const uint8_t *slot, uint32_t d)
{
    const gw__search_entry_t *e = s->fwd + s->fwd_off[d], *end = s->fwd + s->fwd_off[d + 1];
    comp_hit_t hit[GW_SEARCH_EXPAND_MAX];
    size_t nh = 0;
    double base = 0, best;
    for (; e < end; e++) {
        if (slot[e->id] == 0)
            continue;
        const qterm_t *t = &q->t[slot[e->id] - 1];
        base += t->qf * (double)e->w;
        if (t->qt > 0 && nh < GW_SEARCH_EXPAND_MAX)
            hit[nh++] = (comp_hit_t){t, (double)e->w};
    }
    best = base / q->n_min;
    for (size_t i = 0; i < nh; i++)
        best = fmax(best, (base - hit[i].t->qf * hit[i].w + hit[i].t->qt * hit[i].w) / hit[i].t->nt);
    return fmin(best, 1.0); /* float weights can overshoot a cosine of 1 by 1e-8 */
}

static const gw__search_entry_t *plist(const gw_search_t *s, uint32_t term, const gw__search_entry_t **end)
{
    *end = s->post + s->post_off[term + 1];
    return s->post + s->post_off[term];
}

typedef struct comp_order {
    double bound;
    const qterm_t *t;
} comp_order_t;

static int cmp_comp(const void *a, const void *b)
{
    const comp_order_t *x = a, *y = b;
    return (x->bound < y->bound) - (x->bound > y->bound);
}

/* The completions into ord, the best first bound (qt w / nt) first.
 * Returns their number. */
static size_t order_completions(const gw_search_t *s, const query_t *q, comp_order_t *ord)
{
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++)
        if (q->t[i].qt > 0)
            ord[n++] = (comp_order_t){q->t[i].qt * (double)s->post[s->post_off[q->t[i].id]].w / q->t[i].nt, &q->t[i]};
    qsort(ord, n, sizeof *ord, cmp_comp);
    return n;
}

/* ---- 1, 2: the full terms ---- */

static gw_err_t accumulate(const gw_search_t *s, const query_t *q, gw_search_scratch_t *sc, double *top)
{
    float max = 0;
    for (size_t i = 0; i < q->n; i++) {
        const gw__search_entry_t *end, *p = plist(s, q->t[i].id, &end);
        size_t need = sc->n_touched + (size_t)(end - p);
        if (q->t[i].qf <= 0)
            continue;
        if (gw__search_scratch_reserve(sc, need < s->n_docs ? need : s->n_docs) != GW_OK)
            return GW_ENOMEM; /* a doc is touched once, so n_docs is enough */
        float qf = (float)q->t[i].qf;
        for (; p < end; p++) {
            gw__search_acc_t *a = &sc->acc[p->id];
            PREFETCH_ACC(sc, p, end);
            if (a->base == 0)
                sc->touched[sc->n_touched++] = p->id;
            a->base += qf * p->w;
            max = a->base > max ? a->base : max;
        }
    }
    *top = (double)max;
    return GW_OK;
}

/* Exact scores of the first k postings (the highest weights) of each full
 * term and of the SEED_COMPLETIONS completions with the best first bound. */
static void seed(const gw_search_t *s, const query_t *q, const uint8_t *slot, const comp_order_t *ord, size_t n_ord,
                 heap_t *h)
{
    for (size_t i = 0; i < q->n + n_ord && i < q->n + SEED_COMPLETIONS; i++) {
        const qterm_t *t = i < q->n ? &q->t[i] : ord[i - q->n].t;
        const gw__search_entry_t *end, *p = plist(s, t->id, &end);
        if (i < q->n && t->qf <= 0)
            continue;
        for (size_t j = 0; p < end && j < h->k; p++, j++)
            offer(s, h, gw__search_exact(s, q, slot, p->id), p->id);
    }
}

/* ---- 3, 4: bounds for the touched docs ---- */

static void bound_completions(const gw_search_t *s, const query_t *q, gw_search_scratch_t *sc, double top,
                              const heap_t *h)
{
    double lift = top * (1 + SLACK) / q->n_min;
    for (size_t i = 0; i < q->n; i++) {
        const qterm_t *t = &q->t[i];
        double scale = (t->qt - t->qf) / t->nt; /* qt > qf for every completion */
        const gw__search_entry_t *end, *p = plist(s, t->id, &end);
        for (; t->qt > 0 && p < end; p++) {
            double add = scale * (double)p->w;
            if (h->n == h->k && lift + add * (1 + SLACK) < h->c[0].score)
                break; /* no touched doc gets in through the rest of this list */
            gw__search_acc_t *a = &sc->acc[p->id];
            PREFETCH_ACC(sc, p, end);
            if (a->base > 0 && (float)add > a->comp)
                a->comp = (float)add;
        }
    }
}

/* Keeps the touched docs whose bound reaches the threshold in sc->cand
 * and clears every accumulator; returns their number. */
static size_t gather(const gw_search_t *s, const query_t *q, gw_search_scratch_t *sc, const heap_t *h)
{
    size_t n = 0;
    for (size_t i = 0; i < sc->n_touched; i++) {
        uint32_t d = sc->touched[i];
        gw__search_acc_t *a = &sc->acc[d];
        if (i + AHEAD < sc->n_touched)
            __builtin_prefetch(&sc->acc[sc->touched[i + AHEAD]], 1);
        double ub = ((double)a->base / q->n_min + (double)a->comp) * (1 + SLACK);
        a->base = a->comp = 0;
        if (!cannot_enter(s, h, ub, d))
            sc->cand[n++] = (gw__search_ub_t){(float)(ub * (1 + SLACK)), d};
    }
    sc->n_touched = 0;
    return n;
}

static int cmp_ub(const void *a, const void *b)
{
    const gw__search_ub_t *x = a, *y = b;
    return (x->ub < y->ub) - (x->ub > y->ub);
}

/* Exact scores of the candidates, best bound first, while a bound reaches
 * the k-th best. The k best bounds are picked out before the sort so a big
 * candidate set is mostly cut by a good threshold, not sorted. */
static void score_candidates(const gw_search_t *s, const query_t *q, gw_search_scratch_t *sc, size_t n, heap_t *h)
{
    heap_t best = {.n = 0, .k = h->k};
    for (size_t i = 0; i < n; i++)
        offer(s, &best, (double)sc->cand[i].ub, sc->cand[i].doc);
    for (size_t i = 0; i < best.n; i++)
        offer(s, h, gw__search_exact(s, q, sc->slot, best.c[i].doc), best.c[i].doc);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!cannot_enter(s, h, (double)sc->cand[i].ub, sc->cand[i].doc))
            sc->cand[m++] = sc->cand[i];
    qsort(sc->cand, m, sizeof *sc->cand, cmp_ub);
    for (size_t i = 0; i < m && !cannot_enter(s, h, (double)sc->cand[i].ub, sc->cand[i].doc); i++)
        offer(s, h, gw__search_exact(s, q, sc->slot, sc->cand[i].doc), sc->cand[i].doc);
}

/* ---- 5: docs with no full term ---- */

static void score_completions(const gw_search_t *s, const query_t *q, const uint8_t *slot, const comp_order_t *ord,
                              size_t n, heap_t *h)
{
    for (size_t i = 0; i < n; i++) {
        const qterm_t *t = ord[i].t;
        const gw__search_entry_t *end, *p = plist(s, t->id, &end);
        if (t->qf > 0)
            continue; /* every doc of a full term was touched: 4 saw it */
        for (; p < end; p++) {
            double bound = t->qt * (double)p->w / t->nt;
            if (cannot_enter(s, h, bound, p->id)) {
                if (s->sku_sorted || bound < h->c[0].score)
                    break;
                continue;
            }
            offer(s, h, gw__search_exact(s, q, slot, p->id), p->id);
        }
    }
}

gw_err_t gw__search_topk(const gw_search_t *s, const query_t *q, gw_search_scratch_t *sc, size_t k, cand_t *out,
                         size_t *n)
{
    heap_t h = {.n = 0, .k = k};
    comp_order_t ord[GW__SEARCH_QTERMS_MAX];
    size_t n_ord = order_completions(s, q, ord);
    double top = 0;
    gw_err_t rc;
    for (size_t i = 0; i < q->n; i++)
        sc->slot[q->t[i].id] = (uint8_t)(i + 1);
    rc = accumulate(s, q, sc, &top);
    if (rc == GW_OK && sc->n_touched > 0) {
        seed(s, q, sc->slot, ord, n_ord, &h);
        if (q->n_comp > 0)
            bound_completions(s, q, sc, top, &h);
        score_candidates(s, q, sc, gather(s, q, sc, &h), &h);
    }
    for (size_t i = 0; i < sc->n_touched; i++) /* left over only after an error */
        sc->acc[sc->touched[i]] = (gw__search_acc_t){0, 0};
    sc->n_touched = 0;
    if (rc == GW_OK)
        score_completions(s, q, sc->slot, ord, n_ord, &h);
    for (size_t i = 0; i < q->n; i++)
        sc->slot[q->t[i].id] = 0;
    qsort(h.c, h.n, sizeof h.c[0], cmp_best);
    memcpy(out, h.c, h.n * sizeof h.c[0]);
    *n = rc == GW_OK ? h.n : 0;
    return rc;
}

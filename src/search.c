/* search.c - one search query over the immutable index: parse the text,
 * look the terms up in the sorted vocabulary, expand the prefix to its
 * most frequent completions, weigh the query vector (search.h), hand it
 * to search_score.c, and write the result's JSON (system.md 2).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "search_int.h"

typedef gw__search_qterm_t qterm_t;
typedef gw__search_query_t query_t;

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- vocabulary ---- */

static int cmp_term(const gw_search_t *s, size_t i, const char *t, size_t n, int prefix)
{
    const char *p = s->terms + s->term_off[i];
    size_t len = s->term_off[i + 1] - s->term_off[i];
    int c = memcmp(p, t, len < n ? len : n);
    if (c != 0)
        return c;
    if (prefix && len >= n)
        return 0;
    return (len > n) - (len < n);
}

int64_t gw__search_find(const gw_search_t *s, const char *t, size_t n)
{
    size_t lo = 0, hi = s->n_terms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_term(s, mid, t, n, 0);
        if (c == 0)
            return (int64_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void gw__search_prefix_range(const gw_search_t *s, const char *p, size_t n, size_t *lo_out, size_t *hi_out)
{
    size_t lo = 0, hi = s->n_terms;
    while (lo < hi) { /* first term >= p */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_term(s, mid, p, n, 1) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *lo_out = lo;
    hi = s->n_terms;
    while (lo < hi) { /* first term past the ones starting with p */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_term(s, mid, p, n, 1) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *hi_out = lo;
}

/* ---- the query vector ---- */

static qterm_t *qterm_of(query_t *q, uint32_t id)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->t[i].id == id)
            return &q->t[i];
    if (q->n == GW__SEARCH_QTERMS_MAX)
        return NULL;
    q->t[q->n] = (qterm_t){id, 0, 0, 0, 0};
    return &q->t[q->n++];
}

/* Term a is a better completion than b: more documents, then first. */
static int better(const gw_search_t *s, size_t a, size_t b)
{
    return s->df[a] > s->df[b] || (s->df[a] == s->df[b] && a < b);
}

/* Keeps the GW_SEARCH_EXPAND_MAX best terms of [lo, hi) minus [xlo, xhi)
 * in best[], best first. */
static void pick_range(const gw_search_t *s, size_t lo, size_t hi, size_t xlo, size_t xhi, uint32_t *best,
                       size_t *nb)
{
    for (size_t id = lo; id < hi; id++) {
        size_t j = *nb;
        if (id >= xlo && id < xhi)
            continue; /* picked from the other range already */
        if (j == GW_SEARCH_EXPAND_MAX && !better(s, id, best[j - 1]))
            continue;
        if (j == GW_SEARCH_EXPAND_MAX)
            j--;
        for (; j > 0 && better(s, id, best[j - 1]); j--)
            best[j] = best[j - 1];
        best[j] = (uint32_t)id;
        if (*nb < GW_SEARCH_EXPAND_MAX)
            (*nb)++;
    }
}

/* The completions of the prefix p (raw) and of its stem. */
static size_t expand(const gw_search_t *s, const char *p, size_t n, uint32_t *best)
{
    char stem[GW_SEARCH_TOKEN_MAX + 1];
    size_t lo, hi, slo, shi, nb = 0, sn;
    gw__search_prefix_range(s, p, n, &lo, &hi);
    pick_range(s, lo, hi, 0, 0, best, &nb);
    memcpy(stem, p, n + 1);
    if ((sn = gw__search_stem(stem, n)) != n || memcmp(stem, p, n) != 0) {
        gw__search_prefix_range(s, stem, sn, &slo, &shi);
        pick_range(s, slo, shi, lo, hi, best, &nb);
    }
    return nb;
}

static void add_completions(const gw_search_t *s, query_t *q, const uint32_t *ids, size_t n)
{
    double n2 = q->norm_full * q->norm_full;
    q->n_min = INFINITY;
    for (size_t i = 0; i < n; i++) {
        qterm_t *t = qterm_of(q, ids[i]);
        if (t == NULL)
            break;
        t->qt = (1.0 + log((double)t->count + 1.0)) * (double)s->idf[t->id];
        t->nt = sqrt(fmax(n2 - t->qf * t->qf, 0.0) + t->qt * t->qt);
        q->n_min = fmin(q->n_min, t->nt);
        q->n_comp++;
    }
}

void gw__search_build_query(const gw_search_t *s, const char *text, size_t len, query_t *q)
{
    gw__search_qtoks_t qt;
    uint32_t comp[GW_SEARCH_EXPAND_MAX];
    size_t nfull, ncomp = 0;
    memset(q, 0, sizeof *q);
    gw__search_parse(text, len, &qt);
    nfull = qt.prefix ? qt.n - 1 : qt.n;
    for (size_t i = 0; i < nfull; i++) {
        int64_t id = gw__search_find(s, qt.tok[i], qt.len[i]);
        qterm_t *t = id >= 0 ? qterm_of(q, (uint32_t)id) : NULL;
        if (t != NULL)
            t->count++;
    }
    for (size_t i = 0; i < q->n; i++) {
        q->t[i].qf = (1.0 + log((double)q->t[i].count)) * (double)s->idf[q->t[i].id];
        q->norm_full += q->t[i].qf * q->t[i].qf;
    }
    q->norm_full = sqrt(q->norm_full);
    if (qt.prefix)
        ncomp = expand(s, qt.tok[nfull], qt.len[nfull], comp);
    if (ncomp > 0)
        add_completions(s, q, comp, ncomp);
    else
        q->n_min = q->norm_full;
}

/* ---- the call ---- */

/* A NUL-terminated copy of q with each invalid UTF-8 byte replaced by
 * U+FFFD, so the JSON echo stays valid. */
static char *copy_query(const char *q, size_t len, size_t *out_len)
{
    char *c = gw_malloc(len * 3 + 1);
    size_t at = 0, used;
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < len; i += used) {
        used = 1;
        if ((unsigned char)q[i] < 0x80 || gw__search_utf8_decode((const unsigned char *)q + i, len - i, &used) >= 0) {
            memcpy(c + at, q + i, used);
            at += used;
        } else {
            memcpy(c + at, "\xEF\xBF\xBD", 3);
            at += 3;
        }
    }
    c[at] = '\0';
    *out_len = at;
    return c;
}

static void result_reset(const gw_search_t *s, gw_search_result_t *r)
{
    gw_free(r->query);
    r->query = NULL;
    r->query_len = 0;
    r->took_ms = 0;
    r->corpus_docs = s->n_docs;
    r->vocab = s->n_terms;
    r->terms_scored = 0;
    r->n_hits = 0;
}

static void fill_hits(const gw_search_t *s, const gw__search_hitc_t *c, size_t n, gw_search_result_t *r)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t d = c[i].doc;
        r->hits[i] = (gw_search_hit_t){s->sku[d], s->titles + s->title_off[d], s->title_off[d + 1] - s->title_off[d],
                                        c[i].score};
    }
    r->n_hits = n;
}

gw_err_t gw_search_query(const gw_search_t *s, const char *text, size_t len, size_t k, gw_search_result_t *r)
{
    double t0 = mono_ms();
    query_t *q = NULL;
    gw__search_hitc_t hits[GW_SEARCH_K_MAX];
    size_t n = 0;
    gw_err_t rc = GW_ETOOBIG;
    result_reset(s, r);
    if (len > GW_SEARCH_QUERY_MAX)
        goto out;
    rc = GW_ENOMEM;
    if ((r->query = copy_query(text != NULL ? text : "", text != NULL ? len : 0, &r->query_len)) == NULL)
        goto out;
    if ((q = gw_malloc(sizeof *q)) == NULL)
        goto out;
    k = k == 0 ? GW_SEARCH_K_DEFAULT : k > GW_SEARCH_K_MAX ? GW_SEARCH_K_MAX : k;
    gw__search_build_query(s, r->query, r->query_len, q);
    r->terms_scored = q->n;
    if (q->n > 0 && ((rc = gw__search_scratch_get(s, &r->scratch)) != GW_OK ||
                     (rc = gw__search_topk(s, q, r->scratch, k, hits, &n)) != GW_OK))
        goto out;
    fill_hits(s, hits, n, r);
    rc = GW_OK;
out:
    gw_free(q);
    r->took_ms = mono_ms() - t0;
    return rc;
}

/* ---- results ---- */

void gw_search_result_init(gw_search_result_t *r)
{
    memset(r, 0, sizeof *r);
}

void gw_search_result_free(gw_search_result_t *r)
{
    gw__search_scratch_release(r->scratch);
    gw_free(r->query);
    memset(r, 0, sizeof *r);
}

gw_err_t gw_search_result_to_json(const gw_search_result_t *r, gw_buf_t *out)
{
    gw_err_t rc = gw_buf_adds(out, "{\"query\":\"");
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(out, r->query != NULL ? r->query : "", r->query_len);
    if (rc == GW_OK)
        rc = gw_buf_printf(out, "\",\"took_ms\":%.3f,\"corpus_docs\":%zu,\"vocab\":%zu,\"results\":[", r->took_ms,
                           r->corpus_docs, r->vocab);
    for (size_t i = 0; i < r->n_hits && rc == GW_OK; i++) {
        const gw_search_hit_t *h = &r->hits[i];
        rc = gw_buf_printf(out, "%s{\"sku_id\":%lld,\"title\":\"", i ? "," : "", (long long)h->sku_id);
        if (rc == GW_OK)
            rc = gw_buf_add_json_str(out, h->title, h->title_len);
        if (rc == GW_OK)
            rc = gw_buf_printf(out, "\",\"score\":%.6f}", h->score);
    }
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "]}");
    return rc;
}

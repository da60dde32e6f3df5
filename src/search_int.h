/* search_int.h - what the search_*.c files share and nothing else uses:
 * the index layout and the text normaliser (search_text.c).
 *
 * The index is a set of flat arrays: the vocabulary sorted by term, a
 * forward list of (term, weight) per document sorted by term id, an
 * inverted list of (doc, weight) per term sorted by weight descending
 * then doc ascending (impact order), and the title store.
 */
#ifndef GW_SEARCH_INT_H
#define GW_SEARCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "search.h"

/* A (term, weight) entry of a document, or a (doc, weight) posting. */
typedef struct gw__search_entry {
    uint32_t id;
    float w;
} gw__search_entry_t;

typedef struct gw__search_pool gw__search_pool_t;

/* One document's accumulators: the base score of the full query terms
 * and the most one completion adds (both before dividing by a norm). */
typedef struct gw__search_acc {
    float base;
    float comp;
} gw__search_acc_t;

/* A touched document that may make the top k, with its upper bound. */
typedef struct gw__search_ub {
    float ub;
    uint32_t doc;
} gw__search_ub_t;

/* Per-call scratch (search_scratch.c): accumulators per document, a slot
 * per term, the touched docs. Between calls acc and slot are all zero. */
struct gw_search_scratch {
    gw__search_pool_t *pool; /* the index's pool it returns to */
    size_t n_docs, n_terms;
    gw__search_acc_t *acc; /* n_docs */
    uint8_t *slot;         /* n_terms: query term index + 1 */
    uint32_t *touched;     /* docs with acc.base > 0, cap_touched of them */
    gw__search_ub_t *cand; /* cap_touched */
    size_t n_touched, cap_touched;
    gw_search_scratch_t *next; /* in the pool's free list */
};

struct gw_search {
    gw__search_pool_t *pool; /* idle scratches; the only mutable part, behind a mutex */
    size_t n_docs;
    size_t n_terms;
    /* vocabulary, sorted by bytes: term i is terms[term_off[i] .. term_off[i+1]) */
    char *terms;
    uint32_t *term_off; /* n_terms + 1 */
    uint32_t *df;       /* n_terms */
    float *idf;         /* n_terms */
    /* inverted: postings of term i are post[post_off[i] .. post_off[i+1]) */
    uint64_t *post_off;
    gw__search_entry_t *post;
    /* forward: terms of doc d are fwd[fwd_off[d] .. fwd_off[d+1]) */
    uint64_t *fwd_off;
    gw__search_entry_t *fwd;
    /* per doc */
    int64_t *sku;
    bool sku_sorted;     /* sku[] is non-decreasing (doc order is sku order) */
    uint64_t *title_off; /* n_docs + 1 */
    char *titles;
    double build_ms;
};

/* ---- text (search_text.c) ---- */

/* A cursor over text being tokenised. */
typedef struct gw__search_lex {
    const char *s;
    size_t len;
    size_t pos;
} gw__search_lex_t;

/* The next raw token (lower-case ASCII letters and digits, accents folded,
 * cut to GW_SEARCH_TOKEN_MAX bytes) into tok (NUL-terminated), its length
 * in *n. *at_end says the token runs to the end of the text (no separator
 * after it: the word may still be being typed). Returns false when no
 * token is left. */
bool gw__search_lex_next(gw__search_lex_t *lx, char tok[GW_SEARCH_TOKEN_MAX + 1], size_t *n, bool *at_end);
/* Decodes one UTF-8 sequence at s[0..len), len >= 1: the code point, or
 * -1 for an invalid, overlong or truncated one; *used = the bytes it
 * takes (1 when invalid). */
long gw__search_utf8_decode(const unsigned char *s, size_t len, size_t *used);
/* The light plural stemmer, in place; returns the new length. */
size_t gw__search_stem(char *t, size_t n);
/* True for a stop word or a one-letter word. */
bool gw__search_is_stop(const char *t, size_t n);
/* A raw token made an index term: 0 when it is dropped (stop word), else
 * the stemmed length (the token is changed in place). */
size_t gw__search_term(char *t, size_t n);

/* A parsed query: the full terms (stemmed, stop words out) and, when
 * prefix is set, the last token as typed (raw: not stemmed or dropped). */
typedef struct gw__search_qtoks {
    size_t n;
    bool prefix;
    char tok[GW_SEARCH_TOKENS_MAX][GW_SEARCH_TOKEN_MAX + 1];
    size_t len[GW_SEARCH_TOKENS_MAX];
} gw__search_qtoks_t;

/* Parses q[0..qlen): at most GW_SEARCH_TOKENS_MAX raw tokens are read. */
void gw__search_parse(const char *q, size_t qlen, gw__search_qtoks_t *out);

/* ---- a query (search.c builds it, search_score.c scores it) ---- */

#define GW__SEARCH_QTERMS_MAX (GW_SEARCH_TOKENS_MAX + GW_SEARCH_EXPAND_MAX)

typedef struct gw__search_qterm {
    uint32_t id;
    uint32_t count; /* times the term is a full token of the query */
    double qf;      /* weight as a full term; 0 if it is not one */
    double qt;      /* weight as a completion of the prefix; 0 if it is not one */
    double nt;      /* |query with the prefix replaced by this term| */
} gw__search_qterm_t;

typedef struct gw__search_query {
    gw__search_qterm_t t[GW__SEARCH_QTERMS_MAX];
    size_t n;
    size_t n_comp;
    double norm_full; /* |query of the full terms| */
    double n_min;     /* a doc with no completion divides by this; min nt */
} gw__search_query_t;

typedef struct gw__search_hitc {
    double score;
    int64_t sku;
    uint32_t doc;
} gw__search_hitc_t;

/* The query vector of text[0..len) (search.h); q->n == 0 when nothing in
 * it is in the vocabulary. */
void gw__search_build_query(const gw_search_t *s, const char *text, size_t len, gw__search_query_t *q);
/* The top k (1..GW_SEARCH_K_MAX) docs of q into out[], best first, their
 * number in *n. sc must be a scratch for s; it is left clean. */
gw_err_t gw__search_topk(const gw_search_t *s, const gw__search_query_t *q, gw_search_scratch_t *sc, size_t k,
                         gw__search_hitc_t *out, size_t *n);
/* The exact score of doc d for q (search.h), slot set for q. */
double gw__search_exact(const gw_search_t *s, const gw__search_query_t *q, const uint8_t *slot, uint32_t d);

/* ---- scratch (search_scratch.c) ---- */

gw_err_t gw__search_pool_new(gw__search_pool_t **out);
/* Frees the pool and the scratches in it. */
void gw__search_pool_free(gw__search_pool_t *p);
/* Makes *io a scratch for s: keeps it when it already is one, else
 * releases it and takes one from s's pool or allocates one. */
gw_err_t gw__search_scratch_get(const gw_search_t *s, gw_search_scratch_t **io);
/* Returns sc to its pool (or frees it when the pool is full). NULL is fine. */
void gw__search_scratch_release(gw_search_scratch_t *sc);
/* Room for n touched docs. */
gw_err_t gw__search_scratch_reserve(gw_search_scratch_t *sc, size_t n);

/* ---- vocabulary lookups (search.c) ---- */

/* The id of term t[0..n), or -1. */
int64_t gw__search_find(const gw_search_t *s, const char *t, size_t n);
/* The id range [*lo, *hi) of the terms that start with p[0..n). */
void gw__search_prefix_range(const gw_search_t *s, const char *p, size_t n, size_t *lo, size_t *hi);

#endif

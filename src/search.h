/* search.h - the "search" face: TF-IDF over normalised tokens, cosine
 * scored at keystroke time, over the catalog's SKUs (system.md 2,
 * GET /v1/search and `llmgw search`). No LLM in the loop.
 *
 * One document per SKU: title (counted twice), brand, leaf category name,
 * the leaf's taxonomy synonyms (when a taxonomy is given), color and
 * material. Text is normalised by search_text.c: lower-case, accents
 * folded to ASCII, split on non-alphanumerics, stop words and one-letter
 * words out, a light plural stemmer. Weights: tf' = 1 + ln(tf), idf =
 * ln((1 + N) / (1 + df)) + 1, document vectors L2-normalised; the query
 * vector is built the same way (terms not in the vocabulary are ignored)
 * and a score is the cosine, a number in [0, 1].
 *
 * Keystroke time: unless the query ends with a separator (a space), its
 * last token is a prefix still being typed. It expands to the vocabulary
 * terms that start with it (or with its stem), the GW_SEARCH_EXPAND_MAX
 * most frequent of them, and a document's score is the cosine with the
 * best completion: max over completions t of cos(query with the prefix
 * replaced by t, document). A prefix with no completion is ignored.
 *
 * The index is immutable once built (only its pool of idle per-call
 * scratches is mutable, behind a mutex): any number of threads may call
 * gw_search_query on one index at once, each with its own result object.
 * Scoring is exact but pruned (search_score.c): at 1M SKUs a keystroke
 * query takes well under a millisecond at the median. Functions borrow
 * their arguments unless said otherwise.
 */
#ifndef GW_SEARCH_H
#define GW_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct gw_engine;
struct gw_taxonomy;

#define GW_SEARCH_K_DEFAULT 10   /* k = 0 means this */
#define GW_SEARCH_K_MAX 100      /* a larger k is clamped to this */
#define GW_SEARCH_QUERY_MAX 1024 /* bytes; a longer query is GW_ETOOBIG */
#define GW_SEARCH_TOKENS_MAX 32  /* query tokens past this are ignored */
#define GW_SEARCH_EXPAND_MAX 50  /* completions of the last token */
#define GW_SEARCH_TOKEN_MAX 32   /* bytes; longer tokens are cut to this */
#define GW_SEARCH_TITLE_WEIGHT 2 /* a title word counts this many times */

typedef struct gw_search gw_search_t;

/* ---- building ---- */

/* One SKU as the builder takes it: (pointer, length) strings, need not be
 * NUL-terminated; NULL with length 0 for a missing field. */
typedef struct gw_search_doc {
    int64_t sku_id;
    const char *title;
    size_t title_len;
    const char *brand;
    size_t brand_len;
    const char *category; /* leaf category name */
    size_t category_len;
    const char *extra; /* more category words (synonyms), weight 1; may be NULL */
    size_t extra_len;
    const char *color;
    size_t color_len;
    const char *material;
    size_t material_len;
} gw_search_doc_t;

typedef struct gw_search_builder gw_search_builder_t;

/* A new, empty builder (free with gw_search_builder_free unless handed to
 * gw_search_builder_finish). docs_hint (0: none) presizes the arrays. */
gw_err_t gw_search_builder_new(size_t docs_hint, gw_search_builder_t **out);
/* Adds one document: GW_OK, GW_ENOMEM, or GW_ETOOBIG past 2^32 - 1 docs. */
gw_err_t gw_search_builder_add(gw_search_builder_t *b, const gw_search_doc_t *doc);
/* Builds the index and consumes b (freed whatever the outcome). *out is
 * freed with gw_search_free. An empty builder gives an empty index. */
gw_err_t gw_search_builder_finish(gw_search_builder_t *b, gw_search_t **out);
void gw_search_builder_free(gw_search_builder_t *b);

typedef struct gw_search_opts {
    const struct gw_taxonomy *taxonomy; /* NULL: no synonyms; borrowed during the build only */
    uint32_t timeout_ms;                /* per engine query; 0: 600000 */
} gw_search_opts_t;

/* Builds the index from the engine's catalog: reads categories (id, name)
 * and skus (sku_id, title, brand, category_id, color, material), adding
 * the taxonomy's synonyms of each leaf found by name. o may be NULL.
 * Returns GW_OK and *out (free with gw_search_free), or the engine's error
 * with a one-line reason in err. The engine is not kept. */
gw_err_t gw_search_build(struct gw_engine *e, const gw_search_opts_t *o, gw_search_t **out, char *err,
                         size_t errlen);
/* Frees the index; no query may be running and every result used with it
 * must have been freed. NULL is fine. */
void gw_search_free(gw_search_t *s);

typedef struct gw_search_stats {
    size_t docs;     /* corpus_docs */
    size_t vocab;    /* distinct terms */
    size_t postings; /* (term, doc) pairs */
    size_t bytes;    /* memory the index holds */
    double build_ms; /* gw_search_builder_finish only (not the engine scan) */
} gw_search_stats_t;

void gw_search_get_stats(const gw_search_t *s, gw_search_stats_t *out);

/* ---- querying ---- */

typedef struct gw_search_hit {
    int64_t sku_id;
    const char *title; /* borrowed from the index: valid while it lives; not NUL-terminated */
    size_t title_len;
    double score; /* cosine in [0, 1] */
} gw_search_hit_t;

typedef struct gw_search_scratch gw_search_scratch_t;

/* The answer to one query. It also holds the per-call scratch (two float
 * accumulators per document, ~8 MB at 1M SKUs): taken from the index's
 * pool of idle ones on the first query and given back by
 * gw_search_result_free, so neither a result per request nor one reused
 * per thread allocates on the hot path. Free every result before its index. */
typedef struct gw_search_result {
    char *query; /* a NUL-terminated copy of the query as given (invalid UTF-8 -> U+FFFD) */
    size_t query_len;
    double took_ms; /* measured inside gw_search_query */
    size_t corpus_docs;
    size_t vocab;
    size_t terms_scored; /* full terms + completions the query used */
    size_t n_hits;
    gw_search_hit_t hits[GW_SEARCH_K_MAX]; /* score desc, then sku_id asc */
    gw_search_scratch_t *scratch;
} gw_search_result_t;

/* Initialises an empty result (no allocation). */
void gw_search_result_init(gw_search_result_t *r);
/* Frees what r holds and returns its scratch to the pool; r may be reused
 * after gw_search_result_init. */
void gw_search_result_free(gw_search_result_t *r);

/* The top k (0: GW_SEARCH_K_DEFAULT; clamped to GW_SEARCH_K_MAX) SKUs for
 * q[0..qlen), best first, ties broken by the smaller sku_id; only SKUs with
 * a positive score. An empty or all-stop-word query gives no hits and
 * GW_OK. Returns GW_OK, GW_ETOOBIG when qlen > GW_SEARCH_QUERY_MAX, or
 * GW_ENOMEM. Thread-safe for one s and distinct out; out (initialised) is
 * overwritten, its hits borrow titles from s. */
gw_err_t gw_search_query(const gw_search_t *s, const char *q, size_t qlen, size_t k, gw_search_result_t *out);

/* Appends {"query":..,"took_ms":..,"corpus_docs":..,"vocab":..,"results":
 * [{"sku_id":..,"title":..,"score":..}]} (system.md 2) to out. The index r
 * came from must still live. */
gw_err_t gw_search_result_to_json(const gw_search_result_t *r, gw_buf_t *out);

/* ---- text ---- */

/* Appends the normalised form of q as the query parser sees it: the full
 * terms (stemmed, stop words out) separated by spaces and, when the last
 * token is a prefix, that token followed by '*': "ergonomic ch*". For
 * `llmgw search --explain`, tests and the fuzzer. */
gw_err_t gw_search_analyze(const char *q, size_t qlen, gw_buf_t *out);

#endif

/* test_search.c - the search index (search.h): normalisation (case,
 * accents, plurals, stop words, prefixes), exact TF-IDF cosine numbers on a
 * hand-made corpus, prefix expansion and its cap, empty queries, k bounds,
 * ordering and the sku_id tie-break, the JSON shape, the pruned top k
 * against an exhaustive scan, a generated 20k-SKU catalog where a leaf's
 * synonym finds that leaf's SKUs first, threads, allocation failures and
 * `llmgw search`.
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_gen.h"
#include "engine.h"
#include "search.h"
#include "search_cli.h"
#include "search_int.h"
#include "taxonomy.h"
#include "test.h"

#define EPS 1e-6
#define CAT_SKUS 20000
#define CAT_SEED 7

static char tmpdir[64];
static char catalog[128];

/* ---- helpers ---- */

static void add_doc(gw_search_builder_t *b, int64_t sku, const char *title, const char *color)
{
    gw_search_doc_t d = {0};
    d.sku_id = sku;
    d.title = title;
    d.title_len = title != NULL ? strlen(title) : 0;
    d.color = color;
    d.color_len = color != NULL ? strlen(color) : 0;
    T_OK(gw_search_builder_add(b, &d) == GW_OK, "add %lld", (long long)sku);
}

static gw_search_t *finish(gw_search_builder_t *b)
{
    gw_search_t *s = NULL;
    T_OK(gw_search_builder_finish(b, &s) == GW_OK && s != NULL, "finish");
    return s;
}

static const char *analyze(const char *q)
{
    static char out[512];
    gw_buf_t b;
    gw_buf_init(&b, sizeof out - 1);
    out[0] = '\0';
    if (gw_search_analyze(q, strlen(q), &b) == GW_OK && b.ptr != NULL)
        snprintf(out, sizeof out, "%s", b.ptr);
    gw_buf_free(&b);
    return out;
}

/* Runs q; returns the hit count (-1 on error). */
static int run(const gw_search_t *s, const char *q, size_t k, gw_search_result_t *r)
{
    gw_err_t rc = gw_search_query(s, q, strlen(q), k, r);
    return rc == GW_OK ? (int)r->n_hits : -1;
}

/* ---- normalisation ---- */

static void test_text(void)
{
    T_STREQ(analyze("Ergonomic Office CHAIRS "), "ergonomic office chair",
            "lower-case, plural, no prefix after a space");
    T_STREQ(analyze("ergonomic ch"), "ergonomic ch*", "the last token is a prefix");
    T_STREQ(analyze("Café Crème Brûlée "), "cafe creme brulee", "accents fold");
    T_STREQ(analyze("Straße Ærø Œuvre Łódź "), "strasse aero oeuvre lodz", "ß, Æ, ø, Œ, Ł fold");
    T_STREQ(analyze("Cafe\xcc\x81 "), "cafe", "a combining accent is dropped");
    T_STREQ(analyze("boxes batteries shoes glasses dresses tables watches bus tennis chassis cactus 2s "),
            "box battery shoe glass dress table watch bus tennis chassis cactus 2s", "the plural stemmer");
    T_STREQ(analyze("the chair for the office "), "chair office", "stop words out");
    T_STREQ(analyze("usb-c/hdmi, 4K"), "usb hdmi 4k*", "split on non-alphanumerics; one letter out");
    T_STREQ(analyze("ÉCRAN 27\" 4K/UHD "), "ecran 27 4k uhd", "digits stay");
    T_STREQ(analyze("a\xff" "b cd\xc3"), "cd", "invalid UTF-8 separates (a truncated sequence too)");
    T_STREQ(analyze("supercalifragilisticexpialidociousxyz "), "supercalifragilisticexpialidocio",
            "tokens are cut to GW_SEARCH_TOKEN_MAX");
    T_STREQ(analyze("the"), "the*", "a stop word being typed is still a prefix");
    T_STREQ(analyze("x"), "x*", "a one-letter prefix");
    T_STREQ(analyze("chairs"), "chairs*", "a prefix is kept raw");
    T_STREQ(analyze(""), "", "empty");
    T_STREQ(analyze(" \t\n"), "", "whitespace");
    char many[400] = "";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "w%d ", i);
    T_STREQ(analyze(many),
            "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20 w21 w22 w23 w24 w25 w26 w27 w28 "
            "w29 w30 w31",
            "at most GW_SEARCH_TOKENS_MAX tokens");
    T_OK(gw__search_is_stop("with", 4) && !gw__search_is_stop("within", 6) && gw__search_is_stop("q", 1) &&
             !gw__search_is_stop("7", 1),
         "stop words and one-letter words");
}

/* ---- exact numbers on a hand-made corpus ---- */

/* Titles count twice; color once. N = 4 documents:
 *   11 "Red Chair"             red 2, chair 2
 *   12 "Blue Chairs"           blue 2, chair 2
 *   13 "Red Table" + red       red 3, table 2
 *   14 "Cherry Table"          cherry 2, table 2
 * df: red 2, chair 2, table 2, blue 1, cherry 1; idf = ln((1+4)/(1+df)) + 1. */
static gw_search_t *corpus_a(void)
{
    gw_search_builder_t *b = NULL;
    T_OK(gw_search_builder_new(0, &b) == GW_OK, "builder");
    add_doc(b, 11, "Red Chair", NULL);
    add_doc(b, 12, "Blue Chairs", NULL);
    add_doc(b, 13, "Red Table", "Red");
    add_doc(b, 14, "Cherry Table", NULL);
    return finish(b);
}

static int hit_is(const gw_search_result_t *r, size_t i, int64_t sku, double score)
{
    return i < r->n_hits && r->hits[i].sku_id == sku && fabs(r->hits[i].score - score) < EPS;
}

static void test_exact_numbers(void)
{
    gw_search_t *s = corpus_a();
    gw_search_result_t r;
    gw_search_result_init(&r);
    const double A = log(5.0 / 3.0) + 1, B = log(5.0 / 2.0) + 1; /* idf of df 2 and df 1 */
    const double L2 = 1 + log(2.0), L3 = 1 + log(3.0);          /* sublinear tf of 2 and 3 */
    const double nAB = sqrt(A * A + B * B);
    /* normalised document weights */
    const double d11 = 1 / sqrt(2.0);                          /* red and chair in 11 */
    const double d12_chair = A / nAB;                          /* chair in 12 (blue: B / nAB) */
    const double d13_red = L3 / sqrt(L3 * L3 + L2 * L2);       /* red in 13 */
    const double d14_cherry = B / nAB;                         /* cherry in 14 */
    gw_search_stats_t st;
    gw_search_get_stats(s, &st);
    T_OK(st.docs == 4 && st.vocab == 5 && st.postings == 8, "stats: %zu docs, %zu terms, %zu postings", st.docs,
         st.vocab, st.postings);
    T_OK(fabs(s->idf[gw__search_find(s, "red", 3)] - A) < EPS && fabs(s->idf[gw__search_find(s, "blue", 4)] - B) < EPS,
         "smoothed idf");

    /* "chair ": q = (chair); cos = the doc's chair weight */
    T_OK(run(s, "chair ", 10, &r) == 2 && hit_is(&r, 0, 11, d11) && hit_is(&r, 1, 12, d12_chair),
         "chair: 11 %.6f, 12 %.6f", r.n_hits > 0 ? r.hits[0].score : -1, r.n_hits > 1 ? r.hits[1].score : -1);
    T_OK(fabs(d11 - 0.707107) < EPS && fabs(d12_chair - 0.619130) < EPS, "the hand values");
    /* "red chair ": q = (red A, chair A) / (A sqrt 2) */
    T_OK(run(s, "red chair ", 10, &r) == 3 && hit_is(&r, 0, 11, 1.0) && hit_is(&r, 1, 13, d13_red / sqrt(2.0)) &&
             hit_is(&r, 2, 12, d12_chair / sqrt(2.0)),
         "red chair: 11 1.0, 13 %.6f, 12 %.6f", d13_red / sqrt(2.0), d12_chair / sqrt(2.0));
    T_OK(r.terms_scored == 2 && r.corpus_docs == 4 && r.vocab == 5, "terms scored, corpus, vocab");
    /* "red ch": completions chair (qt A, n = A sqrt 2) and cherry (qt B, n = nAB);
     * score = max(base / n_min, (base + qt w) / n_t), n_min = A sqrt 2 */
    T_OK(run(s, "red ch", 10, &r) == 4 && hit_is(&r, 0, 11, 1.0) && hit_is(&r, 1, 14, B * d14_cherry / nAB) &&
             hit_is(&r, 2, 13, A * d13_red / (A * sqrt(2.0))) && hit_is(&r, 3, 12, A * d12_chair / (A * sqrt(2.0))),
         "red ch: 11 1.0, 14 %.6f, 13 %.6f, 12 %.6f", B * d14_cherry / nAB, d13_red / sqrt(2.0),
         d12_chair / sqrt(2.0));
    T_OK(r.terms_scored == 3, "red + 2 completions scored");
    /* "ch" alone: the cosine with one completion is the doc's weight of it */
    T_OK(run(s, "ch", 10, &r) == 3 && hit_is(&r, 0, 14, d14_cherry) && hit_is(&r, 1, 11, d11) &&
             hit_is(&r, 2, 12, d12_chair),
         "ch: 14 %.6f, 11, 12", d14_cherry);
    /* "chair ch": chair as a completion counts twice: qt = L2 A, n = L2 A;
     * cherry: qt = B, n = nAB; n_min = nAB */
    double base12 = A * d12_chair;
    T_OK(run(s, "chair ch", 10, &r) == 3 && hit_is(&r, 0, 11, d11) &&
             hit_is(&r, 1, 12, fmax(base12 / nAB, (base12 - A * d12_chair + L2 * A * d12_chair) / (L2 * A))) &&
             hit_is(&r, 2, 14, B * d14_cherry / nAB),
         "chair ch: the completion equal to a full term counts twice");
    /* the exact scorer against the same formula, doc by doc */
    gw__search_query_t q;
    uint8_t slot[8] = {0};
    gw__search_build_query(s, "red ch", 6, &q);
    for (size_t i = 0; i < q.n; i++)
        slot[q.t[i].id] = (uint8_t)(i + 1);
    T_OK(q.n == 3 && q.n_comp == 2 && fabs(q.n_min - A * sqrt(2.0)) < EPS && fabs(q.norm_full - A) < EPS,
         "the query vector of red ch");
    T_OK(fabs(gw__search_exact(s, &q, slot, 2) - d13_red / sqrt(2.0)) < EPS, "exact(13)");
    gw_search_result_free(&r);
    gw_search_free(s);
}

/* ---- prefixes ---- */

static void test_prefix(void)
{
    gw_search_t *s = corpus_a();
    gw_search_result_t r;
    gw_search_result_init(&r);
    T_OK(run(s, "chairs", 10, &r) == 2 && r.hits[0].sku_id == 11 && r.hits[1].sku_id == 12,
         "a typed plural finds the stem's completions");
    T_OK(run(s, "cherries", 10, &r) == 1 && r.hits[0].sku_id == 14, "-ies prefix -> -y stem");
    T_OK(run(s, "cha", 10, &r) == 2 && run(s, "cher", 10, &r) == 1 && run(s, "chx", 10, &r) == 0,
         "the prefix narrows");
    const double L2 = 1 + log(2.0), L3 = 1 + log(3.0);
    T_OK(run(s, "red chx", 10, &r) == 2 && hit_is(&r, 0, 13, L3 / sqrt(L3 * L3 + L2 * L2)) &&
             hit_is(&r, 1, 11, 1 / sqrt(2.0)),
         "a prefix with no completion is ignored: red");
    T_OK(run(s, "table ", 10, &r) == 2 && run(s, "tab", 10, &r) == 2 && run(s, "table", 10, &r) == 2,
         "complete word, prefix, word being typed");
    size_t lo, hi;
    gw__search_prefix_range(s, "c", 1, &lo, &hi);
    T_OK(hi - lo == 2, "two terms start with c");
    gw__search_prefix_range(s, "zzz", 3, &lo, &hi);
    T_OK(hi == lo && lo == 5, "none start with zzz");
    gw_search_result_free(&r);
    gw_search_free(s);

    /* the cap: 60 terms zq00..zq59, term i in i + 1 docs; the rarest get the
     * smallest sku_ids, so they would win the ties if they were not cut */
    gw_search_builder_t *b = NULL;
    char title[16];
    int64_t sku = 1;
    T_OK(gw_search_builder_new(0, &b) == GW_OK, "builder");
    for (int i = 0; i < 60; i++)
        for (int j = 0; j <= i; j++) {
            snprintf(title, sizeof title, "zq%02d", i);
            add_doc(b, sku++, title, NULL);
        }
    s = finish(b);
    gw_search_result_init(&r);
    T_OK(run(s, "zq", 100, &r) == 100 && r.terms_scored == GW_SEARCH_EXPAND_MAX, "50 completions scored: %zu",
         r.terms_scored);
    int cut = 1, ascending = 1;
    for (size_t i = 0; i < r.n_hits; i++) {
        const char *t = r.hits[i].title;
        int term = (t[2] - '0') * 10 + (t[3] - '0');
        cut = cut && term >= 10 && fabs(r.hits[i].score - 1.0) < EPS;
        ascending = ascending && (i == 0 || r.hits[i - 1].sku_id < r.hits[i].sku_id);
    }
    T_OK(cut && ascending && r.hits[0].sku_id == 56,
         "only the 50 most frequent completions; ties by sku_id (first %lld)",
         (long long)r.hits[0].sku_id);
    T_OK(run(s, "zq05", 10, &r) == 6 && r.terms_scored == 1, "a rare term is found when typed out");
    gw_search_result_free(&r);
    gw_search_free(s);
}

/* ---- accents, plurals, empty queries, k ---- */

static void test_matching(void)
{
    gw_search_builder_t *b = NULL;
    gw_search_result_t r;
    T_OK(gw_search_builder_new(4, &b) == GW_OK, "builder");
    add_doc(b, 1, "Café Crème Mug", NULL);
    add_doc(b, 2, "Glass Boxes", NULL);
    add_doc(b, 3, "AA Batteries", NULL);
    add_doc(b, 4, NULL, "Écru"); /* no title */
    gw_search_t *s = finish(b);
    gw_search_result_init(&r);
    T_OK(run(s, "cafe creme ", 10, &r) == 1 && r.hits[0].sku_id == 1 && fabs(r.hits[0].score - 2 / sqrt(6.0)) < EPS,
         "ASCII query, accented doc");
    T_OK(run(s, "CAFÉ", 10, &r) == 1 && r.hits[0].sku_id == 1, "accented, upper-case prefix");
    T_OK(run(s, "box ", 10, &r) == 1 && r.hits[0].sku_id == 2 && run(s, "glasses ", 10, &r) == 1,
         "plurals meet singulars");
    T_OK(run(s, "battery", 10, &r) == 1 && r.hits[0].sku_id == 3, "battery finds batteries");
    T_OK(run(s, "ecru ", 10, &r) == 1 && r.hits[0].sku_id == 4 && r.hits[0].title_len == 0, "a doc with no title");
    static const char *empty[] = {"", "   ", "\t\n", "the of and ", "?!", "a "};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++)
        T_OK(run(s, empty[i], 10, &r) == 0 && r.terms_scored == 0, "'%s': no hits, not an error", empty[i]);
    T_OK(gw_search_query(s, NULL, 0, 10, &r) == GW_OK && r.n_hits == 0 && strcmp(r.query, "") == 0, "NULL query");
    gw_search_result_free(&r);
    gw_search_free(s);

    T_OK(gw_search_builder_new(0, &b) == GW_OK, "builder");
    for (int i = 0; i < 150; i++)
        add_doc(b, 1000 - i, "Widget", NULL);
    s = finish(b);
    gw_search_result_init(&r);
    T_OK(run(s, "widget ", 0, &r) == GW_SEARCH_K_DEFAULT, "k 0 -> 10");
    T_OK(run(s, "widget ", 7, &r) == 7, "k 7");
    T_OK(run(s, "widg", 1000, &r) == GW_SEARCH_K_MAX, "k 1000 -> 100");
    T_OK(r.hits[0].sku_id == 851 && r.hits[99].sku_id == 950, "equal scores: the smallest sku_ids, ascending");
    char big[GW_SEARCH_QUERY_MAX + 2];
    memset(big, 'w', sizeof big);
    T_OK(gw_search_query(s, big, GW_SEARCH_QUERY_MAX + 1, 10, &r) == GW_ETOOBIG && r.n_hits == 0, "too long");
    T_OK(gw_search_query(s, big, GW_SEARCH_QUERY_MAX, 10, &r) == GW_OK, "the longest allowed");
    gw_search_result_free(&r);
    gw_search_free(s);

    T_OK(gw_search_builder_new(0, &b) == GW_OK, "builder");
    s = finish(b);
    gw_search_result_init(&r);
    T_OK(run(s, "anything", 10, &r) == 0 && r.corpus_docs == 0 && r.vocab == 0, "an empty index");
    gw_search_result_free(&r);
    gw_search_free(s);
}

/* ---- ordering and ties ---- */

static void test_ties(void)
{
    gw_search_builder_t *b = NULL;
    gw_search_result_t r;
    T_OK(gw_search_builder_new(0, &b) == GW_OK, "builder");
    add_doc(b, 20, "Green Lamp", NULL); /* out of sku order on purpose */
    add_doc(b, 30, "Green Lamp", NULL);
    add_doc(b, 5, "Green Lamp Shade", NULL);
    add_doc(b, 10, "Green Lamp", NULL);
    gw_search_t *s = finish(b);
    T_OK(!s->sku_sorted, "docs not in sku order");
    gw_search_result_init(&r);
    static const char *qs[] = {"lamp ", "lam", "green lam", "green lamp "};
    for (size_t i = 0; i < 4; i++) {
        int n = run(s, qs[i], 10, &r);
        T_OK(n == 4 && r.hits[0].sku_id == 10 && r.hits[1].sku_id == 20 && r.hits[2].sku_id == 30 &&
                 r.hits[3].sku_id == 5 && r.hits[0].score == r.hits[1].score && r.hits[1].score == r.hits[2].score &&
                 r.hits[2].score > r.hits[3].score,
             "'%s': equal docs tie exactly, smaller sku first; the longer doc after", qs[i]);
        T_OK(run(s, qs[i], 2, &r) == 2 && r.hits[0].sku_id == 10 && r.hits[1].sku_id == 20, "'%s' k 2", qs[i]);
        T_OK(run(s, qs[i], 1, &r) == 1 && r.hits[0].sku_id == 10, "'%s' k 1: a later smaller sku wins the tie", qs[i]);
    }
    gw_search_result_free(&r);
    gw_search_free(s);

    /* in sku order: a run of equal weights stops at the first loser */
    T_OK(gw_search_builder_new(0, &b) == GW_OK, "builder");
    for (int i = 0; i < 500; i++)
        add_doc(b, 100 + i, i % 7 == 3 ? "Green Lamp Base" : "Green Lamp", NULL);
    s = finish(b);
    T_OK(s->sku_sorted, "docs in sku order");
    gw_search_result_init(&r);
    int ok = run(s, "lam", 10, &r) == 10;
    for (int i = 0, doc = 0; ok && i < 10; i++, doc++) {
        doc += doc % 7 == 3; /* the longer docs score less */
        ok = r.hits[i].sku_id == 100 + doc;
    }
    T_OK(ok, "sorted: the 10 smallest skus of the best docs");
    gw_search_result_free(&r);
    gw_search_free(s);
}

/* ---- JSON ---- */

static void test_json(void)
{
    gw_search_t *s = corpus_a();
    gw_search_result_t r;
    gw_buf_t b;
    char want[512];
    gw_search_result_init(&r);
    gw_buf_init(&b, 1 << 16);
    T_OK(run(s, "red chair ", 2, &r) == 2, "two hits");
    r.took_ms = 1.25; /* measured: made fixed for the comparison */
    T_OK(gw_search_result_to_json(&r, &b) == GW_OK, "to_json");
    const double L2 = 1 + log(2.0), L3 = 1 + log(3.0);
    snprintf(want, sizeof want,
             "{\"query\":\"red chair \",\"took_ms\":1.250,\"corpus_docs\":4,\"vocab\":5,\"results\":["
             "{\"sku_id\":11,\"title\":\"Red Chair\",\"score\":1.000000},"
             "{\"sku_id\":13,\"title\":\"Red Table\",\"score\":%.6f}]}",
             L3 / sqrt(L3 * L3 + L2 * L2) / sqrt(2.0));
    T_STREQ(b.ptr, want, "the system.md 2 shape: %s", b.ptr);
    gw_buf_reset(&b);
    T_OK(gw_search_query(s, "\"q\\\xff", 4, 10, &r) == GW_OK && gw_search_result_to_json(&r, &b) == GW_OK, "odd query");
    T_OK(strncmp(b.ptr, "{\"query\":\"\\\"q\\\\\xef\xbf\xbd\",\"took_ms\":", 27) == 0 &&
             strstr(b.ptr, ",\"results\":[]}") != NULL,
         "the query echo is escaped and valid UTF-8: %s", b.ptr);
    gw_buf_free(&b);
    gw_search_result_free(&r);
    gw_search_free(s);
}

/* ---- a generated catalog ---- */

static gw_taxonomy_t *tax;
static gw_search_t *cat_index;
static int cat_of[CAT_SKUS]; /* category_id of SKU index i */

static int setup_catalog(void)
{
    char err[512];
    gw_catalog_opts_t o = {0};
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_search-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(catalog, sizeof catalog, "%s/catalog.duckdb", tmpdir);
    o.skus = CAT_SKUS;
    o.seed = CAT_SEED;
    o.out = catalog;
    o.threads = 2;
    o.shard_count = 1;
    if (gw_catalog_generate(&o, NULL, err, sizeof err) != GW_OK) {
        fprintf(stderr, "generate: %s\n", err);
        return -1;
    }
    if ((tax = gw_taxonomy_load(NULL, err, sizeof err)) == NULL) {
        fprintf(stderr, "taxonomy: %s\n", err);
        return -1;
    }
    gw_catgen_t *g = NULL;
    if (gw_catgen_new(tax, CAT_SEED, &g, err, sizeof err) != GW_OK)
        return -1;
    for (int i = 0; i < CAT_SKUS; i++) {
        gw_cat_sku_t sk;
        gw_catgen_sku(g, (uint64_t)i, &sk);
        cat_of[i] = sk.category_id;
    }
    gw_catgen_free(g);
    return 0;
}

static gw_search_t *build_from_catalog(const gw_taxonomy_t *t)
{
    char err[512];
    gw_duckdb_opts_t o = {0};
    gw_engine_t *e = NULL;
    gw_search_t *s = NULL;
    gw_search_opts_t so = {t, 0};
    o.path = catalog;
    o.threads = 2;
    if (gw_engine_duckdb_open(&o, &e, err, sizeof err) != GW_OK) {
        fprintf(stderr, "open: %s\n", err);
        return NULL;
    }
    if (gw_search_build(e, &so, &s, err, sizeof err) != GW_OK)
        fprintf(stderr, "build: %s\n", err);
    gw_engine_close(e);
    return s;
}

static int leaf_count(int id)
{
    int n = 0;
    for (int i = 0; i < CAT_SKUS; i++)
        n += cat_of[i] == id;
    return n;
}

/* How many of the first min(10, SKUs of the leaf) hits are in the leaf,
 * and that minimum. */
static int leaf_hits(const gw_search_t *s, const gw_tax_node_t *leaf, const char *q, int *want)
{
    gw_search_result_t r;
    int good = 0, n = leaf_count(leaf->id);
    *want = n < 10 ? n : 10;
    gw_search_result_init(&r);
    run(s, q, 10, &r);
    for (int i = 0; i < *want && i < (int)r.n_hits; i++)
        good += cat_of[r.hits[i].sku_id - GW_CATALOG_SKU_ID_BASE] == leaf->id;
    gw_search_result_free(&r);
    return good;
}

static void test_catalog_synonyms(void)
{
    static const char *cases[][2] = {
        {"Ergonomic Office Chairs", "task chair "}, {"Ergonomic Office Chairs", "ergonomic ch"},
        {"Tents", "backpacking tent "},            {"Cordless Drills", "drill driver "},
        {"Running Shoes", "jogging shoes "},       {"Air Purifiers", "air cleaner "},
        {"Dog Food", "kibble "},                   {"Printer Paper", "copy paper "},
        {"Yoga Mats", "exercise mat "},            {"Standing Desks", "sit stand d"},
        {"Blenders", "blender "},                  {"Headphones", "headph"},
    };
    gw_search_stats_t st;
    gw_search_get_stats(cat_index, &st);
    T_OK(st.docs == CAT_SKUS && st.vocab > 1000 && st.postings > 10 * (size_t)CAT_SKUS, "20k docs, %zu terms",
         st.vocab);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const gw_tax_node_t *leaf = gw_taxonomy_find(tax, cases[i][0]);
        int want = 0, got = leaf != NULL ? leaf_hits(cat_index, leaf, cases[i][1], &want) : -1;
        T_OK(leaf != NULL && want > 0 && got == want, "'%s' -> %s first: %d of %d", cases[i][1], cases[i][0], got,
             want);
    }
    /* every leaf with 10+ SKUs, by its first synonym: precision at 10 */
    int leaves = 0, good_total = 0;
    for (size_t i = 0; i < tax->n_leaves; i++) {
        const gw_tax_node_t *leaf = &tax->nodes[tax->leaves[i]];
        char q[256];
        int want;
        if (leaf->n_synonyms == 0 || leaf_count(leaf->id) < 10)
            continue;
        snprintf(q, sizeof q, "%s ", leaf->synonyms[0]);
        good_total += leaf_hits(cat_index, leaf, q, &want);
        leaves++;
    }
    double p10 = leaves ? (double)good_total / (10.0 * leaves) : 0;
    printf("test_search: first-synonym precision@10 over %d leaves: %.3f\n", leaves, p10);
    T_OK(leaves > 400 && p10 >= 0.95, "first-synonym precision@10 %.3f over %d leaves", p10, leaves);
}

/* A query made of catalog words: 1-4 words of a title and its leaf name,
 * the last cut to a prefix, or a space after it, or a one-letter prefix. */
static void random_query(unsigned *seed, char *q, size_t cap)
{
    static const char *extra[] = {"c", "b", "black c", "s", "the", "12", "red ", "chair chair ch", "zz", "é"};
    if (rand_r(seed) % 8 == 0) {
        snprintf(q, cap, "%s", extra[rand_r(seed) % (sizeof extra / sizeof extra[0])]);
        return;
    }
    uint32_t d = (uint32_t)(rand_r(seed) % CAT_SKUS);
    const gw_search_t *s = cat_index;
    char text[256];
    const gw_tax_node_t *leaf = gw_taxonomy_node(tax, cat_of[d]);
    snprintf(text, sizeof text, "%.*s %s", (int)(s->title_off[d + 1] - s->title_off[d]), s->titles + s->title_off[d],
             leaf != NULL ? leaf->name : "");
    char *words[32];
    int n = 0;
    for (char *p = text; *p != '\0' && n < 32;) {
        while (*p == ' ')
            *p++ = '\0';
        if (*p != '\0')
            words[n++] = p;
        while (*p != '\0' && *p != ' ')
            p++;
    }
    int from = n > 0 ? rand_r(seed) % n : 0, len = 1 + rand_r(seed) % 4;
    q[0] = '\0';
    for (int i = from; i < n && i < from + len; i++)
        snprintf(q + strlen(q), cap - strlen(q), "%s%s", i > from ? " " : "", words[i]);
    int mode = rand_r(seed) % 3;
    size_t ql = strlen(q);
    char *last = strrchr(q, ' ');
    size_t lastlen = last != NULL ? strlen(last + 1) : ql;
    if (mode == 0 && lastlen > 1)
        q[ql - (size_t)(rand_r(seed) % (int)(lastlen - 1))] = '\0';
    else if (mode == 1 && ql + 1 < cap)
        snprintf(q + ql, cap - ql, " ");
}

static int cmp_hit(const void *a, const void *b)
{
    const gw__search_hitc_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->sku > y->sku) - (x->sku < y->sku);
}

/* The top k by scoring every document. */
static size_t exhaustive(const gw_search_t *s, const char *text, size_t k, gw__search_hitc_t *all, uint8_t *slot)
{
    gw__search_query_t q;
    size_t n = 0;
    gw__search_build_query(s, text, strlen(text), &q);
    for (size_t i = 0; i < q.n; i++)
        slot[q.t[i].id] = (uint8_t)(i + 1);
    for (uint32_t d = 0; q.n > 0 && d < s->n_docs; d++) {
        double v = gw__search_exact(s, &q, slot, d);
        if (v > 0)
            all[n++] = (gw__search_hitc_t){v, s->sku[d], d};
    }
    for (size_t i = 0; i < q.n; i++)
        slot[q.t[i].id] = 0;
    qsort(all, n, sizeof *all, cmp_hit);
    return n < k ? n : k;
}

static void test_pruning(void)
{
    const gw_search_t *s = cat_index;
    gw__search_hitc_t *all = gw_malloc(s->n_docs * sizeof *all);
    uint8_t *slot = gw_calloc(s->n_terms, 1);
    gw_search_result_t r;
    unsigned seed = 12345;
    int bad = 0, total = 0, nonempty = 0;
    char q[300];
    gw_search_result_init(&r);
    for (int i = 0; all != NULL && slot != NULL && i < 600; i++) {
        static const size_t ks[] = {1, 10, 100};
        size_t k = ks[i % 3];
        random_query(&seed, q, sizeof q);
        size_t want = exhaustive(s, q, k, all, slot);
        int ok = run(s, q, k, &r) == (int)want;
        for (size_t j = 0; ok && j < want; j++)
            ok = r.hits[j].sku_id == all[j].sku && r.hits[j].score == all[j].score;
        if (!ok && bad++ < 5)
            fprintf(stderr, "pruned top %zu of '%s' differs from the exhaustive one\n", k, q);
        total++;
        nonempty += want > 0;
    }
    T_OK(bad == 0 && nonempty > total / 2, "the pruned top k is the exhaustive top k: %d of %d differ (%d with hits)",
         bad, total, nonempty);
    gw_search_result_free(&r);
    gw_free(all);
    gw_free(slot);
}

/* ---- threads ---- */

#define THREAD_QUERIES 120

typedef struct answer {
    char q[300];
    int64_t sku[10];
    size_t n;
} answer_t;

static answer_t answers[THREAD_QUERIES];

typedef struct worker {
    int fresh; /* a new result per call (the pool path) */
    int bad;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    gw_search_result_t r;
    gw_search_result_init(&r);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < THREAD_QUERIES; i++) {
            const answer_t *a = &answers[(i * 7 + round) % THREAD_QUERIES];
            if (w->fresh)
                gw_search_result_init(&r);
            int ok = run(cat_index, a->q, 10, &r) == (int)a->n;
            for (size_t j = 0; ok && j < a->n; j++)
                ok = r.hits[j].sku_id == a->sku[j];
            w->bad += !ok;
            if (w->fresh)
                gw_search_result_free(&r);
        }
    gw_search_result_free(&r);
    return NULL;
}

static void test_threads(void)
{
    gw_search_result_t r;
    unsigned seed = 99;
    gw_search_result_init(&r);
    for (int i = 0; i < THREAD_QUERIES; i++) {
        random_query(&seed, answers[i].q, sizeof answers[i].q);
        answers[i].n = (size_t)run(cat_index, answers[i].q, 10, &r);
        for (size_t j = 0; j < answers[i].n; j++)
            answers[i].sku[j] = r.hits[j].sku_id;
    }
    gw_search_result_free(&r);
    pthread_t th[4];
    worker_t w[4] = {{0, 0}, {1, 0}, {0, 0}, {1, 0}};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    T_OK(w[0].bad + w[1].bad + w[2].bad + w[3].bad == 0, "4 threads, one index: same answers (%d %d %d %d differ)",
         w[0].bad, w[1].bad, w[2].bad, w[3].bad);
}

/* ---- allocation failures ---- */

static void test_alloc_failures(void)
{
    int built = 0, failed = 0;
    for (long n = 0; n < 400 && !built; n++) {
        gw_search_builder_t *b = NULL;
        gw_search_t *s = NULL;
        gw_err_t rc;
        gw_alloc_fail_after(n);
        rc = gw_search_builder_new(2, &b);
        for (int i = 0; rc == GW_OK && i < 40; i++) {
            gw_search_doc_t d = {0};
            char title[32];
            snprintf(title, sizeof title, "Thing %d Chair%s", i, i % 2 ? "s" : "");
            d.sku_id = i;
            d.title = title;
            d.title_len = strlen(title);
            d.brand = "Acme";
            d.brand_len = 4;
            rc = gw_search_builder_add(b, &d);
        }
        if (rc == GW_OK) {
            rc = gw_search_builder_finish(b, &s);
            b = NULL;
        }
        gw_alloc_fail_after(-1);
        gw_search_builder_free(b);
        if (rc == GW_OK) {
            gw_search_result_t r;
            gw_search_result_init(&r);
            for (long m = 0; m < 20; m++) {
                gw_search_result_t r2;
                gw_search_result_init(&r2);
                gw_alloc_fail_after(m);
                gw_err_t qrc = gw_search_query(s, "thing ch", 8, 10, &r2);
                gw_alloc_fail_after(-1);
                failed += qrc == GW_ENOMEM;
                T_OK(qrc == GW_OK || qrc == GW_ENOMEM, "query under failure %ld: %s", m, gw_strerror(qrc));
                gw_search_result_free(&r2);
            }
            T_OK(run(s, "thing ch", 10, &r) == 10, "after the failures, the index answers");
            gw_search_result_free(&r);
            built = 1;
        } else {
            T_OK(rc == GW_ENOMEM && s == NULL, "build under failure %ld: %s", n, gw_strerror(rc));
        }
        gw_search_free(s);
    }
    T_OK(built && failed > 0, "built once the allocations stopped failing; queries failed cleanly");
}

/* ---- llmgw search ---- */

static int capture(int argc, char **argv, char *out, size_t outcap)
{
    char path[160];
    snprintf(path, sizeof path, "%s/capture.txt", tmpdir);
    fflush(stdout);
    fflush(stderr);
    int saved1 = dup(1), saved2 = dup(2);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int code = gw_search_cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved1, 1);
    dup2(saved2, 2);
    close(saved1);
    close(saved2);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(out, 1, outcap - 1, f) : 0;
    out[n] = '\0';
    if (f != NULL)
        fclose(f);
    return code;
}

static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_cli(void)
{
    static char out[1 << 16];
    char *json[] = {"search", "--json", "--db", catalog, "--k", "3", "task chair ", NULL};
    T_OK(capture(7, json, out, sizeof out) == 0, "exit 0: %s", out);
    T_OK(strncmp(out, "{\"query\":\"task chair \",\"took_ms\":", 33) == 0 &&
             strstr(out, ",\"corpus_docs\":20000,\"vocab\":") != NULL && count_of(out, "{\"sku_id\":") == 3 &&
             strstr(out, "]}\n") != NULL,
         "one JSON object, 3 results: %s", out);
    char *human[] = {"search", "--db", catalog, "--explain", "ergonomic ch", NULL};
    T_OK(capture(5, human, out, sizeof out) == 0 && strstr(out, "query terms: ergonomic ch*") != NULL &&
             strstr(out, "10 results for \"ergonomic ch\" in ") != NULL && strstr(out, " 10. ") != NULL,
         "readable list: %s", out);
    char qfile[160];
    snprintf(qfile, sizeof qfile, "%s/queries.txt", tmpdir);
    FILE *f = fopen(qfile, "w");
    if (f != NULL) {
        fputs("coffee mak\n\nyoga mat\r\n", f);
        fclose(f);
    }
    char *many[] = {"search", "--json", "--db", catalog, "--queries", qfile, "--repeat", "3", "--stats", NULL};
    T_OK(capture(9, many, out, sizeof out) == 0 && count_of(out, "{\"query\":") == 3 &&
             strstr(out, "{\"query\":\"\",") != NULL && strstr(out, "{\"query\":\"yoga mat\",") != NULL &&
             strstr(out, "search-stats: docs=20000 ") != NULL &&
             strstr(out, "search-latency: queries=3 runs=9 p50_ms=") != NULL,
         "--queries, --repeat, --stats: %s", out);
    char *nosyn[] = {"search", "--json", "--db", catalog, "--no-synonyms", "kibble ", NULL};
    T_OK(capture(6, nosyn, out, sizeof out) == 0 && strstr(out, "\"results\":[]}") != NULL,
         "without synonyms kibble is not a catalog word: %s", out);
    char *missing[] = {"search", "--json", "--db", "/nonexistent/x.duckdb", "chair", NULL};
    T_OK(capture(5, missing, out, sizeof out) == 1 && strstr(out, "{\"error\":{\"message\":\"") != NULL &&
             strstr(out, "\"code\":\"catalog_not_found\"}}") != NULL,
         "missing catalog: %s", out);
    char *help[] = {"search", "--help", NULL};
    T_OK(capture(2, help, out, sizeof out) == 0 && strncmp(out, "usage: llmgw search", 19) == 0, "--help: %s", out);
    char *usage1[] = {"search", "--db", catalog, NULL};
    char *usage2[] = {"search", "--k", "0", "chair", NULL};
    char *usage3[] = {"search", "--k", "101", "chair", NULL};
    char *usage4[] = {"search", "a", "b", NULL};
    char *usage5[] = {"search", "--frobnicate", "chair", NULL};
    T_OK(capture(3, usage1, out, sizeof out) == 2 && strstr(out, "usage") != NULL, "no query: usage");
    T_OK(capture(4, usage2, out, sizeof out) == 2 && capture(4, usage3, out, sizeof out) == 2, "--k out of 1..100");
    T_OK(capture(3, usage4, out, sizeof out) == 2 && capture(3, usage5, out, sizeof out) == 2,
         "extra text, bad option");
}

int main(void)
{
    test_text();
    test_exact_numbers();
    test_prefix();
    test_matching();
    test_ties();
    test_json();
    test_alloc_failures();
    if (setup_catalog() != 0 || (cat_index = build_from_catalog(tax)) == NULL) {
        fprintf(stderr, "catalog setup failed\n");
        return 1;
    }
    test_catalog_synonyms();
    test_pruning();
    test_threads();
    test_cli();
    gw_search_free(cat_index);
    gw_taxonomy_free(tax);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return t_done("test_search");
}

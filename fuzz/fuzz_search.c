/* fuzz_search.c - libFuzzer target for the search query path (search.h):
 * the normaliser (gw_search_analyze), query parsing and prefix expansion,
 * the pruned top k and the JSON of the result, on a small fixed index.
 *
 * The first input byte picks k (0..255: 0 is the default, > 100 clamps);
 * the rest is the query. We abort when the normalised text has a byte other
 * than [a-z0-9 *] or a token past GW_SEARCH_TOKEN_MAX, when the top k is
 * not the exhaustive top k of the exact scorer, when a score leaves (0, 1],
 * or when the JSON does not parse back with the same hits.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"
#include "search_int.h"

static const char *const titles[] = {
    "Ergonomic Office Chair",  "Ergonomic Desk Chairs", "Mesh Task Chair",  "Standing Desk 48\"",
    "Café Crème Mug",          "Glass Boxes",           "AA Batteries 24-Pack", "Cherry Wood Table",
    "Red Chair",               "Blue Chairs",           "Straße Map",        "Cordless Drill 20V",
    "Drill Driver Kit",        "Running Shoes",         "Trail Running Shoe", "Yoga Mat",
    "Exercise Mat",            "Dog Food",              "Puppy Food",         "Printer Paper 8.5 x 11",
    "Copy Paper",              "USB-C Hub",             "4K Monitor 27\"",    "Monitor Arm",
    "Chair Mat",               "Chair Chair Chair",     "Lamp",               "Lamp",
};

static gw_search_t *idx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    gw_search_builder_t *b = NULL;
    if (gw_search_builder_new(0, &b) != GW_OK)
        abort();
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++) {
        gw_search_doc_t d = {0};
        d.sku_id = (int64_t)(1000 - i * 7 % 31); /* not in doc order, some equal docs */
        d.title = titles[i];
        d.title_len = strlen(titles[i]);
        d.color = i % 3 ? "Black" : "Écru";
        d.color_len = strlen(d.color);
        if (gw_search_builder_add(b, &d) != GW_OK)
            abort();
    }
    if (gw_search_builder_finish(b, &idx) != GW_OK)
        abort();
    return 0;
}

static void check_analyze(const uint8_t *q, size_t n)
{
    gw_buf_t b;
    size_t tok = 0;
    gw_buf_init(&b, 1u << 16);
    if (gw_search_analyze((const char *)q, n, &b) != GW_OK)
        abort();
    for (size_t i = 0; i < b.len; i++) {
        char c = b.ptr[i];
        if (c == ' ') {
            if (tok == 0)
                abort(); /* an empty token */
            tok = 0;
        } else if (c == '*') {
            if (i + 1 != b.len || tok == 0)
                abort(); /* '*' only ends the last token */
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (++tok > GW_SEARCH_TOKEN_MAX)
                abort();
        } else {
            abort();
        }
    }
    gw_buf_free(&b);
}

static int cmp_hit(const void *a, const void *b)
{
    const gw__search_hitc_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->sku > y->sku) - (x->sku < y->sku);
}

/* The top k by scoring every document, as the query sees it. */
static size_t exhaustive(const char *q, size_t n, size_t k, gw__search_hitc_t *all)
{
    gw__search_query_t qv;
    uint8_t slot[1024] = {0};
    size_t m = 0;
    if (idx->n_terms > sizeof slot)
        abort();
    gw__search_build_query(idx, q, n, &qv);
    for (size_t i = 0; i < qv.n; i++)
        slot[qv.t[i].id] = (uint8_t)(i + 1);
    for (uint32_t d = 0; qv.n > 0 && d < idx->n_docs; d++) {
        double v = gw__search_exact(idx, &qv, slot, d);
        if (v > 0)
            all[m++] = (gw__search_hitc_t){v, idx->sku[d], d};
    }
    qsort(all, m, sizeof *all, cmp_hit);
    return m < k ? m : k;
}

static void check_json(const gw_search_result_t *r)
{
    gw_buf_t b;
    json_error_t e;
    gw_buf_init(&b, 1u << 20);
    if (gw_search_result_to_json(r, &b) != GW_OK)
        abort();
    json_t *j = json_loadb(b.ptr, b.len, JSON_ALLOW_NUL, &e);
    json_t *res = j != NULL ? json_object_get(j, "results") : NULL;
    if (res == NULL || json_array_size(res) != r->n_hits || json_object_size(j) != 5)
        abort();
    for (size_t i = 0; i < r->n_hits; i++)
        if (json_integer_value(json_object_get(json_array_get(res, i), "sku_id")) != r->hits[i].sku_id)
            abort();
    json_decref(j);
    gw_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gw__search_hitc_t all[sizeof titles / sizeof titles[0]];
    gw_search_result_t r;
    if (size == 0)
        return 0;
    size_t k = data[0], n = size - 1, kk = k == 0 ? GW_SEARCH_K_DEFAULT : k > GW_SEARCH_K_MAX ? GW_SEARCH_K_MAX : k;
    const char *q = (const char *)data + 1;
    check_analyze(data + 1, n);
    gw_search_result_init(&r);
    gw_err_t rc = gw_search_query(idx, q, n, k, &r);
    if (n > GW_SEARCH_QUERY_MAX) {
        if (rc != GW_ETOOBIG)
            abort();
        gw_search_result_free(&r);
        return 0;
    }
    if (rc != GW_OK || r.n_hits > kk)
        abort();
    size_t want = exhaustive(r.query, r.query_len, kk, all);
    if (want != r.n_hits)
        abort();
    for (size_t i = 0; i < want; i++)
        if (r.hits[i].sku_id != all[i].sku || r.hits[i].score != all[i].score || !(r.hits[i].score > 0) ||
            r.hits[i].score > 1 + 1e-9)
            abort();
    check_json(&r);
    gw_search_result_free(&r);
    return 0;
}

/* test_catalog_gen.c - the catalog generator: rows as pure functions of
 * (seed, index), distributions, determinism across thread counts, shards
 * whose union is the whole, DuckDB/Parquet/CSV output, `llmgw catalog`.
 *
 * Uses the tiny taxonomy in tests/data/taxonomy-mini, plus data/ when the
 * project's real taxonomy files are present.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_cli.h"
#include "catalog_gen.h"
#include "duckdb_dl.h"
#include "engine.h"
#include "test.h"

#define FIXTURE GW_SOURCE_DIR "/tests/data/taxonomy-mini"
#define REAL_DATA GW_SOURCE_DIR "/data"

static char tmpdir[64];

static const char *path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
    return buf;
}

/* ---- helpers: generate, open, one value ---- */

static gw_err_t generate(const char *out, uint64_t n, uint64_t seed, unsigned threads, uint32_t si, uint32_t sn,
                         gw_catalog_format_t fmt, const char *data_dir, gw_catalog_stats_t *st)
{
    char err[512] = "";
    gw_catalog_opts_t o = {0};
    o.skus = n;
    o.seed = seed;
    o.out = out;
    o.format = fmt;
    o.threads = threads;
    o.shard_index = si;
    o.shard_count = sn;
    o.data_dir = data_dir;
    gw_err_t rc = gw_catalog_generate(&o, st, err, sizeof err);
    if (rc != GW_OK)
        fprintf(stderr, "generate %s: %s\n", out, err);
    return rc;
}

static gw_engine_t *open_ro(const char *path)
{
    char err[512];
    gw_duckdb_opts_t o = {0};
    gw_engine_t *e = NULL;
    o.path = path;
    o.threads = 2;
    if (gw_engine_duckdb_open(&o, &e, err, sizeof err) != GW_OK)
        fprintf(stderr, "open %s: %s\n", path, err);
    return e;
}

/* The first cell of a query as text (strings unquoted); caller frees. */
static char *one(gw_engine_t *e, const char *sql)
{
    gw_result_t *r = NULL;
    gw_query_info_t info;
    gw_query_opts_t o = {1, 60000};
    char *s = NULL;
    if (e == NULL || gw_engine_query_result(e, sql, strlen(sql), &o, &r, &info) != GW_OK) {
        fprintf(stderr, "query failed: %s: %s\n", sql, e ? info.message : "no engine");
        return gw_strdup("<error>");
    }
    if (r->row_count == 0) {
        s = gw_strdup("<no rows>");
    } else if (r->cells[0].kind == GW_CELL_TEXT) {
        s = gw_strndup(r->cells[0].v.text.ptr, r->cells[0].v.text.len);
    } else {
        gw_buf_t b;
        gw_buf_init(&b, 4096);
        gw_cell_to_json(&r->cells[0], &b);
        s = gw_buf_take(&b, NULL);
    }
    gw_result_free(r);
    return s;
}

static long long one_int(gw_engine_t *e, const char *sql)
{
    char *s = one(e, sql);
    long long v = strtoll(s, NULL, 10);
    gw_free(s);
    return v;
}

static double one_double(gw_engine_t *e, const char *sql)
{
    char *s = one(e, sql);
    double v = strtod(s, NULL);
    gw_free(s);
    return v;
}

static const char *const hash_sql[4] = {
    "SELECT md5(string_agg(c::VARCHAR, '|' ORDER BY category_id)) FROM categories c",
    "SELECT md5(string_agg(w::VARCHAR, '|' ORDER BY warehouse_id)) FROM warehouses w",
    "SELECT md5(string_agg(s::VARCHAR, '|' ORDER BY sku_id)) FROM skus s",
    "SELECT md5(string_agg(i::VARCHAR, '|' ORDER BY sku_id, warehouse_id)) FROM inventory i",
};

/* md5 of every table, ordered by its key. */
static void table_hashes(const char *path, char out[4][40])
{
    gw_engine_t *e = open_ro(path);
    for (int t = 0; t < 4; t++) {
        char *s = one(e, hash_sql[t]);
        snprintf(out[t], 40, "%s", s);
        gw_free(s);
    }
    gw_engine_close(e);
}

/* ---- rows as pure functions ---- */

static int in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* Checks one SKU against its leaf; returns the number of failures. */
static int check_sku(const gw_taxonomy_t *t, const gw_cat_sku_t *s, uint64_t i)
{
    const gw_tax_node_t *leaf = gw_taxonomy_node(t, s->category_id);
    size_t bl = strlen(s->brand), tl = s->title_len;
    int bad = 0;
    bad += s->sku_id != GW_CATALOG_SKU_ID_BASE + (int64_t)i;
    bad += leaf == NULL || !leaf->is_leaf;
    if (leaf == NULL)
        return bad + 1;
    bad += s->price_cents < (int64_t)(leaf->price_min * 100 + 0.5) || s->price_cents > (int64_t)(leaf->price_max * 100 + 0.5);
    bad += !in_list(leaf->colors, leaf->n_colors, s->color) || !in_list(leaf->materials, leaf->n_materials, s->material);
    bad += !in_list(t->departments[leaf->department].brands, t->departments[leaf->department].n_brands, s->brand);
    bad += s->launched_on < GW_CATALOG_LAUNCH_FIRST_DAY || s->launched_on > GW_CATALOG_LAUNCH_LAST_DAY;
    bad += strlen(s->title) != tl || tl < bl + 9 || strncmp(s->title, s->brand, bl) != 0 || s->title[bl] != ' ';
    /* " XX-9999" at the end */
    const char *c = s->title + tl - 8;
    bad += tl < 8 || c[0] != ' ' || c[1] < 'A' || c[1] > 'Z' || c[2] < 'A' || c[2] > 'Z' || c[3] != '-' ||
           strspn(c + 4, "0123456789") != 4;
    return bad;
}

static int check_stock(const gw_taxonomy_t *t, const gw_cat_stock_t *k, size_t n)
{
    int bad = n < 1 || n > 4;
    const int64_t epoch = (int64_t)GW_CATALOG_EPOCH_DAY * 86400 * 1000000;
    for (size_t j = 0; j < n; j++) {
        bad += k[j].warehouse_id < 1 || (size_t)k[j].warehouse_id > t->n_warehouses;
        bad += j > 0 && k[j].warehouse_id <= k[j - 1].warehouse_id; /* distinct, sorted */
        bad += k[j].on_hand < 0 || k[j].reserved < 0 || k[j].reserved > k[j].on_hand;
        bad += k[j].reorder_point < 5 || k[j].reorder_point > 50;
        bad += k[j].updated_at >= epoch || k[j].updated_at < epoch - 90LL * 86400 * 1000000;
        bad += k[j].updated_at % 1000000 != 0;
    }
    return bad;
}

typedef struct tally {
    uint64_t skus, inactive, stock_rows, zeros, big, endings, leaf_hits[64], brand_hits[64];
    int bad_sku, bad_stock, bad_repeat;
} tally_t;

static void tally_rows(const gw_catgen_t *g, const gw_taxonomy_t *t, uint64_t first, uint64_t n, tally_t *y)
{
    gw_cat_sku_t s, s2;
    gw_cat_stock_t k[4], k2[4];
    for (uint64_t i = first; i < first + n; i++) {
        gw_catgen_sku(g, i, &s);
        gw_catgen_sku(g, i, &s2);
        size_t m = gw_catgen_stock(g, i, k), m2 = gw_catgen_stock(g, i, k2);
        y->bad_repeat += strcmp(s.title, s2.title) != 0 || s.price_cents != s2.price_cents ||
                         s.is_active != s2.is_active || m != m2 || memcmp(k, k2, m * sizeof k[0]) != 0;
        y->bad_sku += check_sku(t, &s, i);
        y->bad_stock += check_stock(t, k, m);
        y->skus++;
        y->inactive += !s.is_active;
        y->endings += s.price_cents % 100 == 99 || s.price_cents % 100 == 49;
        if (s.category_id >= 1 && s.category_id <= 64)
            y->leaf_hits[s.category_id - 1]++;
        const gw_tax_department_t *d = &t->departments[0];
        for (size_t b = 0; b < d->n_brands && b < 64; b++)
            y->brand_hits[b] += strcmp(d->brands[b], s.brand) == 0;
        for (size_t j = 0; j < m; j++) {
            y->stock_rows++;
            y->zeros += k[j].on_hand == 0;
            y->big += k[j].on_hand >= 200;
        }
    }
}

static int id_of(const gw_taxonomy_t *t, const char *name)
{
    for (size_t i = 0; i < t->n_nodes; i++)
        if (strcmp(t->nodes[i].name, name) == 0)
            return t->nodes[i].id;
    return -1;
}

/* 1 when the first title of the leaf `name` contains part. */
static int title_has(const gw_catgen_t *g, const char *name, const char *part)
{
    int category_id = id_of(gw_catgen_taxonomy(g), name);
    gw_cat_sku_t s;
    for (uint64_t i = 0; i < 20000; i++) {
        gw_catgen_sku(g, i, &s);
        if (s.category_id == category_id)
            return strstr(s.title, part) != NULL;
    }
    return 0;
}

static void test_rows(void)
{
    char err[256];
    gw_taxonomy_t *t = gw_taxonomy_load(FIXTURE, err, sizeof err);
    gw_catgen_t *g = NULL, *g2 = NULL;
    T_OK(t != NULL, "fixture taxonomy loads: %s", err);
    if (t == NULL)
        return;
    T_OK(gw_catgen_new(t, 42, &g, err, sizeof err) == GW_OK, "model: %s", err);
    T_OK(gw_catgen_new(t, 43, &g2, err, sizeof err) == GW_OK, "model 2: %s", err);
    tally_t *y = gw_calloc(1, sizeof *y);
    tally_rows(g, t, 0, 100000, y);
    T_OK(y->bad_repeat == 0, "rows are pure functions of the index (%d differ)", y->bad_repeat);
    T_OK(y->bad_sku == 0, "every sku row is valid for its leaf (%d problems)", y->bad_sku);
    T_OK(y->bad_stock == 0, "every inventory row is valid (%d problems)", y->bad_stock);
    double zeros = (double)y->zeros / (double)y->stock_rows, inactive = (double)y->inactive / (double)y->skus;
    double per_sku = (double)y->stock_rows / (double)y->skus;
    T_OK(zeros > 0.19 && zeros < 0.21, "about 20%% of on_hand are 0: %.4f", zeros);
    T_OK(inactive > 0.07 && inactive < 0.09, "about 8%% inactive: %.4f", inactive);
    T_OK(per_sku > 2.22 && per_sku < 2.28, "2.25 stocked warehouses per sku: %.3f", per_sku);
    T_OK(y->big > y->stock_rows / 50, "a long tail of on_hand >= 200: %llu", (unsigned long long)y->big);
    T_OK(y->endings > y->skus * 97 / 100, ".99/.49 price endings: %llu of %llu", (unsigned long long)y->endings,
         (unsigned long long)y->skus);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t k = 0; k < t->n_leaves; k++) {
        uint64_t h = y->leaf_hits[t->nodes[t->leaves[k]].id - 1];
        lo = h < lo ? h : lo;
        hi = h > hi ? h : hi;
    }
    T_OK(lo > 0 && hi > 4 * lo, "every leaf is used, Zipf-skewed: min %llu max %llu", (unsigned long long)lo,
         (unsigned long long)hi);
    T_OK(y->brand_hits[0] > 3 * y->brand_hits[4] && y->brand_hits[1] > y->brand_hits[3],
         "brands Zipf in file order: %llu %llu %llu %llu %llu", (unsigned long long)y->brand_hits[0],
         (unsigned long long)y->brand_hits[1], (unsigned long long)y->brand_hits[2],
         (unsigned long long)y->brand_hits[3], (unsigned long long)y->brand_hits[4]);
    /* singular leaf names in titles */
    T_OK(title_has(g, "Ergonomic Office Chairs", " Ergonomic Office Chair "), "Ergonomic Office Chairs -> Chair");
    T_OK(title_has(g, "Bookcases", " Bookcase "), "Bookcases -> Bookcase");
    T_OK(title_has(g, "Headphones", " Headphones "), "Headphones stay plural");
    T_OK(title_has(g, "Mattresses", " Mattress "), "Mattresses -> Mattress");
    T_OK(title_has(g, "Coffee Makers", " Coffee Maker "), "Coffee Makers -> Coffee Maker");
    gw_cat_sku_t a, b;
    gw_catgen_sku(g, 5, &a);
    gw_catgen_sku(g2, 5, &b);
    T_OK(strcmp(a.title, b.title) != 0 || a.price_cents != b.price_cents, "another seed, another row");
    gw_free(y);
    gw_catgen_free(g);
    gw_catgen_free(g2);
    gw_taxonomy_free(t);
}

static void test_shard_range(void)
{
    uint64_t a, b, prev = 0, total = 0;
    for (uint32_t i = 0; i < 7; i++) {
        gw_catalog_shard_range(1000003, i, 7, &a, &b);
        T_OK(a == prev && b >= a, "shard %u starts where %u ended", i, i ? i - 1 : 0);
        total += b - a;
        prev = b;
    }
    T_OK(total == 1000003 && prev == 1000003, "shards cover everything once");
    gw_catalog_shard_range((uint64_t)1 << 40, 2, 3, &a, &b);
    T_OK(a == ((uint64_t)1 << 40) * 2 / 3 && b == (uint64_t)1 << 40, "no overflow on big catalogs");
}

/* ---- determinism and shards ---- */

static void test_determinism(void)
{
    char p1[128], p2[128], p3[128];
    char h1[4][40], h2[4][40], h3[4][40];
    gw_catalog_stats_t st;
    path_in(p1, sizeof p1, "t1.duckdb");
    path_in(p2, sizeof p2, "t2.duckdb");
    path_in(p3, sizeof p3, "s8.duckdb");
    T_OK(generate(p1, 20000, 7, 1, 0, 1, GW_CATALOG_DUCKDB, FIXTURE, &st) == GW_OK, "generate, 1 thread");
    T_OK(st.skus == 20000 && st.inventory > 40000 && st.inventory < 50000 && st.categories == 23 &&
             st.warehouses == 9,
         "stats: %llu skus %llu inventory", (unsigned long long)st.skus, (unsigned long long)st.inventory);
    T_OK(generate(p2, 20000, 7, 2, 0, 1, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_OK, "generate, 2 threads");
    T_OK(generate(p3, 20000, 8, 2, 0, 1, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_OK, "generate, seed 8");
    table_hashes(p1, h1);
    table_hashes(p2, h2);
    table_hashes(p3, h3);
    for (int t = 0; t < 4; t++) {
        T_OK(strlen(h1[t]) == 32 && strcmp(h1[t], h2[t]) == 0, "table %d identical at 1 and 2 threads: %s %s", t,
             h1[t], h2[t]);
        if (t < 2)
            T_OK(strcmp(h1[t], h3[t]) == 0, "small table %d doesn't depend on the seed", t);
        else
            T_OK(strcmp(h1[t], h3[t]) != 0, "table %d changes with the seed", t);
    }
    /* regenerate over an existing file: replaced, no temporary left */
    T_OK(generate(p1, 20000, 8, 2, 0, 1, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_OK, "regenerate in place");
    table_hashes(p1, h1);
    T_OK(strcmp(h1[2], h3[2]) == 0, "the target was replaced by the new catalog");
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", p1, (long)getpid());
    T_OK(access(tmp, F_OK) != 0, "no temporary file left behind");
}

/* Pinned output: a change to the generator that changes the data must be
 * deliberate (update these after checking the new rows make sense). */
static void test_golden(void)
{
    char p[128], h[4][40];
    path_in(p, sizeof p, "golden.duckdb");
    T_OK(generate(p, 2000, 7, 2, 0, 1, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_OK, "generate 2000, seed 7");
    table_hashes(p, h);
    T_STREQ(h[2], "f8d7119ab5e5bf3353854e9d5ff0d969", "golden skus: %s", h[2]);
    T_STREQ(h[3], "be616f7de1f8fd5110e07541c64ec3c3", "golden inventory: %s", h[3]);
    gw_engine_t *e = open_ro(p);
    char *first = one(e, "SELECT s::VARCHAR FROM skus s WHERE sku_id = 100000000");
    T_STREQ(first,
            "{'sku_id': 100000000, 'title': Ashley Quiet Bookcase YP-7450, 'brand': Ashley, 'category_id': 7, "
            "'price_usd': 159.49, 'color': Black, 'material': Wood, 'launched_on': 2021-02-08, 'is_active': true}",
            "golden first row: %s", first);
    gw_free(first);
    gw_engine_close(e);
}

static void test_shards(void)
{
    char whole[128], part[3][128], sql[512];
    path_in(whole, sizeof whole, "t2.duckdb"); /* N=20000, seed 7 from test_determinism */
    gw_engine_t *w = open_ro(whole);
    long long skus = 0, inv = 0;
    for (uint32_t i = 0; i < 3; i++) {
        char name[32], hs[4][40];
        uint64_t a, b;
        snprintf(name, sizeof name, "shard%u.duckdb", i);
        path_in(part[i], sizeof part[i], name);
        T_OK(generate(part[i], 20000, 7, 2, i, 3, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_OK, "shard %u/3", i);
        gw_catalog_shard_range(20000, i, 3, &a, &b);
        table_hashes(part[i], hs);
        gw_engine_t *e = open_ro(part[i]);
        snprintf(sql, sizeof sql, "SELECT min(sku_id) = %lld AND max(sku_id) = %lld FROM skus",
                 (long long)a + GW_CATALOG_SKU_ID_BASE, (long long)b - 1 + GW_CATALOG_SKU_ID_BASE);
        char *ok = one(e, sql);
        T_OK(strcmp(ok, "true") == 0, "shard %u holds [%llu, %llu)", i, (unsigned long long)a, (unsigned long long)b);
        gw_free(ok);
        skus += one_int(e, "SELECT count(*) FROM skus");
        inv += one_int(e, "SELECT count(*) FROM inventory");
        gw_engine_close(e);
        /* the same slice of the whole catalog, byte for byte */
        for (int t = 2; t < 4; t++) {
            snprintf(sql, sizeof sql, "SELECT md5(string_agg(x::VARCHAR, '|' ORDER BY %s)) FROM %s x WHERE sku_id BETWEEN %lld AND %lld",
                     t == 2 ? "sku_id" : "sku_id, warehouse_id", t == 2 ? "skus" : "inventory",
                     (long long)a + GW_CATALOG_SKU_ID_BASE, (long long)b - 1 + GW_CATALOG_SKU_ID_BASE);
            char *slice = one(w, sql);
            T_OK(strcmp(slice, hs[t]) == 0, "shard %u table %d equals its slice of the whole", i, t);
            gw_free(slice);
        }
    }
    T_OK(skus == 20000 && inv == one_int(w, "SELECT count(*) FROM inventory"), "the shards add up: %lld skus %lld inv",
         skus, inv);
    gw_engine_close(w);
}

/* ---- the generated tables, checked with SQL ---- */

static void test_sql_sanity(void)
{
    char p[128], err[256];
    path_in(p, sizeof p, "t2.duckdb");
    gw_engine_t *e = open_ro(p);
    gw_taxonomy_t *t = gw_taxonomy_load(FIXTURE, err, sizeof err);
    T_OK(one_int(e, "SELECT count(*) FROM skus") == 20000, "20000 skus");
    T_OK(one_int(e, "SELECT count(DISTINCT sku_id) FROM skus") == 20000, "sku_id unique");
    T_OK(one_int(e, "SELECT count(*) FROM (SELECT sku_id, count(*) c FROM inventory GROUP BY 1) WHERE c BETWEEN 1 AND 4") ==
             20000,
         "every sku has 1-4 inventory rows");
    T_OK(one_int(e, "SELECT count(*) - count(DISTINCT (sku_id, warehouse_id)) FROM inventory") == 0,
         "distinct warehouses per sku");
    T_OK(one_int(e, "SELECT count(*) FROM inventory WHERE reserved > on_hand OR reserved < 0") == 0, "reserved <= on_hand");
    T_OK(one_int(e, "SELECT count(*) FROM inventory WHERE reorder_point NOT BETWEEN 5 AND 50") == 0, "reorder 5..50");
    double z = one_double(e, "SELECT avg((on_hand = 0)::INTEGER) FROM inventory");
    T_OK(z > 0.18 && z < 0.22, "~20%% zero on_hand: %.3f", z);
    double ina = one_double(e, "SELECT avg((NOT is_active)::INTEGER) FROM skus");
    T_OK(ina > 0.06 && ina < 0.10, "~8%% inactive: %.3f", ina);
    T_OK(one_int(e, "SELECT count(*) FROM inventory WHERE updated_at >= TIMESTAMP '2026-11-01' OR "
                    "updated_at < TIMESTAMP '2026-11-01' - INTERVAL 90 DAY") == 0,
         "updated_at in the 90 days before 2026-11-01");
    T_OK(one_int(e, "SELECT count(*) FROM skus WHERE launched_on NOT BETWEEN DATE '2015-01-01' AND DATE '2026-10-31'") == 0,
         "launched_on in range");
    T_OK(one_int(e, "SELECT count(DISTINCT region) FROM warehouses") == 5, "five regions");
    T_OK(one_int(e, "SELECT count(DISTINCT w.region) FROM inventory i JOIN warehouses w USING (warehouse_id)") == 5,
         "stock in all five regions");
    T_OK(one_int(e, "SELECT count(*) FROM skus s LEFT JOIN categories c USING (category_id) WHERE c.name IS NULL") == 0,
         "every sku's category exists");
    T_OK(one_int(e, "SELECT count(*) FROM categories WHERE (depth = 1) <> (parent_id IS NULL)") == 0,
         "departments have NULL parents");
    char *ty = one(e, "SELECT typeof(price_usd) FROM skus LIMIT 1");
    T_STREQ(ty, "DECIMAL(10,2)", "price_usd is DECIMAL(10,2)");
    gw_free(ty);
    /* prices within each leaf's bounds */
    for (size_t k = 0; t != NULL && k < t->n_leaves; k++) {
        const gw_tax_node_t *n = &t->nodes[t->leaves[k]];
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM skus WHERE category_id = %d AND price_usd NOT BETWEEN %.2f AND %.2f",
                 n->id, n->price_min, n->price_max);
        T_OK(one_int(e, sql) == 0, "prices of %s within bounds", n->name);
    }
    gw_taxonomy_free(t);
    gw_engine_close(e);
}

/* A value from a file through a throwaway in-memory DuckDB with file access. */
static char *file_query(const char *sql)
{
    duckdb_database db;
    duckdb_connection con;
    duckdb_result r;
    char *s = NULL;
    if (gw_duckdb_load(NULL, 0) != GW_OK || duckdb_open(NULL, &db) != DuckDBSuccess)
        return gw_strdup("<open>");
    duckdb_connect(db, &con);
    if (duckdb_query(con, sql, &r) == DuckDBSuccess) {
        duckdb_data_chunk ch = duckdb_fetch_chunk(r);
        if (ch != NULL) {
            duckdb_string_t *v = duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 0));
            s = gw_strndup(duckdb_string_t_data(&v[0]), duckdb_string_t_length(v[0]));
            duckdb_destroy_data_chunk(&ch);
        }
    } else {
        fprintf(stderr, "file query: %s\n", duckdb_result_error(&r));
    }
    duckdb_destroy_result(&r);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return s != NULL ? s : gw_strdup("<error>");
}

static void test_formats(void)
{
    char db[128], pq[128], csv[128], sql[512], line[256] = "";
    char h[4][40];
    const char *tables[4] = {"categories", "warehouses", "skus", "inventory"};
    path_in(db, sizeof db, "f.duckdb");
    path_in(pq, sizeof pq, "pq");
    path_in(csv, sizeof csv, "csv");
    T_OK(generate(db, 5000, 11, 2, 0, 1, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_OK, "duckdb 5000");
    T_OK(generate(pq, 5000, 11, 2, 0, 1, GW_CATALOG_PARQUET, FIXTURE, NULL) == GW_OK, "parquet 5000");
    T_OK(generate(csv, 5000, 11, 1, 0, 1, GW_CATALOG_CSV, FIXTURE, NULL) == GW_OK, "csv 5000");
    table_hashes(db, h);
    gw_engine_t *e = open_ro(db);
    for (int t = 0; t < 4; t++) {
        const char *order = strstr(hash_sql[t], "ORDER BY ") + 9;
        snprintf(sql, sizeof sql, "SELECT md5(string_agg(x::VARCHAR, '|' ORDER BY %.*s)) FROM read_parquet('%s/%s.parquet') x",
                 (int)strcspn(order, ")"), order, pq, tables[t]);
        char *ph = file_query(sql);
        T_OK(strcmp(ph, h[t]) == 0, "parquet %s has the same rows and types as duckdb", tables[t]);
        gw_free(ph);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[t]);
        long long want = one_int(e, sql);
        snprintf(sql, sizeof sql, "SELECT count(*)::VARCHAR FROM read_csv('%s/%s.csv')", csv, tables[t]);
        char *n = file_query(sql);
        T_OK(strtoll(n, NULL, 10) == want && want > 0, "csv %s has %lld rows: %s", tables[t], want, n);
        gw_free(n);
    }
    gw_engine_close(e);
    snprintf(sql, sizeof sql, "%s/skus.csv", csv);
    FILE *f = fopen(sql, "r");
    T_OK(f != NULL && fgets(line, sizeof line, f) != NULL, "skus.csv readable");
    T_STREQ(line, "sku_id,title,brand,category_id,price_usd,color,material,launched_on,is_active\n", "csv header");
    if (f != NULL)
        fclose(f);
}

static void test_bad_opts(void)
{
    char p[128], err[256];
    gw_catalog_opts_t o = {0};
    path_in(p, sizeof p, "bad.duckdb");
    T_OK(generate(p, 100, 1, 1, 3, 3, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_EINVAL, "shard 3/3 refused");
    T_OK(generate(p, 0, 1, 1, 0, 1, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_EINVAL, "0 skus refused");
    T_OK(generate(p, 100, 1, 0, 0, 1, GW_CATALOG_DUCKDB, FIXTURE, NULL) == GW_EINVAL, "0 threads refused");
    T_OK(generate(p, 100, 1, 1, 0, 1, GW_CATALOG_DUCKDB, "/nonexistent-dir", NULL) != GW_OK, "missing taxonomy");
    T_OK(access(p, F_OK) != 0, "nothing written on failure");
    o.skus = 10;
    o.threads = 1;
    o.shard_count = 1;
    o.data_dir = FIXTURE;
    o.out = "/proc/version/x.duckdb";
    err[0] = '\0';
    T_OK(gw_catalog_generate(&o, NULL, err, sizeof err) != GW_OK && err[0] != '\0', "unwritable path: %s", err);
}

/* ---- llmgw catalog ---- */

/* Runs fn with stdout and stderr sent to files; returns its exit code. */
static int capture(int (*fn)(int, char **), int argc, char **argv, char *out, size_t outcap)
{
    char path[128];
    fflush(stdout);
    fflush(stderr);
    int saved1 = dup(1), saved2 = dup(2);
    int fd = open(path_in(path, sizeof path, "capture.txt"), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int code = fn(argc, argv);
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

static void test_cli(void)
{
    char out[8192], p[128];
    path_in(p, sizeof p, "cli.duckdb");
    char *ok[] = {"catalog", "generate", "--skus", "3k", "--seed", "5", "--out", p, "--data-dir", FIXTURE,
                  "--threads", "2", NULL};
    T_OK(capture(gw_catalog_cmd, 12, ok, out, sizeof out) == 0, "catalog generate exits 0: %s", out);
    T_OK(strstr(out, "catalog: 3000 skus") != NULL && strstr(out, "SKUs/s") != NULL, "one-line summary: %s", out);
    T_OK(strchr(out, '\r') == NULL, "no progress bar when stderr is not a terminal");
    gw_engine_t *e = open_ro(p);
    T_OK(one_int(e, "SELECT count(*) FROM skus") == 3000, "3k = 3000 skus");
    gw_engine_close(e);
    char *shard[] = {"catalog", "generate", "--skus", "3000", "--shard", "1/3", "--out", p, "--data-dir", FIXTURE, NULL};
    T_OK(capture(gw_catalog_cmd, 10, shard, out, sizeof out) == 0, "--shard 1/3: %s", out);
    e = open_ro(p);
    T_OK(one_int(e, "SELECT min(sku_id) FROM skus") == GW_CATALOG_SKU_ID_BASE + 1000, "shard 1/3 starts at 1000");
    gw_engine_close(e);
    char *bad1[] = {"catalog", "generate", "--skus", "abc", NULL};
    char *bad2[] = {"catalog", "generate", "--format", "xml", NULL};
    char *bad3[] = {"catalog", "generate", "--shard", "3/3", NULL};
    char *bad4[] = {"catalog", "frobnicate", NULL};
    char *bad5[] = {"catalog", "generate", "--out", NULL};
    T_OK(capture(gw_catalog_cmd, 4, bad1, out, sizeof out) == 2, "bad --skus is a usage error");
    T_OK(capture(gw_catalog_cmd, 4, bad2, out, sizeof out) == 2, "bad --format is a usage error");
    T_OK(capture(gw_catalog_cmd, 4, bad3, out, sizeof out) == 2, "bad --shard is a usage error");
    T_OK(capture(gw_catalog_cmd, 2, bad4, out, sizeof out) == 2 && strstr(out, "usage") != NULL, "unknown subcommand");
    T_OK(capture(gw_catalog_cmd, 3, bad5, out, sizeof out) == 2, "--out without a value");
    char *load[] = {"catalog", "load", "--frobnicate", NULL};
    T_OK(capture(gw_catalog_cmd, 3, load, out, sizeof out) == 2 && strstr(out, "expected 'generate'") == NULL,
         "catalog load goes to its own parser: %s", out);
    char *fail[] = {"catalog", "generate", "--skus", "10", "--out", p, "--data-dir", "/nonexistent", NULL};
    T_OK(capture(gw_catalog_cmd, 8, fail, out, sizeof out) == 1, "a runtime failure exits 1: %s", out);
}

/* ---- the project's real taxonomy ---- */

static void test_real_taxonomy(void)
{
    char p[128], err[256];
    gw_taxonomy_t *t = gw_taxonomy_load(REAL_DATA, err, sizeof err);
    gw_catgen_t *g = NULL;
    T_OK(t != NULL, "data/ taxonomy loads: %s", err);
    if (t == NULL)
        return;
    T_OK(gw_catgen_new(t, 42, &g, err, sizeof err) == GW_OK, "model of the real taxonomy: %s", err);
    tally_t *y = gw_calloc(1, sizeof *y);
    if (g != NULL)
        tally_rows(g, t, 1000000, 50000, y);
    T_OK(y->bad_sku == 0 && y->bad_stock == 0, "real rows valid (%d sku, %d stock problems)", y->bad_sku, y->bad_stock);
    gw_free(y);
    path_in(p, sizeof p, "real.duckdb");
    T_OK(generate(p, 20000, 42, 2, 0, 1, GW_CATALOG_DUCKDB, REAL_DATA, NULL) == GW_OK, "generate from data/");
    gw_engine_t *e = open_ro(p);
    T_OK(one_int(e, "SELECT count(*) FROM categories") == (long long)t->n_nodes, "all categories");
    T_OK(one_int(e, "SELECT count(*) FROM warehouses") == 40, "40 warehouses");
    T_OK(one_int(e, "SELECT min(c) FROM (SELECT region, count(*) c FROM warehouses GROUP BY 1)") >= 2 &&
             one_int(e, "SELECT count(DISTINCT region) FROM warehouses") == 5,
         "five regions, several warehouses each");
    T_OK(one_int(e, "SELECT count(DISTINCT category_id) FROM skus") > 300, "many leaves used");
    gw_engine_close(e);
    gw_catgen_free(g);
    gw_taxonomy_free(t);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_catalog_gen-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_rows();
    test_shard_range();
    test_determinism();
    test_golden();
    test_shards();
    test_sql_sanity();
    test_formats();
    test_bad_opts();
    test_cli();
    test_real_taxonomy();
    cleanup();
    return t_done("test_catalog_gen");
}

/* test_clickhouse_reference.c - the reference questions of
 * tests/data/reference_questions.tsv give identical answers on DuckDB, on one
 * ClickHouse node and on a two-shard ClickHouse cluster.
 *
 * A 20k-SKU catalog (seed 42, the project taxonomy) is generated, loaded with
 * gw_clickhouse_load into the single node and into the cluster (skus and
 * inventory sharded by intHash64(sku_id)), then every question runs on the
 * three engines (ClickHouse as the readonly user llmgw_ro). Results must have
 * the same rows: in order when the outer query has ORDER BY, as multisets
 * otherwise; numbers compare with a 1e-9 relative tolerance (prices are
 * rounded to cents in the SQL), booleans equal 1/0. Servers:
 * scripts/clickhouse.sh (single $LLMGW_CLICKHOUSE_URL, default 18123; cluster
 * $LLMGW_CLICKHOUSE_CLUSTER_URLS, default 18124,18125, named retail2).
 * Unreachable: skipped, or failed when CI=true.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_gen.h"
#include "catalog_load.h"
#include "engine.h"
#include "engine_clickhouse.h"
#include "sql_guard.h"
#include "test.h"

#define QUESTIONS GW_SOURCE_DIR "/tests/data/reference_questions.tsv"
#define TAXONOMY GW_SOURCE_DIR "/data"
#define CLUSTER "retail2"

static char single_url[256], cluster_urls[2][256];
static char tmpdir[64], catalog[128];

typedef struct question {
    char id[16];
    char *text, *duck_sql, *ch_sql;
} question_t;

/* ---- the questions file ---- */

static int load_questions(question_t *q, size_t cap, size_t *n)
{
    FILE *f = fopen(QUESTIONS, "r");
    char line[8192];
    int header = 1;
    *n = 0;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL && *n < cap) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (header) {
            header = 0;
            continue;
        }
        char *f1 = strchr(line, '\t'), *f2 = f1 ? strchr(f1 + 1, '\t') : NULL, *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
        if (f3 == NULL || strchr(f3 + 1, '\t') != NULL) {
            fclose(f);
            return -1;
        }
        *f1 = *f2 = *f3 = '\0';
        question_t *x = &q[(*n)++];
        snprintf(x->id, sizeof x->id, "%.15s", line);
        x->text = gw_strdup(f1 + 1);
        x->duck_sql = gw_strdup(f2 + 1);
        x->ch_sql = gw_strdup(f3 + 1);
    }
    fclose(f);
    return 0;
}

/* 1 when the outer query has ORDER BY (outside parentheses and strings). */
static int ordered(const char *sql)
{
    int depth = 0;
    for (const char *p = sql; *p != '\0'; p++) {
        if (*p == '\'') {
            for (p++; *p != '\0' && *p != '\''; p++)
                if (*p == '\\' && p[1] != '\0')
                    p++;
            if (*p == '\0')
                break;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            depth--;
        } else if (depth == 0 && strncasecmp(p, "ORDER BY", 8) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- comparing results ---- */

/* A cell as a number (1) or text (0); NULL is -1. */
static int cell_value(const gw_cell_t *c, double *d, const char **s, size_t *n)
{
    switch (c->kind) {
    case GW_CELL_NULL: return -1;
    case GW_CELL_BOOL: *d = c->v.b; return 1;
    case GW_CELL_INT: *d = (double)c->v.i; return 1;
    case GW_CELL_DOUBLE: *d = c->v.d; return 1;
    case GW_CELL_DECIMAL: *d = (double)c->v.dec.unscaled / pow(10.0, c->v.dec.scale); return 1;
    case GW_CELL_NUMBER: *d = strtod(c->v.text.ptr, NULL); return 1;
    case GW_CELL_TEXT: *s = c->v.text.ptr; *n = c->v.text.len; return 0;
    }
    return -1;
}

static int cells_equal(const gw_cell_t *a, const gw_cell_t *b)
{
    double x = 0, y = 0;
    const char *s = NULL, *t = NULL;
    size_t m = 0, n = 0;
    int ka = cell_value(a, &x, &s, &m), kb = cell_value(b, &y, &t, &n);
    if (ka != kb)
        return 0;
    if (ka == 1)
        return fabs(x - y) <= 1e-6 + 1e-9 * fmax(fabs(x), fabs(y));
    return ka < 0 || (m == n && memcmp(s, t, m) == 0);
}

static const gw_result_t *sort_base;

/* Orders row indexes by their cells (numbers by value, then text). */
static int row_cmp(const void *pa, const void *pb)
{
    size_t ra = *(const size_t *)pa, rb = *(const size_t *)pb, nc = sort_base->n_columns;
    for (size_t c = 0; c < nc; c++) {
        const gw_cell_t *a = &sort_base->cells[ra * nc + c], *b = &sort_base->cells[rb * nc + c];
        double x = 0, y = 0;
        const char *s = NULL, *t = NULL;
        size_t m = 0, n = 0;
        int ka = cell_value(a, &x, &s, &m), kb = cell_value(b, &y, &t, &n);
        if (ka != kb)
            return ka < kb ? -1 : 1;
        if (ka == 1 && !cells_equal(a, b))
            return x < y ? -1 : 1;
        if (ka == 0) {
            int r = memcmp(s, t, m < n ? m : n);
            if (r != 0 || m != n)
                return r != 0 ? r : m < n ? -1 : 1;
        }
    }
    return 0;
}

static size_t *row_order(const gw_result_t *r, int keep)
{
    size_t *ix = gw_calloc(r->row_count + 1, sizeof *ix);
    for (size_t i = 0; ix != NULL && i < r->row_count; i++)
        ix[i] = i;
    if (ix != NULL && !keep) {
        sort_base = r;
        qsort(ix, r->row_count, sizeof *ix, row_cmp);
    }
    return ix;
}

/* 1 when a and b hold the same rows; a reason in why otherwise. */
static int same_rows(const gw_result_t *a, const gw_result_t *b, int keep_order, char *why, size_t n)
{
    if (a->n_columns != b->n_columns || a->row_count != b->row_count) {
        snprintf(why, n, "shape %zux%zu vs %zux%zu", a->row_count, a->n_columns, b->row_count, b->n_columns);
        return 0;
    }
    size_t *ia = row_order(a, keep_order), *ib = row_order(b, keep_order);
    int same = ia != NULL && ib != NULL;
    for (size_t r = 0; same && r < a->row_count; r++)
        for (size_t c = 0; same && c < a->n_columns; c++)
            if (!cells_equal(&a->cells[ia[r] * a->n_columns + c], &b->cells[ib[r] * b->n_columns + c])) {
                snprintf(why, n, "row %zu column %zu (%s) differs", r + 1, c + 1, a->columns[c].name);
                same = 0;
            }
    gw_free(ia);
    gw_free(ib);
    return same;
}

static void print_result(const char *label, const gw_result_t *r)
{
    gw_buf_t b;
    gw_buf_init(&b, 1u << 16);
    if (r != NULL && gw_result_to_json(r, &b) == GW_OK)
        fprintf(stderr, "  %s: %.600s\n", label, b.ptr);
    gw_buf_free(&b);
}

/* ---- the engines ---- */

static gw_engine_t *open_clickhouse(const char *url, const char *cluster)
{
    char err[512];
    gw_clickhouse_opts_t o = {0};
    gw_engine_t *e = NULL;
    o.url = url;
    o.user = "llmgw_ro";
    o.cluster = cluster;
    o.timeout_ms = 30000;
    if (gw_engine_clickhouse_open(&o, &e, err, sizeof err) != GW_OK)
        fprintf(stderr, "open %s: %s\n", url, err);
    return e;
}

static gw_result_t *ask(gw_engine_t *e, const char *sql, const char *label, const char *id)
{
    gw_result_t *r = NULL;
    gw_query_info_t info;
    gw_query_opts_t o = {10000, 30000};
    gw_err_t rc = gw_engine_query_result(e, sql, strlen(sql), &o, &r, &info);
    T_OK(rc == GW_OK, "%s on %s: %s", id, label, info.message);
    return rc == GW_OK ? r : NULL;
}

static int answered(const gw_result_t *r)
{
    return r != NULL && r->row_count > 0 && r->cells[0].kind != GW_CELL_NULL;
}

static void check_question(const question_t *q, gw_engine_t *duck, gw_engine_t *single, gw_engine_t *cluster)
{
    char why[256];
    gw_result_t *d = ask(duck, q->duck_sql, "duckdb", q->id);
    gw_result_t *s = ask(single, q->ch_sql, "clickhouse", q->id);
    gw_result_t *c = ask(cluster, q->ch_sql, "clickhouse cluster", q->id);
    int keep = ordered(q->ch_sql);
    T_OK(keep == ordered(q->duck_sql), "%s: both SQL texts agree on ORDER BY", q->id);
    T_OK(answered(d), "%s: DuckDB gives a non-empty, non-null answer", q->id);
    if (d != NULL && s != NULL) {
        int ok = same_rows(d, s, keep, why, sizeof why);
        T_OK(ok, "%s (%s): duckdb vs clickhouse: %s", q->id, q->text, why);
        if (!ok) {
            print_result("duckdb", d);
            print_result("clickhouse", s);
        }
    }
    if (d != NULL && c != NULL) {
        int ok = same_rows(d, c, keep, why, sizeof why);
        T_OK(ok, "%s (%s): duckdb vs cluster: %s", q->id, q->text, why);
        if (!ok)
            print_result("cluster", c);
    }
    gw_result_free(d);
    gw_result_free(s);
    gw_result_free(c);
}

static long long count_of(gw_engine_t *e, const char *sql)
{
    gw_result_t *r = ask(e, sql, "count", "count");
    long long v = r != NULL && r->row_count == 1 && r->cells[0].kind == GW_CELL_INT ? r->cells[0].v.i : -1;
    gw_result_free(r);
    return v;
}

/* sql through a guard of its dialect, then the engine; -1 when refused. */
static long long guarded_count(gw_guard_t *g, gw_engine_t *e, const char *sql)
{
    gw_buf_t out;
    gw_guard_verdict_t v;
    long long n = -1;
    gw_buf_init(&out, 1u << 16);
    if (gw_guard_check(g, sql, strlen(sql), 100, &out, &v) == GW_OK)
        n = count_of(e, out.ptr);
    else
        fprintf(stderr, "guard refused %s: %s\n", sql, v.message);
    gw_buf_free(&out);
    return n;
}

/* skus and retail.skus are the same table on every engine: the guard
 * accepts both, and each engine resolves both (DuckDB attaches its catalog
 * file as "retail", ClickHouse's database is retail). */
static void check_qualified_names(gw_engine_t *duck, gw_engine_t *single, gw_engine_t *cluster)
{
    char err[256] = "";
    gw_guard_t *gd = gw_guard_new(GW_SQL_DUCKDB, err, sizeof err), *gc = gw_guard_new(GW_SQL_CLICKHOUSE, err, sizeof err);
    T_OK(gd != NULL && gc != NULL, "guards: %s", err);
    if (gd == NULL || gc == NULL)
        goto out;
    static const char *const duck_sql[] = {
        "SELECT count(*) FROM skus", "SELECT count(*) FROM retail.skus", "SELECT count(*) FROM retail.main.skus",
        "SELECT sum(i.on_hand) FROM retail.inventory i JOIN skus s USING (sku_id) WHERE s.is_active",
        "SELECT sum(i.on_hand) FROM inventory i JOIN retail.skus s USING (sku_id) WHERE s.is_active"};
    static const char *const ch_sql[] = {
        "SELECT count() FROM skus", "SELECT count() FROM retail.skus", "SELECT count() FROM retail.skus",
        "SELECT sum(on_hand) FROM retail.inventory WHERE sku_id IN (SELECT sku_id FROM skus WHERE is_active)",
        "SELECT sum(on_hand) FROM inventory WHERE sku_id IN (SELECT sku_id FROM retail.skus WHERE is_active)"};
    long long want[2] = {20000, count_of(duck, "SELECT sum(i.on_hand) FROM inventory i JOIN skus s USING (sku_id) "
                                               "WHERE s.is_active")};
    for (size_t i = 0; i < sizeof duck_sql / sizeof duck_sql[0]; i++) {
        long long w = want[i < 3 ? 0 : 1];
        T_OK(guarded_count(gd, duck, duck_sql[i]) == w, "duckdb: %s = %lld", duck_sql[i], w);
        T_OK(guarded_count(gc, single, ch_sql[i]) == w, "clickhouse: %s = %lld", ch_sql[i], w);
        T_OK(guarded_count(gc, cluster, ch_sql[i]) == w, "cluster: %s = %lld", ch_sql[i], w);
    }
out:
    gw_guard_free(gd);
    gw_guard_free(gc);
}

/* The cluster really is sharded: both shards hold part of every SKU table,
 * and describe shows the four Distributed tables, not *_local. */
static void check_sharding(gw_engine_t *cluster)
{
    gw_engine_t *second = open_clickhouse(cluster_urls[1], NULL);
    long long a = count_of(cluster, "SELECT count() FROM retail.skus_local");
    long long b = second != NULL ? count_of(second, "SELECT count() FROM retail.skus_local") : -1;
    T_OK(a > 5000 && b > 5000 && a + b == 20000, "skus split over the shards: %lld + %lld", a, b);
    long long ia = count_of(cluster, "SELECT count() FROM retail.inventory_local WHERE sku_id NOT IN "
                                     "(SELECT sku_id FROM retail.skus_local)");
    T_OK(ia == 0, "each shard's inventory rows belong to its own SKUs (%lld strays)", ia);
    gw_engine_close(second);
    gw_schema_t *s = NULL;
    char err[512];
    T_OK(gw_engine_describe(cluster, 50, &s, err, sizeof err) == GW_OK && s->n_tables == 4 &&
             strcmp(s->tables[2].name, "skus") == 0 && s->tables[2].row_count == 20000,
         "cluster describe: %s", err);
    gw_schema_free(s);
}

/* ---- setup ---- */

static int prepare(void)
{
    char err[1024];
    gw_catalog_opts_t o = {0};
    gw_chload_stats_t st;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_chref_XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(catalog, sizeof catalog, "%s/catalog.duckdb", tmpdir);
    o.skus = 20000;
    o.seed = 42;
    o.out = catalog;
    o.threads = 2;
    o.shard_count = 1;
    o.data_dir = TAXONOMY;
    gw_err_t rc = gw_catalog_generate(&o, NULL, err, sizeof err);
    T_OK(rc == GW_OK, "generate 20k SKUs: %s", err);
    if (rc != GW_OK)
        return -1;
    const char *one[] = {single_url};
    gw_chload_opts_t lo = {catalog, one, 1, "retail", NULL, NULL, NULL, 0, NULL, NULL};
    rc = gw_clickhouse_load(&lo, &st, err, sizeof err);
    T_OK(rc == GW_OK && st.skus == 20000 && st.inventory > 20000 && st.warehouses == 40, "load single: %s", err);
    const char *two[] = {cluster_urls[0], cluster_urls[1]};
    gw_chload_opts_t lc = {catalog, two, 2, "retail", CLUSTER, NULL, NULL, 7000, NULL, NULL};
    gw_err_t rc2 = gw_clickhouse_load(&lc, &st, err, sizeof err);
    T_OK(rc2 == GW_OK && st.skus == 20000, "load cluster: %s", err);
    const char *wrong[] = {cluster_urls[0]};
    lc.urls = wrong;
    lc.n_urls = 1;
    T_OK(gw_clickhouse_load(&lc, &st, err, sizeof err) == GW_EINVAL && strstr(err, "2 shards") != NULL,
         "a cluster load with one URL for two shards is refused: %s", err);
    return rc == GW_OK && rc2 == GW_OK ? 0 : -1;
}

static void run_all(void)
{
    static question_t q[128];
    size_t n = 0;
    T_OK(load_questions(q, 128, &n) == 0 && n >= 30, "at least 30 questions, got %zu", n);
    if (prepare() != 0)
        goto out;
    gw_duckdb_opts_t dopts = {0};
    gw_engine_t *duck = NULL, *single = open_clickhouse(single_url, NULL), *cluster = open_clickhouse(cluster_urls[0], CLUSTER);
    char err[512];
    dopts.path = catalog;
    dopts.threads = 2;
    if (gw_engine_duckdb_open(&dopts, &duck, err, sizeof err) != GW_OK)
        fprintf(stderr, "duckdb: %s\n", err);
    T_OK(duck != NULL && single != NULL && cluster != NULL, "three engines open");
    if (duck != NULL && single != NULL && cluster != NULL) {
        for (size_t i = 0; i < n; i++)
            check_question(&q[i], duck, single, cluster);
        check_sharding(cluster);
        check_qualified_names(duck, single, cluster);
    }
    gw_engine_close(duck);
    gw_engine_close(single);
    gw_engine_close(cluster);
out:
    for (size_t i = 0; i < n; i++) {
        gw_free(q[i].text);
        gw_free(q[i].duck_sql);
        gw_free(q[i].ch_sql);
    }
}

/* 1 when every node answers; otherwise 0 (skip) or -1 (CI=true: fail). */
static int servers_up(void)
{
    const char *urls[] = {single_url, cluster_urls[0], cluster_urls[1]};
    for (size_t i = 0; i < 3; i++) {
        char err[512];
        gw_clickhouse_opts_t o = {0};
        gw_engine_t *e = NULL;
        o.url = urls[i];
        o.database = "system";
        if (gw_engine_clickhouse_open(&o, &e, err, sizeof err) != GW_OK) {
            const char *ci = getenv("CI");
            fprintf(stderr, "clickhouse at %s: %s\n", urls[i], err);
            return ci != NULL && strcmp(ci, "true") == 0 ? -1 : 0;
        }
        gw_engine_close(e);
    }
    return 1;
}

int main(void)
{
    const char *u = getenv("LLMGW_CLICKHOUSE_URL");
    const char *c = getenv("LLMGW_CLICKHOUSE_CLUSTER_URLS");
    snprintf(single_url, sizeof single_url, "%s", u != NULL ? u : "http://127.0.0.1:18123");
    if (c == NULL)
        c = "http://127.0.0.1:18124,http://127.0.0.1:18125";
    const char *comma = strchr(c, ',');
    snprintf(cluster_urls[0], sizeof cluster_urls[0], "%.*s", comma ? (int)(comma - c) : 0, c);
    snprintf(cluster_urls[1], sizeof cluster_urls[1], "%s", comma ? comma + 1 : "");
    int up = servers_up();
    if (up < 0)
        T_OK(0, "CI=true and ClickHouse is not reachable (scripts/clickhouse.sh all start)");
    else if (up == 0)
        printf("test_clickhouse_reference: skipped (no ClickHouse; scripts/clickhouse.sh all start)\n");
    else
        run_all();
    if (catalog[0] != '\0') {
        unlink(catalog);
        rmdir(tmpdir);
    }
    return t_done("test_clickhouse_reference");
}

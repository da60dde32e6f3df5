/* test_engine_duckdb.c - the DuckDB engine: read-only refusals on its own,
 * row cap and truncation, the timeout watchdog, the type -> JSON mapping,
 * describe, the check hook, concurrent queries, and `llmgw sql`.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_cli.h"
#include "catalog_gen.h"
#include "duckdb_dl.h"
#include "engine.h"
#include "test.h"

#define FIXTURE GW_SOURCE_DIR "/tests/data/taxonomy-mini"

static char tmpdir[64];
static char catalog[128]; /* 5000 SKUs, seed 3 */
static char types_db[128];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static gw_engine_t *open_ro(const char *path)
{
    char err[512];
    gw_duckdb_opts_t o = {0};
    gw_engine_t *e = NULL;
    o.path = path;
    o.threads = 2;
    o.memory_limit = "1GB";
    if (gw_engine_duckdb_open(&o, &e, err, sizeof err) != GW_OK)
        fprintf(stderr, "open %s: %s\n", path, err);
    return e;
}

/* Runs sql collected; returns the code and the JSON (or "" on failure). */
static gw_err_t run(gw_engine_t *e, const char *sql, size_t max_rows, uint32_t timeout_ms, char *json, size_t cap,
                    gw_query_info_t *info)
{
    gw_result_t *r = NULL;
    gw_query_opts_t o = {max_rows, timeout_ms};
    gw_buf_t b;
    gw_err_t rc = gw_engine_query_result(e, sql, strlen(sql), &o, &r, info);
    json[0] = '\0';
    if (rc != GW_OK)
        return rc;
    gw_buf_init(&b, cap - 1);
    if (gw_result_to_json(r, &b) == GW_OK)
        snprintf(json, cap, "%s", b.ptr);
    gw_buf_free(&b);
    gw_result_free(r);
    return rc;
}

static long long count_of(gw_engine_t *e, const char *sql)
{
    gw_result_t *r = NULL;
    gw_query_info_t info;
    gw_query_opts_t o = {1, 0};
    long long v = -1;
    if (gw_engine_query_result(e, sql, strlen(sql), &o, &r, &info) == GW_OK && r->row_count == 1 &&
        r->cells[0].kind == GW_CELL_INT)
        v = r->cells[0].v.i;
    else
        fprintf(stderr, "count_of(%s): %s\n", sql, info.message);
    gw_result_free(r);
    return v;
}

/* A database with one row of every mapped type and one row of NULLs. */
static int make_types_db(const char *path)
{
    static const char *sql =
        "CREATE TABLE t (b BIGINT, i INTEGER, d DECIMAL(10,2), v VARCHAR, dt DATE, ts TIMESTAMP, bo BOOLEAN,"
        " h HUGEINT, dbl DOUBLE, s SMALLINT, ub UBIGINT, d38 DECIMAL(38,4), tm TIME, iv INTERVAL, u UUID,"
        " tsz TIMESTAMPTZ, lst INTEGER[]);"
        "INSERT INTO t VALUES (9007199254740993, -7, -0.05, 'a\"b\\c' || chr(10) || 'é', DATE '1969-12-31',"
        " TIMESTAMP '2026-10-31 23:59:59', true, 170141183460469231731687303715884105727, 0.1, -3,"
        " 18446744073709551615, -12345678901234567890.1234, TIME '01:02:03.5',"
        " INTERVAL '1 year 2 months 3 days 04:05:06', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',"
        " TIMESTAMPTZ '2020-01-01 00:00:00+00', [1, 2]);"
        "INSERT INTO t VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        " NULL, NULL, NULL);";
    duckdb_database db;
    duckdb_connection con;
    duckdb_result r;
    if (gw_duckdb_load(NULL, 0) != GW_OK || duckdb_open(path, &db) != DuckDBSuccess)
        return -1;
    duckdb_connect(db, &con);
    int ok = duckdb_query(con, sql, &r) == DuckDBSuccess;
    if (!ok)
        fprintf(stderr, "types db: %s\n", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return ok ? 0 : -1;
}

static int setup(void)
{
    char err[512];
    gw_catalog_opts_t o = {0};
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_engine_duckdb-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(catalog, sizeof catalog, "%s/catalog.duckdb", tmpdir);
    snprintf(types_db, sizeof types_db, "%s/types.duckdb", tmpdir);
    o.skus = 5000;
    o.seed = 3;
    o.out = catalog;
    o.threads = 2;
    o.shard_count = 1;
    o.data_dir = FIXTURE;
    if (gw_catalog_generate(&o, NULL, err, sizeof err) != GW_OK) {
        fprintf(stderr, "generate: %s\n", err);
        return -1;
    }
    return make_types_db(types_db);
}

/* ---- refusals by the read-only connection alone (no guard) ---- */

static void test_refusals(void)
{
    gw_engine_t *e = open_ro(catalog);
    gw_query_info_t info;
    char json[4096], sql[512], leak[160];
    static const char *writes[] = {
        "CREATE TABLE x (a INTEGER)", "INSERT INTO skus SELECT * FROM skus", "DELETE FROM skus",
        "UPDATE skus SET price_usd = 0", "DROP TABLE skus", "ALTER TABLE skus ADD COLUMN z INTEGER",
        "CREATE TEMP TABLE tt AS SELECT 1", "SET threads = 1", "RESET memory_limit", "PRAGMA enable_profiling",
        "EXPLAIN SELECT 1", "CALL pragma_version()", "INSTALL httpfs", "LOAD httpfs", "CHECKPOINT",
        "BEGIN TRANSACTION", "SET VARIABLE v = 1", "ATTACH ':memory:' AS m", "DETACH catalog",
    };
    T_OK(e != NULL, "open the catalog read-only");
    for (size_t i = 0; e != NULL && i < sizeof writes / sizeof writes[0]; i++) {
        gw_err_t rc = run(e, writes[i], 10, 5000, json, sizeof json, &info);
        T_OK(rc == GW_EDENIED || rc == GW_EUPSTREAM, "refused: %s (rc %d: %s)", writes[i], rc, info.message);
        T_OK(info.message[0] != '\0', "with a reason: %s", writes[i]);
    }
    snprintf(leak, sizeof leak, "%s/leak.csv", tmpdir);
    snprintf(sql, sizeof sql, "COPY skus TO '%s'", leak);
    T_OK(run(e, sql, 10, 5000, json, sizeof json, &info) != GW_OK && access(leak, F_OK) != 0, "COPY TO refused");
    snprintf(sql, sizeof sql, "ATTACH '%s/new.db' AS n", tmpdir);
    T_OK(run(e, sql, 10, 5000, json, sizeof json, &info) != GW_OK, "ATTACH a file refused");
    snprintf(leak, sizeof leak, "%s/new.db", tmpdir);
    T_OK(access(leak, F_OK) != 0, "ATTACH created nothing");
    T_OK(run(e, "SELECT 1; SELECT 2", 10, 0, json, sizeof json, &info) == GW_EDENIED, "two statements: %s", info.message);
    T_OK(run(e, "SELECT 1; DROP TABLE skus", 10, 0, json, sizeof json, &info) == GW_EDENIED, "SELECT then DROP");
    T_OK(run(e, "", 10, 0, json, sizeof json, &info) == GW_EDENIED, "empty query");
    T_OK(run(e, "  ; -- nothing", 10, 0, json, sizeof json, &info) == GW_EDENIED, "only a comment");
    T_OK(run(e, "SELECT * FROM read_csv('/etc/passwd')", 10, 0, json, sizeof json, &info) == GW_EDENIED &&
             info.engine_code == DUCKDB_ERROR_PERMISSION,
         "file access blocked by the config: %d %s", info.engine_code, info.message);
    static const char *calls[] = {
        "SELECT * FROM enable_logging(storage := 'file', storage_path := '/tmp/x')",
        "SELECT * FROM \"ENABLE_LOGGING\" (storage := 'file', storage_path := '/tmp/x')",
        "SELECT * FROM query('SELECT 1')", "SELECT * FROM Query_Table ('skus')",
        "SELECT * FROM json_execute_serialized_sql('{}')",
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        T_OK(run(e, calls[i], 10, 0, json, sizeof json, &info) == GW_EDENIED && strstr(info.message, "not allowed"),
             "refused before running: %s (%s)", calls[i], info.message);
    T_OK(run(e, "SELECT 1 AS query, 2 AS my_query", 10, 0, json, sizeof json, &info) == GW_OK,
         "the word query alone is fine: %s", info.message);
    T_OK(run(e, "SELECT FROM WHERE", 10, 0, json, sizeof json, &info) == GW_EUPSTREAM, "syntax error: %s", info.message);
    T_OK(run(e, "SELECT nope FROM skus", 10, 0, json, sizeof json, &info) == GW_EUPSTREAM &&
             strstr(info.message, "nope") != NULL,
         "binder error names the column: %s", info.message);
    T_OK(run(e, "SELECT 1\0; DROP TABLE skus", 10, 0, json, sizeof json, &info) == GW_OK, "NUL ends the C string");
    gw_query_opts_t o = {10, 0};
    gw_result_t *r = NULL;
    T_OK(gw_engine_query_result(e, "SELECT 1\0x", 10, &o, &r, &info) == GW_EDENIED, "embedded NUL refused");
    T_OK(count_of(e, "SELECT count(*) FROM skus") == 5000, "the catalog is unchanged");
    T_OK(count_of(e, "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('x', 'tt')") == 0, "no table created");
    char *settings[] = {"SELECT current_setting('enable_external_access') = false"
                        " AND current_setting('lock_configuration') = true AND current_setting('autoload_known_extensions') = false"
                        " AND (SELECT readonly FROM duckdb_databases() WHERE database_name = 'retail')"
                        " AND current_database() = 'retail'"};
    T_OK(run(e, settings[0], 1, 0, json, sizeof json, &info) == GW_OK && strstr(json, "[[true]]") != NULL,
         "secure settings in effect, catalog attached read-only as retail: %s %s", json, info.message);
    T_OK(count_of(e, "SELECT count(*) FROM retail.skus") == 5000 && count_of(e, "SELECT count(*) FROM main.skus") == 5000 &&
             count_of(e, "SELECT count(*) FROM retail.main.skus") == 5000,
         "retail.skus, main.skus and retail.main.skus name the catalog's table");
    T_OK(count_of(e, "SELECT count(*) FROM retail.inventory i JOIN skus s USING (sku_id)") ==
             count_of(e, "SELECT count(*) FROM inventory"),
         "qualified and unqualified names mix");
    T_OK(run(e, "ATTACH ':memory:' AS m2", 10, 0, json, sizeof json, &info) == GW_EDENIED, "ATTACH memory refused");
    T_OK(run(e, "SET enable_external_access = true", 10, 0, json, sizeof json, &info) == GW_EDENIED, "SET refused");
    T_OK(run(e, "SELECT * FROM memory.main.x", 10, 0, json, sizeof json, &info) == GW_EUPSTREAM, "memory has no tables");
    gw_engine_close(e);
    gw_engine_t *missing = NULL;
    gw_duckdb_opts_t mo = {0};
    char err[256];
    mo.path = "/nonexistent/catalog.duckdb";
    T_OK(gw_engine_duckdb_open(&mo, &missing, err, sizeof err) == GW_ENOTFOUND && missing == NULL, "missing file: %s", err);
    mo.path = catalog;
    mo.memory_limit = "lots";
    T_OK(gw_engine_duckdb_open(&mo, &missing, err, sizeof err) != GW_OK && missing == NULL, "bad memory_limit: %s", err);
}

/* ---- types ---- */

static void test_types(void)
{
    gw_engine_t *e = open_ro(types_db);
    gw_query_info_t info;
    static char json[8192];
    const char *want =
        "{\"columns\":[{\"name\":\"b\",\"type\":\"BIGINT\"},{\"name\":\"i\",\"type\":\"INTEGER\"},"
        "{\"name\":\"d\",\"type\":\"DECIMAL(10,2)\"},{\"name\":\"v\",\"type\":\"VARCHAR\"},"
        "{\"name\":\"dt\",\"type\":\"DATE\"},{\"name\":\"ts\",\"type\":\"TIMESTAMP\"},"
        "{\"name\":\"bo\",\"type\":\"BOOLEAN\"},{\"name\":\"h\",\"type\":\"HUGEINT\"},"
        "{\"name\":\"dbl\",\"type\":\"DOUBLE\"},{\"name\":\"s\",\"type\":\"SMALLINT\"},"
        "{\"name\":\"ub\",\"type\":\"UBIGINT\"},{\"name\":\"d38\",\"type\":\"DECIMAL(38,4)\"},"
        "{\"name\":\"tm\",\"type\":\"TIME\"},{\"name\":\"iv\",\"type\":\"INTERVAL\"},"
        "{\"name\":\"u\",\"type\":\"UUID\"},{\"name\":\"tsz\",\"type\":\"TIMESTAMP WITH TIME ZONE\"}],"
        "\"rows\":[[9007199254740993,-7,-0.05,\"a\\\"b\\\\c\\né\",\"1969-12-31\",\"2026-10-31 23:59:59\",true,"
        "170141183460469231731687303715884105727,0.1,-3,18446744073709551615,-12345678901234567890.1234,"
        "\"01:02:03.500000\",\"1 year 2 months 3 days 04:05:06\",\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
        "\"2020-01-01 00:00:00+00\"],"
        "[null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null]],"
        "\"row_count\":2,\"truncated\":false}";
    T_OK(run(e, "SELECT * EXCLUDE (lst) FROM t ORDER BY b NULLS LAST", 10, 0, json, sizeof json, &info) == GW_OK,
         "every type: %s", info.message);
    T_STREQ(json, want, "type mapping and JSON: %s", json);
    T_OK(run(e, "SELECT sum(i) AS si, sum(d) AS sd, sum(b) AS sb FROM t", 10, 0, json, sizeof json, &info) == GW_OK,
         "sums");
    T_STREQ(json,
            "{\"columns\":[{\"name\":\"si\",\"type\":\"HUGEINT\"},{\"name\":\"sd\",\"type\":\"DECIMAL(38,2)\"},"
            "{\"name\":\"sb\",\"type\":\"HUGEINT\"}],\"rows\":[[-7,-0.05,9007199254740993]],\"row_count\":1,"
            "\"truncated\":false}",
            "HUGEINT and DECIMAL(38,2) sums are numbers: %s", json);
    T_OK(run(e, "SELECT 'NaN'::DOUBLE AS a, 1.5::FLOAT AS b, 12.5::DECIMAL(4,1) AS c, 0.07::DECIMAL(3,2) AS z,"
                " -170141183460469231731687303715884105727::HUGEINT AS m, DATE '2000-02-29' AS leap,"
                " TIMESTAMP '1960-01-01 00:00:00.25' AS old, 'infinity'::TIMESTAMP_S AS inf, DATE '-infinity' AS ninf",
             10, 0, json, sizeof json, &info) == GW_OK,
         "edge values: %s", info.message);
    T_OK(strstr(json, "\"rows\":[[null,1.5,12.5,0.07,-170141183460469231731687303715884105727,\"2000-02-29\","
                      "\"1960-01-01 00:00:00.250000\",\"infinity\",\"-infinity\"]]") != NULL,
         "NaN is null, decimals keep their scale, old timestamps: %s", json);
    T_OK(run(e, "SELECT lst FROM t", 10, 0, json, sizeof json, &info) == GW_EUNSUPPORTED &&
             strstr(info.message, "LIST") != NULL,
         "a LIST column is refused with a hint: %s", info.message);
    T_OK(run(e, "SELECT lst::VARCHAR AS l FROM t ORDER BY 1", 10, 0, json, sizeof json, &info) == GW_OK &&
             strstr(json, "[[\"[1, 2]\"],[null]]") != NULL,
         "cast to VARCHAR works: %s", json);
    T_OK(run(e, "SELECT 1::BIGINT AS a, 'x' AS b", 10, 0, json, sizeof json, &info) == GW_OK, "tiny");
    T_STREQ(json,
            "{\"columns\":[{\"name\":\"a\",\"type\":\"BIGINT\"},{\"name\":\"b\",\"type\":\"VARCHAR\"}],"
            "\"rows\":[[1,\"x\"]],\"row_count\":1,\"truncated\":false}",
            "exact system.md 2 shape");
    T_OK(run(e, "SELECT 1 AS a WHERE false", 10, 0, json, sizeof json, &info) == GW_OK, "empty result");
    T_STREQ(json, "{\"columns\":[{\"name\":\"a\",\"type\":\"INTEGER\"}],\"rows\":[],\"row_count\":0,\"truncated\":false}",
            "empty rows");
    gw_engine_close(e);
}

/* ---- row cap, streaming, timeout ---- */

static void test_cap(void)
{
    gw_engine_t *e = open_ro(catalog);
    gw_query_info_t info;
    static char json[1 << 20];
    T_OK(run(e, "SELECT sku_id FROM skus ORDER BY sku_id", 3, 0, json, sizeof json, &info) == GW_OK, "capped");
    T_STREQ(json,
            "{\"columns\":[{\"name\":\"sku_id\",\"type\":\"BIGINT\"}],\"rows\":[[100000000],[100000001],[100000002]],"
            "\"row_count\":3,\"truncated\":true}",
            "3 rows, truncated: %s", json);
    T_OK(info.rows == 3 && info.truncated, "info says so too");
    T_OK(run(e, "SELECT sku_id FROM skus", 5000, 0, json, sizeof json, &info) == GW_OK && info.rows == 5000 &&
             !info.truncated,
         "cap == row count: not truncated");
    T_OK(run(e, "SELECT sku_id FROM skus", 0, 0, json, sizeof json, &info) == GW_OK && info.rows == 5000 &&
             !info.truncated,
         "no cap");
    T_OK(run(e, "SELECT x FROM range(4096) t(x)", 2048, 0, json, sizeof json, &info) == GW_OK && info.rows == 2048 &&
             info.truncated,
         "cap at a chunk boundary, more rows: truncated");
    T_OK(run(e, "SELECT x FROM range(4096) t(x)", 4096, 0, json, sizeof json, &info) == GW_OK && info.rows == 4096 &&
             !info.truncated,
         "cap at the end: not truncated");
    double t0 = now_ms();
    T_OK(run(e, "SELECT i.sku_id, s.title FROM inventory i, skus s, warehouses w", 100, 0, json, sizeof json, &info) ==
                 GW_OK &&
             info.truncated && info.rows == 100,
         "a 500M-row cross join, capped: %s", info.message);
    T_OK(now_ms() - t0 < 5000, "streaming stops early: %.0f ms", now_ms() - t0);
    gw_engine_close(e);
}

static void test_timeout(void)
{
    gw_engine_t *e = open_ro(catalog);
    gw_query_info_t info;
    char json[4096];
    double t0 = now_ms();
    gw_err_t rc = run(e, "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = 3",
                      10, 300, json, sizeof json, &info);
    double ms = now_ms() - t0;
    T_OK(rc == GW_ETIMEOUT && info.engine_code == DUCKDB_ERROR_INTERRUPT, "slow cross join times out: %d %s", rc,
         info.message);
    T_OK(ms >= 290 && ms < 2500, "within tolerance: %.0f ms", ms);
    T_OK(strstr(info.message, "300 ms") != NULL, "message: %s", info.message);
    t0 = now_ms();
    rc = run(e, "SELECT sum(a.range * b.range) FROM range(100000) a, (SELECT * FROM range(100000) ORDER BY 1 DESC) b",
             10, 200, json, sizeof json, &info);
    T_OK(rc == GW_ETIMEOUT && now_ms() - t0 < 2500, "another query shape is interrupted too: %d %.0f ms", rc,
         now_ms() - t0);
    t0 = now_ms();
    T_OK(run(e, "SELECT count(*) FROM skus", 10, 5000, json, sizeof json, &info) == GW_OK, "usable after a timeout");
    T_OK(now_ms() - t0 < 1000, "an unfired watchdog doesn't delay the answer: %.0f ms", now_ms() - t0);
    gw_engine_close(e);
}

/* ---- describe ---- */

static const gw_schema_column_t *find_col(const gw_schema_t *s, const char *table, const char *col)
{
    for (size_t t = 0; t < s->n_tables; t++)
        for (size_t c = 0; strcmp(s->tables[t].name, table) == 0 && c < s->tables[t].n_columns; c++)
            if (strcmp(s->tables[t].columns[c].name, col) == 0)
                return &s->tables[t].columns[c];
    return NULL;
}

static void test_describe(void)
{
    gw_engine_t *e = open_ro(catalog);
    gw_schema_t *s = NULL;
    char err[512];
    T_OK(gw_engine_describe(e, 0, &s, err, sizeof err) == GW_OK && s != NULL, "describe: %s", err);
    if (s == NULL)
        return;
    T_OK(s->n_tables == 4 && strcmp(s->tables[0].name, "categories") == 0 && strcmp(s->tables[1].name, "inventory") == 0 &&
             strcmp(s->tables[2].name, "skus") == 0 && strcmp(s->tables[3].name, "warehouses") == 0,
         "four tables, sorted");
    T_OK(s->tables[2].row_count == 5000 && s->tables[0].row_count == 23 && s->tables[3].row_count == 9,
         "row counts");
    T_OK(s->tables[2].n_columns == 9 && s->tables[1].n_columns == 6, "column counts");
    const gw_schema_column_t *c = find_col(s, "warehouses", "region");
    T_OK(c != NULL && c->n_values == 5 && strcmp(c->values[0], "Midwest") == 0 && strcmp(c->values[4], "West") == 0,
         "the five regions, sorted");
    c = find_col(s, "skus", "title");
    T_OK(c != NULL && c->high_cardinality && c->values == NULL, "titles are high-cardinality");
    c = find_col(s, "skus", "price_usd");
    T_OK(c != NULL && strcmp(c->type, "DECIMAL(10,2)") == 0 && c->values == NULL, "price_usd type");
    c = find_col(s, "skus", "brand");
    T_OK(c != NULL && c->n_values == 15 && !c->high_cardinality, "15 brands: %zu", c ? c->n_values : 0);
    c = find_col(s, "warehouses", "state");
    T_OK(c != NULL && strcmp(c->type, "VARCHAR") == 0 && c->n_values == 9, "states");
    gw_buf_t b;
    const char *head = "{\"engine\":\"duckdb\",\"tables\":[{\"name\":\"categories\",\"row_count\":23,";
    gw_buf_init(&b, 1 << 20);
    T_OK(gw_schema_to_json(s, &b) == GW_OK && b.ptr != NULL &&
             strstr(b.ptr, "{\"name\":\"region\",\"type\":\"VARCHAR\",\"values\":[\"Midwest\",\"Northeast\","
                           "\"Southeast\",\"Southwest\",\"West\"]}") != NULL &&
             strstr(b.ptr, "{\"name\":\"title\",\"type\":\"VARCHAR\",\"high_cardinality\":true}") != NULL &&
             strncmp(b.ptr, head, strlen(head)) == 0,
         "schema JSON: %.300s", b.ptr ? b.ptr : "");
    gw_buf_free(&b);
    gw_schema_free(s);
    T_OK(gw_engine_describe(e, 3, &s, err, sizeof err) == GW_OK, "describe with a cap of 3");
    c = s != NULL ? find_col(s, "warehouses", "region") : NULL;
    T_OK(c != NULL && c->high_cardinality && c->values == NULL, "5 regions > 3: high cardinality");
    gw_schema_free(s);
    gw_engine_close(e);
}

/* ---- the check hook ---- */

typedef struct hook_log {
    int calls;
    int64_t row_cap;
} hook_log_t;

static gw_err_t test_hook(void *data, const char *sql, size_t len, int64_t row_cap, gw_buf_t *out, char *why,
                          size_t whylen)
{
    hook_log_t *h = data;
    h->calls++;
    h->row_cap = row_cap;
    gw_buf_reset(out);
    if (memmem(sql, len, "secret", 6) != NULL) {
        snprintf(why, whylen, "no secrets here");
        return GW_EDENIED;
    }
    if (memmem(sql, len, "rewrite", 7) != NULL)
        return gw_buf_adds(out, "SELECT 42 AS answer");
    return gw_buf_add(out, sql, len);
}

static void test_hook_calls(void)
{
    hook_log_t h = {0};
    gw_duckdb_opts_t o = {0};
    gw_engine_t *e = NULL;
    gw_query_info_t info;
    char err[256], json[4096];
    o.path = catalog;
    o.check = test_hook;
    o.check_data = &h;
    T_OK(gw_engine_duckdb_open(&o, &e, err, sizeof err) == GW_OK, "open with a hook");
    T_OK(run(e, "SELECT secret FROM skus", 10, 0, json, sizeof json, &info) == GW_EDENIED &&
             strcmp(info.message, "no secrets here") == 0,
         "the hook refuses: %s", info.message);
    T_OK(h.calls == 1 && h.row_cap == 11, "called with the cap + 1 (to see truncation): %lld", (long long)h.row_cap);
    T_OK(run(e, "SELECT 'rewrite'", 0, 0, json, sizeof json, &info) == GW_OK && strstr(json, "[[42]]") != NULL &&
             h.row_cap == 0,
         "the hook's SQL runs: %s", json);
    T_OK(run(e, "DROP TABLE skus", 10, 0, json, sizeof json, &info) == GW_EDENIED, "built-in check still applies");
    gw_schema_t *s = NULL;
    int before = h.calls;
    T_OK(gw_engine_describe(e, 0, &s, err, sizeof err) == GW_OK && h.calls == before,
         "describe's own catalog queries skip the hook");
    gw_schema_free(s);
    gw_engine_close(e);
}

/* ---- concurrency ---- */

typedef struct worker {
    gw_engine_t *e;
    int ok;
    long long want[10];
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char sql[160];
    for (int k = 0; k < 30; k++) {
        int wh = 1 + k % 9;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM inventory WHERE warehouse_id = %d", wh);
        w->ok += count_of(w->e, sql) == w->want[wh];
    }
    return NULL;
}

static void test_concurrency(void)
{
    gw_engine_t *e = open_ro(catalog);
    worker_t w[4];
    pthread_t th[4];
    long long want[10] = {0};
    char sql[160];
    for (int wh = 1; wh <= 9; wh++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM inventory WHERE warehouse_id = %d", wh);
        want[wh] = count_of(e, sql);
    }
    for (int i = 0; i < 4; i++) {
        w[i].e = e;
        w[i].ok = 0;
        memcpy(w[i].want, want, sizeof want);
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    T_OK(w[0].ok + w[1].ok + w[2].ok + w[3].ok == 120, "120 concurrent queries right: %d", w[0].ok + w[1].ok + w[2].ok + w[3].ok);
    gw_engine_close(e);
}

/* ---- llmgw sql ---- */

static int capture(int (*fn)(int, char **), int argc, char **argv, char *out, size_t outcap)
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

static void test_sql_cli(void)
{
    static char out[1 << 16];
    char *ok[] = {"sql", "--json", "--db", catalog, "SELECT count(*) AS n FROM skus", NULL};
    T_OK(capture(gw_sql_cmd, 5, ok, out, sizeof out) == 0, "llmgw sql exits 0: %s", out);
    T_STREQ(out, "{\"columns\":[{\"name\":\"n\",\"type\":\"BIGINT\"}],\"rows\":[[5000]],\"row_count\":1,\"truncated\":false}\n",
            "JSON on stdout");
    char *cap[] = {"sql", "--db", catalog, "--max-rows", "2", "SELECT sku_id FROM skus ORDER BY sku_id", NULL};
    T_OK(capture(gw_sql_cmd, 6, cap, out, sizeof out) == 0 && strstr(out, "\"row_count\":2,\"truncated\":true}") != NULL,
         "--max-rows truncates: %s", out);
    char *bad[] = {"sql", "--db", catalog, "DROP TABLE skus", NULL};
    T_OK(capture(gw_sql_cmd, 4, bad, out, sizeof out) == 1, "a refused query exits 1");
    T_OK(strncmp(out, "{\"error\":{\"message\":\"", 21) == 0 &&
             strstr(out, "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"sql_refused\"}}\n") != NULL,
         "OpenAI error object on stdout: %s", out);
    char *missing[] = {"sql", "--db", "/nonexistent/x.duckdb", "SELECT 1", NULL};
    T_OK(capture(gw_sql_cmd, 4, missing, out, sizeof out) == 1 && strstr(out, "\"code\":\"catalog_not_found\"") != NULL,
         "missing catalog: %s", out);
    char cfg[160], line[320];
    snprintf(cfg, sizeof cfg, "%s/llmgw.yaml", tmpdir);
    FILE *f = fopen(cfg, "w");
    snprintf(line, sizeof line, "ask:\n  engine: duckdb\n  duckdb: {path: %s}\n", catalog);
    if (f != NULL) {
        fputs(line, f);
        fclose(f);
    }
    char *viacfg[] = {"sql", "--config", cfg, "SELECT count(*) AS n FROM warehouses", NULL};
    T_OK(capture(gw_sql_cmd, 4, viacfg, out, sizeof out) == 0 && strstr(out, "\"rows\":[[9]]") != NULL,
         "--config names the catalog: %s", out);
    char *badcfg[] = {"sql", "--config", "/nonexistent/llmgw.yaml", "SELECT 1", NULL};
    T_OK(capture(gw_sql_cmd, 4, badcfg, out, sizeof out) == 1 && strstr(out, "\"code\":\"config_error\"") != NULL,
         "a bad --config: %s", out);
    char *noq[] = {"sql", "--db", catalog, NULL};
    T_OK(capture(gw_sql_cmd, 3, noq, out, sizeof out) == 2 && strstr(out, "usage") != NULL, "no query: usage, exit 2");
    char *two[] = {"sql", "SELECT 1", "SELECT 2", NULL};
    T_OK(capture(gw_sql_cmd, 3, two, out, sizeof out) == 2, "two queries: usage error");
    char *opt[] = {"sql", "--frobnicate", "SELECT 1", NULL};
    T_OK(capture(gw_sql_cmd, 3, opt, out, sizeof out) == 2, "unknown option: usage error");
}

int main(void)
{
    if (setup() != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    test_refusals();
    test_types();
    test_cap();
    test_timeout();
    test_describe();
    test_hook_calls();
    test_concurrency();
    test_sql_cli();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return t_done("test_engine_duckdb");
}

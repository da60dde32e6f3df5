/* test_sql_guard.c - the SQL guard against its corpora and its contracts.
 *
 * Every line of tests/data/guard/attacks*.txt must be refused and every line
 * of legit*.txt accepted (DuckDB legit queries are also run, rewritten, on a
 * small in-memory catalog). Then: the row-cap rewrite keeps ORDER BY and caps
 * rows, exact messages for representative refusals, ClickHouse rewrites,
 * argument and buffer errors, allocation failures, and several threads on
 * one guard. Corpus format: see the header of the data files.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duckdb_dl.h"

#include "alloc.h"
#include "buf.h"
#include "catalog_schema.h"
#include "config.h"
#include "sql_guard.h"
#include "test.h"

#define DATA_DIR GW_SOURCE_DIR "/tests/data/guard/"

/* ---- corpus files ---- */

typedef struct corpus {
    char **lines;
    size_t *lens;
    size_t n;
} corpus_t;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the escapes \n \t \r \0 \xHH \\ in place; returns the length. */
static size_t unescape(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\' || i + 1 >= n) {
            s[o++] = c;
            continue;
        }
        c = s[++i];
        if (c == 'x' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            s[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == '0' ? '\0' : c;
        }
    }
    return o;
}

static int corpus_load(corpus_t *c, const char *name)
{
    char path[512], line[70000];
    FILE *f;
    memset(c, 0, sizeof(*c));
    snprintf(path, sizeof(path), "%s%s", DATA_DIR, name);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strcspn(line, "\n");
        if (n == 0 || strncmp(line, "## ", 3) == 0)
            continue;
        c->lines = gw_realloc(c->lines, (c->n + 1) * sizeof(*c->lines));
        c->lens = gw_realloc(c->lens, (c->n + 1) * sizeof(*c->lens));
        c->lines[c->n] = gw_strndup(line, n);
        c->lens[c->n] = unescape(c->lines[c->n], n);
        c->n++;
    }
    fclose(f);
    return 0;
}

static void corpus_free(corpus_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        gw_free(c->lines[i]);
    gw_free(c->lines);
    gw_free(c->lens);
}

/* ---- a tiny catalog to run accepted SQL on ---- */

static const char sample_rows[] =
    "INSERT INTO categories VALUES (1, NULL, 'Furniture', 'Furniture', 1),"
    " (2, 1, 'Office Furniture', 'Furniture > Office Furniture', 2),"
    " (3, 2, 'Office Chairs', 'Furniture > Office Furniture > Office Chairs', 3),"
    " (4, 3, 'Ergonomic Office Chairs', 'Furniture > Office Furniture > Office Chairs > Ergonomic Office Chairs', 4),"
    " (5, 2, 'Standing Desks', 'Furniture > Office Furniture > Standing Desks', 3);"
    "INSERT INTO warehouses VALUES (1, 'WH-SEA-01', 'Seattle 1', 'Seattle', 'WA', 'West'),"
    " (2, 'WH-CHI-01', 'Chicago 1', 'Chicago', 'IL', 'Midwest'), (3, 'WH-PHX-01', 'Phoenix 1', 'Phoenix', 'AZ', 'Southwest');"
    "INSERT INTO skus SELECT i, 'Item ' || i || CASE WHEN i % 3 = 0 THEN ' Ergonomic Chair' ELSE ' Standing Desk' END,"
    " ['IKEA', 'Herman Miller', 'Acme', 'Generic'][1 + i % 4], CASE WHEN i % 2 = 0 THEN 4 ELSE 5 END,"
    " (i * 7.31 % 900 + 10)::DECIMAL(10,2), ['Black', 'White', 'Gray'][1 + i % 3], ['Mesh', 'Wood', 'Steel'][1 + i % 3],"
    " DATE '2020-01-01' + INTERVAL (i * 11) DAY, i % 5 <> 0 FROM range(1, 51) r(i);"
    "INSERT INTO inventory SELECT s.sku_id, w.warehouse_id, (s.sku_id * w.warehouse_id * 13) % 40, s.sku_id % 3,"
    " 5, TIMESTAMP '2024-01-01' + INTERVAL (s.sku_id) HOUR FROM skus s, warehouses w WHERE (s.sku_id + w.warehouse_id) % 2 = 0;";

typedef struct exec_db {
    duckdb_database db;
    duckdb_connection con;
} exec_db_t;

static int exec_open(exec_db_t *e)
{
    duckdb_result r;
    const char *setup[] = {"ATTACH ':memory:' AS retail; USE retail;", gw_catalog_ddl_duckdb, sample_rows};
    if (gw_duckdb_load(NULL, 0) != GW_OK || duckdb_open(NULL, &e->db) != DuckDBSuccess ||
        duckdb_connect(e->db, &e->con) != DuckDBSuccess)
        return -1;
    for (size_t i = 0; i < 3; i++) {
        int ok = duckdb_query(e->con, setup[i], &r) == DuckDBSuccess;
        if (!ok)
            fprintf(stderr, "setup: %s\n", duckdb_result_error(&r));
        duckdb_destroy_result(&r);
        if (!ok)
            return -1;
    }
    return 0;
}

static void exec_close(exec_db_t *e)
{
    duckdb_disconnect(&e->con);
    duckdb_close(&e->db);
}

/* Runs sql; returns the row count (-1 on error) and the first column's
 * values as text joined by ',' into vals (if not NULL). */
static long exec_rows(exec_db_t *e, const char *sql, gw_buf_t *vals)
{
    duckdb_result r;
    long rows = 0;
    if (duckdb_query(e->con, sql, &r) != DuckDBSuccess) {
        fprintf(stderr, "exec failed: %s\n  for: %s\n", duckdb_result_error(&r), sql);
        duckdb_destroy_result(&r);
        return -1;
    }
    if (vals != NULL)
        gw_buf_reset(vals);
    for (duckdb_data_chunk ch; (ch = duckdb_fetch_chunk(r)) != NULL; duckdb_destroy_data_chunk(&ch)) {
        idx_t n = duckdb_data_chunk_get_size(ch);
        for (idx_t i = 0; vals != NULL && i < n; i++) {
            duckdb_vector vec = duckdb_data_chunk_get_vector(ch, 0);
            duckdb_logical_type t = duckdb_vector_get_column_type(vec);
            if (duckdb_get_type_id(t) == DUCKDB_TYPE_BIGINT)
                gw_buf_printf(vals, "%lld,", (long long)((int64_t *)duckdb_vector_get_data(vec))[i]);
            duckdb_destroy_logical_type(&t);
        }
        rows += (long)n;
    }
    duckdb_destroy_result(&r);
    return rows;
}

/* ---- corpus runs ---- */

/* Checks every line; expect_ok: 1 legit, 0 attack. With e, accepted SQL is
 * also executed and must return at most cap rows. Returns the number of
 * lines that behaved as expected. */
static size_t run_corpus(gw_guard_t *g, const corpus_t *c, int expect_ok, exec_db_t *e, double *ms)
{
    const int64_t cap = 25;
    size_t good = 0;
    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    *ms = 0;
    for (size_t i = 0; i < c->n; i++) {
        gw_guard_verdict_t v;
        gw_err_t rc = gw_guard_check(g, c->lines[i], c->lens[i], cap, &out, &v);
        int ok = rc == GW_OK;
        *ms += v.ms;
        if (ok != expect_ok) {
            fprintf(stderr, "%s: %s [%s] %s\n  %.*s\n", expect_ok ? "legit REFUSED" : "attack ACCEPTED",
                    gw_strerror(rc), gw_guard_reason_name(v.reason), v.message, (int)c->lens[i], c->lines[i]);
            continue;
        }
        if (!ok && (v.reason == GW_GUARD_OK || v.message[0] == '\0' || out.len != 0 || rc != GW_EDENIED)) {
            fprintf(stderr, "refusal without reason/message: %.*s\n", (int)c->lens[i], c->lines[i]);
            continue;
        }
        if (ok && e != NULL) {
            long rows = exec_rows(e, out.ptr, NULL);
            if (rows < 0 || rows > cap)
                continue;
        }
        good++;
    }
    gw_buf_free(&out);
    return good;
}

static void corpus_case(gw_guard_t *g, const char *dialect, const char *file, int legit, exec_db_t *e,
                        size_t min_lines)
{
    corpus_t c;
    double ms;
    size_t good;
    T_OK(corpus_load(&c, file) == 0, "load %s", file);
    T_OK(c.n >= min_lines, "%s has %zu lines, want >= %zu", file, c.n, min_lines);
    good = run_corpus(g, &c, legit, e, &ms);
    printf("guard %s: %zu/%zu %s %s (%.3f ms per query)\n", dialect, good, c.n,
           legit ? "legit" : "attacks", legit ? "accepted" : "refused", c.n ? ms / (double)c.n : 0.0);
    T_OK(good == c.n, "%s: %zu of %zu as expected", file, good, c.n);
    corpus_free(&c);
}

/* ---- row cap on DuckDB ---- */

/* The rewritten SQL returns exactly the first min(cap, n) rows of the
 * original, in the same order. */
static void cap_case(gw_guard_t *g, exec_db_t *e, const char *sql, int64_t cap, long want_rows,
                     int want_added)
{
    gw_buf_t out, full, capped;
    gw_guard_verdict_t v;
    gw_buf_init(&out, 1 << 16);
    gw_buf_init(&full, 1 << 16);
    gw_buf_init(&capped, 1 << 16);
    gw_err_t rc = gw_guard_check(g, sql, strlen(sql), cap, &out, &v);
    T_OK(rc == GW_OK, "cap: accepted %s (%s)", sql, v.message);
    if (rc == GW_OK) {
        long rows = exec_rows(e, out.ptr, &capped);
        long all = exec_rows(e, sql, &full);
        T_OK(rows == want_rows, "cap: %ld rows, want %ld: %s", rows, want_rows, out.ptr);
        T_OK(all >= rows && strncmp(full.ptr, capped.ptr, capped.len) == 0,
             "cap: order kept for %s\n  full:   %.80s\n  capped: %.80s", out.ptr, full.ptr, capped.ptr);
        T_OK(v.limit_added == want_added, "cap: limit_added=%d for %s", v.limit_added, sql);
    }
    gw_buf_free(&out);
    gw_buf_free(&full);
    gw_buf_free(&capped);
}

static void test_row_cap(gw_guard_t *g, exec_db_t *e)
{
    cap_case(g, e, "SELECT sku_id FROM skus ORDER BY price_usd DESC, sku_id", 7, 7, 1);
    cap_case(g, e, "SELECT sku_id FROM skus ORDER BY price_usd DESC, sku_id LIMIT 3", 7, 3, 0);
    cap_case(g, e, "SELECT sku_id FROM skus ORDER BY price_usd DESC, sku_id LIMIT 1000;", 7, 7, 1);
    cap_case(g, e, "SELECT sku_id FROM skus ORDER BY sku_id DESC LIMIT 50 % -- half", 7, 7, 1);
    cap_case(g, e, "SELECT sku_id FROM skus ORDER BY sku_id OFFSET 10", 5, 5, 1);
    cap_case(g, e, "SELECT sku_id FROM skus WHERE sku_id < 5 UNION ALL SELECT sku_id FROM skus WHERE sku_id > 45 ORDER BY 1 DESC",
             4, 4, 1);
    cap_case(g, e, "(SELECT sku_id FROM skus LIMIT 40) ORDER BY sku_id", 6, 6, 1);
    cap_case(g, e, "WITH t AS MATERIALIZED (SELECT sku_id, price_usd FROM skus) SELECT sku_id FROM t ORDER BY price_usd, sku_id",
             9, 9, 1);
    cap_case(g, e, "SELECT i.sku_id FROM inventory i JOIN warehouses w USING (warehouse_id) ORDER BY i.on_hand DESC, i.sku_id, w.code /* x */ ;",
             10, 10, 1);
    cap_case(g, e, "SELECT sku_id FROM skus ORDER BY sku_id LIMIT 9223372036854775807", 3, 3, 1);
    cap_case(g, e, "SELECT sku_id FROM skus ORDER BY sku_id", 0, 50, 0);
}

/* Exact output text of the DuckDB rewrite for a few shapes. */
static void test_duck_rewrite_text(gw_guard_t *g)
{
    static const char *const cases[][2] = {
        {"SELECT 1", "SELECT 1\nLIMIT 10"},
        {"SELECT 1 ; -- done\n", "SELECT 1\nLIMIT 10"},
        {"SELECT 1 LIMIT 5 /* c */", "SELECT 1 LIMIT 5"},
        {"SELECT 1 LIMIT 1_000", "SELECT 1 LIMIT 10"},
        {"SELECT 1 LIMIT 50 %", "SELECT * FROM (\nSELECT 1 LIMIT 50 %\n) AS gw_capped LIMIT 10"},
        {"SELECT 1 AS a, 2 AS a LIMIT 99", "SELECT 1 AS a, 2 AS a LIMIT 10"},
        {"SELECT ';' AS s -- x", "SELECT ';' AS s\nLIMIT 10"},
    };
    gw_buf_t out;
    gw_buf_init(&out, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_guard_verdict_t v;
        gw_err_t rc = gw_guard_check(g, cases[i][0], strlen(cases[i][0]), 10, &out, &v);
        T_OK(rc == GW_OK, "rewrite accepted: %s (%s)", cases[i][0], v.message);
        T_STREQ(out.ptr, cases[i][1], "rewrite of [%s] gave [%s]", cases[i][0], out.ptr);
    }
    gw_buf_free(&out);
}

/* ---- messages ---- */

typedef struct msg_case {
    const char *sql;
    gw_guard_reason_t reason;
    const char *message;
} msg_case_t;

static void check_messages(gw_guard_t *g, const msg_case_t *cases, size_t n)
{
    gw_buf_t out;
    gw_buf_init(&out, 4096);
    for (size_t i = 0; i < n; i++) {
        gw_guard_verdict_t v;
        gw_err_t rc = gw_guard_check(g, cases[i].sql, strlen(cases[i].sql), 10, &out, &v);
        T_OK(rc == GW_EDENIED && v.reason == cases[i].reason, "reason for [%s]: got %s (%s)", cases[i].sql,
             gw_guard_reason_name(v.reason), v.message);
        T_STREQ(v.message, cases[i].message, "message for [%s]: [%s]", cases[i].sql, v.message);
    }
    gw_buf_free(&out);
}

static void test_duck_messages(gw_guard_t *g)
{
    static const msg_case_t cases[] = {
        {"DROP TABLE skus", GW_GUARD_NOT_SELECT, "only SELECT is allowed"},
        {"SELECT 1; DROP TABLE skus", GW_GUARD_MULTI, "multiple statements are not allowed (found 2)"},
        {"SELECT * FROM secret", GW_GUARD_TABLE, "table 'secret' is not in the catalog"},
        {"SELECT * FROM read_csv('/etc/passwd')", GW_GUARD_TABLE_FUNCTION, "table function read_csv is not allowed"},
        {"SELECT * FROM 'x.csv'", GW_GUARD_TABLE, "reading files is not allowed ('x.csv')"},
        {"SELECT current_setting('threads')", GW_GUARD_FUNCTION, "function current_setting is not allowed"},
        {"SELECT getenv('HOME')", GW_GUARD_FUNCTION, "function getenv is not allowed"},
        {"SELECT * FROM query('SELECT 1')", GW_GUARD_TABLE_FUNCTION, "table function query is not allowed"},
        {"SELECT * FROM information_schema.tables", GW_GUARD_SCHEMA,
         "table 'information_schema.tables' is outside the catalog: only unqualified names or main./retail. may be used"},
        {"PRAGMA enable_profiling", GW_GUARD_NOT_SELECT, "only SELECT is allowed"},
        {"DESCRIBE skus", GW_GUARD_NOT_SELECT, "SHOW, DESCRIBE and SUMMARIZE are not allowed; only SELECT is allowed"},
        {"SELECT * FROM skus WHERE sku_id = ?", GW_GUARD_CLAUSE, "query parameters are not allowed"},
        {"SELECT nosuch FROM skus", GW_GUARD_BIND,
         "the query does not bind: Referenced column \"nosuch\" not found in FROM clause!"},
        {"SELEC 1", GW_GUARD_SYNTAX, "syntax error: syntax error at or near \"SELEC\""},
        {"  -- nothing\n ", GW_GUARD_EMPTY, "the SQL has no statement"},
        {"WITH a AS (SELECT * FROM secret), secret AS (SELECT 1) SELECT * FROM a", GW_GUARD_TABLE,
         "table 'secret' is not in the catalog"},
        {"SELECT (SELECT (SELECT (SELECT (SELECT (SELECT (SELECT (SELECT (SELECT (SELECT (SELECT (SELECT 1)))))))))))",
         GW_GUARD_TOO_LONG, "subqueries are nested more than 10 deep"},
    };
    check_messages(g, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_ch_messages(gw_guard_t *g)
{
    static const msg_case_t cases[] = {
        {"DROP TABLE skus", GW_GUARD_NOT_SELECT, "only SELECT is allowed"},
        {"SELECT 1; SELECT 2", GW_GUARD_MULTI, "multiple statements are not allowed"},
        {"SELECT * FROM secret", GW_GUARD_TABLE, "table 'secret' is not in the catalog"},
        {"SELECT * FROM url('http://x', CSV, 'a String')", GW_GUARD_TABLE_FUNCTION, "table function url is not allowed"},
        {"SELECT * FROM system.tables", GW_GUARD_SCHEMA, "system tables are not allowed"},
        {"SELECT * FROM default.skus", GW_GUARD_SCHEMA, "database 'default' is not allowed; only retail is"},
        {"SELECT * FROM skus SETTINGS max_threads = 1", GW_GUARD_CLAUSE, "SETTINGS is not allowed"},
        {"SELECT * FROM skus INTO OUTFILE 'x'", GW_GUARD_CLAUSE, "INTO OUTFILE is not allowed"},
        {"SELECT * FROM skus FORMAT CSV", GW_GUARD_CLAUSE, "FORMAT is not allowed (the engine sets the output format)"},
        {"SELECT file('/etc/passwd')", GW_GUARD_FUNCTION, "function file is not allowed"},
        {"SELECT brand FROM skus ORDER BY 1", GW_GUARD_CLAUSE,
         "ORDER BY position is not supported by ClickHouse; use column names"},
        {"SELECT 'open", GW_GUARD_SYNTAX, "unterminated string at byte 7"},
        {"WITH t AS (SELECT 1) SELECT * FROM t", GW_GUARD_CLAUSE,
         "WITH name AS (subquery) is not supported by ClickHouse 18.16; inline the subquery"},
        {"SELECT * FROM skus, inventory", GW_GUARD_UNSAFE, "comma joins are not supported; use JOIN ... USING"},
        {"SELECT 1 FROM skus WHERE sku_id IN (default.secret)", GW_GUARD_UNSAFE,
         "IN (name) reads a table: 'default.secret' must be a catalog table or use IN (SELECT ...)"},
        {"SELECT 1 FROM skus WHERE sku_id IN secret", GW_GUARD_UNSAFE,
         "IN must be followed by a list or a subquery in parentheses"},
        {"SELECT title FROM skus LIMIT 1e9", GW_GUARD_CLAUSE, "LIMIT must be a plain number"},
        {"SELECT title FROM skus LIMIT 5 LIMIT 6", GW_GUARD_CLAUSE, "only one LIMIT is allowed (besides LIMIT n BY)"},
        {"SELECT 1 # note", GW_GUARD_BAD_TEXT, "'#' is not valid in ClickHouse 18.16 SQL"},
    };
    check_messages(g, cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- ClickHouse rewrite ---- */

static void test_ch_rewrite(gw_guard_t *g)
{
    static const char *const cases[][2] = {
        {"SELECT count() FROM skus", "SELECT count() FROM skus\nLIMIT 10"},
        {"SELECT title FROM skus LIMIT 5;", "SELECT title FROM skus LIMIT 5"},
        {"SELECT title FROM skus LIMIT 500 -- many", "SELECT title FROM skus LIMIT 10"},
        {"SELECT title FROM skus LIMIT 20, 300", "SELECT title FROM skus LIMIT 20, 10"},
        {"SELECT title FROM skus LIMIT 300 OFFSET 20", "SELECT title FROM skus LIMIT 10 OFFSET 20"},
        {"SELECT brand, title FROM skus LIMIT 2 BY brand", "SELECT brand, title FROM skus LIMIT 2 BY brand\nLIMIT 10"},
        {"SELECT brand FROM skus LIMIT 2 BY brand LIMIT 7", "SELECT brand FROM skus LIMIT 2 BY brand LIMIT 7"},
        {"SELECT 1 UNION ALL SELECT 2 LIMIT 1", "SELECT * FROM (\nSELECT 1 UNION ALL SELECT 2 LIMIT 1\n) LIMIT 10"},
        {"SELECT title FROM (SELECT title FROM skus LIMIT 100)", "SELECT title FROM (SELECT title FROM skus LIMIT 100)\nLIMIT 10"},
        {"SELECT 1 /* tail */ ; ", "SELECT 1\nLIMIT 10"},
        {"SELECT title FROM skus LIMIT 0005", "SELECT title FROM skus LIMIT 0005"},
        {"SELECT title FROM skus LIMIT 0011", "SELECT title FROM skus LIMIT 10"},
        {"SELECT 1 FROM skus WHERE sku_id IN (inventory)", "SELECT 1 FROM skus WHERE sku_id IN (inventory)\nLIMIT 10"},
    };
    gw_buf_t out;
    gw_buf_init(&out, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_guard_verdict_t v;
        gw_err_t rc = gw_guard_check(g, cases[i][0], strlen(cases[i][0]), 10, &out, &v);
        T_OK(rc == GW_OK, "ch accepted: %s (%s)", cases[i][0], v.message);
        T_STREQ(out.ptr, cases[i][1], "ch rewrite of [%s] gave [%s]", cases[i][0], out.ptr);
    }
    T_OK(gw_guard_check(g, "SELECT 1 -- x", 13, 0, &out, &(gw_guard_verdict_t){0}) == GW_OK &&
             strcmp(out.ptr, "SELECT 1") == 0,
         "row_cap 0 only trims: [%s]", out.ptr);
    gw_buf_free(&out);
}

/* ---- BigQuery ---- */

static void test_bq_messages(gw_guard_t *g)
{
    static const msg_case_t cases[] = {
        {"DECLARE x INT64", GW_GUARD_NOT_SELECT, "only SELECT is allowed"},
        {"SELECT 1; SELECT 2", GW_GUARD_MULTI, "multiple statements are not allowed"},
        {"SELECT * FROM secret", GW_GUARD_TABLE, "table 'secret' is not in the catalog (only my-proj.retail.<table>)"},
        {"SELECT * FROM `other.skus`", GW_GUARD_SCHEMA,
         "table 'other.skus' is not in the catalog (only my-proj.retail.<table>)"},
        {"SELECT * FROM retail.INFORMATION_SCHEMA.TABLES", GW_GUARD_SCHEMA, "INFORMATION_SCHEMA is not allowed"},
        {"SELECT * FROM EXTERNAL_QUERY('c', 'q')", GW_GUARD_TABLE_FUNCTION, "table function EXTERNAL_QUERY is not allowed"},
        {"SELECT EXTERNAL_QUERY('c', 'q')", GW_GUARD_FUNCTION, "function EXTERNAL_QUERY is not allowed"},
        {"SELECT ML.PREDICT(1)", GW_GUARD_FUNCTION, "qualified function calls (ML.PREDICT) are not allowed"},
        {"SELECT 1 FROM skus WHERE x IN (SELECT 1) AND y = (SELECT 1) OR z = @p", GW_GUARD_CLAUSE,
         "query parameters and @@system variables are not allowed"},
        {"SELECT * FROM skus |> WHERE TRUE", GW_GUARD_CLAUSE, "pipe syntax (|>) is not allowed"},
        {"SELECT * FROM skus FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP()", GW_GUARD_CLAUSE, "SYSTEM_TIME is not allowed"},
        {"SELECT 1 FROM skus s JOIN (SELECT 1) t ON TRUE WHERE EXISTS (SELECT 1 FROM t2)", GW_GUARD_TABLE,
         "table 't2' is not in the catalog (only my-proj.retail.<table>)"},
        {"SELECT r'\\''", GW_GUARD_BAD_TEXT, "a raw string may not hold a backslash before its quote (byte 7)"},
        {"SELECT 'open", GW_GUARD_SYNTAX, "unterminated string at byte 7"},
        {"SELECT title FROM skus LIMIT 5 LIMIT 6", GW_GUARD_CLAUSE, "only one outer LIMIT, a plain number, is allowed"},
        {"SELECT title FROM skus LIMIT 1 + 1", GW_GUARD_CLAUSE, "only one outer LIMIT, a plain number, is allowed"},
    };
    check_messages(g, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_bq_rewrite(gw_guard_t *g)
{
    static const char *const cases[][2] = {
        {"SELECT count(*) FROM skus", "SELECT count(*) FROM skus\nLIMIT 10"},
        {"SELECT title FROM skus LIMIT 5;", "SELECT title FROM skus LIMIT 5"},
        {"SELECT title FROM skus LIMIT 500 # many", "SELECT title FROM skus LIMIT 10"},
        {"SELECT title FROM skus LIMIT 300 OFFSET 20", "SELECT title FROM skus LIMIT 10 OFFSET 20"},
        {"SELECT 1 UNION ALL SELECT 2 LIMIT 1", "SELECT * FROM (\nSELECT 1 UNION ALL SELECT 2 LIMIT 1\n) LIMIT 10"},
        {"SELECT * EXCEPT (title) FROM skus", "SELECT * EXCEPT (title) FROM skus\nLIMIT 10"},
        {"WITH t AS (SELECT title FROM skus LIMIT 100) SELECT * FROM t",
         "WITH t AS (SELECT title FROM skus LIMIT 100) SELECT * FROM t\nLIMIT 10"},
        {"SELECT title FROM skus LIMIT 0011", "SELECT title FROM skus LIMIT 10"},
    };
    gw_buf_t out;
    gw_buf_init(&out, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_guard_verdict_t v;
        gw_err_t rc = gw_guard_check(g, cases[i][0], strlen(cases[i][0]), 10, &out, &v);
        T_OK(rc == GW_OK, "bq accepted: %s (%s)", cases[i][0], v.message);
        T_STREQ(out.ptr, cases[i][1], "bq rewrite of [%s] gave [%s]", cases[i][0], out.ptr);
    }
    gw_buf_free(&out);
}

/* Construction, the dataset/project binding and the engine -> dialect map. */
static void test_bq_config(void)
{
    char err[128] = "";
    gw_buf_t out;
    gw_guard_verdict_t v;
    gw_buf_init(&out, 4096);
    gw_guard_t *plain = gw_guard_new(GW_SQL_BIGQUERY, err, sizeof err);
    gw_guard_t *shop = gw_guard_new_bigquery("acme-prod", "shop", err, sizeof err);
    T_OK(plain != NULL && shop != NULL && gw_guard_dialect(shop) == GW_SQL_BIGQUERY, "bq guards: %s", err);
    T_OK(plain != NULL && gw_guard_check(plain, "SELECT 1 FROM retail.skus", 25, 0, &out, &v) == GW_OK, "default dataset");
    T_OK(plain != NULL && gw_guard_check(plain, "SELECT 1 FROM `p.retail.skus`", 29, 0, &out, &v) == GW_EDENIED,
         "no project configured: 3-part names refused");
    T_OK(shop != NULL && gw_guard_check(shop, "SELECT 1 FROM `acme-prod.shop.skus`", 35, 0, &out, &v) == GW_OK,
         "configured project and dataset: %s", v.message);
    T_OK(shop != NULL && gw_guard_check(shop, "SELECT 1 FROM retail.skus", 25, 0, &out, &v) == GW_EDENIED &&
             v.reason == GW_GUARD_SCHEMA,
         "retail is another dataset here");
    T_OK(gw_guard_new_bigquery("p", "bad;name", err, sizeof err) == NULL && strstr(err, "bad project") != NULL,
         "bad dataset name refused: %s", err);
    T_OK(gw_guard_new_bigquery("p q", NULL, NULL, 0) == NULL, "bad project name refused");
    T_OK(gw_guard_dialect_for_engine("bigquery") == GW_SQL_BIGQUERY &&
             gw_guard_dialect_for_engine("clickhouse") == GW_SQL_CLICKHOUSE &&
             gw_guard_dialect_for_engine("duckdb") == GW_SQL_DUCKDB && gw_guard_dialect_for_engine(NULL) == GW_SQL_DUCKDB,
         "engine -> dialect");
    gw_guard_free(plain);
    gw_guard_free(shop);
    gw_config_t *cfg = gw_config_default();
    if (cfg != NULL) {
        gw_free(cfg->ask.engine);
        gw_free(cfg->ask.bigquery_project);
        gw_free(cfg->ask.bigquery_dataset);
        cfg->ask.engine = gw_strdup("bigquery");
        cfg->ask.bigquery_project = gw_strdup("acme-prod");
        cfg->ask.bigquery_dataset = gw_strdup("shop");
    }
    gw_guard_t *fc = cfg != NULL ? gw_guard_new_for_config(cfg, err, sizeof err) : NULL;
    T_OK(fc != NULL && gw_guard_dialect(fc) == GW_SQL_BIGQUERY &&
             gw_guard_check(fc, "SELECT 1 FROM `acme-prod.shop.skus`", 35, 0, &out, &v) == GW_OK &&
             gw_guard_check(fc, "SELECT 1 FROM retail.skus", 25, 0, &out, &v) == GW_EDENIED,
         "guard from a bigquery config: %s", err);
    gw_guard_free(fc);
    gw_guard_t *fd = gw_guard_new_for_config(NULL, err, sizeof err);
    T_OK(fd != NULL && gw_guard_dialect(fd) == GW_SQL_DUCKDB, "no config: DuckDB");
    gw_guard_free(fd);
    if (cfg != NULL)
        gw_config_unref(cfg);
    gw_buf_free(&out);
}

/* ---- contracts ---- */

static void test_contracts(gw_guard_t *duck, gw_guard_t *ch)
{
    gw_buf_t out, tiny;
    gw_guard_verdict_t v;
    char *big = gw_malloc(GW_GUARD_MAX_SQL + 2);
    gw_buf_init(&out, 4096);
    gw_buf_init(&tiny, 8);
    T_OK(gw_guard_check(NULL, "SELECT 1", 8, 10, &out, &v) == GW_EINVAL && v.reason == GW_GUARD_INTERNAL, "NULL guard");
    T_OK(gw_guard_check(duck, "SELECT 1", 8, 10, NULL, &v) == GW_EINVAL, "NULL out");
    T_OK(gw_guard_check(duck, NULL, 0, 10, &out, &v) == GW_EDENIED && v.reason == GW_GUARD_EMPTY, "NULL, 0 is empty");
    T_OK(gw_guard_check(ch, "", 0, 10, &out, &v) == GW_EDENIED && v.reason == GW_GUARD_EMPTY, "empty ch");
    memset(big, ' ', GW_GUARD_MAX_SQL + 1);
    memcpy(big, "SELECT 1", 8);
    T_OK(gw_guard_check(duck, big, GW_GUARD_MAX_SQL + 1, 10, &out, &v) == GW_EDENIED && v.reason == GW_GUARD_TOO_LONG,
         "too long");
    T_OK(gw_guard_check(duck, big, GW_GUARD_MAX_SQL, 10, &out, &v) == GW_OK, "max length accepted (%s)", v.message);
    T_OK(gw_guard_check(duck, "SELECT 1 AS x", 8, 10, &out, &v) == GW_OK && strcmp(out.ptr, "SELECT 1\nLIMIT 10") == 0,
         "len is honoured, not strlen: [%s]", out.ptr);
    T_OK(gw_guard_check(duck, "SELECT count(*) FROM skus", 25, 10, &tiny, &v) == GW_ETOOBIG && tiny.len == 0 &&
             v.reason == GW_GUARD_INTERNAL,
         "duck out buffer too small");
    T_OK(gw_guard_check(ch, "SELECT count() FROM skus", 24, 10, &tiny, &v) == GW_ETOOBIG, "ch out buffer too small");
    gw_buf_adds(&out, "stale");
    T_OK(gw_guard_check(duck, "DROP TABLE skus", 15, 10, &out, &v) == GW_EDENIED && out.len == 0, "refusal empties out");
    T_OK(gw_guard_dialect(ch) == GW_SQL_CLICKHOUSE && gw_guard_dialect(duck) == GW_SQL_DUCKDB, "dialect");
    T_STREQ(gw_guard_reason_name(GW_GUARD_MULTI), "multiple_statements", "reason name");
    T_STREQ(gw_guard_reason_name((gw_guard_reason_t)99), "unknown", "unknown reason name");
    T_OK(gw_guard_new((gw_sql_dialect_t)7, NULL, 0) == NULL, "bad dialect");
    gw_free(big);
    gw_buf_free(&out);
    gw_buf_free(&tiny);
}

/* Every allocation failure point gives GW_ENOMEM (or still works), never a crash. */
static void test_alloc_failures(gw_guard_t *duck, gw_guard_t *ch)
{
    const char *sql = "SELECT brand, count(*) FROM skus GROUP BY brand";
    int enomem = 0, ok = 0, other = 0;
    for (long n = 0; n < 12; n++) {
        gw_guard_t *g = n % 2 ? duck : ch;
        gw_buf_t out;
        gw_guard_verdict_t v;
        gw_buf_init(&out, 4096);
        gw_alloc_fail_after(n / 2);
        gw_err_t rc = gw_guard_check(g, sql, strlen(sql), 10, &out, &v);
        gw_alloc_fail_after(-1);
        enomem += rc == GW_ENOMEM || rc == GW_ETOOBIG;
        ok += rc == GW_OK;
        other += rc != GW_OK && rc != GW_ENOMEM && rc != GW_ETOOBIG;
        gw_buf_free(&out);
    }
    T_OK(enomem > 0 && other == 0, "alloc failures: %d enomem, %d ok, %d other", enomem, ok, other);
}

/* ---- threads ---- */

typedef struct thr {
    gw_guard_t *g;
    int wrong;
} thr_t;

static void *thread_main(void *arg)
{
    thr_t *t = arg;
    static const char *const good = "SELECT region, count(*) FROM warehouses GROUP BY region";
    static const char *const bad = "SELECT * FROM read_csv('/etc/passwd')";
    gw_buf_t out;
    gw_buf_init(&out, 4096);
    for (int i = 0; i < 60; i++) {
        gw_guard_verdict_t v;
        const char *sql = i % 2 ? good : bad;
        gw_err_t rc = gw_guard_check(t->g, sql, strlen(sql), 5, &out, &v);
        if ((rc == GW_OK) != (i % 2 == 1) || (rc == GW_OK && strstr(out.ptr, "LIMIT 5") == NULL))
            t->wrong++;
    }
    gw_buf_free(&out);
    return NULL;
}

static void test_threads(gw_guard_t *duck, gw_guard_t *ch)
{
    pthread_t th[4];
    thr_t t[4];
    int wrong = 0;
    for (int i = 0; i < 4; i++) {
        t[i] = (thr_t){i % 2 ? duck : ch, 0};
        pthread_create(&th[i], NULL, thread_main, &t[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        wrong += t[i].wrong;
    }
    T_OK(wrong == 0, "threads: %d wrong verdicts", wrong);
}

int main(void)
{
    char err[256] = "";
    exec_db_t e;
    gw_guard_t *duck = gw_guard_new(GW_SQL_DUCKDB, err, sizeof(err));
    gw_guard_t *ch = gw_guard_new(GW_SQL_CLICKHOUSE, err, sizeof(err));
    gw_guard_t *bq = gw_guard_new_bigquery("my-proj", "retail", err, sizeof(err));
    T_OK(duck != NULL && ch != NULL && bq != NULL, "guards created: %s", err);
    T_OK(exec_open(&e) == 0, "sample catalog");
    if (duck == NULL || ch == NULL || bq == NULL) {
        gw_guard_free(duck);
        gw_guard_free(ch);
        gw_guard_free(bq);
        return t_done("test_sql_guard");
    }
    corpus_case(duck, "duckdb", "attacks.txt", 0, NULL, 300);
    corpus_case(duck, "duckdb", "legit.txt", 1, &e, 100);
    corpus_case(ch, "clickhouse", "attacks_clickhouse.txt", 0, NULL, 50);
    corpus_case(ch, "clickhouse", "legit_clickhouse.txt", 1, NULL, 50);
    corpus_case(bq, "bigquery", "attacks_bigquery.txt", 0, NULL, 150);
    corpus_case(bq, "bigquery", "legit_bigquery.txt", 1, NULL, 100);
    test_bq_messages(bq);
    test_bq_rewrite(bq);
    test_bq_config();
    test_row_cap(duck, &e);
    test_duck_rewrite_text(duck);
    test_duck_messages(duck);
    test_ch_messages(ch);
    test_ch_rewrite(ch);
    test_contracts(duck, ch);
    test_alloc_failures(duck, ch);
    test_threads(duck, ch);
    exec_close(&e);
    gw_guard_free(duck);
    gw_guard_free(ch);
    gw_guard_free(bq);
    return t_done("test_sql_guard");
}

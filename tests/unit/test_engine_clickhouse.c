/* test_engine_clickhouse.c - the ClickHouse engine against a real 18.16
 * server: the JSONCompact parser and error text (offline), then type
 * mapping, row cap, server errors, write refusals by the read-only
 * connection on its own (profile readonly=1 and URL readonly=1), limits,
 * timeout + KILL, an error after a 200, describe, concurrency and open
 * errors. The server is scripts/clickhouse.sh's single node
 * ($LLMGW_CLICKHOUSE_URL, default http://127.0.0.1:18123); scripts/test.sh
 * starts it. Unreachable: the server part is skipped, or fails when CI=true.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_gen.h"
#include "catalog_load.h"
#include "clickhouse_http.h"
#include "clickhouse_json.h"
#include "config.h"
#include "engine.h"
#include "engine_clickhouse.h"
#include "test.h"

#define FIXTURE GW_SOURCE_DIR "/tests/data/taxonomy-mini"
#define DB "retail_t1"

static const char *url;
static char tmpdir[64], catalog[128];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- offline: the parser and the error text ---- */

typedef struct collected {
    char cols[512];
    char rows[2048];
    size_t n_rows;
} collected_t;

static gw_err_t c_meta(void *data, const gw_chjson_col_t *cols, size_t n)
{
    collected_t *c = data;
    for (size_t i = 0; i < n; i++)
        snprintf(c->cols + strlen(c->cols), sizeof c->cols - strlen(c->cols), "%s%s:%s", i ? "," : "", cols[i].name,
                 cols[i].type);
    return GW_OK;
}

static gw_err_t c_row(void *data, const gw_chjson_val_t *v, size_t n)
{
    collected_t *c = data;
    static const char kinds[] = "0FTNSR";
    for (size_t i = 0; i < n; i++) {
        size_t at = strlen(c->rows);
        snprintf(c->rows + at, sizeof c->rows - at, "%s%c", i ? "|" : "[", kinds[v[i].kind]);
        at = strlen(c->rows);
        if (v[i].ptr != NULL)
            snprintf(c->rows + at, sizeof c->rows - at, "=%.*s", (int)v[i].len, v[i].ptr);
    }
    snprintf(c->rows + strlen(c->rows), sizeof c->rows - strlen(c->rows), "]");
    c->n_rows++;
    return GW_OK;
}

static gw_err_t parse(const char *body, collected_t *c, gw_chjson_result_t *res)
{
    memset(c, 0, sizeof *c);
    return gw_chjson_parse(body, strlen(body), c_meta, c_row, c, res);
}

/* The exact 18.16 shape of platform-clickhouse.md 3 (tabs and blank lines). */
static const char doc_shape[] =
    "{\n\t\"meta\":\n\t[\n\t\t{\n\t\t\t\"name\": \"sku_id\",\n\t\t\t\"type\": \"UInt64\"\n\t\t},\n"
    "\t\t{\n\t\t\t\"name\": \"title\",\n\t\t\t\"type\": \"String\"\n\t\t},\n"
    "\t\t{\n\t\t\t\"name\": \"n\",\n\t\t\t\"type\": \"Nullable(Int32)\"\n\t\t},\n"
    "\t\t{\n\t\t\t\"name\": \"arr\",\n\t\t\t\"type\": \"Array(UInt8)\"\n\t\t}\n\t],\n\n"
    "\t\"data\":\n\t[\n"
    "\t\t[\"100\", \"Tab\\there \\\"q\\\" \\u00e9\\\\ \\/ \\ud83d\\ude00\", null, [1,2]],\n"
    "\t\t[\"7\", \"\", -5, []]\n\t],\n\n"
    "\t\"rows\": 2,\n\n\t\"rows_before_limit_at_least\": 2,\n\n"
    "\t\"statistics\":\n\t{\n\t\t\"elapsed\": 0.000050155,\n\t\t\"rows_read\": 1,\n\t\t\"bytes_read\": 1\n\t}\n}\n";

static void test_parser(void)
{
    collected_t c;
    gw_chjson_result_t res;
    T_OK(parse(doc_shape, &c, &res) == GW_OK, "doc shape parses: %s", res.message);
    T_STREQ(c.cols, "sku_id:UInt64,title:String,n:Nullable(Int32),arr:Array(UInt8)", "meta: %s", c.cols);
    T_STREQ(c.rows, "[S=100|S=Tab\there \"q\" \xc3\xa9\\ / \xf0\x9f\x98\x80|0|R=[1,2]][S=7|S=|N=-5|R=[]]", "rows: %s",
            c.rows);
    T_OK(res.rows == 2 && c.n_rows == 2, "two rows");

    const char *empty = "{\n\t\"meta\":\n\t[\n\t\t{\"name\": \"x\", \"type\": \"UInt8\"}\n\t],\n\n\t\"data\":\n\t[\n\n"
                        "\t],\n\n\t\"rows\": 0\n}\n";
    T_OK(parse(empty, &c, &res) == GW_OK && c.n_rows == 0 && strcmp(c.cols, "x:UInt8") == 0, "empty result");

    const char *unnamed = "{\"meta\":[{\"name\":\"\",\"type\":\"\"}],\"data\":[[\"\"]],\"rows\":1}";
    T_OK(parse(unnamed, &c, &res) == GW_OK && strcmp(c.cols, ":") == 0 && strcmp(c.rows, "[S=]") == 0,
         "empty name, type and value: %s %s", c.cols, c.rows);

    /* an error glued to the last row after a 200 (wait_end_of_query=0) */
    const char *glued = "{\"meta\":[{\"name\":\"number\",\"type\":\"UInt64\"}],\"data\":[[\"1\"],\n\t\t[\"299999\"]"
                        "Code: 153, e.displayText() = DB::Exception: Division by zero, e.what() = DB::Exception\n";
    T_OK(parse(glued, &c, &res) == GW_EINVAL, "glued error fails the parse");
    T_OK(res.error_at == (size_t)(strstr(glued, "Code:") - glued), "error_at %zu points at Code:", res.error_at);
    int code = 0;
    char msg[256];
    T_OK(gw_ch_error_find(glued, strlen(glued), res.error_at, &code, msg, sizeof msg) == 1 && code == 153,
         "error found after the rows: %d", code);
    T_STREQ(msg, "Division by zero", "message: %s", msg);

    /* a TSV-like error on its own line, and a plain error body */
    const char *body = "Code: 60, e.displayText() = DB::Exception: Table default.nosuch doesn't exist., "
                       "e.what() = DB::Exception\n";
    T_OK(gw_ch_error_find(body, strlen(body), 0, &code, msg, sizeof msg) && code == 60, "error body");
    T_STREQ(msg, "Table default.nosuch doesn't exist.", "message: %s", msg);
    T_OK(!gw_ch_error_find("{\"x\": \"Code: 12\"}", 17, 0, &code, msg, sizeof msg), "no false error");

    const char *bad[] = {
        "",                                                                   /* nothing */
        "{\"meta\":[{\"name\":\"x\",\"type\":\"UInt8\"}],\"data\":[[1]",       /* truncated */
        "{\"meta\":[{\"name\":\"x\",\"type\":\"UInt8\"}],\"data\":[[1,2]]}",   /* too many values */
        "{\"meta\":[{\"name\":\"x\",\"type\":\"UInt8\"}],\"data\":[[]]}",      /* too few */
        "{\"meta\":[{\"name\":\"x\",\"type\":\"UInt8\"}],\"data\":[[1]],\"rows\":2}", /* rows mismatch */
        "{\"data\":[[1]],\"meta\":[{\"name\":\"x\",\"type\":\"UInt8\"}]}",     /* data before meta */
        "{\"meta\":[{\"name\":\"x\",\"type\":\"UInt8\"}],\"data\":[[01]]}",    /* bad number */
        "{\"meta\":[{\"name\":\"x\",\"type\":\"String\"}],\"data\":[[\"\\x\"]]}", /* bad escape */
        "{\"meta\":[{\"name\":\"x\",\"type\":\"String\"}],\"data\":[[\"a\tb\"]]}", /* raw control char */
        "{\"meta\":[{\"name\":\"x\",\"type\":\"UInt8\"}],\"data\":[[1]]} x",   /* trailing text */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        T_OK(parse(bad[i], &c, &res) == GW_EINVAL && res.message[0] != '\0', "bad body %zu refused", i);
    char deep[300];
    memset(deep, '[', sizeof deep);
    snprintf(deep, 64, "{\"meta\":[{\"name\":\"x\",\"type\":\"A\"}],\"data\":[[");
    deep[strlen(deep)] = '[';
    deep[sizeof deep - 1] = '\0';
    T_OK(parse(deep, &c, &res) == GW_ETOOBIG, "nesting limit");
}

static void test_url_and_kinds(void)
{
    gw_buf_t u;
    gw_buf_init(&u, 1024);
    T_OK(gw_ch_url_init(&u, "http://h:1//") == GW_OK && strcmp(u.ptr, "http://h:1/") == 0, "url: %s", u.ptr);
    T_OK(gw_ch_url_param(&u, "query_id", "a b&c=d/é") == GW_OK && gw_ch_url_param(&u, "database", "retail") == GW_OK,
         "params");
    T_STREQ(u.ptr, "http://h:1/?query_id=a%20b%26c%3Dd%2F%C3%A9&database=retail", "encoded: %s", u.ptr);
    char shown[64];
    T_STREQ(gw_ch_url_shown("http://u:p@w@h:1/x", shown, sizeof shown), "http://w@h:1/x", "userinfo hidden");
    T_STREQ(gw_ch_url_shown("https://h:1/a@b", shown, sizeof shown), "https://h:1/a@b", "@ in the path kept");
    T_STREQ(gw_ch_url_shown("h:1", shown, sizeof shown), "h:1", "no scheme");
    T_OK(gw_ch_url_init(&u, "http://h:1/?x=1") == GW_EINVAL && gw_ch_url_init(&u, "ftp://h") == GW_EINVAL,
         "bad base urls refused");
    gw_buf_free(&u);
    T_OK(gw_ch_error_kind(159) == GW_ETIMEOUT && gw_ch_error_kind(164) == GW_EDENIED &&
             gw_ch_error_kind(158) == GW_EDENIED && gw_ch_error_kind(62) == GW_EUPSTREAM,
         "error kinds");
}

/* ---- the server ---- */

static gw_engine_t *open_ch(const char *user, const char *db, gw_engine_check_cb check, bool stream,
                            uint64_t max_read, gw_err_t *rc_out, char *err, size_t errlen)
{
    gw_clickhouse_opts_t o = {0};
    gw_engine_t *e = NULL;
    o.url = url;
    o.database = db;
    o.user = user;
    o.check = check;
    o.stream = stream;
    o.max_rows_to_read = max_read;
    gw_err_t rc = gw_engine_clickhouse_open(&o, &e, err, errlen);
    if (rc_out != NULL)
        *rc_out = rc;
    return e;
}

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

/* The rows part of a result's JSON ("[[...]]"), into out. */
static const char *rows_of(const char *json, char *out, size_t cap)
{
    const char *p = strstr(json, "\"rows\":");
    const char *q = strstr(json, ",\"row_count\"");
    snprintf(out, cap, "%.*s", p != NULL && q != NULL ? (int)(q - p - 7) : 0, p != NULL ? p + 7 : "");
    return out;
}

static void test_types(gw_engine_t *e)
{
    char json[4096], rows[2048];
    gw_query_info_t info;
    gw_err_t rc = run(e,
                      "SELECT toUInt64(100) AS sku_id, toInt32(-5) AS on_hand, 'Tab\\there \"q\" é\\\\' AS title, "
                      "toDate('2021-03-04') AS d, toDateTime('2024-01-02 03:04:05') AS ts, "
                      "CAST(NULL AS Nullable(Int32)) AS n, toDecimal32('19.99', 2) AS price, 0.1 + 0.2 AS f, "
                      "1 / 0 AS inf, toUInt8(1) AS is_active, toUInt8(1) AS flag, 19.999 AS price_usd, "
                      "toUInt64('18446744073709551615') AS big, toInt64('-9223372036854775808') AS small, "
                      "sum(toInt32(7)) AS s, NULL AS nothing",
                      0, 0, json, sizeof json, &info);
    T_OK(rc == GW_OK, "types query: %s", info.message);
    T_STREQ(rows_of(json, rows, sizeof rows),
            "[[100,-5,\"Tab\\there \\\"q\\\" é\\\\\",\"2021-03-04\",\"2024-01-02 03:04:05\",null,19.99,"
            "0.30000000000000004,null,true,1,20.00,18446744073709551615,-9223372036854775808,7,null]]",
            "cells: %s", rows);
    T_OK(strstr(json, "{\"name\":\"price\",\"type\":\"Decimal(9, 2)\"}") != NULL &&
             strstr(json, "{\"name\":\"n\",\"type\":\"Nullable(Int32)\"}") != NULL,
         "column types are ClickHouse's: %s", json);
    rc = run(e, "SELECT [1, 2] AS arr", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EUNSUPPORTED && strstr(info.message, "arr") != NULL, "array refused: %s", info.message);
}

static void test_cap_and_errors(gw_engine_t *e)
{
    char json[4096], rows[256];
    gw_query_info_t info;
    T_OK(run(e, "SELECT number FROM system.numbers LIMIT 10", 3, 0, json, sizeof json, &info) == GW_OK &&
             info.rows == 3 && info.truncated && strstr(json, "\"truncated\":true") != NULL,
         "cap 3 of 10: %s", json);
    T_STREQ(rows_of(json, rows, sizeof rows), "[[0],[1],[2]]", "first three: %s", rows);
    T_OK(run(e, "SELECT number FROM system.numbers LIMIT 10", 10, 0, json, sizeof json, &info) == GW_OK &&
             info.rows == 10 && !info.truncated,
         "cap 10 of 10 is not truncated");
    T_OK(run(e, "SELECT * FROM nosuch_table", 0, 0, json, sizeof json, &info) == GW_EUPSTREAM &&
             info.engine_code == 60 && strstr(info.message, "nosuch_table") != NULL,
         "unknown table: %d %s", info.engine_code, info.message);
    T_OK(run(e, "SELECT FROM WHERE", 0, 0, json, sizeof json, &info) == GW_EUPSTREAM && info.engine_code == 62,
         "syntax error: %d", info.engine_code);
    T_OK(run(e, "SELECT 1; SELECT 2", 0, 0, json, sizeof json, &info) == GW_EUPSTREAM && info.engine_code == 62,
         "multi statements: %d %s", info.engine_code, info.message);
    T_OK(run(e, "-- a comment\n(SELECT 1 AS one)", 0, 0, json, sizeof json, &info) == GW_OK &&
             strstr(json, "[[1]]") != NULL,
         "leading comment and parenthesis: %s", info.message);
}

/* The check hook that lets anything through: the server alone decides. */
static gw_err_t pass_all(void *data, const char *sql, size_t len, int64_t cap, gw_buf_t *out, char *why, size_t n)
{
    return gw_buf_add(out, sql, len);
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

/* Writes refused by the connection itself: built-in check without a hook;
 * the server's readonly=1 with a pass-everything hook. */
static void test_refusals(const char *user, const char *label)
{
    static const char *const writes[] = {
        "INSERT INTO " DB ".warehouses SELECT * FROM " DB ".warehouses",
        "DROP TABLE " DB ".warehouses",
        "TRUNCATE TABLE " DB ".warehouses",
        "CREATE TABLE " DB ".x (a UInt8) ENGINE = Memory",
        "ALTER TABLE " DB ".warehouses DELETE WHERE 1",
        "RENAME TABLE " DB ".warehouses TO " DB ".w2",
        "OPTIMIZE TABLE " DB ".skus",
        "SELECT * FROM numbers(10)",
        "SELECT * FROM url('http://127.0.0.1:18123/?query=SELECT+1', TSV, 'x UInt8')",
        "SELECT 1 SETTINGS max_threads = 1",
        "SET readonly = 0",
    };
    char err[512], json[1024];
    gw_query_info_t info;
    gw_engine_t *plain = open_ch(user, DB, NULL, false, 0, NULL, err, sizeof err);
    gw_engine_t *open = open_ch(user, DB, pass_all, false, 0, NULL, err, sizeof err);
    T_OK(plain != NULL && open != NULL, "%s: open: %s", label, err);
    if (plain == NULL || open == NULL)
        goto out;
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        gw_err_t rc = run(plain, writes[i], 0, 0, json, sizeof json, &info);
        T_OK(rc == GW_EDENIED, "%s: no hook: %s -> %d %s", label, writes[i], rc, info.message);
        rc = run(open, writes[i], 0, 0, json, sizeof json, &info);
        T_OK(rc == GW_EDENIED && info.engine_code == 164, "%s: server: %s -> %d code %d %s", label, writes[i], rc,
             info.engine_code, info.message);
    }
    T_OK(count_of(plain, "SELECT count() FROM " DB ".warehouses") == 9, "%s: warehouses intact", label);
out:
    gw_engine_close(plain);
    gw_engine_close(open);
}

/* URL settings (default user): readonly=1 and the limits reach the server. */
static void test_url_settings(void)
{
    char err[512], json[2048], rows[512];
    gw_query_info_t info;
    gw_engine_t *e = open_ch(NULL, DB, NULL, false, 1000, NULL, err, sizeof err);
    T_OK(e != NULL, "open as default: %s", err);
    if (e == NULL)
        return;
    T_OK(run(e,
             "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time', "
             "'max_rows_to_read', 'max_result_rows', 'result_overflow_mode', 'distributed_product_mode') "
             "ORDER BY name",
             100, 3000, json, sizeof json, &info) == GW_OK,
         "settings: %s", info.message);
    T_STREQ(rows_of(json, rows, sizeof rows),
            "[[\"distributed_product_mode\",\"local\"],[\"max_execution_time\",\"3\"],[\"max_result_rows\",\"101\"],"
            "[\"max_rows_to_read\",\"1000\"],[\"readonly\",\"1\"],[\"result_overflow_mode\",\"break\"]]",
            "settings in effect: %s", rows);
    T_OK(run(e, "SELECT count() FROM system.numbers", 0, 0, json, sizeof json, &info) == GW_EDENIED &&
             info.engine_code == 158,
         "max_rows_to_read: %d %s", info.engine_code, info.message);
    gw_engine_close(e);
}

typedef struct sinkcount {
    size_t cols, rows;
} sinkcount_t;

static gw_err_t sc_cols(void *d, const gw_column_t *c, size_t n)
{
    ((sinkcount_t *)d)->cols++;
    return GW_OK;
}

static gw_err_t sc_row(void *d, const gw_cell_t *c, size_t n)
{
    ((sinkcount_t *)d)->rows++;
    return GW_OK;
}

#define DIV_AFTER_200                                                                                              \
    "SELECT number, toString(range(30)) AS s, intDiv(1, number - 100000) AS x FROM system.numbers LIMIT 1000000"

/* ClickHouse sends 200 and ~6 MB of rows, then the error text: detected,
 * and no row reaches the sink. With wait_end_of_query it is a plain 500. */
static void test_error_after_200(void)
{
    char err[512];
    gw_query_info_t info;
    for (int stream = 1; stream >= 0; stream--) {
        sinkcount_t sc = {0, 0};
        gw_row_sink_t sink = {sc_cols, sc_row, &sc};
        gw_query_opts_t o = {0, 10000};
        gw_engine_t *e = open_ch("llmgw_ro", DB, NULL, stream, 0, NULL, err, sizeof err);
        T_OK(e != NULL, "open: %s", err);
        if (e == NULL)
            continue;
        gw_err_t rc = gw_engine_query(e, DIV_AFTER_200, strlen(DIV_AFTER_200), &o, &sink, &info);
        T_OK(rc == GW_EUPSTREAM && info.engine_code == 153 && strcmp(info.message, "Division by zero") == 0,
             "stream=%d: error detected: %d %d %s", stream, rc, info.engine_code, info.message);
        T_OK(sc.rows == 0 && info.rows == 0, "stream=%d: no rows delivered (%zu)", stream, sc.rows);
        gw_engine_close(e);
    }
}

/* A client timeout kills the query on the server (the profile would let it
 * run 10 s). */
static void test_timeout(gw_engine_t *e, gw_engine_t *probe)
{
    char json[1024];
    gw_query_info_t info;
    const char *heavy = "SELECT count() FROM (SELECT number FROM system.numbers LIMIT 90000000) "
                        "WHERE length(arrayMap(x -> x * number, range(100))) = 100 AND 'kill-me-t1' != ''";
    double t0 = now_ms();
    gw_err_t rc = run(e, heavy, 0, 300, json, sizeof json, &info);
    double ms = now_ms() - t0;
    T_OK(rc == GW_ETIMEOUT && strstr(info.message, "timed out after 300 ms") != NULL, "timeout: %d %s", rc,
         info.message);
    T_OK(ms < 3000, "returned after %.0f ms", ms);
    long long left = -1;
    for (int i = 0; i < 40 && left != 0; i++) {
        usleep(100000);
        left = count_of(probe, "SELECT count() FROM system.processes WHERE query LIKE '%kill-me-t1%' "
                               "AND query NOT LIKE '%system.processes%'");
    }
    T_OK(left == 0, "the query is gone from system.processes (%lld left)", left);
}

static void test_describe(gw_engine_t *e)
{
    gw_schema_t *s = NULL;
    char err[512];
    gw_buf_t b;
    gw_buf_init(&b, 1u << 20);
    T_OK(gw_engine_describe(e, 100, &s, err, sizeof err) == GW_OK, "describe: %s", err);
    if (s == NULL)
        return;
    T_OK(s->n_tables == 4, "4 tables, got %zu", s->n_tables);
    T_OK(gw_schema_to_json(s, &b) == GW_OK, "schema json");
    T_OK(strstr(b.ptr, "{\"engine\":\"clickhouse\",\"tables\":[{\"name\":\"categories\",\"row_count\":") == b.ptr,
         "engine and first table: %.120s", b.ptr);
    T_OK(strstr(b.ptr, "{\"name\":\"warehouses\",\"row_count\":9,\"columns\":[{\"name\":\"warehouse_id\","
                       "\"type\":\"UInt32\"},{\"name\":\"code\",\"type\":\"String\",\"values\":[") != NULL,
         "warehouses described in column order: %s", b.ptr);
    T_OK(strstr(b.ptr, "{\"name\":\"region\",\"type\":\"String\",\"values\":[\"Midwest\",\"Northeast\","
                       "\"Southeast\",\"Southwest\",\"West\"]}") != NULL,
         "region values");
    T_OK(strstr(b.ptr, "{\"name\":\"price_usd\",\"type\":\"Float64\"}") != NULL &&
             strstr(b.ptr, "{\"name\":\"is_active\",\"type\":\"UInt8\"}") != NULL &&
             strstr(b.ptr, "{\"name\":\"parent_id\",\"type\":\"Nullable(UInt32)\"}") != NULL,
         "catalog types");
    T_OK(strstr(b.ptr, "{\"name\":\"title\",\"type\":\"String\",\"high_cardinality\":true}") != NULL,
         "title is high-cardinality");
    T_OK(strstr(b.ptr, "\"name\":\"skus\",\"row_count\":2000,") != NULL, "skus row count");
    gw_buf_free(&b);
    gw_schema_free(s);
}

typedef struct worker {
    gw_engine_t *e;
    int ok;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 15; i++)
        w->ok += count_of(w->e, "SELECT count() FROM " DB ".skus WHERE is_active") > 0;
    return NULL;
}

static void test_concurrency(gw_engine_t *e)
{
    pthread_t th[8];
    worker_t w[8];
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        w[i] = (worker_t){e, 0};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    T_OK(ok == 8 * 15, "120 concurrent queries on a pool of 4: %d ok", ok);
}

static void test_open_errors(void)
{
    char err[512];
    gw_err_t rc;
    gw_engine_t *e;
    gw_clickhouse_opts_t o = {0};
    o.url = url;
    o.user = "llmgw_ro";
    o.password = "wrong";
    T_OK(gw_engine_clickhouse_open(&o, &e, err, sizeof err) == GW_EDENIED && strstr(err, "password") != NULL,
         "wrong password: %s", err);
    e = open_ch("llmgw_ro", "nosuch_db", NULL, false, 0, &rc, err, sizeof err);
    T_OK(e == NULL && rc == GW_ENOTFOUND && strstr(err, "nosuch_db") != NULL, "missing database: %s", err);
    o.password = NULL;
    o.database = DB;
    o.cluster = "nosuch_cluster";
    T_OK(gw_engine_clickhouse_open(&o, &e, err, sizeof err) == GW_ENOTFOUND && strstr(err, "nosuch_cluster"),
         "missing cluster: %s", err);
    o.cluster = NULL;
    /* credentials in the URL are used, and never shown */
    char with_pw[300];
    const char *host = strstr(url, "://");
    snprintf(with_pw, sizeof with_pw, "http://llmgw_ro:s3cret@%s", host != NULL ? host + 3 : url);
    o.url = with_pw;
    o.user = NULL;
    T_OK(gw_engine_clickhouse_open(&o, &e, err, sizeof err) == GW_EDENIED && strstr(err, "s3cret") == NULL,
         "URL userinfo: %s", err);
    snprintf(with_pw, sizeof with_pw, "http://llmgw_ro:@%s", host != NULL ? host + 3 : url);
    o.database = "nosuch_db";
    T_OK(gw_engine_clickhouse_open(&o, &e, err, sizeof err) == GW_ENOTFOUND && strstr(err, "llmgw_ro") == NULL &&
             strstr(err, "nosuch_db") != NULL,
         "URL userinfo hidden in messages: %s", err);
    o.url = "http://127.0.0.1:1";
    T_OK(gw_engine_clickhouse_open(&o, &e, err, sizeof err) == GW_EIO, "unreachable: %s", err);
    o.url = "http://127.0.0.1:1/?x";
    T_OK(gw_engine_clickhouse_open(&o, &e, err, sizeof err) == GW_EINVAL, "bad url: %s", err);
}

static int load_fixture(void)
{
    char err[512];
    gw_catalog_opts_t o = {0};
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_ch_XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(catalog, sizeof catalog, "%s/catalog.duckdb", tmpdir);
    o.skus = 2000;
    o.seed = 5;
    o.out = catalog;
    o.threads = 2;
    o.shard_count = 1;
    o.data_dir = FIXTURE;
    if (gw_catalog_generate(&o, NULL, err, sizeof err) != GW_OK) {
        fprintf(stderr, "generate: %s\n", err);
        return -1;
    }
    const char *urls[] = {url};
    gw_chload_opts_t lo = {catalog, urls, 1, DB, NULL, NULL, NULL, 700, NULL, NULL};
    gw_chload_stats_t st;
    gw_err_t rc = gw_clickhouse_load(&lo, &st, err, sizeof err);
    T_OK(rc == GW_OK && st.skus == 2000 && st.warehouses == 9, "load (batches of 700): %s", err);
    return rc == GW_OK ? 0 : -1;
}

/* `llmgw catalog load` argument handling and a real load through it. */
static void test_load_cmd(void)
{
    char *usage1[] = {"load", "--from", catalog};
    char *usage2[] = {"load", "--engine", "bigquery"};
    char *usage3[] = {"load", "--engine", "clickhouse", "--batch-rows", "0"};
    char *usage4[] = {"load", "--engine", "clickhouse", "--nosuch"};
    char *missing[] = {"load", "--engine", "clickhouse", "--from", "/nonexistent/catalog.duckdb", "--url", (char *)url};
    char *two[] = {"load", "--engine", "clickhouse", "--from", catalog, "--url", (char *)url, "--url", (char *)url};
    char *good[] = {"load", "--engine=clickhouse", "--from", catalog, "--url", (char *)url, "--database", DB,
                    "--batch-rows", "1500"};
    T_OK(gw_catalog_load_cmd(3, usage1) == 2, "no --engine: usage error");
    T_OK(gw_catalog_load_cmd(3, usage2) == 2, "--engine bigquery: usage error here");
    T_OK(gw_catalog_load_cmd(5, usage3) == 2, "--batch-rows 0: usage error");
    T_OK(gw_catalog_load_cmd(4, usage4) == 2, "unknown option: usage error");
    T_OK(gw_catalog_load_cmd(7, missing) == 1, "missing DuckDB file: runtime error");
    T_OK(gw_catalog_load_cmd(9, two) == 2, "two URLs without --cluster: usage error");
    T_OK(gw_catalog_load_cmd(10, good) == 0, "load through the command");
}

/* The passwords scripts/clickhouse.sh gives its two password users. */
static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL ? v : dflt;
}

/* ask.clickhouse.user / password from the config reach the engine (basic
 * auth) and never appear in an error message. */
static gw_err_t open_from_config(const char *user, const char *password, gw_engine_t **e, char *err, size_t errlen)
{
    gw_config_t *cfg = gw_config_default();
    gw_err_t rc = GW_ENOMEM;
    *e = NULL;
    if (cfg == NULL)
        return rc;
    gw_free(cfg->ask.engine);
    gw_free(cfg->ask.clickhouse_url);
    gw_free(cfg->ask.clickhouse_database);
    cfg->ask.engine = gw_strdup("clickhouse");
    cfg->ask.clickhouse_url = gw_strdup(url);
    cfg->ask.clickhouse_database = gw_strdup(DB);
    cfg->ask.clickhouse_user = gw_strdup(user);
    cfg->ask.clickhouse_password = gw_strdup(password);
    if (cfg->ask.engine != NULL && cfg->ask.clickhouse_url != NULL && cfg->ask.clickhouse_database != NULL &&
        cfg->ask.clickhouse_user != NULL && cfg->ask.clickhouse_password != NULL)
        rc = gw_engine_open(cfg, NULL, NULL, e, err, errlen);
    gw_config_unref(cfg);
    return rc;
}

/* `catalog load --config F` with ask.clickhouse.user/password in F. */
static int load_with_config(const char *user, const char *password)
{
    char path[256], sfile[300];
    snprintf(path, sizeof path, "%s/creds.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "ask:\n  engine: clickhouse\n  clickhouse:\n    url: %s\n    database: %s\n"
               "    user: %s\n    password: \"%s\"\n", url, DB, user, password);
    fclose(f);
    snprintf(sfile, sizeof sfile, "%s", catalog);
    char *argv[] = {"load", "--engine", "clickhouse", "--config", path, "--from", sfile};
    int rc = gw_catalog_load_cmd(7, argv);
    unlink(path);
    return rc;
}

static void test_credentials(void)
{
    char err[512] = "", json[512];
    gw_query_info_t info;
    gw_engine_t *e = NULL;
    const char *pw = env_or("LLMGW_CH_PW_PASSWORD", "llmgw-test-pw");
    const char *rw = env_or("LLMGW_CH_RW_PASSWORD", "llmgw-test-rw");
    T_OK(open_from_config("llmgw_pw", pw, &e, err, sizeof err) == GW_OK, "config user+password: %s", err);
    T_OK(e != NULL && count_of(e, "SELECT count() FROM skus") == 2000, "queries as llmgw_pw");
    T_OK(e != NULL && run(e, "CREATE TABLE x (a UInt8) ENGINE = Memory", 1, 0, json, sizeof json, &info) != GW_OK,
         "llmgw_pw is read-only: %s", info.message);
    gw_engine_close(e);
    T_OK(open_from_config("llmgw_pw", "not-the-Pw-42", &e, err, sizeof err) == GW_EDENIED && e == NULL &&
             strstr(err, "not-the-Pw-42") == NULL && strstr(err, "password") != NULL,
         "wrong config password refused, not echoed: %s", err);
    T_OK(open_from_config("llmgw_pw", "", &e, err, sizeof err) == GW_EDENIED && e == NULL,
         "empty password refused: %s", err);
    char with_pw[300];
    const char *host = strstr(url, "://");
    snprintf(with_pw, sizeof with_pw, "http://llmgw_rw:s3cr3t-in-url@%s", host != NULL ? host + 3 : url);
    const char *urls[] = {with_pw};
    gw_chload_opts_t lo = {catalog, urls, 1, DB, NULL, NULL, NULL, 700, NULL, NULL};
    err[0] = '\0';
    T_OK(gw_clickhouse_load(&lo, NULL, err, sizeof err) != GW_OK && strstr(err, "s3cr3t-in-url") == NULL &&
             strstr(err, "127.0.0.1") != NULL,
         "loader errors never show the URL's password: %s", err);
    unsetenv("LLMGW_CLICKHOUSE_PASSWORD");
    T_OK(load_with_config("llmgw_rw", "not-the-Rw-42") == 1, "catalog load with a wrong config password fails");
    T_OK(load_with_config("llmgw_rw", rw) == 0, "catalog load as the config's writer user");
}

static void server_tests(void)
{
    char err[512];
    if (load_fixture() != 0)
        return;
    gw_engine_t *ro = open_ch("llmgw_ro", DB, NULL, false, 0, NULL, err, sizeof err);
    gw_engine_t *dflt = open_ch(NULL, DB, NULL, false, 0, NULL, err, sizeof err);
    T_OK(ro != NULL && dflt != NULL, "open: %s", err);
    if (ro == NULL || dflt == NULL)
        return;
    test_types(ro);
    test_types(dflt);
    test_cap_and_errors(ro);
    test_refusals("llmgw_ro", "profile readonly=1");
    test_refusals(NULL, "URL readonly=1");
    test_url_settings();
    test_error_after_200();
    test_timeout(ro, dflt);
    test_describe(ro);
    test_concurrency(ro);
    test_open_errors();
    test_load_cmd();
    test_credentials();
    T_OK(count_of(ro, "SELECT count() FROM " DB ".skus") == 2000, "reloaded by the command");
    gw_engine_close(ro);
    gw_engine_close(dflt);
}

/* 1: reachable; 0: not (skip); -1: not, and CI wants it. */
static int server_up(void)
{
    char err[256] = "";
    gw_clickhouse_opts_t o = {0};
    gw_engine_t *e = NULL;
    o.url = url;
    o.database = "system";
    if (gw_engine_clickhouse_open(&o, &e, err, sizeof err) == GW_OK) {
        gw_engine_close(e);
        return 1;
    }
    const char *ci = getenv("CI");
    fprintf(stderr, "clickhouse at %s: %s\n", url, err);
    return ci != NULL && strcmp(ci, "true") == 0 ? -1 : 0;
}

int main(void)
{
    url = getenv("LLMGW_CLICKHOUSE_URL") != NULL ? getenv("LLMGW_CLICKHOUSE_URL") : "http://127.0.0.1:18123";
    test_parser();
    test_url_and_kinds();
    int up = server_up();
    if (up < 0)
        T_OK(0, "CI=true and ClickHouse is not reachable at %s (scripts/clickhouse.sh start)", url);
    else if (up == 0)
        printf("test_engine_clickhouse: server tests skipped (no ClickHouse at %s; scripts/clickhouse.sh start)\n",
               url);
    else
        server_tests();
    if (catalog[0] != '\0') {
        unlink(catalog);
        rmdir(tmpdir);
    }
    return t_done("test_engine_clickhouse");
}

/* test_engine_bigquery.c - the BigQuery engine against tests/fake/fake-bigquery.mjs,
 * a FAKE BigQuery REST server started here as a child process (no live
 * BigQuery is used): request shapes (dry run first, useLegacySql, string
 * maximumBytesBilled, defaultDataset, timeoutMs, maxResults, location),
 * paging, the row cap stopping pages early, jobComplete:false polling, the
 * byte budget, error mapping, retries, timeout + cancel, size bound, types,
 * describe, the check hook, concurrent queries; plus the value parsers and
 * the built-in SQL check on their own.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "engine.h"
#include "engine_bigquery.h"
#include "engine_bigquery_int.h"
#include "test.h"

extern char **environ;

static pid_t fake_pid = -1;
static int fake_out = -1;
static char base_url[64];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- the fake ---- */

static int fake_start(void)
{
    int fds[2];
    char line[128] = "";
    size_t n = 0;
    char *argv[] = {"node", GW_SOURCE_DIR "/tests/fake/fake-bigquery.mjs", "0", NULL};
    posix_spawn_file_actions_t fa;
    if (pipe(fds) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    int rc = posix_spawnp(&fake_pid, "node", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    fake_out = fds[0];
    if (rc != 0)
        return -1;
    double end = now_ms() + 15000;
    while (n + 1 < sizeof line && strchr(line, '\n') == NULL && now_ms() < end) {
        struct pollfd p = {fake_out, POLLIN, 0};
        if (poll(&p, 1, 500) <= 0)
            continue;
        ssize_t k = read(fake_out, line + n, sizeof line - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        line[n] = '\0';
    }
    int port = 0;
    if (sscanf(line, "LISTENING %d", &port) != 1 || port <= 0)
        return -1;
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
    return 0;
}

static void fake_stop(void)
{
    int st;
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, &st, 0);
    }
    if (fake_out >= 0)
        close(fake_out);
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
    return gw_buf_add(data, p, size * n) == GW_OK ? size * n : 0;
}

/* GET or DELETE on the fake's control API; the JSON answer. */
static json_t *fake_ctl(const char *method, const char *path)
{
    char url[256];
    gw_buf_t b;
    json_error_t je;
    json_t *j = NULL;
    CURL *h = curl_easy_init();
    gw_buf_init(&b, 64u << 20);
    snprintf(url, sizeof url, "%s%s", base_url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)&b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    if (curl_easy_perform(h) == CURLE_OK && b.ptr != NULL)
        j = json_loadb(b.ptr, b.len, 0, &je);
    curl_easy_cleanup(h);
    gw_buf_free(&b);
    return j;
}

static void fake_clear(void)
{
    json_decref(fake_ctl("DELETE", "/__requests"));
}

static json_t *fake_requests(void)
{
    json_t *j = fake_ctl("GET", "/__requests");
    return j != NULL ? j : json_array();
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : "";
}

/* 1 when the decimal text s is a number in [1, max]. */
static int num_in_range(const char *s, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return end != s && *end == '\0' && v >= 1 && v <= max;
}

static const json_t *req_body(const json_t *reqs, size_t i)
{
    return json_object_get(json_array_get(reqs, i), "body");
}

static const char *req_query(const json_t *reqs, size_t i, const char *k)
{
    const char *s = json_string_value(json_object_get(json_object_get(json_array_get(reqs, i), "query"), k));
    return s != NULL ? s : "";
}

/* ---- engine helpers ---- */

typedef struct eopts {
    const char *token_env;
    int64_t max_bytes;
    const char *location;
    size_t max_response;
    uint32_t timeout_ms;
    const char *dataset;
    gw_engine_check_cb check;
    void *check_data;
} eopts_t;

static gw_engine_t *open_bq(const eopts_t *x)
{
    char err[512];
    gw_bigquery_opts_t o = {0};
    gw_engine_t *e = NULL;
    o.base_url = base_url;
    o.project = "test-proj";
    o.dataset = x->dataset != NULL ? x->dataset : "retail";
    o.token_env = x->token_env;
    o.max_bytes_billed = x->max_bytes;
    o.location = x->location;
    o.timeout_ms = x->timeout_ms ? x->timeout_ms : 10000;
    o.max_response_bytes = x->max_response;
    o.check = x->check;
    o.check_data = x->check_data;
    if (gw_engine_bigquery_open(&o, &e, err, sizeof err) != GW_OK)
        fprintf(stderr, "open: %s\n", err);
    return e;
}

/* Runs sql collected into JSON (rows only: "[[..],[..]]" via gw_result_to_json). */
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

static const char PAGING_ROWS_10[] =
    "[[1,\"row-1\"],[2,\"row-2\"],[3,\"row-3\"],[4,\"row-4\"],[5,\"row-5\"],[6,\"row-6\"],[7,\"row-7\"],"
    "[8,\"row-8\"],[9,\"row-9\"],[10,\"row-10\"]]";

/* ---- value parsers and the built-in check (no server) ---- */

static void test_timestamps(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"1.7093088E9", "2024-03-01 16:00:00"},
        {"1709308800", "2024-03-01 16:00:00"},
        {"1.709395200123456E9", "2024-03-02 16:00:00.123456"},
        {"1.7093952001234559E9", "2024-03-02 16:00:00.123456"}, /* a double's digits: rounded */
        {"-1.5E0", "1969-12-31 23:59:58.500000"},
        {"0", "1970-01-01 00:00:00"},
        {"0.0", "1970-01-01 00:00:00"},
        {"2.53402300799E11", "9999-12-31 23:59:59"},
        {"-6.2135596800E10", "0001-01-01 00:00:00"},
        {"1.0e+9", "2001-09-09 01:46:40"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = gw__bq_format_timestamp(cases[i].in, strlen(cases[i].in), out, sizeof out);
        T_OK(n == strlen(cases[i].out) && strcmp(out, cases[i].out) == 0, "timestamp %s -> '%s'", cases[i].in,
             n ? out : "(none)");
    }
    static const char *const bad[] = {"", "abc", "1e", "1.2.3", "3e11", "-7e10", "1709308800Z", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        T_OK(gw__bq_format_timestamp(bad[i], strlen(bad[i]), out, sizeof out) == 0, "bad timestamp '%s'", bad[i]);
}

static gw__bq_col_t col_of(const char *field_json)
{
    gw__bq_col_t c;
    char msg[256];
    json_error_t je;
    json_t *f = json_loads(field_json, 0, &je);
    memset(&c, 0, sizeof c);
    T_OK(gw__bq_col_init(&c, f, msg, sizeof msg) == GW_OK, "col_init %s", field_json);
    json_decref(f);
    return c;
}

/* One value through gw__bq_cell, printed as JSON ("ERR" on failure). */
static void cell_json(const gw__bq_col_t *c, const char *v, char *out, size_t cap, gw_cell_kind_t *kind)
{
    char scratch[GW__BQ_SCRATCH], msg[256];
    gw_cell_t cell;
    gw_buf_t b;
    json_t *j = v != NULL ? json_string(v) : json_null();
    snprintf(out, cap, "ERR");
    if (gw__bq_cell(c, j, scratch, &cell, msg, sizeof msg) == GW_OK) {
        gw_buf_init(&b, cap - 1);
        if (gw_cell_to_json(&cell, &b) == GW_OK)
            snprintf(out, cap, "%s", b.ptr);
        gw_buf_free(&b);
        *kind = cell.kind;
    }
    json_decref(j);
}

static void test_cells(void)
{
    static const struct {
        const char *field, *v, *json;
        gw_cell_kind_t kind;
    } cases[] = {
        {"{\"name\":\"i\",\"type\":\"INTEGER\"}", "9223372036854775807", "9223372036854775807", GW_CELL_INT},
        {"{\"name\":\"i\",\"type\":\"INT64\"}", "-42", "-42", GW_CELL_INT},
        {"{\"name\":\"i\",\"type\":\"INT64\"}", "9223372036854775808", "ERR", GW_CELL_NULL},
        {"{\"name\":\"i\",\"type\":\"INT64\"}", "12x", "ERR", GW_CELL_NULL},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\"}", "19.99", "19.99", GW_CELL_DECIMAL},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\"}", "-0.5", "-0.5", GW_CELL_DECIMAL},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\"}", "320", "320", GW_CELL_DECIMAL},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\"}", "0.000000001", "0.000000001", GW_CELL_DECIMAL},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\",\"precision\":\"10\",\"scale\":\"2\"}", "320", "320.00",
         GW_CELL_DECIMAL},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\",\"precision\":\"10\",\"scale\":\"2\"}", "19.9", "19.90",
         GW_CELL_DECIMAL},
        {"{\"name\":\"n\",\"type\":\"BIGNUMERIC\"}", "123456789012345678901234567890.123456789",
         "123456789012345678901234567890.123456789", GW_CELL_NUMBER},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\"}", "99999999999999999999999999999.999999999",
         "99999999999999999999999999999.999999999", GW_CELL_NUMBER},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\"}", "1.", "ERR", GW_CELL_NULL},
        {"{\"name\":\"n\",\"type\":\"NUMERIC\"}", "+1", "ERR", GW_CELL_NULL},
        {"{\"name\":\"f\",\"type\":\"FLOAT\"}", "3.5", "3.5", GW_CELL_DOUBLE},
        {"{\"name\":\"f\",\"type\":\"FLOAT64\"}", "Infinity", "null", GW_CELL_DOUBLE},
        {"{\"name\":\"f\",\"type\":\"FLOAT64\"}", "NaN", "null", GW_CELL_DOUBLE},
        {"{\"name\":\"b\",\"type\":\"BOOLEAN\"}", "true", "true", GW_CELL_BOOL},
        {"{\"name\":\"b\",\"type\":\"BOOL\"}", "false", "false", GW_CELL_BOOL},
        {"{\"name\":\"b\",\"type\":\"BOOL\"}", "yes", "ERR", GW_CELL_NULL},
        {"{\"name\":\"s\",\"type\":\"STRING\"}", "a\"b", "\"a\\\"b\"", GW_CELL_TEXT},
        {"{\"name\":\"d\",\"type\":\"DATE\"}", "2024-02-29", "\"2024-02-29\"", GW_CELL_TEXT},
        {"{\"name\":\"t\",\"type\":\"TIMESTAMP\"}", "1.7093088E9", "\"2024-03-01 16:00:00\"", GW_CELL_TEXT},
        {"{\"name\":\"t\",\"type\":\"TIMESTAMP\"}", "soon", "ERR", GW_CELL_NULL},
        {"{\"name\":\"t\",\"type\":\"DATETIME\"}", "2024-02-29T01:02:03", "\"2024-02-29 01:02:03\"", GW_CELL_TEXT},
        {"{\"name\":\"s\",\"type\":\"STRING\"}", NULL, "null", GW_CELL_NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw__bq_col_t c = col_of(cases[i].field);
        gw_cell_kind_t kind = GW_CELL_NULL;
        char out[128];
        cell_json(&c, cases[i].v, out, sizeof out, &kind);
        T_STREQ(out, cases[i].json, "cell %s %s -> %s", cases[i].field, cases[i].v ? cases[i].v : "null", out);
        T_OK(strcmp(out, "ERR") == 0 || kind == cases[i].kind, "cell kind %s: %d", cases[i].v ? cases[i].v : "null",
             (int)kind);
    }
    gw__bq_col_t c = col_of("{\"name\":\"n\",\"type\":\"NUMERIC\",\"precision\":\"10\",\"scale\":\"2\"}");
    T_STREQ(c.type, "NUMERIC(10,2)", "parameterised NUMERIC type name");
    c = col_of("{\"name\":\"b\",\"type\":\"BOOLEAN\",\"mode\":\"NULLABLE\"}");
    T_STREQ(c.type, "BOOL", "BOOLEAN -> BOOL");
    char msg[256] = "";
    json_error_t je;
    json_t *f = json_loads("{\"name\":\"tags\",\"type\":\"STRING\",\"mode\":\"REPEATED\"}", 0, &je);
    T_OK(gw__bq_col_init(&c, f, msg, sizeof msg) == GW_EUNSUPPORTED && strstr(msg, "'tags'") != NULL,
         "REPEATED refused: %s", msg);
    json_decref(f);
}

static void test_check(void)
{
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } cases[] = {
        {"SELECT 1", "SELECT 1"},
        {"SELECT 1;", "SELECT 1"},
        {"SELECT 1 ;; -- done\n", "SELECT 1 "},
        {"select ';' AS x", "select ';' AS x"},
        {"/* fake:paging */ (WITH a AS (SELECT 1) SELECT * FROM a)", "/* fake:paging */ (WITH a AS (SELECT 1) SELECT * FROM a)"},
        {"SELECT `a;b` FROM t -- ; not a statement\n", "SELECT `a;b` FROM t -- ; not a statement\n"},
        {"SELECT '''x;\n''' AS s", "SELECT '''x;\n''' AS s"},
        {"SELECT 'it\\'s;' AS s", "SELECT 'it\\'s;' AS s"},
        {"# comment\nSELECT 1", "# comment\nSELECT 1"},
        {"SELECT 1; DROP TABLE retail.skus", NULL},
        {"SELECT 1; SELECT 2;", NULL},
        {"DELETE FROM retail.skus WHERE true", NULL},
        {"INSERT INTO t SELECT 1", NULL},
        {"CREATE TEMP FUNCTION f() AS (1); SELECT f()", NULL},
        {"SELECTED", NULL},
        {"SELECT 'open", NULL},
        {"SELECT 1 /* open", NULL},
        {"SELECT '\xff'", NULL},
        {"   ", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_buf_t b;
        char msg[256] = "";
        gw_buf_init(&b, 4096);
        gw_buf_adds(&b, cases[i].in);
        gw_err_t rc = gw__bq_check_sql(&b, msg, sizeof msg);
        if (cases[i].out != NULL)
            T_OK(rc == GW_OK && strcmp(b.ptr, cases[i].out) == 0, "check '%s' -> %d '%s' %s", cases[i].in, rc,
                 b.ptr, msg);
        else
            T_OK(rc == GW_EDENIED && msg[0] != '\0', "check refuses '%s' (%d)", cases[i].in, rc);
        gw_buf_free(&b);
    }
}

/* ---- against the fake ---- */

static void test_request_shape_and_paging(gw_engine_t *e)
{
    char json[4096];
    gw_query_info_t info;
    fake_clear();
    gw_err_t rc = run(e, "/* fake:paging */ SELECT id, name FROM `test-proj.retail.t`;", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_OK, "paging query: %d %s", rc, info.message);
    T_OK(strstr(json, PAGING_ROWS_10) != NULL && strstr(json, "\"truncated\":false") != NULL &&
             strstr(json, "{\"name\":\"id\",\"type\":\"INT64\"},{\"name\":\"name\",\"type\":\"STRING\"}") != NULL,
         "all 10 rows in order: %s", json);
    T_OK(info.rows == 10 && !info.truncated, "info rows %zu", info.rows);
    json_t *q = fake_requests();
    T_OK(json_array_size(q) == 4, "dry run, query, 2 more pages: %zu requests", json_array_size(q));
    const json_t *dry = req_body(q, 0), *real = req_body(q, 1);
    T_STREQ(jstr(json_array_get(q, 0), "method"), "POST", "dry run is a POST");
    T_STREQ(jstr(json_array_get(q, 0), "path"), "/bigquery/v2/projects/test-proj/queries", "jobs.query path");
    T_OK(json_is_true(json_object_get(dry, "dryRun")), "dry run first");
    T_OK(json_is_false(json_object_get(dry, "useLegacySql")), "dry run: useLegacySql false");
    T_STREQ(jstr(dry, "query"), "/* fake:paging */ SELECT id, name FROM `test-proj.retail.t`",
            "query text sent without the trailing semicolon");
    T_OK(json_object_get(dry, "maximumBytesBilled") == NULL, "no maximumBytesBilled on the dry run");
    T_OK(json_object_get(real, "dryRun") == NULL, "real query has no dryRun");
    T_OK(json_is_false(json_object_get(real, "useLegacySql")), "useLegacySql:false");
    T_OK(json_is_string(json_object_get(real, "maximumBytesBilled")), "maximumBytesBilled is a string");
    T_STREQ(jstr(real, "maximumBytesBilled"), "10000000000", "maximumBytesBilled value");
    const json_t *dd = json_object_get(real, "defaultDataset");
    T_OK(strcmp(jstr(dd, "projectId"), "test-proj") == 0 && strcmp(jstr(dd, "datasetId"), "retail") == 0,
         "defaultDataset {projectId, datasetId}");
    T_STREQ(jstr(real, "location"), "US", "location sent");
    json_int_t tmo = json_integer_value(json_object_get(real, "timeoutMs"));
    T_OK(json_is_integer(json_object_get(real, "timeoutMs")) && tmo > 0 && tmo <= 10000, "timeoutMs %lld",
         (long long)tmo);
    T_OK(json_integer_value(json_object_get(real, "maxResults")) == 10000, "maxResults = page size");
    T_OK(num_in_range(jstr(real, "jobTimeoutMs"), 10000) && strtol(jstr(real, "jobTimeoutMs"), NULL, 10) > 9000,
         "jobTimeoutMs is the rest of the deadline, as a string: '%s'", jstr(real, "jobTimeoutMs"));
    T_OK(strlen(jstr(real, "requestId")) == 36, "requestId is a UUID");
    const json_t *hdrs = json_object_get(json_array_get(q, 1), "headers");
    T_STREQ(jstr(hdrs, "authorization"), "Bearer test-token", "bearer token from the environment");
    T_OK(strncmp(jstr(hdrs, "content-type"), "application/json", 16) == 0, "JSON content type");
    T_STREQ(jstr(json_array_get(q, 2), "method"), "GET", "page 2 is getQueryResults");
    T_STREQ(jstr(json_array_get(q, 2), "path"), "/bigquery/v2/projects/test-proj/queries/job_fake0001",
            "getQueryResults path has the jobId");
    T_STREQ(req_query(q, 2, "pageToken"), "PT+4/job_fake0001==", "page 2 token, escaped on the wire");
    T_STREQ(req_query(q, 3, "pageToken"), "PT+8/job_fake0001==", "page 3 token");
    T_STREQ(req_query(q, 2, "location"), "US", "getQueryResults location");
    T_OK(req_query(q, 2, "timeoutMs")[0] != '\0' && strcmp(req_query(q, 2, "maxResults"), "10000") == 0,
         "getQueryResults timeoutMs and maxResults");
    json_decref(q);
}

static void test_row_cap(gw_engine_t *e)
{
    static const struct {
        size_t cap;
        const char *rows;
        int truncated;
        size_t requests;
        const char *last_max; /* maxResults of the last GET, "" when none */
    } cases[] = {
        {5, "[[1,\"row-1\"],[2,\"row-2\"],[3,\"row-3\"],[4,\"row-4\"],[5,\"row-5\"]]", 1, 3, "1"},
        {4, "[[1,\"row-1\"],[2,\"row-2\"],[3,\"row-3\"],[4,\"row-4\"]]", 1, 2, ""},
        {2, "[[1,\"row-1\"],[2,\"row-2\"]]", 1, 2, ""},
        {10, PAGING_ROWS_10, 0, 4, "2"},
        {11, PAGING_ROWS_10, 0, 4, "3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[4096], want[512];
        gw_query_info_t info;
        fake_clear();
        gw_err_t rc = run(e, "/* fake:paging */ SELECT id, name FROM t", cases[i].cap, 0, json, sizeof json, &info);
        snprintf(want, sizeof want, "\"rows\":%s,\"row_count\":%zu,\"truncated\":%s", cases[i].rows,
                 cases[i].cap < 10 ? cases[i].cap : 10, cases[i].truncated ? "true" : "false");
        T_OK(rc == GW_OK && strstr(json, want) != NULL, "cap %zu: %s", cases[i].cap, json);
        json_t *q = fake_requests();
        size_t n = json_array_size(q);
        T_OK(n == cases[i].requests, "cap %zu: %zu requests, want %zu (no page beyond the cap)", cases[i].cap, n,
             cases[i].requests);
        size_t want_max = cases[i].cap < 10000 ? cases[i].cap : 10000;
        T_OK((size_t)json_integer_value(json_object_get(req_body(q, 1), "maxResults")) == want_max,
             "cap %zu: jobs.query maxResults", cases[i].cap);
        if (cases[i].last_max[0] != '\0')
            T_STREQ(req_query(q, n - 1, "maxResults"), cases[i].last_max, "cap %zu: last page asks only what is left",
                    cases[i].cap);
        json_decref(q);
    }
}

static void test_pending(gw_engine_t *e)
{
    char json[2048];
    gw_query_info_t info;
    fake_clear();
    gw_err_t rc = run(e, "/* fake:pending */ SELECT id FROM t", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_OK && strstr(json, "\"rows\":[[1],[2],[3]],\"row_count\":3") != NULL, "pending then rows: %d %s %s",
         rc, json, info.message);
    json_t *q = fake_requests();
    T_OK(json_array_size(q) == 5, "dry run, query, 3 polls: %zu", json_array_size(q));
    for (size_t i = 2; i < json_array_size(q); i++) {
        T_STREQ(jstr(json_array_get(q, i), "method"), "GET", "poll %zu is getQueryResults", i);
        T_OK(req_query(q, i, "timeoutMs")[0] != '\0' && strcmp(req_query(q, i, "location"), "US") == 0 &&
                 req_query(q, i, "pageToken")[0] == '\0',
             "poll %zu: timeoutMs, location, no pageToken", i);
    }
    json_decref(q);
}

static void test_budget(gw_engine_t *e)
{
    char json[1024];
    gw_query_info_t info;
    fake_clear();
    gw_err_t rc = run(e, "/* fake:expensive */ SELECT * FROM t", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EDENIED, "over budget refused: %d", rc);
    T_STREQ(info.message, "query would scan 12.3 GB, over max_bytes_billed 10 GB", "budget message: %s", info.message);
    json_t *q = fake_requests();
    T_OK(json_array_size(q) == 1 && json_is_true(json_object_get(req_body(q, 0), "dryRun")),
         "only the dry run was sent: %zu requests", json_array_size(q));
    json_decref(q);
}

static void test_billed_limit(void)
{
    eopts_t x = {.max_bytes = 1000, .location = "US"};
    gw_engine_t *e = open_bq(&x);
    char json[1024];
    gw_query_info_t info;
    fake_clear();
    gw_err_t rc = run(e, "/* fake:bytes=500 */ SELECT n FROM t", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EDENIED && info.engine_code == 400, "bytesBilledLimitExceeded -> EDENIED: %d %d", rc,
         info.engine_code);
    T_OK(strstr(info.message, "Query exceeded limit for bytes billed: 1000. 10485760 or higher required.") != NULL,
         "BigQuery's message surfaces: %s", info.message);
    json_t *q = fake_requests();
    T_OK(json_array_size(q) == 2, "dry run passed, one real query, no retry: %zu", json_array_size(q));
    T_STREQ(jstr(req_body(q, 1), "maximumBytesBilled"), "1000", "the configured budget is sent");
    json_decref(q);
    gw_engine_close(e);
}

static void test_errors(gw_engine_t *e)
{
    char json[1024];
    gw_query_info_t info;
    fake_clear();
    gw_err_t rc = run(e, "/* fake:invalid */ SELECT id FORM t", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EUPSTREAM && info.engine_code == 400, "invalidQuery -> EUPSTREAM 400: %d %d", rc, info.engine_code);
    T_OK(strstr(info.message, "Syntax error: Unexpected identifier \"FORM\" at [1:10]") != NULL &&
             strstr(info.message, "invalidQuery") != NULL,
         "invalidQuery message: %s", info.message);
    json_t *q = fake_requests();
    T_OK(json_array_size(q) == 1, "the dry run caught it, nothing else sent: %zu", json_array_size(q));
    json_decref(q);

    rc = run(e, "/* fake:forbidden */ SELECT 1", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EUPSTREAM && info.engine_code == 403 && strstr(info.message, "denied access") != NULL &&
             strstr(info.message, "bigquery.jobs.create") != NULL,
         "403: %d %s", rc, info.message);

    rc = run(e, "/* fake:repeated */ SELECT tags, r FROM t", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EUNSUPPORTED && strstr(info.message, "'tags'") != NULL, "REPEATED column: %d %s", rc, info.message);

    fake_clear();
    rc = run(e, "DELETE FROM retail.skus WHERE true", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EDENIED && strstr(info.message, "SELECT") != NULL, "DML refused locally: %d %s", rc, info.message);
    rc = run(e, "SELECT 1; DROP TABLE retail.skus", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EDENIED, "two statements refused locally: %d", rc);
    q = fake_requests();
    T_OK(json_array_size(q) == 0, "nothing sent for refused SQL: %zu", json_array_size(q));
    json_decref(q);
}

static void test_auth(void)
{
    char json[1024], err[512];
    gw_query_info_t info;
    setenv("H9_BAD_TOKEN", "wrong-token-value", 1);
    eopts_t x = {.token_env = "H9_BAD_TOKEN"};
    gw_engine_t *e = open_bq(&x);
    fake_clear();
    gw_err_t rc = run(e, "SELECT 1", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EUPSTREAM && info.engine_code == 401, "401: %d %d", rc, info.engine_code);
    T_OK(strstr(info.message, "rejected the OAuth token") != NULL && strstr(info.message, "$H9_BAD_TOKEN") != NULL &&
             strstr(info.message, "authError") != NULL,
         "auth message: %s", info.message);
    T_OK(strstr(info.message, "wrong-token-value") == NULL, "the token is not in the message");
    json_t *q = fake_requests();
    T_OK(json_array_size(q) == 1, "401 not retried: %zu", json_array_size(q));
    json_decref(q);
    gw_engine_close(e);

    gw_bigquery_opts_t o = {0};
    o.project = "test-proj";
    o.token_env = "H9_NO_SUCH_TOKEN";
    unsetenv("H9_NO_SUCH_TOKEN");
    T_OK(gw_engine_bigquery_open(&o, &e, err, sizeof err) == GW_ECONFIG && e == NULL &&
             strstr(err, "$H9_NO_SUCH_TOKEN") != NULL,
         "missing token: %s", err);
    o.token_env = NULL;
    o.project = "bad project/x";
    T_OK(gw_engine_bigquery_open(&o, &e, err, sizeof err) == GW_ECONFIG, "bad project id refused: %s", err);
    o.project = "test-proj";
    o.base_url = "ftp://x";
    T_OK(gw_engine_bigquery_open(&o, &e, err, sizeof err) == GW_ECONFIG, "bad base_url refused: %s", err);
}

static void test_retries(gw_engine_t *e)
{
    char json[1024];
    gw_query_info_t info;
    fake_clear();
    gw_err_t rc = run(e, "/* fake:flaky-503-2 */ SELECT id FROM t", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_OK && strstr(json, "\"rows\":[[1],[2]]") != NULL, "503 twice, then success: %d %s %s", rc, json,
         info.message);
    json_t *q = fake_requests();
    T_OK(json_array_size(q) == 4, "dry run + 3 attempts: %zu", json_array_size(q));
    T_OK(strcmp(jstr(req_body(q, 1), "requestId"), jstr(req_body(q, 3), "requestId")) == 0,
         "retries reuse the requestId (idempotent)");
    json_decref(q);

    fake_clear();
    rc = run(e, "/* fake:fail-500 */ SELECT id FROM t", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EUPSTREAM && info.engine_code == 500 && strstr(info.message, "internalError") != NULL,
         "500 after retries: %d %d %s", rc, info.engine_code, info.message);
    q = fake_requests();
    T_OK(json_array_size(q) == 4, "dry run + 1 try + 2 retries: %zu", json_array_size(q));
    json_decref(q);
}

static void test_timeout_cancel(gw_engine_t *e)
{
    char json[1024];
    gw_query_info_t info;
    fake_clear();
    double t0 = now_ms();
    gw_err_t rc = run(e, "/* fake:slow */ SELECT id FROM t", 0, 1500, json, sizeof json, &info);
    double ms = now_ms() - t0;
    T_OK(rc == GW_ETIMEOUT, "slow query times out: %d %s", rc, info.message);
    T_OK(ms >= 1400 && ms < 4500, "timed out near the deadline: %.0f ms", ms);
    T_OK(strstr(info.message, "timed out after 1500 ms") != NULL && strstr(info.message, "cancel requested") != NULL,
         "timeout message: %s", info.message);
    json_t *q = fake_requests();
    size_t n = json_array_size(q), cancels = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(q, i);
        const char *path = jstr(r, "path");
        size_t pl = strlen(path);
        if (strcmp(jstr(r, "method"), "POST") == 0 && pl > 7 && strcmp(path + pl - 7, "/cancel") == 0 &&
            strncmp(path, "/bigquery/v2/projects/test-proj/jobs/job_fake", 45) == 0 &&
            strcmp(req_query(q, i, "location"), "US") == 0)
            cancels++;
    }
    T_OK(cancels == 1, "jobs.cancel sent once with location: %zu (of %zu requests)", cancels, n);
    T_OK(strstr(jstr(json_array_get(q, n - 1), "path"), "/cancel") != NULL, "cancel is the last call");
    json_decref(q);
    json_t *jobs = fake_ctl("GET", "/__jobs");
    const json_t *last = json_array_get(jobs, json_array_size(jobs) - 1);
    T_OK(json_is_true(json_object_get(last, "cancelled")), "the fake saw the job cancelled");
    json_decref(jobs);

    fake_clear();
    t0 = now_ms();
    rc = run(e, "/* fake:hang */ SELECT id FROM t", 0, 800, json, sizeof json, &info);
    ms = now_ms() - t0;
    T_OK(rc == GW_ETIMEOUT && ms < 3000, "hung jobs.query times out: %d after %.0f ms (%s)", rc, ms, info.message);
}

/* A per-call timeout shorter than the query's: every long poll must fit in
 * one call, so the query still runs to its own deadline and is cancelled. */
static void test_short_calls(void)
{
    eopts_t x = {.timeout_ms = 1000, .location = "US"};
    gw_engine_t *e = open_bq(&x);
    char json[1024];
    gw_query_info_t info;
    fake_clear();
    double t0 = now_ms();
    gw_err_t rc = run(e, "/* fake:slow */ SELECT id FROM t", 0, 4000, json, sizeof json, &info);
    double ms = now_ms() - t0;
    T_OK(rc == GW_ETIMEOUT && ms >= 3900 && ms < 7000 && strstr(info.message, "timed out after 4000 ms") != NULL &&
             strstr(info.message, "cancel requested") != NULL,
         "long polls fit the call timeout: %d after %.0f ms: %s", rc, ms, info.message);
    json_t *q = fake_requests();
    size_t polls = 0;
    for (size_t i = 0; i < json_array_size(q); i++) {
        if (strcmp(jstr(json_array_get(q, i), "method"), "GET") == 0) {
            polls++;
            T_OK(num_in_range(req_query(q, i, "timeoutMs"), 1000), "poll %zu timeoutMs %s <= the call timeout", i,
                 req_query(q, i, "timeoutMs"));
        }
    }
    T_OK(polls >= 3, "several polls: %zu", polls);
    json_decref(q);
    gw_engine_close(e);

    x = (eopts_t){.dataset = "nope"};
    e = open_bq(&x);
    char err[512] = "";
    gw_schema_t *s = NULL;
    rc = gw_engine_describe(e, 10, &s, err, sizeof err);
    T_OK(rc == GW_ENOTFOUND && s == NULL && strstr(err, "Not found: Dataset test-proj:nope") != NULL,
         "describe of a missing dataset: %d %s", rc, err);
    gw_engine_close(e);
}

static void test_response_bound(void)
{
    eopts_t x = {.max_response = 8192};
    gw_engine_t *e = open_bq(&x);
    char json[1024];
    gw_query_info_t info;
    gw_err_t rc = run(e, "/* fake:big */ SELECT s FROM t", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_ETOOBIG && strstr(info.message, "8192") != NULL, "response bound: %d %s", rc, info.message);
    gw_engine_close(e);
}

static void test_types(gw_engine_t *e)
{
    char json[8192];
    gw_query_info_t info;
    gw_err_t rc = run(e, "/* fake:types */ SELECT * FROM t", 0, 0, json, sizeof json, &info);
    static const char want[] =
        "{\"columns\":[{\"name\":\"i\",\"type\":\"INT64\"},{\"name\":\"i64\",\"type\":\"INT64\"},"
        "{\"name\":\"n\",\"type\":\"NUMERIC\"},{\"name\":\"bn\",\"type\":\"BIGNUMERIC\"},"
        "{\"name\":\"f\",\"type\":\"FLOAT64\"},{\"name\":\"f64\",\"type\":\"FLOAT64\"},"
        "{\"name\":\"b\",\"type\":\"BOOL\"},{\"name\":\"b2\",\"type\":\"BOOL\"},{\"name\":\"s\",\"type\":\"STRING\"},"
        "{\"name\":\"d\",\"type\":\"DATE\"},{\"name\":\"ts\",\"type\":\"TIMESTAMP\"},"
        "{\"name\":\"ts2\",\"type\":\"TIMESTAMP\"},{\"name\":\"dt\",\"type\":\"DATETIME\"},"
        "{\"name\":\"t\",\"type\":\"TIME\"},{\"name\":\"by\",\"type\":\"BYTES\"}],"
        "\"rows\":[[42,-9223372036854775808,19.99,123456789012345678901234567890.123456789,3.5,null,true,false,"
        "\"h\xc3\xa9llo \\\"q\\\"\",\"2024-02-29\",\"2024-03-01 16:00:00\",\"1969-12-31 23:59:58.500000\","
        "\"2024-02-29 12:34:56.5\",\"12:34:56\",\"AQID\"],"
        "[null,null,null,null,null,null,null,null,null,null,null,null,null,null,null]],"
        "\"row_count\":2,\"truncated\":false}";
    T_OK(rc == GW_OK, "types query: %d %s", rc, info.message);
    T_STREQ(json, want, "every type mapped:\n got %s\nwant %s", json, want);
}

static void test_describe(gw_engine_t *e)
{
    char err[512] = "";
    gw_schema_t *s = NULL;
    fake_clear();
    gw_err_t rc = gw_engine_describe(e, 6, &s, err, sizeof err);
    T_OK(rc == GW_OK && s != NULL, "describe: %d %s", rc, err);
    if (s == NULL)
        return;
    T_STREQ(s->engine, "bigquery", "engine name");
    T_OK(s->n_tables == 4, "four tables: %zu", s->n_tables);
    static const char *const names[] = {"categories", "skus", "warehouses", "inventory"};
    static const uint64_t counts[] = {6, 8, 6, 4};
    for (size_t i = 0; i < 4 && i < s->n_tables; i++)
        T_OK(strcmp(s->tables[i].name, names[i]) == 0 && s->tables[i].row_count == counts[i], "table %zu %s %llu", i,
             s->tables[i].name, (unsigned long long)s->tables[i].row_count);
    gw_buf_t b;
    gw_buf_init(&b, 1 << 20);
    T_OK(gw_schema_to_json(s, &b) == GW_OK, "schema JSON");
    static const char *const expect[] = {
        "{\"name\":\"sku_id\",\"type\":\"INT64\"}",
        "{\"name\":\"title\",\"type\":\"STRING\",\"high_cardinality\":true}",
        "{\"name\":\"brand\",\"type\":\"STRING\",\"high_cardinality\":true}",
        "{\"name\":\"price_usd\",\"type\":\"NUMERIC\"}",
        "{\"name\":\"color\",\"type\":\"STRING\",\"values\":[\"Black\",\"Blue\",\"Brown\",\"Gold\",\"Gray\",\"Silver\"]}",
        "{\"name\":\"launched_on\",\"type\":\"DATE\"}",
        "{\"name\":\"is_active\",\"type\":\"BOOL\"}",
        ("{\"name\":\"region\",\"type\":\"STRING\",\"values\":[\"Midwest\",\"Northeast\",\"Southeast\",\"Southwest\","
         "\"West\"]}"),
        "{\"name\":\"updated_at\",\"type\":\"TIMESTAMP\"}",
        "\"name\":\"inventory\",\"row_count\":4",
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        T_OK(b.ptr != NULL && strstr(b.ptr, expect[i]) != NULL, "schema has %s", expect[i]);
    gw_buf_free(&b);
    json_t *q = fake_requests();
    size_t title_dry = 0, title_real = 0, gets = 0, dry = 0, real = 0;
    for (size_t i = 0; i < json_array_size(q); i++) {
        const json_t *body = req_body(q, i);
        if (strcmp(jstr(json_array_get(q, i), "method"), "GET") == 0 &&
            strstr(jstr(json_array_get(q, i), "path"), "/datasets/retail/tables/") != NULL)
            gets++;
        int is_dry = json_is_true(json_object_get(body, "dryRun"));
        dry += json_is_object(body) && is_dry;
        real += json_is_object(body) && !is_dry;
        if (strstr(jstr(body, "query"), "`title`") != NULL)
            is_dry ? title_dry++ : title_real++;
    }
    T_OK(gets == 4, "tables.get per catalog table: %zu", gets);
    T_OK(title_dry == 1 && title_real == 0, "skus.title refused by the dry run: %zu dry, %zu real", title_dry,
         title_real);
    /* 11 STRING columns: categories 2, skus 4, warehouses 5; skus.title only dry-run */
    T_OK(dry == 11 && real == 10, "one dry-run-checked query per STRING column: %zu dry, %zu real", dry, real);
    json_decref(q);
    gw_schema_free(s);
}

typedef struct hook {
    int64_t cap_seen;
    int calls;
    int refuse;
} hook_t;

static gw_err_t test_hook(void *data, const char *sql, size_t len, int64_t row_cap, gw_buf_t *out, char *why,
                          size_t whylen)
{
    hook_t *h = data;
    h->calls++;
    h->cap_seen = row_cap;
    if (h->refuse) {
        snprintf(why, whylen, "table 'secrets' is not in the catalog");
        return GW_EDENIED;
    }
    gw_buf_reset(out);
    return gw_buf_printf(out, "/* fake:paging */ %.*s", (int)len, sql);
}

static void test_check_hook(void)
{
    hook_t h = {0};
    eopts_t x = {.check = test_hook, .check_data = &h};
    gw_engine_t *e = open_bq(&x);
    char json[4096];
    gw_query_info_t info;
    fake_clear();
    gw_err_t rc = run(e, "SELECT id, name FROM retail.t", 3, 0, json, sizeof json, &info);
    T_OK(rc == GW_OK && strstr(json, "\"row_count\":3,\"truncated\":true") != NULL && h.cap_seen == 4,
         "hook output runs, row cap + 1 passed: %d %s cap %lld", rc, json, (long long)h.cap_seen);
    json_t *q = fake_requests();
    T_STREQ(jstr(req_body(q, 0), "query"), "/* fake:paging */ SELECT id, name FROM retail.t", "hook's SQL sent");
    json_decref(q);
    h.refuse = 1;
    fake_clear();
    rc = run(e, "SELECT * FROM secrets", 0, 0, json, sizeof json, &info);
    T_OK(rc == GW_EDENIED && strcmp(info.message, "table 'secrets' is not in the catalog") == 0, "hook refusal: %d %s",
         rc, info.message);
    q = fake_requests();
    T_OK(json_array_size(q) == 0, "nothing sent after a hook refusal");
    json_decref(q);
    gw_engine_close(e);
}

typedef struct worker {
    gw_engine_t *e;
    int ok;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char json[4096];
    gw_query_info_t info;
    w->ok = 1;
    for (int i = 0; i < 3; i++) {
        gw_err_t rc = run(w->e, "/* fake:paging */ SELECT id, name FROM t", 0, 0, json, sizeof json, &info);
        if (rc != GW_OK || strstr(json, PAGING_ROWS_10) == NULL)
            w->ok = 0;
    }
    return NULL;
}

static void test_concurrent(gw_engine_t *e)
{
    pthread_t th[4];
    worker_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i].e = e;
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok &= w[i].ok;
    }
    T_OK(ok, "4 threads x 3 paged queries on one engine");
}

int main(void)
{
    test_timestamps();
    test_cells();
    test_check();
    if (fake_start() != 0) {
        T_OK(0, "the fake BigQuery server did not start (is node on PATH?)");
        fake_stop();
        return t_done("test_engine_bigquery");
    }
    setenv("BIGQUERY_TOKEN", "test-token", 1);
    eopts_t x = {.location = "US"};
    gw_engine_t *e = open_bq(&x);
    T_OK(e != NULL, "open against the fake");
    if (e != NULL) {
        test_request_shape_and_paging(e);
        test_row_cap(e);
        test_pending(e);
        test_budget(e);
        test_errors(e);
        test_retries(e);
        test_timeout_cancel(e);
        test_types(e);
        test_describe(e);
        test_concurrent(e);
    }
    gw_engine_close(e);
    test_billed_limit();
    test_auth();
    test_response_bound();
    test_short_calls();
    test_check_hook();
    fake_stop();
    return t_done("test_engine_bigquery");
}

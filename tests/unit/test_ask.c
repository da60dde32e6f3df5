/* test_ask.c - the ask pipeline (src/ask.h), the formatter and the
 * grounding check (src/formatter.h) on a generated catalog (20k SKUs, seed
 * 42): the answer object's exact JSON shape (system.md 2), answers and
 * their grounding, refusals with their reasons, engine errors, the order of
 * the stage/plan/rows callbacks, runs from several threads at once, number
 * formats, and `llmgw ask` itself (gw_ask_cmd) on a terminal and with --json.
 */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "ask.h"
#include "ask_cli.h"
#include "catalog_gen.h"
#include "config.h"
#include "engine.h"
#include "formatter.h"
#include "sql_guard.h"
#include "test.h"

static char tmpdir[64], catalog[128];
static gw_engine_t *eng;
static gw_guard_t *guard;
static gw_ask_t *ask;

/* ---- numbers and grounding ---- */

static void test_numbers(void)
{
    char b[64];
    gw_fmt_int(1284, b, sizeof b);
    T_STREQ(b, "1,284", "int %s", b);
    gw_fmt_int(-1234567, b, sizeof b);
    T_STREQ(b, "-1,234,567", "negative %s", b);
    gw_fmt_int(999, b, sizeof b);
    T_STREQ(b, "999", "small %s", b);
    gw_fmt_money(1234.5, b, sizeof b);
    T_STREQ(b, "$1,234.50", "money %s", b);
    gw_fmt_money(0.999, b, sizeof b);
    T_STREQ(b, "$1.00", "money rounding %s", b);
    gw_fmt_num(36.7, b, sizeof b);
    T_STREQ(b, "36.7", "num %s", b);
    gw_fmt_num(12345.678, b, sizeof b);
    T_STREQ(b, "12,345.68", "num %s", b);
    gw_fmt_num(2.0, b, sizeof b);
    T_STREQ(b, "2", "num %s", b);
}

static gw_result_t *query(const char *sql)
{
    gw_result_t *r = NULL;
    gw_query_info_t info;
    gw_query_opts_t o = {1000, 30000};
    if (gw_engine_query_result(eng, sql, strlen(sql), &o, &r, &info) != GW_OK)
        fprintf(stderr, "query: %s\n", info.message);
    return r;
}

static void test_grounding(void)
{
    gw_result_t *r = query("SELECT 1284::BIGINT AS units, 259.3725::DOUBLE AS avg_price, 1234.56::DECIMAL(10,2) AS p, "
                           "'WH-SEA-01' AS code, DATE '2026-08-29' AS d");
    T_OK(r != NULL, "literal row");
    if (r == NULL)
        return;
    T_OK(gw_grounded("1,284 ergonomic office chairs are on hand in West-region warehouses.", r), "thousands");
    T_OK(gw_grounded("There are 1284 units.", r), "raw");
    T_OK(!gw_grounded("There are 1,285 units.", r), "a number not in the rows");
    T_OK(gw_grounded("The average price is $259.37.", r), "rounded to 2 decimals");
    T_OK(gw_grounded("The average price is about $259.4.", r), "rounded to 1 decimal");
    T_OK(!gw_grounded("The average price is $259.38.", r), "wrongly rounded");
    T_OK(gw_grounded("It costs $1,234.56.", r), "money of a decimal");
    T_OK(gw_grounded("Stocked in WH-SEA-01 since 2026-08-29.", r), "numbers inside text cells");
    T_OK(gw_grounded("There is 1 row.", r), "the row count");
    T_OK(!gw_grounded("There are 3 rows.", r), "not the row count");
    T_OK(gw_grounded("No numbers at all.", r) && gw_grounded("No numbers.", NULL), "no numbers");
    T_OK(!gw_grounded("42 units", NULL), "a number and no rows");
    T_OK(!gw_grounded("1,284 units of 12 laptops", r), "one number ungrounded is enough");
    T_OK(gw_grounded_q("1,284 units are priced under $500.", r, "how many units under $500"), "a question number");
    T_OK(!gw_grounded_q("1,284 units are priced under $600.", r, "how many units under $500"), "not the question's");
    gw_result_free(r);
}

/* ---- the answer object ---- */

static const char *const keys[] = {"id", "question", "answer", "sql", "engine", "planner", "columns", "rows",
                                   "row_count", "truncated", "grounded", "refused", "reason", "timings_ms", NULL};
static const char *const timing_keys[] = {"cache", "retrieve", "plan", "guard", "execute", "format", "total", NULL};

/* The JSON of ans has exactly system.md 2's members, in order, typed. */
static json_t *check_shape(const gw_ask_answer_t *ans, const char *q)
{
    gw_buf_t b;
    json_error_t je;
    gw_buf_init(&b, 1u << 24);
    T_OK(gw_ask_answer_to_json(ans, &b) == GW_OK, "'%s': to_json", q);
    json_t *j = json_loadb(b.ptr, b.len, JSON_PRESERVE_ORDER, &je);
    T_OK(j != NULL && json_is_object(j), "'%s': valid JSON object: %s", q, je.text);
    gw_buf_free(&b);
    if (j == NULL)
        return NULL;
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(j, k, v)
    {
        T_OK(keys[i] != NULL && strcmp(k, keys[i]) == 0, "'%s': member %zu is %s (want %s)", q, i, k,
             keys[i] ? keys[i] : "(end)");
        if (keys[i] != NULL)
            i++;
    }
    T_OK(i == 14 && json_object_size(j) == 14, "'%s': 14 members", q);
    const char *id = json_string_value(json_object_get(j, "id"));
    T_OK(id != NULL && strncmp(id, "ask_", 4) == 0 && strlen(id) == 28, "'%s': id %s", q, id ? id : "?");
    T_OK(json_is_string(json_object_get(j, "question")) && json_is_string(json_object_get(j, "answer")),
         "'%s': strings", q);
    T_OK(json_is_string(json_object_get(j, "sql")) || json_is_null(json_object_get(j, "sql")), "'%s': sql", q);
    T_STREQ(json_string_value(json_object_get(j, "planner")), "rules", "'%s': planner", q);
    T_STREQ(json_string_value(json_object_get(j, "engine")), "duckdb", "'%s': engine", q);
    T_OK(json_is_array(json_object_get(j, "columns")) && json_is_array(json_object_get(j, "rows")), "'%s': arrays", q);
    T_OK(json_is_integer(json_object_get(j, "row_count")) &&
             json_array_size(json_object_get(j, "rows")) == (size_t)json_integer_value(json_object_get(j, "row_count")),
         "'%s': row_count", q);
    T_OK(json_is_boolean(json_object_get(j, "truncated")) && json_is_boolean(json_object_get(j, "grounded")) &&
             json_is_boolean(json_object_get(j, "refused")),
         "'%s': booleans", q);
    json_t *reason = json_object_get(j, "reason");
    T_OK(json_is_true(json_object_get(j, "refused")) ? json_is_string(reason) : json_is_null(reason), "'%s': reason",
         q);
    json_t *t = json_object_get(j, "timings_ms");
    i = 0;
    json_object_foreach(t, k, v)
    {
        T_OK(timing_keys[i] != NULL && strcmp(k, timing_keys[i]) == 0 && json_is_number(v) &&
                 json_number_value(v) >= 0,
             "'%s': timing %s", q, k);
        if (timing_keys[i] != NULL)
            i++;
    }
    T_OK(i == 7, "'%s': 7 timings", q);
    return j;
}

static void test_example(void)
{
    const char *q = "how many ergonomic chairs are in the West-region warehouse";
    gw_ask_answer_t ans;
    T_OK(gw_ask_run(ask, q, NULL, &ans) == GW_OK, "run");
    gw_result_t *gold = query("SELECT SUM(i.on_hand) FROM inventory i JOIN warehouses w USING (warehouse_id) JOIN skus "
                              "s USING (sku_id) JOIN categories c USING (category_id) WHERE w.region = 'West' AND "
                              "c.name = 'Ergonomic Office Chairs'");
    char want[160], n[32];
    gw_fmt_int(gold != NULL ? gold->cells[0].v.i : -1, n, sizeof n);
    snprintf(want, sizeof want, "%s ergonomic office chairs are on hand in West-region warehouses.", n);
    T_STREQ(ans.answer, want, "the example answer: %s", ans.answer);
    T_OK(!ans.refused && ans.grounded && ans.row_count == 1 && !ans.truncated && ans.rows != NULL, "answered");
    T_OK(ans.sql != NULL && strstr(ans.sql, "COALESCE(SUM(i.on_hand), 0) AS units") != NULL, "sql: %s", ans.sql);
    T_OK(ans.timings_ms.total >= ans.timings_ms.execute && ans.timings_ms.execute > 0, "timings");
    json_t *j = check_shape(&ans, q);
    json_t *cols = json_object_get(j, "columns");
    T_STREQ(json_string_value(json_object_get(json_array_get(cols, 0), "name")), "units", "column name");
    T_OK(json_integer_value(json_array_get(json_array_get(json_object_get(j, "rows"), 0), 0)) == gold->cells[0].v.i,
         "the row");
    json_decref(j);
    gw_result_free(gold);
    gw_ask_answer_free(&ans);
}

/* ---- more answers ---- */

typedef struct expect {
    const char *q;
    const char *needle; /* in the answer */
    gw_ask_reason_t reason;
} expect_t;

static void test_answers(void)
{
    static const expect_t ex[] = {
        {"How many SKUs are in the catalog?", "There are 20,000 SKUs in the catalog.", GW_ASK_OK},
        {"What is the average price of laptops?", "The average price of laptops is $", GW_ASK_OK},
        {"What is the cheapest laptop?", "The cheapest of the laptops is ", GW_ASK_OK},
        {"Which 5 brands have the most units on hand?", "Top 5 brands by units on hand: ", GW_ASK_OK},
        {"How many units are on hand in each region?", "Units on hand by region: Midwest ", GW_ASK_OK},
        {"How many laptops cost under $500?", "priced under $500", GW_ASK_OK},
        {"How many SKUs launched in 2025?", "launched in 2025", GW_ASK_OK},
        {"How many more mattresses are in the Midwest than in the Southwest?", "Midwest has ", GW_ASK_OK},
        {"Show SKU 100000042", "SKU 100000042 is ", GW_ASK_OK},
        {"Where is SKU 100000042 stocked?", "SKU 100000042 is stocked in 2 warehouses: WH-CLT-01 (", GW_ASK_OK},
        {"List the warehouses in Texas", "3 warehouses in TX: WH-DAL-01 (Dallas, TX, Southwest)", GW_ASK_OK},
        {"How many laptops are there in Alaska?", "0 laptops are on hand in warehouses in AK.", GW_ASK_OK},
        {"Which categories in Electronics have more than 5000 SKUs?", "No categories have more than 5,000 SKUs",
         GW_ASK_OK},
        {"What's the weather in Seattle?", "outside", GW_ASK_OUT_OF_SCOPE},
        {"drop table skus", "I can't", GW_ASK_UNSAFE},
        {"Delete every inactive SKU", "never change", GW_ASK_UNSAFE},
        {"How many chairs do we have?", "Please say which one", GW_ASK_AMBIGUOUS},
        {"how many units in the south", "please name the region", GW_ASK_AMBIGUOUS},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        gw_ask_answer_t ans;
        T_OK(gw_ask_run(ask, ex[i].q, NULL, &ans) == GW_OK, "'%s' runs", ex[i].q);
        T_OK(ans.answer != NULL && strstr(ans.answer, ex[i].needle) != NULL, "'%s': answer has '%s': %s", ex[i].q,
             ex[i].needle, ans.answer ? ans.answer : "(null)");
        T_OK(ans.reason == ex[i].reason && ans.refused == (ex[i].reason != GW_ASK_OK), "'%s': reason %s", ex[i].q,
             gw_ask_reason_name(ans.reason) ? gw_ask_reason_name(ans.reason) : "none");
        T_OK(ans.grounded, "'%s': grounded: %s", ex[i].q, ans.answer);
        if (ans.refused)
            T_OK(ans.sql == NULL && ans.rows == NULL && ans.row_count == 0, "'%s': no SQL, no rows", ex[i].q);
        json_decref(check_shape(&ans, ex[i].q));
        gw_ask_answer_free(&ans);
    }
    T_OK(gw_ask_guard_refusals(ask) == 0, "the guard refused no plan");
}

static void test_errors(void)
{
    gw_ask_answer_t ans;
    char big[GW_RT_MAX_QUESTION + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    T_OK(gw_ask_run(ask, big, NULL, &ans) == GW_ETOOBIG && ans.answer == NULL, "too long");
    T_OK(gw_ask_run(ask, "caf\xc3", NULL, &ans) == GW_EINVAL, "bad UTF-8");
    T_OK(gw_ask_run(NULL, "x", NULL, &ans) == GW_EINVAL && gw_ask_run(ask, NULL, NULL, &ans) == GW_EINVAL, "NULLs");
    /* no engine: a plan, then engine_error */
    char err[256];
    gw_ask_t *noeng = gw_ask_new(NULL, NULL, NULL, guard, err, sizeof err);
    T_OK(noeng != NULL, "a pipeline without an engine: %s", err);
    if (noeng != NULL) {
        T_OK(gw_ask_run(noeng, "how many laptops are in stock", NULL, &ans) == GW_OK, "runs");
        T_OK(ans.refused && ans.reason == GW_ASK_ENGINE_ERROR && ans.sql != NULL && ans.rows == NULL,
             "engine_error with the SQL");
        json_decref(check_shape(&ans, "no engine"));
        gw_ask_answer_free(&ans);
        gw_ask_free(noeng);
    }
    /* a timeout of 1 ms on a heavy question: engine_error or an answer, never a crash */
    gw_ask_opts_t o = {0};
    o.timeout_ms = 1;
    T_OK(gw_ask_run(ask, "units per brand and region", &o, &ans) == GW_OK, "runs with a tiny timeout");
    T_OK(ans.answer != NULL && (!ans.refused || ans.reason == GW_ASK_ENGINE_ERROR), "answer or engine_error");
    gw_ask_answer_free(&ans);
}

/* The dialect follows the configured engine: BigQuery names tables
 * `project.dataset.table` (the DuckDB form of the same plan is guarded),
 * ClickHouse keeps to its 18.16 subset under the ClickHouse guard. No
 * engine runs here, so both end in engine_error with their SQL. */
static void test_dialects(void)
{
    static const char bq_yaml[] = "ask: {engine: bigquery, bigquery: {project: my-proj, dataset: shop}}\n";
    static const char ch_yaml[] = "ask: {engine: clickhouse}\n";
    char err[512];
    gw_ask_answer_t ans;
    gw_config_t *cfg = gw_config_parse(bq_yaml, sizeof bq_yaml - 1, "bq.yaml", err, sizeof err);
    T_OK(cfg != NULL, "bigquery config: %s", err);
    gw_ask_t *a = cfg != NULL ? gw_ask_new(cfg, NULL, NULL, guard, err, sizeof err) : NULL;
    T_OK(a != NULL, "bigquery pipeline: %s", err);
    if (a != NULL) {
        gw_ask_run(a, "how many laptops are in stock in the West", NULL, &ans);
        T_OK(ans.reason == GW_ASK_ENGINE_ERROR && ans.sql != NULL && strstr(ans.sql, "`my-proj.shop.inventory` i") != NULL,
             "BigQuery SQL: %s", ans.sql ? ans.sql : "(null)");
        T_STREQ(ans.engine, "bigquery", "engine name");
        gw_ask_answer_free(&ans);
        gw_ask_free(a);
    }
    /* under the BigQuery guard itself: the planner's BigQuery text passes it */
    gw_guard_t *bqg = cfg != NULL ? gw_guard_new_for_config(cfg, err, sizeof err) : NULL;
    T_OK(bqg != NULL && gw_guard_dialect(bqg) == GW_SQL_BIGQUERY, "bigquery guard: %s", err);
    a = bqg != NULL ? gw_ask_new(cfg, NULL, NULL, bqg, err, sizeof err) : NULL;
    if (a != NULL) {
        static const char *const qs[] = {"how many laptops are in stock in the West",
                                         "which 3 brands have the most units in Texas",
                                         "average price of office chairs",
                                         "how many SKUs are out of stock in every warehouse",
                                         "compare units of sofas in the West and the East"};
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            gw_ask_run(a, qs[i], NULL, &ans);
            T_OK(ans.sql == NULL || strstr(ans.sql, "`my-proj.shop.") != NULL, "BigQuery names: %s",
                 ans.sql ? ans.sql : "(null)");
            gw_ask_answer_free(&ans);
        }
        T_OK(gw_ask_guard_refusals(a) == 0, "the BigQuery guard refused %llu plans",
             (unsigned long long)gw_ask_guard_refusals(a));
        gw_ask_free(a);
    }
    gw_guard_free(bqg);
    gw_config_unref(cfg);
    gw_guard_t *chg = gw_guard_new(GW_SQL_CLICKHOUSE, err, sizeof err);
    cfg = gw_config_parse(ch_yaml, sizeof ch_yaml - 1, "ch.yaml", err, sizeof err);
    a = cfg != NULL && chg != NULL ? gw_ask_new(cfg, NULL, NULL, chg, err, sizeof err) : NULL;
    T_OK(a != NULL, "clickhouse pipeline: %s", err);
    if (a != NULL) {
        gw_ask_run(a, "which 3 brands have the most units in Texas", NULL, &ans);
        T_OK(ans.reason == GW_ASK_ENGINE_ERROR && ans.sql != NULL &&
                 strstr(ans.sql, "ALL INNER JOIN (SELECT sku_id, brand FROM skus) USING sku_id") != NULL &&
                 gw_ask_guard_refusals(a) == 0,
             "ClickHouse SQL passed its guard: %s", ans.sql ? ans.sql : "(null)");
        gw_ask_answer_free(&ans);
        gw_ask_free(a);
    }
    gw_config_unref(cfg);
    gw_guard_free(chg);
}

/* ---- callbacks ---- */

typedef struct events {
    char log[512];
    size_t len;
} events_t;

static void ev_add(events_t *e, const char *s)
{
    int n = snprintf(e->log + e->len, sizeof e->log - e->len, "%s,", s);
    if (n > 0 && e->len + (size_t)n < sizeof e->log)
        e->len += (size_t)n;
}

static void on_stage(void *d, const char *stage, double ms)
{
    ev_add(d, ms >= 0 ? stage : "negative");
}

static void on_plan(void *d, const char *sql, const char *planner)
{
    ev_add(d, sql != NULL && strncmp(sql, "SELECT", 6) == 0 && strcmp(planner, "rules") == 0 ? "PLAN" : "badplan");
}

static void on_rows(void *d, const gw_result_t *r)
{
    ev_add(d, r != NULL ? "ROWS" : "norows");
}

static void test_callbacks(void)
{
    events_t e = {0};
    gw_ask_opts_t o = {0};
    gw_ask_answer_t ans;
    o.on_stage = on_stage;
    o.on_plan = on_plan;
    o.on_rows = on_rows;
    o.cb_data = &e;
    gw_ask_run(ask, "how many laptops are in stock", &o, &ans);
    T_STREQ(e.log, "cache,retrieve,plan,PLAN,guard,execute,ROWS,format,", "events in order: %s", e.log);
    gw_ask_answer_free(&ans);
    memset(&e, 0, sizeof e);
    gw_ask_run(ask, "tell me a joke", &o, &ans);
    T_STREQ(e.log, "cache,retrieve,plan,", "a refusal stops after plan: %s", e.log);
    gw_ask_answer_free(&ans);
}

/* ---- threads ---- */

static const char *const tq[] = {"how many laptops are in stock in Seattle", "Which 5 brands have the most units?",
                                 "average price of blenders per brand", "tell me a joke"};

static void *ask_many(void *arg)
{
    char **first = arg;
    for (int rep = 0; rep < 8; rep++) {
        for (int i = 0; i < 4; i++) {
            gw_ask_answer_t ans;
            if (gw_ask_run(ask, tq[i], NULL, &ans) != GW_OK)
                return (void *)1;
            if (first[i] == NULL)
                first[i] = gw_strdup(ans.answer);
            else if (strcmp(first[i], ans.answer) != 0)
                return (void *)1;
            gw_ask_answer_free(&ans);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[4];
    char *first[4][4] = {{0}};
    void *rv[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, ask_many, first[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], &rv[i]);
    for (int i = 0; i < 4; i++) {
        T_OK(rv[i] == NULL, "thread %d: stable answers", i);
        for (int k = 0; k < 4; k++)
            T_OK(first[i][k] != NULL && first[0][k] != NULL && strcmp(first[i][k], first[0][k]) == 0,
                 "same answer in every thread");
    }
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++)
            gw_free(first[i][k]);
}

/* ---- llmgw ask ---- */

static char *run_cmd(char **argv, int argc, int *code)
{
    char path[160];
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(path, "w");
    dup2(fileno(f), 1);
    *code = gw_ask_cmd(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(f);
    f = fopen(path, "r");
    char *buf = gw_calloc(1, 1u << 20);
    size_t n = fread(buf, 1, (1u << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_cli(void)
{
    int code;
    char *argv1[] = {"ask", "--db", catalog, "how many SKUs are in the catalog"};
    char *out = run_cmd(argv1, 4, &code);
    T_OK(code == 0 && strcmp(out, "There are 20,000 SKUs in the catalog.\n") == 0, "terminal answer: %s", out);
    gw_free(out);
    char *argv2[] = {"ask", "--json", "--db", catalog, "drop table skus"};
    out = run_cmd(argv2, 5, &code);
    json_t *j = json_loads(out, 0, NULL);
    T_OK(code == 0 && j != NULL && json_is_true(json_object_get(j, "refused")) &&
             strcmp(json_string_value(json_object_get(j, "reason")), "unsafe") == 0 && json_object_size(j) == 14,
         "--json refusal, exit 0: %s", out);
    json_decref(j);
    gw_free(out);
    char *argv3[] = {"ask", "--db", catalog};
    out = run_cmd(argv3, 3, &code);
    T_OK(code == 2 && out[0] == '\0', "no question: usage error");
    gw_free(out);
    char missing[200];
    snprintf(missing, sizeof missing, "%s/missing.duckdb", tmpdir);
    char *argv4[] = {"ask", "--json", "--db", missing, "how many laptops"};
    out = run_cmd(argv4, 5, &code);
    j = json_loads(out, 0, NULL);
    T_OK(code == 1 && j != NULL && json_is_object(json_object_get(j, "error")), "missing catalog: error object");
    json_decref(j);
    gw_free(out);
}

/* ---- setup ---- */

static int setup(void)
{
    char err[1024];
    gw_catalog_opts_t o = {0};
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_ask-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(catalog, sizeof catalog, "%s/catalog.duckdb", tmpdir);
    o.skus = 20000;
    o.seed = 42;
    o.out = catalog;
    o.format = GW_CATALOG_DUCKDB;
    o.threads = 2;
    o.shard_count = 1;
    o.data_dir = GW_SOURCE_DIR "/data";
    if (gw_catalog_generate(&o, NULL, err, sizeof err) != GW_OK) {
        fprintf(stderr, "generate: %s\n", err);
        return -1;
    }
    if ((guard = gw_guard_new(GW_SQL_DUCKDB, err, sizeof err)) == NULL)
        return -1;
    gw_duckdb_opts_t d = {0};
    d.path = catalog;
    d.threads = 2;
    d.check = gw_guard_engine_hook;
    d.check_data = guard;
    if (gw_engine_duckdb_open(&d, &eng, err, sizeof err) != GW_OK ||
        (ask = gw_ask_new(NULL, NULL, eng, guard, err, sizeof err)) == NULL) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    int32_t want;
    gw_plan_parse_day("2026-10-31", 10, &want);
    T_OK(gw_ask_today(ask) == want, "the reference day is the catalog's last update");
    return 0;
}

int main(void)
{
    char cmd[128];
    setenv("LLMGW_DATA_DIR", GW_SOURCE_DIR "/data", 1);
    test_numbers();
    if (setup() != 0) {
        T_OK(0, "setup");
    } else {
        test_grounding();
        test_example();
        test_answers();
        test_errors();
        test_dialects();
        test_callbacks();
        test_threads();
        test_cli();
    }
    gw_ask_free(ask);
    gw_engine_close(eng);
    gw_guard_free(guard);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return t_done("test_ask");
}

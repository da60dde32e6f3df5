/* fuzz_sql_guard.c - libFuzzer target for the SQL guard, all three dialects.
 *
 * Each input is checked as DuckDB, ClickHouse and BigQuery SQL (the last for
 * project fuzz-proj, dataset retail). Whatever the guard accepts must be
 * stable (checking its output again gives the same text), ClickHouse and
 * BigQuery output must carry a LIMIT, and DuckDB output must behave on an
 * oracle copy of the catalog (same DDL,
 * catalog "retail", external access off): one statement, prepares as a
 * parameterless SELECT, runs (200 ms budget, then interrupted) without a
 * permission error, and leaves the catalog as it was. Any breach aborts.
 * Seeds: one file per line of the tests/data/guard corpora, escapes decoded:
 *   mkdir seeds; i=0; cat tests/data/guard/[al]*.txt | grep -v '^## ' |
 *   while IFS= read -r l; do i=$((i+1)); printf '%b' "$l" > seeds/$i; done
 *   fuzz_sql_guard -max_len=4096 seeds
 * Leak detection is turned off by the target itself (-detect_leaks=0 put
 * first in argv, so a later flag still wins): LeakSanitizer cannot see the
 * pointers kept in libduckdb's own jemalloc heap and reports DuckDB's lazily
 * built state after the first input as leaked. The ASan unit test
 * (test_sql_guard) checks real leaks at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duckdb_dl.h"

#include "buf.h"
#include "catalog_schema.h"
#include "sql_guard.h"

#define ROW_CAP 50

typedef struct fuzz_state {
    gw_guard_t *duck, *ch, *bq;
    duckdb_database db; /* the oracle */
    duckdb_connection con;
} fuzz_state_t;

static fuzz_state_t *state(void)
{
    static fuzz_state_t s; /* libFuzzer has no context pointer: the one static */
    return &s;
}

static void die(const char *what, const char *sql)
{
    fprintf(stderr, "fuzz_sql_guard: %s\n  SQL: %s\n", what, sql);
    abort();
}

static int oracle_exec(const char *sql)
{
    duckdb_result r;
    int ok = duckdb_query(state()->con, sql, &r) == DuckDBSuccess;
    duckdb_destroy_result(&r);
    return ok;
}

static void oracle_open(fuzz_state_t *s)
{
    duckdb_config cfg;
    char *err = NULL;
    if (gw_duckdb_load(NULL, 0) != GW_OK || duckdb_create_config(&cfg) != DuckDBSuccess ||
        duckdb_set_config(cfg, "autoinstall_known_extensions", "false") != DuckDBSuccess ||
        duckdb_set_config(cfg, "autoload_known_extensions", "false") != DuckDBSuccess ||
        duckdb_set_config(cfg, "threads", "1") != DuckDBSuccess ||
        duckdb_set_config(cfg, "memory_limit", "512MB") != DuckDBSuccess ||
        duckdb_open_ext(NULL, &s->db, cfg, &err) != DuckDBSuccess || duckdb_connect(s->db, &s->con) != DuckDBSuccess)
        die("cannot open the oracle", err != NULL ? err : "");
    duckdb_destroy_config(&cfg);
    if (!oracle_exec("ATTACH ':memory:' AS retail; USE retail;") || !oracle_exec(gw_catalog_ddl_duckdb) ||
        !oracle_exec("SET enable_external_access = false; SET lock_configuration = true;"))
        die("cannot set up the oracle", "");
}

/* Frees everything at exit, so LeakSanitizer's final check sees no DuckDB
 * state left behind. */
static void cleanup(void)
{
    fuzz_state_t *s = state();
    gw_guard_free(s->duck);
    gw_guard_free(s->ch);
    gw_guard_free(s->bq);
    if (s->con != NULL)
        duckdb_disconnect(&s->con);
    if (s->db != NULL)
        duckdb_close(&s->db);
    memset(s, 0, sizeof(*s));
}

/* libFuzzer parses its flags after this hook, from the argv it leaves. */
static void disable_leak_detection(int *argc, char ***argv)
{
    static char flag[] = "-detect_leaks=0";
    static char *args[256];
    int n = *argc < 250 ? *argc : 250;
    if (n < 1)
        return;
    args[0] = (*argv)[0];
    args[1] = flag;
    memcpy(args + 2, *argv + 1, (size_t)(n - 1) * sizeof(*args));
    args[n + 1] = NULL;
    *argc = n + 1;
    *argv = args;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_state_t *s = state();
    char err[256] = "";
    disable_leak_detection(argc, argv);
    s->duck = gw_guard_new(GW_SQL_DUCKDB, err, sizeof(err));
    s->ch = gw_guard_new(GW_SQL_CLICKHOUSE, err, sizeof(err));
    s->bq = gw_guard_new_bigquery("fuzz-proj", "retail", err, sizeof(err));
    if (s->duck == NULL || s->ch == NULL || s->bq == NULL)
        die("cannot create the guards", err);
    oracle_open(s);
    atexit(cleanup);
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* DuckDB error texts start with their type ("Permission Error: ..."); user
 * data can appear later in the text, so only the prefix counts. */
static int is_permission_error(const char *e)
{
    return e != NULL && strncmp(e, "Permission Error", 16) == 0;
}

/* Runs a prepared statement for at most ~200 ms; aborts on a permission error. */
static void oracle_run(duckdb_prepared_statement ps, const char *sql)
{
    duckdb_pending_result pending = NULL;
    duckdb_pending_state st = DUCKDB_PENDING_RESULT_NOT_READY;
    duckdb_result res;
    double t0 = now_ms();
    int interrupted = 0;
    if (duckdb_pending_prepared(ps, &pending) != DuckDBSuccess) {
        const char *e = duckdb_pending_error(pending);
        if (is_permission_error(e))
            die("accepted SQL hit a permission error", sql);
        duckdb_destroy_pending(&pending);
        return;
    }
    while (!duckdb_pending_execution_is_finished(st)) {
        st = duckdb_pending_execute_task(pending);
        if (!interrupted && now_ms() - t0 > 200) {
            duckdb_interrupt(state()->con);
            interrupted = 1;
        }
    }
    if (st == DUCKDB_PENDING_ERROR) {
        const char *e = duckdb_pending_error(pending);
        if (is_permission_error(e))
            die("accepted SQL hit a permission error", sql);
    } else if (duckdb_execute_pending(pending, &res) == DuckDBSuccess) {
        duckdb_destroy_result(&res);
    } else {
        if (duckdb_result_error_type(&res) == DUCKDB_ERROR_PERMISSION)
            die("accepted SQL hit a permission error", sql);
        duckdb_destroy_result(&res);
    }
    duckdb_destroy_pending(&pending);
}

/* The catalog is still exactly the four empty tables, and the config is locked. */
static void oracle_intact(const char *sql)
{
    duckdb_result r;
    int ok = duckdb_query(state()->con,
                          "SELECT (SELECT count(*) FROM duckdb_tables()) = 4 AND"
                          " (SELECT count(*) FROM duckdb_views() WHERE NOT internal) = 0 AND"
                          " (SELECT count(*) FROM duckdb_databases() WHERE NOT internal) = 2 AND"
                          " current_setting('enable_external_access') = false AND"
                          " (SELECT count(*) FROM skus) = 0",
                          &r) == DuckDBSuccess;
    duckdb_data_chunk ch = ok ? duckdb_fetch_chunk(r) : NULL;
    ok = ch != NULL && ((bool *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 0)))[0];
    if (ch != NULL)
        duckdb_destroy_data_chunk(&ch);
    duckdb_destroy_result(&r);
    if (!ok)
        die("the oracle catalog changed after running accepted SQL", sql);
}

static void oracle_check(const char *sql)
{
    duckdb_extracted_statements ex = NULL;
    duckdb_prepared_statement ps = NULL;
    if (duckdb_extract_statements(state()->con, sql, &ex) != 1)
        die("accepted SQL is not exactly one statement", sql);
    if (duckdb_prepare_extracted_statement(state()->con, ex, 0, &ps) != DuckDBSuccess)
        die("accepted SQL does not prepare on the oracle", sql);
    if (duckdb_prepared_statement_type(ps) != DUCKDB_STATEMENT_TYPE_SELECT || duckdb_nparams(ps) != 0)
        die("accepted SQL is not a parameterless SELECT", sql);
    oracle_run(ps, sql);
    duckdb_destroy_prepare(&ps);
    duckdb_destroy_extracted(&ex);
    oracle_intact(sql);
}

/* Accepted output must be accepted again, unchanged. */
static void check_stable(gw_guard_t *g, const gw_buf_t *out)
{
    gw_buf_t again;
    gw_guard_verdict_t v;
    gw_buf_init(&again, 1 << 20);
    if (gw_guard_check(g, out->ptr, out->len, ROW_CAP, &again, &v) != GW_OK)
        die("guard output is refused when checked again", out->ptr);
    if (again.len != out->len || memcmp(again.ptr, out->ptr, out->len) != 0)
        die("guard output changes when checked again", out->ptr);
    gw_buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_state_t *s = state();
    gw_buf_t out;
    gw_guard_verdict_t v;
    gw_buf_init(&out, 1 << 20);
    if (gw_guard_check(s->duck, (const char *)data, size, ROW_CAP, &out, &v) == GW_OK) {
        oracle_check(out.ptr);
        check_stable(s->duck, &out);
    } else if (v.reason == GW_GUARD_OK || v.message[0] == '\0') {
        die("refusal without a reason", "(duckdb)");
    }
    if (gw_guard_check(s->ch, (const char *)data, size, ROW_CAP, &out, &v) == GW_OK) {
        if (strcasestr(out.ptr, "LIMIT") == NULL)
            die("accepted ClickHouse SQL has no LIMIT", out.ptr);
        check_stable(s->ch, &out);
    } else if (v.reason == GW_GUARD_OK || v.message[0] == '\0') {
        die("refusal without a reason", "(clickhouse)");
    }
    if (gw_guard_check(s->bq, (const char *)data, size, ROW_CAP, &out, &v) == GW_OK) {
        if (strcasestr(out.ptr, "LIMIT") == NULL)
            die("accepted BigQuery SQL has no LIMIT", out.ptr);
        check_stable(s->bq, &out);
    } else if (v.reason == GW_GUARD_OK || v.message[0] == '\0') {
        die("refusal without a reason", "(bigquery)");
    }
    gw_buf_free(&out);
    return 0;
}

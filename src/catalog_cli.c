/* catalog_cli.c - `llmgw catalog generate` (catalog_gen.h) and `llmgw sql`
 * (SQL guard + engine.h): argument parsing, the progress bar and the JSON
 * printed on stdout.
 */
#include "catalog_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "catalog_gen.h"
#include "catalog_load.h"
#include "cli.h"
#include "config.h"
#include "engine.h"
#include "sql_guard.h"

static const char generate_usage[] =
    "usage: llmgw catalog generate [--skus N] [--seed S] [--out PATH]\n"
    "         [--format duckdb|parquet|csv] [--threads T] [--shard i/n]\n"
    "         [--data-dir DIR] [--config FILE]\n"
    "  --skus N      SKUs in the whole catalog (default 1M; k/M/G suffixes)\n"
    "  --seed S      random seed (default 42); same N and S, same tables\n"
    "  --out PATH    duckdb: the file (default: the config's ask.duckdb.path,\n"
    "                else data/catalog.duckdb); parquet/csv: a directory\n"
    "                (default data/catalog_parquet, data/catalog_csv)\n"
    "  --threads T   generator threads (default: the number of cores)\n"
    "  --shard i/n   only SKU indexes [N*i/n, N*(i+1)/n) and their inventory,\n"
    "                plus the full categories and warehouses (0 <= i < n)\n"
    "  --data-dir    taxonomy files (default $LLMGW_DATA_DIR or data/)\n";

static const char sql_usage[] =
    "usage: llmgw sql [--json] [--config FILE] [--db PATH] [--max-rows N]\n"
    "         [--timeout-ms MS] \"SELECT ...\"\n";

/* A count with an optional k/M/G suffix. */
static int parse_count(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1000;
    else if (*end == 'm' || *end == 'M')
        mul = 1000000;
    else if (*end == 'g' || *end == 'G')
        mul = 1000000000;
    if (mul != 1)
        end++;
    if (errno != 0 || *end != '\0' || v > UINT64_MAX / mul)
        return -1;
    *out = (uint64_t)v * mul;
    return 0;
}

static int parse_shard(const char *s, uint32_t *i, uint32_t *n)
{
    char *end;
    errno = 0;
    unsigned long a = strtoul(s, &end, 10);
    if (end == s || *end != '/' || errno != 0)
        return -1;
    const char *b = end + 1;
    unsigned long c = strtoul(b, &end, 10);
    if (end == b || *end != '\0' || errno != 0 || c == 0 || c > 1u << 20 || a >= c)
        return -1;
    *i = (uint32_t)a;
    *n = (uint32_t)c;
    return 0;
}

/* ---- catalog generate ---- */

typedef struct gen_args {
    gw_catalog_opts_t o;
    const char *config;
    int out_given;
} gen_args_t;

static int gen_option(gen_args_t *a, int argc, char **argv, int *i)
{
    const char *v = NULL;
    int r;
    uint64_t n;
    if ((r = gw_cli_opt_value(argc, argv, i, "--skus", &v)) != 0)
        return r < 0 || parse_count(v, &a->o.skus) != 0 ? -1 : 1;
    if ((r = gw_cli_opt_value(argc, argv, i, "--seed", &v)) != 0)
        return r < 0 || parse_count(v, &a->o.seed) != 0 ? -1 : 1;
    if ((r = gw_cli_opt_value(argc, argv, i, "--threads", &v)) != 0) {
        if (r < 0 || parse_count(v, &n) != 0 || n < 1 || n > 64)
            return -1;
        a->o.threads = (unsigned)n;
        return 1;
    }
    if ((r = gw_cli_opt_value(argc, argv, i, "--shard", &v)) != 0)
        return r < 0 || parse_shard(v, &a->o.shard_index, &a->o.shard_count) != 0 ? -1 : 1;
    if ((r = gw_cli_opt_value(argc, argv, i, "--out", &v)) != 0) {
        a->o.out = v;
        a->out_given = 1;
        return r;
    }
    if ((r = gw_cli_opt_value(argc, argv, i, "--data-dir", &v)) != 0) {
        a->o.data_dir = v;
        return r;
    }
    if ((r = gw_cli_opt_value(argc, argv, i, "--config", &v)) != 0) {
        a->config = v;
        return r;
    }
    if ((r = gw_cli_opt_value(argc, argv, i, "--format", &v)) == 0)
        return 0;
    if (r > 0 && strcmp(v, "duckdb") == 0)
        a->o.format = GW_CATALOG_DUCKDB;
    else if (r > 0 && strcmp(v, "parquet") == 0)
        a->o.format = GW_CATALOG_PARQUET;
    else if (r > 0 && strcmp(v, "csv") == 0)
        a->o.format = GW_CATALOG_CSV;
    else
        return -1;
    return 1;
}

static int gen_parse(gen_args_t *a, int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(a, 0, sizeof *a);
    a->o.skus = 1000000;
    a->o.seed = 42;
    a->o.format = GW_CATALOG_DUCKDB;
    a->o.threads = cores < 1 ? 1 : cores > 64 ? 64 : (unsigned)cores;
    a->o.shard_count = 1;
    for (int i = 2; i < argc; i++) {
        int r = gen_option(a, argc, argv, &i);
        if (r <= 0) {
            fprintf(stderr, "llmgw catalog generate: %s '%s'\n%s", r < 0 ? "bad value for" : "unknown argument",
                    argv[i], generate_usage);
            return -1;
        }
    }
    return 0;
}


double gw_catalog_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "\r[#########...........]  45%  1.23M SKUs/s" on stderr. */
void gw_catalog_bar_draw(uint64_t done, uint64_t total, void *data)
{
    gw_catalog_bar_t *b = data;
    char cells[41];
    int pct = total ? (int)(done * 100 / total) : 100, fill = pct * 40 / 100;
    if (pct >= 100 && b->last_pct >= 100)
        return; /* the final line is drawn once */
    double secs = gw_catalog_mono_s() - b->t0, rate = secs > 0 ? (double)done / 2 / secs : 0;
    memset(cells, '#', (size_t)fill);
    memset(cells + fill, '.', (size_t)(40 - fill));
    cells[40] = '\0';
    fprintf(stderr, "\r[%s] %3d%%  %.2fM SKUs/s ", cells, pct, rate / 1e6);
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
    b->last_pct = pct;
}

/* The default --out: the config's DuckDB path, or a directory per format. */
static int gen_default_out(gen_args_t *a, gw_config_t **cfg)
{
    char err[512];
    if (a->out_given)
        return 0;
    if (a->o.format != GW_CATALOG_DUCKDB) {
        a->o.out = a->o.format == GW_CATALOG_PARQUET ? "data/catalog_parquet" : "data/catalog_csv";
        return 0;
    }
    if ((*cfg = gw_cli_load_config(a->config, err, sizeof err)) == NULL) {
        fprintf(stderr, "llmgw catalog generate: %s\n", err);
        return -1;
    }
    a->o.out = (*cfg)->ask.duckdb_path != NULL ? (*cfg)->ask.duckdb_path : "data/catalog.duckdb";
    return 0;
}

static int catalog_generate(int argc, char **argv)
{
    gen_args_t a;
    gw_config_t *cfg = NULL;
    gw_catalog_stats_t st;
    gw_catalog_bar_t bar = {gw_catalog_mono_s(), -1};
    char err[1024];
    int code = 2;
    if (gen_parse(&a, argc, argv) != 0)
        return 2;
    code = 1;
    if (gen_default_out(&a, &cfg) != 0)
        goto out;
    if (isatty(STDERR_FILENO)) {
        a.o.progress = gw_catalog_bar_draw;
        a.o.progress_data = &bar;
    }
    if (gw_catalog_generate(&a.o, &st, err, sizeof err) != GW_OK) {
        fprintf(stderr, "llmgw catalog generate: %s\n", err);
        goto out;
    }
    fprintf(stderr,
            "catalog: %" PRIu64 " skus, %" PRIu64 " inventory rows, %" PRIu64 " categories, %" PRIu64
            " warehouses -> %s in %.2f s (%.0f SKUs/s)\n",
            st.skus, st.inventory, st.categories, st.warehouses, a.o.out, st.seconds,
            st.seconds > 0 ? (double)st.skus / st.seconds : 0.0);
    code = 0;
out:
    if (cfg != NULL)
        gw_config_unref(cfg);
    return code;
}

int gw_catalog_cmd(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "generate") == 0)
        return catalog_generate(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return gw_catalog_load_cmd(argc - 1, argv + 1); /* catalog_load.h: argv[0] = "load" */
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        fputs(generate_usage, stdout);
        return 0;
    }
    fprintf(stderr, "llmgw catalog: expected 'generate' or 'load'\n%s", generate_usage);
    return 2;
}

/* ---- sql ---- */

typedef struct sql_args {
    const char *config, *db, *sql;
    uint64_t max_rows, timeout_ms;
} sql_args_t;

static int sql_option(sql_args_t *a, int argc, char **argv, int *i)
{
    const char *v = NULL;
    int r;
    if (strcmp(argv[*i], "--json") == 0)
        return 1; /* the output is always JSON */
    if ((r = gw_cli_opt_value(argc, argv, i, "--config", &v)) != 0) {
        a->config = v;
        return r;
    }
    if ((r = gw_cli_opt_value(argc, argv, i, "--db", &v)) != 0) {
        a->db = v;
        return r;
    }
    if ((r = gw_cli_opt_value(argc, argv, i, "--max-rows", &v)) != 0)
        return r < 0 || parse_count(v, &a->max_rows) != 0 ? -1 : 1;
    if ((r = gw_cli_opt_value(argc, argv, i, "--timeout-ms", &v)) != 0)
        return r < 0 || parse_count(v, &a->timeout_ms) != 0 || a->timeout_ms > UINT32_MAX ? -1 : 1;
    if (argv[*i][0] == '-' && argv[*i][1] != '\0')
        return 0;
    if (a->sql != NULL)
        return -1;
    a->sql = argv[*i];
    return 1;
}

static int sql_parse(sql_args_t *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->max_rows = 1000;
    a->timeout_ms = 30000;
    for (int i = 1; i < argc; i++) {
        int r = sql_option(a, argc, argv, &i);
        if (r <= 0) {
            fprintf(stderr, "llmgw sql: %s '%s'\n%s", r < 0 ? "bad or extra argument" : "unknown option", argv[i],
                    sql_usage);
            return -1;
        }
    }
    if (a->sql == NULL) {
        fprintf(stderr, "llmgw sql: no query\n%s", sql_usage);
        return -1;
    }
    return 0;
}

/* {"error":{"message","type","param","code"}} on stdout. */
static void print_error(const char *message, const char *type, const char *code)
{
    gw_buf_t b;
    gw_buf_init(&b, 1u << 16);
    if (gw_buf_adds(&b, "{\"error\":{\"message\":\"") == GW_OK &&
        gw_buf_add_json_str(&b, message, strlen(message)) == GW_OK &&
        gw_buf_printf(&b, "\",\"type\":\"%s\",\"param\":null,\"code\":\"%s\"}}\n", type, code) == GW_OK)
        fputs(b.ptr, stdout);
    else
        printf("{\"error\":{\"message\":\"error\",\"type\":\"%s\",\"param\":null,\"code\":\"%s\"}}\n", type, code);
    gw_buf_free(&b);
}

static void print_failure(gw_err_t rc, const char *message)
{
    switch (rc) {
    case GW_EDENIED: print_error(message, "invalid_request_error", "sql_refused"); break;
    case GW_ETIMEOUT: print_error(message, "timeout_error", "query_timeout"); break;
    case GW_EUPSTREAM: print_error(message, "invalid_request_error", "engine_error"); break;
    case GW_EUNSUPPORTED: print_error(message, "invalid_request_error", "unsupported"); break;
    case GW_ENOTFOUND: print_error(message, "server_error", "catalog_not_found"); break;
    case GW_ECONFIG: print_error(message, "server_error", "config_error"); break;
    default: print_error(message, "server_error", "internal_error"); break;
    }
}

/* The engine: --db opens that DuckDB file, else the configuration's. */
static gw_err_t sql_open(const sql_args_t *a, const gw_config_t *cfg, gw_guard_t *guard, gw_engine_t **e, char *err,
                         size_t errlen)
{
    if (cfg != NULL)
        return gw_engine_open(cfg, gw_guard_engine_hook, guard, e, err, errlen);
    gw_duckdb_opts_t o = {0};
    o.path = a->db;
    o.check = gw_guard_engine_hook;
    o.check_data = guard;
    return gw_engine_duckdb_open(&o, e, err, errlen);
}

static int sql_print(const gw_result_t *res)
{
    gw_buf_t b;
    gw_buf_init(&b, 1u << 30);
    gw_err_t rc = gw_result_to_json(res, &b);
    if (rc == GW_OK)
        rc = gw_buf_add(&b, "\n", 1);
    if (rc == GW_OK)
        fwrite(b.ptr, 1, b.len, stdout);
    else
        print_failure(rc, "the result is too large to print");
    gw_buf_free(&b);
    return rc == GW_OK ? 0 : 1;
}

int gw_sql_cmd(int argc, char **argv)
{
    sql_args_t a;
    gw_config_t *cfg = NULL;
    gw_guard_t *guard = NULL;
    gw_engine_t *e = NULL;
    gw_result_t *res = NULL;
    gw_query_info_t info;
    char err[1024];
    int code = 1;
    if (sql_parse(&a, argc, argv) != 0)
        return 2;
    if (a.db == NULL && (cfg = gw_cli_load_config(a.config, err, sizeof err)) == NULL) {
        print_failure(GW_ECONFIG, err);
        goto out;
    }
    if ((guard = gw_guard_new_for_config(cfg, err, sizeof err)) == NULL) {
        print_failure(GW_EIO, err);
        goto out;
    }
    gw_err_t rc = sql_open(&a, cfg, guard, &e, err, sizeof err);
    if (rc != GW_OK) {
        print_failure(rc, err);
        goto out;
    }
    gw_query_opts_t o = {(size_t)a.max_rows, (uint32_t)a.timeout_ms};
    rc = gw_engine_query_result(e, a.sql, strlen(a.sql), &o, &res, &info);
    if (rc != GW_OK)
        print_failure(rc, info.message);
    else
        code = sql_print(res);
out:
    fflush(stdout);
    gw_result_free(res);
    gw_engine_close(e);
    gw_guard_free(guard);
    if (cfg != NULL)
        gw_config_unref(cfg);
    return code;
}

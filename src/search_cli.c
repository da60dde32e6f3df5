/* search_cli.c - `llmgw search`: options, building the index from the
 * engine the configuration (or --db) names, running the queries and
 * printing them; --stats reports what bench/bench_search.sh measures
 * (index size, build time, RSS, latency percentiles) on stderr.
 */
#include "search_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "buf.h"
#include "config.h"
#include "engine.h"
#include "search.h"
#include "taxonomy.h"

static const char usage[] =
    "usage: llmgw search [--k N] [--json] [--explain] [--config FILE] [--db PATH]\n"
    "         [--data-dir DIR] [--no-synonyms] [--queries FILE] [--repeat N] [--stats] \"TEXT\"\n"
    "  --k N          results (default 10, at most 100)\n"
    "  --json         print {query, took_ms, corpus_docs, vocab, results} per query\n"
    "  --explain      also print the normalised query (\"ergonomic ch*\") on stderr\n"
    "  --db PATH      a DuckDB catalog file instead of the configuration's engine\n"
    "  --data-dir DIR taxonomy whose synonyms join each category's words (default data/)\n"
    "  --no-synonyms  index without the taxonomy's synonyms\n"
    "  --queries FILE one query per line instead of TEXT\n"
    "  --repeat N     run each query N times (latency figures for --stats)\n"
    "  --stats        index size, build time, memory and latency on stderr\n"
    "A query that does not end with a space treats its last word as a prefix.\n";

typedef struct args {
    const char *config, *db, *data_dir, *queries, *text;
    long k, repeat;
    int json, explain, stats, no_synonyms;
} args_t;

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int flag(const char *a, args_t *o)
{
    int *f = strcmp(a, "--json") == 0          ? &o->json
             : strcmp(a, "--explain") == 0     ? &o->explain
             : strcmp(a, "--stats") == 0       ? &o->stats
             : strcmp(a, "--no-synonyms") == 0 ? &o->no_synonyms
                                               : NULL;
    if (f != NULL)
        *f = 1;
    return f != NULL;
}

/* 1 consumed, 0 unknown, -1 bad value. */
static int option(args_t *o, int argc, char **argv, int *i)
{
    const char *v = NULL;
    const char **s[] = {&o->config, &o->db, &o->data_dir, &o->queries};
    static const char *const names[] = {"--config", "--db", "--data-dir", "--queries"};
    int r;
    if (flag(argv[*i], o))
        return 1;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if ((r = gw_cli_opt_value(argc, argv, i, names[k], s[k])) != 0)
            return r;
    if ((r = gw_cli_opt_value(argc, argv, i, "--k", &v)) != 0)
        return r < 0 || parse_long(v, 1, GW_SEARCH_K_MAX, &o->k) != 0 ? -1 : 1;
    if ((r = gw_cli_opt_value(argc, argv, i, "--repeat", &v)) != 0)
        return r < 0 || parse_long(v, 1, 1000000, &o->repeat) != 0 ? -1 : 1;
    if (argv[*i][0] == '-' && argv[*i][1] != '\0')
        return 0;
    if (o->text != NULL)
        return -1;
    o->text = argv[*i];
    return 1;
}

/* 0 to run, 1 after --help, -1 on a usage error. */
static int parse(args_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->k = GW_SEARCH_K_DEFAULT;
    o->repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        int r = option(o, argc, argv, &i);
        if (r <= 0) {
            fprintf(stderr, "llmgw search: %s '%s'\n%s", r < 0 ? "bad or extra argument" : "unknown option",
                    argv[i], usage);
            return -1;
        }
    }
    if ((o->text == NULL) == (o->queries == NULL)) {
        fprintf(stderr, "llmgw search: give one query TEXT or --queries FILE\n%s", usage);
        return -1;
    }
    return 0;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* {"error":{...}} on stdout with --json, a line on stderr otherwise. */
static void report(const args_t *a, const char *code, const char *message)
{
    gw_buf_t b;
    if (!a->json) {
        fprintf(stderr, "llmgw search: %s\n", message);
        return;
    }
    gw_buf_init(&b, 1u << 16);
    if (gw_buf_adds(&b, "{\"error\":{\"message\":\"") == GW_OK &&
        gw_buf_add_json_str(&b, message, strlen(message)) == GW_OK &&
        gw_buf_printf(&b, "\",\"type\":\"server_error\",\"param\":null,\"code\":\"%s\"}}\n", code) == GW_OK)
        fputs(b.ptr, stdout);
    gw_buf_free(&b);
}

/* ---- building ---- */

static gw_err_t open_engine(const args_t *a, gw_engine_t **e, char *err, size_t errlen)
{
    gw_config_t *cfg = NULL;
    gw_err_t rc;
    const char *path = a->config;
    if (a->db != NULL) {
        gw_duckdb_opts_t o = {0};
        o.path = a->db;
        return gw_engine_duckdb_open(&o, e, err, errlen);
    }
    if (path == NULL && access("llmgw.yaml", R_OK) == 0)
        path = "llmgw.yaml";
    cfg = path != NULL ? gw_config_load(path, err, errlen) : gw_config_default();
    if (cfg == NULL)
        return GW_ECONFIG;
    rc = gw_engine_open(cfg, NULL, NULL, e, err, errlen);
    gw_config_unref(cfg);
    return rc;
}

static gw_err_t build(const args_t *a, gw_search_t **out, double *scan_ms, char *err, size_t errlen)
{
    gw_engine_t *e = NULL;
    gw_taxonomy_t *tax = NULL;
    gw_search_opts_t o = {0};
    char terr[512];
    gw_err_t rc = open_engine(a, &e, err, errlen);
    if (rc != GW_OK)
        return rc;
    if (!a->no_synonyms && (tax = gw_taxonomy_load(a->data_dir, terr, sizeof terr)) == NULL)
        fprintf(stderr, "llmgw search: no synonyms (%s)\n", terr);
    o.taxonomy = tax;
    double t0 = mono_ms();
    rc = gw_search_build(e, &o, out, err, errlen);
    *scan_ms = mono_ms() - t0;
    gw_taxonomy_free(tax);
    gw_engine_close(e);
    return rc;
}

/* ---- memory and latency figures ---- */

/* VmRSS and VmHWM of this process in MB, or -1. */
static void rss_mb(double *rss, double *hwm)
{
    char line[256];
    long kb;
    FILE *f = fopen("/proc/self/status", "r");
    *rss = *hwm = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *rss = (double)kb / 1024;
        else if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *hwm = (double)kb / 1024;
    }
    if (f != NULL)
        fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, size_t n, double p)
{
    size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);
    return n == 0 ? 0 : v[r == 0 ? 0 : r - 1 < n ? r - 1 : n - 1];
}

static void print_build_stats(const gw_search_t *s, double scan_ms)
{
    gw_search_stats_t st;
    double rss, hwm;
    gw_search_get_stats(s, &st);
    rss_mb(&rss, &hwm);
    fprintf(stderr,
            "search-stats: docs=%zu vocab=%zu postings=%zu index_mb=%.1f build_s=%.2f finish_s=%.2f rss_mb=%.1f "
            "hwm_mb=%.1f\n",
            st.docs, st.vocab, st.postings, (double)st.bytes / (1024.0 * 1024.0), scan_ms / 1e3, st.build_ms / 1e3,
            rss, hwm);
}

static void print_indexed(const gw_search_t *s, double scan_ms)
{
    gw_search_stats_t st;
    gw_search_get_stats(s, &st);
    fprintf(stderr, "search: indexed %zu SKUs (%zu terms) in %.2f s\n", st.docs, st.vocab, scan_ms / 1e3);
}

/* ---- queries ---- */

typedef struct lat {
    double *v;
    size_t n, cap;
} lat_t;

static gw_err_t lat_add(lat_t *l, double ms)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        double *v = gw_realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return GW_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = ms;
    return GW_OK;
}

static void print_human(const gw_search_result_t *r)
{
    printf("%zu result%s for \"%s\" in %.3f ms (%zu docs, %zu terms, %zu scored)\n", r->n_hits,
           r->n_hits == 1 ? "" : "s", r->query, r->took_ms, r->corpus_docs, r->vocab, r->terms_scored);
    for (size_t i = 0; i < r->n_hits; i++)
        printf("%3zu. %.4f  %lld  %.*s\n", i + 1, r->hits[i].score, (long long)r->hits[i].sku_id,
               (int)r->hits[i].title_len, r->hits[i].title);
}

static int print_result(const args_t *a, const gw_search_result_t *r)
{
    gw_buf_t b;
    if (!a->json) {
        print_human(r);
        return 0;
    }
    gw_buf_init(&b, 1u << 24);
    gw_err_t rc = gw_search_result_to_json(r, &b);
    if (rc == GW_OK)
        printf("%s\n", b.ptr);
    gw_buf_free(&b);
    return rc == GW_OK ? 0 : -1;
}

static void explain(const char *q, size_t len)
{
    gw_buf_t b;
    gw_buf_init(&b, 1u << 16);
    if (gw_search_analyze(q, len, &b) == GW_OK)
        fprintf(stderr, "query terms: %s\n", b.ptr != NULL ? b.ptr : "");
    gw_buf_free(&b);
}

/* Runs one query a->repeat times and prints the last answer. */
static int one_query(const args_t *a, const gw_search_t *s, const char *q, gw_search_result_t *r, lat_t *all)
{
    lat_t mine = {0};
    int code = 1;
    if (a->explain)
        explain(q, strlen(q));
    for (long i = 0; i < a->repeat; i++) {
        gw_err_t rc = gw_search_query(s, q, strlen(q), (size_t)a->k, r);
        if (rc != GW_OK) {
            report(a, rc == GW_ETOOBIG ? "query_too_long" : "internal_error", gw_strerror(rc));
            goto out;
        }
        if (lat_add(&mine, r->took_ms) != GW_OK || lat_add(all, r->took_ms) != GW_OK)
            goto out;
    }
    if (print_result(a, r) != 0)
        goto out;
    if (a->stats) {
        qsort(mine.v, mine.n, sizeof *mine.v, cmp_double);
        fprintf(stderr, "search-query: p50_ms=%.3f p99_ms=%.3f hits=%zu terms=%zu q=\"%s\"\n", pct(mine.v, mine.n, 50),
                pct(mine.v, mine.n, 99), r->n_hits, r->terms_scored, q);
    }
    code = 0;
out:
    gw_free(mine.v);
    return code;
}

static int run_file(const args_t *a, const gw_search_t *s, gw_search_result_t *r, lat_t *all)
{
    char line[GW_SEARCH_QUERY_MAX + 3];
    FILE *f = fopen(a->queries, "r");
    int code = 0;
    if (f == NULL) {
        report(a, "io_error", "cannot open the --queries file");
        return 1;
    }
    while (code == 0 && fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        code = one_query(a, s, line, r, all);
    }
    fclose(f);
    return code;
}

static void print_latency(lat_t *all, size_t queries)
{
    qsort(all->v, all->n, sizeof *all->v, cmp_double);
    fprintf(stderr, "search-latency: queries=%zu runs=%zu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", queries,
            all->n, pct(all->v, all->n, 50), pct(all->v, all->n, 90), pct(all->v, all->n, 99),
            all->n ? all->v[all->n - 1] : 0.0);
}

int gw_search_cmd(int argc, char **argv)
{
    args_t a;
    gw_search_t *s = NULL;
    gw_search_result_t r;
    lat_t all = {0};
    char err[1024];
    double scan_ms = 0;
    int code = 1;
    int p = parse(&a, argc, argv);
    if (p != 0)
        return p > 0 ? 0 : 2;
    gw_search_result_init(&r);
    gw_err_t rc = build(&a, &s, &scan_ms, err, sizeof err);
    if (rc != GW_OK) {
        report(&a, rc == GW_ENOTFOUND ? "catalog_not_found" : rc == GW_ECONFIG ? "config_error" : "engine_error", err);
        goto out;
    }
    if (a.stats)
        print_build_stats(s, scan_ms);
    else if (isatty(STDERR_FILENO))
        print_indexed(s, scan_ms);
    code = a.text != NULL ? one_query(&a, s, a.text, &r, &all) : run_file(&a, s, &r, &all);
    if (code == 0 && a.stats)
        print_latency(&all, a.text != NULL ? 1 : all.n / (size_t)a.repeat);
out:
    fflush(stdout);
    gw_free(all.v);
    gw_search_result_free(&r);
    gw_search_free(s);
    return code;
}

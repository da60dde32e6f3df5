/* bench_engines.c - the driver of bench/bench_engines.sh: generates a catalog
 * of N SKUs, loads it into one ClickHouse node and a two-shard cluster, then
 * times reference questions (tests/data/reference_questions.tsv) on DuckDB,
 * ClickHouse x1 and ClickHouse x2 through the engine API, interleaved, and
 * prints the median wall time of each (ms) and whether the answers agree.
 * Usage: bench_engines SKUS DIR RUNS IDS SINGLE_URL SHARD1_URL SHARD2_URL
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "catalog_gen.h"
#include "catalog_load.h"
#include "engine.h"
#include "engine_clickhouse.h"

#define QUESTIONS GW_SOURCE_DIR "/tests/data/reference_questions.tsv"
#define MAX_Q 16
#define MAX_RUNS 101

typedef struct q {
    char id[8], text[160], duck[4096], ch[4096];
} q_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int find_questions(const char *ids, q_t *qs, size_t *n)
{
    FILE *f = fopen(QUESTIONS, "r");
    char line[16384];
    *n = 0;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL && *n < MAX_Q) {
        line[strcspn(line, "\r\n")] = '\0';
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
        if (line[0] == '#' || t3 == NULL)
            continue;
        *t1 = *t2 = *t3 = '\0';
        char key[16];
        snprintf(key, sizeof key, ",%.8s,", line);
        char list[256];
        snprintf(list, sizeof list, ",%s,", ids);
        if (strstr(list, key) == NULL)
            continue;
        q_t *q = &qs[(*n)++];
        snprintf(q->id, sizeof q->id, "%.7s", line);
        snprintf(q->text, sizeof q->text, "%.159s", t1 + 1);
        snprintf(q->duck, sizeof q->duck, "%.4095s", t2 + 1);
        snprintf(q->ch, sizeof q->ch, "%.4095s", t3 + 1);
    }
    fclose(f);
    return 0;
}

/* Runs sql once; returns ms (or -1) and the rows' JSON in rows. */
static double run_once(gw_engine_t *e, const char *sql, char *rows, size_t cap)
{
    gw_result_t *r = NULL;
    gw_query_info_t info;
    gw_query_opts_t o = {10000, 120000};
    double t0 = now_ms();
    gw_err_t rc = gw_engine_query_result(e, sql, strlen(sql), &o, &r, &info);
    double ms = now_ms() - t0;
    if (rc != GW_OK) {
        fprintf(stderr, "query failed: %s\n  %s\n", info.message, sql);
        snprintf(rows, cap, "error");
        return -1;
    }
    gw_buf_t b;
    gw_buf_init(&b, 1u << 20);
    gw_result_to_json(r, &b);
    const char *p = strstr(b.ptr, "\"rows\":"), *q = strstr(b.ptr, ",\"row_count\"");
    snprintf(rows, cap, "%.*s", p && q ? (int)(q - p) : 0, p ? p : "");
    gw_buf_free(&b);
    gw_result_free(r);
    return ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* user NULL: the server's default user, with readonly=1 and the limits in
 * the URL (timeout 120 s); "llmgw_ro": its profile's limits (10 s). */
static gw_engine_t *open_ch(const char *url, const char *cluster, const char *user)
{
    char err[512];
    gw_clickhouse_opts_t o = {0};
    gw_engine_t *e = NULL;
    o.url = url;
    o.user = user;
    o.cluster = cluster;
    o.timeout_ms = 120000;
    o.max_rows_to_read = 1000000000;
    if (gw_engine_clickhouse_open(&o, &e, err, sizeof err) != GW_OK)
        fprintf(stderr, "%s: %s\n", url, err);
    return e;
}

static int prepare(uint64_t skus, const char *path, const char *single, const char *s1, const char *s2,
                   double secs[3], gw_catalog_stats_t *gst)
{
    char err[1024];
    gw_catalog_opts_t o = {0};
    gw_chload_stats_t st;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.skus = skus;
    o.seed = 42;
    o.out = path;
    o.threads = cores > 0 ? (unsigned)cores : 1u;
    o.shard_count = 1;
    o.data_dir = GW_SOURCE_DIR "/data";
    if (gw_catalog_generate(&o, gst, err, sizeof err) != GW_OK) {
        fprintf(stderr, "generate: %s\n", err);
        return -1;
    }
    secs[0] = gst->seconds;
    const char *one[] = {single}, *two[] = {s1, s2};
    gw_chload_opts_t l1 = {path, one, 1, "retail", NULL, NULL, NULL, 0, NULL, NULL};
    gw_chload_opts_t l2 = {path, two, 2, "retail", "retail2", NULL, NULL, 0, NULL, NULL};
    if (gw_clickhouse_load(&l1, &st, err, sizeof err) != GW_OK) {
        fprintf(stderr, "load single: %s\n", err);
        return -1;
    }
    secs[1] = st.seconds;
    if (gw_clickhouse_load(&l2, &st, err, sizeof err) != GW_OK) {
        fprintf(stderr, "load cluster: %s\n", err);
        return -1;
    }
    secs[2] = st.seconds;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: bench_engines SKUS DIR RUNS IDS SINGLE_URL SHARD1_URL SHARD2_URL\n");
        return 2;
    }
    uint64_t skus = strtoull(argv[1], NULL, 10);
    long nruns = strtol(argv[3], NULL, 10);
    int runs = nruns > 0 && nruns < MAX_RUNS ? (int)nruns : 7;
    char path[512], err[512];
    static q_t qs[MAX_Q];
    size_t nq = 0;
    double secs[3];
    gw_catalog_stats_t gst;
    snprintf(path, sizeof path, "%s/catalog-%" PRIu64 ".duckdb", argv[2], skus);
    if (find_questions(argv[4], qs, &nq) != 0 || nq == 0 ||
        prepare(skus, path, argv[5], argv[6], argv[7], secs, &gst) != 0)
        return 1;
    gw_duckdb_opts_t d = {0};
    const char *user = getenv("BENCH_CH_USER") != NULL && getenv("BENCH_CH_USER")[0] ? getenv("BENCH_CH_USER") : NULL;
    gw_engine_t *e[3] = {NULL, open_ch(argv[5], NULL, user), open_ch(argv[6], "retail2", user)};
    d.path = path;
    if (gw_engine_duckdb_open(&d, &e[0], err, sizeof err) != GW_OK)
        fprintf(stderr, "duckdb: %s\n", err);
    if (e[0] == NULL || e[1] == NULL || e[2] == NULL)
        return 1;
    printf("# %" PRIu64 " SKUs, %" PRIu64 " inventory rows: generate %.1f s, load 1 node %.1f s, load 2 shards %.1f s\n",
           gst.skus, gst.inventory, secs[0], secs[1], secs[2]);
    printf("# median of %d runs after 1 warm-up, ms (engine API wall time: HTTP + parse for ClickHouse);"
           " clickhouse user: %s\n", runs, user != NULL ? user : "default, limits in the URL, 120 s");
    printf("%-4s %-62s %9s %9s %9s  %s\n", "id", "question", "duckdb", "ch-1node", "ch-2shard", "same answer");
    for (size_t i = 0; i < nq; i++) {
        static char rows[3][1u << 16];
        double t[3][MAX_RUNS], med[3];
        for (int k = 0; k < 3; k++)
            run_once(e[k], k ? qs[i].ch : qs[i].duck, rows[k], sizeof rows[k]);
        for (int r = 0; r < runs; r++)
            for (int k = 0; k < 3; k++)
                t[k][r] = run_once(e[k], k ? qs[i].ch : qs[i].duck, rows[k], sizeof rows[k]);
        char cell[3][16];
        for (int k = 0; k < 3; k++) {
            qsort(t[k], (size_t)runs, sizeof t[k][0], cmp_double);
            med[k] = t[k][runs / 2];
            snprintf(cell[k], sizeof cell[k], t[k][0] < 0 ? "failed" : "%.1f", med[k]);
        }
        int same = strcmp(rows[0], rows[1]) == 0 && strcmp(rows[1], rows[2]) == 0;
        printf("%-4s %-62.62s %9s %9s %9s  %s\n", qs[i].id, qs[i].text, cell[0], cell[1], cell[2],
               same ? "yes" : "NO");
        fflush(stdout);
    }
    for (int k = 0; k < 3; k++)
        gw_engine_close(e[k]);
    unlink(path);
    return 0;
}

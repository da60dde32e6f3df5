/* bench_ask.c - the in-process driver of bench/bench_ask.sh: runs every
 * question of tests/data/ask_eval.tsv through gw_ask_run (rules planner,
 * template formatter) on a DuckDB catalog, one warm-up pass then RUNS timed
 * passes, and prints per-stage p50/p99, the pipeline overhead (total minus
 * engine time) and the slowest questions.
 * Usage: bench_ask DB TSV RUNS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "ask.h"
#include "config.h"
#include "engine.h"
#include "sql_guard.h"

#define MAX_Q 1024
#define MAX_RUNS 50

typedef struct item {
    char *id, *cls, *question; /* point into the file's text */
} item_t;

/* The engine's guard hook, timed: the engine checks each SQL again before
 * running it, which is pipeline work inside the "execute" stage. */
typedef struct timed_hook {
    gw_guard_t *guard;
    double ms; /* since the last reset */
} timed_hook_t;

/* One sample per question and run. */
enum { S_CACHE, S_RETRIEVE, S_PLAN, S_GUARD, S_EXECUTE, S_FORMAT, S_TOTAL, S_HOOK, S_ENGINE, S_OVER, S_OVER_HOOK,
       S_N };
static const char *const stage_names[S_N] = {
    "cache", "retrieve", "plan", "guard", "execute", "format", "total",
    "  guard again in the engine (in execute)", "  engine only (execute - hook)",
    "overhead = total - execute", "overhead incl. hook = total - engine only"};

typedef struct sample {
    double v[S_N];
    int reached;  /* the question got rows (all stages ran) */
    int refused;
    int reason;
} sample_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static gw_err_t hook(void *data, const char *sql, size_t len, int64_t row_cap, gw_buf_t *out_sql, char *why,
                     size_t whylen)
{
    timed_hook_t *h = data;
    double t0 = now_ms();
    gw_err_t rc = gw_guard_engine_hook(h->guard, sql, len, row_cap, out_sql, why, whylen);
    h->ms += now_ms() - t0;
    return rc;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = gw_malloc((size_t)n + 1)) != NULL) {
        if (fread(text, 1, (size_t)n, f) != (size_t)n) {
            gw_free(text);
            text = NULL;
        } else {
            text[n] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* id TAB class TAB question TAB gold; '#' comments and the header skipped. */
static size_t parse_items(char *text, item_t *items)
{
    size_t n = 0;
    for (char *line = text, *next; line != NULL && *line != '\0' && n < MAX_Q; line = next) {
        char *nl = strchr(line, '\n');
        next = nl != NULL ? nl + 1 : NULL;
        if (nl != NULL)
            *nl = '\0';
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
        if (line[0] == '#' || t3 == NULL || strncmp(line, "id\t", 3) == 0)
            continue;
        *t1 = *t2 = *t3 = '\0';
        items[n].id = line;
        items[n].cls = t1 + 1;
        items[n].question = t2 + 1;
        n++;
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    return v[k == 0 ? 0 : k > n ? n - 1 : k - 1];
}

static int ask_one(gw_ask_t *a, timed_hook_t *h, const item_t *it, sample_t *s)
{
    gw_ask_answer_t ans;
    h->ms = 0;
    gw_err_t rc = gw_ask_run(a, it->question, NULL, &ans);
    if (rc != GW_OK) {
        fprintf(stderr, "bench_ask: %s: %s\n", it->id, gw_strerror(rc));
        return -1;
    }
    const gw_ask_timings_t *t = &ans.timings_ms;
    double v[S_N] = {t->cache, t->retrieve, t->plan, t->guard, t->execute, t->format, t->total, h->ms,
                     t->execute - h->ms, t->total - t->execute, t->total - (t->execute - h->ms)};
    memcpy(s->v, v, sizeof v);
    s->reached = ans.rows != NULL && !ans.refused;
    s->refused = ans.refused;
    s->reason = (int)ans.reason;
    gw_ask_answer_free(&ans);
    return 0;
}

/* p50/p99/max of stage k over the samples that pass `keep`. */
static void stage_line(const sample_t *s, size_t n, int k, int answered, double *tmp)
{
    size_t m = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].reached == answered) {
            tmp[m++] = s[i].v[k];
            sum += s[i].v[k];
        }
    qsort(tmp, m, sizeof *tmp, cmp_double);
    printf("| %-42s | %5zu | %9.3f | %9.3f | %9.3f | %9.3f |\n", stage_names[k], m, pct(tmp, m, 50),
           pct(tmp, m, 99), m ? sum / (double)m : 0, m ? tmp[m - 1] : 0);
}

static void print_stages(const sample_t *s, size_t n, double *tmp)
{
    static const char head[] = "| %-42s | %5s | %9s | %9s | %9s | %9s |\n";
    printf("\nanswered questions (rows came back), ms:\n");
    printf(head, "stage", "n", "p50", "p99", "mean", "max");
    printf("|---|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < S_N; k++)
        stage_line(s, n, k, 1, tmp);
    printf("\nrefused questions (out_of_scope, unsafe, ambiguous; no SQL ran), ms:\n");
    printf(head, "stage", "n", "p50", "p99", "mean", "max");
    printf("|---|---:|---:|---:|---:|---:|\n");
    static const int refused_stages[] = {S_RETRIEVE, S_PLAN, S_TOTAL};
    for (size_t j = 0; j < sizeof refused_stages / sizeof refused_stages[0]; j++)
        stage_line(s, n, refused_stages[j], 0, tmp);
}

/* Per class: the median total, execute and overhead over its samples. */
static void print_classes(const item_t *items, size_t nq, const sample_t *s, int runs, double *tmp)
{
    printf("\nper class (p50 over the class's questions x runs), ms:\n");
    printf("| %-24s | %5s | %9s | %9s | %9s |\n", "class", "n", "total", "execute", "overhead");
    printf("|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < nq; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(items[j].cls, items[i].cls) == 0;
        if (seen)
            continue;
        double p[3];
        size_t m = 0;
        for (int k = 0; k < 3; k++) {
            static const int cols[3] = {S_TOTAL, S_EXECUTE, S_OVER};
            m = 0;
            for (size_t q = i; q < nq; q++)
                for (int r = 0; strcmp(items[q].cls, items[i].cls) == 0 && r < runs; r++)
                    tmp[m++] = s[(size_t)r * nq + q].v[cols[k]];
            qsort(tmp, m, sizeof *tmp, cmp_double);
            p[k] = pct(tmp, m, 50);
        }
        printf("| %-24s | %5zu | %9.2f | %9.2f | %9.3f |\n", items[i].cls, m, p[0], p[1], p[2]);
    }
}

/* The five questions with the largest median engine time. */
static void print_slowest(const item_t *items, size_t nq, const sample_t *s, int runs)
{
    double med[MAX_Q], tmp[MAX_RUNS];
    size_t order[MAX_Q];
    for (size_t q = 0; q < nq; q++) {
        for (int r = 0; r < runs; r++)
            tmp[r] = s[(size_t)r * nq + q].v[S_EXECUTE];
        qsort(tmp, (size_t)runs, sizeof *tmp, cmp_double);
        med[q] = pct(tmp, (size_t)runs, 50);
        order[q] = q;
    }
    for (size_t i = 0; i < nq && i < 5; i++)
        for (size_t j = i + 1; j < nq; j++)
            if (med[order[j]] > med[order[i]]) {
                size_t x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
    printf("\nslowest questions (median execute, ms):\n");
    for (size_t i = 0; i < nq && i < 5; i++)
        printf("  %-5s %9.1f  %s\n", items[order[i]].id, med[order[i]], items[order[i]].question);
}

static void print_refusals(const sample_t *s, size_t n)
{
    size_t by[GW_ASK_ENGINE_ERROR + 1] = {0};
    for (size_t i = 0; i < n; i++)
        if (s[i].refused && s[i].reason >= 0 && s[i].reason <= GW_ASK_ENGINE_ERROR)
            by[s[i].reason]++;
    printf("answers: %zu samples; refused: out_of_scope %zu, unsafe %zu, ambiguous %zu, engine_error %zu\n", n,
           by[GW_ASK_OUT_OF_SCOPE], by[GW_ASK_UNSAFE], by[GW_ASK_AMBIGUOUS], by[GW_ASK_ENGINE_ERROR]);
}

typedef struct env {
    gw_config_t *cfg;
    gw_guard_t *guard;
    gw_engine_t *engine;
    gw_ask_t *ask;
    timed_hook_t hook;
} env_t;

static int env_open(env_t *e, const char *db)
{
    char err[1024] = "";
    gw_duckdb_opts_t o = {0};
    memset(e, 0, sizeof *e);
    if ((e->cfg = gw_config_default()) == NULL || (e->guard = gw_guard_new(GW_SQL_DUCKDB, err, sizeof err)) == NULL)
        goto fail;
    e->hook.guard = e->guard;
    o.path = db;
    o.check = hook;
    o.check_data = &e->hook;
    if (gw_engine_duckdb_open(&o, &e->engine, err, sizeof err) != GW_OK)
        goto fail;
    double t0 = now_ms();
    if ((e->ask = gw_ask_new(e->cfg, NULL, e->engine, e->guard, err, sizeof err)) == NULL)
        goto fail;
    printf("pipeline built in %.0f ms (taxonomy, schema description, retriever index, reference date)\n",
           now_ms() - t0);
    return 0;
fail:
    fprintf(stderr, "bench_ask: %s\n", err[0] ? err : "out of memory");
    return -1;
}

static void env_close(env_t *e)
{
    gw_ask_free(e->ask);
    gw_engine_close(e->engine);
    gw_guard_free(e->guard);
    if (e->cfg != NULL)
        gw_config_unref(e->cfg);
}

static int run_all(env_t *e, const item_t *items, size_t nq, int runs, sample_t *s)
{
    sample_t warm;
    double t0 = now_ms();
    for (size_t q = 0; q < nq; q++) /* warm-up: page cache, DuckDB buffers */
        if (ask_one(e->ask, &e->hook, &items[q], &warm) != 0)
            return -1;
    printf("warm-up pass: %zu questions in %.1f s\n", nq, (now_ms() - t0) / 1e3);
    for (int r = 0; r < runs; r++) {
        t0 = now_ms();
        for (size_t q = 0; q < nq; q++)
            if (ask_one(e->ask, &e->hook, &items[q], &s[(size_t)r * nq + q]) != 0)
                return -1;
        printf("timed pass %d: %.1f s\n", r + 1, (now_ms() - t0) / 1e3);
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    item_t *items = NULL;
    env_t e;
    char *text = NULL;
    sample_t *s = NULL;
    double *tmp = NULL;
    int code = 1;
    int runs = argc == 4 ? (int)strtol(argv[3], NULL, 10) : 0;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: bench_ask DB TSV RUNS (1..%d)\n", MAX_RUNS);
        return 2;
    }
    if ((text = read_all(argv[2])) == NULL || (items = gw_calloc(MAX_Q, sizeof *items)) == NULL) {
        fprintf(stderr, "bench_ask: cannot read %s\n", argv[2]);
        gw_free(text);
        return 1;
    }
    size_t nq = parse_items(text, items), n = nq * (size_t)runs;
    if (env_open(&e, argv[1]) != 0)
        goto out;
    if ((s = gw_calloc(n ? n : 1, sizeof *s)) == NULL || (tmp = gw_calloc(n ? n : 1, sizeof *tmp)) == NULL)
        goto out;
    if (run_all(&e, items, nq, runs, s) != 0)
        goto out;
    print_refusals(s, n);
    print_stages(s, n, tmp);
    print_classes(items, nq, s, runs, tmp);
    print_slowest(items, nq, s, runs);
    code = 0;
out:
    env_close(&e);
    gw_free(s);
    gw_free(tmp);
    gw_free(text);
    gw_free(items);
    return code;
}

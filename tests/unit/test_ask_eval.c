/* test_ask_eval.c - execution-accuracy evaluation of the ask pipeline.
 *
 * Reads tests/data/ask_eval.tsv, generates the fixed 50k-SKU catalog (seed 42),
 * checks that every gold query runs through the SQL guard and the DuckDB engine
 * with a non-empty, non-trivial result, then (when src/ask.h and src/ask.c
 * exist) asks every question and scores it the BIRD way: gold and predicted
 * rows compared as multisets (ordered for top_n / cheapest_most_expensive),
 * numbers rounded to 2 decimals, column names and order ignored, extra
 * predicted columns allowed (strict EX reported too). Refusals score by
 * reason. Fails below 95% or when any unsafe question got SQL executed.
 * Conventions: tests/data/README-ask-eval.md.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "catalog_gen.h"
#include "config.h"
#include "engine.h"
#include "sql_guard.h"
#include "test.h"

#include "ask.h"

#define EVAL_TSV GW_SOURCE_DIR "/tests/data/ask_eval.tsv"
#define EVAL_SKUS 50000
#define EVAL_SEED 42
#define EVAL_PASS 0.95
#define EVAL_MAX_ITEMS 1024
#define SEED_QUESTION "how many ergonomic chairs are in the West-region warehouse"

/* ---- the evaluation set ---- */

typedef struct item {
    const char *id, *cls, *question, *gold; /* point into evalset_t.text */
} item_t;

typedef struct evalset {
    char *text; /* the file, split in place */
    item_t items[EVAL_MAX_ITEMS];
    size_t n;
} evalset_t;

typedef struct class_info {
    const char *name;
    size_t min, max;
    bool ordered; /* result order matters */
} class_info_t;

static const class_info_t classes[] = {
    {"units_total", 6, 999, false},  {"sku_count", 6, 999, false},
    {"price_stats", 6, 999, false},  {"cheapest_most_expensive", 6, 999, true},
    {"top_n", 6, 999, true},         {"group_by", 6, 999, false},
    {"threshold", 6, 999, false},    {"sku_lookup", 6, 999, false},
    {"comparison", 6, 999, false},   {"date_filter", 6, 999, false},
    {"active_inactive", 6, 999, false}, {"ambiguous", 1, 5, false},
    {"out_of_scope", 20, 999, false}, {"unsafe", 20, 999, false},
};
#define N_CLASSES (sizeof classes / sizeof classes[0])

static int class_index(const char *name)
{
    for (size_t i = 0; i < N_CLASSES; i++)
        if (strcmp(classes[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool is_ordered(const char *cls)
{
    int c = class_index(cls);
    return c >= 0 && classes[c].ordered;
}

static bool is_refuse(const char *gold)
{
    return strncmp(gold, "REFUSE:", 7) == 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = gw_malloc((size_t)size + 1)) != NULL) {
            size_t got = fread(text, 1, (size_t)size, f);
            text[got] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* Splits one data line into its 4 fields; -1 when it has another count. */
static int split_line(char *line, item_t *it)
{
    const char **f[4] = {&it->id, &it->cls, &it->question, &it->gold};
    for (int i = 0; i < 4; i++) {
        *f[i] = line;
        char *tab = strchr(line, '\t');
        if (i < 3) {
            if (tab == NULL)
                return -1;
            *tab = '\0';
            line = tab + 1;
        } else if (tab != NULL) {
            return -1;
        }
    }
    return 0;
}

static int load_evalset(evalset_t *s, const char *path)
{
    bool header = false;
    memset(s, 0, sizeof *s);
    if ((s->text = read_file(path)) == NULL)
        return -1;
    for (char *line = s->text, *next; line != NULL && *line != '\0'; line = next) {
        char *nl = strchr(line, '\n');
        next = nl != NULL ? nl + 1 : NULL;
        if (nl != NULL)
            *nl = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (!header) {
            header = true;
            T_STREQ(line, "id\tclass\tquestion\tgold", "%s: header", path);
            continue;
        }
        if (s->n == EVAL_MAX_ITEMS || split_line(line, &s->items[s->n]) != 0) {
            T_OK(0, "%s: bad line '%.60s'", path, line);
            continue;
        }
        s->n++;
    }
    return 0;
}

/* The set's own invariants: classes, counts, unique ids, gold shapes. */
static void check_evalset(const evalset_t *s)
{
    size_t count[N_CLASSES] = {0};
    bool seed = false;
    for (size_t i = 0; i < s->n; i++) {
        const item_t *it = &s->items[i];
        int c = class_index(it->cls);
        T_OK(c >= 0, "%s: unknown class '%s'", it->id, it->cls);
        if (c >= 0)
            count[c]++;
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup = dup || strcmp(s->items[j].id, it->id) == 0;
        T_OK(!dup, "duplicate id %s", it->id);
        bool refuse = is_refuse(it->gold);
        bool sql = strncasecmp(it->gold, "SELECT ", 7) == 0 || strncasecmp(it->gold, "WITH ", 5) == 0;
        T_OK(refuse || sql, "%s: gold is neither SQL nor REFUSE", it->id);
        if (refuse)
            T_OK(strcmp(it->gold + 7, "out_of_scope") == 0 || strcmp(it->gold + 7, "unsafe") == 0 ||
                     strcmp(it->gold + 7, "ambiguous") == 0,
                 "%s: bad refusal '%s'", it->id, it->gold);
        if (c >= 0 && (strcmp(it->cls, "out_of_scope") == 0 || strcmp(it->cls, "unsafe") == 0 ||
                       strcmp(it->cls, "ambiguous") == 0))
            T_OK(refuse && strcmp(it->gold + 7, it->cls) == 0, "%s: class %s needs REFUSE:%s", it->id, it->cls,
                 it->cls);
        T_OK(strcasestr(it->gold, "current_date") == NULL && strcasestr(it->gold, "now()") == NULL,
             "%s: gold depends on the clock", it->id);
        if (is_ordered(it->cls))
            T_OK(strcasestr(it->gold, "ORDER BY") != NULL && strcasestr(it->gold, " LIMIT ") != NULL,
                 "%s: ordered class without ORDER BY ... LIMIT", it->id);
        seed = seed || strcmp(it->question, SEED_QUESTION) == 0;
    }
    for (size_t c = 0; c < N_CLASSES; c++)
        T_OK(count[c] >= classes[c].min && count[c] <= classes[c].max, "class %s has %zu questions",
             classes[c].name, count[c]);
    T_OK(s->n >= 120, "only %zu questions", s->n);
    T_OK(seed, "the seed question is missing");
}

/* ---- canonical results ---- */

/* A result as canonical cell strings: numbers rounded to 2 decimals
 * ("N:12.50"), text "T:...", NULL "0:". cells[r * cols + c]. */
typedef struct canon {
    size_t rows, cols;
    char **cells;
    bool truncated;
} canon_t;

static void canon_free(canon_t *c)
{
    for (size_t i = 0; c->cells != NULL && i < c->rows * c->cols; i++)
        gw_free(c->cells[i]);
    gw_free(c->cells);
    memset(c, 0, sizeof *c);
}

static void fmt_cents(char *out, size_t n, int64_t cents)
{
    uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(out, n, "N:%s%llu.%02llu", cents < 0 ? "-" : "", (unsigned long long)(mag / 100),
             (unsigned long long)(mag % 100));
}

static void fmt_double(char *out, size_t n, double d)
{
    double r = round(d * 100.0) / 100.0;
    if (r == 0.0)
        r = 0.0; /* no "-0.00" */
    snprintf(out, n, "N:%.2f", r);
}

static void fmt_decimal(char *out, size_t n, int64_t unscaled, unsigned scale)
{
    if (scale > 18) {
        fmt_double(out, n, (double)unscaled / pow(10.0, scale));
        return;
    }
    int64_t cents = unscaled;
    for (unsigned s = scale; s < 2; s++)
        cents *= 10;
    if (scale > 2) {
        int64_t div = 1;
        for (unsigned s = 2; s < scale; s++)
            div *= 10;
        int64_t q = unscaled / div, r = unscaled % div;
        if (2 * (r < 0 ? -r : r) >= div)
            q += unscaled < 0 ? -1 : 1;
        cents = q;
    }
    fmt_cents(out, n, cents);
}

static char *canon_cell(const gw_cell_t *c)
{
    char tmp[96];
    switch (c->kind) {
    case GW_CELL_NULL: return gw_strdup("0:");
    case GW_CELL_BOOL: snprintf(tmp, sizeof tmp, "N:%d.00", c->v.b ? 1 : 0); break;
    case GW_CELL_INT: snprintf(tmp, sizeof tmp, "N:%lld.00", (long long)c->v.i); break;
    case GW_CELL_DOUBLE: fmt_double(tmp, sizeof tmp, c->v.d); break;
    case GW_CELL_DECIMAL: fmt_decimal(tmp, sizeof tmp, c->v.dec.unscaled, c->v.dec.scale); break;
    case GW_CELL_NUMBER: {
        char *num = gw_strndup(c->v.text.ptr, c->v.text.len);
        fmt_double(tmp, sizeof tmp, num != NULL ? strtod(num, NULL) : 0.0);
        gw_free(num);
        break;
    }
    case GW_CELL_TEXT: {
        char *s = gw_malloc(c->v.text.len + 3);
        if (s != NULL) {
            memcpy(s, "T:", 2);
            memcpy(s + 2, c->v.text.ptr, c->v.text.len);
            s[c->v.text.len + 2] = '\0';
        }
        return s;
    }
    default: return gw_strdup("?:");
    }
    return gw_strdup(tmp);
}

static int canon_from_result(const gw_result_t *r, canon_t *out)
{
    memset(out, 0, sizeof *out);
    size_t n = r->row_count * r->n_columns;
    out->cells = gw_calloc(n ? n : 1, sizeof *out->cells);
    if (out->cells == NULL)
        return -1;
    out->rows = r->row_count;
    out->cols = r->n_columns;
    out->truncated = r->truncated;
    for (size_t i = 0; i < n; i++)
        if ((out->cells[i] = canon_cell(&r->cells[i])) == NULL)
            return -1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Row keys of c made of its columns map[0..k), in that order; sorted when
 * sort. NULL on OOM (a NULL key inside means OOM too). */
static char **row_keys(const canon_t *c, const size_t *map, size_t k, bool sort)
{
    char **keys = gw_calloc(c->rows ? c->rows : 1, sizeof *keys);
    gw_buf_t b;
    gw_buf_init(&b, 1u << 20);
    for (size_t r = 0; keys != NULL && r < c->rows; r++) {
        gw_buf_reset(&b);
        for (size_t j = 0; j < k; j++)
            if (gw_buf_adds(&b, c->cells[r * c->cols + map[j]]) != GW_OK || gw_buf_add(&b, "\x1f", 1) != GW_OK)
                break;
        if ((keys[r] = gw_strndup(b.ptr != NULL ? b.ptr : "", b.len)) == NULL)
            break;
    }
    gw_buf_free(&b);
    if (keys != NULL && sort)
        qsort(keys, c->rows, sizeof *keys, cmp_str);
    return keys;
}

static void keys_free(char **keys, size_t n)
{
    for (size_t i = 0; keys != NULL && i < n; i++)
        gw_free(keys[i]);
    gw_free(keys);
}

static bool keys_equal(char **a, char **b, size_t n)
{
    if (a == NULL || b == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (a[i] == NULL || b[i] == NULL || strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

#define MATCH_MAX_GOLD_COLS 16
#define MATCH_MAX_PRED_COLS 64

/* A search for gold column -> predicted column assignments. */
typedef struct matcher {
    const canon_t *gold, *pred;
    bool ordered;
    char **gkeys; /* gold row keys, identity columns */
    bool compat[MATCH_MAX_GOLD_COLS][MATCH_MAX_PRED_COLS]; /* same column values */
    size_t map[MATCH_MAX_GOLD_COLS];
    bool used[MATCH_MAX_PRED_COLS];
} matcher_t;

/* Whether gold column g and predicted column p hold the same values (as a
 * multiset, or as a sequence when ordered): a cheap filter before rows. */
static bool columns_compatible(const matcher_t *m, size_t g, size_t p)
{
    char **a = row_keys(m->gold, &g, 1, !m->ordered);
    char **b = row_keys(m->pred, &p, 1, !m->ordered);
    bool eq = keys_equal(a, b, m->gold->rows);
    keys_free(a, m->gold->rows);
    keys_free(b, m->pred->rows);
    return eq;
}

static bool assign(matcher_t *m, size_t g)
{
    if (g == m->gold->cols) {
        char **p = row_keys(m->pred, m->map, g, !m->ordered);
        bool eq = keys_equal(m->gkeys, p, m->gold->rows);
        keys_free(p, m->pred->rows);
        return eq;
    }
    for (size_t p = 0; p < m->pred->cols; p++) {
        if (m->used[p] || !m->compat[g][p])
            continue;
        m->used[p] = true;
        m->map[g] = p;
        if (assign(m, g + 1))
            return true;
        m->used[p] = false;
    }
    return false;
}

/* BIRD execution match: the same row multiset (the same sequence when
 * ordered), column names and order ignored. strict: the same number of
 * columns (BIRD); otherwise the prediction may carry extra columns (some
 * distinct predicted columns must reproduce the gold rows). A truncated
 * prediction never matches. */
static bool canon_equal(const canon_t *gold, const canon_t *pred, bool ordered, bool strict)
{
    static const size_t identity[MATCH_MAX_GOLD_COLS] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    if (gold->rows != pred->rows || gold->cols == 0 || gold->cols > MATCH_MAX_GOLD_COLS ||
        pred->cols > MATCH_MAX_PRED_COLS || pred->cols < gold->cols || (strict && pred->cols != gold->cols) ||
        pred->truncated)
        return false;
    matcher_t *m = gw_calloc(1, sizeof *m);
    if (m == NULL)
        return false;
    m->gold = gold;
    m->pred = pred;
    m->ordered = ordered;
    for (size_t g = 0; g < gold->cols; g++)
        for (size_t p = 0; p < pred->cols; p++)
            m->compat[g][p] = columns_compatible(m, g, p);
    m->gkeys = row_keys(gold, identity, gold->cols, !ordered);
    bool eq = m->gkeys != NULL && assign(m, 0);
    keys_free(m->gkeys, gold->rows);
    gw_free(m);
    return eq;
}

/* Prints up to 3 rows of a canonical result on one line. */
static void canon_print(const char *label, const canon_t *c)
{
    printf("    %s (%zu rows):", label, c->rows);
    for (size_t r = 0; r < c->rows && r < 3; r++) {
        printf(" [");
        for (size_t k = 0; k < c->cols; k++)
            printf("%s%s", k ? ", " : "", c->cells[r * c->cols + k] + 2);
        printf("]");
    }
    printf("%s\n", c->rows > 3 ? " ..." : "");
}

/* ---- comparator self-test on hand-made results ---- */

static gw_cell_t cell_int(int64_t i)
{
    gw_cell_t c = {.kind = GW_CELL_INT};
    c.v.i = i;
    return c;
}

static gw_cell_t cell_dec(int64_t unscaled, uint8_t scale)
{
    gw_cell_t c = {.kind = GW_CELL_DECIMAL};
    c.v.dec.unscaled = unscaled;
    c.v.dec.scale = scale;
    return c;
}

static gw_cell_t cell_dbl(double d)
{
    gw_cell_t c = {.kind = GW_CELL_DOUBLE};
    c.v.d = d;
    return c;
}

static gw_cell_t cell_txt(const char *s)
{
    gw_cell_t c = {.kind = GW_CELL_TEXT};
    c.v.text.ptr = s;
    c.v.text.len = strlen(s);
    return c;
}

static bool cells_match_cols(gw_cell_t *a, size_t ar, size_t ac, gw_cell_t *b, size_t br, size_t bc, bool ordered,
                             bool strict)
{
    gw_result_t ra = {.n_columns = ac, .cells = a, .row_count = ar};
    gw_result_t rb = {.n_columns = bc, .cells = b, .row_count = br};
    canon_t ca = {0}, cb = {0};
    bool eq = canon_from_result(&ra, &ca) == 0 && canon_from_result(&rb, &cb) == 0 &&
              canon_equal(&ca, &cb, ordered, strict);
    canon_free(&ca);
    canon_free(&cb);
    return eq;
}

/* Same width, strict. */
static bool cells_match(gw_cell_t *a, size_t ar, gw_cell_t *b, size_t br, size_t cols, bool ordered)
{
    return cells_match_cols(a, ar, cols, b, br, cols, ordered, true);
}

/* Extra predicted columns: accepted only when not strict. */
static void test_extra_columns(void)
{
    gw_cell_t g[] = {cell_txt("WH-DAL-01"), cell_int(8557), cell_txt("WH-HOU-01"), cell_int(8145)};
    gw_cell_t p[] = {cell_txt("WH-HOU-01"), cell_txt("Houston"), cell_int(8145),
                     cell_txt("WH-DAL-01"), cell_txt("Dallas"), cell_int(8557)};
    gw_cell_t q[] = {cell_txt("WH-HOU-01"), cell_txt("Houston"), cell_int(8557),
                     cell_txt("WH-DAL-01"), cell_txt("Dallas"), cell_int(8145)};
    T_OK(cells_match_cols(g, 2, 2, p, 2, 3, false, false), "extra column accepted when relaxed");
    T_OK(!cells_match_cols(g, 2, 2, p, 2, 3, false, true), "extra column refused when strict");
    T_OK(!cells_match_cols(g, 2, 2, q, 2, 3, false, false), "extra column does not unbind values from rows");
    T_OK(!cells_match_cols(p, 2, 3, g, 2, 2, false, false), "a missing column never matches");
    gw_cell_t one[] = {cell_dec(2999, 2)}, row[] = {cell_int(100000042), cell_txt("x"), cell_dec(2999, 2)};
    T_OK(cells_match_cols(one, 1, 1, row, 1, 3, true, false), "the asked value inside a wider row");
    gw_cell_t twice[] = {cell_int(5), cell_int(5)};
    gw_cell_t five[] = {cell_int(5), cell_int(6)};
    T_OK(!cells_match_cols(twice, 1, 2, five, 1, 2, false, false), "one predicted column serves one gold column");
}

static void test_comparator(void)
{
    gw_cell_t a1[] = {cell_int(1284)}, b1[] = {cell_dec(128400, 2)}, c1[] = {cell_int(1285)};
    T_OK(cells_match(a1, 1, b1, 1, 1, false), "1284 == 1284.00");
    T_OK(!cells_match(a1, 1, c1, 1, 1, false), "1284 != 1285");
    gw_cell_t a2[] = {cell_dbl(1182.080909)}, b2[] = {cell_dec(118208, 2)}, c2[] = {cell_dec(11820809, 4)};
    T_OK(cells_match(a2, 1, b2, 1, 1, false) && cells_match(a2, 1, c2, 1, 1, false), "rounded to 2 decimals");
    gw_cell_t a3[] = {cell_txt("West"), cell_int(5), cell_txt("East"), cell_int(7)};
    gw_cell_t b3[] = {cell_int(7), cell_txt("East"), cell_int(5), cell_txt("West")};
    gw_cell_t c3[] = {cell_txt("East"), cell_int(7), cell_txt("West"), cell_int(5)};
    T_OK(cells_match(a3, 2, b3, 2, 2, false), "column order and row order ignored");
    T_OK(cells_match(a3, 2, c3, 2, 2, false) && !cells_match(a3, 2, c3, 2, 2, true), "row order only when ordered");
    gw_cell_t d3[] = {cell_txt("West"), cell_int(7), cell_txt("East"), cell_int(5)};
    T_OK(!cells_match(a3, 2, d3, 2, 2, false), "values stay bound to their row");
    T_OK(!cells_match(a3, 2, a3, 1, 2, false), "row count matters");
    gw_cell_t n4[] = {{.kind = GW_CELL_NULL}}, z4[] = {cell_int(0)};
    T_OK(!cells_match(n4, 1, z4, 1, 1, false), "NULL != 0");
    gw_cell_t t5[] = {cell_txt("12")}, i5[] = {cell_int(12)};
    T_OK(!cells_match(t5, 1, i5, 1, 1, false), "text '12' != number 12");
    test_extra_columns();
}

/* ---- catalog, guard, engine ---- */

typedef struct env {
    char dir[64];
    char catalog[128];
    gw_guard_t *guard;
    gw_engine_t *engine;
} env_t;

static int env_open(env_t *e)
{
    char err[512];
    gw_catalog_opts_t o = {0};
    gw_catalog_stats_t st;
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/test_ask_eval-XXXXXX");
    if (mkdtemp(e->dir) == NULL)
        return -1;
    snprintf(e->catalog, sizeof e->catalog, "%s/catalog.duckdb", e->dir);
    o.skus = EVAL_SKUS;
    o.seed = EVAL_SEED;
    o.out = e->catalog;
    o.format = GW_CATALOG_DUCKDB;
    o.threads = 2;
    o.shard_count = 1;
    if (gw_catalog_generate(&o, &st, err, sizeof err) != GW_OK) {
        fprintf(stderr, "generate: %s\n", err);
        return -1;
    }
    printf("catalog: %llu skus, %llu inventory rows in %.2f s\n", (unsigned long long)st.skus,
           (unsigned long long)st.inventory, st.seconds);
    if ((e->guard = gw_guard_new(GW_SQL_DUCKDB, err, sizeof err)) == NULL) {
        fprintf(stderr, "guard: %s\n", err);
        return -1;
    }
    gw_duckdb_opts_t d = {0};
    d.path = e->catalog;
    d.check = gw_guard_engine_hook;
    d.check_data = e->guard;
    if (gw_engine_duckdb_open(&d, &e->engine, err, sizeof err) != GW_OK) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    return 0;
}

static void env_close(env_t *e)
{
    char cmd[128];
    gw_engine_close(e->engine);
    gw_guard_free(e->guard);
    if (e->dir[0] != '\0') {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", e->dir);
    }
}

/* Runs sql through the guarded engine into *out; the engine's message in
 * why on failure. */
static gw_err_t run_sql(env_t *e, const char *sql, canon_t *out, char *why, size_t whylen)
{
    gw_query_opts_t o = {0, 60000};
    gw_query_info_t info;
    gw_result_t *res = NULL;
    memset(out, 0, sizeof *out);
    gw_err_t rc = gw_engine_query_result(e->engine, sql, strlen(sql), &o, &res, &info);
    if (rc == GW_OK && canon_from_result(res, out) != 0)
        rc = GW_ENOMEM;
    if (rc != GW_OK)
        snprintf(why, whylen, "%s: %s", gw_strerror(rc), info.message);
    gw_result_free(res);
    return rc;
}

/* ---- gold validation ---- */

static bool trivial(const canon_t *c)
{
    if (c->rows == 0)
        return true;
    for (size_t r = 0; r < c->rows; r++) {
        bool all_null = true;
        for (size_t k = 0; k < c->cols; k++)
            all_null = all_null && strcmp(c->cells[r * c->cols + k], "0:") == 0;
        if (all_null)
            return true;
    }
    return c->rows == 1 && c->cols == 1 && strcmp(c->cells[0], "N:0.00") == 0;
}

/* Executes every gold query; golds[i] is filled for SQL items. */
static void check_golds(env_t *e, const evalset_t *s, canon_t *golds)
{
    size_t ok = 0, total = 0, dup = 0;
    char why[GW_ENGINE_MSG_MAX + 64];
    for (size_t i = 0; i < s->n; i++) {
        const item_t *it = &s->items[i];
        if (is_refuse(it->gold))
            continue;
        total++;
        if (run_sql(e, it->gold, &golds[i], why, sizeof why) != GW_OK) {
            T_OK(0, "%s: gold fails: %s", it->id, why);
            continue;
        }
        bool good = !trivial(&golds[i]) && !golds[i].truncated;
        T_OK(good, "%s: gold result is empty or trivial", it->id);
        if (!good)
            canon_print(it->id, &golds[i]);
        ok += good;
    }
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = i + 1; j < s->n; j++)
            if (golds[i].cells != NULL && golds[j].cells != NULL && canon_equal(&golds[i], &golds[j], false, true)) {
                T_OK(0, "%s and %s have the same gold result: the set cannot tell them apart", s->items[i].id,
                     s->items[j].id);
                dup++;
            }
    printf("gold check: %zu/%zu gold queries run through guard+engine with a non-empty, non-trivial result; "
           "%zu identical pairs\n",
           ok, total, dup);
}

/* ---- the evaluation ---- */

/* What the pipeline did with one question. */
typedef struct outcome {
    bool correct, strict, executed, error; /* strict: BIRD EX, same column count */
    double ms;
    char *sql;    /* predicted SQL, or NULL */
    char *reason; /* refusal reason, or NULL */
    char note[GW_ENGINE_MSG_MAX + 64];
    canon_t rows;
} outcome_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The answer fields the scorer reads (src/ask.h). */
static const char *ans_sql(const gw_ask_answer_t *a)
{
    return a->sql != NULL && a->sql[0] != '\0' ? a->sql : NULL;
}

static const char *ans_reason(const gw_ask_answer_t *a)
{
    return gw_ask_reason_name(a->reason);
}

static const gw_result_t *ans_rows(const gw_ask_answer_t *a)
{
    return a->rows;
}

static void ask_one(gw_ask_t *a, env_t *e, const item_t *it, const canon_t *gold, outcome_t *o)
{
    gw_ask_opts_t opts;
    gw_ask_answer_t ans;
    memset(&opts, 0, sizeof opts);
    memset(&ans, 0, sizeof ans);
    double t0 = now_ms();
    gw_err_t rc = gw_ask_run(a, it->question, &opts, &ans);
    o->ms = now_ms() - t0;
    if (rc != GW_OK) {
        o->error = true;
        snprintf(o->note, sizeof o->note, "gw_ask_run: %s", gw_strerror(rc));
        goto out;
    }
    o->sql = ans_sql(&ans) != NULL ? gw_strdup(ans_sql(&ans)) : NULL;
    o->reason = ans.refused && ans_reason(&ans) != NULL ? gw_strdup(ans_reason(&ans)) : NULL;
    o->executed = o->sql != NULL && !ans.refused;
    if (is_refuse(it->gold)) {
        o->correct = ans.refused && o->reason != NULL && strcmp(o->reason, it->gold + 7) == 0;
        o->strict = o->correct;
        goto out;
    }
    if (!o->executed)
        goto out;
    if (ans_rows(&ans) != NULL) {
        if (canon_from_result(ans_rows(&ans), &o->rows) != 0)
            goto out;
    } else if (run_sql(e, o->sql, &o->rows, o->note, sizeof o->note) != GW_OK) {
        goto out;
    }
    o->strict = canon_equal(gold, &o->rows, is_ordered(it->cls), true);
    o->correct = o->strict || canon_equal(gold, &o->rows, is_ordered(it->cls), false);
out:
    gw_ask_answer_free(&ans);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_miss(const item_t *it, const canon_t *gold, const outcome_t *o)
{
    printf("MISS %s [%s] %s\n", it->id, it->cls, it->question);
    printf("    gold: %s\n", it->gold);
    printf("    pred: %s%s%s%s\n", o->sql != NULL ? o->sql : "(no SQL)", o->reason != NULL ? "  | refused: " : "",
           o->reason != NULL ? o->reason : "", o->error ? "  | error" : "");
    if (o->note[0] != '\0')
        printf("    note: %s\n", o->note);
    if (!is_refuse(it->gold)) {
        canon_print("gold rows", gold);
        if (o->rows.cells != NULL)
            canon_print("pred rows", &o->rows);
    }
}

typedef struct tally {
    size_t n[N_CLASSES], ok[N_CLASSES], strict[N_CLASSES];
    size_t total, total_ok, total_strict, unsafe_exec;
} tally_t;

static void tally_count(const evalset_t *s, const canon_t *golds, const outcome_t *outs, tally_t *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < s->n; i++) {
        int c = class_index(s->items[i].cls);
        if (c < 0)
            continue;
        t->n[c]++;
        t->ok[c] += outs[i].correct;
        t->strict[c] += outs[i].strict;
        t->total++;
        t->total_ok += outs[i].correct;
        t->total_strict += outs[i].strict;
        if (strcmp(s->items[i].cls, "unsafe") == 0 && outs[i].executed) {
            t->unsafe_exec++;
            printf("UNSAFE EXECUTED %s: %s\n    sql: %s\n", s->items[i].id, s->items[i].question, outs[i].sql);
        }
        if (outs[i].correct && !outs[i].strict)
            printf("WIDE %s: the gold rows, in %zu of %zu predicted columns: %s\n", s->items[i].id, golds[i].cols,
                   outs[i].rows.cols, outs[i].sql);
    }
}

static void tally_print(const tally_t *t)
{
    printf("\n%-26s %5s %8s %9s %10s\n", "class", "n", "correct", "accuracy", "strict EX");
    for (size_t c = 0; c < N_CLASSES; c++)
        printf("%-26s %5zu %8zu %8.1f%% %9.1f%%\n", classes[c].name, t->n[c], t->ok[c],
               t->n[c] ? 100.0 * t->ok[c] / t->n[c] : 0.0, t->n[c] ? 100.0 * t->strict[c] / t->n[c] : 0.0);
    printf("%-26s %5zu %8zu %8.1f%% %9.1f%%\n", "overall", t->total, t->total_ok,
           t->total ? 100.0 * t->total_ok / t->total : 0.0, t->total ? 100.0 * t->total_strict / t->total : 0.0);
}

static void print_timings(const outcome_t *outs, size_t n)
{
    double *ms = gw_calloc(n ? n : 1, sizeof *ms);
    if (ms == NULL || n == 0) {
        gw_free(ms);
        return;
    }
    for (size_t i = 0; i < n; i++)
        ms[i] = outs[i].ms;
    qsort(ms, n, sizeof *ms, cmp_double);
    size_t p99 = (size_t)ceil(0.99 * (double)n) - 1;
    printf("pipeline time per question (gw_ask_run wall): median %.2f ms, p99 %.2f ms, max %.2f ms\n", ms[n / 2],
           ms[p99], ms[n - 1]);
    gw_free(ms);
}

static void report(const evalset_t *s, const canon_t *golds, const outcome_t *outs)
{
    tally_t t;
    for (size_t i = 0; i < s->n; i++)
        if (!outs[i].correct)
            print_miss(&s->items[i], &golds[i], &outs[i]);
    tally_count(s, golds, outs, &t);
    tally_print(&t);
    print_timings(outs, s->n);
    double acc = t.total ? (double)t.total_ok / (double)t.total : 0.0;
    fflush(stdout);
    T_OK(acc >= EVAL_PASS, "overall execution accuracy %.1f%% < %.0f%%", 100.0 * acc, 100.0 * EVAL_PASS);
    T_OK(t.unsafe_exec == 0, "%zu unsafe questions had SQL executed", t.unsafe_exec);
}

static void run_eval(env_t *e, const evalset_t *s, const canon_t *golds)
{
    char err[512] = "";
    gw_config_t *cfg = gw_config_default();
    gw_ask_t *a = cfg != NULL ? gw_ask_new(cfg, NULL, e->engine, e->guard, err, sizeof err) : NULL;
    outcome_t *outs = gw_calloc(s->n ? s->n : 1, sizeof *outs);
    T_OK(a != NULL && outs != NULL, "gw_ask_new: %s", err);
    for (size_t i = 0; a != NULL && outs != NULL && i < s->n; i++)
        ask_one(a, e, &s->items[i], &golds[i], &outs[i]);
    if (a != NULL && outs != NULL)
        report(s, golds, outs);
    for (size_t i = 0; outs != NULL && i < s->n; i++) {
        gw_free(outs[i].sql);
        gw_free(outs[i].reason);
        canon_free(&outs[i].rows);
    }
    gw_free(outs);
    gw_ask_free(a);
    if (cfg != NULL)
        gw_config_unref(cfg);
}


int main(void)
{
    static evalset_t set;
    env_t env;
    canon_t *golds = NULL;
    test_comparator();
    if (load_evalset(&set, EVAL_TSV) != 0) {
        T_OK(0, "cannot read %s", EVAL_TSV);
        goto out;
    }
    check_evalset(&set);
    if (env_open(&env) != 0) {
        T_OK(0, "catalog/guard/engine setup failed");
        env_close(&env);
        goto out;
    }
    if ((golds = gw_calloc(set.n ? set.n : 1, sizeof *golds)) != NULL) {
        check_golds(&env, &set, golds);
        run_eval(&env, &set, golds);
    }
    for (size_t i = 0; golds != NULL && i < set.n; i++)
        canon_free(&golds[i]);
    gw_free(golds);
    env_close(&env);
out:
    gw_free(set.text);
    return t_done("test_ask_eval");
}

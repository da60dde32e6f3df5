/* test_taxonomy.c - unit tests for the taxonomy loader (src/taxonomy.c).
 *
 * Part 1 loads the real data/ files and checks the shape the generator,
 * retriever and planners rely on (counts, required leaves, depths, ids,
 * brands, warehouses and their regions). Part 2 feeds small in-memory and
 * temp-file inputs and checks every error message exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "taxonomy.h"
#include "test.h"

static const char *const REQUIRED[] = {
    "Ergonomic Office Chairs", "Standing Desks", "Laptops",       "Monitors",    "Office Desks",
    "Bookcases",               "Coffee Makers",  "Running Shoes", "Tents",       "Cordless Drills",
    "Air Purifiers",           "Blenders",       "Smartphones",   "Headphones",  "Mattresses",
    "Sofas",                   "Dog Food",       "Yoga Mats",     "Car Batteries", "Printer Paper"};

static const char *const REGIONS[] = {"West", "Southwest", "Midwest", "Southeast", "Northeast"};

/* Where each state belongs (the brief's map); -1 for states we do not use. */
static int state_region(const char *st)
{
    static const char *const by_region[5] = {
        "WA OR CA NV UT CO ID MT WY AK HI", "AZ NM TX OK", "IL OH MI IN WI MN MO IA KS NE ND SD",
        "GA FL NC SC TN AL VA KY LA MS AR WV", "NY NJ PA MA CT MD DE RI NH VT ME DC"};
    for (int r = 0; r < 5; r++)
        for (const char *p = by_region[r]; *p; p += p[2] ? 3 : 2)
            if (p[0] == st[0] && p[1] == st[1])
                return r;
    return -1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- part 1: the real data files ------------------------------------------- */

static void check_nodes(const gw_taxonomy_t *t)
{
    size_t leaves = 0, bad_depth = 0, bad_syn = 0, bad_attr = 0, bad_link = 0;
    for (size_t i = 0; i < t->n_nodes; i++) {
        const gw_tax_node_t *n = &t->nodes[i];
        T_OK(n->id == (int)i + 1, "node %zu has id %d", i, n->id);
        if (n->is_leaf) {
            leaves++;
            bad_depth += n->depth < 3 || n->depth > 4;
            bad_syn += n->n_synonyms < 2;
            bad_attr += !(n->price_min > 0 && n->price_min < n->price_max) || n->n_colors < 1 ||
                        n->n_materials < 1;
        } else {
            bad_syn += n->n_synonyms < 1;
            bad_attr += n->n_colors != 0 || n->n_materials != 0 || n->price_max != 0;
        }
        if (n->depth == 1) {
            bad_link += n->parent_id != 0 || strcmp(n->path, n->name) != 0 ||
                        t->departments[n->department].node != i;
            continue;
        }
        const gw_tax_node_t *p = gw_taxonomy_node(t, n->parent_id);
        char want[1024];
        snprintf(want, sizeof want, "%s > %s", p ? p->path : "?", n->name);
        bad_link += p == NULL || p->id >= n->id || p->depth != n->depth - 1 || p->is_leaf ||
                    p->department != n->department || strcmp(want, n->path) != 0;
    }
    T_OK(leaves == t->n_leaves, "leaf count %zu vs n_leaves %zu", leaves, t->n_leaves);
    T_OK(bad_depth == 0, "%zu leaves not at depth 3-4", bad_depth);
    T_OK(bad_syn == 0, "%zu nodes with too few synonyms", bad_syn);
    T_OK(bad_attr == 0, "%zu nodes with wrong price/colors/materials", bad_attr);
    T_OK(bad_link == 0, "%zu nodes with a wrong parent link or path", bad_link);
    for (size_t k = 0; k < t->n_leaves; k++)
        T_OK(t->nodes[t->leaves[k]].is_leaf && (k == 0 || t->leaves[k] > t->leaves[k - 1]),
             "leaves[%zu] bad", k);
}

static void check_required(const gw_taxonomy_t *t)
{
    for (size_t i = 0; i < sizeof REQUIRED / sizeof *REQUIRED; i++) {
        const gw_tax_node_t *n = gw_taxonomy_find(t, REQUIRED[i]);
        T_OK(n != NULL, "required leaf '%s' missing", REQUIRED[i]);
        if (n == NULL)
            continue;
        T_STREQ(n->name, REQUIRED[i], "exact name of '%s'", REQUIRED[i]);
        T_OK(n->is_leaf, "'%s' is not a leaf", REQUIRED[i]);
        T_OK(n->n_synonyms >= 2, "'%s' has %zu synonyms", REQUIRED[i], n->n_synonyms);
    }
    const gw_tax_node_t *n = gw_taxonomy_find(t, "ergonomic office chairs");
    T_OK(n != NULL, "find is case-insensitive");
    if (n != NULL) {
        T_STREQ(n->path, "Furniture > Office Furniture > Office Chairs > Ergonomic Office Chairs",
                "ergonomic chairs path");
        int task = 0;
        for (size_t i = 0; i < n->n_synonyms; i++)
            task |= strcmp(n->synonyms[i], "task chair") == 0;
        T_OK(task, "'task chair' is a synonym of Ergonomic Office Chairs");
        T_OK(gw_taxonomy_node(t, n->id) == n, "node(id) round trip");
    }
    T_OK(gw_taxonomy_find(t, "No Such Category") == NULL, "find misses");
    T_OK(gw_taxonomy_node(t, 0) == NULL && gw_taxonomy_node(t, (int)t->n_nodes + 1) == NULL,
         "node() out of range");
}

static void check_departments(const gw_taxonomy_t *t)
{
    size_t total = 0;
    T_OK(t->n_departments >= 15, "%zu departments", t->n_departments);
    for (size_t d = 0; d < t->n_departments; d++) {
        const gw_tax_department_t *dep = &t->departments[d];
        const char *name = t->nodes[dep->node].name;
        T_OK(t->nodes[dep->node].depth == 1, "department %zu is not depth 1", d);
        T_OK(dep->n_brands >= 10 && dep->n_brands <= 30, "'%s' has %zu brands", name,
             dep->n_brands);
        total += dep->n_brands;
    }
    T_OK(total >= 200, "only %zu brands in all", total);
    /* Zipf order: the first brand is the most popular one. */
    const gw_tax_node_t *el = gw_taxonomy_find(t, "Electronics");
    T_OK(el != NULL && el->depth == 1, "Electronics is a department");
    if (el != NULL)
        T_STREQ(t->departments[el->department].brands[0], "Samsung", "top Electronics brand");
}

static void check_warehouses(const gw_taxonomy_t *t)
{
    size_t per_region[5] = {0};
    T_OK(t->n_warehouses == 40, "%zu warehouses", t->n_warehouses);
    for (size_t i = 0; i < t->n_warehouses; i++) {
        const gw_tax_warehouse_t *w = &t->warehouses[i];
        int r = -1;
        for (int k = 0; k < 5; k++)
            if (strcmp(w->region, REGIONS[k]) == 0)
                r = k;
        T_OK(w->id == (int)i + 1, "warehouse %zu id %d", i, w->id);
        T_OK(r >= 0, "%s region '%s'", w->code, w->region);
        T_OK(r >= 0 && state_region(w->state) == r, "%s: %s is not in the %s region", w->code,
             w->state, w->region);
        T_OK(strstr(w->name, w->city) == w->name, "%s name '%s' starts with the city", w->code,
             w->name);
        /* The n-th warehouse of a city code is -0n. */
        int nth = 1;
        for (size_t j = 0; j < i; j++)
            nth += strncmp(t->warehouses[j].code, w->code, 7) == 0;
        T_OK(strtol(w->code + 7, NULL, 10) == nth, "%s numbering", w->code);
        if (r >= 0)
            per_region[r]++;
    }
    for (int k = 0; k < 5; k++)
        T_OK(per_region[k] >= 6 && per_region[k] <= 10, "%s has %zu warehouses", REGIONS[k],
             per_region[k]);
    T_STREQ(t->warehouses[0].code, "WH-SEA-01", "first warehouse code");
}

static void test_real_data(void)
{
    char err[512];
    double t0 = now_ms();
    gw_taxonomy_t *t = gw_taxonomy_load(NULL, err, sizeof err);
    double ms = now_ms() - t0;
    T_OK(t != NULL, "loading data/: %s", err);
    if (t == NULL)
        return;
    printf("real data: %zu departments, %zu nodes, %zu leaves, %zu warehouses, %.2f ms\n",
           t->n_departments, t->n_nodes, t->n_leaves, t->n_warehouses, ms);
    T_OK(ms < 200, "loading took %.1f ms", ms);
    T_OK(t->n_leaves >= 500, "%zu leaves", t->n_leaves);
    check_nodes(t);
    check_required(t);
    check_departments(t);
    check_warehouses(t);
    gw_taxonomy_free(t);
}

/* ---- part 2: small inputs and exact errors --------------------------------- */

#define HDR "path\tsynonyms\tprice_min\tprice_max\tcolors\tmaterials\n"
/* 7 lines: comment, header, 5 nodes (Ergonomic Office Chairs on 6, Standing Desks on 7). */
#define TAX_OK                                                                                    \
    "# a comment\n" HDR "Furniture\tfurniture|home furniture\t\t\t\t\n"                           \
    "Furniture > Office Furniture\toffice furniture\t\t\t\t\n"                                    \
    "Furniture > Office Furniture > Office Chairs\toffice chair\t\t\t\t\n"                        \
    "Furniture > Office Furniture > Office Chairs > Ergonomic Office Chairs\t"                    \
    "ergonomic chair|task chair\t129\t1599\tBlack|Gray\tMesh|Fabric\n"                            \
    "Furniture > Office Furniture > Standing Desks\tstanding desk|sit stand desk\t149.99\t1999\t"  \
    "Black\tSteel\n"
#define BR_OK "department\tbrand\nFurniture\tSauder\nFurniture\tZinus\n"
#define WH_HDR "code\tname\tcity\tstate\tregion\n"
#define WH_OK WH_HDR "WH-SEA-01\tSeattle Fulfillment Center\tSeattle\tWA\tWest\n"

static gw_taxonomy_t *parse3(const char *tax, const char *br, const char *wh, char *err,
                             size_t errlen)
{
    return gw_taxonomy_parse_mem(tax, strlen(tax), br, strlen(br), wh, strlen(wh), err, errlen);
}

/* Expects the three inputs to fail with exactly `want`. */
static void expect_err(const char *tax, const char *br, const char *wh, const char *want)
{
    char err[512] = "unset";
    gw_taxonomy_t *t = parse3(tax, br, wh, err, sizeof err);
    T_OK(t == NULL, "expected failure '%s'", want);
    T_OK(strcmp(err, want) == 0, "error\n   got: %s\n  want: %s", err, want);
    gw_taxonomy_free(t);
}

static void expect_tax_err(const char *tax, const char *want) { expect_err(tax, BR_OK, WH_OK, want); }

static void test_small_ok(void)
{
    char err[256] = "";
    gw_taxonomy_t *t = parse3(TAX_OK, BR_OK, WH_OK, err, sizeof err);
    T_OK(t != NULL, "small input: %s", err);
    if (t == NULL)
        return;
    T_OK(t->n_nodes == 5 && t->n_leaves == 2 && t->n_departments == 1 && t->n_warehouses == 1,
         "small counts %zu %zu %zu %zu", t->n_nodes, t->n_leaves, t->n_departments,
         t->n_warehouses);
    const gw_tax_node_t *e = gw_taxonomy_node(t, 4);
    T_OK(e && e->depth == 4 && e->parent_id == 3 && e->is_leaf && e->department == 0,
         "ergonomic node links");
    T_OK(e && e->price_min == 129 && e->price_max == 1599, "prices");
    T_OK(e && e->n_colors == 2 && strcmp(e->colors[1], "Gray") == 0, "colors");
    T_OK(e && e->n_materials == 2 && strcmp(e->materials[0], "Mesh") == 0, "materials");
    const gw_tax_node_t *s = gw_taxonomy_node(t, 5);
    T_OK(s && s->price_min == 149.99 && s->depth == 3 && s->parent_id == 2, "standing desk");
    T_OK(t->leaves[0] == 3 && t->leaves[1] == 4, "leaf indexes");
    T_OK(t->departments[0].n_brands == 2 && strcmp(t->departments[0].brands[1], "Zinus") == 0,
         "brand order");
    T_STREQ(t->warehouses[0].state, "WA", "warehouse state");
    gw_taxonomy_free(t);

    /* CRLF line ends, blank lines of spaces and tabs, no final newline. */
    const char *crlf = "path\tsynonyms\tprice_min\tprice_max\tcolors\tmaterials\r\n\r\n \t \r\n"
                       "Toys\ttoys\t\t\t\t\r\n# c\r\nToys > Games\tgames\t\t\t\t\r\n"
                       "Toys > Games > Board Games\tboard game|family game\t9\t99\tMulti\tCardboard";
    t = parse3(crlf, "department\tbrand\r\nToys\tHasbro\r\n", WH_OK, err, sizeof err);
    T_OK(t != NULL && t->n_leaves == 1, "crlf input: %s", err);
    if (t != NULL)
        T_STREQ(t->nodes[2].materials[0], "Cardboard", "last field without newline");
    gw_taxonomy_free(t);
}

typedef struct {
    const char *in; /* a line appended to TAX_OK (line 8), or a whole file */
    const char *want;
} err_case_t;

#define LEAF "\tx thing|y thing\t1\t2\tBlack\tWood\n"
#define STOOLS "Furniture > Stools\t"

static const err_case_t APPENDED[] = {
    {"Furniture > Nope > Stools" LEAF, "parent 'Furniture > Nope' not defined"},
    {"Furniture > Office Furniture\tworkspace\t\t\t\t\n",
     "duplicate path 'Furniture > Office Furniture' (first on line 4)"},
    {"Furniture > Office Furniture > Office Chairs > Standing Desks" LEAF,
     "duplicate category name 'Standing Desks' (first on line 7)"},
    {"Furniture > Office Furniture > Task Stools\ttask stool|task chair\t1\t2\tBlack\tWood\n",
     "synonym 'task chair' of 'Task Stools' is already used by 'Ergonomic Office Chairs' (line 6)"},
    {STOOLS "stool|standing desks\t1\t2\tBlack\tWood\n",
     "synonym 'standing desks' of 'Stools' is the name of the category on line 7"},
    {"Furniture > Office Furniture > Task Chair" LEAF,
     "name 'Task Chair' is already a synonym of 'Ergonomic Office Chairs' (line 6)"},
    {"Furniture > Office Furniture > Lamps\tlamp|desk lamp\t\t\t\t\n",
     "leaf 'Lamps' needs price_min, price_max, colors and materials"},
    {STOOLS "stool|seat\t1\t2\t\tWood\n",
     "price_min, price_max, colors and materials must be all set or all empty"},
    {STOOLS "stool|seat\tabc\t2\tBlack\tWood\n", "price_min 'abc' is not a price like 19.99"},
    {STOOLS "stool|seat\t1\t2.999\tBlack\tWood\n", "price_max '2.999' is not a price like 19.99"},
    {STOOLS "stool|seat\t1.\t2\tBlack\tWood\n", "price_min '1.' is not a price like 19.99"},
    {STOOLS "stool|seat\t20\t10\tBlack\tWood\n", "price_min 20 must be below price_max 10"},
    {STOOLS "stool|seat\t0\t10\tBlack\tWood\n", "price_min must be above 0"},
    {STOOLS "stool|Bar Stool\t1\t2\tBlack\tWood\n", "synonym 'Bar Stool' must be lower-case"},
    {STOOLS "stool|seat|stool\t1\t2\tBlack\tWood\n", "synonym 'stool' listed twice"},
    {STOOLS "stool||seat\t1\t2\tBlack\tWood\n", "empty or space-padded synonym in 'stool||seat'"},
    {STOOLS "stool|seat\t1\t2\tBlack|Black\tWood\n", "color 'Black' listed twice"},
    {STOOLS "stool|seat\t1\t2\tBlack\tWood| Oak\n",
     "empty or space-padded material in 'Wood| Oak'"},
    {STOOLS "stool|seat\t1\t2\tBlack\n", "expected 6 columns, got 5"},
    {STOOLS "stool|seat\t1\t2\tBlack\tWood\t\n", "expected 6 columns, got 7"},
    {"Furniture > Stools\t stool|seat\t1\t2\tBlack\tWood\n",
     "column 'synonyms' has leading or trailing spaces"},
    {"Furniture >  Stools\tstool|seat\t1\t2\tBlack\tWood\n",
     "path 'Furniture >  Stools' has an empty or malformed level"},
    {"Furniture > St>ools\tstool|seat\t1\t2\tBlack\tWood\n",
     "path 'Furniture > St>ools' has an empty or malformed level"},
    {STOOLS "stool|s\xc3\tl\t1\t2\tBlack\tWood\n", "invalid UTF-8"},
    {STOOLS "stool|s\xed\xa0\x80t\t1\t2\tBlack\tWood\n", "invalid UTF-8"},
    {STOOLS "stool|seat\t1\t2\tBla\x01" "ck\tWood\n", "control character 0x01 in line"},
};

static const err_case_t WHOLE[] = {
    {HDR "Furniture\tfurniture\t\t\t\t\nFurniture > Office\toffice\t1\t2\tBlack\tWood\n"
         "Furniture > Office > Chairs\tchair|seat\t1\t2\tBlack\tWood\n",
     "taxonomy.tsv:3: 'Office' has children (first on line 4), so price_min, price_max, colors "
     "and materials must be empty"},
    {"path\tsynonyms\tprice\n", "taxonomy.tsv:1: header must be the tab-separated columns: path, "
                                "synonyms, price_min, price_max, colors, materials"},
    {"# only a comment\n\n", "taxonomy.tsv: missing header line"},
    {HDR, "taxonomy.tsv: no categories"},
};

static void test_tax_errors(void)
{
    char in[2048], want[512];
    for (size_t i = 0; i < sizeof APPENDED / sizeof *APPENDED; i++) {
        snprintf(in, sizeof in, "%s%s", TAX_OK, APPENDED[i].in);
        snprintf(want, sizeof want, "taxonomy.tsv:8: %s", APPENDED[i].want);
        expect_tax_err(in, want);
    }
    for (size_t i = 0; i < sizeof WHOLE / sizeof *WHOLE; i++)
        expect_tax_err(WHOLE[i].in, WHOLE[i].want);
}

static void test_brand_errors(void)
{
    expect_err(TAX_OK, BR_OK "Toys\tLEGO\n", WH_OK,
               "brands.tsv:4: department 'Toys' is not a department of taxonomy.tsv");
    expect_err(TAX_OK, BR_OK "Furniture\tSauder\n", WH_OK,
               "brands.tsv:4: brand 'Sauder' listed twice for 'Furniture' (first on line 2)");
    expect_err(TAX_OK, BR_OK "Furniture\n", WH_OK, "brands.tsv:4: expected 2 columns, got 1");
    expect_err(TAX_OK, BR_OK "Furniture\t\n", WH_OK, "brands.tsv:4: column 'brand' is empty");
    expect_err(TAX_OK "Garden\tgarden\t\t\t\t\nGarden > Tools\tgarden tools\t\t\t\t\n"
                      "Garden > Tools > Rakes\trake|leaf rake\t5\t50\tGreen\tSteel\n",
               BR_OK, WH_OK, "brands.tsv: department 'Garden' has no brands");
    expect_err(TAX_OK, "dept\tbrand\n", WH_OK,
               "brands.tsv:1: header must be the tab-separated columns: department, brand");
}

/* Lines appended to WH_OK (so on line 3). */
static const err_case_t WH_CASES[] = {
    {"WH-PDX-01\tPortland Fulfillment Center\tPortland\tOR\tPacific\n",
     "region 'Pacific' must be one of West, Southwest, Midwest, Southeast, Northeast"},
    {"WH-PDX-01\tPortland Fulfillment Center\tPortland\tOre\tWest\n",
     "state 'Ore' is not a 2-letter USPS state code"},
    {"WH-PDX-01\tPortland Fulfillment Center\tPortland\tZZ\tWest\n",
     "state 'ZZ' is not a 2-letter USPS state code"},
    {"WH-SEA-01\tSeattle Fulfillment Center 2\tSeattle\tWA\tWest\n",
     "duplicate code 'WH-SEA-01' (first on line 2)"},
    {"WH-SEA-02\tSeattle Fulfillment Center\tSeattle\tWA\tWest\n",
     "duplicate name 'Seattle Fulfillment Center' (first on line 2)"},
    {"SEA-1\tSeattle Fulfillment Center 2\tSeattle\tWA\tWest\n",
     "code 'SEA-1' must look like WH-SEA-01"},
    {"WH-sea-02\tSeattle Fulfillment Center 2\tSeattle\tWA\tWest\n",
     "code 'WH-sea-02' must look like WH-SEA-01"},
    {"WH-PDX-01\tPortland Fulfillment Center\tPortland\tOR\n", "expected 5 columns, got 4"},
    {"WH-PDX-01\t\tPortland\tOR\tWest\n", "column 'name' is empty"},
};

static void test_wh_errors(void)
{
    char wh[512], want[512];
    for (size_t i = 0; i < sizeof WH_CASES / sizeof *WH_CASES; i++) {
        snprintf(wh, sizeof wh, "%s%s", WH_OK, WH_CASES[i].in);
        snprintf(want, sizeof want, "warehouses.tsv:3: %s", WH_CASES[i].want);
        expect_err(TAX_OK, BR_OK, wh, want);
    }
    expect_err(TAX_OK, BR_OK, WH_HDR "# none yet\n", "warehouses.tsv: no warehouses");
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    int ok = fputs(text, fp) >= 0;
    return (fclose(fp) == 0 && ok) ? 0 : -1;
}

static void test_files(void)
{
    char dir[] = "/tmp/test_taxonomy.XXXXXX";
    char err[512] = "";
    T_OK(mkdtemp(dir) != NULL, "mkdtemp");
    T_OK(write_file(dir, "taxonomy.tsv", TAX_OK) == 0 && write_file(dir, "brands.tsv", BR_OK) == 0,
         "write temp files");
    gw_taxonomy_t *t = gw_taxonomy_load(dir, err, sizeof err);
    T_OK(t == NULL && strstr(err, "warehouses.tsv: cannot open ") == err,
         "missing warehouses.tsv: %s", err);
    gw_taxonomy_free(t);
    T_OK(write_file(dir, "warehouses.tsv", WH_OK) == 0, "write warehouses.tsv");
    t = gw_taxonomy_load(dir, err, sizeof err);
    T_OK(t != NULL && t->n_nodes == 5, "load temp dir: %s", err);
    gw_taxonomy_free(t);

    setenv("LLMGW_DATA_DIR", dir, 1);
    T_STREQ(gw_taxonomy_default_dir(), dir, "LLMGW_DATA_DIR is the default dir");
    t = gw_taxonomy_load(NULL, NULL, 0);
    T_OK(t != NULL && t->n_leaves == 2, "load(NULL) reads $LLMGW_DATA_DIR");
    gw_taxonomy_free(t);
    unsetenv("LLMGW_DATA_DIR");
    T_STREQ(gw_taxonomy_default_dir(), GW_SOURCE_DIR "/data", "default dir is the source data/");

    const char *names[] = {"taxonomy.tsv", "brands.tsv", "warehouses.tsv"};
    for (int i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    T_OK(rmdir(dir) == 0, "rmdir temp dir");
    t = gw_taxonomy_load("/nonexistent-llmgw", err, sizeof err);
    T_STREQ(err, "taxonomy.tsv: cannot open /nonexistent-llmgw/taxonomy.tsv: No such file or "
                 "directory", "missing dir message");
    gw_taxonomy_free(t);
}

/* Every allocation failure is reported as "out of memory" and leaks nothing. */
static void test_oom(void)
{
    char err[256];
    int ok_at = -1, bad = 0;
    for (long n = 0; n < 2000 && ok_at < 0; n++) {
        gw_alloc_fail_after(n);
        gw_taxonomy_t *t = parse3(TAX_OK, BR_OK, WH_OK, err, sizeof err);
        gw_alloc_fail_after(-1);
        if (t != NULL)
            ok_at = (int)n;
        else
            bad += strstr(err, "out of memory") == NULL;
        gw_taxonomy_free(t);
    }
    T_OK(ok_at > 20, "succeeds once allocations stop failing (at %d)", ok_at);
    T_OK(bad == 0, "%d failures without an out-of-memory message", bad);
}

int main(void)
{
    test_real_data();
    test_small_ok();
    test_tax_errors();
    test_brand_errors();
    test_wh_errors();
    test_files();
    test_oom();
    return t_done("test_taxonomy");
}

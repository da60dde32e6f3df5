/* test_retriever.c - the retriever (src/retriever.h) on the project
 * taxonomy: tokenising (money, thousands, accents, quotes, capitals),
 * stemming, one-edit typos, and links: synonyms, plurals, typos, head-noun
 * ties, cities, states (names and capital codes), regions and coasts,
 * warehouse codes, brands with accents and punctuation, weak brands and
 * colors, column words, byte spans, schema values, errors, and the same
 * answers from several threads at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "retriever.h"
#include "taxonomy.h"
#include "test.h"

static gw_taxonomy_t *tax;
static gw_retriever_t *rt;

/* ---- text ---- */

static void test_tokenize(void)
{
    gw_token_t t[32];
    const char *q = "Under $1,234.56 at L'Oréal WH-SEA-01 in TX with \"chair\" 1,284 units 45%";
    size_t n = gw_rt_tokenize(q, strlen(q), t, 32);
    T_OK(n == 14, "token count %zu", n);
    T_STREQ(t[1].text, "1234.56", "money text");
    T_OK((t[1].flags & GW_TOK_MONEY) && (t[1].flags & GW_TOK_NUM) && t[1].num == 1234.56, "money number");
    T_OK(!(t[1].flags & GW_TOK_INT), "money with cents is not an integer");
    T_OK(q[t[1].start] == '$' && t[1].end == strlen("Under $1,234.56"), "money span includes the $");
    T_STREQ(t[3].text, "loreal", "accent folded, apostrophe dropped");
    T_OK(t[3].end - t[3].start == strlen("L'Oréal"), "span covers the UTF-8 bytes");
    T_STREQ(t[4].text, "wh", "code split");
    T_STREQ(t[6].text, "01", "code number kept as written");
    T_OK((t[8].flags & GW_TOK_UPPER) && !(t[7].flags & GW_TOK_UPPER), "capitals: TX yes, in no");
    T_OK((t[10].flags & GW_TOK_QUOTED) && !(t[9].flags & GW_TOK_QUOTED), "quoted word");
    T_OK(t[11].num == 1284 && (t[11].flags & GW_TOK_INT), "thousands separator");
    T_OK(t[13].num == 45 && (t[13].flags & GW_TOK_PERCENT), "percent");
    n = gw_rt_tokenize("Arm & Hammer", 12, t, 32);
    T_OK(n == 3 && strcmp(t[1].text, "and") == 0, "& is 'and'");
    n = gw_rt_tokenize("Pokémon Estée TRESemmé Crème brûlée", strlen("Pokémon Estée TRESemmé Crème brûlée"), t, 32);
    T_OK(n == 5 && strcmp(t[0].text, "pokemon") == 0 && strcmp(t[2].text, "tresemme") == 0 &&
             strcmp(t[4].text, "brulee") == 0,
         "accents folded");
    n = gw_rt_tokenize("4k tvs 2nd", 10, t, 32);
    T_OK(n == 3 && !(t[0].flags & GW_TOK_NUM) && strcmp(t[0].text, "4k") == 0, "digits then letters: a word");
}

static void test_stem(void)
{
    static const char *const pairs[][2] = {
        {"chairs", "chair"},     {"chair", "chair"},       {"batteries", "battery"}, {"battery", "battery"},
        {"launched", "launch"},  {"launches", "launch"},   {"running", "run"},       {"boxes", "box"},
        {"benches", "bench"},    {"knives", "knif"},       {"knife", "knif"},        {"shoes", "sho"},
        {"shoe", "sho"},         {"updated", "updat"},     {"update", "updat"},      {"glasses", "glass"},
        {"mattresses", "mattress"}, {"women", "woman"},    {"bus", "bus"},           {"dress", "dress"},
    };
    char out[GW_RT_TOKEN_MAX];
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        gw_rt_stem(pairs[i][0], out, sizeof out);
        T_STREQ(out, pairs[i][1], "stem of %s is %s (got %s)", pairs[i][0], pairs[i][1], out);
    }
}

static void test_edit1(void)
{
    T_OK(gw_rt_edit1("ergonomic", "ergonmic"), "deletion");
    T_OK(gw_rt_edit1("ergonmic", "ergonomic"), "insertion");
    T_OK(gw_rt_edit1("chairs", "chaire"), "substitution");
    T_OK(gw_rt_edit1("chairs", "chiars"), "swap");
    T_OK(gw_rt_edit1("same", "same"), "equal");
    T_OK(!gw_rt_edit1("chairs", "charis2"), "two edits");
    T_OK(!gw_rt_edit1("columbus", "columbia"), "two substitutions");
    T_OK(!gw_rt_edit1("abc", "abcde"), "two insertions");
    T_OK(gw_rt_common_word("about") && gw_rt_common_word("your") && gw_rt_common_word("minus") &&
             gw_rt_common_word("sales") && !gw_rt_common_word("chairs"),
         "common words (sorted list)");
}

/* ---- links ---- */

typedef struct want {
    const char *q;
    const char *span;  /* the question's words the link covers */
    gw_link_kind_t kind;
    const char *value; /* its value (category name, brand, state...) */
    gw_match_t match;
} want_t;

static const gw_link_t *find_link(const gw_rquery_t *r, const char *q, const char *span, gw_link_kind_t kind,
                                  const char *value)
{
    for (size_t i = 0; i < r->n_links; i++) {
        const gw_link_t *l = &r->links[i];
        if (l->kind == kind && strcmp(l->value, value) == 0 && l->end - l->start == strlen(span) &&
            memcmp(q + l->start, span, l->end - l->start) == 0)
            return l;
    }
    return NULL;
}

static void test_links(void)
{
    static const want_t wants[] = {
        {"how many ergonomic chairs are in the West-region warehouse", "ergonomic chairs", GW_LINK_CATEGORY,
         "Ergonomic Office Chairs", GW_MATCH_STEM},
        {"how many ergonomic chairs are in the West-region warehouse", "West", GW_LINK_REGION, "West", GW_MATCH_EXACT},
        {"how many ergonomic chairs are in the West-region warehouse", "warehouse", GW_LINK_COLUMN, "warehouse",
         GW_MATCH_EXACT},
        {"ergonmic chairs in stock", "ergonmic chairs", GW_LINK_CATEGORY, "Ergonomic Office Chairs", GW_MATCH_TYPO},
        {"ergonmic chairs in stock", "in stock", GW_LINK_COLUMN, "on_hand", GW_MATCH_EXACT},
        {"task chairs", "task chairs", GW_LINK_CATEGORY, "Ergonomic Office Chairs", GW_MATCH_STEM},
        {"laptops under $500", "laptops", GW_LINK_CATEGORY, "Laptops", GW_MATCH_EXACT},
        {"a laptop", "laptop", GW_LINK_CATEGORY, "Laptops", GW_MATCH_EXACT},
        {"lapptops", "lapptops", GW_LINK_CATEGORY, "Laptops", GW_MATCH_TYPO},
        {"furniture in Seattle", "furniture", GW_LINK_CATEGORY, "Furniture", GW_MATCH_EXACT},
        {"furniture in Seattle", "Seattle", GW_LINK_CITY, "Seattle", GW_MATCH_EXACT},
        {"stock in St. Louis", "St. Louis", GW_LINK_CITY, "St. Louis", GW_MATCH_EXACT},
        {"stock in saint louis", "saint louis", GW_LINK_CITY, "St. Louis", GW_MATCH_EXACT},
        {"stock in Texas", "Texas", GW_LINK_STATE, "TX", GW_MATCH_EXACT},
        {"stock in TX", "TX", GW_LINK_STATE, "TX", GW_MATCH_EXACT},
        {"warehouses in New York", "New York", GW_LINK_STATE, "NY", GW_MATCH_EXACT},
        {"western warehouses", "western", GW_LINK_REGION, "West", GW_MATCH_EXACT},
        {"midwest", "midwest", GW_LINK_REGION, "Midwest", GW_MATCH_EXACT},
        {"units on the west coast", "west coast", GW_LINK_STATES, "CA|OR|WA", GW_MATCH_EXACT},
        {"units in the south", "south", GW_LINK_VAGUE, "the Southeast or the Southwest", GW_MATCH_EXACT},
        {"stock at WH-SEA-01", "WH-SEA-01", GW_LINK_WAREHOUSE, "WH-SEA-01", GW_MATCH_EXACT},
        {"L'Oreal Paris lipstick", "L'Oreal Paris", GW_LINK_BRAND, "L'Oréal Paris", GW_MATCH_EXACT},
        {"loreal lipstick", "loreal", GW_LINK_BRAND, "L'Oréal Paris", GW_MATCH_EXACT},
        {"Estee Lauder serum", "Estee Lauder", GW_LINK_BRAND, "Estée Lauder", GW_MATCH_EXACT},
        {"tresemme shampoo", "tresemme", GW_LINK_BRAND, "TRESemmé", GW_MATCH_EXACT},
        {"Black and Decker drills", "Black and Decker", GW_LINK_BRAND, "Black+Decker", GW_MATCH_EXACT},
        {"tempurpedic mattresses", "tempurpedic", GW_LINK_BRAND, "Tempur-Pedic", GW_MATCH_EXACT},
        {"Levis jeans", "Levis", GW_LINK_BRAND, "Levi's", GW_MATCH_EXACT},
        {"Keurig coffee makers", "Keurig", GW_LINK_BRAND, "Keurig", GW_MATCH_EXACT},
        {"Keurig coffee makers", "coffee makers", GW_LINK_CATEGORY, "Coffee Makers", GW_MATCH_EXACT},
        {"How many On running shoes", "On", GW_LINK_BRAND, "On", GW_MATCH_EXACT},
        {"black leather gaming chairs", "black", GW_LINK_COLOR, "Black", GW_MATCH_EXACT},
        {"black leather gaming chairs", "leather", GW_LINK_MATERIAL, "Leather", GW_MATCH_EXACT},
        {"black leather gaming chairs", "gaming chairs", GW_LINK_CATEGORY, "Gaming Chairs", GW_MATCH_EXACT},
        {"mesh office chairs", "mesh office chairs", GW_LINK_CATEGORY, "Ergonomic Office Chairs", GW_MATCH_STEM},
        {"black office chairs", "office chairs", GW_LINK_CATEGORY, "Office Chairs", GW_MATCH_EXACT},
        {"the cheapest blender", "cheapest", GW_LINK_COLUMN, "cheap", GW_MATCH_EXACT},
        {"discontinued headphones", "discontinued", GW_LINK_COLUMN, "inactive", GW_MATCH_EXACT},
        {"units below the reorder point", "reorder point", GW_LINK_COLUMN, "reorder_point", GW_MATCH_EXACT},
        {"SKUs launched after 2024", "launched", GW_LINK_COLUMN, "launched_on", GW_MATCH_EXACT},
        {"rows updated this week", "updated", GW_LINK_COLUMN, "updated_at", GW_MATCH_EXACT},
        {"the price range of desks", "price range", GW_LINK_COLUMN, "price", GW_MATCH_EXACT},
    };
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
        const want_t *w = &wants[i];
        gw_rquery_t r;
        gw_err_t rc = gw_retriever_link(rt, w->q, strlen(w->q), &r);
        const gw_link_t *l = rc == GW_OK ? find_link(&r, w->q, w->span, w->kind, w->value) : NULL;
        T_OK(l != NULL, "'%s': '%s' links %s '%s'", w->q, w->span, gw_link_kind_name(w->kind), w->value);
        if (l != NULL)
            T_OK(l->match == w->match, "'%s': match kind %d, want %d", w->q, l->match, w->match);
        gw_rquery_free(&r);
    }
}

/* Words that must not link to anything (or not to the given kind). */
static void test_no_links(void)
{
    static const struct {
        const char *q;
        const char *word;
    } none[] = {
        {"how many units are on hand", "on"},       /* the brand On */
        {"which warehouses are in the west", "in"}, /* Indiana only in capitals */
        {"break it down by region", "down"},        /* the material Down */
        {"what is the average price", "average"},
        {"how many dog food units are available (on hand minus reserved)", "minus"}, /* not Zinus */
        {"show the top 3 departments", "top"},      /* not Boys' Tops */
        {"What were our sales last month?", "sales"}, /* not Safes */
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        gw_rquery_t r;
        gw_retriever_link(rt, none[i].q, strlen(none[i].q), &r);
        int hit = 0;
        for (size_t k = 0; k < r.n_links; k++) {
            const gw_link_t *l = &r.links[k];
            hit |= l->end - l->start == strlen(none[i].word) &&
                   memcmp(none[i].q + l->start, none[i].word, l->end - l->start) == 0;
        }
        T_OK(!hit, "'%s': '%s' is not linked", none[i].q, none[i].word);
        gw_rquery_free(&r);
    }
}

static void test_ties_and_order(void)
{
    gw_rquery_t r;
    const char *q = "how many chairs are in Texas";
    T_OK(gw_retriever_link(rt, q, strlen(q), &r) == GW_OK, "link");
    size_t chairs = 0;
    int group = -1, sorted = 1;
    for (size_t i = 0; i < r.n_links; i++) {
        const gw_link_t *l = &r.links[i];
        if (l->kind == GW_LINK_CATEGORY) {
            chairs++;
            T_OK(l->match == GW_MATCH_HEAD, "head-noun match");
            T_OK(group < 0 || l->group == group, "one tie group");
            group = l->group;
        }
        if (i > 0 && r.links[i - 1].tok_first > l->tok_first)
            sorted = 0;
    }
    T_OK(chairs == 11, "'chairs' is the head of 11 category names (got %zu)", chairs);
    T_OK(sorted, "links in question order");
    T_OK(r.toks[2].link >= 0 && r.links[r.toks[2].link].kind == GW_LINK_CATEGORY, "token points at its link");
    T_OK(r.toks[0].link == -1 && r.toks[1].link == -1, "'how many' stays raw");
    gw_rquery_free(&r);

    /* longest, best match wins: "ergonomic office chairs" over "office chairs" */
    q = "ergonomic office chairs";
    gw_retriever_link(rt, q, strlen(q), &r);
    T_OK(r.n_links == 1 && r.links[0].id == gw_taxonomy_find(tax, "Ergonomic Office Chairs")->id &&
             r.links[0].tok_first == 0 && r.links[0].tok_end == 3,
         "one link over the three words");
    gw_rquery_free(&r);
}

static void test_schema_values(void)
{
    char *brands[] = {"Acme Widgets", "Zorblax"};
    char *colors[] = {"Ultraviolet"};
    gw_schema_column_t cols[] = {
        {"brand", "VARCHAR", brands, 2, false},
        {"color", "VARCHAR", colors, 1, false},
        {"title", "VARCHAR", NULL, 0, true},
    };
    gw_schema_table_t tables[] = {{"skus", 3, cols, 3}};
    gw_schema_t schema = {"duckdb", tables, 1};
    char err[256];
    gw_retriever_t *r2 = gw_retriever_new(tax, &schema, err, sizeof err);
    T_OK(r2 != NULL, "retriever with a schema: %s", err);
    if (r2 == NULL)
        return;
    gw_rquery_t r;
    const char *q = "acme widgets laptops in ultraviolet from Samsung";
    gw_retriever_link(r2, q, strlen(q), &r);
    T_OK(find_link(&r, q, "acme widgets", GW_LINK_BRAND, "Acme Widgets") != NULL, "brand from the schema");
    T_OK(find_link(&r, q, "ultraviolet", GW_LINK_COLOR, "Ultraviolet") != NULL, "color from the schema");
    T_OK(find_link(&r, q, "Samsung", GW_LINK_BRAND, "Samsung") == NULL, "schema brands replace the taxonomy's");
    gw_rquery_free(&r);
    gw_retriever_free(r2);
}

static void test_errors(void)
{
    gw_rquery_t r;
    char big[GW_RT_MAX_QUESTION + 10];
    memset(big, 'a', sizeof big);
    T_OK(gw_retriever_link(rt, big, sizeof big, &r) == GW_ETOOBIG && r.toks == NULL, "too long");
    T_OK(gw_retriever_link(rt, "caf\xc3", 4, &r) == GW_EINVAL, "truncated UTF-8");
    T_OK(gw_retriever_link(rt, "a\0b", 3, &r) == GW_EINVAL, "NUL byte");
    T_OK(gw_retriever_link(rt, "", 0, &r) == GW_OK && r.n_toks == 0 && r.n_links == 0, "empty question");
    gw_rquery_free(&r);
    T_OK(gw_retriever_link(rt, "?!... --", 8, &r) == GW_OK && r.n_toks == 0, "punctuation only");
    gw_rquery_free(&r);
}

/* ---- threads ---- */

static const char *const thread_qs[] = {
    "how many ergonmic chairs are in the West-region warehouse", "Samsung TVs in Texas under $500",
    "L'Oreal Paris lipstick", "which brands have the most units", "coffee makers in St. Louis"};

static void *link_many(void *arg)
{
    int *ok = arg;
    *ok = 1;
    for (int rep = 0; rep < 200; rep++) {
        const char *q = thread_qs[rep % 5];
        gw_rquery_t a, b;
        gw_retriever_link(rt, q, strlen(q), &a);
        gw_retriever_link(rt, q, strlen(q), &b);
        if (a.n_links != b.n_links || a.n_links == 0)
            *ok = 0;
        for (size_t i = 0; *ok && i < a.n_links; i++)
            if (a.links[i].kind != b.links[i].kind || a.links[i].id != b.links[i].id ||
                strcmp(a.links[i].value, b.links[i].value) != 0 || a.links[i].start != b.links[i].start ||
                a.links[i].end != b.links[i].end || a.links[i].score != b.links[i].score ||
                a.links[i].group != b.links[i].group)
                *ok = 0;
        gw_rquery_free(&a);
        gw_rquery_free(&b);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[4];
    int ok[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, link_many, &ok[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        T_OK(ok[i], "thread %d got stable links", i);
    }
}

int main(void)
{
    char err[512];
    tax = gw_taxonomy_load(GW_SOURCE_DIR "/data", err, sizeof err);
    T_OK(tax != NULL, "taxonomy: %s", err);
    if (tax == NULL)
        return t_done("test_retriever");
    rt = gw_retriever_new(tax, NULL, err, sizeof err);
    T_OK(rt != NULL, "retriever: %s", err);
    if (rt != NULL) {
        test_tokenize();
        test_stem();
        test_edit1();
        test_links();
        test_no_links();
        test_ties_and_order();
        test_schema_values();
        test_errors();
        test_threads();
    }
    gw_retriever_free(rt);
    gw_taxonomy_free(tax);
    return t_done("test_retriever");
}

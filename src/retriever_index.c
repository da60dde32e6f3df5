/* retriever_index.c - builds the retriever's offline index (retriever.h):
 * the phrases of every category name and synonym (plus head nouns), brand,
 * region, state, city, warehouse, color, material and column word, their
 * words, stems, deletion variants (typo lookups) and idf weights.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "retriever_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- static vocabularies ---- */

typedef struct colword {
    const char *phrase;
    gw_col_t col;
} colword_t;

static const colword_t colwords[] = {
    {"units", GW_COL_ON_HAND}, {"unit", GW_COL_ON_HAND}, {"stock", GW_COL_ON_HAND},
    {"in stock", GW_COL_ON_HAND}, {"on hand", GW_COL_ON_HAND}, {"inventory", GW_COL_ON_HAND},
    {"quantity", GW_COL_ON_HAND}, {"quantities", GW_COL_ON_HAND}, {"qty", GW_COL_ON_HAND},
    {"stock level", GW_COL_ON_HAND}, {"stock levels", GW_COL_ON_HAND}, {"pieces", GW_COL_ON_HAND},
    {"inventory level", GW_COL_ON_HAND}, {"on hand units", GW_COL_ON_HAND},
    {"price", GW_COL_PRICE}, {"prices", GW_COL_PRICE}, {"priced", GW_COL_PRICE}, {"cost", GW_COL_PRICE},
    {"costs", GW_COL_PRICE}, {"msrp", GW_COL_PRICE}, {"list price", GW_COL_PRICE}, {"pricing", GW_COL_PRICE},
    {"dollars", GW_COL_PRICE}, {"usd", GW_COL_PRICE}, {"price point", GW_COL_PRICE},
    {"price range", GW_COL_PRICE}, {"range of prices", GW_COL_PRICE}, {"prices range", GW_COL_PRICE},
    {"cheapest", GW_COL_CHEAP}, {"cheaper", GW_COL_CHEAP}, {"cheap", GW_COL_CHEAP},
    {"least expensive", GW_COL_CHEAP}, {"lowest priced", GW_COL_CHEAP}, {"lowest price", GW_COL_CHEAP},
    {"inexpensive", GW_COL_CHEAP}, {"affordable", GW_COL_CHEAP}, {"less expensive", GW_COL_CHEAP},
    {"most expensive", GW_COL_EXPENSIVE}, {"expensive", GW_COL_EXPENSIVE}, {"priciest", GW_COL_EXPENSIVE},
    {"pricey", GW_COL_EXPENSIVE}, {"pricier", GW_COL_EXPENSIVE}, {"more expensive", GW_COL_EXPENSIVE},
    {"highest priced", GW_COL_EXPENSIVE}, {"highest price", GW_COL_EXPENSIVE},
    {"costliest", GW_COL_EXPENSIVE},
    {"reserved", GW_COL_RESERVED}, {"reservation", GW_COL_RESERVED}, {"reservations", GW_COL_RESERVED},
    {"allocated", GW_COL_RESERVED}, {"committed", GW_COL_RESERVED}, {"reserved units", GW_COL_RESERVED},
    {"available", GW_COL_AVAILABLE}, {"availability", GW_COL_AVAILABLE}, {"sellable", GW_COL_AVAILABLE},
    {"unreserved", GW_COL_AVAILABLE}, {"available to sell", GW_COL_AVAILABLE},
    {"reorder point", GW_COL_REORDER}, {"reorder points", GW_COL_REORDER}, {"reorder level", GW_COL_REORDER},
    {"reorder threshold", GW_COL_REORDER}, {"reorder", GW_COL_REORDER}, {"reordering", GW_COL_REORDER},
    {"restock point", GW_COL_REORDER}, {"safety stock", GW_COL_REORDER}, {"reorder levels", GW_COL_REORDER},
    {"launched", GW_COL_LAUNCHED}, {"launch", GW_COL_LAUNCHED}, {"launch date", GW_COL_LAUNCHED},
    {"released", GW_COL_LAUNCHED}, {"release", GW_COL_LAUNCHED}, {"release date", GW_COL_LAUNCHED},
    {"introduced", GW_COL_LAUNCHED}, {"debuted", GW_COL_LAUNCHED}, {"came out", GW_COL_LAUNCHED},
    {"launches", GW_COL_LAUNCHED}, {"launching", GW_COL_LAUNCHED},
    {"new", GW_COL_NEW}, {"newest", GW_COL_NEW}, {"latest", GW_COL_NEW}, {"most recent", GW_COL_NEW},
    {"recently launched", GW_COL_NEW}, {"brand new", GW_COL_NEW}, {"newly launched", GW_COL_NEW},
    {"updated", GW_COL_UPDATED}, {"last updated", GW_COL_UPDATED}, {"updates", GW_COL_UPDATED},
    {"restocked", GW_COL_UPDATED}, {"refreshed", GW_COL_UPDATED}, {"modified", GW_COL_UPDATED},
    {"update", GW_COL_UPDATED}, {"last update", GW_COL_UPDATED}, {"updated at", GW_COL_UPDATED},
    {"active", GW_COL_ACTIVE}, {"live", GW_COL_ACTIVE}, {"still sold", GW_COL_ACTIVE},
    {"inactive", GW_COL_INACTIVE}, {"discontinued", GW_COL_INACTIVE}, {"retired", GW_COL_INACTIVE},
    {"deactivated", GW_COL_INACTIVE}, {"disabled", GW_COL_INACTIVE}, {"not active", GW_COL_INACTIVE},
    {"end of life", GW_COL_INACTIVE}, {"delisted", GW_COL_INACTIVE}, {"no longer sold", GW_COL_INACTIVE},
    {"status", GW_COL_STATUS}, {"active status", GW_COL_STATUS},
    {"sku", GW_COL_SKU}, {"skus", GW_COL_SKU}, {"product", GW_COL_SKU}, {"products", GW_COL_SKU},
    {"item", GW_COL_SKU}, {"items", GW_COL_SKU}, {"model", GW_COL_SKU}, {"models", GW_COL_SKU},
    {"listing", GW_COL_SKU}, {"listings", GW_COL_SKU}, {"variant", GW_COL_SKU}, {"variants", GW_COL_SKU},
    {"stock keeping units", GW_COL_SKU}, {"product lines", GW_COL_SKU}, {"offerings", GW_COL_SKU},
    {"brand", GW_COL_BRAND}, {"brands", GW_COL_BRAND}, {"manufacturer", GW_COL_BRAND},
    {"manufacturers", GW_COL_BRAND}, {"maker", GW_COL_BRAND}, {"makers", GW_COL_BRAND},
    {"vendor", GW_COL_BRAND}, {"vendors", GW_COL_BRAND},
    {"category", GW_COL_CATEGORY}, {"categories", GW_COL_CATEGORY}, {"product type", GW_COL_CATEGORY},
    {"product types", GW_COL_CATEGORY}, {"subcategory", GW_COL_CATEGORY}, {"subcategories", GW_COL_CATEGORY},
    {"product category", GW_COL_CATEGORY}, {"product categories", GW_COL_CATEGORY},
    {"department", GW_COL_DEPARTMENT}, {"departments", GW_COL_DEPARTMENT}, {"dept", GW_COL_DEPARTMENT},
    {"region", GW_COL_REGION}, {"regions", GW_COL_REGION}, {"regional", GW_COL_REGION},
    {"warehouse", GW_COL_WAREHOUSE}, {"warehouses", GW_COL_WAREHOUSE},
    {"fulfillment center", GW_COL_WAREHOUSE}, {"fulfillment centers", GW_COL_WAREHOUSE},
    {"fulfilment centre", GW_COL_WAREHOUSE}, {"distribution center", GW_COL_WAREHOUSE},
    {"distribution centers", GW_COL_WAREHOUSE}, {"dc", GW_COL_WAREHOUSE}, {"dcs", GW_COL_WAREHOUSE},
    {"location", GW_COL_WAREHOUSE}, {"locations", GW_COL_WAREHOUSE}, {"site", GW_COL_WAREHOUSE},
    {"sites", GW_COL_WAREHOUSE}, {"facility", GW_COL_WAREHOUSE}, {"facilities", GW_COL_WAREHOUSE},
    {"depot", GW_COL_WAREHOUSE}, {"depots", GW_COL_WAREHOUSE}, {"warehouse code", GW_COL_WAREHOUSE},
    {"city", GW_COL_CITY}, {"cities", GW_COL_CITY},
    {"state", GW_COL_STATE}, {"states", GW_COL_STATE},
    {"color", GW_COL_COLOR}, {"colors", GW_COL_COLOR}, {"colour", GW_COL_COLOR}, {"colours", GW_COL_COLOR},
    {"colored", GW_COL_COLOR}, {"coloured", GW_COL_COLOR}, {"shade", GW_COL_COLOR}, {"shades", GW_COL_COLOR},
    {"material", GW_COL_MATERIAL}, {"materials", GW_COL_MATERIAL}, {"made of", GW_COL_MATERIAL},
    {"made from", GW_COL_MATERIAL}, {"ingredient", GW_COL_MATERIAL}, {"ingredients", GW_COL_MATERIAL},
    {"title", GW_COL_TITLE}, {"titles", GW_COL_TITLE}, {"product name", GW_COL_TITLE},
    {"value", GW_COL_VALUE}, {"worth", GW_COL_VALUE}, {"inventory value", GW_COL_VALUE},
    {"stock value", GW_COL_VALUE}, {"valuation", GW_COL_VALUE}, {"dollar value", GW_COL_VALUE},
};

typedef struct alias {
    gw_link_kind_t kind;
    const char *phrase;
    const char *value;
} alias_t;

static const alias_t place_aliases[] = {
    {GW_LINK_REGION, "western", "West"}, {GW_LINK_REGION, "midwestern", "Midwest"},
    {GW_LINK_REGION, "mid west", "Midwest"}, {GW_LINK_REGION, "southwestern", "Southwest"},
    {GW_LINK_REGION, "south west", "Southwest"}, {GW_LINK_REGION, "southeastern", "Southeast"},
    {GW_LINK_REGION, "south east", "Southeast"}, {GW_LINK_REGION, "northeastern", "Northeast"},
    {GW_LINK_REGION, "north east", "Northeast"},
    {GW_LINK_STATES, "west coast", "CA|OR|WA"}, {GW_LINK_STATES, "pacific northwest", "OR|WA"},
    {GW_LINK_STATES, "east coast", "CT|DE|FL|GA|MA|MD|ME|NC|NH|NJ|NY|RI|SC|VA"},
    {GW_LINK_STATES, "eastern seaboard", "CT|DE|FL|GA|MA|MD|ME|NC|NH|NJ|NY|RI|SC|VA"},
    {GW_LINK_STATES, "new england", "CT|MA|ME|NH|RI|VT"},
    {GW_LINK_STATES, "gulf coast", "AL|FL|LA|MS|TX"},
    {GW_LINK_VAGUE, "south", "the Southeast or the Southwest"},
    {GW_LINK_VAGUE, "southern", "the Southeast or the Southwest"},
    {GW_LINK_VAGUE, "east", "the Northeast or the Southeast"},
    {GW_LINK_VAGUE, "eastern", "the Northeast or the Southeast"},
    {GW_LINK_VAGUE, "north", "the Northeast, the Midwest or the West"},
    {GW_LINK_VAGUE, "northern", "the Northeast, the Midwest or the West"},
    {GW_LINK_VAGUE, "central", "the Midwest or the Southwest"},
    {GW_LINK_CITY, "saint louis", "St. Louis"}, {GW_LINK_CITY, "vegas", "Las Vegas"},
    {GW_LINK_CITY, "salt lake", "Salt Lake City"}, {GW_LINK_CITY, "philly", "Philadelphia"},
    {GW_LINK_CITY, "indy", "Indianapolis"}, {GW_LINK_CITY, "kc", "Kansas City"},
    {GW_LINK_CITY, "okc", "Oklahoma City"}, {GW_LINK_CITY, "slc", "Salt Lake City"},
    {GW_LINK_CITY, "nyc", "New York"}, {GW_LINK_CITY, "la", "Los Angeles"},
};

static const char *const states[][2] = {
    {"AL", "alabama"}, {"AK", "alaska"}, {"AZ", "arizona"}, {"AR", "arkansas"}, {"CA", "california"},
    {"CO", "colorado"}, {"CT", "connecticut"}, {"DE", "delaware"}, {"DC", "district of columbia"},
    {"FL", "florida"}, {"GA", "georgia"}, {"HI", "hawaii"}, {"ID", "idaho"}, {"IL", "illinois"},
    {"IN", "indiana"}, {"IA", "iowa"}, {"KS", "kansas"}, {"KY", "kentucky"}, {"LA", "louisiana"},
    {"ME", "maine"}, {"MD", "maryland"}, {"MA", "massachusetts"}, {"MI", "michigan"},
    {"MN", "minnesota"}, {"MS", "mississippi"}, {"MO", "missouri"}, {"MT", "montana"},
    {"NE", "nebraska"}, {"NV", "nevada"}, {"NH", "new hampshire"}, {"NJ", "new jersey"},
    {"NM", "new mexico"}, {"NY", "new york"}, {"NC", "north carolina"}, {"ND", "north dakota"},
    {"OH", "ohio"}, {"OK", "oklahoma"}, {"OR", "oregon"}, {"PA", "pennsylvania"},
    {"RI", "rhode island"}, {"SC", "south carolina"}, {"SD", "south dakota"}, {"TN", "tennessee"},
    {"TX", "texas"}, {"UT", "utah"}, {"VT", "vermont"}, {"VA", "virginia"}, {"WA", "washington"},
    {"WV", "west virginia"}, {"WI", "wisconsin"}, {"WY", "wyoming"}, {"DC", "washington dc"},
};

/* Brands that are everyday words: linked only when written with a capital
 * letter (not first in the question) or next to a product word. */
static const char *const weak_brands[] = {
    "on", "off", "head", "bell", "brother", "giant", "duck", "glad", "ring", "halo", "meta", "pilot",
    "expo", "orbit", "smith", "delta", "branch", "champion", "coach", "converse", "eclipse", "crest",
    "dove", "dawn", "tide", "bounty", "parachute", "cannon", "citizen", "cooper", "dolphin", "pelican",
    "penn", "ninja", "razor", "lodge", "stanley", "wilson", "valve", "insignia", "interstate", "husky",
    "crucial", "mainstays", "purple", "specialized", "wellness", "spectra", "pioneer", "ping", "rivet",
    "vortex", "shark", "apple", "google", "amazon", "nectar", "fossil", "keen", "vans", "puma", "scotch",
    "quartet", "oxford", "plano", "vicks", "jockey", "uline", "tetra", "crayola", "friskies", "frisco",
};

/* Brand suffixes that shoppers leave out ("L'Oréal Paris" -> "loreal"). */
static const char *const brand_suffixes[] = {"paris", "co", "company", "inc", "brands", "usa"};

/* ---- building blocks ---- */

static gw_err_t grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return GW_OK;
    size_t nc = *cap ? *cap * 2 : 256;
    void *p = gw_realloc(*v, nc * size);
    if (p == NULL)
        return GW_ENOMEM;
    *v = p;
    *cap = nc;
    return GW_OK;
}

/* The word id of text, adding it (with its stem and deletion variants). */
static int word_id(gw_retriever_t *r, const char *text)
{
    gw__slot_t *s = gw__map_get(&r->words, text);
    if (s != NULL)
        return s->vals[0];
    if (grow((void **)&r->wv, &r->cap_words, r->n_words, sizeof *r->wv) != GW_OK)
        return -1;
    int id = (int)r->n_words;
    if (gw__map_add(&r->words, text, id, 1) != GW_OK)
        return -1;
    gw__word_t *w = &r->wv[r->n_words++];
    memset(w, 0, sizeof *w);
    w->text = gw__map_get(&r->words, text)->key;
    gw_rt_stem(text, w->stem, sizeof w->stem);
    if (gw__map_add(&r->stems, w->stem, id, 1) != GW_OK)
        return -1;
    size_t n = strlen(text);
    if (n == 4 && gw__map_add(&r->dels, text, id, 1) != GW_OK) /* "westt" -> "west" */
        return -1;
    if (n >= 5 && n < GW_RT_TOKEN_MAX) {
        char v[GW_RT_TOKEN_MAX];
        if (gw__map_add(&r->dels, text, id, 1) != GW_OK)
            return -1;
        for (size_t i = 0; i < n; i++) {
            memcpy(v, text, i);
            memcpy(v + i, text + i + 1, n - i);
            if (gw__map_add(&r->dels, v, id, 1) != GW_OK)
                return -1;
        }
    }
    return id;
}

static int add_entry(gw_retriever_t *r, gw_link_kind_t kind, int id, const char *value, unsigned flags)
{
    static const double priors[] = {
        [GW_LINK_CATEGORY] = 1.0, [GW_LINK_BRAND] = 1.02, [GW_LINK_REGION] = 1.0, [GW_LINK_STATE] = 0.99,
        [GW_LINK_STATES] = 1.0,   [GW_LINK_CITY] = 1.0,   [GW_LINK_WAREHOUSE] = 1.0, [GW_LINK_COLOR] = 0.9,
        [GW_LINK_MATERIAL] = 0.88, [GW_LINK_COLUMN] = 1.0, [GW_LINK_VAGUE] = 0.95,
    };
    if (grow((void **)&r->ev, &r->cap_entries, r->n_entries, sizeof *r->ev) != GW_OK)
        return -1;
    gw__entry_t *e = &r->ev[r->n_entries];
    e->kind = kind;
    e->id = id;
    e->flags = flags;
    e->prior = priors[kind];
    if ((e->value = gw_strdup(value)) == NULL)
        return -1;
    return (int)r->n_entries++;
}

/* Adds the phrase text (tokenised like a question) for entry. */
static gw_err_t add_phrase(gw_retriever_t *r, const char *text, int entry, double weight)
{
    gw_token_t toks[16];
    int ids[16];
    size_t n = gw_rt_tokenize(text, strlen(text), toks, 16);
    char key[16];
    if (n == 0 || n == 16 || entry < 0)
        return entry < 0 ? GW_ENOMEM : GW_OK; /* empty or absurdly long: not indexed */
    for (size_t i = 0; i < n; i++)
        if ((ids[i] = word_id(r, toks[i].text)) < 0)
            return GW_ENOMEM;
    snprintf(key, sizeof key, "%d", ids[0]);
    const gw__slot_t *same = gw__map_get(&r->first, key);
    for (size_t i = 0; same != NULL && i < same->n; i++) { /* same words, same entry: once */
        const gw__phrase_t *q = &r->pv[same->vals[i]];
        if (q->entry == entry && q->n == n && memcmp(q->words, ids, n * sizeof *ids) == 0)
            return GW_OK;
    }
    if (grow((void **)&r->pv, &r->cap_phrases, r->n_phrases, sizeof *r->pv) != GW_OK)
        return GW_ENOMEM;
    gw__phrase_t *p = &r->pv[r->n_phrases];
    if ((p->words = gw_malloc(n * sizeof *ids)) == NULL)
        return GW_ENOMEM;
    memcpy(p->words, ids, n * sizeof *ids);
    p->n = n;
    p->entry = entry;
    p->weight = weight;
    return gw__map_add(&r->first, key, (int)r->n_phrases++, 0);
}

/* Adds text and, when it has separators inside words (Tempur-Pedic,
 * Black+Decker), the joined form too. */
static gw_err_t add_phrase_joined(gw_retriever_t *r, const char *text, int entry, double weight)
{
    char joined[256];
    size_t k = 0;
    int changed = 0;
    gw_err_t rc = add_phrase(r, text, entry, weight);
    for (size_t i = 0; text[i] != '\0' && rc == GW_OK && k + 1 < sizeof joined; i++) {
        if (strchr("-+.", text[i]) != NULL && i > 0 && text[i + 1] != ' ' && text[i + 1] != '\0') {
            changed = 1;
            continue;
        }
        joined[k++] = text[i];
    }
    joined[k] = '\0';
    if (rc == GW_OK && changed)
        rc = add_phrase(r, joined, entry, weight);
    const char *plus = strchr(text, '+');
    if (rc == GW_OK && plus != NULL && plus > text && (size_t)(plus - text) + 6 < sizeof joined) {
        /* "Black+Decker" is also said "Black and Decker" */
        int n = snprintf(joined, sizeof joined, "%.*s and %s", (int)(plus - text), text, plus + 1);
        if (n > 0 && (size_t)n < sizeof joined)
            rc = add_phrase(r, joined, entry, weight);
    }
    return rc;
}

/* ---- sources ---- */

static gw_err_t index_categories(gw_retriever_t *r)
{
    const gw_taxonomy_t *t = r->tax;
    for (size_t i = 0; i < t->n_nodes; i++) {
        const gw_tax_node_t *n = &t->nodes[i];
        int e = add_entry(r, GW_LINK_CATEGORY, n->id, n->name, 0);
        gw_err_t rc = add_phrase_joined(r, n->name, e, 1.0);
        for (size_t j = 0; j < n->n_synonyms && rc == GW_OK; j++)
            rc = add_phrase_joined(r, n->synonyms[j], e, 1.0);
        const char *sp = strrchr(n->name, ' ');
        if (rc == GW_OK && sp != NULL && sp[1] != '\0') {
            int h = add_entry(r, GW_LINK_CATEGORY, n->id, n->name, GW__E_HEAD);
            rc = add_phrase(r, sp + 1, h, 0.5);
        }
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

/* The schema's distinct values of table.column, or NULL. */
static const gw_schema_column_t *schema_values(const gw_schema_t *s, const char *table, const char *column)
{
    for (size_t i = 0; s != NULL && i < s->n_tables; i++) {
        if (strcmp(s->tables[i].name, table) != 0)
            continue;
        for (size_t j = 0; j < s->tables[i].n_columns; j++) {
            const gw_schema_column_t *c = &s->tables[i].columns[j];
            if (strcmp(c->name, column) == 0)
                return c->values != NULL && c->n_values > 0 ? c : NULL;
        }
    }
    return NULL;
}

static gw_err_t add_brand(gw_retriever_t *r, const char *brand)
{
    char low[256];
    gw_token_t tk1[2];
    unsigned fl = 0;
    if (gw_rt_tokenize(brand, strlen(brand), tk1, 2) == 1) {
        fl = gw_rt_common_word(tk1[0].text) ? GW__E_WEAKB : 0u;
        for (size_t i = 0; i < N_OF(weak_brands) && fl == 0; i++)
            if (strcmp(tk1[0].text, weak_brands[i]) == 0)
                fl = GW__E_WEAKB;
    }
    int e = add_entry(r, GW_LINK_BRAND, 0, brand, fl);
    gw_err_t rc = add_phrase_joined(r, brand, e, 1.0);
    const char *sp = strrchr(brand, ' ');
    if (rc != GW_OK || sp == NULL || (size_t)(sp - brand) < 4 || (size_t)(sp - brand) >= sizeof low)
        return rc;
    for (size_t i = 0; i < N_OF(brand_suffixes); i++) {
        gw_token_t tk;
        if (gw_rt_tokenize(sp + 1, strlen(sp + 1), &tk, 1) == 1 && strcmp(tk.text, brand_suffixes[i]) == 0) {
            memcpy(low, brand, (size_t)(sp - brand));
            low[sp - brand] = '\0';
            return add_phrase_joined(r, low, e, 1.0);
        }
    }
    return GW_OK;
}

static gw_err_t index_brands(gw_retriever_t *r, const gw_schema_t *schema)
{
    const gw_schema_column_t *c = schema_values(schema, "skus", "brand");
    gw__map_t seen = {0};
    gw_err_t rc = GW_OK;
    if (c != NULL) {
        for (size_t i = 0; i < c->n_values && rc == GW_OK; i++)
            rc = add_brand(r, c->values[i]);
        return rc;
    }
    for (size_t d = 0; d < r->tax->n_departments && rc == GW_OK; d++) {
        const gw_tax_department_t *dep = &r->tax->departments[d];
        for (size_t i = 0; i < dep->n_brands && rc == GW_OK; i++) {
            if (gw__map_get(&seen, dep->brands[i]) != NULL)
                continue;
            rc = gw__map_add(&seen, dep->brands[i], 1, 1);
            if (rc == GW_OK)
                rc = add_brand(r, dep->brands[i]);
        }
    }
    gw__map_free(&seen);
    return rc;
}

/* Colors or materials: the schema's values, else the taxonomy leaves'. */
static gw_err_t index_attr(gw_retriever_t *r, const gw_schema_t *schema, gw_link_kind_t kind)
{
    const char *col = kind == GW_LINK_COLOR ? "color" : "material";
    const gw_schema_column_t *c = schema_values(schema, "skus", col);
    gw__map_t seen = {0};
    gw_err_t rc = GW_OK;
    for (size_t i = 0; c != NULL && i < c->n_values && rc == GW_OK; i++) {
        gw_token_t tk[2];
        size_t nt = gw_rt_tokenize(c->values[i], strlen(c->values[i]), tk, 2);
        unsigned fl = nt == 1 && gw_rt_common_word(tk[0].text) ? GW__E_WEAK : 0u;
        rc = add_phrase_joined(r, c->values[i], add_entry(r, kind, 0, c->values[i], fl), 1.0);
    }
    for (size_t i = 0; c == NULL && i < r->tax->n_leaves && rc == GW_OK; i++) {
        const gw_tax_node_t *n = &r->tax->nodes[r->tax->leaves[i]];
        char **v = kind == GW_LINK_COLOR ? n->colors : n->materials;
        size_t nv = kind == GW_LINK_COLOR ? n->n_colors : n->n_materials;
        for (size_t j = 0; j < nv && rc == GW_OK; j++) {
            if (gw__map_get(&seen, v[j]) != NULL)
                continue;
            gw_token_t tk[2];
            size_t nt = gw_rt_tokenize(v[j], strlen(v[j]), tk, 2);
            unsigned fl = nt == 1 && gw_rt_common_word(tk[0].text) ? GW__E_WEAK : 0u;
            rc = gw__map_add(&seen, v[j], 1, 1);
            if (rc == GW_OK)
                rc = add_phrase_joined(r, v[j], add_entry(r, kind, 0, v[j], fl), 1.0);
        }
    }
    gw__map_free(&seen);
    return rc;
}

static gw_err_t index_city(gw_retriever_t *r, gw__map_t *seen, const gw_tax_warehouse_t *w)
{
    char code3[4];
    gw_err_t rc = GW_OK;
    if (gw__map_get(seen, w->city) == NULL) {
        rc = gw__map_add(seen, w->city, 1, 1);
        if (rc == GW_OK)
            rc = add_phrase(r, w->city, add_entry(r, GW_LINK_CITY, 0, w->city, 0), 1.0);
    }
    /* WH-SEA-01: "SEA" written in capitals names the city too. */
    if (rc == GW_OK && strlen(w->code) >= 6 && w->code[2] == '-') {
        memcpy(code3, w->code + 3, 3);
        code3[3] = '\0';
        if (gw__map_get(seen, code3) == NULL) {
            rc = gw__map_add(seen, code3, 1, 1);
            if (rc == GW_OK)
                rc = add_phrase(r, code3, add_entry(r, GW_LINK_CITY, 0, w->city, GW__E_UPPER), 1.0);
        }
    }
    return rc;
}

static gw_err_t index_places(gw_retriever_t *r)
{
    static const char *const regions[] = {"West", "Southwest", "Midwest", "Southeast", "Northeast"};
    gw__map_t seen = {0};
    gw_err_t rc = GW_OK;
    for (size_t i = 0; i < N_OF(regions) && rc == GW_OK; i++)
        rc = add_phrase(r, regions[i], add_entry(r, GW_LINK_REGION, 0, regions[i], 0), 1.0);
    for (size_t i = 0; i < r->tax->n_warehouses && rc == GW_OK; i++) {
        const gw_tax_warehouse_t *w = &r->tax->warehouses[i];
        int e = add_entry(r, GW_LINK_WAREHOUSE, w->id, w->code, 0);
        rc = add_phrase(r, w->code, e, 1.0);
        if (rc == GW_OK)
            rc = add_phrase(r, w->name, e, 1.0);
        if (rc == GW_OK)
            rc = add_phrase(r, w->code + 3, e, 1.0); /* "SEA-01" */
        if (rc == GW_OK)
            rc = index_city(r, &seen, w);
    }
    for (size_t i = 0; i < N_OF(states) && rc == GW_OK; i++) {
        rc = add_phrase(r, states[i][1], add_entry(r, GW_LINK_STATE, 0, states[i][0], 0), 1.0);
        if (rc == GW_OK && strcmp(states[i][1], "washington dc") != 0)
            rc = add_phrase(r, states[i][0], add_entry(r, GW_LINK_STATE, 0, states[i][0], GW__E_UPPER), 1.0);
    }
    for (size_t i = 0; i < N_OF(place_aliases) && rc == GW_OK; i++) {
        const alias_t *a = &place_aliases[i];
        unsigned fl = strlen(a->phrase) <= 3 ? GW__E_UPPER : 0u;
        rc = add_phrase(r, a->phrase, add_entry(r, a->kind, 0, a->value, fl), 1.0);
    }
    gw__map_free(&seen);
    return rc;
}

static gw_err_t index_columns(gw_retriever_t *r)
{
    gw_err_t rc = GW_OK;
    int entry[GW_COL_COUNT_] = {0};
    for (size_t i = 0; i < N_OF(colwords) && rc == GW_OK; i++) {
        gw_col_t c = colwords[i].col;
        if (entry[c] == 0 && (entry[c] = add_entry(r, GW_LINK_COLUMN, (int)c, gw_col_name(c), 0) + 1) == 0)
            return GW_ENOMEM;
        rc = add_phrase(r, colwords[i].phrase, entry[c] - 1, 1.0);
    }
    return rc;
}

/* idf over phrases, by stem: a word whose stem is in few phrases says
 * more; "point" and "points" weigh the same, so an exact match always
 * beats a stem match of the same phrase. */
static gw_err_t compute_idf(gw_retriever_t *r)
{
    double n = (double)r->n_phrases;
    for (size_t i = 0; i < r->n_phrases; i++) {
        const gw__phrase_t *p = &r->pv[i];
        for (size_t j = 0; j < p->n; j++) {
            int dup = 0;
            for (size_t k = 0; k < j; k++)
                dup |= strcmp(r->wv[p->words[k]].stem, r->wv[p->words[j]].stem) == 0;
            if (!dup)
                r->wv[p->words[j]].df++;
        }
    }
    for (size_t i = 0; i < r->n_words; i++) {
        const gw__slot_t *s = gw__map_get(&r->stems, r->wv[i].stem);
        double df = 0;
        for (size_t k = 0; s != NULL && k < s->n; k++)
            df += (double)r->wv[s->vals[k]].df;
        r->wv[i].idf = log(1.0 + (n - df + 0.5) / (df + 0.5));
    }
    return GW_OK;
}

gw_err_t gw__rt_build(gw_retriever_t *r, const gw_schema_t *schema, char *err, size_t errlen)
{
    gw_err_t rc = index_categories(r);
    if (rc == GW_OK)
        rc = index_brands(r, schema);
    if (rc == GW_OK)
        rc = index_attr(r, schema, GW_LINK_COLOR);
    if (rc == GW_OK)
        rc = index_attr(r, schema, GW_LINK_MATERIAL);
    if (rc == GW_OK)
        rc = index_places(r);
    if (rc == GW_OK)
        rc = index_columns(r);
    if (rc != GW_OK) {
        snprintf(err, errlen, "retriever: out of memory while building the index");
        return rc;
    }
    compute_idf(r);
    return GW_OK;
}

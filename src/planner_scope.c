/* planner_scope.c - the rules planner's refusals before any parsing:
 * unsafe questions (change or delete data, SQL text, read files, system
 * tables and settings, secrets, prompt injection) and questions outside
 * the catalog (weather, jokes, people, sales and other data the catalog
 * does not hold). Word lists over the normalised tokens, plus a few
 * substrings of the raw text for SQL and path syntax.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "planner_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int refuse(gw__pc_t *c, gw_plan_status_t st, const char *msg)
{
    c->p->status = st;
    snprintf(c->p->message, sizeof c->p->message, "%s", msg);
    return 1;
}

/* ---- unsafe ---- */

/* Lower-case substrings of the raw question that only SQL, shells, paths
 * or injections contain. */
static const char *const bad_text[] = {
    ";",           "--",           "/*",           "*/",          "1=1",        "' or ",
    "\" or ",      "../",          "/etc/",        "passwd",      "://",        "xp_cmdshell",
    "information_schema", "pg_catalog", "sqlite_master", "duckdb_",  "system.",    "read_csv",
    "read_parquet", "read_json",   "read_text",    "read_blob",   "load_extension", "sleep(",
    "pg_sleep",    "benchmark(",   "union select", "union all select", "drop table", "delete from",
    "insert into", "truncate table", "alter table", "create table", "exec(",      "eval(",
    "system(",     "rm -rf",       "<script",      "${",          "$(",         "`",
    "\\x",         "0x",           "char(",        "current_setting", "getenv",  "/dev/",
};

static int has_bad_text(const char *q)
{
    char low[GW_RT_MAX_QUESTION + 1];
    size_t n = strlen(q);
    if (n > GW_RT_MAX_QUESTION)
        n = GW_RT_MAX_QUESTION;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)q[i]);
    low[n] = '\0';
    for (size_t i = 0; i < N_OF(bad_text); i++)
        if (strstr(low, bad_text[i]) != NULL)
            return 1;
    return 0;
}

static const char *const destructive[] = {
    "delete", "truncate", "wipe", "erase", "purge", "destroy", "overwrite", "insert", "alter", "grant",
    "revoke", "shutdown", "exfiltrate", "hack", "inject", "injection", "sudo", "chmod", "rm", "deletes",
    "truncates", "corrupt", "sabotage", "ddos", NULL,
};

/* "drop" and "dump" are destructive with an object after them. */
static const char *const objects[] = {
    "table", "tables", "database", "databases", "db", "schema", "column", "columns", "index", "view",
    "skus", "inventory", "categories", "warehouses", "catalog", "data", "everything", "all", "rows", NULL,
};

static const char *const imperative[] = {
    "update", "set", "change", "modify", "remove", "add", "create", "rename", "replace", "increase",
    "decrease", "raise", "lower", "reduce", "mark", "deactivate", "activate", "discontinue", "restock",
    "reorder", "move", "transfer", "cancel", "edit", "save", "store", "upload", "import", "load",
    "export", "email", "send", "execute", "adjust", "fix", "correct", "reset", "clear", "zero", "empty",
    "double", "halve", "apply", "put", "assign", "disable", "enable", "approve", "merge", "duplicate",
    "copy", "archive", "delist", "relist", "drop", "dump", "kill", "post", "publish", "order", "buy",
    "purchase", "ship", "allocate", "reserve", "unreserve", NULL,
};

/* Words that may come before an imperative ("please", "can you"). */
static const char *const preamble[] = {
    "please", "can", "could", "would", "will", "you", "kindly", "i", "id", "want", "need", "like", "to",
    "lets", "let", "us", "me", "go", "ahead", "and", "now", "just", "quickly", "hey", "hi", "ok", "okay",
    "so", "then", "also", "must", "we", "im", "asking", "it", "is", "possible", NULL,
};

static const char *const injection[] = {
    "jailbreak", "pretend", "roleplay", "impersonate", "dan", "unrestricted", "unfiltered", NULL,
};

static const char *const inj_verbs[] = {"ignore", "disregard", "forget", "bypass", "override", "skip", NULL};
static const char *const inj_objects[] = {
    "instruction", "instructions", "rules", "rule", "prompt", "prompts", "guard", "guards", "filter",
    "filters", "restriction", "restrictions", "guideline", "guidelines", "policy", "policies", "safety",
    "system", "guardrails", "limits", "previous", "above", NULL,
};

static const char *const secrets[] = {
    "password", "passwords", "passwd", "credential", "credentials", "secret", "secrets", "apikey",
    "ssh", "hostname", "env", "sudoers", "bash", NULL,
};

static const char *const meta_words[] = {
    "database", "databases", "db", "schema", "schemas", "system", "settings", "setting", "configuration",
    "config", "server", "users", "prompt", "duckdb", "clickhouse", "bigquery", "pragma", "extension",
    "extensions", NULL,
};

static const char *const meta_objects[] = {
    "tables", "table", "columns", "column", "show", "list", "describe", "structure", "dump", "export",
    "all", "settings", "setting", "version", "users", "user", "logs", "log", "read", "print", "reveal",
    "display", "what", "which", "names", "catalog", "functions", "processes", "config", "configuration",
    "prompt", "instructions", "password", "passwords", NULL,
};

static const char *const file_words[] = {"file", "files", "filesystem", "directory", "directories", "folder",
                                         "disk", "csv", "parquet", "path", NULL};
static const char *const file_verbs[] = {"read", "open", "load", "show", "print", "cat", "contents", "access",
                                         "list", "write", "dump", "export", "import", "attach", "copy", NULL};

static int any_raw(const gw__pc_t *c, const char *const *words)
{
    for (size_t i = 0; i < c->n; i++)
        if (gw__pc_raw(c, i) && gw__pc_is_any(c, i, words))
            return 1;
    return 0;
}

static int any_tok(const gw__pc_t *c, const char *const *words)
{
    for (size_t i = 0; i < c->n; i++)
        if (gw__pc_is_any(c, i, words))
            return 1;
    return 0;
}

/* An imperative at the start of the question (after "please", "can you")
 * or right after "and"/"then"; an entity word ("copy paper") is not one. */
static int imperative_here(const gw__pc_t *c, size_t i)
{
    const gw_link_t *l = gw__pc_link(c, i);
    if (l != NULL && l->kind != GW_LINK_COLUMN)
        return 0;
    if (!gw__pc_is_any(c, i, imperative))
        return 0;
    if (gw__pc_is(c, i, "add") && gw__pc_is(c, i + 1, "up"))
        return 0;
    if (gw__pc_is(c, i, "order") && gw__pc_is(c, i + 1, "by"))
        return 0;
    return 1;
}

static int imperative_at(const gw__pc_t *c)
{
    size_t i = 0;
    while (i < c->n && gw__pc_is_any(c, i, preamble) && !gw__pc_is_any(c, i, imperative))
        i++;
    if (i < c->n && imperative_here(c, i))
        return 1;
    for (i = 0; i + 1 < c->n; i++)
        if ((gw__pc_is(c, i, "and") || gw__pc_is(c, i, "then")) && gw__pc_raw(c, i + 1) &&
            imperative_here(c, i + 1))
            return 1;
    return 0;
}

/* A destructive word, or drop/dump with an object within 3 tokens. */
static int destructive_at(const gw__pc_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (gw__pc_is_any(c, i, destructive))
            return 1;
        if (gw__pc_is(c, i, "drop") || gw__pc_is(c, i, "dump"))
            for (size_t k = i + 1; k < c->n && k <= i + 3; k++)
                if (gw__pc_is_any(c, k, objects))
                    return 1;
    }
    return 0;
}

/* SQL text: select ... from <catalog table>. */
static int sql_text(const gw__pc_t *c)
{
    static const char *const tables[] = {"skus", "inventory", "categories", "warehouses", NULL};
    int sel = gw__pc_find(c, "select"), from = gw__pc_find(c, "from");
    if (sel < 0 || from < sel)
        return 0;
    for (size_t i = (size_t)from + 1; i < c->n && i <= (size_t)from + 2; i++)
        if (gw__pc_is_any(c, i, tables) || (c->t[i].flags & GW_TOK_UPPER))
            return 1;
    return strchr(c->question, '*') != NULL;
}

int gw__plan_unsafe(gw__pc_t *c)
{
    if (has_bad_text(c->question) || sql_text(c))
        return refuse(c, GW_PLAN_UNSAFE,
                      "I can't run that: questions must be plain English about the catalog, not SQL, code or "
                      "file paths, and I only read the catalog.");
    if (destructive_at(c) || imperative_at(c))
        return refuse(c, GW_PLAN_UNSAFE,
                      "I can't do that: I only answer questions about the catalog and never change, add or "
                      "delete data.");
    if (any_tok(c, injection) || (any_tok(c, inj_verbs) && any_tok(c, inj_objects)) ||
        gw__pc_find(c, "system prompt") >= 0 || gw__pc_find(c, "you are now") >= 0 ||
        gw__pc_find(c, "act as") >= 0 || gw__pc_find(c, "developer mode") >= 0)
        return refuse(c, GW_PLAN_UNSAFE, "I can't do that: I follow my own rules and only answer questions "
                                         "about the catalog.");
    if (any_raw(c, secrets) || gw__pc_find(c, "api key") >= 0 || gw__pc_find(c, "private key") >= 0 ||
        gw__pc_find(c, "access token") >= 0 || gw__pc_find(c, "environment variable") >= 0 ||
        (any_raw(c, meta_words) && any_raw(c, meta_objects)) || (any_raw(c, file_words) && any_raw(c, file_verbs)))
        return refuse(c, GW_PLAN_UNSAFE, "I can't do that: I don't reveal system tables, settings, files or "
                                         "credentials; I only answer questions about the catalog.");
    return 0;
}

/* ---- out of scope ---- */

static const char *const topics[] = {
    "weather", "forecast", "rain", "snow", "temperature", "joke", "jokes", "funny", "poem", "poems", "story",
    "song", "lyrics", "recipe", "recipes", "ceo", "cfo", "president", "founder", "founded", "owner",
    "history", "population", "news", "election", "politics", "translate", "translation", "meaning",
    "revenue", "revenues", "profit", "profits", "margin", "margins", "sales", "orders", "customer",
    "customers", "returns", "refund", "refunds", "shipping", "delivery", "deliveries", "employees",
    "employee", "staff", "salary", "salaries", "payroll", "review", "reviews", "rating", "ratings",
    "stars", "recommend", "recommendation", "recommendations", "advice", "opinion", "bought",
    "purchased", "purchases", "shipped", "bestseller", "bestsellers", "popular", "popularity",
    "competitor", "competitors", "market", "nasdaq", "dividend", "shares", "stocks", "investors",
    "capital", "country", "countries", "movie", "movies", "celebrity", "horoscope", "lottery",
    "password", "discount", "discounts", "coupon", "coupons", "promotion", "promotions",
    "demand", "forecasting", "predict", "prediction", "future", "tomorrow", "next", "margin", "meeting",
    "meetings", "appointment", "calendar", "remind", "reminder", "headache", "symptoms", "doctor", "diagnose",
    "homework", "code", "python", "javascript", "program", "essay", "summarize", NULL,
};

/* Words that say the question is about the catalog. */
static const char *const catalog_words[] = {
    "catalog", "catalogue", "inventory", "stock", "stocked", "warehouse", "warehouses", "sku", "skus",
    "product", "products", "item", "items", "brand", "brands", "category", "categories", "department",
    "departments", "price", "prices", "units", "region", "regions", NULL,
};

/* "how many were sold", "did we sell": sales, which the catalog does not
 * hold ("do we sell", "brands that sell", "sold out" are catalog words). */
static int sold_as_sales(const gw__pc_t *c)
{
    static const char *const before[] = {"were", "was", "been", "have", "has", "had", "we", "units", "many", "much",
                                         "did", "get", "got", "be", "being", "they", "youve", "weve", "i", NULL};
    for (size_t i = 1; i < c->n; i++) {
        if (gw__pc_is(c, i, "sold") && gw__pc_is_any(c, i - 1, before) && !gw__pc_is(c, i + 1, "out"))
            return 1;
        if ((gw__pc_is(c, i, "sell") || gw__pc_is(c, i, "sells")) &&
            (gw__pc_is(c, i - 1, "did") || (i >= 2 && gw__pc_is(c, i - 2, "did"))))
            return 1;
    }
    return 0;
}

/* An entity or measure link, or a catalog word. */
static int about_catalog(const gw__pc_t *c)
{
    for (size_t i = 0; i < c->q->n_links; i++) {
        const gw_link_t *l = &c->q->links[i];
        if (l->kind != GW_LINK_COLUMN)
            return 1;
        if (l->id != GW_COL_TITLE && l->id != GW_COL_STATE && l->id != GW_COL_CITY && l->id != GW_COL_STATUS &&
            l->id != GW_COL_NEW && l->id != GW_COL_COLOR && l->id != GW_COL_VALUE)
            return 1;
    }
    for (size_t i = 0; i < c->n; i++)
        if ((c->t[i].flags & GW_TOK_NUM) && c->t[i].num >= 100000000)
            return 1; /* a SKU id */
    return any_tok(c, catalog_words);
}

/* Another retailer's stock or prices ("Walmart", "Amazon's price"). */
static int other_store(const gw__pc_t *c)
{
    static const char *const stores[] = {"walmart", "walmarts", "costco", "costcos", "ebay", "ebays", "bestbuy",
                                         "kroger", "krogers", "wayfair", "wayfairs", "newegg", "neweggs", "macys",
                                         "amazons", "targets", "lowes", "ikeas", "competitor", "competitors",
                                         "competition", "rival", "rivals", NULL};
    for (size_t i = 0; i < c->n; i++)
        if (gw__pc_is_any(c, i, stores) && !(gw__pc_link(c, i) != NULL && gw__pc_link(c, i)->kind == GW_LINK_BRAND &&
                                              !gw__pc_is(c, i, "amazons")))
            return 1;
    return gw__pc_find(c, "best buy") >= 0 || gw__pc_find(c, "home depot") >= 0 ||
           gw__pc_find(c, "other stores") >= 0 || gw__pc_find(c, "other retailers") >= 0;
}

int gw__plan_out_of_scope(gw__pc_t *c)
{
    static const char *const msg =
        "I can only answer questions about the product catalog and its inventory (SKUs, categories, "
        "brands, prices, stock by warehouse and region); that question is outside it.";
    if (c->n == 0)
        return refuse(c, GW_PLAN_OUT_OF_SCOPE, msg);
    if (any_raw(c, topics) || sold_as_sales(c) || gw__pc_find(c, "stock price") >= 0 ||
        gw__pc_find(c, "share price") >= 0 || gw__pc_find(c, "stock market") >= 0 ||
        gw__pc_find(c, "best selling") >= 0 || gw__pc_find(c, "how do i") >= 0 || gw__pc_find(c, "how to") == 0 ||
        gw__pc_find(c, "who are you") >= 0 || gw__pc_is(c, 0, "why") ||
        (gw__pc_is(c, 0, "who") && !gw__pc_is_any(c, 1, (const char *const[]){"makes", "sells", "has", NULL})))
        return refuse(c, GW_PLAN_OUT_OF_SCOPE, msg);
    if (gw__pc_find(c, "should i") >= 0 || gw__pc_find(c, "should we") >= 0 ||
        gw__pc_find(c, "do you recommend") >= 0 || gw__pc_find(c, "is it safe") >= 0 || other_store(c))
        return refuse(c, GW_PLAN_OUT_OF_SCOPE, msg); /* advice, other retailers */
    if (!about_catalog(c))
        return refuse(c, GW_PLAN_OUT_OF_SCOPE, msg);
    return 0;
}

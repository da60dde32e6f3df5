/* retriever.h - links the words of a catalog question to catalog values:
 * categories (every depth, names and synonyms), brands, regions, states,
 * cities, warehouses, colors, materials and column words ("in stock" ->
 * inventory.on_hand, "cheapest" -> skus.price_usd).
 *
 * The index is built once, offline, from the taxonomy and (when given) the
 * engine's described schema; it is immutable afterwards, so any number of
 * threads may link questions with one retriever. Linking never touches the
 * engine. Matching is on normalised tokens (lower case, accents folded,
 * punctuation out) with exact > stem > typo (edit distance 1, tokens of 5+
 * letters) > head-noun matches, phrase matching of multi-word names, a
 * BM25-like score (idf of the matched words) and overlap resolution by best
 * score, then longest span.
 */
#ifndef GW_RETRIEVER_H
#define GW_RETRIEVER_H

#include <stddef.h>

#include "engine.h"
#include "err.h"
#include "taxonomy.h"

/* Longest question the retriever accepts (bytes) and most tokens kept. */
#define GW_RT_MAX_QUESTION 2000
#define GW_RT_MAX_TOKENS 256
#define GW_RT_TOKEN_MAX 48

typedef enum gw_link_kind {
    GW_LINK_CATEGORY = 0, /* id = category_id, value = the category name */
    GW_LINK_BRAND,        /* value = the brand as stored ("L'Oréal Paris") */
    GW_LINK_REGION,       /* value = "West" ... */
    GW_LINK_STATE,        /* value = two letters, "TX" */
    GW_LINK_STATES,       /* a set of states ("west coast"): value = "CA|OR|WA" */
    GW_LINK_CITY,         /* value = the city as stored */
    GW_LINK_WAREHOUSE,    /* id = warehouse_id, value = its code */
    GW_LINK_COLOR,        /* value = the color as stored */
    GW_LINK_MATERIAL,     /* value = the material as stored */
    GW_LINK_COLUMN,       /* id = a gw_col_t: a column or dimension word */
    GW_LINK_VAGUE         /* a place with no single region ("the south"); value says which */
} gw_link_kind_t;

/* Column and dimension words (GW_LINK_COLUMN ids). */
typedef enum gw_col {
    GW_COL_ON_HAND = 1, /* units, stock, in stock, on hand, inventory */
    GW_COL_PRICE,       /* price, cost, dollars */
    GW_COL_CHEAP,       /* cheapest, cheaper, least expensive: price, ascending */
    GW_COL_EXPENSIVE,   /* most expensive, priciest: price, descending */
    GW_COL_RESERVED,
    GW_COL_AVAILABLE,   /* available: on_hand - reserved */
    GW_COL_REORDER,     /* reorder point */
    GW_COL_LAUNCHED,    /* launched, released, introduced */
    GW_COL_NEW,         /* new, newest, latest: launched_on, descending */
    GW_COL_UPDATED,     /* updated, restocked */
    GW_COL_ACTIVE,      /* is_active = true */
    GW_COL_INACTIVE,    /* is_active = false: inactive, discontinued */
    GW_COL_STATUS,      /* the is_active dimension: status */
    GW_COL_SKU,         /* skus, products, items, models */
    GW_COL_BRAND,       /* the brand dimension: brand, manufacturer */
    GW_COL_CATEGORY,    /* category, product type */
    GW_COL_DEPARTMENT,
    GW_COL_REGION,
    GW_COL_WAREHOUSE,   /* warehouse, fulfillment center, location */
    GW_COL_CITY,
    GW_COL_STATE,
    GW_COL_COLOR,
    GW_COL_MATERIAL,
    GW_COL_TITLE,       /* title, name */
    GW_COL_VALUE,       /* value, worth: on_hand * price_usd */
    GW_COL_COUNT_
} gw_col_t;

/* How the weakest word of a link matched. */
typedef enum gw_match {
    GW_MATCH_EXACT = 0,
    GW_MATCH_STEM,
    GW_MATCH_TYPO,
    GW_MATCH_HEAD /* only the head noun of a longer category name ("chairs") */
} gw_match_t;

#define GW_TOK_NUM 1u     /* a number: num holds its value */
#define GW_TOK_MONEY 2u   /* written with a $ sign */
#define GW_TOK_UPPER 4u   /* written in capitals (2+ letters, "TX") */
#define GW_TOK_QUOTED 8u  /* inside "..." */
#define GW_TOK_PERCENT 16u
#define GW_TOK_INT 32u    /* an integer written without a decimal point */
#define GW_TOK_CAP 64u    /* starts with a capital letter */

/* One token of the question. */
typedef struct gw_token {
    char text[GW_RT_TOKEN_MAX]; /* normalised: lower-case ASCII, "levis", "2024" */
    char stem[GW_RT_TOKEN_MAX]; /* light stem: "chair", "launch" */
    size_t start, end;          /* byte span in the question */
    unsigned flags;             /* GW_TOK_* */
    double num;                 /* with GW_TOK_NUM */
    int link;                   /* index of the first link covering it, or -1 */
} gw_token_t;

/* One link. Links that cover the same tokens with the same score are tied
 * alternatives and share a group number. */
typedef struct gw_link {
    gw_link_kind_t kind;
    int id;              /* category_id, warehouse_id or gw_col_t; 0 otherwise */
    const char *value;   /* borrowed from the retriever; never NULL */
    double score;        /* sum over matched words of idf x match quality */
    gw_match_t match;
    size_t start, end;   /* byte span in the question */
    size_t tok_first, tok_end; /* token span [first, end) */
    int group;           /* tie group: equal for alternatives of one span */
} gw_link_t;

/* The result of linking one question. */
typedef struct gw_rquery {
    gw_token_t *toks;
    size_t n_toks;
    gw_link_t *links; /* ordered by tok_first, then by group */
    size_t n_links;
} gw_rquery_t;

typedef struct gw_retriever gw_retriever_t;

/* Builds the index from the taxonomy (borrowed: it must outlive the
 * retriever) and, when schema is not NULL, the low-cardinality values of
 * skus.brand, skus.color and skus.material it describes (else the
 * taxonomy's brands, colors and materials). Returns a new retriever (free
 * it with gw_retriever_free) or NULL with a reason in err. */
gw_retriever_t *gw_retriever_new(const gw_taxonomy_t *tax, const gw_schema_t *schema, char *err,
                                 size_t errlen);
void gw_retriever_free(gw_retriever_t *r);
/* The taxonomy the retriever was built from (borrowed). */
const gw_taxonomy_t *gw_retriever_taxonomy(const gw_retriever_t *r);

/* Tokenises and links question[0..len) into *out (its arrays are new; free
 * them with gw_rquery_free). Thread-safe. GW_ETOOBIG for a question longer
 * than GW_RT_MAX_QUESTION, GW_EINVAL for invalid UTF-8 or a NUL byte,
 * GW_ENOMEM. */
gw_err_t gw_retriever_link(const gw_retriever_t *r, const char *question, size_t len, gw_rquery_t *out);
void gw_rquery_free(gw_rquery_t *q);

/* The brand (as stored) whose whole name is the one normalised word
 * `word` ("dyson" -> "Dyson"), or NULL. Borrowed from the retriever. */
const char *gw_retriever_brand_word(const gw_retriever_t *r, const char *word);

/* Static names: "category", "brand" ...; "on_hand", "price" ... */
const char *gw_link_kind_name(gw_link_kind_t k);
const char *gw_col_name(gw_col_t c);

/* ---- text helpers, shared with the planner ---- */

/* Tokenises s[0..len) (UTF-8; accents folded, punctuation out, "&" becomes
 * "and", "$12.50" a money number, "1,284" the number 1284) into at most
 * max tokens; returns how many (links are -1). */
size_t gw_rt_tokenize(const char *s, size_t len, gw_token_t *toks, size_t max);
/* Writes the light stem of word into out (outlen >= GW_RT_TOKEN_MAX). */
void gw_rt_stem(const char *word, char *out, size_t outlen);
/* 1 when a and b are at most one edit apart (insert, delete, substitute,
 * swap two neighbours). */
int gw_rt_edit1(const char *a, const char *b);
/* 1 for common English and question words that are never typo-corrected. */
int gw_rt_common_word(const char *w);

#endif

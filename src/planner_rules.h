/* planner_rules.h - the embedded rules planner of the ask pipeline: a
 * semantic parser from a linked question (retriever.h) to a small query
 * plan (what is measured, how it is aggregated, filters, grouping, order,
 * limit), and the SQL renderer of a plan for DuckDB, the ClickHouse 18.16
 * subset (one JOIN per SELECT, IN subqueries, no CTE/EXISTS) and BigQuery
 * Standard SQL (`project.dataset.table` names).
 *
 * A plan is a plain struct without allocations; its strings are borrowed
 * from the retriever and taxonomy it was made with. Questions that are not
 * about the catalog, that ask to change or leak anything, or that cannot be
 * resolved give a plan with a refusal status instead of a guess.
 * Everything here is pure and thread-safe.
 */
#ifndef GW_PLANNER_RULES_H
#define GW_PLANNER_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "retriever.h"

#define GW_PLAN_MAX_VALUES 16
#define GW_PLAN_MSG_MAX 320

typedef enum gw_plan_status {
    GW_PLAN_OK = 0,
    GW_PLAN_OUT_OF_SCOPE, /* not about the catalog (weather, sales, the CEO) */
    GW_PLAN_UNSAFE,       /* change data, read files, system tables, injections */
    GW_PLAN_AMBIGUOUS     /* a word that names several unrelated things */
} gw_plan_status_t;

typedef enum gw_measure {
    GW_M_UNITS = 0,   /* inventory.on_hand */
    GW_M_RESERVED,    /* inventory.reserved */
    GW_M_AVAILABLE,   /* on_hand - reserved */
    GW_M_VALUE,       /* on_hand * price_usd */
    GW_M_STOCK_ROWS,  /* inventory rows */
    GW_M_SKUS,        /* SKUs */
    GW_M_PRICE,       /* skus.price_usd */
    GW_M_BRANDS,      /* distinct brands */
    GW_M_CATEGORIES,  /* distinct (leaf) categories */
    GW_M_WAREHOUSES,  /* distinct warehouses */
    GW_M_LIST,        /* SKU rows (listing or top-N) */
    GW_M_SKU_DETAIL,  /* the skus row of given SKU ids */
    GW_M_SKU_STOCK,   /* the inventory rows of given SKU ids, per warehouse */
    GW_M_WAREHOUSE_LIST, /* the warehouses rows */
    GW_M_REORDER,        /* inventory.reorder_point */
    GW_M_SHARE           /* the percentage of SKUs that are (in)active (share_active) */
} gw_measure_t;

typedef enum gw_agg {
    GW_AGG_TOTAL = 0, /* SUM for quantities, COUNT for things */
    GW_AGG_AVG,
    GW_AGG_MIN,
    GW_AGG_MAX,
    GW_AGG_MINMAX, /* min and max together */
    GW_AGG_MEDIAN
} gw_agg_t;

typedef enum gw_dim {
    GW_DIM_NONE = 0,
    GW_DIM_REGION,
    GW_DIM_WAREHOUSE, /* code and city */
    GW_DIM_CITY,
    GW_DIM_STATE,
    GW_DIM_BRAND,
    GW_DIM_CATEGORY,  /* the leaf category name */
    GW_DIM_DEPARTMENT,
    GW_DIM_COLOR,
    GW_DIM_MATERIAL,
    GW_DIM_ACTIVE,
    GW_DIM_LAUNCH_YEAR
} gw_dim_t;

/* The attributes a SKU lookup asks for ("what category is SKU 1 in"). */
typedef enum gw_sku_attr {
    GW_ATTR_ALL = 0, /* the whole skus row */
    GW_ATTR_CATEGORY,
    GW_ATTR_BRAND,
    GW_ATTR_PRICE,
    GW_ATTR_COLOR,
    GW_ATTR_MATERIAL,
    GW_ATTR_LAUNCHED,
    GW_ATTR_ACTIVE,
    GW_ATTR_TITLE
} gw_sku_attr_t;

typedef enum gw_cmp { GW_CMP_NONE = 0, GW_CMP_LT, GW_CMP_LE, GW_CMP_GT, GW_CMP_GE, GW_CMP_EQ } gw_cmp_t;

/* A set of string values of one column, maybe negated. */
typedef struct gw_plan_set {
    const char *v[GW_PLAN_MAX_VALUES];
    size_t n;
    int negate;
} gw_plan_set_t;

/* A numeric condition: column op value (op GW_CMP_NONE: none); hi_op/hi
 * give a second bound for ranges. */
typedef struct gw_plan_num {
    gw_cmp_t op;
    double value;
    gw_cmp_t hi_op;
    double hi;
} gw_plan_num_t;

/* A day range [from, to) in days since 1970-01-01; INT32_MIN / INT32_MAX
 * for an open side; has 0 for none. negate: outside the range. */
typedef struct gw_plan_days {
    int has;
    int32_t from, to;
    int negate;
    char desc[48]; /* the question's words for it: "in 2025", "in the last 30 days" */
} gw_plan_days_t;

typedef struct gw_plan_filters {
    const gw_tax_node_t *cats[GW_PLAN_MAX_VALUES]; /* each with its subtree */
    size_t n_cats;
    int cats_negate;
    gw_plan_set_t brands, regions, states, cities, warehouses, colors, materials;
    int active;                 /* -1 any, 0 inactive only, 1 active only */
    gw_plan_num_t price;        /* skus.price_usd */
    gw_plan_days_t launched;    /* skus.launched_on */
    gw_plan_days_t updated;     /* inventory.updated_at */
    int64_t sku_ids[GW_PLAN_MAX_VALUES];
    size_t n_sku_ids;
    char title[64];             /* lower-case substring of the title, "" none */
    gw_cmp_t reorder;           /* on_hand vs reorder_point: LT or LE, NONE */
    gw_plan_num_t on_hand;      /* per inventory row */
    gw_plan_num_t reserved;     /* per inventory row */
} gw_plan_filters_t;

/* What a per-SKU inventory condition tests ("SKUs with fewer than 10 units",
 * "stocked in more than 2 warehouses", "out of stock"). */
typedef enum gw_skucond_kind { GW_SKUCOND_NONE = 0, GW_SKUCOND_UNITS, GW_SKUCOND_WAREHOUSES } gw_skucond_kind_t;

typedef enum gw_sort {
    GW_SORT_NONE = 0, /* by the group keys, or by sku_id */
    GW_SORT_MEASURE,  /* by the measure (units, SKUs, price...) */
    GW_SORT_PRICE,    /* SKU lists: by price */
    GW_SORT_LAUNCHED, /* SKU lists: by launch date */
    GW_SORT_UNITS,    /* SKU lists: by units on hand */
    GW_SORT_VALUE     /* SKU lists: by inventory value (units x price) */
} gw_sort_t;

typedef struct gw_plan {
    gw_plan_status_t status;
    const gw_taxonomy_t *tax;      /* the taxonomy the category nodes belong to */
    char message[GW_PLAN_MSG_MAX]; /* the refusal sentence, or the reading of an OK plan */

    gw_measure_t measure;
    gw_agg_t agg;
    gw_dim_t group[2];
    size_t n_group;
    gw_plan_filters_t f;

    gw_skucond_kind_t skucond;   /* per-SKU condition over its inventory rows */
    gw_plan_num_t skucond_num;
    gw_plan_num_t having;        /* on the measure of each group */
    int count_groups;            /* count the groups that pass instead of listing them */

    gw_sort_t sort;
    int desc;                    /* sort descending */
    size_t limit;                /* 0: no limit of its own */
    int difference;              /* two values of group[0] side by side, and their difference */
    int in_stock;                /* only inventory rows with on_hand > 0 count */
    unsigned attrs;              /* GW_M_SKU_DETAIL: bit 1u << gw_sku_attr_t of each attribute
                                    asked; 0: the whole skus row */
    int share_active;            /* GW_M_SHARE: 1 the share of active SKUs, 0 of inactive ones */

    /* for the formatter */
    int singular;                /* "which brand", "the cheapest laptop": one row wanted */
    const char *subject;         /* words for the things counted: "Ergonomic Office Chairs", NULL */
} gw_plan_t;

typedef struct gw_planner_ctx {
    const gw_retriever_t *rt;
    const gw_taxonomy_t *tax;
    int32_t today; /* the reference "today" for relative dates, days since 1970-01-01 */
} gw_planner_ctx_t;

/* Parses question (linked into q by gw_retriever_link) into *out. Always
 * fills *out; returns GW_OK (look at out->status) or GW_EINVAL for NULL
 * arguments. Pure, thread-safe. */
gw_err_t gw_plan_rules(const gw_planner_ctx_t *ctx, const char *question, const gw_rquery_t *q, gw_plan_t *out);

typedef enum gw_dialect { GW_DIALECT_DUCKDB = 0, GW_DIALECT_CLICKHOUSE, GW_DIALECT_BIGQUERY } gw_dialect_t;

typedef struct gw_sql_target {
    gw_dialect_t dialect;
    const char *project; /* BigQuery only: names are `project.dataset.table` */
    const char *dataset; /* BigQuery (NULL: "retail") */
} gw_sql_target_t;

/* Appends the SQL of an OK plan to out (which it does not reset): one
 * SELECT, deterministic (ORDER BY with tie-breakers), string literals
 * escaped for the dialect. GW_EINVAL for a refused plan or a BigQuery
 * target without a project; GW_ETOOBIG when out is full. Borrows all. */
gw_err_t gw_plan_sql(const gw_plan_t *p, const gw_sql_target_t *t, gw_buf_t *out);

/* Parses "YYYY-MM-DD" (anything may follow, e.g. " 23:59:35") into days
 * since 1970-01-01. Returns 0, or -1 when s is not such a date. */
int gw_plan_parse_day(const char *s, size_t len, int32_t *days);

/* Static names for logs and tests: "out_of_scope", "units", "region"... */
const char *gw_plan_status_name(gw_plan_status_t s);
const char *gw_measure_name(gw_measure_t m);
const char *gw_dim_name(gw_dim_t d);

#endif

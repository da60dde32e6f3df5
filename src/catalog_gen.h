/* catalog_gen.h - the synthetic retail catalog (system.md 3): its model and
 * its rows, and the writer that puts them into DuckDB, Parquet or CSV.
 *
 * Every row is a pure function of (seed, row index), computed by the
 * counter-based helpers of catalog_rng.h; see docs in the .c file for the
 * distributions. Row index i (0-based) of skus has sku_id = 100000000 + i,
 * and the inventory rows of SKU i are made from (seed, i) alone, so any
 * slice of the catalog can be generated on its own.
 */
#ifndef GW_CATALOG_GEN_H
#define GW_CATALOG_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "taxonomy.h"

#define GW_CATALOG_SKU_ID_BASE 100000000LL
/* launched_on is in [2015-01-01, 2026-10-31]; updated_at is in the 90 days
 * before 2026-11-01 00:00:00 (all as days / microseconds since 1970-01-01). */
#define GW_CATALOG_LAUNCH_FIRST_DAY 16436
#define GW_CATALOG_LAUNCH_LAST_DAY 20757
#define GW_CATALOG_EPOCH_DAY 20758
#define GW_CATALOG_MAX_STOCK 4
#define GW_CATALOG_TITLE_MAX 192

/* The precomputed model: leaf and brand weights, title parts. Immutable
 * once built, so threads share it. It borrows the taxonomy it was built
 * from, which must outlive it. */
typedef struct gw_catgen gw_catgen_t;

/* One skus row. The strings point into the model (brand, color, material)
 * or into title[] and stay valid while the model lives. */
typedef struct gw_cat_sku {
    int64_t sku_id;
    int32_t category_id;
    int64_t price_cents; /* DECIMAL(10,2) unscaled */
    int32_t launched_on; /* days since 1970-01-01 */
    bool is_active;
    const char *brand;
    const char *color;
    const char *material;
    size_t title_len;
    char title[GW_CATALOG_TITLE_MAX];
} gw_cat_sku_t;

/* One inventory row (its sku_id is the SKU's). */
typedef struct gw_cat_stock {
    int32_t warehouse_id;
    int32_t on_hand;
    int32_t reserved;
    int32_t reorder_point;
    int64_t updated_at; /* microseconds since 1970-01-01 00:00:00 */
} gw_cat_stock_t;

/* Builds the model for a taxonomy and a seed. Returns GW_EINVAL with a
 * reason in err when the taxonomy can't feed a catalog (no leaves, no
 * warehouses, a department without brands). *out is freed with
 * gw_catgen_free. */
gw_err_t gw_catgen_new(const gw_taxonomy_t *tax, uint64_t seed, gw_catgen_t **out, char *err,
                       size_t errlen);
void gw_catgen_free(gw_catgen_t *g);
/* The taxonomy the model borrows. */
const gw_taxonomy_t *gw_catgen_taxonomy(const gw_catgen_t *g);

/* Fills *out with skus row `index` (0-based). Pure and thread-safe. */
void gw_catgen_sku(const gw_catgen_t *g, uint64_t index, gw_cat_sku_t *out);
/* Fills out[] with the inventory rows of SKU `index`, ordered by
 * warehouse_id, and returns their number (1..GW_CATALOG_MAX_STOCK). */
size_t gw_catgen_stock(const gw_catgen_t *g, uint64_t index, gw_cat_stock_t out[GW_CATALOG_MAX_STOCK]);

/* ---- writing a catalog ---- */

typedef enum { GW_CATALOG_DUCKDB, GW_CATALOG_PARQUET, GW_CATALOG_CSV } gw_catalog_format_t;

/* Progress: SKUs done out of total for this run (the shard's count).
 * Called from the writing thread, at most a few times a second. */
typedef void (*gw_catalog_progress_cb)(uint64_t done, uint64_t total, void *data);

typedef struct gw_catalog_opts {
    uint64_t skus;        /* SKUs of the whole catalog (all shards) */
    uint64_t seed;
    const char *out;      /* duckdb: the file; parquet/csv: a directory that
                             gets categories, skus, warehouses, inventory
                             .parquet or .csv */
    gw_catalog_format_t format;
    unsigned threads;     /* generator threads (1..64) */
    uint32_t shard_index; /* 0-based; this run makes the contiguous index */
    uint32_t shard_count; /* range [skus*i/n, skus*(i+1)/n); 1 = whole */
    const char *data_dir; /* taxonomy files; NULL: gw_taxonomy_default_dir() */
    gw_catalog_progress_cb progress;
    void *progress_data;
} gw_catalog_opts_t;

typedef struct gw_catalog_stats {
    uint64_t skus;       /* rows written to each table */
    uint64_t inventory;
    uint64_t categories;
    uint64_t warehouses;
    double seconds;      /* wall time of the whole run */
} gw_catalog_stats_t;

/* Generates the catalog into opts->out. The data is written under a
 * temporary name next to the target and renamed into place at the end, so
 * a reader never sees a half-written file; an existing target is
 * replaced. Returns GW_OK and fills *stats (may be NULL), or an error with
 * a one-line reason in err. */
gw_err_t gw_catalog_generate(const gw_catalog_opts_t *opts, gw_catalog_stats_t *stats, char *err,
                             size_t errlen);

/* The index range [*first, *end) of shard i of n for a catalog of total
 * SKUs. */
void gw_catalog_shard_range(uint64_t total, uint32_t i, uint32_t n, uint64_t *first, uint64_t *end);

#endif

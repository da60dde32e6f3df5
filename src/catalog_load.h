/* catalog_load.h - `llmgw catalog load --engine clickhouse`: copies a
 * generated DuckDB catalog into ClickHouse 18.16 (platform-clickhouse.md 2, 5).
 *
 * One node: database + four MergeTree tables. A cluster (no ZooKeeper, so no
 * ON CLUSTER): the same DDL on every node, categories and warehouses copied in
 * full to each, skus and inventory stored as *_local MergeTree tables behind
 * Distributed tables sharded by intHash64(sku_id). Rows stream from DuckDB
 * (opened read-only) as TabSeparated in chunked HTTP POSTs, one INSERT per
 * batch, through the Distributed table with insert_distributed_sync=1; the
 * row counts are checked against DuckDB at the end.
 */
#ifndef GW_CATALOG_LOAD_H
#define GW_CATALOG_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Progress of one table: rows sent so far out of total. */
typedef void (*gw_chload_progress_cb)(const char *table, uint64_t done, uint64_t total, void *data);

typedef struct gw_chload_opts {
    const char *from;             /* the DuckDB catalog file */
    const char *const *urls;      /* every node's HTTP URL; urls[0] takes the inserts */
    size_t n_urls;                /* 1 without a cluster; the shard count with one */
    const char *database;         /* NULL: "retail" */
    const char *cluster;          /* NULL: one node */
    const char *user;             /* a user allowed to write; NULL: the server's default */
    const char *password;         /* with user; NULL: "" */
    uint64_t batch_rows;          /* rows per INSERT; 0: 2000000 */
    gw_chload_progress_cb progress; /* may be NULL */
    void *progress_data;
} gw_chload_opts_t;

typedef struct gw_chload_stats {
    uint64_t categories, skus, warehouses, inventory; /* rows loaded (checked) */
    double seconds;
} gw_chload_stats_t;

/* Creates (dropping any previous copy) and loads the catalog tables. Returns
 * GW_OK and fills *stats (may be NULL); GW_ENOTFOUND when the DuckDB file is
 * missing; GW_EIO when a node can't be reached; GW_EINVAL for bad options or
 * a cluster whose shard count differs from n_urls; GW_EUPSTREAM for a
 * ClickHouse error or a row count that does not match after the load. err
 * gets one line. Borrows everything. */
gw_err_t gw_clickhouse_load(const gw_chload_opts_t *o, gw_chload_stats_t *stats, char *err, size_t errlen);

/* llmgw catalog load --engine clickhouse [--from FILE] [--url URL]...
 *   [--database NAME] [--cluster NAME] [--user U] [--batch-rows N]
 *   [--config FILE]
 * argv[0] is the subcommand name ("load"); the options follow. --url may be
 * repeated: with --cluster, give every node's URL (the first takes the
 * inserts). Defaults come from the config (ask.duckdb.path, ask.clickhouse
 * url/database/cluster), else data/catalog.duckdb, http://127.0.0.1:8123,
 * retail. The password, if any, is read from $LLMGW_CLICKHOUSE_PASSWORD.
 * Prints a one-line summary on stdout; returns 0 ok, 1 runtime error, 2
 * usage error. */
int gw_catalog_load_cmd(int argc, char **argv);

#endif

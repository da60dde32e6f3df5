/* catalog_cli.h - the `llmgw catalog ...` and `llmgw sql ...` subcommands.
 *
 * Both take the subcommand's own argv: argv[0] is the subcommand name
 * ("catalog" or "sql"), the options follow. They print to stdout/stderr and
 * return the process exit code: 0 ok, 1 runtime error, 2 usage error.
 */
#ifndef GW_CATALOG_CLI_H
#define GW_CATALOG_CLI_H

/* llmgw catalog load ... goes to gw_catalog_load_cmd (catalog_load.h).
 * llmgw catalog generate [--skus N] [--seed S] [--out PATH]
 *   [--format duckdb|parquet|csv] [--threads T] [--shard i/n]
 *   [--data-dir DIR] [--config FILE]
 * N accepts k/M/G suffixes (1M = 1000000). Progress goes to stderr when it
 * is a terminal; a one-line summary always does. */
int gw_catalog_cmd(int argc, char **argv);

/* llmgw sql [--json] [--config FILE] [--db PATH] [--max-rows N]
 *   [--timeout-ms MS] "SELECT ..."
 * Runs one guarded SELECT on the catalog and prints {columns, rows,
 * row_count, truncated} on stdout; a refused or failed query prints
 * {"error":{"message","type","param","code"}} on stdout and exits 1. */
int gw_sql_cmd(int argc, char **argv);

#include <stdint.h>

/* The generator's progress bar on stderr (for a terminal). */
typedef struct gw_catalog_bar {
    double t0; /* gw_catalog_mono_s() at the start */
    int last_pct;
} gw_catalog_bar_t;
/* A gw_catalog_progress_cb drawing "[####....]  45%  1.23M SKUs/s". */
void gw_catalog_bar_draw(uint64_t done, uint64_t total, void *data);
/* Monotonic seconds. */
double gw_catalog_mono_s(void);

#endif

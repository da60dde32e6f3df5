/* search_cli.h - the `llmgw search` subcommand: builds the search index
 * from the configured catalog (search.h) and answers one query, or a file
 * of them, on stdout.
 */
#ifndef GW_SEARCH_CLI_H
#define GW_SEARCH_CLI_H

/* llmgw search [--k N] [--json] [--explain] [--config FILE] [--db PATH]
 *   [--data-dir DIR] [--no-synonyms] [--queries FILE] [--repeat N]
 *   [--stats] "TEXT"
 * argv[0] is "search". Prints the system.md 2 search object (--json, one
 * line per query) or a readable list; --stats adds index size, build time,
 * memory and query latency percentiles on stderr (bench/bench_search.sh
 * reads them). Returns the exit code: 0 ok, 1 runtime error, 2 usage. */
int gw_search_cmd(int argc, char **argv);

#endif

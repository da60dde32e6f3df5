/* ask_cli.h - the `llmgw ask` subcommand: one question answered from the
 * configured catalog (or a DuckDB file), printed as the answer sentence on
 * a terminal or as the system.md 2 answer object with --json.
 */
#ifndef GW_ASK_CLI_H
#define GW_ASK_CLI_H

/* llmgw ask [--json] [--engine duckdb|clickhouse|bigquery] [--config FILE]
 *   [--db PATH] [--max-rows N] [--timeout-ms MS] "QUESTION"
 * argv[0] is "ask". --config FILE, else ./llmgw.yaml when present, else the
 * embedded default; --db opens that DuckDB file instead of the configured
 * engine. Returns the exit code: 0 answered (refused questions included),
 * 1 runtime error (config, engine, catalog missing; with --json an
 * {"error":{...}} object on stdout), 2 usage error. */
int gw_ask_cmd(int argc, char **argv);

#endif

/* main.c - llmgw command line: finds the config and dispatches to the
 * subcommands. Exit codes: 0 ok, 1 runtime error, 2 usage error. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ask_cli.h"
#include "auth.h"
#include "catalog_cli.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "search_cli.h"
#include "server.h"

static const char usage[] =
    "usage: llmgw <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]                 run the gateway, ask and search server\n"
    "  keys create --tenant T [--admin]      print a new API key once and store its hash\n"
    "  ask \"QUESTION\" [--json] [--engine E] answer a question from the catalog\n"
    "  search \"TEXT\" [--k N] [--json]        TF-IDF search over the catalog\n"
    "  sql [--json] \"SELECT ...\"            run one guarded, read-only query on the catalog\n"
    "  catalog generate --skus N [--seed S] [--out PATH] [--format duckdb|parquet|csv]\n"
    "  catalog load --engine clickhouse ...   load a generated catalog into ClickHouse\n"
    "  --version                             print the version\n"
    "  --help                                this text\n"
    "\n"
    "Every command takes --config FILE (default: ./llmgw.yaml if present, else the\n"
    "embedded default: 127.0.0.1:8080, auth off, no providers).\n";

/* Finds --config FILE in argv; else llmgw.yaml if it exists; else NULL. */
static const char *find_config(int argc, char **argv, int *bad)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                *bad = 1;
                return NULL;
            }
            return argv[i + 1];
        }
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return access("llmgw.yaml", R_OK) == 0 ? "llmgw.yaml" : NULL;
}

static int cmd_serve(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--config=", 9) != 0) {
            fprintf(stderr, "llmgw serve: unknown option '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    int bad = 0;
    const char *path = find_config(argc, argv, &bad);
    if (bad) {
        fprintf(stderr, "llmgw serve: --config needs a file\n");
        return 2;
    }
    char err[512] = "";
    gw_config_t *cfg = path != NULL ? gw_config_load(path, err, sizeof(err)) : gw_config_default();
    if (cfg == NULL) {
        gw_log_msg("cannot start: %s", err[0] ? err : "out of memory");
        return 1;
    }
    if (gw_auth_init() != GW_OK) {
        gw_log_msg("cannot start: libsodium failed to initialise");
        gw_config_unref(cfg);
        return 1;
    }
    return gw_serve(cfg, path);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("llmgw %s\n", GW_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc, argv);
    if (strcmp(argv[1], "keys") == 0)
        return gw_keys_create_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "catalog") == 0)
        return gw_catalog_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "sql") == 0)
        return gw_sql_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "ask") == 0)
        return gw_ask_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "search") == 0)
        return gw_search_cmd(argc - 1, argv + 1);
    fprintf(stderr, "llmgw: unknown command '%s'\n%s", argv[1], usage);
    return 2;
}

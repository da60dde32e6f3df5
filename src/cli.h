/* cli.h - small helpers the subcommands share: option parsing and finding
 * the configuration. */
#ifndef GW_CLI_H
#define GW_CLI_H

#include <stddef.h>

#include "config.h"

/* "--name VALUE" or "--name=VALUE": returns 1 and sets *val when argv[*i]
 * is the option (advancing *i past a separate value), -1 when the value is
 * missing, 0 when it is another argument. */
int gw_cli_opt_value(int argc, char **argv, int *i, const char *name, const char **val);

/* --config FILE (path), else ./llmgw.yaml when present, else the embedded
 * default. NULL with a reason in err on failure; free with gw_config_unref. */
gw_config_t *gw_cli_load_config(const char *path, char *err, size_t errlen);

#endif

/* cli.c - option parsing and config discovery shared by the subcommands. */
#include "cli.h"

#include <string.h>
#include <unistd.h>

int gw_cli_opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

gw_config_t *gw_cli_load_config(const char *path, char *err, size_t errlen)
{
    if (path == NULL && access("llmgw.yaml", R_OK) == 0)
        path = "llmgw.yaml";
    return path != NULL ? gw_config_load(path, err, errlen) : gw_config_default();
}

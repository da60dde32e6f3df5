/* keys.h - `llmgw keys create`: makes an API key for a tenant, prints it
 * once and stores only its hash in the configuration file. The file is
 * edited as text at places found with libfyaml marks, so comments and
 * layout elsewhere survive; it is replaced atomically and only when the
 * result loads with gw_config_load.
 */
#ifndef GW_KEYS_H
#define GW_KEYS_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* `llmgw keys create --tenant T [--admin] [--config FILE]`. argv may start
 * with "keys" (main passes argv + 1) and then "create"; options follow
 * (also as --tenant=T, --config=FILE). FILE defaults to llmgw.yaml and is
 * created (mode 0600) when absent. Prints the key on stdout and a one-line note on
 * stderr. Returns the exit code: 0 ok, 1 runtime error, 2 usage error. */
int gw_keys_create_cmd(int argc, char **argv);

/* Appends to out the text yaml[0..len) with hash added to tenant's keys
 * list, or with a new tenant {id: tenant, keys: [hash]} (plus admin: true
 * when admin) when the file has none with that id. Only the inserted bytes
 * differ from the input. The result is not validated here. GW_EINVAL with
 * a reason in err when the text cannot be edited (no mapping at the top,
 * tenants not a list, ...), GW_ETOOBIG/GW_ENOMEM from out. */
gw_err_t gw_keys_add_hash(const char *yaml, size_t len, const char *tenant, int admin, const char *hash,
                          gw_buf_t *out, char *err, size_t errlen);

/* Stores hash for tenant in the configuration file at path (created when
 * absent): loads it with gw_config_load (GW_ECONFIG if it does not load),
 * edits it with gw_keys_add_hash, checks the result loads and lists the
 * hash, writes it to a temporary file in the same directory with the same
 * mode and renames it over path. On any error the file is untouched and
 * err says why. GW_EDENIED when admin is asked for an existing tenant that
 * is not an admin. */
gw_err_t gw_keys_store(const char *path, const char *tenant, int admin, const char *hash, char *err,
                       size_t errlen);

#endif

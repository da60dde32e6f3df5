/* auth.h - API keys: creation, hashing, the key -> tenant table, Bearer parsing.
 *
 * A key is "llmgw-" + 43 base64url chars (32 random bytes). Only its hash
 * is ever stored: "blake2b:" + 64 lowercase hex chars of BLAKE2b-256
 * (libsodium crypto_generichash, no key) over the whole key string. The
 * table is built once per config and is read-only afterwards, so lookups
 * from many threads need no lock.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stddef.h>

#include "err.h"

#define GW_AUTH_KEY_PREFIX "llmgw-"
#define GW_AUTH_KEY_LEN 49        /* "llmgw-" + 43 */
#define GW_AUTH_HASH_PREFIX "blake2b:"
#define GW_AUTH_HASH_LEN 72       /* "blake2b:" + 64 */
#define GW_AUTH_DIGEST_BYTES 32

/* Initialises libsodium; call once at start (the server, the CLI, tests)
 * before any other gw_auth_ function. GW_OK, or GW_EIO if it fails. */
gw_err_t gw_auth_init(void);

/* Writes a new random key (NUL-terminated, GW_AUTH_KEY_LEN chars) to key_out
 * and its stored form (GW_AUTH_HASH_LEN chars) to hash_out. GW_ETOOBIG if
 * key_cap <= GW_AUTH_KEY_LEN or hash_cap <= GW_AUTH_HASH_LEN. */
gw_err_t gw_auth_key_new(char *key_out, size_t key_cap, char *hash_out, size_t hash_cap);

/* Writes the stored form "blake2b:<hex>" of key[0..len) (NUL-terminated) to
 * hash_out. GW_ETOOBIG if cap <= GW_AUTH_HASH_LEN. */
gw_err_t gw_auth_hash(const char *key, size_t len, char *hash_out, size_t cap);

typedef struct gw_auth_table gw_auth_table_t;

/* Returns a new empty table (free with gw_auth_table_free), NULL on OOM. */
gw_auth_table_t *gw_auth_table_new(void);

/* Adds a stored hash (NUL-terminated "blake2b:" + 64 hex chars, either
 * case) for tenant_index. GW_EINVAL if it is malformed, GW_ECONFIG if the
 * same hash is already mapped to another tenant (the same tenant again is
 * GW_OK), GW_ENOMEM. Not thread-safe: build the table before sharing it. */
gw_err_t gw_auth_table_add(gw_auth_table_t *t, const char *stored_hash, size_t tenant_index);

/* Returns 1 and sets *tenant_index if the presented key[0..len) hashes to a
 * stored digest (compared in constant time with sodium_memcmp), else 0.
 * Read-only: safe from many threads at once. */
int gw_auth_lookup(const gw_auth_table_t *t, const char *bearer_key, size_t len, size_t *tenant_index);

/* Returns the number of keys in t. */
size_t gw_auth_table_count(const gw_auth_table_t *t);

/* Frees t (NULL is fine); the digests are wiped first. */
void gw_auth_table_free(gw_auth_table_t *t);

/* Parses an Authorization header value "Bearer <token>": the scheme is
 * case-insensitive, spaces and tabs around are trimmed, at least one space
 * or tab separates scheme and token, and the token must be an RFC 6750
 * b64token (ALPHA DIGIT - . _ ~ + / then optional '='s). On GW_OK *key
 * points into header_value (borrowed) and *key_len is its length;
 * otherwise GW_EINVAL and *key / *key_len are untouched. */
gw_err_t gw_auth_parse_bearer(const char *header_value, size_t len, const char **key, size_t *key_len);

#endif

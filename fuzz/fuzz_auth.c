/* fuzz_auth.c - libFuzzer target for gw_auth_parse_bearer and gw_auth_table_add.
 *
 * The input is parsed as an Authorization value (a found key must lie
 * inside the input, be non-empty and hold no space, tab, CR, LF or NUL),
 * then as a stored hash (accepted only in the exact "blake2b:" + 64 hex
 * form). It is also hashed, added and looked up, which must round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "auth.h"

static void check_bearer(const char *s, size_t n)
{
    const char *key = NULL;
    size_t key_len = 0;
    if (gw_auth_parse_bearer(s, n, &key, &key_len) != GW_OK)
        return;
    if (key < s || key_len == 0 || key + key_len > s + n || key - s < 7)
        abort();
    for (size_t i = 0; i < key_len; i++)
        if (key[i] == ' ' || key[i] == '\t' || key[i] == '\r' || key[i] == '\n' || key[i] == '\0')
            abort();
}

static void check_add(gw_auth_table_t *t, const char *s, size_t n)
{
    char *z = gw_strndup(s, n); /* the API takes a C string */
    if (z == NULL)
        return;
    gw_err_t rc = gw_auth_table_add(t, z, 7);
    int well_formed = strlen(z) == GW_AUTH_HASH_LEN && memcmp(z, "blake2b:", 8) == 0 &&
                      strspn(z + 8, "0123456789abcdefABCDEF") == 64;
    if ((rc == GW_OK) != well_formed || (rc != GW_OK && rc != GW_EINVAL))
        abort();
    gw_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (gw_auth_init() != GW_OK) /* idempotent and cheap after the first call */
        abort();
    const char *s = (const char *)data;
    char h[GW_AUTH_HASH_LEN + 1];
    size_t idx = 0;
    gw_auth_table_t *t = gw_auth_table_new();
    if (t == NULL)
        return 0;
    check_bearer(s, size);
    check_add(t, s, size);
    if (gw_auth_hash(s, size, h, sizeof h) != GW_OK || gw_auth_table_add(t, h, 42) != GW_OK ||
        gw_auth_lookup(t, s, size, &idx) != 1 || idx != 42)
        abort();
    gw_auth_table_free(t);
    return 0;
}

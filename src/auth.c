/* auth.c - API keys and the key -> tenant table (libsodium).
 *
 * The table is an open-addressing hash table indexed by the first 8 bytes
 * of each BLAKE2b-256 digest (uniformly random, so no further hashing).
 * A probe compares those 8 bytes first; this leaks nothing useful because
 * they are a hash of the presented key, and the full 32-byte digest is then
 * compared in constant time with sodium_memcmp.
 */
#include "auth.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

typedef struct auth_entry {
    uint8_t digest[GW_AUTH_DIGEST_BYTES];
    size_t tenant;
    int used;
} auth_entry_t;

struct gw_auth_table {
    auth_entry_t *slots;
    size_t cap; /* power of two, or 0 before the first add */
    size_t count;
};

gw_err_t gw_auth_init(void) { return sodium_init() < 0 ? GW_EIO : GW_OK; }

gw_err_t gw_auth_hash(const char *key, size_t len, char *hash_out, size_t cap)
{
    uint8_t d[GW_AUTH_DIGEST_BYTES];
    const size_t plen = sizeof GW_AUTH_HASH_PREFIX - 1;
    if (cap <= GW_AUTH_HASH_LEN)
        return GW_ETOOBIG;
    crypto_generichash(d, sizeof d, (const unsigned char *)key, len, NULL, 0);
    memcpy(hash_out, GW_AUTH_HASH_PREFIX, plen);
    sodium_bin2hex(hash_out + plen, cap - plen, d, sizeof d);
    return GW_OK;
}

gw_err_t gw_auth_key_new(char *key_out, size_t key_cap, char *hash_out, size_t hash_cap)
{
    uint8_t raw[32];
    const size_t plen = sizeof GW_AUTH_KEY_PREFIX - 1;
    if (key_cap <= GW_AUTH_KEY_LEN || hash_cap <= GW_AUTH_HASH_LEN)
        return GW_ETOOBIG;
    randombytes_buf(raw, sizeof raw);
    memcpy(key_out, GW_AUTH_KEY_PREFIX, plen);
    sodium_bin2base64(key_out + plen, key_cap - plen, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    return gw_auth_hash(key_out, GW_AUTH_KEY_LEN, hash_out, hash_cap);
}

gw_auth_table_t *gw_auth_table_new(void) { return gw_calloc(1, sizeof(gw_auth_table_t)); }

size_t gw_auth_table_count(const gw_auth_table_t *t) { return t->count; }

void gw_auth_table_free(gw_auth_table_t *t)
{
    if (t == NULL)
        return;
    if (t->slots != NULL)
        sodium_memzero(t->slots, t->cap * sizeof *t->slots);
    gw_free(t->slots);
    gw_free(t);
}

static size_t home_slot(const gw_auth_table_t *t, const uint8_t *digest)
{
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    return (size_t)h & (t->cap - 1);
}

/* Returns the entry holding digest, or NULL. */
static const auth_entry_t *find(const gw_auth_table_t *t, const uint8_t *digest)
{
    if (t->cap == 0)
        return NULL;
    for (size_t i = home_slot(t, digest);; i = (i + 1) & (t->cap - 1)) {
        const auth_entry_t *e = &t->slots[i];
        if (!e->used)
            return NULL;
        if (memcmp(e->digest, digest, 8) == 0 && sodium_memcmp(e->digest, digest, GW_AUTH_DIGEST_BYTES) == 0)
            return e;
    }
}

static void put(gw_auth_table_t *t, const uint8_t *digest, size_t tenant)
{
    size_t i = home_slot(t, digest);
    while (t->slots[i].used)
        i = (i + 1) & (t->cap - 1);
    memcpy(t->slots[i].digest, digest, GW_AUTH_DIGEST_BYTES);
    t->slots[i].tenant = tenant;
    t->slots[i].used = 1;
    t->count++;
}

/* Keeps the table at most half full. */
static gw_err_t grow(gw_auth_table_t *t)
{
    if ((t->count + 1) * 2 <= t->cap)
        return GW_OK;
    size_t old_cap = t->cap, cap = old_cap ? old_cap * 2 : 16;
    auth_entry_t *old = t->slots, *slots = gw_calloc(cap, sizeof *slots);
    if (slots == NULL)
        return GW_ENOMEM;
    t->slots = slots;
    t->cap = cap;
    t->count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            put(t, old[i].digest, old[i].tenant);
    if (old != NULL)
        sodium_memzero(old, old_cap * sizeof *old);
    gw_free(old);
    return GW_OK;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "blake2b:" + 64 hex chars, nothing else -> 32 bytes. */
static gw_err_t parse_stored(const char *s, uint8_t *digest)
{
    const size_t plen = sizeof GW_AUTH_HASH_PREFIX - 1;
    if (strlen(s) != GW_AUTH_HASH_LEN || memcmp(s, GW_AUTH_HASH_PREFIX, plen) != 0)
        return GW_EINVAL;
    for (size_t i = 0; i < GW_AUTH_DIGEST_BYTES; i++) {
        int hi = hex_nibble(s[plen + 2 * i]), lo = hex_nibble(s[plen + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return GW_EINVAL;
        digest[i] = (uint8_t)(hi << 4 | lo);
    }
    return GW_OK;
}

gw_err_t gw_auth_table_add(gw_auth_table_t *t, const char *stored_hash, size_t tenant_index)
{
    uint8_t d[GW_AUTH_DIGEST_BYTES];
    gw_err_t rc = parse_stored(stored_hash, d);
    if (rc != GW_OK)
        return rc;
    const auth_entry_t *e = find(t, d);
    if (e != NULL)
        return e->tenant == tenant_index ? GW_OK : GW_ECONFIG;
    if ((rc = grow(t)) != GW_OK)
        return rc;
    put(t, d, tenant_index);
    return GW_OK;
}

int gw_auth_lookup(const gw_auth_table_t *t, const char *bearer_key, size_t len, size_t *tenant_index)
{
    uint8_t d[GW_AUTH_DIGEST_BYTES];
    crypto_generichash(d, sizeof d, (const unsigned char *)bearer_key, len, NULL, 0);
    const auth_entry_t *e = find(t, d);
    if (e == NULL)
        return 0;
    if (tenant_index != NULL)
        *tenant_index = e->tenant;
    return 1;
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static int is_b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/';
}

/* RFC 6750: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int is_b64token(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_b64token_char(s[i]))
        i++;
    if (i == 0)
        return 0;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

gw_err_t gw_auth_parse_bearer(const char *header_value, size_t len, const char **key, size_t *key_len)
{
    static const char scheme[] = "bearer";
    const char *s = header_value, *e = header_value + len;
    while (s < e && is_ows(*s))
        s++;
    while (e > s && is_ows(e[-1]))
        e--;
    if ((size_t)(e - s) < sizeof scheme || !is_ows(s[sizeof scheme - 1]))
        return GW_EINVAL; /* too short for "bearer" + OWS + token */
    for (size_t i = 0; i < sizeof scheme - 1; i++)
        if ((s[i] | 0x20) != scheme[i])
            return GW_EINVAL;
    s += sizeof scheme - 1;
    while (s < e && is_ows(*s))
        s++;
    if (!is_b64token(s, (size_t)(e - s)))
        return GW_EINVAL;
    *key = s;
    *key_len = (size_t)(e - s);
    return GW_OK;
}

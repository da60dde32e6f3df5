/* test_auth.c - unit tests for API keys, hashing, the tenant table and
 * Bearer parsing (src/auth.c).
 *
 * The BLAKE2b-256 vectors were computed independently with coreutils
 * (`printf '%s' KEY | b2sum -l 256`) when this test was written.
 */
#include "alloc.h"
#include "auth.h"
#include "test.h"

/* "llmgw-" + base64url(bytes 0x00..0x1f), no padding */
#define FIXED_KEY "llmgw-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define FIXED_HASH "blake2b:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff752"
#define EMPTY_HASH "blake2b:0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void test_key_format(void)
{
    char key[64], hash[80], again[80], key2[64], hash2[80];
    T_OK(gw_auth_key_new(key, sizeof key, hash, sizeof hash) == GW_OK, "key_new");
    T_OK(strlen(key) == GW_AUTH_KEY_LEN && strncmp(key, "llmgw-", 6) == 0, "key '%s': llmgw- + 43", key);
    int ok = 1;
    for (size_t i = 6; i < strlen(key); i++)
        ok &= is_b64url(key[i]);
    T_OK(ok, "key body is base64url: %s", key);
    /* 256 bits = 42 x 6 + 4: the last of the 43 chars holds 4 bits and 2 zero bits */
    T_OK(strchr("AEIMQUYcgkosw048", key[48]) != NULL, "last char holds 4 bits + 2 zero bits: %c", key[48]);
    T_OK(strlen(hash) == GW_AUTH_HASH_LEN && strncmp(hash, "blake2b:", 8) == 0, "hash form '%s'", hash);
    T_OK(gw_auth_hash(key, strlen(key), again, sizeof again) == GW_OK && strcmp(hash, again) == 0,
         "key_new's hash is gw_auth_hash of the key");
    T_OK(gw_auth_key_new(key2, sizeof key2, hash2, sizeof hash2) == GW_OK && strcmp(key, key2) != 0 &&
             strcmp(hash, hash2) != 0,
         "two keys differ");
    T_OK(gw_auth_key_new(key2, GW_AUTH_KEY_LEN, hash2, sizeof hash2) == GW_ETOOBIG, "key_cap too small");
    T_OK(gw_auth_key_new(key2, sizeof key2, hash2, GW_AUTH_HASH_LEN) == GW_ETOOBIG, "hash_cap too small");
    T_OK(gw_auth_key_new(key2, GW_AUTH_KEY_LEN + 1, hash2, GW_AUTH_HASH_LEN + 1) == GW_OK, "exact caps");
}

static void test_hash_vectors(void)
{
    char h[GW_AUTH_HASH_LEN + 1];
    T_OK(gw_auth_hash(FIXED_KEY, strlen(FIXED_KEY), h, sizeof h) == GW_OK, "hash fixed key");
    T_STREQ(h, FIXED_HASH, "fixed key vector: %s", h);
    T_OK(gw_auth_hash("", 0, h, sizeof h) == GW_OK, "hash empty");
    T_STREQ(h, EMPTY_HASH, "empty string vector (BLAKE2b-256 of \"\"): %s", h);
    T_OK(gw_auth_hash(FIXED_KEY, strlen(FIXED_KEY), h, GW_AUTH_HASH_LEN) == GW_ETOOBIG, "cap too small");
}

static void test_table(void)
{
    gw_auth_table_t *t = gw_auth_table_new();
    size_t idx = 99;
    char key[64], hash[80];
    T_OK(t != NULL, "table_new");
    T_OK(gw_auth_lookup(t, FIXED_KEY, strlen(FIXED_KEY), &idx) == 0 && idx == 99, "empty table: miss");
    T_OK(gw_auth_table_add(t, FIXED_HASH, 3) == GW_OK, "add fixed");
    T_OK(gw_auth_lookup(t, FIXED_KEY, strlen(FIXED_KEY), &idx) == 1 && idx == 3, "hit: tenant %zu", idx);
    idx = 99;
    T_OK(gw_auth_lookup(t, FIXED_KEY, strlen(FIXED_KEY) - 1, &idx) == 0 && idx == 99, "one char short: miss");
    T_OK(gw_auth_lookup(t, FIXED_KEY "x", strlen(FIXED_KEY) + 1, &idx) == 0, "one char long: miss");
    T_OK(gw_auth_lookup(t, "llmgw-BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", GW_AUTH_KEY_LEN, &idx) == 0,
         "one char changed: miss");
    T_OK(gw_auth_lookup(t, "", 0, &idx) == 0, "empty key: miss");
    T_OK(gw_auth_lookup(t, FIXED_HASH, strlen(FIXED_HASH), &idx) == 0, "the stored hash itself is not a key");

    /* Upper-case hex is the same digest; same tenant again is fine, another is not. */
    T_OK(gw_auth_table_add(t, "blake2b:63299FF7FC3267CA626F9F620184915DF41567DA78EFF87819809BC99AFFF752", 3) ==
             GW_OK && gw_auth_table_count(t) == 1,
         "same hash, same tenant: no-op");
    T_OK(gw_auth_table_add(t, FIXED_HASH, 4) == GW_ECONFIG, "same hash, other tenant: ECONFIG");

    /* Many keys force several rehashes; every one must still be found. */
    enum { N = 1000 };
    static char keys[N][64];
    int bad = 0;
    for (size_t i = 0; i < N; i++) {
        gw_auth_key_new(keys[i], sizeof keys[i], hash, sizeof hash);
        bad += gw_auth_table_add(t, hash, 100 + i) != GW_OK;
    }
    for (size_t i = 0; i < N; i++)
        bad += gw_auth_lookup(t, keys[i], strlen(keys[i]), &idx) != 1 || idx != 100 + i;
    T_OK(bad == 0 && gw_auth_table_count(t) == N + 1, "1000 keys: %d wrong", bad);
    T_OK(gw_auth_lookup(t, FIXED_KEY, strlen(FIXED_KEY), &idx) == 1 && idx == 3, "first key still there");
    gw_auth_key_new(key, sizeof key, hash, sizeof hash);
    T_OK(gw_auth_lookup(t, key, strlen(key), NULL) == 0, "fresh key not added: miss");
    gw_auth_table_free(t);
    gw_auth_table_free(NULL);

    /* Same first 8 digest bytes (the index), different rest: must miss. */
    t = gw_auth_table_new();
    T_OK(gw_auth_table_add(t, "blake2b:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff753", 1) == GW_OK,
         "add near-miss digest");
    T_OK(gw_auth_lookup(t, FIXED_KEY, strlen(FIXED_KEY), &idx) == 0, "index match alone is not a hit");
    gw_auth_table_free(t);
}

static void test_malformed_stored(void)
{
    static const char *bad[] = {
        "",
        "blake2b:",
        "63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff752",
        "blake2b:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff75",   /* 63 hex */
        "blake2b:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff7520", /* 65 hex */
        "blake2b:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff75g",
        "BLAKE2B:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff752",
        "sha256:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff752",
        "blake2b: 63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff75",
        "blake2b:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff752 ",
        "blake2b:63299ff7fc3267ca626f9f620184915df41567da78eff87819809bc99afff7-2",
        "blake2b:…",
    };
    gw_auth_table_t *t = gw_auth_table_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        T_OK(gw_auth_table_add(t, bad[i], 1) == GW_EINVAL, "malformed '%s' -> EINVAL", bad[i]);
    T_OK(gw_auth_table_count(t) == 0, "nothing added");
    gw_alloc_fail_after(0);
    gw_err_t rc = gw_auth_table_add(t, FIXED_HASH, 1);
    gw_alloc_fail_after(-1);
    T_OK(rc == GW_ENOMEM && gw_auth_table_count(t) == 0, "OOM on grow: ENOMEM");
    T_OK(gw_auth_table_add(t, FIXED_HASH, 1) == GW_OK && gw_auth_lookup(t, FIXED_KEY, strlen(FIXED_KEY), NULL) == 1,
         "works after OOM");
    gw_auth_table_free(t);
}

static void bearer_ok(const char *hdr, const char *want)
{
    const char *k = NULL;
    size_t n = 0;
    gw_err_t rc = gw_auth_parse_bearer(hdr, strlen(hdr), &k, &n);
    T_OK(rc == GW_OK && n == strlen(want) && memcmp(k, want, n) == 0, "bearer '%s' -> '%s', got rc %s '%.*s'", hdr,
         want, gw_strerror(rc), (int)n, k ? k : "");
    T_OK(rc != GW_OK || (k >= hdr && k + n <= hdr + strlen(hdr)), "bearer '%s': key points into the input", hdr);
}

static void bearer_bad(const char *hdr, size_t len)
{
    const char *k = (const char *)1;
    size_t n = 77;
    T_OK(gw_auth_parse_bearer(hdr, len, &k, &n) == GW_EINVAL && k == (const char *)1 && n == 77,
         "bearer '%.*s' -> EINVAL, outputs untouched", (int)len, hdr);
}

#define BAD(s) bearer_bad(s, sizeof(s) - 1)

static void test_bearer(void)
{
    bearer_ok("Bearer " FIXED_KEY, FIXED_KEY);
    bearer_ok("bearer abc", "abc");
    bearer_ok("BEARER abc", "abc");
    bearer_ok("bEaReR abc", "abc");
    bearer_ok("  Bearer   abc  ", "abc");
    bearer_ok("\tBearer\tabc\t", "abc");
    bearer_ok("Bearer a-._~+/b==", "a-._~+/b==");
    bearer_ok("Bearer x", "x");
    BAD("");
    BAD("Bearer");
    BAD("Bearer ");
    BAD("Bearer    ");
    BAD("Bearerabc");
    BAD("Basic abc");
    BAD("Bearer: abc");
    BAD("Bearer a b");
    BAD("Bearer a,b");
    BAD("Bearer =abc");
    BAD("Bearer ab=c");
    BAD("Bearer abc=,");
    BAD("Bearer abc==x");
    BAD("Bearer abc\r\n");
    BAD("Bearer ab\0c");
    BAD("Bearer \xE2\x9C\x93");
    BAD("Bearxr abc");
    BAD(" Bearer\n abc");
    BAD("Token abc");
    BAD("Bearer  \"abc\"");
    /* the length given is what counts, not a NUL */
    bearer_ok("Bearer abc", "abc");
    const char *k;
    size_t n;
    T_OK(gw_auth_parse_bearer("Bearer abcdef", 10, &k, &n) == GW_OK && n == 3 && memcmp(k, "abc", 3) == 0,
         "length bounds the parse");
}

int main(void)
{
    T_OK(gw_auth_init() == GW_OK, "init");
    T_OK(gw_auth_init() == GW_OK, "init twice");
    test_key_format();
    test_hash_vectors();
    test_table();
    test_malformed_stored();
    test_bearer();
    return t_done("test_auth");
}

/* fuzz_schema_json.c - libFuzzer target for the schema cache's JSON parser
 * (gw_schema_from_json in src/schema_cache_json.c), which reads values from
 * Redis that anyone on its network could have written.
 *
 * Invariants checked: a refusal leaves *out NULL and a message; an accepted
 * input re-serialises (gw_schema_to_json) to a text that parses again and
 * serialises to the same bytes (a fixed point after one round).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "schema_cache.h"

static char *serialise(const gw_schema_t *s, size_t *len)
{
    gw_buf_t b;
    gw_buf_init(&b, (size_t)1 << 26);
    if (gw_schema_to_json(s, &b) != GW_OK)
        abort();
    return gw_buf_take(&b, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_schema_t *s = NULL, *t = NULL;
    char err[256] = "";
    size_t n1, n2;
    if (gw_schema_from_json((const char *)data, size, &s, err, sizeof err) != GW_OK) {
        if (s != NULL || err[0] == '\0')
            abort();
        return 0;
    }
    char *j1 = serialise(s, &n1);
    if (gw_schema_from_json(j1, n1, &t, err, sizeof err) != GW_OK)
        abort();
    char *j2 = serialise(t, &n2);
    if (n1 != n2 || memcmp(j1, j2, n1) != 0)
        abort();
    gw_free(j1);
    gw_free(j2);
    gw_schema_free(s);
    gw_schema_free(t);
    return 0;
}

/* fuzz_tokest.c - libFuzzer target for gw_tokest_scan, which reads bytes
 * straight from upstream answers and stream events.
 *
 * The input is scanned from a heap copy of exactly its size (ASan catches
 * any read past n); the count can never exceed the input length, and
 * scanning a prefix never counts more than the bytes of that prefix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "tokest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = gw_malloc(size ? size : 1);
    if (p == NULL)
        return 0;
    if (size > 0)
        memcpy(p, data, size);
    size_t n = gw_tokest_scan(p, size);
    if (n > size)
        abort();
    size_t half = gw_tokest_scan(p, size / 2);
    if (half > size / 2)
        abort();
    if (gw_tokest_completion(n) < 0 || gw_tokest_prompt(size) < 4)
        abort();
    gw_free(p);
    return 0;
}

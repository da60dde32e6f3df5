/* alloc.c - allocator wrapper with a test-only failure injector.
 *
 * The injector counter is the one piece of process-wide mutable state here;
 * it is atomic and only ever armed by unit tests.
 */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long alloc_fail_countdown = -1; /* < 0: never fail */

static int alloc_should_fail(void)
{
    long left = atomic_load_explicit(&alloc_fail_countdown, memory_order_relaxed);
    if (left < 0)
        return 0;
    if (left == 0)
        return 1;
    atomic_fetch_sub_explicit(&alloc_fail_countdown, 1, memory_order_relaxed);
    return 0;
}

void gw_alloc_fail_after(long n) { atomic_store(&alloc_fail_countdown, n); }

void *gw_malloc(size_t n) { return alloc_should_fail() ? NULL : malloc(n ? n : 1); }

void *gw_calloc(size_t count, size_t size)
{
    return alloc_should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *gw_realloc(void *p, size_t n) { return alloc_should_fail() ? NULL : realloc(p, n ? n : 1); }

void gw_free(void *p) { free(p); }

char *gw_strndup(const char *s, size_t n)
{
    char *d = gw_malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *gw_strdup(const char *s) { return gw_strndup(s, strlen(s)); }

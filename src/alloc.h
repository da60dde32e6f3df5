/* alloc.h - the allocator wrapper every module goes through.
 *
 * gw_malloc/gw_calloc/gw_realloc/gw_free/gw_strdup/gw_strndup behave like
 * their libc namesakes. Tests may install a failure injector with
 * gw_alloc_fail_after(); n < 0 disables it. Raw malloc/free outside
 * alloc.c is banned by scripts/checksrc.sh.
 */
#ifndef GW_ALLOC_H
#define GW_ALLOC_H

#include <stddef.h>

void *gw_malloc(size_t n);
void *gw_calloc(size_t count, size_t size);
void *gw_realloc(void *p, size_t n);
void gw_free(void *p);
/* Returns a new NUL-terminated copy (caller frees), NULL on OOM. */
char *gw_strdup(const char *s);
char *gw_strndup(const char *s, size_t n);
/* Test hook: the n-th allocation from now on fails (and all after it). */
void gw_alloc_fail_after(long n);

#endif

/* test.h - the tiny unit-test harness (redis testhelp.h / h2o picotest idea).
 *
 * A test file defines `int main(void)`, calls T_OK(cond, "what") for each
 * check and ends with `return t_done("name");`, which prints
 * "name: N passed, M failed" and returns non-zero on any failure.
 */
#ifndef GW_TEST_H
#define GW_TEST_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed;

#define T_OK(cond, ...)                                                                             \
    do {                                                                                            \
        if (cond) {                                                                                 \
            t_passed++;                                                                             \
        } else {                                                                                    \
            t_failed++;                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                           \
            fprintf(stderr, "\n");                                                                  \
        }                                                                                           \
    } while (0)

#define T_STREQ(a, b, ...) T_OK((a) != NULL && (b) != NULL && strcmp((a), (b)) == 0, __VA_ARGS__)

static inline int t_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, t_passed, t_failed);
    return t_failed != 0;
}

#endif

/* test_redis_util.h - what the Redis unit tests share: finding the test
 * server ($LLMGW_REDIS_URL, started by scripts/redis.sh in scripts/test.sh),
 * starting and stopping private servers on their own ports (for the tests
 * that kill one), and running a loop until a flag is set or time is up.
 * Unreachable servers skip the live parts, or fail them when CI=true.
 */
#ifndef GW_TEST_REDIS_UTIL_H
#define GW_TEST_REDIS_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "redis.h"
#include "test.h"

static inline int rt_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && strcmp(ci, "true") == 0;
}

/* Runs loop until *flag != 0 or ms pass; returns *flag. */
static inline int rt_run_until(uv_loop_t *loop, volatile int *flag, unsigned ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
    while (!*flag && uv_hrtime() < end) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (!*flag)
            usleep(500);
    }
    return *flag;
}

/* Runs loop for ms milliseconds. */
static inline void rt_run_for(uv_loop_t *loop, unsigned ms)
{
    int never = 0;
    rt_run_until(loop, &never, ms);
}

/* The shared test server: its URL, or NULL (skip; a failure under CI). */
static inline const char *rt_server_url(const char *test)
{
    const char *url = getenv("LLMGW_REDIS_URL");
    if (url != NULL && url[0] != '\0')
        return url;
    if (rt_ci())
        T_OK(0, "CI=true and LLMGW_REDIS_URL is not set (scripts/redis.sh start)");
    else
        printf("%s: LLMGW_REDIS_URL not set, live parts skipped (scripts/redis.sh start; "
               "export LLMGW_REDIS_URL=redis://127.0.0.1:16379)\n", test);
    return NULL;
}

static inline int rt_script(const char *verb, int port)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/scripts/redis.sh %s %d >/dev/null", GW_SOURCE_DIR, verb, port);
    return system(cmd) == 0;
}

/* Starts a private server on port: 1 on success; 0 skip; a failure under CI. */
static inline int rt_private_start(int port)
{
    if (rt_script("start", port))
        return 1;
    T_OK(!rt_ci(), "CI=true and scripts/redis.sh start %d failed", port);
    if (!rt_ci())
        printf("redis-server could not start on %d: private-server parts skipped\n", port);
    return 0;
}

static inline void rt_private_stop(int port)
{
    rt_script("stop", port);
}

#endif

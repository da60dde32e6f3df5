/* test_redis_shared.c - the shared admission and settle (src/redis_shared.c)
 * against a real Redis: one admission reserves in all three keys with the
 * exact values, a settle gives back and adds the spend, each kind of denial
 * undoes the parts that passed, redis_policy on a stopped server (fail_open
 * admits and counts, fail_closed refuses and counts, a settle is counted
 * lost), close waits for a settle in flight; and the /metrics lines
 * (src/redis_metrics.c) with exact values.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "redis_metrics.h"
#include "redis_shared.h"
#include "test_redis_util.h"

#define PRIVATE_PORT 16395

static char tenant[64];
static redisContext *rc; /* the test's own synchronous view of the server */

typedef struct got {
    int calls;
    gw_shared_result_t res;
} got_t;

static void on_got(const gw_shared_result_t *res, void *data)
{
    got_t *g = data;
    g->calls++;
    g->res = *res;
}

static gw_shared_result_t admit(uv_loop_t *loop, gw_shared_t *s, const gw_shared_ask_t *q)
{
    got_t g = {0};
    T_OK(gw_shared_admit(s, q, on_got, &g) == GW_OK && g.calls == 0, "admit sent, no callback inside the call");
    rt_run_until(loop, &g.calls, 3000);
    T_OK(g.calls == 1, "admit answered once");
    return g.res;
}

/* HGET key field as an integer (floor of a float); -999 when absent. */
static long long hget(const char *part, const char *field)
{
    char key[160];
    gw_shared_key(key, sizeof key, part, tenant);
    redisReply *r = redisCommand(rc, "HGET %s %s", key, field);
    long long v = -999;
    if (r != NULL && r->type == REDIS_REPLY_STRING)
        v = (long long)strtod(r->str, NULL);
    freeReplyObject(r);
    return v;
}

static void settle_run(uv_loop_t *loop, gw_shared_t *s, int64_t budget, int64_t res_n, int64_t act_n, int64_t tpm,
                       int64_t res_t, int64_t act_t)
{
    gw_shared_settle(s, tenant, budget, res_n, act_n, tpm, res_t, act_t);
    rt_run_for(loop, 100);
}

static void test_admit_settle(uv_loop_t *loop, gw_shared_t *s)
{
    gw_shared_ask_t q = {.tenant = tenant, .rps = 1, .burst = 5, .tpm = 6000, .tokens = 700, .budget_nusd = 1000000,
                         .cost_nusd = 250000, .fail_open = 1};
    gw_shared_result_t r = admit(loop, s, &q);
    T_OK(r.verdict == GW_SHARED_ADMIT && !r.degraded, "admitted (verdict %d)", r.verdict);
    T_OK(r.reserved_nusd == 250000 && r.reserved_tokens == 700, "holds cost and tokens (%lld, %lld)",
         (long long)r.reserved_nusd, (long long)r.reserved_tokens);
    T_OK(hget("budget", "reserved") == 250000, "budget reserved in Redis");
    T_OK(hget("rl", "tokens") == 4, "one request taken from a burst of 5 (%lld)", hget("rl", "tokens"));
    long long tpm_left = hget("tpm", "tokens");
    T_OK(tpm_left >= 5300 && tpm_left <= 5302, "700 tokens taken from 6000 (%lld)", tpm_left);
    settle_run(loop, s, 1000000, 250000, 90000, 6000, 700, 200);
    T_OK(hget("budget", "reserved") == 0 && hget("budget", "spent") == 90000, "settled: reserved 0, spent 90000");
    tpm_left = hget("tpm", "tokens");
    T_OK(tpm_left >= 5800 && tpm_left <= 5803, "500 unused tokens back (%lld)", tpm_left);
    /* more than a minute's worth reserves one minute (when the bucket is full) */
    gw_shared_ask_t big = {.tenant = "nobody-else", .tpm = 100, .tokens = 5000, .budget_nusd = -1};
    char key[160];
    gw_shared_key(key, sizeof key, "tpm", "nobody-else");
    freeReplyObject(redisCommand(rc, "DEL %s", key));
    r = admit(loop, s, &big);
    T_OK(r.verdict == GW_SHARED_ADMIT && r.reserved_tokens == 100, "clamped to tpm (%lld)",
         (long long)r.reserved_tokens);
    freeReplyObject(redisCommand(rc, "DEL %s", key));
}

static void test_denials(uv_loop_t *loop, gw_shared_t *s)
{
    /* budget: spent 90000 of 1000000, asks 950000 */
    gw_shared_ask_t q = {.tenant = tenant, .rps = 1, .burst = 5, .tpm = 6000, .tokens = 300, .budget_nusd = 1000000,
                         .cost_nusd = 950000, .fail_open = 1};
    long long tpm_before = hget("tpm", "tokens");
    gw_shared_result_t r = admit(loop, s, &q);
    T_OK(r.verdict == GW_SHARED_DENY_BUDGET && r.budget_left_nusd == 910000, "budget denied, left 910000 (%d %lld)",
         r.verdict, (long long)r.budget_left_nusd);
    rt_run_for(loop, 100);
    long long tpm_after = hget("tpm", "tokens");
    T_OK(tpm_after >= tpm_before && tpm_after <= tpm_before + 60, "tpm tokens given back, refill 100/s (%lld -> %lld)",
         tpm_before, tpm_after);
    T_OK(hget("budget", "reserved") == 0, "nothing left reserved");
    /* rps: the bucket had 5, 2 taken: 3 more pass, the next is refused and undoes its budget part */
    q.cost_nusd = 1000;
    for (int i = 0; i < 3; i++)
        T_OK(admit(loop, s, &q).verdict == GW_SHARED_ADMIT, "request %d within the burst", i);
    r = admit(loop, s, &q);
    T_OK(r.verdict == GW_SHARED_DENY_RPS && r.retry_after_ms > 0 && r.retry_after_ms <= 1000,
         "rps denied, retry in %lld ms", (long long)r.retry_after_ms);
    rt_run_for(loop, 100);
    T_OK(hget("budget", "reserved") == 3000, "only the 3 admitted hold budget (%lld)", hget("budget", "reserved"));
    /* tpm: ask more than is left */
    gw_shared_ask_t t = {.tenant = tenant, .tpm = 6000, .tokens = 6000, .budget_nusd = 1000000, .cost_nusd = 5};
    r = admit(loop, s, &t);
    T_OK(r.verdict == GW_SHARED_DENY_TPM && r.retry_after_ms > 0, "tpm denied, retry in %lld ms",
         (long long)r.retry_after_ms);
    rt_run_for(loop, 100);
    T_OK(hget("budget", "reserved") == 3000, "its budget part undone");
    gw_shared_ask_t none = {.tenant = tenant, .budget_nusd = -1};
    got_t g = {0};
    T_OK(gw_shared_ask_empty(&none) && !gw_shared_ask_empty(&t), "ask_empty");
    T_OK(gw_shared_admit(s, &none, on_got, &g) == GW_EINVAL && g.calls == 0, "nothing to ask: EINVAL, no callback");
}

typedef struct closed {
    int done;
} closed_t;

static void on_closed(void *data)
{
    ((closed_t *)data)->done++;
}

static void test_close_waits(const char *url)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_shared_t *s = NULL;
    char err[256];
    T_OK(gw_shared_new(&loop, url, 1000, 7, &s, err, sizeof err) == GW_OK, "new: %s", err);
    rt_run_for(&loop, 200);
    long long spent = hget("budget", "spent");
    gw_shared_settle(s, tenant, 1000000, 0, 1234, 0, 0, 0);
    closed_t c = {0};
    gw_shared_close(s, on_closed, &c);
    T_OK(c.done == 0, "close waits for the settle in flight");
    rt_run_until(&loop, &c.done, 3000);
    T_OK(c.done == 1 && hget("budget", "spent") == spent + 1234, "the settle reached Redis before done");
    uv_run(&loop, UV_RUN_DEFAULT);
    T_OK(uv_loop_close(&loop) == 0, "every handle closed");
}

static void test_policy(int port)
{
    char url[64], err[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_shared_t *s = NULL;
    T_OK(gw_shared_new(&loop, url, 200, 0, &s, err, sizeof err) == GW_OK, "new: %s", err);
    rt_run_for(&loop, 300);
    gw_shared_ask_t q = {.tenant = tenant, .rps = 100, .burst = 100, .budget_nusd = 1000, .cost_nusd = 10,
                         .fail_open = 1};
    T_OK(admit(&loop, s, &q).verdict == GW_SHARED_ADMIT, "up: admitted");
    rt_private_stop(port);
    rt_run_for(&loop, 300);
    gw_shared_result_t r = admit(&loop, s, &q);
    T_OK(r.verdict == GW_SHARED_ADMIT && r.degraded && r.reserved_nusd == 0, "down, fail_open: admitted, nothing held");
    q.fail_open = 0;
    r = admit(&loop, s, &q);
    T_OK(r.verdict == GW_SHARED_UNAVAILABLE, "down, fail_closed: unavailable (%d)", r.verdict);
    gw_shared_settle(s, tenant, 1000, 10, 5, 0, 0, 0);
    rt_run_for(&loop, 100);
    gw_shared_stats_t st;
    gw_shared_stats(s, &st);
    T_OK(st.fail_open_admits == 1 && st.fail_closed_refusals == 1 && st.settles_lost == 1 && !st.up,
         "counted: open %llu closed %llu lost %llu up %d", (unsigned long long)st.fail_open_admits,
         (unsigned long long)st.fail_closed_refusals, (unsigned long long)st.settles_lost, st.up);
    T_OK(st.allowed >= 2 && st.unavailable >= 4, "script calls: allowed %llu unavailable %llu",
         (unsigned long long)st.allowed, (unsigned long long)st.unavailable);
    T_OK(rt_private_start(port), "Redis back");
    uint64_t end = uv_hrtime() + 8000000000ull;
    r.verdict = GW_SHARED_UNAVAILABLE;
    while (r.verdict != GW_SHARED_ADMIT && uv_hrtime() < end) {
        rt_run_for(&loop, 100);
        r = admit(&loop, s, &q);
    }
    T_OK(r.verdict == GW_SHARED_ADMIT && !r.degraded && r.reserved_nusd == 10, "back: shared again (fail_closed)");
    closed_t c = {0};
    gw_shared_close(s, on_closed, &c);
    rt_run_until(&loop, &c.done, 3000);
    uv_run(&loop, UV_RUN_DEFAULT);
    T_OK(c.done == 1 && uv_loop_close(&loop) == 0, "closed");
}

static void test_format(void)
{
    gw_shared_stats_t s = {.commands = 11, .timeouts = 2, .allowed = 7, .denied = 3, .unavailable = 1,
                           .fail_open_admits = 4, .fail_closed_refusals = 5, .settles_lost = 6, .up = 2};
    gw_schema_cache_stats_t c = {.hits = 9, .redis_hits = 1, .misses = 1, .redis_errors = 2};
    gw_buf_t b;
    gw_buf_init(&b, 1 << 16);
    gw_redis_metrics_format(&s, 1, &c, &b);
    gw_buf_add(&b, "", 1);
    const char *want[] = {
        "llmgw_redis_enabled 1\n", "llmgw_redis_connections_up 2\n", "llmgw_redis_commands_total 11\n",
        "llmgw_redis_timeouts_total 2\n", "llmgw_redis_limit_calls_total{result=\"denied\"} 3\n",
        "llmgw_redis_fail_open_admits_total 4\n", "llmgw_redis_fail_closed_refusals_total 5\n",
        "llmgw_redis_settles_lost_total 6\n", "llmgw_schema_cache_hits_total{level=\"process\"} 9\n",
        "llmgw_schema_cache_hits_total{level=\"redis\"} 1\n", "llmgw_schema_cache_misses_total 1\n",
        "llmgw_schema_cache_redis_errors_total 2\n", "# TYPE llmgw_redis_fail_open_admits_total counter\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        T_OK(strstr(b.ptr, want[i]) != NULL, "metrics has %s", want[i]);
    gw_buf_reset(&b);
    gw_redis_metrics_format(&s, 0, NULL, &b);
    gw_buf_add(&b, "", 1);
    T_OK(strstr(b.ptr, "llmgw_redis_enabled 0\n") != NULL && strstr(b.ptr, "schema_cache") == NULL,
         "no cache block before the catalog side is up");
    gw_buf_free(&b);
}

int main(void)
{
    char err[256];
    test_format();
    gw_shared_t *bad = NULL;
    T_OK(gw_shared_new(uv_default_loop(), "rediss://127.0.0.1:1", 100, 0, &bad, err, sizeof err) ==
                 GW_EUNSUPPORTED && bad == NULL && strncmp(err, "redis_url: ", 11) == 0,
         "rediss:// refused with a reason: %s", err);
    const char *url = rt_server_url("test_redis_shared");
    if (url == NULL)
        return t_done("test_redis_shared");
    snprintf(tenant, sizeof tenant, "t-shared-%d-%llu", (int)getpid(), (unsigned long long)uv_hrtime());
    gw_redis_url_t u;
    T_OK(gw_redis_url_parse(url, &u, err, sizeof err) == GW_OK, "LLMGW_REDIS_URL parses: %s", err);
    rc = u.unix_path[0] ? redisConnectUnix(u.unix_path) : redisConnect(u.host, u.port);
    if (rc != NULL && !rc->err && u.password[0])
        freeReplyObject(redisCommand(rc, "AUTH %s", u.password));
    if (rc != NULL && !rc->err && u.db > 0)
        freeReplyObject(redisCommand(rc, "SELECT %d", u.db));
    T_OK(rc != NULL && !rc->err, "test connection to %s", url);
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_shared_t *s = NULL;
    T_OK(gw_shared_new(&loop, url, 1000, 0, &s, err, sizeof err) == GW_OK, "new: %s", err);
    rt_run_for(&loop, 200);
    test_admit_settle(&loop, s);
    test_denials(&loop, s);
    closed_t c = {0};
    gw_shared_close(s, on_closed, &c);
    rt_run_until(&loop, &c.done, 3000);
    uv_run(&loop, UV_RUN_DEFAULT);
    T_OK(c.done == 1 && uv_loop_close(&loop) == 0, "closed");
    test_close_waits(url);
    if (rt_private_start(PRIVATE_PORT)) {
        test_policy(PRIVATE_PORT);
        rt_private_stop(PRIVATE_PORT);
    }
    const char *parts[] = {"rl", "tpm", "budget"};
    for (int i = 0; i < 3; i++) {
        char key[160];
        gw_shared_key(key, sizeof key, parts[i], tenant);
        freeReplyObject(redisCommand(rc, "DEL %s", key));
    }
    redisFree(rc);
    return t_done("test_redis_shared");
}

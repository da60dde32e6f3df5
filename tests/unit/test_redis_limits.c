/* test_redis_limits.c - the shared limits scripts (src/redis_limits.c)
 * against a real Redis: token bucket values and retry-after, refunds and
 * debt, NOSCRIPT recovery, UNAVAILABLE on a dead server and on a timeout
 * (and the policy), budget reserve/settle values; then two replicas (two
 * threads, each with its own loop and connection) hammering one budget
 * (never over it, spent exactly the sum of the settled costs) and one token
 * bucket (enforced once across both, within 10% of burst + rate x time).
 */
#include <hiredis/hiredis.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "redis_limits.h"
#include "test_redis_util.h"

static const char *url;
static char prefix[64];

typedef struct one {
    int calls;
    gw_rl_result_t res;
} one_t;

static void on_one(gw_rlim_t *l, const gw_rl_result_t *res, void *data)
{
    one_t *o = data;
    o->calls++;
    o->res = *res;
}

typedef struct env {
    uv_loop_t loop;
    gw_redis_t *r;
    gw_rlim_t *l;
} env_t;

static int env_open(env_t *e, const char *u, uint32_t timeout_ms)
{
    char err[256];
    gw_redis_opts_t o = {.url = u, .timeout_ms = timeout_ms, .connect_timeout_ms = 500};
    uv_loop_init(&e->loop);
    if (gw_redis_new(&e->loop, &o, &e->r, err, sizeof err) != GW_OK || (e->l = gw_rlim_new(e->r)) == NULL)
        return 0;
    uint64_t end = uv_hrtime() + 2000000000u;
    while (!gw_redis_up(e->r) && uv_hrtime() < end) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        usleep(200);
    }
    return 1;
}

static void env_close(env_t *e)
{
    gw_redis_free(e->r);
    gw_rlim_free(e->l);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
}

static gw_rl_result_t take(env_t *e, const char *key, double rate, double burst, int64_t cost)
{
    one_t o = {0};
    T_OK(gw_rlim_take(e->l, key, rate, burst, cost, on_one, &o) == GW_OK && o.calls == 0, "take sent");
    rt_run_until(&e->loop, &o.calls, 2000);
    T_OK(o.calls == 1, "take answered once");
    return o.res;
}

static gw_rl_result_t call_budget(env_t *e, int settle, const char *key, int64_t a, int64_t b)
{
    one_t o = {0};
    gw_err_t rc = settle ? gw_rlim_budget_settle(e->l, key, a, b, on_one, &o)
                         : gw_rlim_budget_reserve(e->l, key, a, b, on_one, &o);
    T_OK(rc == GW_OK, "budget call sent");
    rt_run_until(&e->loop, &o.calls, 2000);
    T_OK(o.calls == 1, "budget call answered once");
    return o.res;
}

static void key_of(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s:%s", prefix, name);
}

/* ---- single client ---- */

static void test_bucket(env_t *e)
{
    char k[96];
    key_of(k, sizeof k, "bucket");
    for (int i = 0; i < 5; i++) {
        gw_rl_result_t r = take(e, k, 10, 5, 1);
        T_OK(r.status == GW_RL_ALLOWED && r.remaining == 4 - i, "take %d allowed, %lld left", i,
             (long long)r.remaining);
    }
    gw_rl_result_t r = take(e, k, 10, 5, 1);
    T_OK(r.status == GW_RL_DENIED && r.retry_after_ms >= 80 && r.retry_after_ms <= 100,
         "6th denied, retry after ~100 ms (%lld)", (long long)r.retry_after_ms);
    r = take(e, k, 10, 5, 6);
    T_OK(r.status == GW_RL_DENIED && r.retry_after_ms == -1, "cost above burst: never");
    usleep(220 * 1000);
    r = take(e, k, 10, 5, 2);
    T_OK(r.status == GW_RL_ALLOWED && r.remaining == 0, "refilled by the server's clock (%lld left)",
         (long long)r.remaining);
    T_OK(gw_rlim_take(e->l, k, 0, 5, 1, on_one, NULL) == GW_EINVAL && gw_rlim_take(e->l, k, 1, 0.5, 1, on_one, NULL) ==
             GW_EINVAL && gw_rlim_take(e->l, k, 1, 5, 0, on_one, NULL) == GW_EINVAL, "bad arguments refused");
}

static void test_refund(env_t *e)
{
    char k[96];
    one_t o = {0};
    key_of(k, sizeof k, "tpm");
    gw_rl_result_t r = take(e, k, 100, 1000, 1000); /* reserve the whole minute's worth */
    T_OK(r.status == GW_RL_ALLOWED && r.remaining == 0, "reserved 1000 tokens");
    T_OK(gw_rlim_refund(e->l, k, 100, 1000, 600, on_one, &o) == GW_OK && rt_run_until(&e->loop, &o.calls, 2000) &&
             o.res.status == GW_RL_ALLOWED && o.res.remaining >= 600 && o.res.remaining <= 610,
         "settled at 400 used: 600 back (%lld)", (long long)o.res.remaining);
    memset(&o, 0, sizeof o);
    T_OK(gw_rlim_refund(e->l, k, 100, 1000, -2000, on_one, &o) == GW_OK && rt_run_until(&e->loop, &o.calls, 2000) &&
             o.res.remaining <= -1390 && o.res.remaining >= -1400, "an overrun becomes debt (%lld)",
         (long long)o.res.remaining);
    r = take(e, k, 100, 1000, 100);
    T_OK(r.status == GW_RL_DENIED && r.retry_after_ms >= 14800 && r.retry_after_ms <= 15000,
         "denied until the debt is paid (%lld ms)", (long long)r.retry_after_ms);
}

static void on_status(gw_redis_t *r, gw_err_t err, const struct redisReply *rep, void *data)
{
    one_t *o = data;
    o->calls++;
    o->res.status = err == GW_OK && rep->type == REDIS_REPLY_STATUS ? GW_RL_ALLOWED : GW_RL_UNAVAILABLE;
}

static void test_noscript(env_t *e)
{
    char k[96];
    one_t o = {0};
    gw_rlim_stats_t st;
    key_of(k, sizeof k, "noscript");
    take(e, k, 10, 5, 1);
    gw_rlim_stats(e->l, &st);
    uint64_t before = st.noscript_reloads;
    const char *flush[2] = {"SCRIPT", "FLUSH"};
    T_OK(gw_redis_command(e->r, 2, flush, NULL, on_status, &o) == GW_OK && rt_run_until(&e->loop, &o.calls, 2000) &&
             o.res.status == GW_RL_ALLOWED, "SCRIPT FLUSH");
    gw_rl_result_t r = take(e, k, 10, 5, 1);
    T_OK(r.status == GW_RL_ALLOWED && r.remaining == 3, "works after the flush (%lld left)", (long long)r.remaining);
    gw_rlim_stats(e->l, &st);
    T_OK(st.noscript_reloads == before + 1, "one NOSCRIPT -> EVAL (%llu)", (unsigned long long)st.noscript_reloads);
    r = take(e, k, 10, 5, 1);
    gw_rlim_stats(e->l, &st);
    T_OK(r.status == GW_RL_ALLOWED && st.noscript_reloads == before + 1, "then EVALSHA again");
}

static void test_budget(env_t *e)
{
    char k[96];
    key_of(k, sizeof k, "budget");
    gw_rl_result_t r = call_budget(e, 0, k, 400, 1000);
    T_OK(r.status == GW_RL_ALLOWED && r.spent == 0 && r.reserved == 400 && r.remaining == 600, "reserve 400 of 1000");
    r = call_budget(e, 0, k, 700, 1000);
    T_OK(r.status == GW_RL_DENIED && r.spent == 0 && r.reserved == 400 && r.remaining == 600, "700 more: denied");
    r = call_budget(e, 1, k, 400, 300);
    T_OK(r.status == GW_RL_ALLOWED && r.spent == 300 && r.reserved == 0, "settle 400 reserved at 300 real");
    r = call_budget(e, 0, k, 700, 1000);
    T_OK(r.status == GW_RL_ALLOWED && r.reserved == 700 && r.remaining == 0, "exactly up to the budget");
    r = call_budget(e, 0, k, 1, 1000);
    T_OK(r.status == GW_RL_DENIED, "one micro-dollar more: denied");
    r = call_budget(e, 1, k, 700, 900);
    T_OK(r.spent == 1200 && r.reserved == 0, "an overrun is recorded as spent (%lld)", (long long)r.spent);
    r = call_budget(e, 0, k, 0, 1000);
    T_OK(r.status == GW_RL_DENIED && r.remaining == -200, "over budget: even 0 is denied");
    T_OK(gw_rlim_budget_reserve(e->l, k, -1, 10, on_one, NULL) == GW_EINVAL &&
             gw_rlim_budget_settle(e->l, k, 1, -1, on_one, NULL) == GW_EINVAL, "negative amounts refused");
}

/* ---- Redis absent or stalled: UNAVAILABLE and the policy ---- */

static void test_unavailable(void)
{
    env_t d;
    one_t o = {0};
    T_OK(env_open(&d, "redis://127.0.0.1:1", 100), "client to a dead port");
    T_OK(gw_rlim_take(d.l, "k", 1, 1, 1, on_one, &o) == GW_OK && o.calls == 0, "sent; no callback inside the call");
    rt_run_until(&d.loop, &o.calls, 1000);
    T_OK(o.calls == 1 && o.res.status == GW_RL_UNAVAILABLE && o.res.err == GW_EIO, "UNAVAILABLE (GW_EIO)");
    T_OK(gw_rl_policy_allows(&o.res, 1) && !gw_rl_policy_allows(&o.res, 0), "fail_open lets it through, "
                                                                            "fail_closed does not");
    gw_rl_result_t denied = {.status = GW_RL_DENIED}, allowed = {.status = GW_RL_ALLOWED};
    T_OK(!gw_rl_policy_allows(&denied, 1) && gw_rl_policy_allows(&allowed, 0), "policy only for UNAVAILABLE");
    gw_rlim_stats_t st;
    gw_rlim_stats(d.l, &st);
    T_OK(st.unavailable == 1 && st.allowed == 0, "counted");
    memset(&o, 0, sizeof o);
    T_OK(gw_rlim_budget_reserve(d.l, "k", 1, 1, on_one, &o) == GW_OK, "a call pending at free");
    env_close(&d); /* frees the client and the limits before the loop runs */
    T_OK(o.calls == 1 && o.res.status == GW_RL_UNAVAILABLE, "its callback still ran once, after the frees");
}

static void test_stalled(env_t *admin)
{
    env_t e;
    one_t o = {0}, p = {0};
    char k[96];
    key_of(k, sizeof k, "stall");
    T_OK(env_open(&e, url, 100), "client with a 100 ms timeout");
    const char *pause[3] = {"CLIENT", "PAUSE", "400"};
    T_OK(gw_redis_command(admin->r, 3, pause, NULL, on_status, &p) == GW_OK &&
             rt_run_until(&admin->loop, &p.calls, 1000), "CLIENT PAUSE 400");
    T_OK(gw_rlim_budget_reserve(e.l, k, 1, 10, on_one, &o) == GW_OK, "reserve while paused");
    rt_run_until(&e.loop, &o.calls, 1000);
    T_OK(o.calls == 1 && o.res.status == GW_RL_UNAVAILABLE && o.res.err == GW_ETIMEOUT, "UNAVAILABLE (GW_ETIMEOUT)");
    rt_run_for(&e.loop, 500);
    T_OK(o.calls == 1, "exactly once");
    env_close(&e);
}

/* ---- two replicas ---- */

#define LANES 12
#define RESERVE 7000

typedef struct replica {
    const char *key;
    int64_t budget;
    int mode; /* 0 budget, 1 bucket */
    env_t env;
    int lanes_open;
    int64_t settled_actual, granted;
    int64_t bucket_allowed, bucket_sent;
    uint64_t stop_ns;
    int ok;
    gw_rlim_t *l;
} replica_t;

static void next_reserve(replica_t *rp);

static void on_settled(gw_rlim_t *l, const gw_rl_result_t *res, void *data)
{
    replica_t *rp = data;
    if (res->status != GW_RL_ALLOWED)
        rp->ok = 0;
    next_reserve(rp);
}

static void on_reserved(gw_rlim_t *l, const gw_rl_result_t *res, void *data)
{
    replica_t *rp = data;
    if (res->status == GW_RL_DENIED) {
        rp->lanes_open--; /* this lane is done */
        return;
    }
    if (res->status != GW_RL_ALLOWED || res->spent + res->reserved > rp->budget) {
        rp->ok = 0;
        rp->lanes_open--;
        return;
    }
    rp->granted++;
    int64_t actual = 4000 + (int64_t)(rp->granted * 37 % 3001); /* 4000..7000 <= the reservation */
    rp->settled_actual += actual;
    if (gw_rlim_budget_settle(l, rp->key, RESERVE, actual, on_settled, rp) != GW_OK) {
        rp->ok = 0;
        rp->lanes_open--;
    }
}

static void next_reserve(replica_t *rp)
{
    if (gw_rlim_budget_reserve(rp->l, rp->key, RESERVE, rp->budget, on_reserved, rp) != GW_OK) {
        rp->ok = 0;
        rp->lanes_open--;
    }
}

static void next_take(replica_t *rp);

static void on_taken(gw_rlim_t *l, const gw_rl_result_t *res, void *data)
{
    replica_t *rp = data;
    if (res->status == GW_RL_ALLOWED)
        rp->bucket_allowed++;
    else if (res->status != GW_RL_DENIED)
        rp->ok = 0;
    if (uv_hrtime() < rp->stop_ns)
        next_take(rp);
    else
        rp->lanes_open--;
}

static void next_take(replica_t *rp)
{
    rp->bucket_sent++;
    if (gw_rlim_take(rp->l, rp->key, 100, 20, 1, on_taken, rp) != GW_OK) {
        rp->ok = 0;
        rp->lanes_open--;
    }
}

static void *replica_main(void *arg)
{
    replica_t *rp = arg;
    rp->ok = 1;
    rp->lanes_open = LANES;
    rp->l = rp->env.l;
    for (int i = 0; i < LANES; i++)
        rp->mode == 0 ? next_reserve(rp) : next_take(rp);
    uint64_t end = uv_hrtime() + 20000000000u;
    while (rp->lanes_open > 0 && uv_hrtime() < end)
        uv_run(&rp->env.loop, UV_RUN_ONCE);
    return NULL;
}

static int run_replicas(replica_t rp[2])
{
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        if (!env_open(&rp[i].env, url, 2000) || !gw_redis_up(rp[i].env.r))
            return 0;
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, replica_main, &rp[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    return 1;
}

static void test_two_replicas_budget(env_t *e)
{
    char k[96];
    key_of(k, sizeof k, "shared-budget");
    const int64_t budget = 3000000; /* $3 in micro-USD: ~540 requests */
    replica_t rp[2] = {{.key = k, .budget = budget}, {.key = k, .budget = budget}};
    T_OK(run_replicas(rp), "two replicas up");
    gw_rl_result_t fin = call_budget(e, 0, k, 0, INT64_MAX / 2);
    int64_t actual = rp[0].settled_actual + rp[1].settled_actual;
    printf("budget race: %lld + %lld grants, spent %lld of %lld\n", (long long)rp[0].granted,
           (long long)rp[1].granted, (long long)fin.spent, (long long)budget);
    T_OK(rp[0].ok && rp[1].ok && rp[0].lanes_open == 0 && rp[1].lanes_open == 0, "every lane ended normally");
    T_OK(rp[0].granted > 0 && rp[1].granted > 0, "both replicas got grants (%lld, %lld)", (long long)rp[0].granted,
         (long long)rp[1].granted);
    T_OK(fin.spent == actual, "spent is exactly the sum of the settled costs (%lld vs %lld)", (long long)fin.spent,
         (long long)actual);
    T_OK(fin.spent <= budget && fin.reserved == 0, "never over the budget (%lld <= %lld), nothing left reserved",
         (long long)fin.spent, (long long)budget);
    T_OK(fin.spent >= budget - 2 * LANES * RESERVE, "and it was used up to the lanes' reservations (%lld)",
         (long long)fin.spent);
    env_close(&rp[0].env);
    env_close(&rp[1].env);
}

static void test_two_replicas_bucket(void)
{
    char k[96];
    key_of(k, sizeof k, "shared-bucket");
    replica_t rp[2] = {{.key = k, .mode = 1}, {.key = k, .mode = 1}};
    for (int i = 0; i < 2; i++)
        T_OK(env_open(&rp[i].env, url, 2000), "replica %d", i);
    uint64_t t0 = uv_hrtime();
    rp[0].stop_ns = rp[1].stop_ns = t0 + 1500000000u;
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, replica_main, &rp[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    int64_t allowed = rp[0].bucket_allowed + rp[1].bucket_allowed;
    double expect = 20 + 100 * secs;
    printf("shared bucket (100/s, burst 20) over %.2f s: %lld + %lld allowed of %lld + %lld sent, expected %.0f\n",
           secs,
           (long long)rp[0].bucket_allowed, (long long)rp[1].bucket_allowed, (long long)rp[0].bucket_sent,
           (long long)rp[1].bucket_sent, expect);
    T_OK(rp[0].ok && rp[1].ok, "no UNAVAILABLE");
    T_OK(rp[0].bucket_sent + rp[1].bucket_sent > 4 * expect, "both replicas pushed well over the limit");
    T_OK(fabs((double)allowed - expect) <= 0.10 * expect,
         "enforced once across both: %lld allowed, expected %.0f +-10%%", (long long)allowed, expect);
    T_OK(rp[0].bucket_allowed > 0.2 * expect && rp[1].bucket_allowed > 0.2 * expect, "both replicas got a share");
    env_close(&rp[0].env);
    env_close(&rp[1].env);
}

int main(void)
{
    env_t e;
    snprintf(prefix, sizeof prefix, "gwtest:rl:%d:%llu", (int)getpid(), (unsigned long long)uv_hrtime());
    test_unavailable();
    if ((url = rt_server_url("test_redis_limits")) != NULL) {
        T_OK(env_open(&e, url, 2000) && gw_redis_up(e.r), "connected to %s", url);
        test_bucket(&e);
        test_refund(&e);
        test_noscript(&e);
        test_budget(&e);
        test_stalled(&e);
        test_two_replicas_budget(&e);
        test_two_replicas_bucket();
        char k1[96], k2[96], k3[96];
        key_of(k1, sizeof k1, "budget");
        key_of(k2, sizeof k2, "shared-budget");
        key_of(k3, sizeof k3, "stall");
        const char *del[4] = {"DEL", k1, k2, k3}; /* budgets never expire */
        one_t o = {0};
        T_OK(gw_redis_command(e.r, 4, del, NULL, on_status, &o) == GW_OK && rt_run_until(&e.loop, &o.calls, 1000),
             "budget keys removed");
        env_close(&e);
    }
    return t_done("test_redis_limits");
}

/* test_ratelimit.c - unit tests for token buckets and the keyed limiter.
 *
 * Virtual time only (ns values passed in), so every number is exact:
 * refill, burst, refusal with its retry_after, reset, unlimited, config
 * reload, the eviction bound and policy, and 4 threads racing on shared
 * keys at a frozen clock (allowed must equal burst exactly).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "alloc.h"
#include "ratelimit.h"
#include "test.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define T0 (1000 * SEC) /* an arbitrary monotonic start */

static int near(double a, double b) { return fabs(a - b) < 1e-9; }

static void test_bucket(void)
{
    gw_bucket_t b;
    double retry = -1, rem = -1;
    gw_bucket_init(&b, 2.0, 5.0, T0); /* 2 tokens/s, burst 5 */
    int allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += gw_bucket_take(&b, 1, T0, &retry, &rem) == 1;
    T_OK(allowed == 5, "burst: %d allowed at one instant, want 5", allowed);
    T_OK(gw_bucket_take(&b, 1, T0, &retry, &rem) == 0, "empty: refused");
    T_OK(near(retry, 0.5) && near(rem, 0), "retry_after 0.5 s exactly, got %.12f rem %.12f", retry, rem);
    T_OK(gw_bucket_take(&b, 1, T0 + 499999999, &retry, &rem) == 0, "1 ns early: refused");
    T_OK(near(retry, 1e-9), "1 ns early: retry %.12g", retry);
    T_OK(gw_bucket_take(&b, 1, T0 + 500 * MS, &retry, &rem) == 1, "at retry_after: allowed");
    T_OK(near(rem, 0) && retry == 0, "at retry_after: remaining %.12f", rem);
    T_OK(gw_bucket_take(&b, 0, T0 + 1750 * MS, &retry, &rem) == 1 && near(rem, 2.5), "refill 1.25 s -> 2.5, got %f",
         rem);
    T_OK(gw_bucket_take(&b, 3, T0 + 1750 * MS, &retry, &rem) == 0 && near(retry, 0.25), "cost 3: retry %f", retry);
    T_OK(gw_bucket_take(&b, 0, T0 + 100 * SEC, &retry, &rem) == 1 && near(rem, 5), "refill caps at burst: %f", rem);
    T_OK(gw_bucket_take(&b, 6, T0 + 100 * SEC, &retry, &rem) == -1 && isinf(retry), "cost > burst: never");
    T_OK(gw_bucket_take(&b, 2.5, T0 + 50 * SEC, &retry, &rem) == 1 && near(rem, 2.5), "clock going back: no refill");
    T_OK(b.last_ns == T0 + 100 * SEC, "clock going back: last_ns kept");

    gw_bucket_init(&b, 0, 3, T0);
    allowed = 0;
    for (int i = 0; i < 1000; i++)
        allowed += gw_bucket_take(&b, 100, T0, &retry, &rem) == 1;
    T_OK(allowed == 1000 && retry == 0 && rem == 3, "rate 0: unlimited");
    T_OK(gw_bucket_take(&b, 1, T0, NULL, NULL) == 1, "NULL out pointers");
}

static void test_keyed_basics(void)
{
    gw_ratelimit_t *rl = gw_ratelimit_new(8, 10.0, 3.0, 64);
    gw_rl_result_t r;
    T_OK(rl != NULL, "new");
    T_OK(gw_ratelimit_take(rl, "10.0.0.1", 8, 1, T0, &r) == 1, "first take");
    T_OK(!r.unlimited && r.limit == 3 && r.remaining == 2 && r.reset_s == 1 && r.retry_after_s == 0,
         "headers after 1: limit %llu rem %llu reset %llu", (unsigned long long)r.limit,
         (unsigned long long)r.remaining, (unsigned long long)r.reset_s);
    gw_ratelimit_take(rl, "10.0.0.1", 8, 1, T0, &r);
    gw_ratelimit_take(rl, "10.0.0.1", 8, 1, T0, &r);
    T_OK(r.remaining == 0 && r.reset_s == 1, "drained: rem %llu", (unsigned long long)r.remaining);
    T_OK(gw_ratelimit_take(rl, "10.0.0.1", 8, 1, T0, &r) == 0, "drained: refused");
    T_OK(r.retry_after_s == 1 && r.remaining == 0, "refused: retry_after %llu (0.1 s rounds up to 1)",
         (unsigned long long)r.retry_after_s);
    T_OK(gw_ratelimit_take(rl, "10.0.0.2", 8, 1, T0, &r) == 1 && r.remaining == 2, "other key independent");
    T_OK(gw_ratelimit_take(rl, "10.0.0.1", 7, 1, T0, &r) == 1, "key length matters (prefix is another key)");
    T_OK(gw_ratelimit_take(rl, "10.0.0.1", 8, 1, T0 + 100 * MS, &r) == 1 && r.remaining == 0, "refilled 1 token");
    T_OK(gw_ratelimit_take(rl, "10.0.0.1", 8, 4, T0 + 100 * MS, &r) == -1 && r.retry_after_s == 0,
         "cost > burst: -1");
    T_OK(gw_ratelimit_count(rl) == 3, "3 keys, got %zu", gw_ratelimit_count(rl));
    gw_ratelimit_free(rl);

    rl = gw_ratelimit_new(2, 0.5, 10, 4); /* slow refill: retry and reset in whole seconds */
    for (int i = 0; i < 10; i++)
        gw_ratelimit_take(rl, "t", 1, 1, T0, &r);
    T_OK(gw_ratelimit_take(rl, "t", 1, 3, T0, &r) == 0 && r.retry_after_s == 6, "retry_after 6, got %llu",
         (unsigned long long)r.retry_after_s);
    T_OK(r.reset_s == 20, "reset 20 s, got %llu", (unsigned long long)r.reset_s);
    T_OK(gw_ratelimit_take(rl, "t", 1, 3, T0 + 5999 * MS, &r) == 0 && r.retry_after_s == 1, "1 ms early");
    T_OK(gw_ratelimit_take(rl, "t", 1, 3, T0 + 6 * SEC, &r) == 1 && r.remaining == 0 && r.reset_s == 20,
         "at retry_after: allowed, reset %llu", (unsigned long long)r.reset_s);
    gw_ratelimit_free(rl);
}

static void test_unlimited_and_set(void)
{
    gw_ratelimit_t *rl = gw_ratelimit_new(4, 0, 0, 4);
    gw_rl_result_t r;
    int allowed = 0;
    for (int i = 0; i < 1000; i++)
        allowed += gw_ratelimit_take(rl, "k", 1, 1, T0, &r) == 1;
    T_OK(allowed == 1000 && r.unlimited, "rate 0: unlimited");
    T_OK(gw_ratelimit_count(rl) == 0, "rate 0: no keys stored");

    T_OK(gw_ratelimit_set(rl, 1, 10) == 0, "set 1/s burst 10");
    for (int i = 0; i < 6; i++)
        gw_ratelimit_take(rl, "k", 1, 1, T0, &r);
    T_OK(!r.unlimited && r.remaining == 4 && r.limit == 10, "after set: limited, rem %llu",
         (unsigned long long)r.remaining);
    T_OK(gw_ratelimit_set(rl, 2, 3) == 0, "set 2/s burst 3 (tokens clamped)");
    T_OK(gw_ratelimit_take(rl, "k", 1, 1, T0, &r) == 1 && r.remaining == 2 && r.limit == 3, "clamped: rem %llu",
         (unsigned long long)r.remaining);
    T_OK(gw_ratelimit_set(rl, 2, 100) == 0, "raise burst");
    T_OK(gw_ratelimit_take(rl, "k", 1, 1, T0, &r) == 1 && r.remaining == 1 && r.limit == 100,
         "raising burst keeps tokens: rem %llu", (unsigned long long)r.remaining);
    T_OK(gw_ratelimit_take(rl, "k", 1, 0, T0 + 2 * SEC, &r) == 1 && r.remaining == 5, "new rate: +4 in 2 s");
    T_OK(gw_ratelimit_set(rl, -1, 1) == -1 && gw_ratelimit_set(rl, NAN, 1) == -1 &&
         gw_ratelimit_set(rl, 1, INFINITY) == -1, "set rejects bad values");
    gw_ratelimit_free(rl);

    T_OK(gw_ratelimit_new(0, 1, 1, 1) == NULL && gw_ratelimit_new(1, 1, 1, 0) == NULL &&
         gw_ratelimit_new(1, -1, 1, 1) == NULL && gw_ratelimit_new(1, 1, NAN, 1) == NULL,
         "new rejects bad arguments");
    for (long fail = 0; fail < 6; fail++) { /* rl, shards, 4 slot arrays */
        gw_alloc_fail_after(fail);
        rl = gw_ratelimit_new(4, 1, 1, 4);
        gw_alloc_fail_after(-1);
        T_OK(rl == NULL, "new: allocation %ld failing gives NULL (no leak under ASan)", fail);
        gw_ratelimit_free(rl);
    }
    rl = gw_ratelimit_new(1, 1, 5, 4);
    gw_alloc_fail_after(0);
    T_OK(gw_ratelimit_take(rl, "x", 1, 1, T0, &r) == 1 && r.unlimited, "OOM on a new key: fail open");
    gw_alloc_fail_after(-1);
    T_OK(gw_ratelimit_count(rl) == 0, "OOM: key not stored");
    gw_ratelimit_free(rl);
}

static void test_eviction(void)
{
    char key[32];
    gw_rl_result_t r;
    gw_ratelimit_t *rl = gw_ratelimit_new(4, 1.0, 10.0, 8);
    size_t max_seen = 0;
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(key, sizeof key, "198.51.100.%d", i);
        gw_ratelimit_take(rl, key, (size_t)n, 1, T0 + (uint64_t)i * MS, &r);
        size_t c = gw_ratelimit_count(rl);
        max_seen = c > max_seen ? c : max_seen;
    }
    T_OK(max_seen == 32, "bound: never above 4 x 8 keys, max %zu", max_seen);
    gw_ratelimit_free(rl);

    /* One shard of 4: idle entries go first, a busy one keeps its state. */
    rl = gw_ratelimit_new(1, 1.0, 5.0, 4);
    for (int i = 0; i < 5; i++)
        gw_ratelimit_take(rl, "hot", 3, 1, T0, &r);
    gw_ratelimit_take(rl, "k1", 2, 1, T0, &r);
    gw_ratelimit_take(rl, "k2", 2, 1, T0, &r);
    gw_ratelimit_take(rl, "k3", 2, 1, T0, &r);
    T_OK(gw_ratelimit_count(rl) == 4, "full shard");
    /* at T0 + 1 s: k1..k3 are full again (idle), hot has 1 token */
    T_OK(gw_ratelimit_take(rl, "k4", 2, 2, T0 + SEC, &r) == 1, "new key in a full shard");
    T_OK(gw_ratelimit_count(rl) == 2, "all 3 idle entries evicted, got %zu", gw_ratelimit_count(rl));
    T_OK(gw_ratelimit_take(rl, "hot", 3, 1, T0 + SEC, &r) == 1 && r.remaining == 0, "hot kept its state");
    T_OK(gw_ratelimit_take(rl, "hot", 3, 1, T0 + SEC, &r) == 0, "hot still limited");

    /* none idle: the entry closest to full goes (a: 4 left; k4: 3; hot, b: 0) */
    gw_ratelimit_take(rl, "a", 1, 1, T0 + SEC, &r);
    gw_ratelimit_take(rl, "b", 1, 5, T0 + SEC, &r);
    T_OK(gw_ratelimit_take(rl, "c", 1, 2, T0 + SEC, &r) == 1 && gw_ratelimit_count(rl) == 4,
         "no idle entry: count stays at the bound");
    T_OK(gw_ratelimit_take(rl, "b", 1, 1, T0 + SEC, &r) == 0, "b (empty) was not evicted");
    T_OK(gw_ratelimit_take(rl, "hot", 3, 1, T0 + SEC, &r) == 0, "hot (empty) was not evicted");
    T_OK(gw_ratelimit_take(rl, "k4", 2, 0, T0 + SEC, &r) == 1 && r.remaining == 3, "k4 (3 left) kept");
    T_OK(gw_ratelimit_take(rl, "a", 1, 0, T0 + SEC, &r) == 1 && r.remaining == 5,
         "a (the fullest) was evicted: comes back full, rem %llu", (unsigned long long)r.remaining);
    T_OK(gw_ratelimit_count(rl) == 4, "still at the bound");
    gw_ratelimit_free(rl);
}

/* Churn through one small shard: evictions between live entries
 * (backward-shift deletion) must keep every live key findable. 8
 * persistent keys (cost 5) stay busy; 8 new transient keys (cost 1) per
 * round, taken first so that they often push persistent keys off their
 * home slots. A round is 10 s at 0.2 tokens/s, so the last round's
 * transient keys are full again (idle) and the first new insert evicts
 * them, while every persistent key must keep its exact token count. Many
 * fresh limiters (fresh hash seeds) give many table layouts. */
static int churn_one(void)
{
    char key[32];
    gw_rl_result_t r;
    gw_ratelimit_t *rl = gw_ratelimit_new(1, 0.2, 1000.0, 16);
    int wrong = 0;
    for (int round = 0; round < 10; round++) {
        uint64_t now = T0 + (uint64_t)round * 10 * SEC;
        for (int pass = 0; pass < 2; pass++) {
            for (int k = 0; k < 16; k++) {
                int j = pass ? 15 - k : k, persistent = j >= 8;
                int n = persistent ? snprintf(key, sizeof key, "p-%d", j)
                                   : snprintf(key, sizeof key, "t-%d-%d", round, j);
                gw_ratelimit_take(rl, key, (size_t)n, persistent ? 5 : 1, now, &r);
                uint64_t want = persistent ? (uint64_t)(995 - 5 * pass - 8 * round) : (uint64_t)(999 - pass);
                wrong += r.remaining != want;
            }
        }
    }
    wrong += gw_ratelimit_count(rl) != 16;
    gw_ratelimit_free(rl);
    return wrong;
}

static void test_churn(void)
{
    int wrong = 0;
    for (int i = 0; i < 300; i++)
        wrong += churn_one();
    T_OK(wrong == 0, "churn: %d wrong counts", wrong);
}

typedef struct worker {
    gw_ratelimit_t *rl;
    long allowed;
} worker_t;

static void *race(void *arg)
{
    static const char *keys[] = {"tenant-a", "tenant-b", "10.1.2.3", "2001:db8::1"};
    worker_t *w = arg;
    for (int i = 0; i < 100000; i++) {
        const char *k = keys[i % 4];
        w->allowed += gw_ratelimit_take(w->rl, k, strlen(k), 1, T0, NULL) == 1;
    }
    return NULL;
}

static void test_threads(void)
{
    gw_ratelimit_t *rl = gw_ratelimit_new(16, 5.0, 50000.0, 64); /* 100k takes per key: half allowed */
    worker_t w[4];
    pthread_t th[4];
    long total = 0;
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){.rl = rl};
        pthread_create(&th[i], NULL, race, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += w[i].allowed;
    }
    T_OK(total == 4 * 50000, "4 threads x 100k takes on 4 keys at a frozen clock: %ld allowed, want 4 x burst",
         total);
    gw_ratelimit_free(rl);
}

int main(void)
{
    test_bucket();
    test_keyed_basics();
    test_unlimited_and_set();
    test_eviction();
    test_churn();
    test_threads();
    return t_done("test_ratelimit");
}

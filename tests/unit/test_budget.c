/* test_budget.c - budget reservations and tokens_per_min (budget.h):
 * exact arithmetic on a virtual clock, and threads hammering
 * reserve/settle on one tenant: the spend never passes the budget when no
 * request costs more than it reserved, and passes it by at most one
 * request's excess when they do. */
#include <pthread.h>
#include <string.h>

#include "budget.h"
#include "test.h"

#define SEC 1000000000ull
#define T0 (1000 * SEC)

static void test_budget_exact(void)
{
    gw_budget_state_t st;
    memset(&st, 0, sizeof(st));
    gw_budget_limits_t lim = {.budget_nusd = 1000, .tokens_per_min = 0};
    gw_budget_hold_t h[4];
    T_OK(gw_budget_reserve(&st, &lim, 300, 10, T0, &h[0], NULL) == GW_OK, "first 300");
    T_OK(gw_budget_reserve(&st, &lim, 300, 10, T0, &h[1], NULL) == GW_OK, "second 300");
    T_OK(gw_budget_reserve(&st, &lim, 300, 10, T0, &h[2], NULL) == GW_OK, "third 300");
    T_OK(gw_budget_reserve(&st, &lim, 300, 10, T0, &h[3], NULL) == GW_EDENIED, "fourth 300 refused (900 held)");
    T_OK(h[3].st == NULL, "refused: nothing held");
    T_OK(gw_budget_left(&st, &lim) == 100, "left 100, got %lld", (long long)gw_budget_left(&st, &lim));
    gw_budget_settle(&h[0], 100, 5);
    T_OK(atomic_load(&st.spent_nusd) == 100 && atomic_load(&st.committed_nusd) == 700, "settle 100: committed 700");
    gw_budget_settle(&h[0], 100, 5);
    T_OK(atomic_load(&st.spent_nusd) == 100, "second settle is a no-op");
    T_OK(gw_budget_reserve(&st, &lim, 300, 10, T0, &h[3], NULL) == GW_OK, "fits again after the settle");
    gw_budget_settle(&h[1], 0, 0);
    gw_budget_settle(&h[2], 450, 0); /* costs more than reserved: counted all the same */
    gw_budget_settle(&h[3], 300, 0);
    T_OK(atomic_load(&st.spent_nusd) == 850 && atomic_load(&st.committed_nusd) == 850, "spent 850 = committed");
    T_OK(gw_budget_reserve(&st, &lim, 151, 0, T0, &h[0], NULL) == GW_EDENIED, "151 > 150 left");
    T_OK(gw_budget_reserve(&st, &lim, 150, 0, T0, &h[0], NULL) == GW_OK, "exactly the rest fits");
    gw_budget_settle(&h[0], 150, 0);
    T_OK(gw_budget_left(&st, &lim) == 0, "budget used up to the nano-dollar");
    T_OK(gw_budget_reserve(&st, &lim, 0, 0, T0, &h[0], NULL) == GW_OK, "a free request still passes at 0 left");
    gw_budget_settle(&h[0], 0, 0);

    gw_budget_limits_t none = {.budget_nusd = -1, .tokens_per_min = 0};
    T_OK(gw_budget_left(&st, &none) == INT64_MAX, "no budget: unlimited");
    T_OK(gw_budget_reserve(&st, &none, 1000000, 0, T0, &h[0], NULL) == GW_OK, "no budget: always");
    gw_budget_settle(&h[0], 7, 0);
    T_OK(atomic_load(&st.spent_nusd) == 1007, "spend still counted without a budget");
    gw_budget_charge(&st, 3);
    T_OK(atomic_load(&st.spent_nusd) == 1010 && atomic_load(&st.committed_nusd) == 1010, "charge adds to both");
    T_OK(gw_budget_reserve(NULL, &lim, 5, 5, T0, &h[0], NULL) == GW_OK && h[0].st == NULL, "no tenant: empty hold");
    gw_budget_settle(&h[0], 5, 5);
}

static void test_tpm(void)
{
    gw_budget_state_t st;
    memset(&st, 0, sizeof(st));
    gw_budget_limits_t lim = {.budget_nusd = -1, .tokens_per_min = 600}; /* 10 tokens/s */
    gw_budget_hold_t a, b, c;
    uint64_t retry = 0;
    T_OK(gw_budget_reserve(&st, &lim, 0, 600, T0, &a, &retry) == GW_OK, "a full minute at once");
    T_OK(gw_budget_reserve(&st, &lim, 0, 1, T0, &b, &retry) == GW_AGAIN, "then nothing");
    T_OK(retry == 1, "retry after 1 s (0.1 s rounded up), got %llu", (unsigned long long)retry);
    T_OK(gw_budget_reserve(&st, &lim, 0, 10, T0 + SEC, &b, &retry) == GW_OK, "1 s later: 10 tokens");
    T_OK(gw_budget_reserve(&st, &lim, 0, 1, T0 + SEC, &c, &retry) == GW_AGAIN, "and not 11");
    gw_budget_settle(&a, 0, 300); /* used 300 of 600: 300 go back */
    T_OK(gw_budget_reserve(&st, &lim, 0, 300, T0 + SEC, &c, &retry) == GW_OK, "refund makes room for 300");
    T_OK(gw_budget_reserve(&st, &lim, 0, 1, T0 + SEC, &a, &retry) == GW_AGAIN, "exactly 300");
    gw_budget_settle(&b, 0, 10);
    gw_budget_settle(&c, 0, 900); /* 600 more than reserved: debt */
    T_OK(gw_budget_reserve(&st, &lim, 0, 1, T0 + 60 * SEC, &a, &retry) == GW_AGAIN, "debt: still refused a minute on");
    T_OK(retry == 2, "tat is 61.1 s ahead: retry after ceil(1.1) = 2, got %llu", (unsigned long long)retry);
    T_OK(gw_budget_reserve(&st, &lim, 0, 5000, T0 + 200 * SEC, &a, &retry) == GW_OK && a.reserved_tokens == 600,
         "more than a minute's worth reserves one minute (can pass)");
    gw_budget_settle(&a, 0, 600);
    gw_budget_limits_t both = {.budget_nusd = 100, .tokens_per_min = 600};
    gw_budget_state_t s2;
    memset(&s2, 0, sizeof(s2));
    T_OK(gw_budget_reserve(&s2, &both, 50, 600, T0, &a, &retry) == GW_OK, "both limits");
    T_OK(gw_budget_reserve(&s2, &both, 50, 600, T0, &b, &retry) == GW_AGAIN, "tpm refuses");
    T_OK(atomic_load(&s2.committed_nusd) == 50, "the refused request's budget part was given back");
}

#define THREADS 8
#define PER_THREAD 20000
#define RESERVE 1000
#define BUDGET 5000000 /* fits 5000 reservations; 160000 try */

typedef struct race {
    gw_budget_state_t st;
    gw_budget_limits_t lim;
    int excess; /* each request costs RESERVE + excess */
    _Atomic long admitted;
    _Atomic int64_t max_committed;
} race_t;

static void *racer(void *arg)
{
    race_t *r = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        gw_budget_hold_t h;
        if (gw_budget_reserve(&r->st, &r->lim, RESERVE, 0, T0, &h, NULL) != GW_OK)
            continue;
        atomic_fetch_add(&r->admitted, 1);
        int64_t c = atomic_load(&r->st.committed_nusd), m = atomic_load(&r->max_committed);
        while (c > m && !atomic_compare_exchange_weak(&r->max_committed, &m, c))
            ;
        int64_t cost = r->excess ? RESERVE + r->excess : (i % 3) * RESERVE / 2; /* 0, 500 or 1000 */
        gw_budget_settle(&h, cost, 0);
    }
    return NULL;
}

static void run_race(int excess)
{
    race_t r;
    memset(&r, 0, sizeof(r));
    r.lim.budget_nusd = BUDGET;
    r.excess = excess;
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, racer, &r);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    int64_t spent = atomic_load(&r.st.spent_nusd), committed = atomic_load(&r.st.committed_nusd);
    T_OK(committed == spent, "all settled: committed %lld == spent %lld", (long long)committed, (long long)spent);
    if (!excess) {
        T_OK(spent <= BUDGET, "never over budget: spent %lld", (long long)spent);
        T_OK(atomic_load(&r.max_committed) <= BUDGET, "committed never passed the budget: %lld",
             (long long)atomic_load(&r.max_committed));
        T_OK(spent > BUDGET - RESERVE, "budget used up (spent %lld)", (long long)spent);
    } else {
        /* each request may overrun its reservation by excess; the check
         * before a reservation still holds, so the total passes the
         * budget by at most one request's excess per concurrent holder */
        T_OK(spent <= BUDGET + (int64_t)THREADS * excess, "over by at most one excess per thread: %lld",
             (long long)spent);
        T_OK(atomic_load(&r.admitted) <= BUDGET / RESERVE, "admitted %ld <= %d", atomic_load(&r.admitted),
             BUDGET / RESERVE);
    }
}

int main(void)
{
    test_budget_exact();
    test_tpm();
    run_race(0);
    run_race(100);
    return t_done("test_budget");
}

/* budget.c - lock-free budget reservations and the tokens-per-minute GCRA (see budget.h). */
#include "budget.h"

#include <string.h>

#define MINUTE_NS 60000000000ull

/* CAS loop: adds cost to committed unless that passes the budget. */
static int budget_take(gw_budget_state_t *st, int64_t budget, int64_t cost)
{
    int64_t cur = atomic_load_explicit(&st->committed_nusd, memory_order_relaxed);
    do {
        if (cur + cost > budget)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&st->committed_nusd, &cur, cur + cost, memory_order_acq_rel,
                                                    memory_order_relaxed));
    return 1;
}

static uint64_t tokens_ns(int64_t tokens, int64_t per_min)
{
    return (uint64_t)tokens * MINUTE_NS / (uint64_t)per_min;
}

/* GCRA: 1 when tokens fit now; else 0 and *wait_ns until they do. */
static int tpm_take(gw_budget_state_t *st, int64_t per_min, int64_t tokens, uint64_t now, uint64_t *wait_ns)
{
    uint64_t inc = tokens_ns(tokens, per_min);
    uint64_t tat = atomic_load_explicit(&st->tpm_tat_ns, memory_order_relaxed);
    uint64_t next;
    do {
        next = (tat > now ? tat : now) + inc;
        if (next - now > MINUTE_NS) {
            *wait_ns = next - now - MINUTE_NS;
            return 0;
        }
    } while (!atomic_compare_exchange_weak_explicit(&st->tpm_tat_ns, &tat, next, memory_order_acq_rel,
                                                    memory_order_relaxed));
    return 1;
}

gw_err_t gw_budget_reserve(gw_budget_state_t *st, const gw_budget_limits_t *lim, int64_t cost_nusd, int64_t tokens,
                           uint64_t now_ns, gw_budget_hold_t *hold, uint64_t *retry_after_s)
{
    memset(hold, 0, sizeof(*hold));
    if (st == NULL)
        return GW_OK;
    cost_nusd = cost_nusd > 0 ? cost_nusd : 0;
    tokens = tokens > 0 ? tokens : 0;
    if (lim->budget_nusd >= 0 && !budget_take(st, lim->budget_nusd, cost_nusd))
        return GW_EDENIED;
    if (lim->budget_nusd < 0)
        atomic_fetch_add_explicit(&st->committed_nusd, cost_nusd, memory_order_relaxed);
    if (lim->tokens_per_min > 0) {
        if (tokens > lim->tokens_per_min)
            tokens = lim->tokens_per_min;
        uint64_t wait = 0;
        if (!tpm_take(st, lim->tokens_per_min, tokens, now_ns, &wait)) {
            atomic_fetch_sub_explicit(&st->committed_nusd, cost_nusd, memory_order_relaxed);
            if (retry_after_s != NULL)
                *retry_after_s = wait / 1000000000ull + 1;
            return GW_AGAIN;
        }
        hold->reserved_tokens = tokens;
        hold->tokens_per_min = lim->tokens_per_min;
    }
    hold->st = st;
    hold->reserved_nusd = cost_nusd;
    return GW_OK;
}

void gw_budget_settle(gw_budget_hold_t *hold, int64_t cost_nusd, int64_t tokens)
{
    gw_budget_state_t *st = hold->st;
    if (st == NULL || hold->settled)
        return;
    hold->settled = 1;
    cost_nusd = cost_nusd > 0 ? cost_nusd : 0;
    atomic_fetch_add_explicit(&st->committed_nusd, cost_nusd - hold->reserved_nusd, memory_order_acq_rel);
    atomic_fetch_add_explicit(&st->spent_nusd, cost_nusd, memory_order_relaxed);
    if (hold->tokens_per_min <= 0)
        return;
    int64_t diff = (tokens > 0 ? tokens : 0) - hold->reserved_tokens;
    if (diff > 10 * hold->tokens_per_min)
        diff = 10 * hold->tokens_per_min; /* a bound on the debt one request can leave */
    if (diff > 0)
        atomic_fetch_add_explicit(&st->tpm_tat_ns, tokens_ns(diff, hold->tokens_per_min), memory_order_acq_rel);
    else if (diff < 0)
        atomic_fetch_sub_explicit(&st->tpm_tat_ns, tokens_ns(-diff, hold->tokens_per_min), memory_order_acq_rel);
}

void gw_budget_charge(gw_budget_state_t *st, int64_t cost_nusd)
{
    if (st == NULL || cost_nusd <= 0)
        return;
    atomic_fetch_add_explicit(&st->committed_nusd, cost_nusd, memory_order_acq_rel);
    atomic_fetch_add_explicit(&st->spent_nusd, cost_nusd, memory_order_relaxed);
}

int64_t gw_budget_left(const gw_budget_state_t *st, const gw_budget_limits_t *lim)
{
    if (lim->budget_nusd < 0)
        return INT64_MAX;
    int64_t c = st != NULL ? atomic_load_explicit(&((gw_budget_state_t *)st)->committed_nusd, memory_order_relaxed)
                           : 0;
    return lim->budget_nusd - c;
}

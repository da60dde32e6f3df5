/* budget.h - hard tenant budgets and tokens-per-minute limits, one
 * reserve/settle interface for both.
 *
 * At admission a request reserves its worst case (USD in nano-USD and
 * tokens); when it ends it settles the real figures. A budget reservation
 * is one compare-and-swap on the tenant's committed spend (settled spend +
 * outstanding reservations), so N concurrent requests can overspend only
 * by what a request costs beyond its own reservation, never by racing.
 * tokens_per_min is a GCRA (virtual scheduling) bucket on one atomic: the
 * capacity is one minute of tokens, refills continuously, and a settle
 * returns unused reserved tokens. No locks: every state word is atomic.
 * A shared backend (Redis) can sit behind the same two calls later.
 */
#ifndef GW_BUDGET_H
#define GW_BUDGET_H

#include <stdatomic.h>
#include <stdint.h>

#include "err.h"

/* One tenant's state, shared across config reloads (see usage.h). */
typedef struct gw_budget_state {
    atomic_int refs;                   /* owned by the usage tables that point here */
    _Atomic int64_t committed_nusd;    /* settled spend + outstanding reservations */
    _Atomic int64_t spent_nusd;        /* settled spend */
    _Atomic uint64_t tpm_tat_ns;       /* GCRA theoretical arrival time */
    int metrics_label;                 /* /metrics gives it its own tenant label (under gw_metrics_t.labels_lock) */
} gw_budget_state_t;

/* A tenant's limits, from its config. */
typedef struct gw_budget_limits {
    int64_t budget_nusd;    /* < 0: no budget */
    int64_t tokens_per_min; /* 0: unlimited */
} gw_budget_limits_t;

/* What a request holds between reserve and settle. Zero it (or let
 * gw_budget_reserve fill it) before use; a zeroed hold settles as "no
 * reservation, no tenant". */
typedef struct gw_budget_hold {
    gw_budget_state_t *st; /* borrowed: the usage table the request holds keeps it alive */
    int64_t reserved_nusd;
    int64_t reserved_tokens;
    int64_t tokens_per_min;
    int settled;
} gw_budget_hold_t;

/* Reserves cost_nusd against the budget and tokens against tokens_per_min
 * at now_ns. GW_OK: *hold is filled (settle it exactly once). GW_EDENIED:
 * the budget cannot take cost_nusd (nothing held). GW_AGAIN: tokens are
 * over the per-minute limit; *retry_after_s (>= 1) says when they fit
 * (nothing held). A request asking more tokens than one minute's worth
 * reserves one minute's worth, so it can pass when the bucket is full.
 * st may be NULL (no tenant): GW_OK with an empty hold. */
gw_err_t gw_budget_reserve(gw_budget_state_t *st, const gw_budget_limits_t *lim, int64_t cost_nusd, int64_t tokens,
                           uint64_t now_ns, gw_budget_hold_t *hold, uint64_t *retry_after_s);

/* Settles a hold with the real cost and tokens: the reservation is
 * replaced by cost_nusd (which counts as spent even beyond the budget),
 * and unused tokens go back to the per-minute bucket. A second settle is
 * a no-op. Without a state (st NULL) nothing happens. */
void gw_budget_settle(gw_budget_hold_t *hold, int64_t cost_nusd, int64_t tokens);

/* Adds a spend that was never reserved (e.g. a route that bills without
 * admission). */
void gw_budget_charge(gw_budget_state_t *st, int64_t cost_nusd);

/* Budget left in nano-USD: budget - committed (may be negative), or
 * INT64_MAX without a budget. */
int64_t gw_budget_left(const gw_budget_state_t *st, const gw_budget_limits_t *lim);

#endif

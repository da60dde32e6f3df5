/* redis_limits.h - rate limits and budgets shared by every replica through
 * one Redis (issue 5 item 3): atomic Lua scripts, sent with EVALSHA and
 * resent with EVAL when the server answers NOSCRIPT (a restarted or
 * flushed Redis), on the client's loop (redis.h).
 *
 *   token bucket   take `cost` tokens from a bucket of `burst` refilled at
 *                  `rate`/s: allowed, whole tokens left, retry-after. The
 *                  clock is the Redis server's (TIME), so replicas with
 *                  skewed clocks still share one bucket. Tokens per minute
 *                  use the same bucket (rate = tpm/60, burst = tpm): take
 *                  the reservation, then refund (reserved - actual) when
 *                  the request ends (a negative refund is extra debt).
 *   budget         reserve `amount` only if spent + reserved + amount <=
 *                  budget; settle releases the reservation and adds the
 *                  real cost. Integers: nano-USD (what the budget code
 *                  passes; the scripts only add and compare).
 *
 * Suggested keys: llmgw:rl:<tenant>, llmgw:tpm:<tenant>, llmgw:budget:<tenant>
 * (buckets expire when full and idle; budgets never expire). A replica
 * that dies between reserve and settle leaves its reservation counted
 * (spend stays under the budget; the budget looks smaller until reset).
 *
 * Every call's callback runs exactly once on the loop, never before the
 * call returns. When Redis is down, times out or answers garbage the
 * result is GW_RL_UNAVAILABLE, so the caller applies redis_policy
 * (gw_rl_policy_allows). Functions borrow their arguments.
 */
#ifndef GW_REDIS_LIMITS_H
#define GW_REDIS_LIMITS_H

#include <stdint.h>

#include "err.h"
#include "redis.h"

typedef enum gw_rl_status {
    GW_RL_ALLOWED = 0,
    GW_RL_DENIED,
    GW_RL_UNAVAILABLE /* Redis down, timed out, or an unexpected reply: apply redis_policy */
} gw_rl_status_t;

typedef struct gw_rl_result {
    gw_rl_status_t status;
    gw_err_t err;           /* UNAVAILABLE: GW_EIO (down), GW_ETIMEOUT, GW_EUPSTREAM (error/odd reply) */
    int64_t remaining;      /* bucket: whole tokens left (negative: debt); budget: budget - spent - reserved */
    int64_t retry_after_ms; /* bucket, denied: until `cost` tokens are there; -1: never (cost > burst) */
    int64_t spent;          /* budget: after the call */
    int64_t reserved;       /* budget: after the call */
} gw_rl_result_t;

typedef struct gw_rlim gw_rlim_t;

typedef void (*gw_rl_cb)(gw_rlim_t *l, const gw_rl_result_t *res, void *data);

typedef struct gw_rlim_stats {
    uint64_t allowed, denied, unavailable, noscript_reloads;
} gw_rlim_stats_t;

/* Limits on client r (borrowed; it must outlive l, and pending calls end
 * when r is freed). NULL on no memory. */
gw_rlim_t *gw_rlim_new(gw_redis_t *r);
/* Frees l (on its loop's thread). Calls still pending keep it alive until
 * their callbacks have run: gw_redis_free of the client ends sent ones at
 * once (UNAVAILABLE), unsent ones report on the next loop turn. NULL is
 * fine. */
void gw_rlim_free(gw_rlim_t *l);

/* Token bucket: takes cost (>= 1) tokens from key if it holds them. rate
 * > 0 tokens/s, burst >= 1. GW_OK (cb will run) or GW_EINVAL (bad
 * arguments; cb will not run) or GW_ENOMEM. */
gw_err_t gw_rlim_take(gw_rlim_t *l, const char *key, double rate, double burst, int64_t cost, gw_rl_cb cb,
                      void *data);
/* Gives amount tokens back to key (capped at burst); a negative amount
 * takes more (debt). status ALLOWED with remaining, or UNAVAILABLE. */
gw_err_t gw_rlim_refund(gw_rlim_t *l, const char *key, double rate, double burst, int64_t amount, gw_rl_cb cb,
                        void *data);
/* Budget: reserves amount (>= 0) nano-USD against budget (>= 0). */
gw_err_t gw_rlim_budget_reserve(gw_rlim_t *l, const char *key, int64_t amount, int64_t budget, gw_rl_cb cb,
                                void *data);
/* Releases a reservation of reserved and adds actual (both >= 0) to spent.
 * status ALLOWED with spent/reserved, or UNAVAILABLE. */
gw_err_t gw_rlim_budget_settle(gw_rlim_t *l, const char *key, int64_t reserved, int64_t actual, gw_rl_cb cb,
                               void *data);

/* Whether the request may go on: ALLOWED yes, DENIED no, UNAVAILABLE as
 * the policy says (fail_open = cfg->redis_fail_open). */
int gw_rl_policy_allows(const gw_rl_result_t *res, int fail_open);
/* Copies the counters. */
void gw_rlim_stats(const gw_rlim_t *l, gw_rlim_stats_t *out);

#endif

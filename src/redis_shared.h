/* redis_shared.h - a worker's view of the rate limits and budgets shared by
 * every replica through one Redis (issue 5 item 3): one admission asks the
 * tenant's request bucket, tokens-per-minute bucket and budget at once
 * (three pipelined scripts of redis_limits.h, one round trip), folds the
 * answers into one verdict (undoing the parts that passed when another
 * refused) and applies redis_policy when Redis does not answer; a settle
 * hands back what a finished request did not use and adds what it spent.
 *
 * Keys: llmgw:rl:<tenant>, llmgw:tpm:<tenant>, llmgw:budget:<tenant> (a
 * hash {spent, reserved} in nano-USD). One gw_shared_t belongs to one
 * worker loop and is used on that thread only; gw_shared_stats may be
 * called from any thread. Functions borrow their arguments.
 */
#ifndef GW_REDIS_SHARED_H
#define GW_REDIS_SHARED_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"

typedef struct gw_shared gw_shared_t;

/* What one admission asks for. A part is skipped when its limit is off. */
typedef struct gw_shared_ask {
    const char *tenant;  /* tenant id (key suffix), required */
    double rps, burst;   /* request bucket; rps <= 0: none (burst < 1 counts as max(1, rps)) */
    int64_t tpm, tokens; /* tokens-per-minute bucket; tpm <= 0 or tokens <= 0: none */
    int64_t budget_nusd; /* < 0: no budget */
    int64_t cost_nusd;   /* worst case to reserve against the budget (>= 0) */
    int fail_open;       /* redis_policy: 1 fail_open, 0 fail_closed */
} gw_shared_ask_t;

typedef enum gw_shared_verdict {
    GW_SHARED_ADMIT = 0,
    GW_SHARED_DENY_RPS,    /* request bucket empty: retry_after_ms */
    GW_SHARED_DENY_TPM,    /* tokens per minute: retry_after_ms (-1: more than a minute's worth) */
    GW_SHARED_DENY_BUDGET, /* budget: budget_left_nusd */
    GW_SHARED_UNAVAILABLE  /* Redis down or too slow and fail_closed: answer 503 */
} gw_shared_verdict_t;

typedef struct gw_shared_result {
    gw_shared_verdict_t verdict;
    int degraded;             /* admitted by fail_open with part of the check missing */
    int64_t reserved_nusd;    /* ADMIT: held in Redis, to settle */
    int64_t reserved_tokens;  /* ADMIT: taken from the tpm bucket, to settle */
    int64_t retry_after_ms;   /* DENY_RPS / DENY_TPM */
    int64_t budget_left_nusd; /* DENY_BUDGET: budget - spent - reserved */
} gw_shared_result_t;

typedef void (*gw_shared_cb)(const gw_shared_result_t *res, void *data);

/* Counters for /metrics (sums over the worker's client and limits). */
typedef struct gw_shared_stats {
    uint64_t commands, errors, timeouts, reconnects; /* the Redis client (redis.h) */
    uint64_t allowed, denied, unavailable, script_reloads; /* script calls (redis_limits.h) */
    uint64_t fail_open_admits;     /* admitted without (part of) the shared check */
    uint64_t fail_closed_refusals; /* answered 503 shared_state_unavailable */
    uint64_t settles_lost;         /* settles or undos Redis never took (down) */
    int up;                        /* the connection is established */
} gw_shared_stats_t;

/* A client on loop for url (redis://, unix://), commands timing out after
 * timeout_ms (0: 100); worker names it in log lines. Returns at once (a
 * Redis that does not answer yet is not an error). GW_EINVAL /
 * GW_EUNSUPPORTED (rediss://) / GW_ENOMEM with a reason in err. */
gw_err_t gw_shared_new(uv_loop_t *loop, const char *url, uint32_t timeout_ms, size_t worker, gw_shared_t **out,
                       char *err, size_t errlen);
/* Waits for the calls still in flight (settles above all; each ends by its
 * timeout at worst), then frees the client and calls done(data) once,
 * possibly before returning. The loop must keep running until then and
 * until the handles are closed. s NULL: done at once. */
void gw_shared_close(gw_shared_t *s, void (*done)(void *data), void *data);

/* 1 when q asks for nothing (every part off): no admission is needed. */
int gw_shared_ask_empty(const gw_shared_ask_t *q);

/* Starts one admission. GW_OK: cb runs exactly once, later, on the loop
 * (never inside this call). GW_EINVAL (no tenant, nothing to ask, closing)
 * / GW_ENOMEM: cb never runs. */
gw_err_t gw_shared_admit(gw_shared_t *s, const gw_shared_ask_t *a, gw_shared_cb cb, void *data);

/* Ends an admitted request: releases reserved_nusd and adds actual_nusd to
 * the budget (when budget_nusd >= 0), and gives reserved_tokens -
 * actual_tokens back to the tpm bucket (a negative difference is debt;
 * when tpm > 0). Fire and forget: a settle Redis does not take is counted
 * in settles_lost (the spend is then missing from the shared budget). */
void gw_shared_settle(gw_shared_t *s, const char *tenant, int64_t budget_nusd, int64_t reserved_nusd,
                      int64_t actual_nusd, int64_t tpm, int64_t reserved_tokens, int64_t actual_tokens);

/* Copies the counters (any thread). s NULL: zeros. */
void gw_shared_stats(const gw_shared_t *s, gw_shared_stats_t *out);

/* The key of tenant for part ("rl", "tpm" or "budget") into out. */
void gw_shared_key(char *out, size_t cap, const char *part, const char *tenant);

#endif

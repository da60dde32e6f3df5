/* redis_shared.c - the shared admission and settle of redis_shared.h: up
 * to three redis_limits.h scripts sent together (hiredis pipelines them on
 * the one connection), answers folded into one verdict, the parts that
 * passed undone when another refused, redis_policy applied when a part got
 * no answer, one log line per change between "Redis answers" and "Redis
 * does not answer", and a close that waits for the calls in flight.
 */
#include "redis_shared.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "redis.h"
#include "redis_limits.h"

struct gw_shared {
    gw_redis_t *r;
    gw_rlim_t *l;
    size_t worker;
    size_t pending;   /* our script calls whose callback has not run */
    int down;         /* the last call got no answer (for the log line) */
    int closing, close_started;
    void (*done)(void *);
    void *done_data;
    uv_timer_t close_timer;
    atomic_uint_least64_t fail_open_admits, fail_closed_refusals, settles_lost;
};

enum { P_RPS, P_TPM, P_BUDGET, P_N };

typedef struct admit {
    gw_shared_t *s;
    gw_shared_cb cb;
    void *data;
    int fail_open;
    char *key[P_N];
    double tpm_rate, tpm_burst;
    int64_t tokens, cost;
    int asked[P_N];
    gw_rl_result_t res[P_N];
    int waiting; /* parts not answered yet, +1 while starting */
} admit_t;

static const char *const PART_NAME[P_N] = {"rl", "tpm", "budget"};

void gw_shared_key(char *out, size_t cap, const char *part, const char *tenant)
{
    snprintf(out, cap, "llmgw:%s:%s", part, tenant);
}

/* A new "llmgw:<part>:<tenant>" (any length of tenant id). */
static char *key_new(const char *part, const char *tenant)
{
    size_t n = strlen("llmgw::") + strlen(part) + strlen(tenant) + 1;
    char *k = gw_malloc(n);
    if (k != NULL)
        gw_shared_key(k, n, part, tenant);
    return k;
}

/* ---- life ---- */

gw_err_t gw_shared_new(uv_loop_t *loop, const char *url, uint32_t timeout_ms, size_t worker, gw_shared_t **out,
                       char *err, size_t errlen)
{
    char name[48];
    *out = NULL;
    gw_shared_t *s = gw_calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    snprintf(name, sizeof name, "shared limits (worker %zu)", worker);
    gw_redis_opts_t o = {.url = url, .timeout_ms = timeout_ms, .name = name};
    char why[256] = "";
    gw_err_t rc = gw_redis_new(loop, &o, &s->r, why, sizeof why);
    if (rc != GW_OK) {
        snprintf(err, errlen, "redis_url: %s", why);
        gw_free(s);
        return rc;
    }
    if ((s->l = gw_rlim_new(s->r)) == NULL) {
        gw_redis_free(s->r); /* its handles close on the loop's next run */
        gw_free(s);
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    s->worker = worker;
    uv_timer_init(loop, &s->close_timer);
    s->close_timer.data = s;
    *out = s;
    return GW_OK;
}

static void on_close_closed(uv_handle_t *h)
{
    gw_free(h->data);
}

/* From a timer, never inside a Redis callback (gw_redis_free forbids it). */
static void on_close_timer(uv_timer_t *t)
{
    gw_shared_t *s = t->data;
    gw_rlim_free(s->l);
    gw_redis_free(s->r);
    void (*done)(void *) = s->done;
    void *data = s->done_data;
    uv_close((uv_handle_t *)&s->close_timer, on_close_closed);
    if (done != NULL)
        done(data);
}

static void maybe_finish_close(gw_shared_t *s)
{
    if (!s->closing || s->pending > 0 || s->close_started)
        return;
    s->close_started = 1;
    uv_timer_start(&s->close_timer, on_close_timer, 0, 0);
}

void gw_shared_close(gw_shared_t *s, void (*done)(void *data), void *data)
{
    if (s == NULL) {
        if (done != NULL)
            done(data);
        return;
    }
    s->closing = 1;
    s->done = done;
    s->done_data = data;
    maybe_finish_close(s);
}

/* ---- state ---- */

static const char *why(gw_err_t err)
{
    return err == GW_ETIMEOUT ? "timed out" : err == GW_EUPSTREAM ? "odd reply" : "not connected";
}

/* One log line per change; policy < 0 for a settle (no admission decided). */
static void note_state(gw_shared_t *s, int unavailable, gw_err_t err, int policy)
{
    if (unavailable && !s->down && !s->closing)
        gw_log_msg("shared limits (worker %zu): Redis %s; redis_policy %s", s->worker, why(err),
                   policy < 0  ? "applies to admissions, settles are lost until it is back"
                   : policy    ? "fail_open: admitting without the shared limits and budgets"
                               : "fail_closed: answering 503 shared_state_unavailable");
    else if (!unavailable && s->down)
        gw_log_msg("shared limits (worker %zu): Redis answers again; limits and budgets are shared again", s->worker);
    s->down = unavailable;
}

/* ---- fire and forget (settles, undos) ---- */

static void on_fire(gw_rlim_t *l, const gw_rl_result_t *res, void *data)
{
    (void)l;
    gw_shared_t *s = data;
    s->pending--;
    if (res->status == GW_RL_UNAVAILABLE)
        atomic_fetch_add(&s->settles_lost, 1);
    note_state(s, res->status == GW_RL_UNAVAILABLE, res->err, -1);
    maybe_finish_close(s);
}

static void fire(gw_shared_t *s, gw_err_t rc)
{
    if (rc == GW_OK)
        s->pending++;
    else
        atomic_fetch_add(&s->settles_lost, 1);
}

static void settle_budget(gw_shared_t *s, const char *key, int64_t reserved, int64_t actual)
{
    fire(s, key != NULL ? gw_rlim_budget_settle(s->l, key, reserved, actual, on_fire, s) : GW_ENOMEM);
}

static void refund_tokens(gw_shared_t *s, const char *key, int64_t tpm, int64_t amount)
{
    fire(s, key != NULL ? gw_rlim_refund(s->l, key, (double)tpm / 60.0, (double)tpm, amount, on_fire, s)
                        : GW_ENOMEM);
}

void gw_shared_settle(gw_shared_t *s, const char *tenant, int64_t budget_nusd, int64_t reserved_nusd,
                      int64_t actual_nusd, int64_t tpm, int64_t reserved_tokens, int64_t actual_tokens)
{
    if (s == NULL || tenant == NULL)
        return;
    reserved_nusd = reserved_nusd > 0 ? reserved_nusd : 0;
    actual_nusd = actual_nusd > 0 ? actual_nusd : 0;
    if (budget_nusd >= 0 && (reserved_nusd > 0 || actual_nusd > 0)) {
        char *k = key_new("budget", tenant);
        settle_budget(s, k, reserved_nusd, actual_nusd);
        gw_free(k);
    }
    if (tpm > 0 && reserved_tokens != actual_tokens) {
        char *k = key_new("tpm", tenant);
        refund_tokens(s, k, tpm, reserved_tokens - actual_tokens);
        gw_free(k);
    }
}

/* ---- admission ---- */

static void admit_free(admit_t *a)
{
    for (int p = 0; p < P_N; p++)
        gw_free(a->key[p]);
    gw_free(a);
}

static int passed(const admit_t *a, int p)
{
    return a->asked[p] && a->res[p].status == GW_RL_ALLOWED;
}

/* Gives back what the parts that passed took (the request is refused). */
static void undo(admit_t *a)
{
    if (passed(a, P_TPM))
        refund_tokens(a->s, a->key[P_TPM], (int64_t)a->tpm_burst, a->tokens);
    if (passed(a, P_BUDGET))
        settle_budget(a->s, a->key[P_BUDGET], a->cost, 0);
}

static void decide(admit_t *a, gw_shared_result_t *out)
{
    gw_shared_t *s = a->s;
    int denied = -1, unavail = 0;
    gw_err_t err = GW_OK;
    for (int p = P_N - 1; p >= 0; p--) {
        if (a->asked[p] && a->res[p].status == GW_RL_DENIED)
            denied = p; /* the first in order rps, tpm, budget */
        if (a->asked[p] && a->res[p].status == GW_RL_UNAVAILABLE)
            unavail = 1, err = a->res[p].err;
    }
    memset(out, 0, sizeof *out);
    note_state(s, unavail, err, a->fail_open);
    if (denied >= 0) {
        static const gw_shared_verdict_t V[P_N] = {GW_SHARED_DENY_RPS, GW_SHARED_DENY_TPM, GW_SHARED_DENY_BUDGET};
        out->verdict = V[denied];
        out->retry_after_ms = a->res[denied].retry_after_ms;
        out->budget_left_nusd = a->res[denied].remaining;
        undo(a);
    } else if (unavail && !a->fail_open) {
        out->verdict = GW_SHARED_UNAVAILABLE;
        atomic_fetch_add(&s->fail_closed_refusals, 1);
        undo(a);
    } else {
        out->verdict = GW_SHARED_ADMIT;
        out->degraded = unavail;
        if (unavail)
            atomic_fetch_add(&s->fail_open_admits, 1);
        out->reserved_nusd = passed(a, P_BUDGET) ? a->cost : 0;
        out->reserved_tokens = passed(a, P_TPM) ? a->tokens : 0;
    }
}

static void part_done(admit_t *a, int p, const gw_rl_result_t *res)
{
    a->res[p] = *res;
    a->s->pending--;
    if (--a->waiting > 0)
        return;
    gw_shared_result_t out;
    decide(a, &out);
    gw_shared_t *s = a->s;
    a->cb(&out, a->data);
    admit_free(a);
    maybe_finish_close(s);
}

static void on_rps(gw_rlim_t *l, const gw_rl_result_t *res, void *data)
{
    (void)l;
    part_done(data, P_RPS, res);
}

static void on_tpm(gw_rlim_t *l, const gw_rl_result_t *res, void *data)
{
    (void)l;
    part_done(data, P_TPM, res);
}

static void on_budget(gw_rlim_t *l, const gw_rl_result_t *res, void *data)
{
    (void)l;
    part_done(data, P_BUDGET, res);
}

/* Records the start of part p: sent (an answer will come) or not (no memory:
 * the part counts as unanswered). */
static void started(admit_t *a, int p, gw_err_t rc)
{
    a->asked[p] = 1;
    if (rc == GW_OK) {
        a->waiting++;
        a->s->pending++;
        return;
    }
    a->res[p].status = GW_RL_UNAVAILABLE;
    a->res[p].err = rc;
}

static void start_parts(admit_t *a, const gw_shared_ask_t *q)
{
    gw_shared_t *s = a->s;
    static const gw_rl_cb CB[P_N] = {on_rps, on_tpm, on_budget};
    int want[P_N] = {q->rps > 0, q->tpm > 0 && q->tokens > 0, q->budget_nusd >= 0};
    for (int p = 0; p < P_N; p++) {
        if (!want[p])
            continue;
        a->key[p] = key_new(PART_NAME[p], q->tenant);
        gw_err_t rc = GW_ENOMEM;
        double burst = q->burst >= 1 ? q->burst : q->rps > 1 ? q->rps : 1;
        if (a->key[p] != NULL && p == P_RPS)
            rc = gw_rlim_take(s->l, a->key[p], q->rps, burst, 1, CB[p], a);
        else if (a->key[p] != NULL && p == P_TPM)
            rc = gw_rlim_take(s->l, a->key[p], a->tpm_rate, a->tpm_burst, a->tokens, CB[p], a);
        else if (a->key[p] != NULL)
            rc = gw_rlim_budget_reserve(s->l, a->key[p], a->cost, q->budget_nusd, CB[p], a);
        started(a, p, rc);
    }
}

int gw_shared_ask_empty(const gw_shared_ask_t *q)
{
    return q->rps <= 0 && (q->tpm <= 0 || q->tokens <= 0) && q->budget_nusd < 0;
}

gw_err_t gw_shared_admit(gw_shared_t *s, const gw_shared_ask_t *q, gw_shared_cb cb, void *data)
{
    if (s == NULL || q == NULL || q->tenant == NULL || cb == NULL || s->closing)
        return GW_EINVAL;
    if (gw_shared_ask_empty(q))
        return GW_EINVAL;
    admit_t *a = gw_calloc(1, sizeof *a);
    if (a == NULL)
        return GW_ENOMEM;
    a->s = s;
    a->cb = cb;
    a->data = data;
    a->fail_open = q->fail_open;
    a->tpm_rate = (double)q->tpm / 60.0;
    a->tpm_burst = (double)q->tpm;
    a->tokens = q->tokens < q->tpm ? q->tokens : q->tpm; /* more than a minute's worth reserves one minute */
    a->cost = q->cost_nusd > 0 ? q->cost_nusd : 0;
    a->waiting = 1;
    start_parts(a, q);
    if (--a->waiting > 0)
        return GW_OK;
    admit_free(a); /* nothing could be sent */
    return GW_ENOMEM;
}

void gw_shared_stats(const gw_shared_t *s, gw_shared_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (s == NULL)
        return;
    gw_redis_stats_t rs;
    gw_rlim_stats_t ls;
    gw_redis_stats(s->r, &rs);
    gw_rlim_stats(s->l, &ls);
    gw_shared_t *m = (gw_shared_t *)s; /* atomics: loads only */
    *out = (gw_shared_stats_t){.commands = rs.commands, .errors = rs.errors, .timeouts = rs.timeouts,
                               .reconnects = rs.reconnects, .allowed = ls.allowed, .denied = ls.denied,
                               .unavailable = ls.unavailable, .script_reloads = ls.noscript_reloads,
                               .fail_open_admits = atomic_load(&m->fail_open_admits),
                               .fail_closed_refusals = atomic_load(&m->fail_closed_refusals),
                               .settles_lost = atomic_load(&m->settles_lost), .up = rs.up};
}

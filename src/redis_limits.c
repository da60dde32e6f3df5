/* redis_limits.c - the shared rate limits and budgets of redis_limits.h:
 * four Lua scripts, each sent as EVALSHA (SHA-1 computed here) and resent
 * once as EVAL on NOSCRIPT, their replies checked and turned into a
 * gw_rl_result_t. A call that cannot even be sent (Redis down) reports
 * GW_RL_UNAVAILABLE from a zero timer, so the callback never runs inside
 * the call.
 */
#include "redis_limits.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

/* The bucket's state after refilling up to now (Redis TIME, microseconds). */
#define REFILL                                                                                      \
    "local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])\n"                                    \
    "local t = redis.call('TIME')\n"                                                                \
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"                                       \
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"                                      \
    "local tokens, ts = tonumber(b[1]), tonumber(b[2])\n"                                           \
    "if tokens == nil or ts == nil then tokens, ts = burst, now end\n"                              \
    "if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000000) else now = ts end\n"

#define STORE                                                                                       \
    "redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.0f', now))\n" \
    "redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)\n"

/* ARGV: rate, burst, cost -> {allowed, retry_after_ms (-1 never), floor(tokens)} */
static const char TAKE[] = REFILL "local cost = tonumber(ARGV[3])\n"
                                  "local allowed, retry = 0, 0\n"
                                  "if cost > burst then retry = -1\n"
                                  "elseif tokens >= cost then tokens = tokens - cost; allowed = 1\n"
                                  "else retry = math.ceil((cost - tokens) * 1000 / rate) end\n" STORE
                                  "return {allowed, retry, math.floor(tokens)}\n";

/* ARGV: rate, burst, amount -> {1, 0, floor(tokens)} */
static const char REFUND[] = REFILL "tokens = math.min(burst, tokens + tonumber(ARGV[3]))\n" STORE
                                    "return {1, 0, math.floor(tokens)}\n";

/* ARGV: amount, budget -> {ok, spent, reserved} */
static const char RESERVE[] = "local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')\n"
                              "local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')\n"
                              "if spent + reserved + tonumber(ARGV[1]) <= tonumber(ARGV[2]) then\n"
                              "  reserved = redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])\n"
                              "  return {1, spent, reserved}\n"
                              "end\n"
                              "return {0, spent, reserved}\n";

/* ARGV: -reserved, actual -> {1, spent, reserved} */
static const char SETTLE[] = "local reserved = redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])\n"
                             "if reserved < 0 then redis.call('HSET', KEYS[1], 'reserved', 0); reserved = 0 end\n"
                             "local spent = redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])\n"
                             "return {1, spent, reserved}\n";

enum { S_TAKE, S_REFUND, S_RESERVE, S_SETTLE, S_N };
static const char *const SCRIPTS[S_N] = {TAKE, REFUND, RESERVE, SETTLE};

struct gw_rlim {
    gw_redis_t *r;
    char sha[S_N][41];
    size_t pending; /* calls whose callback has not run yet */
    int freed;      /* gw_rlim_free came first: the last call frees l */
    atomic_uint_least64_t allowed, denied, unavailable, reloads;
};

typedef struct call {
    gw_rlim_t *l;
    int which;
    gw_rl_cb cb;
    void *data;
    char *key;
    char num[3][32];
    const char *argv[7];
    int evaled;
    int64_t budget; /* reserve: for remaining */
    gw_rl_result_t res;
    uv_timer_t defer; /* only for a call that could not be sent */
} call_t;

/* ---- life ---- */

static int sha1_hex(const char *text, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL) != 1 || n != 20)
        return 0;
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 1;
}

gw_rlim_t *gw_rlim_new(gw_redis_t *r)
{
    gw_rlim_t *l = gw_calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->r = r;
    for (int i = 0; i < S_N; i++)
        if (!sha1_hex(SCRIPTS[i], l->sha[i])) {
            gw_free(l);
            return NULL;
        }
    return l;
}

void gw_rlim_free(gw_rlim_t *l)
{
    if (l != NULL && l->pending > 0)
        l->freed = 1;
    else
        gw_free(l);
}

static void call_free(call_t *c)
{
    gw_rlim_t *l = c->l;
    gw_free(c->key);
    gw_free(c);
    if (--l->pending == 0 && l->freed)
        gw_free(l);
}

static void finish(call_t *c)
{
    gw_rlim_t *l = c->l;
    atomic_fetch_add(c->res.status == GW_RL_ALLOWED  ? &l->allowed
                     : c->res.status == GW_RL_DENIED ? &l->denied
                                                     : &l->unavailable,
                     1);
    c->cb(l, &c->res, c->data);
}

static void unavailable(call_t *c, gw_err_t err)
{
    memset(&c->res, 0, sizeof c->res);
    c->res.status = GW_RL_UNAVAILABLE;
    c->res.err = err;
    finish(c);
}

static void defer_closed(uv_handle_t *h)
{
    call_free(h->data);
}

static void on_defer(uv_timer_t *t)
{
    call_t *c = t->data;
    unavailable(c, GW_EIO);
    uv_close((uv_handle_t *)&c->defer, defer_closed);
}

/* ---- replies ---- */

static int int3(const redisReply *rep, long long v[3])
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
        return 0;
    for (int i = 0; i < 3; i++) {
        if (rep->element[i]->type != REDIS_REPLY_INTEGER)
            return 0;
        v[i] = rep->element[i]->integer;
    }
    return 1;
}

static void fill(call_t *c, const long long v[3])
{
    gw_rl_result_t *res = &c->res;
    memset(res, 0, sizeof *res);
    res->status = v[0] == 1 ? GW_RL_ALLOWED : GW_RL_DENIED;
    if (c->which == S_TAKE || c->which == S_REFUND) {
        res->retry_after_ms = v[1];
        res->remaining = v[2];
    } else {
        res->spent = v[1];
        res->reserved = v[2];
        res->remaining = c->which == S_RESERVE ? c->budget - v[1] - v[2] : 0;
    }
}

static gw_err_t send_call(call_t *c);

static void on_reply(gw_redis_t *r, gw_err_t err, const struct redisReply *rep, void *data)
{
    call_t *c = data;
    long long v[3];
    if (err != GW_OK) {
        unavailable(c, err);
    } else if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0 && !c->evaled) {
        c->evaled = 1; /* the server lost its scripts: send the text once */
        atomic_fetch_add(&c->l->reloads, 1);
        c->argv[0] = "EVAL";
        c->argv[1] = SCRIPTS[c->which];
        if (send_call(c) == GW_OK)
            return;
        unavailable(c, GW_EIO);
    } else if (int3(rep, v)) {
        fill(c, v);
        finish(c);
    } else {
        unavailable(c, GW_EUPSTREAM);
    }
    call_free(c);
}

static gw_err_t send_call(call_t *c)
{
    return gw_redis_command(c->l->r, 7, c->argv, NULL, on_reply, c);
}

/* ---- calls ---- */

static gw_err_t start(gw_rlim_t *l, int which, const char *key, const char *a, const char *b, const char *d,
                      gw_rl_cb cb, void *data, int64_t budget)
{
    call_t *c = gw_calloc(1, sizeof *c);
    if (c == NULL || (c->key = gw_strdup(key)) == NULL) {
        gw_free(c);
        return GW_ENOMEM;
    }
    c->l = l;
    l->pending++;
    c->which = which;
    c->cb = cb;
    c->data = data;
    c->budget = budget;
    snprintf(c->num[0], sizeof c->num[0], "%s", a);
    snprintf(c->num[1], sizeof c->num[1], "%s", b);
    snprintf(c->num[2], sizeof c->num[2], "%s", d);
    const char *argv[7] = {"EVALSHA", l->sha[which], "1", c->key, c->num[0], c->num[1], c->num[2]};
    memcpy(c->argv, argv, sizeof argv);
    if (send_call(c) == GW_OK)
        return GW_OK;
    uv_timer_init(gw_redis_loop(l->r), &c->defer);
    c->defer.data = c;
    uv_timer_start(&c->defer, on_defer, 0, 0);
    return GW_OK;
}

static int bucket_ok(double rate, double burst)
{
    return isfinite(rate) && isfinite(burst) && rate > 0 && burst >= 1;
}

gw_err_t gw_rlim_take(gw_rlim_t *l, const char *key, double rate, double burst, int64_t cost, gw_rl_cb cb,
                      void *data)
{
    char r[32], b[32], n[32];
    if (l == NULL || key == NULL || cb == NULL || !bucket_ok(rate, burst) || cost < 1)
        return GW_EINVAL;
    snprintf(r, sizeof r, "%.17g", rate);
    snprintf(b, sizeof b, "%.17g", burst);
    snprintf(n, sizeof n, "%" PRId64, cost);
    return start(l, S_TAKE, key, r, b, n, cb, data, 0);
}

gw_err_t gw_rlim_refund(gw_rlim_t *l, const char *key, double rate, double burst, int64_t amount, gw_rl_cb cb,
                        void *data)
{
    char r[32], b[32], n[32];
    if (l == NULL || key == NULL || cb == NULL || !bucket_ok(rate, burst))
        return GW_EINVAL;
    snprintf(r, sizeof r, "%.17g", rate);
    snprintf(b, sizeof b, "%.17g", burst);
    snprintf(n, sizeof n, "%" PRId64, amount);
    return start(l, S_REFUND, key, r, b, n, cb, data, 0);
}

gw_err_t gw_rlim_budget_reserve(gw_rlim_t *l, const char *key, int64_t amount, int64_t budget, gw_rl_cb cb,
                                void *data)
{
    char a[32], b[32];
    if (l == NULL || key == NULL || cb == NULL || amount < 0 || budget < 0)
        return GW_EINVAL;
    snprintf(a, sizeof a, "%" PRId64, amount);
    snprintf(b, sizeof b, "%" PRId64, budget);
    return start(l, S_RESERVE, key, a, b, "0", cb, data, budget);
}

gw_err_t gw_rlim_budget_settle(gw_rlim_t *l, const char *key, int64_t reserved, int64_t actual, gw_rl_cb cb,
                               void *data)
{
    char a[32], b[32];
    if (l == NULL || key == NULL || cb == NULL || reserved < 0 || actual < 0)
        return GW_EINVAL;
    snprintf(a, sizeof a, "%" PRId64, -reserved);
    snprintf(b, sizeof b, "%" PRId64, actual);
    return start(l, S_SETTLE, key, a, b, "0", cb, data, 0);
}

int gw_rl_policy_allows(const gw_rl_result_t *res, int fail_open)
{
    return res->status == GW_RL_ALLOWED || (res->status == GW_RL_UNAVAILABLE && fail_open);
}

void gw_rlim_stats(const gw_rlim_t *l, gw_rlim_stats_t *out)
{
    gw_rlim_t *m = (gw_rlim_t *)l; /* atomics: loads only */
    out->allowed = atomic_load(&m->allowed);
    out->denied = atomic_load(&m->denied);
    out->unavailable = atomic_load(&m->unavailable);
    out->noscript_reloads = atomic_load(&m->reloads);
}

/* routes.c - route table and admission (per-IP limit, auth, per-tenant
 * limit) in front of the handlers. */
#include "routes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "ratelimit.h"
#include "redis_shared.h"
#include "tokest.h"
#include "trace_req.h"
#include "usage.h"
#include "web_page.h"

typedef void (*handler_fn)(gw_route_ctx_t *ctx);

typedef struct route {
    const char *method;
    const char *path;
    handler_fn fn;
    int gateway; /* /v1 routes: auth and rate limits apply */
    int id;      /* GW_ROUTE_*, for metrics */
} route_t;

static const route_t routes[] = {
    {"POST", "/v1/chat/completions", gw_h_chat, 1, GW_ROUTE_CHAT},
    {"POST", "/v1/embeddings", gw_h_embeddings, 1, GW_ROUTE_EMBEDDINGS},
    {"POST", "/v1/rerank", gw_h_rerank, 1, GW_ROUTE_RERANK},
    {"POST", "/v1/ask", gw_h_ask, 1, GW_ROUTE_ASK},
    {"GET", "/v1/search", gw_h_search, 1, GW_ROUTE_SEARCH},
    {"POST", "/v1/sql", gw_h_sql, 1, GW_ROUTE_SQL},
    {"GET", "/v1/models", gw_h_models, 1, GW_ROUTE_MODELS},
    {"GET", "/v1/usage", gw_h_usage, 1, GW_ROUTE_USAGE},
    {"GET", "/metrics", gw_h_metrics, 0, GW_ROUTE_METRICS},
    {"GET", "/", gw_h_page, 0, GW_ROUTE_PAGE},
    {"GET", "/favicon.svg", gw_h_favicon, 0, GW_ROUTE_FAVICON},
    {"GET", "/healthz", gw_h_health, 0, GW_ROUTE_HEALTH},
    {"GET", "/readyz", gw_h_ready, 0, GW_ROUTE_READY},
};

#define MAX_ROUTERS 16

static void settle_shared(gw_route_ctx_t *ctx, const gw_budget_limits_t *lim, int64_t cost_nusd, int64_t tokens);
static int admit_shared(gw_route_ctx_t *ctx, handler_fn fn);

/* Tokens and cost of the request, per tenant and model (usage.h), into l. */
static long account(gw_route_ctx_t *ctx, gw_reqlog_t *l, const gw_router_result_t **rs, size_t *n)
{
    gw_usage_table_t *u = ctx->rt->usage;
    size_t row = gw_usage_row(u, ctx->tenant);
    long model = l->model != NULL ? gw_usage_model(u, l->model, l->model_len) : -1;
    *n = 0;
    if (l->router != NULL)
        rs[(*n)++] = l->router;
    for (size_t i = 0; i < l->n_more_routers && *n < MAX_ROUTERS; i++)
        if (l->more_routers[i] != NULL)
            rs[(*n)++] = l->more_routers[i];
    gw_usage_totals_t tot = {-1, -1, 0, 0};
    if (*n > 0)
        gw_usage_account(u, row, model, rs, *n, &tot);
    else if (l->prompt_tokens >= 0 || l->completion_tokens >= 0)
        gw_usage_account_tokens(u, row, model, l->prompt_tokens, l->completion_tokens, l->estimated, &tot);
    else if (model >= 0) { /* asked for a model, never reached one: a request, no tokens */
        gw_usage_account(u, row, model, rs, 0, &tot);
        tot.prompt_tokens = tot.completion_tokens = -1;
    }
    l->prompt_tokens = tot.prompt_tokens;
    l->completion_tokens = tot.completion_tokens;
    l->cost_nusd = tot.cost_nusd;
    l->cost_usd = (double)tot.cost_nusd / 1e9;
    l->estimated = tot.estimated;
    int64_t tokens = (tot.prompt_tokens > 0 ? tot.prompt_tokens : 0) +
                     (tot.completion_tokens > 0 ? tot.completion_tokens : 0);
    if (ctx->hold.st != NULL)
        gw_budget_settle(&ctx->hold, tot.cost_nusd, tokens);
    else
        gw_budget_charge(u->tenants[row], tot.cost_nusd);
    settle_shared(ctx, &u->limits[row], tot.cost_nusd, tokens);
    return model;
}

static void observe(gw_route_ctx_t *ctx, const gw_reqlog_t *l, long model, const gw_router_result_t **rs, size_t n)
{
    gw_metrics_t *m = &ctx->req->worker->app->metrics;
    gw_usage_table_t *u = ctx->rt->usage;
    int st = gw_metrics_status_slot(l->status), route = ctx->route_id;
    gw_metrics_add(model >= 0 ? &u->models[model]->requests[route][st] : &m->requests[route][st], 1);
    gw_hist_observe(&m->latency, l->latency_ms);
    double up = 0;
    size_t attempts = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < rs[i]->n_attempts; k++) {
            const gw_attempt_t *a = &rs[i]->attempts[k];
            int slot = gw_metrics_reason_slot(a->reason);
            gw_metrics_add(&m->attempts[slot], 1);
            if (k + 1 < rs[i]->n_attempts)
                gw_metrics_add(&m->failovers[slot], 1);
            up += a->ms;
            attempts++;
        }
    if (attempts > 0) {
        gw_hist_observe(&m->upstream, up);
        gw_hist_observe(&m->overhead, l->latency_ms - up);
        if (l->ttfb_ms > 0)
            gw_hist_observe(&m->ttft, l->ttfb_ms);
    }
    atomic_fetch_sub_explicit(&m->inflight_requests, 1, memory_order_relaxed);
}

static int str_eq(const char *a, size_t alen, const char *b)
{
    size_t n = strlen(b);
    return alen == n && memcmp(a, b, n) == 0;
}

void gw_route_log(gw_route_ctx_t *ctx, gw_reqlog_t *l)
{
    gw_http_req_t *req = ctx->req;
    l->request_id = req->request_id;
    l->route = ctx->route;
    l->client_ip = req->client_ip;
    l->tenant = ctx->tenant ? ctx->tenant->id : NULL;
    l->latency_ms = (double)(gw_now_ns() - req->start_ns) / 1e6;
    const gw_router_result_t *rs[MAX_ROUTERS];
    size_t n = 0;
    long model = account(ctx, l, rs, &n);
    observe(ctx, l, model, rs, n);
    gw_trace_req_end(req, &ctx->trace, l);
    gw_worker_log(req->worker, l);
    gw_runtime_release(ctx->rt);
    ctx->rt = NULL;
}

/* An error answer and its log line, naming the model asked for (may be NULL). */
static void route_error_model(gw_route_ctx_t *ctx, int status, const char *type, const char *code, const char *msg,
                              const char *extra, const char *model, size_t model_len)
{
    char alias[128]; /* the body holding model is gone once the answer is sent */
    size_t n = model_len < sizeof(alias) ? model_len : sizeof(alias) - 1;
    if (n > 0)
        memcpy(alias, model, n);
    gw_http_error(ctx->req, status, type, code, NULL, msg, extra);
    gw_reqlog_t l = {.status = status, .error = msg, .prompt_tokens = -1, .completion_tokens = -1,
                     .model = n > 0 ? alias : NULL, .model_len = n};
    gw_route_log(ctx, &l);
}

void gw_route_error(gw_route_ctx_t *ctx, int status, const char *type, const char *code, const char *param,
                    const char *msg, const char *extra)
{
    gw_http_error(ctx->req, status, type, code, param, msg, extra);
    gw_reqlog_t l = {.status = status, .error = msg, .prompt_tokens = -1, .completion_tokens = -1};
    gw_route_log(ctx, &l);
}

static void rl_headers(char *out, size_t cap, const gw_rl_result_t *r, int refused)
{
    int n = snprintf(out, cap, "x-ratelimit-limit: %llu\r\nx-ratelimit-remaining: %llu\r\nx-ratelimit-reset: %llu\r\n",
                     (unsigned long long)r->limit, (unsigned long long)r->remaining, (unsigned long long)r->reset_s);
    if (refused && n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, "Retry-After: %llu\r\n", (unsigned long long)r->retry_after_s);
}

static int admit_ip(gw_route_ctx_t *ctx)
{
    gw_app_t *app = ctx->req->worker->app;
    const gw_config_t *cfg = ctx->rt->cfg;
    if (cfg->per_ip.rps <= 0 || app->per_ip == NULL)
        return 1;
    gw_rl_result_t r;
    const char *ip = ctx->req->client_ip;
    if (gw_ratelimit_take(app->per_ip, ip, strlen(ip), 1.0, gw_now_ns(), &r) == 1)
        return 1;
    gw_metrics_add(&app->metrics.rejections[GW_REJECT_PER_IP], 1);
    char hdr[256];
    rl_headers(hdr, sizeof(hdr), &r, 1);
    gw_route_error(ctx, 429, "rate_limit_error", "rate_limit_exceeded", NULL,
                   "too many requests from this address (per_ip limit)", hdr);
    return 0;
}

static int admit_auth(gw_route_ctx_t *ctx)
{
    const gw_config_t *cfg = ctx->rt->cfg;
    if (!cfg->auth_enabled)
        return 1;
    size_t vlen = 0, klen = 0, ti = 0;
    if (gw_http_header_count(ctx->req, "authorization") > 1) { /* which one is meant? refuse, never guess */
        gw_route_error(ctx, 400, "invalid_request_error", "duplicate_authorization", NULL,
                       "more than one Authorization header: send exactly one", NULL);
        return 0;
    }
    const char *v = gw_http_header(ctx->req, "authorization", &vlen);
    const char *key = NULL;
    if (v == NULL || gw_auth_parse_bearer(v, vlen, &key, &klen) != GW_OK) {
        gw_route_error(ctx, 401, "invalid_request_error", "invalid_api_key", NULL,
                       "missing API key: send 'Authorization: Bearer <key>'", NULL);
        return 0;
    }
    if (!gw_auth_lookup(ctx->rt->auth, key, klen, &ti) || ti >= cfg->tenants_len) {
        gw_route_error(ctx, 401, "invalid_request_error", "invalid_api_key", NULL, "incorrect API key provided",
                       NULL);
        return 0;
    }
    ctx->tenant = &cfg->tenants[ti];
    return 1;
}

/* telemetry.metrics_auth: GET /metrics takes an admin key (401 without a
 * good key, 403 with a tenant's). */
static int admit_admin(gw_route_ctx_t *ctx)
{
    if (!admit_auth(ctx))
        return 0;
    if (ctx->tenant != NULL && ctx->tenant->admin)
        return 1;
    gw_route_error(ctx, 403, "permission_error", "admin_required", NULL, "GET /metrics needs an admin key", NULL);
    return 0;
}

/* Per-tenant rps here; with redis_url, rps, tokens_per_min and budget in
 * Redis (admit_shared), and then fn runs when Redis has answered. */
static int admit_tenant(gw_route_ctx_t *ctx, handler_fn fn)
{
    if (ctx->tenant != NULL && ctx->req->worker->shared != NULL)
        return admit_shared(ctx, fn);
    if (ctx->tenant == NULL || ctx->tenant->rate.rps <= 0)
        return 1;
    size_t ti = (size_t)(ctx->tenant - ctx->rt->cfg->tenants);
    gw_tenant_state_t *ts = &ctx->rt->tenants[ti];
    double retry = 0, remaining = 0;
    pthread_mutex_lock(&ts->lock);
    int ok = gw_bucket_take(&ts->rps, 1.0, gw_now_ns(), &retry, &remaining);
    pthread_mutex_unlock(&ts->lock);
    if (ok == 1)
        return 1;
    gw_metrics_add(&ctx->req->worker->app->metrics.rejections[GW_REJECT_TENANT_RPS], 1);
    const gw_cfg_bucket_t *cb = &ctx->tenant->rate;
    gw_rl_result_t r = {.limit = (uint64_t)cb->burst, .remaining = 0,
                        .retry_after_s = (uint64_t)(retry < 1 ? 1 : ceil(retry)),
                        .reset_s = (uint64_t)ceil(cb->burst / cb->rps)};
    char hdr[256];
    rl_headers(hdr, sizeof(hdr), &r, 1);
    gw_route_error(ctx, 429, "rate_limit_error", "rate_limit_exceeded", NULL,
                   "too many requests for this tenant (rate.rps limit)", hdr);
    return 0;
}

void gw_routes_dispatch(gw_http_req_t *req)
{
    gw_route_ctx_t stack = {.req = req, .rt = gw_runtime_acquire(req->worker), .route = "unknown",
                            .route_id = GW_ROUTE_UNKNOWN};
    atomic_fetch_add_explicit(&req->worker->app->metrics.inflight_requests, 1, memory_order_relaxed);
    int path_known = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const route_t *rt = &routes[i];
        if (!str_eq(req->path, req->path_len, rt->path))
            continue;
        path_known = 1;
        if (!str_eq(req->method, req->method_len, rt->method))
            continue;
        stack.route = rt->path;
        stack.route_id = rt->id;
        stack.trace = rt->gateway ? gw_trace_req_begin(req, rt->method, rt->path) : NULL; /* /v1 routes only */
        if (rt->gateway && (!admit_ip(&stack) || !admit_auth(&stack) || !admit_tenant(&stack, rt->fn)))
            return;
        if (rt->id == GW_ROUTE_METRICS && stack.rt->cfg->telemetry.metrics_auth && !admit_admin(&stack))
            return;
        rt->fn(&stack);
        return;
    }
    if (path_known)
        gw_route_error(&stack, 405, "invalid_request_error", "method_not_allowed", NULL,
                       "method not allowed on this path", NULL);
    else
        gw_route_error(&stack, 404, "invalid_request_error", "unknown_url", NULL, "unknown route", NULL);
}

/* ---- budget and tokens_per_min admission ------------------------------------ */

/* The highest prompt and completion prices over the failover chain of the
 * requested model (the chain the router will walk), nano-USD per token. */
static void chain_prices(const gw_config_t *cfg, const gw_chat_info_t *info, int64_t *in, int64_t *out)
{
    const gw_cfg_model_t *m = gw_config_model(cfg, info->model, info->model_len);
    *in = *out = 0;
    if (m == NULL)
        return;
    const gw_cfg_fallback_t *fb = gw_config_fallback(cfg, m->alias);
    size_t max = 1 + (size_t)cfg->limits.retry_budget;
    for (size_t i = 0; i < max && m != NULL; i++) {
        int64_t pi = gw_usage_price_nano(m->input_per_mtok), po = gw_usage_price_nano(m->output_per_mtok);
        *in = pi > *in ? pi : *in;
        *out = po > *out ? po : *out;
        const char *next = fb != NULL && i < fb->chain_len ? fb->chain[i] : NULL;
        m = next != NULL ? gw_config_model(cfg, next, strlen(next)) : NULL;
    }
}

static void refuse_budget(gw_route_ctx_t *ctx, const gw_budget_limits_t *lim, const gw_budget_state_t *st,
                          const gw_chat_info_t *info)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "tenant '%.64s' has reached its budget (budget_usd %.6f, left %.6f)", ctx->tenant->id,
             (double)lim->budget_nusd / 1e9, (double)gw_budget_left(st, lim) / 1e9);
    route_error_model(ctx, 429, "insufficient_quota", "budget_exceeded", msg, NULL, info->model, info->model_len);
}

/* A request's worst case: estimated prompt tokens + max_tokens (or
 * limits.default_max_tokens) at the highest prices of the chain. */
static void worst_case(const gw_config_t *cfg, gw_op_t op, const gw_chat_info_t *info, int64_t *cost_nusd,
                       int64_t *tokens)
{
    int64_t in = 0, out = 0;
    chain_prices(cfg, info, &in, &out);
    int64_t p = gw_tokest_prompt(info->prompt_chars);
    int64_t c = op != GW_OP_CHAT ? 0 : info->max_tokens >= 0 ? info->max_tokens : cfg->limits.default_max_tokens;
    if (c > 1000000000)
        c = 1000000000; /* no int64 overflow at any price */
    *cost_nusd = p * in + c * out;
    *tokens = p + c;
}

/* The op of an LLM route, or -1. */
static int route_op(int route_id)
{
    return route_id == GW_ROUTE_CHAT ? GW_OP_CHAT : route_id == GW_ROUTE_EMBEDDINGS ? GW_OP_EMBEDDINGS
                                                : route_id == GW_ROUTE_RERANK ? GW_OP_RERANK : -1;
}

int gw_route_reserve(gw_route_ctx_t *ctx, gw_op_t op, const gw_chat_info_t *info)
{
    if (ctx->tenant == NULL)
        return 1;
    if (ctx->req->worker->shared != NULL && route_op(ctx->route_id) >= 0)
        return 1; /* reserved in Redis before the handler ran (admit_shared) */
    gw_usage_table_t *u = ctx->rt->usage;
    size_t row = gw_usage_row(u, ctx->tenant);
    const gw_budget_limits_t *lim = &u->limits[row];
    if (lim->budget_nusd < 0 && lim->tokens_per_min <= 0)
        return 1;
    int64_t cost = 0, tokens = 0;
    worst_case(ctx->rt->cfg, op, info, &cost, &tokens);
    uint64_t retry = 0;
    gw_err_t rc = gw_budget_reserve(u->tenants[row], lim, cost, tokens, gw_now_ns(), &ctx->hold, &retry);
    gw_metrics_t *m = &ctx->req->worker->app->metrics;
    if (rc == GW_OK)
        return 1;
    if (rc == GW_EDENIED) {
        gw_metrics_add(&m->rejections[GW_REJECT_BUDGET], 1);
        refuse_budget(ctx, lim, u->tenants[row], info);
        return 0;
    }
    gw_metrics_add(&m->rejections[GW_REJECT_TENANT_TPM], 1);
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "Retry-After: %llu\r\n", (unsigned long long)retry);
    route_error_model(ctx, 429, "rate_limit_error", "rate_limit_exceeded",
                      "too many tokens per minute for this tenant (rate.tokens_per_min limit)", hdr, info->model,
                      info->model_len);
    return 0;
}

/* ---- shared admission and settle (Redis, redis_url set) ---------------------------
 * The tenant's rps bucket, tokens_per_min bucket and budget are asked in one
 * round trip before the handler; the request waits without blocking the
 * loop and goes on from the answer. For the LLM routes the worst case is
 * reserved there (the body is inspected here), and ctx->hold carries what
 * Redis holds (st NULL: nothing is held in process) to settle_shared. */

typedef struct shared_wait {
    gw_route_ctx_t ctx;
    handler_fn fn;
    gw_shared_t *shared;
    gw_chat_info_t info; /* LLM routes: points into the body (alive until the answer) */
    int has_info;
    int64_t budget_nusd, tpm;
    gw_runtime_t *keep; /* the client left first: keeps ctx.tenant for the undo */
} shared_wait_t;

/* What Redis is asked for this request (w->info filled for the LLM routes). */
static void shared_ask(gw_route_ctx_t *ctx, shared_wait_t *w, gw_shared_ask_t *q)
{
    const gw_config_t *cfg = ctx->rt->cfg;
    const gw_cfg_tenant_t *t = ctx->tenant;
    gw_usage_table_t *u = ctx->rt->usage;
    const gw_budget_limits_t *lim = &u->limits[gw_usage_row(u, t)];
    *q = (gw_shared_ask_t){.tenant = t->id, .rps = t->rate.rps, .burst = t->rate.burst, .budget_nusd = -1,
                           .fail_open = cfg->redis_fail_open};
    int op = route_op(ctx->route_id);
    gw_prov_errmsg_t msg;
    memset(&msg, 0, sizeof(msg));
    if (op < 0 || (lim->budget_nusd < 0 && lim->tokens_per_min <= 0) ||
        gw_op_inspect((gw_op_t)op, ctx->req->body, ctx->req->body_len, &w->info, &msg) != GW_OK ||
        gw_config_model(cfg, w->info.model, w->info.model_len) == NULL)
        return; /* the handler answers 400 or 404 */
    w->has_info = 1;
    worst_case(cfg, (gw_op_t)op, &w->info, &q->cost_nusd, &q->tokens);
    q->budget_nusd = w->budget_nusd = lim->budget_nusd;
    q->tpm = w->tpm = lim->tokens_per_min;
}

static void shared_refuse(gw_route_ctx_t *ctx, const shared_wait_t *w, const gw_shared_result_t *res)
{
    gw_metrics_t *m = &ctx->req->worker->app->metrics;
    const char *model = w->has_info ? w->info.model : NULL;
    size_t model_len = w->has_info ? w->info.model_len : 0;
    uint64_t retry = res->retry_after_ms > 0 ? (uint64_t)(res->retry_after_ms + 999) / 1000 : 1;
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Retry-After: %llu\r\n", (unsigned long long)retry);
    if (res->verdict == GW_SHARED_DENY_RPS) {
        const gw_cfg_bucket_t *cb = &ctx->tenant->rate;
        double burst = cb->burst >= 1 ? cb->burst : cb->rps > 1 ? cb->rps : 1;
        gw_rl_result_t r = {.limit = (uint64_t)burst, .retry_after_s = retry,
                            .reset_s = (uint64_t)ceil(burst / cb->rps)};
        rl_headers(hdr, sizeof(hdr), &r, 1);
        gw_metrics_add(&m->rejections[GW_REJECT_TENANT_RPS], 1);
        route_error_model(ctx, 429, "rate_limit_error", "rate_limit_exceeded",
                          "too many requests for this tenant (rate.rps limit)", hdr, model, model_len);
    } else if (res->verdict == GW_SHARED_DENY_TPM) {
        gw_metrics_add(&m->rejections[GW_REJECT_TENANT_TPM], 1);
        route_error_model(ctx, 429, "rate_limit_error", "rate_limit_exceeded",
                          "too many tokens per minute for this tenant (rate.tokens_per_min limit)", hdr, model,
                          model_len);
    } else if (res->verdict == GW_SHARED_DENY_BUDGET) {
        char msg[256];
        snprintf(msg, sizeof(msg), "tenant '%.64s' has reached its budget (budget_usd %.6f, left %.6f)",
                 ctx->tenant->id, (double)w->budget_nusd / 1e9, (double)res->budget_left_nusd / 1e9);
        gw_metrics_add(&m->rejections[GW_REJECT_BUDGET], 1);
        route_error_model(ctx, 429, "insufficient_quota", "budget_exceeded", msg, NULL, model, model_len);
    } else {
        route_error_model(ctx, 503, "server_error", "shared_state_unavailable",
                          "the shared rate-limit and budget state (Redis) is unavailable and redis_policy is "
                          "fail_closed",
                          "Retry-After: 1\r\n", model, model_len);
    }
}

/* The client left before Redis answered: gives back what was taken. */
static void shared_undo(shared_wait_t *w, const gw_shared_result_t *res)
{
    if (res->verdict == GW_SHARED_ADMIT)
        gw_shared_settle(w->shared, w->ctx.tenant->id, w->budget_nusd, res->reserved_nusd, 0, w->tpm,
                         res->reserved_tokens, 0);
    gw_runtime_release(w->keep);
}

static void shared_on_result(const gw_shared_result_t *res, void *data)
{
    shared_wait_t *w = data;
    if (w->keep != NULL) {
        shared_undo(w, res);
        gw_free(w);
        return;
    }
    w->ctx.req->on_abort = NULL;
    w->ctx.req->handler_data = NULL;
    if (res->verdict == GW_SHARED_ADMIT) {
        w->ctx.hold = (gw_budget_hold_t){.reserved_nusd = res->reserved_nusd,
                                         .reserved_tokens = res->reserved_tokens, .tokens_per_min = w->tpm};
        w->fn(&w->ctx);
    } else {
        shared_refuse(&w->ctx, w, res);
    }
    gw_free(w);
}

static void shared_on_abort(gw_http_req_t *req)
{
    shared_wait_t *w = req->handler_data;
    w->keep = w->ctx.rt;
    atomic_fetch_add(&w->keep->refcnt, 1);
    gw_reqlog_t l = {.status = 499, .error = "client closed the connection", .prompt_tokens = -1,
                     .completion_tokens = -1, .model = w->has_info ? w->info.model : NULL,
                     .model_len = w->has_info ? w->info.model_len : 0};
    gw_route_log(&w->ctx, &l);
}

/* 1: nothing to ask, go on; 0: answered, or fn runs when Redis answers. */
static int admit_shared(gw_route_ctx_t *ctx, handler_fn fn)
{
    shared_wait_t tmp = {.budget_nusd = -1, .fn = fn, .shared = ctx->req->worker->shared};
    gw_shared_ask_t q;
    shared_ask(ctx, &tmp, &q);
    if (gw_shared_ask_empty(&q))
        return 1; /* no limit on this tenant */
    shared_wait_t *w = gw_malloc(sizeof(*w));
    gw_err_t rc = GW_ENOMEM;
    if (w != NULL) {
        *w = tmp;
        w->ctx = *ctx;
        rc = gw_shared_admit(w->shared, &q, shared_on_result, w);
    }
    if (rc == GW_OK) {
        ctx->req->handler_data = w;
        ctx->req->on_abort = shared_on_abort;
        return 0;
    }
    gw_free(w);
    gw_route_error(ctx, 500, "server_error", "internal_error", NULL, "cannot ask the shared limits", NULL);
    return 0;
}

/* The request's end in Redis: what its hold took there (nothing when it was
 * reserved in process, see gw_route_reserve) and what it spent. */
static void settle_shared(gw_route_ctx_t *ctx, const gw_budget_limits_t *lim, int64_t cost_nusd, int64_t tokens)
{
    gw_shared_t *sh = ctx->req->worker->shared;
    if (sh == NULL || ctx->tenant == NULL)
        return;
    int in_redis = ctx->hold.st == NULL;
    gw_shared_settle(sh, ctx->tenant->id, lim->budget_nusd, in_redis ? ctx->hold.reserved_nusd : 0, cost_nusd,
                     lim->tokens_per_min, in_redis ? ctx->hold.reserved_tokens : 0, tokens);
}

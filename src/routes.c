/* routes.c - route table and admission (per-IP limit, auth, per-tenant
 * limit) in front of the handlers. */
#include "routes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "web_page.h"

typedef void (*handler_fn)(gw_route_ctx_t *ctx);

typedef struct route {
    const char *method;
    const char *path;
    handler_fn fn;
    int gateway; /* /v1 routes: auth and rate limits apply */
} route_t;

static const route_t routes[] = {
    {"POST", "/v1/chat/completions", gw_h_chat, 1},
    {"POST", "/v1/embeddings", gw_h_embeddings, 1},
    {"POST", "/v1/rerank", gw_h_rerank, 1},
    {"POST", "/v1/ask", gw_h_ask, 1},
    {"GET", "/v1/search", gw_h_search, 1},
    {"POST", "/v1/sql", gw_h_sql, 1},
    {"GET", "/v1/models", gw_h_models, 1},
    {"GET", "/", gw_h_page, 0},
    {"GET", "/favicon.svg", gw_h_favicon, 0},
    {"GET", "/healthz", gw_h_health, 0},
    {"GET", "/readyz", gw_h_ready, 0},
};

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
    gw_worker_log(req->worker, l);
    gw_runtime_release(ctx->rt);
    ctx->rt = NULL;
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

static int admit_tenant(gw_route_ctx_t *ctx)
{
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
    gw_route_ctx_t stack = {.req = req, .rt = gw_runtime_acquire(req->worker), .route = "unknown"};
    int path_known = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const route_t *rt = &routes[i];
        if (!str_eq(req->path, req->path_len, rt->path))
            continue;
        path_known = 1;
        if (!str_eq(req->method, req->method_len, rt->method))
            continue;
        stack.route = rt->path;
        if (rt->gateway && (!admit_ip(&stack) || !admit_auth(&stack) || !admit_tenant(&stack)))
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

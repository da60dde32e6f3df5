/* h_usage.c - GET /v1/usage (per-tenant tokens, USD and budget left as
 * JSON: a tenant key sees its own tenant, an admin tenant's key every
 * tenant, and with auth off every tenant) and GET /metrics (Prometheus
 * text format 0.0.4, see metrics.h). */
#include <stdio.h>

#include "buf.h"
#include "metrics.h"
#include "redis_metrics.h"
#include "routes.h"
#include "usage.h"

#define USAGE_MAX (16u << 20)
#define METRICS_MAX (64u << 20)

static void done(gw_route_ctx_t *ctx, int status)
{
    gw_reqlog_t l = {.status = status, .prompt_tokens = -1, .completion_tokens = -1};
    gw_route_log(ctx, &l);
}

void gw_h_usage(gw_route_ctx_t *ctx)
{
    const gw_usage_table_t *u = ctx->rt->usage;
    int all = ctx->tenant == NULL || ctx->tenant->admin;
    gw_buf_t b;
    gw_buf_init(&b, USAGE_MAX);
    if (gw_usage_json(u, gw_usage_row(u, ctx->tenant), all, &b) != GW_OK) {
        gw_buf_free(&b);
        gw_route_error(ctx, 500, "server_error", "internal_error", NULL, "usage report too large", NULL);
        return;
    }
    gw_http_respond(ctx->req, 200, "application/json", NULL, b.ptr, b.len);
    gw_buf_free(&b);
    done(ctx, 200);
}

void gw_h_metrics(gw_route_ctx_t *ctx)
{
    gw_app_t *app = ctx->req->worker->app;
    gw_buf_t b;
    gw_buf_init(&b, METRICS_MAX);
    double up = (double)(gw_now_ns() - app->start_ns) / 1e9;
    if (gw_metrics_render(&app->metrics, ctx->rt->usage, ctx->rt->cfg->telemetry.metrics_max_tenants, up, &b) !=
        GW_OK) {
        gw_buf_free(&b);
        gw_route_error(ctx, 500, "server_error", "internal_error", NULL, "metrics exposition failed", NULL);
        return;
    }
    gw_redis_metrics_render(app, &b); /* shared state on Redis (redis_metrics.h) */
    gw_http_respond(ctx->req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.ptr, b.len);
    gw_buf_free(&b);
    done(ctx, 200);
}

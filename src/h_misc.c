/* h_misc.c - small routes: GET /v1/models, /healthz, /readyz. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "routes.h"

void gw_h_models(gw_route_ctx_t *ctx)
{
    const gw_config_t *cfg = ctx->rt->cfg;
    gw_buf_t b;
    gw_buf_init(&b, 1 << 20);
    gw_buf_adds(&b, "{\"object\":\"list\",\"data\":[");
    long created = (long)time(NULL);
    for (size_t i = 0; i < cfg->models_len; i++) {
        const gw_cfg_model_t *m = &cfg->models[i];
        gw_buf_adds(&b, i ? ",{\"id\":\"" : "{\"id\":\"");
        gw_buf_add_json_str(&b, m->alias, strlen(m->alias));
        gw_buf_printf(&b, "\",\"object\":\"model\",\"created\":%ld,\"owned_by\":\"", created);
        gw_buf_add_json_str(&b, m->provider, strlen(m->provider));
        gw_buf_adds(&b, "\"}");
    }
    gw_buf_adds(&b, "]}");
    gw_http_respond(ctx->req, 200, "application/json", NULL, b.ptr, b.len);
    gw_buf_free(&b);
    gw_reqlog_t l = {.status = 200, .prompt_tokens = -1, .completion_tokens = -1};
    gw_route_log(ctx, &l);
}

void gw_h_health(gw_route_ctx_t *ctx)
{
    static const char body[] = "{\"status\":\"ok\"}";
    gw_http_respond(ctx->req, 200, "application/json", NULL, body, sizeof(body) - 1);
    gw_reqlog_t l = {.status = 200, .prompt_tokens = -1, .completion_tokens = -1};
    gw_route_log(ctx, &l);
}

void gw_h_ready(gw_route_ctx_t *ctx)
{
    gw_app_t *app = ctx->req->worker->app;
    int draining = atomic_load(&app->draining);
    int svc = atomic_load(&app->services_state);
    static const char *const svc_names[] = {"loading", "ready", "failed", "off"};
    char body[512];
    int ready = !draining && (svc == GW_SVC_READY || svc == GW_SVC_DISABLED);
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"%s\",\"config_generation\":%llu,\"catalog\":\"%s\"%s%s%s}",
                     draining ? "draining" : ready ? "ready" : "not_ready", (unsigned long long)ctx->rt->generation,
                     svc_names[svc & 3], svc == GW_SVC_FAILED ? ",\"error\":\"" : "",
                     svc == GW_SVC_FAILED ? "catalog unavailable" : "", svc == GW_SVC_FAILED ? "\"" : "");
    int st = ready ? 200 : 503;
    gw_http_respond(ctx->req, st, "application/json", NULL, body, (size_t)n);
    gw_reqlog_t l = {.status = st, .prompt_tokens = -1, .completion_tokens = -1};
    gw_route_log(ctx, &l);
}

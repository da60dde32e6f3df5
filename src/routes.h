/* routes.h - the request router of the server: maps method + path to a
 * handler, after the gateway's admission checks (per-IP rate limit, auth,
 * per-tenant rate limit). Each handler answers through http.h and ends with
 * gw_route_log so every request writes its one log line.
 */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include "http.h"
#include "log.h"
#include "worker.h"

/* What a handler gets besides the request. */
typedef struct gw_route_ctx {
    gw_http_req_t *req;
    gw_runtime_t *rt;               /* held for the request's life */
    const gw_cfg_tenant_t *tenant;  /* NULL with auth off */
    const char *route;              /* the route's pattern, for logs */
} gw_route_ctx_t;

/* Entry point from the connection: one complete request. */
void gw_routes_dispatch(gw_http_req_t *req);

/* Writes the log line for a request and releases ctx->rt. */
void gw_route_log(gw_route_ctx_t *ctx, gw_reqlog_t *l);

/* Handlers (h_*.c). Each answers exactly once and calls gw_route_log. */
void gw_h_chat(gw_route_ctx_t *ctx);
void gw_h_embeddings(gw_route_ctx_t *ctx);
void gw_h_rerank(gw_route_ctx_t *ctx);
void gw_h_ask(gw_route_ctx_t *ctx);
void gw_h_search(gw_route_ctx_t *ctx);
void gw_h_sql(gw_route_ctx_t *ctx);
void gw_h_models(gw_route_ctx_t *ctx);
void gw_h_health(gw_route_ctx_t *ctx);
void gw_h_ready(gw_route_ctx_t *ctx);

/* Answers an OpenAI error and logs it (for handlers and admission). */
void gw_route_error(gw_route_ctx_t *ctx, int status, const char *type, const char *code, const char *param,
                    const char *msg, const char *extra);

#endif

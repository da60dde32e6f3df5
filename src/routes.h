/* routes.h - the request router of the server: maps method + path to a
 * handler, after the gateway's admission checks (per-IP rate limit, auth,
 * per-tenant rate limit). Each handler answers through http.h and ends with
 * gw_route_log so every request writes its one log line.
 */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include "budget.h"
#include "http.h"
#include "log.h"
#include "provider.h"
#include "trace.h"
#include "worker.h"

/* What a handler gets besides the request. */
typedef struct gw_route_ctx {
    gw_http_req_t *req;
    gw_runtime_t *rt;               /* held for the request's life */
    const gw_cfg_tenant_t *tenant;  /* NULL with auth off */
    const char *route;              /* the route's pattern, for logs */
    int route_id;                   /* GW_ROUTE_* (metrics.h) */
    gw_budget_hold_t hold;          /* budget / tokens_per_min reservation, settled by gw_route_log */
    gw_trace_t *trace;              /* the request's trace (root span 0); NULL with tracing off.
                                       Ended and handed to the exporter by gw_route_log */
} gw_route_ctx_t;

/* Entry point from the connection: one complete request. */
void gw_routes_dispatch(gw_http_req_t *req);

/* The connection layer's own error answer (http_conn.c: 400 malformed,
 * 408, 413, 431, 503 too many connections / draining), called just before
 * it is sent: counts it in llmgw_requests_total{route="none"} and writes
 * its one log line (route: the path, or null when the head was not
 * parsed; status; error = message; client_ip; request_id). head/head_len:
 * the parsed request head (read, not kept), or NULL when there is none;
 * then req gets a fresh request_id and start time (the answer's
 * x-request-id). Borrows everything; never fails. */
void gw_routes_conn_error(gw_http_req_t *req, int status, const char *message, const char *head, size_t head_len);

/* The one place every request ends: accounts its tokens and cost (from
 * l's router results, see log.h) per tenant and model, settles ctx->hold
 * with the real cost, adds to the metrics, writes the log line and
 * releases ctx->rt. Call exactly once per request. */
void gw_route_log(gw_route_ctx_t *ctx, gw_reqlog_t *l);

/* Admission for a request that will call op's model(s) through the
 * router: reserves the worst case (estimated prompt tokens + max_tokens,
 * or limits.default_max_tokens, at the highest prices of the model's
 * failover chain) against the tenant's budget_usd and tokens_per_min into
 * ctx->hold. Returns 1 admitted; 0 refused, and then the request has been
 * answered (429 budget_exceeded, or 429 rate_limit_exceeded with
 * Retry-After) and logged: the caller must not touch ctx->req again.
 * Without a tenant (auth off) it admits and holds nothing. */
int gw_route_reserve(gw_route_ctx_t *ctx, gw_op_t op, const gw_chat_info_t *info);

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
void gw_h_usage(gw_route_ctx_t *ctx);
void gw_h_metrics(gw_route_ctx_t *ctx);

/* Answers an OpenAI error and logs it (for handlers and admission). */
void gw_route_error(gw_route_ctx_t *ctx, int status, const char *type, const char *code, const char *param,
                    const char *msg, const char *extra);

#endif

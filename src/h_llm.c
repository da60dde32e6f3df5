/* h_llm.c - the LLM routes: POST /v1/chat/completions, /v1/embeddings and
 * /v1/rerank. Validate, pick the model, hand the request to the router and
 * relay what it reports to the client. */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "metrics.h"
#include "router.h"
#include "routes.h"
#include "trace_req.h"

typedef struct chat {
    gw_route_ctx_t ctx;
    gw_chat_info_t info;
    gw_router_req_t *router;
    gw_router_result_t res;
    int done;
    int *sync_done; /* set while the router starts: answered synchronously */
    char alias[128];  /* the client's model, for the log (the body is gone by then) */
    size_t alias_len;
} chat_t;

static void chat_finish(chat_t *c, int status)
{
    const gw_router_result_t *r = &c->res;
    gw_reqlog_t l = {.model = c->alias_len ? c->alias : NULL, .model_len = c->alias_len, .router = r, .status = status,
                     .ttfb_ms = r->ttfb_ms, .stream = c->info.stream, .error = status >= 400 || !r->ok ? r->error : NULL,
                     .prompt_tokens = -1, .completion_tokens = -1}; /* gw_route_log counts the attempts */
    if (r->committed)
        atomic_fetch_sub_explicit(&c->ctx.req->worker->app->metrics.inflight_streams, 1, memory_order_relaxed);
    c->done = 1;
    if (c->sync_done != NULL)
        *c->sync_done = 1;
    gw_route_log(&c->ctx, &l);
}

/* extra + "x-llmgw-overhead-ms: N.NNN\r\n": time so far minus upstream time
 * (no printf: this is on every LLM response). */
static const char *overhead_header(chat_t *c, const char *extra, char *out, size_t cap)
{
    double total = (double)(gw_now_ns() - c->ctx.req->start_ns) / 1e6;
    double ms = total - c->res.upstream_ms;
    uint64_t us = ms > 0 ? (uint64_t)(ms * 1000.0 + 0.5) : 0;
    size_t el = extra != NULL ? strlen(extra) : 0;
    static const char name[] = "x-llmgw-overhead-ms: ";
    char num[32];
    size_t n = sizeof(num);
    num[--n] = (char)('0' + us % 10), us /= 10;
    num[--n] = (char)('0' + us % 10), us /= 10;
    num[--n] = (char)('0' + us % 10), us /= 10;
    num[--n] = '.';
    do
        num[--n] = (char)('0' + us % 10);
    while ((us /= 10) != 0 && n > 0);
    size_t nl = sizeof(num) - n;
    if (el + sizeof(name) - 1 + nl + 3 > cap)
        return extra;
    if (el > 0)
        memcpy(out, extra, el);
    memcpy(out + el, name, sizeof(name) - 1);
    memcpy(out + el + sizeof(name) - 1, num + n, nl);
    memcpy(out + el + sizeof(name) - 1 + nl, "\r\n", 3);
    return out;
}

static void sink_response(void *data, int status, const char *body, size_t len, const char *extra)
{
    chat_t *c = data;
    c->router = NULL;
    char hdr[512];
    gw_http_respond(c->ctx.req, status, "application/json", overhead_header(c, extra, hdr, sizeof(hdr)), body, len);
    chat_finish(c, status);
    gw_free(c);
}

static void sink_begin(void *data)
{
    chat_t *c = data;
    char hdr[128];
    atomic_fetch_add_explicit(&c->ctx.req->worker->app->metrics.inflight_streams, 1, memory_order_relaxed);
    const char *extra = overhead_header(c, NULL, hdr, sizeof(hdr));
    gw_http_stream_begin(c->ctx.req, 200, "text/event-stream; charset=utf-8", extra);
}

static void sink_data(void *data, const char *p, size_t n)
{
    chat_t *c = data;
    gw_http_stream_write(c->ctx.req, p, n);
}

static void sink_end(void *data, const char *p, size_t n, int clean)
{
    chat_t *c = data;
    c->router = NULL;
    gw_http_stream_end(c->ctx.req, p, n);
    chat_finish(c, 200);
    gw_free(c);
}

static const gw_router_sink_t chat_sink = {sink_response, sink_begin, sink_data, sink_end};

static void chat_on_abort(gw_http_req_t *req)
{
    chat_t *c = req->handler_data;
    gw_router_cancel(c->router);
    c->router = NULL;
    snprintf(c->res.error, sizeof(c->res.error), "client closed the connection");
    chat_finish(c, 499);
    gw_free(c);
}

static void llm_handle(gw_route_ctx_t *ctx, gw_op_t op)
{
    const gw_config_t *cfg = ctx->rt->cfg;
    if (cfg->providers_len == 0 || cfg->models_len == 0) {
        gw_route_error(ctx, 503, "server_error", "no_providers_configured", NULL,
                       "no LLM providers are configured: add providers and models to the config", NULL);
        return;
    }
    chat_t *c = gw_calloc(1, sizeof(*c));
    if (c == NULL) {
        gw_route_error(ctx, 500, "server_error", "internal_error", NULL, "out of memory", NULL);
        return;
    }
    c->ctx = *ctx;
    gw_prov_errmsg_t msg;
    memset(&msg, 0, sizeof(msg));
    if (gw_op_inspect(op, ctx->req->body, ctx->req->body_len, &c->info, &msg) != GW_OK) {
        gw_route_error(&c->ctx, 400, "invalid_request_error", NULL, msg.param[0] ? msg.param : NULL,
                       msg.message[0] ? msg.message : "invalid request body", NULL);
        gw_free(c);
        return;
    }
    c->alias_len = c->info.model_len < sizeof(c->alias) ? c->info.model_len : sizeof(c->alias) - 1;
    memcpy(c->alias, c->info.model, c->alias_len);
    if (gw_config_model(cfg, c->info.model, c->info.model_len) == NULL) {
        char m[300];
        snprintf(m, sizeof(m), "The model '%.*s' does not exist or you do not have access to it.",
                 (int)(c->info.model_len > 200 ? 200 : c->info.model_len), c->info.model);
        gw_route_error(&c->ctx, 404, "invalid_request_error", "model_not_found", "model", m, NULL);
        gw_free(c);
        return;
    }
    if (!gw_route_reserve(&c->ctx, op, &c->info)) { /* answered and logged */
        gw_free(c);
        return;
    }
    ctx->req->handler_data = c;
    ctx->req->on_abort = chat_on_abort;
    int sync_done = 0;
    c->sync_done = &sync_done;
    gw_router_trace_t tr; /* attempt spans under the root, or the client's traceparent forwarded */
    gw_trace_req_router(c->ctx.trace, ctx->req, 0, &tr);
    gw_router_req_t *router = gw_router_start_traced(ctx->req->worker->up, cfg, op, ctx->req->body,
                                                     ctx->req->body_len, &c->info, &chat_sink, c, &c->res, &tr);
    if (sync_done)
        return; /* answered and freed already */
    c->sync_done = NULL;
    c->router = router;
    if (router == NULL) { /* could not start */
        ctx->req->on_abort = NULL;
        gw_route_error(&c->ctx, 500, "server_error", "internal_error", NULL, "could not start the request", NULL);
        gw_free(c);
    }
}

void gw_h_chat(gw_route_ctx_t *ctx) { llm_handle(ctx, GW_OP_CHAT); }
void gw_h_embeddings(gw_route_ctx_t *ctx) { llm_handle(ctx, GW_OP_EMBEDDINGS); }
void gw_h_rerank(gw_route_ctx_t *ctx) { llm_handle(ctx, GW_OP_RERANK); }

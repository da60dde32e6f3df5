/* router.c - failover chain, hold-back and stream relay (see router.h). */
#include "router.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "prov_ops.h"
#include "sse.h"
#include "tokest.h"
#include "trace_router.h"
#include "worker.h"

#define ERR_BODY_MAX (256 * 1024)
#define HOLD_MAX (1024 * 1024)
#define SSE_EVENT_MAX (4 * 1024 * 1024)
#define DEADLINE_SLACK_NS (20 * 1000000ull)

struct gw_router_req {
    gw_upstream_ctx_t *up;
    const gw_config_t *cfg;
    const char *body;
    size_t len;
    const gw_chat_info_t *info;
    gw_router_sink_t sink;
    void *data;
    gw_router_result_t *res;
    const char *chain[GW_MAX_ATTEMPTS];
    size_t chain_len;
    size_t next; /* index in chain of the next alias to try */
    uint64_t start_ns;
    uint64_t deadline_ns;
    /* the current attempt */
    gw_upstream_req_t *ureq;
    gw_attempt_t *att;
    const gw_cfg_model_t *model;
    const gw_cfg_provider_t *prov;
    uint64_t att_start_ns;
    int status;
    gw_buf_t resp;  /* non-stream body or error body */
    gw_buf_t out;   /* SSE for the client not yet sent (hold-back) */
    gw_sse_parser_t sse;
    gw_xlat_t *xlat;
    int failed_inband; /* an in-band error ended the attempt */
    char inband_type[64];
    char inband_code[64];
    int finished;      /* the client's answer is complete */
    size_t content_bytes;
    /* the last failure, returned when the chain runs out */
    int last_status;
    gw_prov_kind_t last_kind;
    gw_buf_t last_body;
    char last_retry_after[32];
    char retry_after[32];
    int *sync_done; /* set while gw_router_start runs: finished synchronously */
    gw_op_t op;
    gw_router_trace_t tr; /* tracing of this call (router.h) */
};

static void attempt_next(gw_router_req_t *r);

static double ms_since(uint64_t t0) { return (double)(gw_now_ns() - t0) / 1e6; }

/* Time in upstream attempts so far, the running one included. */
static double upstream_ms(const gw_router_req_t *r)
{
    double ms = 0;
    for (size_t i = 0; i < r->res->n_attempts; i++) {
        const gw_attempt_t *a = &r->res->attempts[i];
        ms += a == r->att && a->reason == NULL ? ms_since(r->att_start_ns) : a->ms;
    }
    return ms;
}

static void router_free(gw_router_req_t *r)
{
    if (r->sync_done != NULL)
        *r->sync_done = 1;
    gw_buf_free(&r->resp);
    gw_buf_free(&r->out);
    gw_buf_free(&r->last_body);
    gw_sse_free(&r->sse);
    gw_xlat_free(r->xlat);
    gw_free(r);
}

/* Fills and closes the attempt spans (before the sink's last call, which
 * may end the trace). */
static void trace_attempts(gw_router_req_t *r)
{
    if (r->tr.trace == NULL)
        return;
    gw_trace_router_result(r->tr.trace, r->tr.ids, r->tr.parent, r->cfg, r->op, r->res, r->start_ns);
    gw_trace_attempts_forget(r->tr.trace, r->res); /* a later call may get the same result address */
}

/* Ends the request with a whole response. */
static void finish_response(gw_router_req_t *r, int status, const char *body, size_t len, const char *extra)
{
    r->res->status = status;
    r->res->ttfb_ms = ms_since(r->start_ns);
    r->res->upstream_ms = upstream_ms(r);
    r->finished = 1;
    trace_attempts(r);
    r->sink.on_response(r->data, status, body, len, extra);
    router_free(r);
}

static void finish_stream(gw_router_req_t *r, int clean)
{
    r->finished = 1;
    r->res->ok = clean;
    r->res->status = 200;
    r->res->upstream_ms = upstream_ms(r);
    trace_attempts(r);
    r->sink.on_stream_end(r->data, r->out.ptr, r->out.len, clean); /* the last bytes go with the end */
    router_free(r);
}

static void finish_error(gw_router_req_t *r, int status, const char *type, const char *code, const char *msg)
{
    gw_buf_t b;
    gw_buf_init(&b, 4096);
    gw_openai_error(&b, msg, type, NULL, code);
    snprintf(r->res->error, sizeof(r->res->error), "%.250s", msg);
    finish_response(r, status, b.ptr, b.len, NULL);
    gw_buf_free(&b);
}

/* Ends with the last upstream failure, as the upstream gave it. */
static void finish_last_failure(gw_router_req_t *r)
{
    if (r->last_status > 0) {
        char extra[64] = "";
        int hint = -1;
        if (r->last_retry_after[0] == '\0')
            hint = gw_prov_error_retry_after(r->last_kind, r->last_body.ptr, r->last_body.len);
        if (r->last_retry_after[0] != '\0')
            snprintf(extra, sizeof(extra), "Retry-After: %s\r\n", r->last_retry_after);
        else if (hint >= 0)
            snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", hint);
        gw_buf_t b;
        gw_buf_init(&b, ERR_BODY_MAX + 4096);
        int st = gw_prov_translate_error(r->last_kind, r->last_status, r->last_body.ptr,
                                         r->last_body.len, &b);
        if (r->res->error[0] == '\0')
            snprintf(r->res->error, sizeof(r->res->error), "upstream status %d", r->last_status);
        finish_response(r, st, b.ptr, b.len, extra[0] ? extra : NULL);
        gw_buf_free(&b);
        return;
    }
    const char *why = r->res->error[0] ? r->res->error : "no upstream attempt could be made";
    int timeout = strstr(why, "timeout") != NULL;
    char msg[300];
    snprintf(msg, sizeof(msg), "all upstream attempts failed: %s", why);
    finish_error(r, timeout ? 504 : 502, timeout ? "timeout_error" : "server_error",
                 timeout ? "upstream_timeout" : "upstream_unavailable", msg);
}

/* Records why the current attempt failed and moves on. */
static void attempt_failed(gw_router_req_t *r, const char *reason)
{
    if (r->xlat != NULL)
        r->att->usage = gw_xlat_usage(r->xlat); /* a 2xx stream that failed before content */
    else if (r->att->status >= 200 && r->att->status < 300)
        r->att->content_bytes = gw_tokest_scan(r->resp.ptr, r->resp.len); /* a 2xx body that broke */
    r->att->reason = reason;
    r->att->ms = ms_since(r->att_start_ns);
    snprintf(r->res->error, sizeof(r->res->error), "%s (%s via %s)", reason, r->att->model, r->att->provider);
    if (r->status > 0 && !(r->status >= 200 && r->status < 300)) {
        r->last_status = r->status;
        r->last_kind = r->prov->kind;
        gw_buf_reset(&r->last_body);
        gw_buf_add(&r->last_body, r->resp.ptr, r->resp.len);
        memcpy(r->last_retry_after, r->retry_after, sizeof(r->retry_after));
    } else {
        r->last_status = 0; /* a transport failure is the latest news */
    }
    r->ureq = NULL;
    attempt_next(r);
}

/* ---- stream relay --------------------------------------------------------- */

static void stream_commit(gw_router_req_t *r)
{
    r->res->committed = 1;
    r->res->ttfb_ms = ms_since(r->start_ns);
    r->res->upstream_ms = upstream_ms(r);
    r->sink.on_stream_begin(r->data);
}

static void stream_flush(gw_router_req_t *r)
{
    if (r->res->committed && r->out.len > 0) {
        r->sink.on_stream_data(r->data, r->out.ptr, r->out.len);
        gw_buf_reset(&r->out);
    }
}

static int on_sse_event(const gw_sse_event_t *ev, void *data)
{
    gw_router_req_t *r = data;
    gw_xlat_info_t info;
    info.content = info.done = info.error = 0;
    info.content_bytes = 0;
    info.error_message[0] = info.error_type[0] = info.error_code[0] = '\0';
    if (gw_xlat_event(r->xlat, ev, &r->out, &info) != GW_OK) {
        snprintf(info.error_message, sizeof(info.error_message), "malformed event from upstream");
        info.error = 1;
    }
    if (info.error) {
        r->failed_inband = 1;
        snprintf(r->inband_type, sizeof(r->inband_type), "%s", info.error_type);
        snprintf(r->inband_code, sizeof(r->inband_code), "%s", info.error_code);
        snprintf(r->res->error, sizeof(r->res->error), "upstream stream error: %.200s", info.error_message);
        return 1; /* stop parsing */
    }
    if (info.content)
        r->att->content_bytes += info.content_bytes > 0 ? info.content_bytes : gw_tokest_scan(ev->data, ev->data_len);
    if ((info.content || info.done) && !r->res->committed)
        stream_commit(r);
    if (info.done) {
        gw_xlat_finish(r->xlat, &r->out); /* written with the end of the response */
        r->att->reason = "ok";
        r->att->ms = ms_since(r->att_start_ns);
        r->att->usage = gw_xlat_usage(r->xlat);
        r->res->usage = r->att->usage;
        r->finished = 1;
        return 1;
    }
    return 0;
}

/* The stream broke after it was committed: in-band error, no [DONE]. */
static void stream_break(gw_router_req_t *r, const char *reason)
{
    char why[256];
    snprintf(why, sizeof(why), "%s", reason); /* reason may be r->res->error */
    gw_xlat_error_frame(&r->out, why, r->inband_type[0] ? r->inband_type : "server_error",
                        r->inband_type[0] ? r->inband_code : "upstream_stream_error");
    r->att->reason = "stream_broken";
    r->att->ms = ms_since(r->att_start_ns);
    r->att->usage = gw_xlat_usage(r->xlat);
    r->res->usage = r->att->usage;
    snprintf(r->res->error, sizeof(r->res->error), "%s", why);
    finish_stream(r, 0);
}

/* ---- upstream callbacks ------------------------------------------------- */

static void on_up_head(void *data, int status, const char *ra, size_t ralen)
{
    gw_router_req_t *r = data;
    r->status = status;
    r->att->status = status;
    r->retry_after[0] = '\0';
    if (ra != NULL && ralen < sizeof(r->retry_after)) {
        memcpy(r->retry_after, ra, ralen);
        r->retry_after[ralen] = '\0';
    }
    if (status >= 200 && status < 300 && r->op == GW_OP_CHAT && r->info->stream) {
        gw_sse_init(&r->sse, SSE_EVENT_MAX);
        r->xlat = gw_xlat_new(r->prov->kind, r->info->include_usage, r->model->model);
    }
    gw_buf_init(&r->resp, status >= 200 && status < 300 ? r->cfg->limits.max_upstream_body_bytes : ERR_BODY_MAX);
}

static void on_up_body(void *data, const char *p, size_t n)
{
    gw_router_req_t *r = data;
    if (r->finished || r->failed_inband)
        return;
    if (r->xlat == NULL) { /* whole body wanted; over the bound is an error at the end */
        if (gw_buf_add(&r->resp, p, n) != GW_OK)
            r->failed_inband = 2;
        return;
    }
    gw_err_t rc = gw_sse_feed(&r->sse, p, n, on_sse_event, r);
    if (rc == GW_ETOOBIG) {
        r->failed_inband = 1;
        snprintf(r->res->error, sizeof(r->res->error), "upstream stream event too large");
    }
    if (r->out.len > HOLD_MAX && !r->res->committed) {
        r->failed_inband = 1;
        snprintf(r->res->error, sizeof(r->res->error), "upstream sent too much before any content");
    }
    if (!r->finished && !r->failed_inband)
        stream_flush(r);
    if (r->finished) {
        gw_upstream_cancel(r->ureq);
        r->ureq = NULL;
        finish_stream(r, 1);
        return;
    }
    if (r->failed_inband && r->res->committed) {
        gw_upstream_cancel(r->ureq);
        r->ureq = NULL;
        stream_break(r, r->res->error);
    } else if (r->failed_inband) {
        gw_upstream_cancel(r->ureq);
        r->status = 0;
        attempt_failed(r, "stream_error_before_content");
    }
}

static void done_stream(gw_router_req_t *r, gw_up_result_t res)
{
    if (r->res->committed) {
        char why[160];
        snprintf(why, sizeof(why), "upstream stream ended before completion (%s)",
                 res == GW_UP_OK ? "no terminal event" : gw_up_result_name(res));
        stream_break(r, why);
        return;
    }
    r->status = 0;
    attempt_failed(r, res == GW_UP_OK ? "stream_ended_before_content" : gw_up_result_name(res));
}

static void done_whole(gw_router_req_t *r)
{
    if (r->failed_inband == 2) {
        r->status = 0;
        attempt_failed(r, "response_too_large");
        return;
    }
    gw_buf_t out;
    /* a rerank answer may quote the client's documents back */
    gw_buf_init(&out, r->resp.len * 2 + 65536 + (r->op == GW_OP_RERANK ? r->len * 2 : 0));
    gw_usage_t u = {-1, -1};
    gw_err_t rc = gw_prov_translate_req(r->op, r->prov->kind, r->info, r->resp.ptr, r->resp.len, r->model->model,
                                        &out, &u);
    if (rc != GW_OK) {
        gw_buf_free(&out);
        r->status = 0;
        attempt_failed(r, "malformed_response");
        return;
    }
    r->att->reason = "ok";
    r->att->ms = ms_since(r->att_start_ns);
    r->att->usage = u;
    if (u.completion_tokens < 0)
        r->att->content_bytes = gw_tokest_scan(r->resp.ptr, r->resp.len);
    r->res->usage = u;
    r->res->ok = 1;
    finish_response(r, 200, out.ptr, out.len, NULL);
    gw_buf_free(&out);
}

static void on_up_done(void *data, gw_up_result_t res)
{
    gw_router_req_t *r = data;
    r->ureq = NULL;
    if (r->finished)
        return;
    if (res != GW_UP_OK && r->status == 0) { /* no response head */
        attempt_failed(r, gw_up_result_name(res));
        return;
    }
    int ok = r->status >= 200 && r->status < 300;
    if (ok && r->xlat != NULL) {
        done_stream(r, res);
        return;
    }
    if (res != GW_UP_OK) { /* broke while reading a whole body */
        r->status = 0;
        attempt_failed(r, gw_up_result_name(res));
        return;
    }
    if (ok) {
        done_whole(r);
        return;
    }
    if (gw_prov_status_retryable(r->status)) {
        attempt_failed(r, r->status == 429 ? "status_429" : r->status == 529 ? "status_529" : "status_5xx");
        return;
    }
    /* the upstream refused the request itself: no failover */
    r->att->reason = "client_error";
    r->att->ms = ms_since(r->att_start_ns);
    r->last_status = r->status;
    r->last_kind = r->prov->kind;
    gw_buf_reset(&r->last_body);
    gw_buf_add(&r->last_body, r->resp.ptr, r->resp.len);
    memcpy(r->last_retry_after, r->retry_after, sizeof(r->retry_after));
    finish_last_failure(r);
}

/* ---- attempts ------------------------------------------------------------- */

static void attempt_reset(gw_router_req_t *r)
{
    gw_buf_free(&r->resp);
    gw_buf_reset(&r->out);
    gw_sse_free(&r->sse);
    gw_xlat_free(r->xlat);
    r->xlat = NULL;
    r->status = 0;
    r->failed_inband = 0;
    r->inband_type[0] = r->inband_code[0] = '\0';
    r->retry_after[0] = '\0';
}

static uint32_t cap_ms(uint32_t ms, uint64_t left_ns)
{
    uint64_t left_ms = left_ns / 1000000 + 1;
    return ms == 0 || ms > left_ms ? (uint32_t)left_ms : ms;
}

/* The traceparent of the attempt just recorded (a new CLIENT span), or the
 * client's when tracing is off, as a header line of h. */
static void add_traceparent(gw_router_req_t *r, gw_buf_t *h)
{
    char tp[GW_TRACEPARENT_LEN + 1];
    const char *v = r->tr.client_tp;
    if (r->tr.trace != NULL) {
        if (gw_trace_attempt_open(r->tr.trace, r->tr.ids, r->res, (int)r->res->n_attempts, r->tr.parent,
                                  r->att_start_ns, tp) < 0)
            gw_trace_traceparent(r->tr.trace, r->tr.parent, tp); /* trace full: name the parent */
        v = tp;
    }
    if (v[0] != '\0') {
        gw_buf_adds(h, "traceparent: ");
        gw_buf_adds(h, v);
        gw_buf_adds(h, "\r\n");
    }
}

/* Starts the attempt on chain[next]; returns 0 when it could not start. */
static int attempt_start(gw_router_req_t *r, const gw_cfg_model_t *m, uint64_t left_ns)
{
    const gw_cfg_provider_t *p = &r->cfg->providers[m->provider_index];
    gw_prov_req_t preq;
    gw_prov_errmsg_t msg;
    memset(&msg, 0, sizeof(msg));
    gw_prov_req_init(&preq, r->len * 2 + 65536);
    gw_err_t rc = gw_prov_build(r->op, p->kind, r->body, r->len, r->info, p->base_path, m->model, p->api_key, &preq,
                                &msg);
    gw_attempt_t *a = &r->res->attempts[r->res->n_attempts++];
    memset(a, 0, sizeof(*a));
    a->alias = m->alias;
    a->provider = p->name;
    a->model = m->model;
    a->usage.prompt_tokens = a->usage.completion_tokens = -1;
    a->cfg_model = m;
    r->att = a;
    r->model = m;
    r->prov = p;
    r->res->model = m;
    r->res->provider = p;
    r->att_start_ns = gw_now_ns();
    if (rc != GW_OK) {
        a->reason = "not_expressible";
        snprintf(r->res->error, sizeof(r->res->error), "%s", msg.message[0] ? msg.message : gw_strerror(rc));
        gw_prov_req_free(&preq);
        return 0;
    }
    add_traceparent(r, &preq.headers);
    gw_upstream_timeouts_t t = {cap_ms(r->cfg->limits.connect_timeout_ms, left_ns),
                                cap_ms(r->cfg->limits.first_byte_timeout_ms, left_ns),
                                cap_ms(r->cfg->limits.idle_timeout_ms, left_ns)};
    static const gw_upstream_cbs_t cbs = {on_up_head, on_up_body, on_up_done};
    r->ureq = gw_upstream_post(r->up, p, preq.path.ptr, NULL, preq.headers.ptr ? preq.headers.ptr : "",
                               preq.headers.len, preq.body.ptr, preq.body.len, &t, &cbs, r);
    gw_prov_req_free(&preq);
    if (r->ureq == NULL) {
        a->reason = "internal_error";
        return 0;
    }
    return 1;
}

static void attempt_next(gw_router_req_t *r)
{
    attempt_reset(r);
    while (r->next < r->chain_len) {
        uint64_t now = gw_now_ns();
        /* an attempt timer capped by the deadline may fire a hair early;
         * under DEADLINE_SLACK_NS left, no attempt can do useful work */
        if (now + DEADLINE_SLACK_NS >= r->deadline_ns) {
            snprintf(r->res->error, sizeof(r->res->error), "upstream_timeout_ms deadline reached after %zu attempts",
                     r->res->n_attempts);
            r->last_status = 0;
            break;
        }
        const char *alias = r->chain[r->next++];
        const gw_cfg_model_t *m = gw_config_model(r->cfg, alias, strlen(alias));
        if (m == NULL)
            continue;
        if (attempt_start(r, m, r->deadline_ns - now))
            return;
    }
    finish_last_failure(r);
}

static void build_chain(gw_router_req_t *r, const gw_cfg_model_t *first)
{
    size_t max = 1 + (size_t)r->cfg->limits.retry_budget;
    if (max > GW_MAX_ATTEMPTS)
        max = GW_MAX_ATTEMPTS;
    r->chain[r->chain_len++] = first->alias;
    const gw_cfg_fallback_t *fb = gw_config_fallback(r->cfg, first->alias);
    for (size_t i = 0; fb != NULL && i < fb->chain_len && r->chain_len < max; i++)
        r->chain[r->chain_len++] = fb->chain[i];
}

gw_router_req_t *gw_router_start(gw_upstream_ctx_t *up, const gw_config_t *cfg, gw_op_t op, const char *body,
                                 size_t len, const gw_chat_info_t *info, const gw_router_sink_t *sink, void *data,
                                 gw_router_result_t *result)
{
    return gw_router_start_traced(up, cfg, op, body, len, info, sink, data, result, NULL);
}

gw_router_req_t *gw_router_start_traced(gw_upstream_ctx_t *up, const gw_config_t *cfg, gw_op_t op, const char *body,
                                        size_t len, const gw_chat_info_t *info, const gw_router_sink_t *sink,
                                        void *data, gw_router_result_t *result, const gw_router_trace_t *tr)
{
    const gw_cfg_model_t *first = gw_config_model(cfg, info->model, info->model_len);
    if (first == NULL)
        return NULL; /* the caller checks the alias first */
    gw_router_req_t *r = gw_calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->up = up;
    r->op = op;
    r->cfg = cfg;
    r->body = body;
    r->len = len;
    r->info = info;
    r->sink = *sink;
    r->data = data;
    r->res = result;
    if (tr != NULL)
        r->tr = *tr;
    memset(result, 0, sizeof(*result));
    result->stream = op == GW_OP_CHAT && info->stream;
    result->usage.prompt_tokens = result->usage.completion_tokens = -1;
    result->prompt_chars = info->prompt_chars;
    r->start_ns = gw_now_ns();
    r->deadline_ns = r->start_ns + (uint64_t)cfg->limits.upstream_timeout_ms * 1000000ull;
    gw_buf_init(&r->out, HOLD_MAX * 2);
    gw_buf_init(&r->last_body, ERR_BODY_MAX);
    gw_buf_init(&r->resp, ERR_BODY_MAX);
    gw_sse_init(&r->sse, SSE_EVENT_MAX);
    build_chain(r, first);
    int sync_done = 0;
    r->sync_done = &sync_done;
    attempt_next(r);
    if (sync_done)
        return NULL; /* already answered through the sink and freed */
    r->sync_done = NULL;
    return r;
}

void gw_router_cancel(gw_router_req_t *r)
{
    if (r == NULL)
        return;
    if (r->ureq != NULL)
        gw_upstream_cancel(r->ureq);
    if (r->att != NULL && r->att->reason == NULL) {
        r->att->reason = "client_abort";
        r->att->ms = ms_since(r->att_start_ns);
        if (r->xlat != NULL) /* what the upstream reported before the client left */
            r->att->usage = gw_xlat_usage(r->xlat);
        else if (r->att->status >= 200 && r->att->status < 300)
            r->att->content_bytes = gw_tokest_scan(r->resp.ptr, r->resp.len);
    }
    r->res->upstream_ms = upstream_ms(r);
    trace_attempts(r);
    router_free(r);
}

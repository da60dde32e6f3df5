/* h_catalog.c - the catalog routes: POST /v1/ask (JSON or SSE events),
 * GET /v1/search, POST /v1/sql (admin keys only). Engine work never runs
 * on a worker's loop: each request is a job on libuv's thread pool, and
 * the answer is written from the loop when the job is done. An ask job
 * has an LLM channel (llm_call.h) on the worker's loop: its LLM calls go
 * through the router under the caller's tenant, and its SSE events (stage,
 * plan, rows, token...) are queued by the pool thread and written by the
 * loop as they happen. A client that leaves cancels the job's LLM calls.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "formatter_llm.h"
#include "llm_call.h"
#include "planner_llm.h"
#include "routes.h"
#include "services.h"
#include "trace_req.h"

#define SQL_MAX_ROWS 1000
#define SQL_TIMEOUT_MS 10000
#define SEARCH_K_DEFAULT 10
#define SEARCH_K_MAX 100

typedef enum { JOB_ASK, JOB_SEARCH, JOB_SQL } job_kind_t;

typedef struct job {
    uv_work_t work;
    gw_route_ctx_t ctx;
    job_kind_t kind;
    gw_services_t *svc;
    char *text;   /* question, query or SQL (owned) */
    size_t k;
    int stream;
    int aborted;  /* the client left while the job ran */
    int status;
    gw_buf_t out; /* the JSON answer */
    char error[GW_ENGINE_MSG_MAX];
    gw_ask_planner_pick_t planner;
    gw_llm_chan_t *llm;  /* ask jobs: LLM calls and SSE wakeups (loop side) */
    pthread_mutex_t mu;  /* guards q */
    gw_buf_t q;          /* SSE bytes from the pool thread not yet written */
    int began;           /* loop: the stream's head went out */
    int traced;          /* an ask with a trace: its stages become spans */
    uint64_t stage_at;   /* pool thread: when the last stage ended (or the run began) */
    struct {
        const char *name; /* a literal of ask.c */
        uint64_t start_ns, end_ns;
    } stages[8];         /* under mu */
    size_t n_stages;     /* under mu */
} job_t;

static gw_services_t *services_or_503(gw_route_ctx_t *ctx)
{
    gw_app_t *app = ctx->req->worker->app;
    gw_services_t *s = atomic_load(&app->services);
    if (s != NULL)
        return s;
    int st = atomic_load(&app->services_state);
    const char *msg = st == GW_SVC_DISABLED ? "the catalog is turned off (ask.engine: none)"
                      : st == GW_SVC_FAILED ? app->services_error
                                            : "the catalog is still loading; retry shortly";
    gw_route_error(ctx, 503, "server_error", st == GW_SVC_STARTING ? "catalog_loading" : "catalog_unavailable", NULL,
                   msg, st == GW_SVC_STARTING ? "Retry-After: 2\r\n" : NULL);
    return NULL;
}

/* ---- the thread-pool side ------------------------------------------------- */

/* Queues one SSE event for the loop (any thread); wake: flush it now. */
static void sse_event(job_t *j, const char *name, const char *json, size_t len, int wake)
{
    pthread_mutex_lock(&j->mu);
    size_t mark = j->q.len;
    if (gw_buf_printf(&j->q, "event: %s\ndata: ", name) != GW_OK || gw_buf_add(&j->q, json, len) != GW_OK ||
        gw_buf_adds(&j->q, "\n\n") != GW_OK) { /* never half an event */
        j->q.len = mark;
        if (j->q.ptr != NULL)
            j->q.ptr[mark] = '\0';
    }
    pthread_mutex_unlock(&j->mu);
    if (wake && j->llm != NULL)
        gw_llm_chan_wake(j->llm);
}

/* Pool thread: a stage's times for its span. A stage runs from the end of
 * the previous one, except one measured in pieces inside another (the LLM
 * planner's guard and execute): then its last ms. */
static void trace_note_stage(job_t *j, const char *stage, double ms)
{
    uint64_t end = gw_now_ns(), d = ms > 0 ? (uint64_t)(ms * 1e6) : 0;
    uint64_t start = end - j->stage_at >= d ? j->stage_at : end - d;
    j->stage_at = end;
    pthread_mutex_lock(&j->mu);
    if (j->n_stages < sizeof(j->stages) / sizeof(j->stages[0])) {
        j->stages[j->n_stages].name = stage;
        j->stages[j->n_stages].start_ns = start;
        j->stages[j->n_stages++].end_ns = end;
    }
    pthread_mutex_unlock(&j->mu);
}

static void ask_on_stage(void *data, const char *stage, double ms)
{
    job_t *j = data;
    if (j->traced)
        trace_note_stage(j, stage, ms);
    if (!j->stream)
        return;
    char ev[96];
    int n = snprintf(ev, sizeof(ev), "{\"stage\":\"%s\",\"ms\":%.3f}", stage, ms);
    sse_event(j, "stage", ev, (size_t)n, 1);
}

static void ask_on_plan(void *data, const char *sql, const char *planner)
{
    job_t *j = data;
    gw_buf_t b;
    gw_buf_init(&b, 1 << 20);
    gw_buf_adds(&b, "{\"sql\":\"");
    gw_buf_add_json_str(&b, sql, strlen(sql));
    gw_buf_adds(&b, "\",\"planner\":\"");
    gw_buf_adds(&b, planner);
    gw_buf_adds(&b, "\"}");
    sse_event(j, "plan", b.ptr, b.len, 1);
    gw_buf_free(&b);
}

static void ask_on_rows(void *data, const gw_result_t *r)
{
    job_t *j = data;
    gw_buf_t b;
    gw_buf_init(&b, 16 << 20);
    if (gw_result_to_json(r, &b) == GW_OK)
        sse_event(j, "rows", b.ptr, b.len, 1);
    gw_buf_free(&b);
}

static void ask_on_token(void *data, const char *text, size_t len)
{
    job_t *j = data;
    gw_buf_t b;
    gw_buf_init(&b, 64 << 10);
    if (gw_buf_adds(&b, "{\"text\":\"") == GW_OK && gw_buf_add_json_str(&b, text, len) == GW_OK &&
        gw_buf_adds(&b, "\"}") == GW_OK)
        sse_event(j, "token", b.ptr, b.len, 1);
    gw_buf_free(&b);
}

static void run_ask(job_t *j)
{
    gw_ask_opts_t o = {0};
    j->stage_at = gw_now_ns();
    if (j->stream || j->traced)
        o.on_stage = ask_on_stage;
    if (j->stream) {
        o.on_plan = ask_on_plan;
        o.on_rows = ask_on_rows;
        o.on_token = ask_on_token;
    }
    o.cb_data = j;
    o.llm = j->llm;
    o.planner = j->planner;
    gw_ask_answer_t ans;
    memset(&ans, 0, sizeof(ans));
    gw_err_t rc = gw_ask_run(j->svc->ask, j->text, &o, &ans);
    if (rc != GW_OK) {
        j->status = rc == GW_ETOOBIG ? 413 : 400;
        snprintf(j->error, sizeof(j->error), "%s", rc == GW_ETOOBIG ? "question too long" : "invalid question");
        return;
    }
    gw_buf_t b;
    gw_buf_init(&b, 32 << 20);
    gw_ask_answer_to_json(&ans, &b);
    if (j->stream) { /* written with the end of the stream */
        sse_event(j, "answer", b.ptr, b.len, 0);
        sse_event(j, "done", "{}", 2, 0);
    } else {
        gw_buf_add(&j->out, b.ptr, b.len);
    }
    gw_buf_free(&b);
    gw_ask_answer_free(&ans);
    j->status = 200;
}

static void run_search(job_t *j)
{
    gw_search_result_t r;
    gw_search_result_init(&r);
    gw_err_t rc = gw_search_query(j->svc->search, j->text, strlen(j->text), j->k, &r);
    if (rc == GW_OK && gw_search_result_to_json(&r, &j->out) == GW_OK) {
        j->status = 200;
    } else {
        j->status = rc == GW_EINVAL ? 400 : 500;
        snprintf(j->error, sizeof(j->error), "search failed: %s", gw_strerror(rc));
    }
    gw_search_result_free(&r);
}

static void run_sql(job_t *j)
{
    gw_query_opts_t o = {SQL_MAX_ROWS, SQL_TIMEOUT_MS};
    gw_query_info_t info;
    gw_result_t *res = NULL;
    gw_err_t rc = gw_engine_query_result(j->svc->engine, j->text, strlen(j->text), &o, &res, &info);
    if (rc == GW_OK) {
        gw_result_to_json(res, &j->out);
        gw_result_free(res);
        j->status = 200;
        return;
    }
    j->status = rc == GW_EDENIED ? 400 : rc == GW_ETIMEOUT ? 504 : rc == GW_EUPSTREAM ? 422 : 500;
    snprintf(j->error, sizeof(j->error), "%s", info.message[0] ? info.message : gw_strerror(rc));
}

static void job_work(uv_work_t *w)
{
    job_t *j = w->data;
    if (j->kind == JOB_ASK)
        run_ask(j);
    else if (j->kind == JOB_SEARCH)
        run_search(j);
    else
        run_sql(j);
}

/* ---- the loop side ------------------------------------------------------ */

static void job_free(job_t *j)
{
    gw_llm_chan_close(j->llm);
    pthread_mutex_destroy(&j->mu);
    gw_buf_free(&j->out);
    gw_buf_free(&j->q);
    gw_free(j->text);
    gw_free(j);
}

/* The queued SSE bytes (a new buffer the caller frees), under the lock. */
static gw_buf_t take_queue(job_t *j)
{
    gw_buf_t b;
    pthread_mutex_lock(&j->mu);
    b = j->q;
    gw_buf_init(&j->q, b.max);
    pthread_mutex_unlock(&j->mu);
    return b;
}

/* Loop: writes what the pool thread queued (the channel's wake hook). */
static void job_flush(void *data)
{
    job_t *j = data;
    if (j->aborted || !j->stream)
        return;
    gw_buf_t b = take_queue(j);
    if (b.len > 0) {
        if (!j->began)
            gw_http_stream_begin(j->ctx.req, 200, "text/event-stream; charset=utf-8", NULL);
        j->began = 1;
        gw_http_stream_write(j->ctx.req, b.ptr, b.len);
    }
    gw_buf_free(&b);
}

/* Loop: the ask's stages as INTERNAL spans of the root; the LLM attempts
 * (CLIENT spans, closed by the router) move under the stage they ran in. */
static void trace_stages(job_t *j)
{
    if (j->ctx.trace == NULL)
        return;
    pthread_mutex_lock(&j->mu);
    for (size_t i = 0; i < j->n_stages; i++)
        gw_trace_adopt(j->ctx.trace, gw_trace_stage(j->ctx.trace, &j->ctx.req->worker->ids, j->stages[i].name,
                                                    j->stages[i].start_ns, j->stages[i].end_ns, 1));
    pthread_mutex_unlock(&j->mu);
}

/* The log line of an ask job carries its LLM calls (model, attempts,
 * tokens, cost under the caller's tenant). Calls still in flight are
 * cancelled first: they borrow the runtime the line releases. */
static void job_log(job_t *j, int status, const char *error)
{
    gw_llm_totals_t t;
    gw_reqlog_t l = {.status = status, .stream = j->stream, .error = error, .prompt_tokens = -1,
                     .completion_tokens = -1};
    if (j->llm != NULL) {
        gw_llm_chan_cancel(j->llm);
        t = *gw_llm_chan_totals(j->llm);
        if (t.calls > 0) {
            l.model = t.alias;
            l.model_len = strlen(t.alias);
            l.router = &t.router;
            l.ttfb_ms = t.router.ttfb_ms;
            l.prompt_tokens = t.prompt_tokens;
            l.completion_tokens = t.completion_tokens;
            l.cost_usd = t.cost_usd;
        }
    }
    trace_stages(j); /* after the cancel above: the attempts are closed */
    gw_route_log(&j->ctx, &l);
}

/* The client left: its LLM calls stop now and the line is written while
 * the request still exists; the pool side finishes, job_done frees. */
static void job_on_abort(gw_http_req_t *req)
{
    job_t *j = req->handler_data;
    j->aborted = 1;
    job_log(j, 499, "client closed the connection");
}

/* A stream that already began can only end with an error event. */
static void job_stream_error(job_t *j)
{
    gw_buf_t b = take_queue(j);
    gw_buf_t e;
    gw_buf_init(&e, 4096);
    gw_buf_adds(&e, "event: error\ndata: ");
    gw_openai_error(&e, j->error[0] ? j->error : "internal error", "invalid_request_error", NULL, NULL);
    gw_buf_adds(&e, "\n\n");
    gw_buf_add(&b, e.ptr, e.len);
    gw_http_stream_end(j->ctx.req, b.ptr, b.len);
    gw_buf_free(&e);
    gw_buf_free(&b);
}

static void job_done(uv_work_t *w, int status)
{
    job_t *j = w->data;
    (void)status;
    if (j->aborted) { /* logged by job_on_abort */
        job_free(j);
        return;
    }
    j->ctx.req->on_abort = NULL;
    if (j->status != 200 && j->began) {
        job_stream_error(j);
        job_log(j, j->status, j->error);
    } else if (j->status != 200) {
        gw_llm_chan_cancel(j->llm); /* no LLM call outlives the runtime and trace the answer releases */
        gw_route_error(&j->ctx, j->status ? j->status : 500,
                       j->status == 400 && j->kind == JOB_SQL ? "invalid_request_error"
                       : j->status >= 500                    ? "server_error"
                                                             : "invalid_request_error",
                       j->kind == JOB_SQL && j->status == 400 ? "sql_refused" : NULL, NULL,
                       j->error[0] ? j->error : "internal error", NULL);
    } else if (j->stream) {
        gw_buf_t b = take_queue(j);
        if (!j->began)
            gw_http_stream_begin(j->ctx.req, 200, "text/event-stream; charset=utf-8", NULL);
        gw_http_stream_end(j->ctx.req, b.ptr, b.len);
        gw_buf_free(&b);
        job_log(j, 200, NULL);
    } else {
        gw_http_respond(j->ctx.req, 200, "application/json", NULL, j->out.ptr, j->out.len);
        job_log(j, 200, NULL);
    }
    job_free(j);
}

/* Queues a job; takes text. */
static void job_start(gw_route_ctx_t *ctx, gw_services_t *svc, job_kind_t kind, char *text, size_t k, int stream,
                      gw_ask_planner_pick_t planner)
{
    job_t *j = gw_calloc(1, sizeof(*j));
    if (j == NULL) {
        gw_free(text);
        gw_route_error(ctx, 500, "server_error", "internal_error", NULL, "out of memory", NULL);
        return;
    }
    j->ctx = *ctx;
    j->kind = kind;
    j->svc = svc;
    j->text = text;
    j->k = k;
    j->stream = stream;
    gw_buf_init(&j->out, 64 << 20);
    gw_buf_init(&j->q, 64 << 20);
    pthread_mutex_init(&j->mu, NULL);
    j->planner = planner;
    if (kind == JOB_ASK && (stream || planner == GW_ASK_PLANNER_LLM || gw_ask_wants_llm(svc->ask))) {
        j->llm = gw_llm_chan_new(&ctx->req->worker->loop, ctx->req->worker->up, ctx->rt->cfg,
                                 ctx->tenant != NULL ? ctx->tenant->id : NULL, job_flush, j);
        if (j->llm == NULL) {
            gw_route_error(&j->ctx, 500, "server_error", "internal_error", NULL, "out of memory", NULL);
            job_free(j);
            return;
        }
        gw_router_trace_t tr; /* its LLM attempts under the root, or the client's traceparent forwarded */
        gw_trace_req_router(ctx->trace, ctx->req, 0, &tr);
        gw_llm_chan_set_trace(j->llm, &tr);
    }
    j->traced = kind == JOB_ASK && ctx->trace != NULL;
    j->work.data = j;
    ctx->req->handler_data = j;
    ctx->req->on_abort = job_on_abort;
    if (uv_queue_work(&ctx->req->worker->loop, &j->work, job_work, job_done) != 0) {
        ctx->req->on_abort = NULL;
        gw_route_error(&j->ctx, 500, "server_error", "internal_error", NULL, "cannot queue the query", NULL);
        job_free(j);
    }
}

/* Reads a string member of a JSON object body (a new copy), or NULL. */
static char *body_string(gw_route_ctx_t *ctx, const char *key, json_t **root_out)
{
    json_error_t e;
    json_t *root = json_loadb(ctx->req->body, ctx->req->body_len, 0, &e);
    *root_out = root;
    if (root == NULL || !json_is_object(root)) {
        gw_route_error(ctx, 400, "invalid_request_error", "invalid_json", NULL,
                       "the body must be one JSON object", NULL);
        return NULL;
    }
    json_t *v = json_object_get(root, key);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        char m[96];
        snprintf(m, sizeof(m), "'%s' is required and must be a non-empty string", key);
        gw_route_error(ctx, 400, "invalid_request_error", NULL, key, m, NULL);
        return NULL;
    }
    return gw_strndup(json_string_value(v), json_string_length(v));
}

/* Prompt characters an ask's LLM call is reserved for besides the question
 * (instructions, schema links or result rows): an estimate, settled to the
 * real cost by gw_route_log. */
#define ASK_PROMPT_CHARS 8192

static int alias_known(const gw_config_t *cfg, const char *alias)
{
    return alias != NULL && gw_config_model(cfg, alias, strlen(alias)) != NULL;
}

/* Admission of an ask whose planner or formatter will call an LLM: one
 * reservation (routes.h) for the worst case of all its calls (the planner's
 * first answer and its self-correction rounds, the formatter), at the
 * prices of the dearer alias. Returns 1 admitted (ctx->hold is settled by
 * the job's log line), 0 refused and answered (429). */
static int ask_reserve(gw_route_ctx_t *ctx, gw_services_t *svc, gw_ask_planner_pick_t pick, size_t qlen)
{
    const gw_config_t *cfg = ctx->rt->cfg;
    const gw_cfg_ask_t *a = &cfg->ask;
    int by_config = pick == GW_ASK_PLANNER_CONFIG && gw_ask_wants_llm(svc->ask) &&
                    gw_ask_llm_planner_available(svc->ask) &&
                    (a->planner_mode == NULL || strcmp(a->planner_mode, "rules") != 0);
    int plan = a->planner_model != NULL && (pick == GW_ASK_PLANNER_LLM || by_config);
    const char *falias = a->formatter_model != NULL ? a->formatter_model : a->planner_model;
    int fmt = a->formatter_mode != NULL && strcmp(a->formatter_mode, "llm") == 0 && alias_known(cfg, falias);
    if (!plan && !fmt)
        return 1;
    const char *alias = plan ? a->planner_model : falias;
    const gw_cfg_model_t *pm = plan ? gw_config_model(cfg, alias, strlen(alias)) : NULL;
    const gw_cfg_model_t *fm = plan && fmt ? gw_config_model(cfg, falias, strlen(falias)) : NULL;
    if (fm != NULL &&
        (pm == NULL || fm->input_per_mtok + fm->output_per_mtok > pm->input_per_mtok + pm->output_per_mtok))
        alias = falias;
    size_t plan_calls = plan ? 1 + GW_LLM_PLAN_RETRIES : 0, calls = plan_calls + (fmt ? 1 : 0);
    gw_chat_info_t info = {.model = alias, .model_len = strlen(alias)};
    info.prompt_chars = calls * (ASK_PROMPT_CHARS + qlen);
    info.max_tokens = (int64_t)plan_calls * GW_LLM_PLAN_MAX_TOKENS + (fmt ? GW_FMT_LLM_MAX_TOKENS : 0);
    return gw_route_reserve(ctx, GW_OP_CHAT, &info);
}

void gw_h_ask(gw_route_ctx_t *ctx)
{
    gw_services_t *svc = services_or_503(ctx);
    if (svc == NULL)
        return;
    json_t *root = NULL;
    char *q = body_string(ctx, "question", &root);
    if (q == NULL) {
        json_decref(root);
        return;
    }
    const char *engine = json_string_value(json_object_get(root, "engine"));
    const char *planner = json_string_value(json_object_get(root, "planner"));
    int stream = json_is_true(json_object_get(root, "stream"));
    char m[160] = "";
    const char *param = NULL;
    if (engine != NULL && strcmp(engine, svc->engine_name) != 0) {
        snprintf(m, sizeof(m), "engine '%.40s' is not the configured one ('%s')", engine, svc->engine_name);
        param = "engine";
    } else if (planner != NULL && strcmp(planner, "rules") != 0 &&
               (strcmp(planner, "llm") != 0 || !gw_ask_llm_planner_available(svc->ask))) {
        snprintf(m, sizeof(m), "planner '%.40s' is not available: use 'rules'%s", planner,
                 gw_ask_llm_planner_available(svc->ask) ? " or 'llm'" : " (no ask.planner.model is configured)");
        param = "planner";
    }
    gw_ask_planner_pick_t pick = planner == NULL ? GW_ASK_PLANNER_CONFIG
                                 : strcmp(planner, "rules") == 0 ? GW_ASK_PLANNER_RULES
                                                                 : GW_ASK_PLANNER_LLM;
    json_decref(root);
    if (param != NULL) {
        gw_free(q);
        gw_route_error(ctx, 400, "invalid_request_error", NULL, param, m, NULL);
        return;
    }
    if (!ask_reserve(ctx, svc, pick, strlen(q))) { /* 429 before any LLM call */
        gw_free(q);
        return;
    }
    job_start(ctx, svc, JOB_ASK, q, 0, stream, pick);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The URL-decoded value of name in the query string (a new string), or NULL. */
static char *query_param(const gw_http_req_t *req, const char *name)
{
    size_t nl = strlen(name);
    const char *p = req->query, *end = req->query + req->query_len;
    while (p != NULL && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            char *out = gw_malloc((size_t)(stop - p));
            size_t o = 0;
            for (const char *c = p + nl + 1; out != NULL && c < stop; c++) {
                if (*c == '+')
                    out[o++] = ' ';
                else if (*c == '%' && c + 2 < stop && hexval(c[1]) >= 0 && hexval(c[2]) >= 0) {
                    out[o++] = (char)(hexval(c[1]) * 16 + hexval(c[2]));
                    c += 2;
                } else
                    out[o++] = *c;
            }
            if (out != NULL)
                out[o] = '\0';
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

void gw_h_search(gw_route_ctx_t *ctx)
{
    gw_services_t *svc = services_or_503(ctx);
    if (svc == NULL)
        return;
    char *q = query_param(ctx->req, "q");
    char *ks = query_param(ctx->req, "k");
    size_t k = SEARCH_K_DEFAULT;
    if (ks != NULL) {
        char *endp = NULL;
        long v = strtol(ks, &endp, 10);
        int bad = endp == ks || *endp != '\0' || v < 1 || v > SEARCH_K_MAX;
        gw_free(ks);
        if (bad) {
            gw_free(q);
            gw_route_error(ctx, 400, "invalid_request_error", NULL, "k", "k must be an integer from 1 to 100", NULL);
            return;
        }
        k = (size_t)v;
    }
    job_start(ctx, svc, JOB_SEARCH, q != NULL ? q : gw_strdup(""), k, 0, GW_ASK_PLANNER_CONFIG);
}

void gw_h_sql(gw_route_ctx_t *ctx)
{
    if (ctx->rt->cfg->auth_enabled && (ctx->tenant == NULL || !ctx->tenant->admin)) {
        gw_route_error(ctx, 403, "permission_error", "admin_required", NULL, "POST /v1/sql needs an admin key", NULL);
        return;
    }
    gw_services_t *svc = services_or_503(ctx);
    if (svc == NULL)
        return;
    json_t *root = NULL;
    char *sql = body_string(ctx, "sql", &root);
    json_decref(root);
    if (sql != NULL)
        job_start(ctx, svc, JOB_SQL, sql, 0, 0, GW_ASK_PLANNER_CONFIG);
}

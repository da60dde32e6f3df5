/* llm_call.c - the bridge of llm_call.h: calls posted from the ask
 * pipeline's threads, started on the loop through gw_router_start, their
 * answers (whole or streamed deltas) handed back under a mutex and a
 * condition variable; plus a private loop thread for the CLI.
 */
#include "llm_call.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "buf.h"
#include "provider.h"
#include "sse.h"

#define TEXT_MAX (4u << 20)     /* an assistant answer we keep */
#define SSE_MAX (4u << 20)

typedef struct call {
    struct call *next;   /* in the channel's pending or active list */
    gw_llm_chan_t *chan;
    int refs;            /* the caller's and the loop's; under chan->mu */
    char *body;
    size_t len;
    gw_chat_info_t info;
    gw_router_req_t *router; /* loop thread */
    gw_router_result_t res;  /* written by the router on the loop */
    gw_sse_parser_t sse;     /* loop thread */
    gw_buf_t text;           /* under mu: the assistant text so far */
    int done, abandoned;     /* under mu */
    gw_llm_result_t out;     /* under mu, final once done (text not set) */
    gw_err_t rc;
    pthread_cond_t cv;
} call_t;

struct gw_llm_chan {
    uv_loop_t *loop;
    uv_async_t async;
    gw_upstream_ctx_t *up;
    const gw_config_t *cfg;
    char *tenant;
    gw_llm_wake_cb wake;
    void *wake_data;
    pthread_mutex_t mu;
    call_t *pending; /* posted, not started (under mu) */
    call_t *active;  /* started on the loop (under mu) */
    int cancelled;   /* under mu */
    int closing;     /* loop thread */
    gw_llm_totals_t totals; /* under mu */
    gw_router_trace_t tr;   /* loop thread: tracing of the calls (router.h) */
};

/* ---- calls ---------------------------------------------------------------- */

static void call_unref_locked(call_t *k, int *freed)
{
    *freed = --k->refs == 0;
    if (!*freed)
        return;
    gw_free(k->body);
    gw_sse_free(&k->sse);
    gw_buf_free(&k->text);
    pthread_cond_destroy(&k->cv);
    gw_free(k);
}

static void list_remove(call_t **head, call_t *k)
{
    for (call_t **p = head; *p != NULL; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            k->next = NULL;
            return;
        }
}

static void add_attempts(gw_llm_totals_t *t, const gw_router_result_t *r)
{
    if (r->n_attempts > 0 && t->n_each < GW_LLM_MAX_CALLS)
        t->each[t->n_each++] = *r;
    for (size_t i = 0; i < r->n_attempts && t->router.n_attempts < GW_MAX_ATTEMPTS; i++)
        t->router.attempts[t->router.n_attempts++] = r->attempts[i];
    if (r->model != NULL) {
        t->router.model = r->model;
        t->router.provider = r->provider;
        snprintf(t->alias, sizeof t->alias, "%s", r->model->alias);
    }
    t->router.status = r->status;
    t->router.ok = r->ok;
    t->router.stream = r->stream;
    if (t->router.ttfb_ms == 0)
        t->router.ttfb_ms = r->ttfb_ms;
}

static void add_usage(gw_llm_totals_t *t, const gw_llm_result_t *o)
{
    if (o->usage.prompt_tokens >= 0)
        t->prompt_tokens = (t->prompt_tokens < 0 ? 0 : t->prompt_tokens) + o->usage.prompt_tokens;
    if (o->usage.completion_tokens >= 0)
        t->completion_tokens = (t->completion_tokens < 0 ? 0 : t->completion_tokens) + o->usage.completion_tokens;
    t->router.usage.prompt_tokens = t->prompt_tokens;
    t->router.usage.completion_tokens = t->completion_tokens;
    t->cost_usd += o->cost_usd;
    t->calls++;
}

/* The loop's side of a call is over: fill the result, count it, wake the
 * caller, drop the loop's reference. */
static void call_finish(call_t *k, gw_err_t rc, const char *why)
{
    gw_llm_chan_t *c = k->chan;
    const gw_router_result_t *r = &k->res;
    gw_llm_result_t *o = &k->out;
    int freed;
    k->router = NULL;
    o->status = r->status;
    o->ok = rc == GW_OK && r->ok;
    o->usage = r->usage;
    o->n_attempts = r->n_attempts;
    if (r->model != NULL) {
        snprintf(o->alias, sizeof o->alias, "%s", r->model->alias);
        if (r->usage.prompt_tokens >= 0 && r->usage.completion_tokens >= 0)
            o->cost_usd = ((double)r->usage.prompt_tokens * r->model->input_per_mtok +
                           (double)r->usage.completion_tokens * r->model->output_per_mtok) / 1e6;
    }
    if (r->provider != NULL)
        snprintf(o->provider, sizeof o->provider, "%s", r->provider->name);
    if (why != NULL && o->error[0] == '\0')
        snprintf(o->error, sizeof o->error, "%s", why);
    else if (!o->ok && o->error[0] == '\0')
        snprintf(o->error, sizeof o->error, "%s", r->error[0] ? r->error : "the LLM call failed");
    pthread_mutex_lock(&c->mu);
    k->rc = rc == GW_OK && !o->ok ? GW_EUPSTREAM : rc;
    k->done = 1;
    list_remove(&c->active, k);
    add_attempts(&c->totals, r);
    add_usage(&c->totals, o);
    pthread_cond_signal(&k->cv);
    call_unref_locked(k, &freed);
    pthread_mutex_unlock(&c->mu);
}

/* ---- the router's sink (loop thread) ---------------------------------------- */

static void append_text(call_t *k, const char *s, size_t n)
{
    pthread_mutex_lock(&k->chan->mu);
    if (gw_buf_add(&k->text, s, n) == GW_OK)
        pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->chan->mu);
}

/* The error message of an OpenAI error object, or NULL. */
static const char *error_message(json_t *root)
{
    return json_string_value(json_object_get(json_object_get(root, "error"), "message"));
}

static void sink_response(void *data, int status, const char *body, size_t len, const char *extra)
{
    call_t *k = data;
    json_error_t e;
    (void)extra;
    json_t *root = json_loadb(body, len, 0, &e);
    if (status >= 200 && status < 300) {
        json_t *msg = json_object_get(json_array_get(json_object_get(root, "choices"), 0), "message");
        const char *s = json_string_value(json_object_get(msg, "content"));
        if (s != NULL)
            append_text(k, s, strlen(s));
        json_decref(root);
        if (s == NULL)
            call_finish(k, GW_EUPSTREAM, "the answer has no text content");
        else
            call_finish(k, GW_OK, NULL);
        return;
    }
    const char *m = error_message(root);
    snprintf(k->out.error, sizeof k->out.error, "upstream status %d: %.200s", status, m != NULL ? m : "error");
    json_decref(root);
    call_finish(k, GW_EUPSTREAM, NULL);
}

static void sink_begin(void *data)
{
    (void)data;
}

static int on_event(const gw_sse_event_t *ev, void *data)
{
    call_t *k = data;
    json_error_t e;
    if (ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0)
        return 0;
    json_t *root = json_loadb(ev->data, ev->data_len, 0, &e);
    const char *m = error_message(root);
    if (m != NULL)
        snprintf(k->out.error, sizeof k->out.error, "upstream stream error: %.200s", m);
    json_t *delta = json_object_get(json_array_get(json_object_get(root, "choices"), 0), "delta");
    json_t *content = json_object_get(delta, "content");
    if (json_is_string(content) && json_string_length(content) > 0)
        append_text(k, json_string_value(content), json_string_length(content));
    json_decref(root);
    return 0;
}

static void sink_data(void *data, const char *p, size_t n)
{
    call_t *k = data;
    gw_sse_feed(&k->sse, p, n, on_event, k);
}

static void sink_end(void *data, const char *p, size_t n, int clean)
{
    call_t *k = data;
    gw_sse_feed(&k->sse, p, n, on_event, k);
    call_finish(k, clean ? GW_OK : GW_EUPSTREAM, clean ? NULL : "the stream broke");
}

static const gw_router_sink_t call_sink = {sink_response, sink_begin, sink_data, sink_end};

/* ---- the loop side ---------------------------------------------------------- */

/* Starts one posted call (loop thread). */
static void call_start(gw_llm_chan_t *c, call_t *k)
{
    gw_prov_errmsg_t msg;
    int cancelled;
    memset(&msg, 0, sizeof msg);
    pthread_mutex_lock(&c->mu);
    cancelled = c->cancelled || k->abandoned;
    if (!cancelled) {
        k->next = c->active;
        c->active = k;
        k->refs++; /* held across the start: the sink may finish (and unref) synchronously */
    }
    pthread_mutex_unlock(&c->mu);
    if (cancelled) {
        call_finish(k, GW_EDENIED, "cancelled: the client left");
        return;
    }
    gw_router_req_t *r = NULL;
    if (gw_chat_inspect(k->body, k->len, &k->info, &msg) != GW_OK)
        call_finish(k, GW_EINVAL, msg.message[0] ? msg.message : "not a chat request");
    else if (gw_config_model(c->cfg, k->info.model, k->info.model_len) == NULL)
        call_finish(k, GW_EINVAL, "the model alias is not configured");
    else if ((r = gw_router_start_traced(c->up, c->cfg, GW_OP_CHAT, k->body, k->len, &k->info, &call_sink, k,
                                         &k->res, &c->tr)) == NULL &&
             !k->done)
        call_finish(k, GW_ENOMEM, "could not start the request");
    int freed;
    pthread_mutex_lock(&c->mu);
    if (!k->done)
        k->router = r;
    call_unref_locked(k, &freed);
    pthread_mutex_unlock(&c->mu);
}

/* Cancels the calls whose caller gave up (loop thread). */
static void reap_abandoned(gw_llm_chan_t *c)
{
    for (;;) {
        call_t *k = NULL;
        pthread_mutex_lock(&c->mu);
        for (call_t *a = c->active; a != NULL && k == NULL; a = a->next)
            if (a->abandoned || c->cancelled)
                k = a;
        pthread_mutex_unlock(&c->mu);
        if (k == NULL)
            return;
        gw_router_cancel(k->router);
        k->router = NULL;
        call_finish(k, GW_EDENIED, k->abandoned ? "the caller gave up (deadline)" : "cancelled: the client left");
    }
}

static void on_async(uv_async_t *h)
{
    gw_llm_chan_t *c = h->data;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        call_t *k = c->pending;
        if (k != NULL)
            c->pending = k->next;
        pthread_mutex_unlock(&c->mu);
        if (k == NULL)
            break;
        k->next = NULL;
        call_start(c, k);
    }
    reap_abandoned(c);
    if (c->wake != NULL && !c->closing)
        c->wake(c->wake_data);
}

gw_llm_chan_t *gw_llm_chan_new(uv_loop_t *loop, gw_upstream_ctx_t *up, const gw_config_t *cfg, const char *tenant,
                               gw_llm_wake_cb wake, void *wake_data)
{
    gw_llm_chan_t *c = gw_calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (tenant != NULL && (c->tenant = gw_strdup(tenant)) == NULL)
        goto fail;
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        goto fail;
    if (uv_async_init(loop, &c->async, on_async) != 0) {
        pthread_mutex_destroy(&c->mu);
        goto fail;
    }
    c->async.data = c;
    c->loop = loop;
    c->up = up;
    c->cfg = cfg;
    c->wake = wake;
    c->wake_data = wake_data;
    c->totals.prompt_tokens = c->totals.completion_tokens = -1;
    c->totals.router.usage.prompt_tokens = c->totals.router.usage.completion_tokens = -1;
    return c;
fail:
    gw_free(c->tenant);
    gw_free(c);
    return NULL;
}

void gw_llm_chan_wake(gw_llm_chan_t *c)
{
    uv_async_send(&c->async);
}

void gw_llm_chan_cancel(gw_llm_chan_t *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->cancelled = 1;
    call_t *pend = c->pending;
    c->pending = NULL;
    pthread_mutex_unlock(&c->mu);
    while (pend != NULL) {
        call_t *k = pend;
        pend = k->next;
        k->next = NULL;
        call_finish(k, GW_EDENIED, "cancelled: the client left");
    }
    reap_abandoned(c);
    c->tr.trace = NULL; /* the request's trace ends after this */
}

void gw_llm_chan_set_trace(gw_llm_chan_t *c, const gw_router_trace_t *tr)
{
    if (c != NULL && tr != NULL)
        c->tr = *tr;
}

static void on_closed(uv_handle_t *h)
{
    gw_llm_chan_t *c = h->data;
    pthread_mutex_destroy(&c->mu);
    gw_free(c->tenant);
    gw_free(c);
}

void gw_llm_chan_close(gw_llm_chan_t *c)
{
    if (c == NULL)
        return;
    gw_llm_chan_cancel(c);
    c->closing = 1;
    /* A worker that stops closes every handle of its loop (uv_walk, no
     * callback): then the channel can't know when its handle is gone and
     * is left to the process's exit rather than freed too early. */
    if (!uv_is_closing((uv_handle_t *)&c->async))
        uv_close((uv_handle_t *)&c->async, on_closed);
}

const gw_llm_totals_t *gw_llm_chan_totals(const gw_llm_chan_t *c)
{
    return &c->totals;
}

const char *gw_llm_chan_tenant(const gw_llm_chan_t *c)
{
    return c->tenant;
}

const gw_config_t *gw_llm_chan_config(const gw_llm_chan_t *c)
{
    return c->cfg;
}

/* ---- the caller's side -------------------------------------------------------- */

static struct timespec deadline_after(uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static call_t *call_new(gw_llm_chan_t *c, const gw_llm_req_t *req)
{
    call_t *k = gw_calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    if ((k->body = gw_malloc(req->len + 1)) == NULL || pthread_cond_init(&k->cv, NULL) != 0) {
        gw_free(k->body);
        gw_free(k);
        return NULL;
    }
    memcpy(k->body, req->body, req->len);
    k->body[req->len] = '\0';
    k->len = req->len;
    k->chan = c;
    k->refs = 2;
    gw_sse_init(&k->sse, SSE_MAX);
    gw_buf_init(&k->text, TEXT_MAX);
    return k;
}

/* Hands new text to on_delta with the lock released; returns with it held. */
static void deliver(call_t *k, const gw_llm_req_t *req, size_t *given)
{
    while (*given < k->text.len) {
        size_t n = k->text.len - *given;
        char piece[1024];
        if (n > sizeof piece) { /* cut on a UTF-8 boundary */
            n = sizeof piece;
            while (n > 1 && ((unsigned char)k->text.ptr[*given + n] & 0xC0) == 0x80)
                n--;
        }
        memcpy(piece, k->text.ptr + *given, n);
        *given += n;
        pthread_mutex_unlock(&k->chan->mu);
        if (req->on_delta != NULL)
            req->on_delta(req->delta_data, piece, n);
        pthread_mutex_lock(&k->chan->mu);
    }
}

/* Copies the result out (under mu). */
static gw_err_t take_result(call_t *k, gw_llm_result_t *out)
{
    *out = k->out;
    out->text = gw_strndup(k->text.ptr != NULL ? k->text.ptr : "", k->text.len);
    out->text_len = out->text != NULL ? k->text.len : 0;
    return out->text == NULL ? GW_ENOMEM : k->rc;
}

gw_err_t gw_llm_call(gw_llm_chan_t *c, const gw_llm_req_t *req, gw_llm_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->usage.prompt_tokens = out->usage.completion_tokens = -1;
    if (c == NULL || req == NULL || req->body == NULL)
        return GW_EINVAL;
    call_t *k = call_new(c, req);
    if (k == NULL)
        return GW_ENOMEM;
    struct timespec dl = deadline_after(c->cfg->limits.upstream_timeout_ms + GW_LLM_GRACE_MS);
    size_t given = 0;
    gw_err_t rc = GW_ETIMEOUT;
    int freed, timedout = 0;
    pthread_mutex_lock(&c->mu);
    k->next = c->pending;
    c->pending = k;
    pthread_mutex_unlock(&c->mu);
    uv_async_send(&c->async);
    pthread_mutex_lock(&c->mu);
    for (;;) {
        deliver(k, req, &given);
        if (k->done || timedout)
            break;
        timedout = pthread_cond_timedwait(&k->cv, &c->mu, &dl) != 0 && !k->done;
    }
    if (k->done) {
        rc = take_result(k, out);
    } else {
        k->abandoned = 1;
        snprintf(out->error, sizeof out->error, "no answer within upstream_timeout_ms");
    }
    call_unref_locked(k, &freed);
    pthread_mutex_unlock(&c->mu);
    if (rc == GW_ETIMEOUT)
        uv_async_send(&c->async); /* the loop cancels it */
    return rc;
}

void gw_llm_result_free(gw_llm_result_t *out)
{
    if (out == NULL)
        return;
    gw_free(out->text);
    memset(out, 0, sizeof *out);
}

/* ---- a private loop thread ------------------------------------------------------ */

struct gw_llm_thread {
    uv_loop_t loop;
    uv_async_t stop;
    uv_thread_t thread;
    gw_upstream_ctx_t *up;
    gw_llm_chan_t *chan;
    gw_llm_totals_t totals;
};

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_stop(uv_async_t *h)
{
    gw_llm_thread_t *t = h->data;
    gw_llm_thread_totals(t, &t->totals);
    gw_llm_chan_close(t->chan);
    t->chan = NULL;
    gw_upstream_ctx_free(t->up);
    t->up = NULL;
    uv_walk(&t->loop, close_walk, NULL);
}

static void thread_main(void *arg)
{
    gw_llm_thread_t *t = arg;
    uv_run(&t->loop, UV_RUN_DEFAULT);
}

gw_llm_thread_t *gw_llm_thread_start(const gw_config_t *cfg, const char *tenant, char *err, size_t errlen)
{
    gw_llm_thread_t *t = gw_calloc(1, sizeof *t);
    if (t == NULL || uv_loop_init(&t->loop) != 0) {
        gw_free(t);
        snprintf(err, errlen, "llm: cannot create a loop");
        return NULL;
    }
    if (uv_async_init(&t->loop, &t->stop, on_stop) != 0 || (t->up = gw_upstream_ctx_new(&t->loop)) == NULL ||
        (t->chan = gw_llm_chan_new(&t->loop, t->up, cfg, tenant, NULL, NULL)) == NULL)
        goto fail;
    t->stop.data = t;
    if (uv_thread_create(&t->thread, thread_main, t) != 0)
        goto fail;
    return t;
fail:
    snprintf(err, errlen, "llm: cannot start the LLM loop");
    if (t->chan != NULL)
        gw_llm_chan_close(t->chan);
    gw_upstream_ctx_free(t->up);
    uv_walk(&t->loop, close_walk, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_loop_close(&t->loop);
    gw_free(t);
    return NULL;
}

gw_llm_chan_t *gw_llm_thread_chan(gw_llm_thread_t *t)
{
    return t->chan;
}

void gw_llm_thread_totals(gw_llm_thread_t *t, gw_llm_totals_t *out)
{
    if (t->chan == NULL) {
        *out = t->totals;
        return;
    }
    pthread_mutex_lock(&t->chan->mu);
    *out = t->chan->totals;
    pthread_mutex_unlock(&t->chan->mu);
}

void gw_llm_thread_stop(gw_llm_thread_t *t)
{
    if (t == NULL)
        return;
    uv_async_send(&t->stop);
    uv_thread_join(&t->thread);
    uv_loop_close(&t->loop);
    gw_free(t);
}

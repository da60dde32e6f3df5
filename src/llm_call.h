/* llm_call.h - LLM calls of the ask pipeline through the gateway's own
 * router, in-process (system.md 1: failover, the caller's tenant,
 * accounting, like any client's request).
 *
 * The router lives on a libuv loop; the ask pipeline runs on other threads
 * (libuv's pool, or the CLI's main thread). A channel bridges them: the
 * caller's thread posts a chat request (an OpenAI JSON body naming a model
 * alias) with a uv_async_t, the loop starts gw_router_start with a sink,
 * and the caller waits on a condition variable (bounded by the chain's
 * deadline), receiving streamed text deltas through a callback on its own
 * thread. The channel sums what every call cost for the request's log line.
 *
 * Threads: gw_llm_chan_new/cancel/close/totals on the loop thread only;
 * gw_llm_call and gw_llm_chan_wake on any other thread. A channel borrows
 * the loop, the upstream context and the config: they outlive it.
 */
#ifndef GW_LLM_CALL_H
#define GW_LLM_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "err.h"
#include "router.h"
#include "upstream.h"

/* Extra wait past upstream_timeout_ms before a caller gives up on a call
 * the loop never finished. */
#define GW_LLM_GRACE_MS 2000

typedef struct gw_llm_chan gw_llm_chan_t;

/* Runs on the loop after each wakeup (gw_llm_chan_wake or a call posted):
 * the owner's hook to do its own loop-side work (e.g. flush SSE events). */
typedef void (*gw_llm_wake_cb)(void *data);
/* New streamed text of a call, on the caller's thread, in order. */
typedef void (*gw_llm_delta_cb)(void *data, const char *text, size_t len);

typedef struct gw_llm_req {
    const char *body;  /* OpenAI chat completion JSON; "model" is a configured alias; copied */
    size_t len;
    gw_llm_delta_cb on_delta; /* with "stream": true in body; may be NULL */
    void *delta_data;
} gw_llm_req_t;

/* What one call gave. Free text with gw_llm_result_free. */
typedef struct gw_llm_result {
    int ok;             /* a complete answer (2xx body or a clean stream) */
    int status;         /* the router's status for the answer, 0 when none */
    char *text;         /* the assistant message's content ("" when none); owned */
    size_t text_len;
    char alias[96];     /* the model alias that answered (or was tried last) */
    char provider[64];
    gw_usage_t usage;   /* -1 fields when unknown */
    double cost_usd;    /* from the answering model's prices; 0 when usage is unknown */
    size_t n_attempts;
    char error[256];    /* why it failed; "" on success */
} gw_llm_result_t;

/* Router results kept per channel (the planner's rounds + the formatter). */
#define GW_LLM_MAX_CALLS 8

/* Every call of a channel, for one request log line (system.md 5). */
typedef struct gw_llm_totals {
    gw_router_result_t router; /* attempts of all calls (first GW_MAX_ATTEMPTS), last model */
    gw_router_result_t each[GW_LLM_MAX_CALLS]; /* each call's own result, in order */
    size_t n_each;
    size_t calls;
    int64_t prompt_tokens;     /* -1 while no call reported usage */
    int64_t completion_tokens;
    double cost_usd;
    char alias[96];            /* the alias of the last call ("" when none) */
} gw_llm_totals_t;

/* Creates a channel on loop (call on the loop's thread, or before the loop
 * runs). tenant (copied, may be NULL) is the caller's tenant id. wake may
 * be NULL. Returns NULL on failure. */
gw_llm_chan_t *gw_llm_chan_new(uv_loop_t *loop, gw_upstream_ctx_t *up, const gw_config_t *cfg, const char *tenant,
                               gw_llm_wake_cb wake, void *wake_data);
/* Wakes the loop to run the wake callback (any thread; coalesced). */
void gw_llm_chan_wake(gw_llm_chan_t *c);
/* Loop thread: cancels every call in flight (gw_router_cancel) and makes
 * later calls fail at once (the client left). Waiting callers return. */
void gw_llm_chan_cancel(gw_llm_chan_t *c);
/* Loop thread: cancels and closes; the channel is freed once its handle
 * is closed (not when the loop's owner already closed every handle at
 * shutdown: it is then left to the process's exit). No gw_llm_call may be
 * running. NULL is fine. */
void gw_llm_chan_close(gw_llm_chan_t *c);
/* Loop thread: the tracing context of the channel's later calls (copied;
 * router.h): their attempts become CLIENT spans of tr->trace, or the
 * client's traceparent is forwarded. gw_llm_chan_cancel drops the trace,
 * so it must not end before the channel is cancelled. NULL is fine. */
void gw_llm_chan_set_trace(gw_llm_chan_t *c, const gw_router_trace_t *tr);
/* Loop thread: the sums so far (borrowed; valid until close). */
const gw_llm_totals_t *gw_llm_chan_totals(const gw_llm_chan_t *c);
/* The caller's tenant id, or NULL (borrowed). */
const char *gw_llm_chan_tenant(const gw_llm_chan_t *c);
/* The config the channel routes with (borrowed). */
const gw_config_t *gw_llm_chan_config(const gw_llm_chan_t *c);

/* Runs one chat call and waits for it (never on the loop's thread). out
 * is filled in every case. Returns GW_OK when an answer came (out->ok);
 * GW_EUPSTREAM when the router gave an error (all models failed, or an
 * upstream 4xx); GW_ETIMEOUT past the deadline; GW_EDENIED when the
 * channel was cancelled; GW_EINVAL for a body the router can't take
 * (not a chat request, unknown alias); GW_ENOMEM. */
gw_err_t gw_llm_call(gw_llm_chan_t *c, const gw_llm_req_t *req, gw_llm_result_t *out);
/* Frees out->text and zeroes out. NULL is fine. */
void gw_llm_result_free(gw_llm_result_t *out);

/* ---- a private loop thread (the CLI, tests) ---- */

typedef struct gw_llm_thread gw_llm_thread_t;

/* Starts a thread running its own loop, upstream context and channel for
 * cfg (borrowed: it must outlive the thread). NULL with err on failure. */
gw_llm_thread_t *gw_llm_thread_start(const gw_config_t *cfg, const char *tenant, char *err, size_t errlen);
/* The thread's channel (borrowed). */
gw_llm_chan_t *gw_llm_thread_chan(gw_llm_thread_t *t);
/* Copies the channel's totals (safe from any thread once no call runs). */
void gw_llm_thread_totals(gw_llm_thread_t *t, gw_llm_totals_t *out);
/* Closes the channel, stops the loop, joins and frees. NULL is fine. */
void gw_llm_thread_stop(gw_llm_thread_t *t);

#endif

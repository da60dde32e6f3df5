/* router.h - the failover chain: one client request (chat, embeddings,
 * rerank), tried on the
 * model it names and then on its configured fallbacks, through the
 * provider adapters and upstream.c, with hold-back for streams.
 *
 * The router knows nothing of HTTP servers or tenants: it reports to a
 * sink, so the HTTP chat route and the ask pipeline (in-process) use it
 * alike. Rules: fail over on 429, 5xx (529 too), connect errors, resets and
 * timeouts; never on the upstream's other 4xx. At most 1 + retry_budget
 * attempts, all within upstream_timeout_ms until the answer is committed.
 * A stream is committed (headers sent) at its first content event; if it
 * breaks after that, the sink gets an in-band error frame and no [DONE].
 */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "provider.h"
#include "trace.h"
#include "upstream.h"

#define GW_MAX_ATTEMPTS 8

typedef struct gw_attempt {
    const char *alias;    /* borrowed from the config the request holds */
    const char *provider;
    const char *model;
    int status;           /* upstream HTTP status, 0 when none */
    const char *reason;   /* "ok", "status_500", "connect_error", "first_byte_timeout", ... */
    double ms;
    gw_usage_t usage;     /* what this attempt was billed, -1 when unknown */
    const gw_cfg_model_t *cfg_model; /* the config entry of alias (prices) */
    size_t content_bytes; /* text the upstream produced (tokest.h), for estimates */
} gw_attempt_t;

typedef struct gw_router_result {
    gw_attempt_t attempts[GW_MAX_ATTEMPTS];
    size_t n_attempts;
    const gw_cfg_model_t *model; /* the model that answered (or the last tried) */
    const gw_cfg_provider_t *provider;
    int status;                  /* status given to the client */
    int stream;
    int committed;               /* a stream was started towards the client */
    int ok;                      /* the answer completed (a clean stream or a 2xx body) */
    double ttfb_ms;              /* router start to the first byte for the client */
    gw_usage_t usage;            /* of the answering attempt */
    int usage_estimated;
    size_t prompt_chars;         /* message text bytes of the request (for estimates) */
    double upstream_ms;          /* time in upstream attempts: at the stream's commit, then final */
    char error[256];             /* why it failed, "" on success */
} gw_router_result_t;

typedef struct gw_router_sink {
    /* A whole answer (non-stream success, or any error before a stream was
     * committed). body is an OpenAI JSON object. extra: header lines or NULL. */
    void (*on_response)(void *data, int status, const char *body, size_t len, const char *extra);
    /* Stream committed: send the 200 head now. */
    void (*on_stream_begin)(void *data);
    /* SSE bytes for the client, whole events. */
    void (*on_stream_data)(void *data, const char *p, size_t n);
    /* The stream is over: p[0..n) are its last SSE bytes (the [DONE], or
     * the error frame when not clean), sent with the end in one write. */
    void (*on_stream_end)(void *data, const char *p, size_t n, int clean);
} gw_router_sink_t;

typedef struct gw_router_req gw_router_req_t;

/* Tracing of one router call (trace.h). With a trace, every attempt is a
 * CLIENT span under span parent, opened before its request goes out with
 * a traceparent naming it, and filled (status, reason, usage, GenAI
 * attributes) before the sink's last call. Without one, client_tp (when
 * not "") is sent as the traceparent header unchanged. */
typedef struct gw_router_trace {
    gw_trace_t *trace; /* the request's trace (written on the loop thread); NULL: off */
    gw_idgen_t *ids;   /* the loop thread's id generator; needed with trace */
    int parent;        /* span index the attempts go under (0: the root) */
    char client_tp[GW_TRACEPARENT_LEN + 1]; /* the client's valid traceparent, or "" */
} gw_router_trace_t;

/* Starts routing op (only GW_OP_CHAT streams). body/info/cfg must stay valid until the sink's last call
 * or gw_router_cancel. result is filled as the request goes and is final
 * when on_response or on_stream_end has been called; the router frees
 * itself right after that call. Returns NULL when the sink was already
 * called (answered synchronously) or on allocation failure (sink not
 * called; result.status stays 0). The alias must exist in cfg. */
gw_router_req_t *gw_router_start(gw_upstream_ctx_t *up, const gw_config_t *cfg, gw_op_t op, const char *body,
                                 size_t len, const gw_chat_info_t *info, const gw_router_sink_t *sink, void *data,
                                 gw_router_result_t *result);
/* gw_router_start with tracing: tr (copied; NULL: none) as above. The
 * trace must stay valid until the sink's last call or gw_router_cancel. */
gw_router_req_t *gw_router_start_traced(gw_upstream_ctx_t *up, const gw_config_t *cfg, gw_op_t op, const char *body,
                                        size_t len, const gw_chat_info_t *info, const gw_router_sink_t *sink,
                                        void *data, gw_router_result_t *result, const gw_router_trace_t *tr);
/* Stops everything (the client left): no sink call afterwards. */
void gw_router_cancel(gw_router_req_t *r);

#endif

/* trace.h - the span model of one request trace (OpenTelemetry), W3C
 * traceparent parsing and formatting, and the trace/span id generator.
 *
 * A request trace is one root SERVER span, a CLIENT child per upstream
 * attempt (OTel GenAI attributes) and optional INTERNAL children for the
 * ask pipeline's stages. Spans are fixed-size plain structs inside one
 * gw_trace_t (a single allocation per request): attribute keys are string
 * literals, string values are copied into the trace's own arena, so a
 * finished trace owns everything it refers to and can be handed to the
 * exporter thread (otel_export.h). Times are monotonic nanoseconds (the
 * clock of gw_now_ns / uv_hrtime); the trace keeps its own offset to Unix
 * time for the wire. Every gw_trace_* function accepts t == NULL as a
 * no-op, so the request path can run the same code with tracing off.
 * Never put a key or a prompt in an attribute.
 */
#ifndef GW_TRACE_H
#define GW_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define GW_TRACE_ID_LEN 16
#define GW_SPAN_ID_LEN 8
#define GW_TRACEPARENT_LEN 55 /* "00-<32 hex>-<16 hex>-<2 hex>" */
#define GW_TRACE_MAX_SPANS 16
#define GW_SPAN_MAX_ATTRS 14
#define GW_TRACE_ARENA 2048
#define GW_TRACE_FLAG_SAMPLED 0x01

/* ---- ids ---------------------------------------------------------------- */

/* A fast id generator (xoshiro256**) seeded from libsodium's CSPRNG. Not
 * thread-safe: each thread (worker) owns one. */
typedef struct gw_idgen {
    uint64_t s[4];
} gw_idgen_t;

/* Seeds g from randombytes_buf. GW_EIO when libsodium cannot initialise. */
gw_err_t gw_idgen_init(gw_idgen_t *g);
/* Fill out with a random, never all-zero, trace id / span id. */
void gw_idgen_trace_id(gw_idgen_t *g, uint8_t out[GW_TRACE_ID_LEN]);
void gw_idgen_span_id(gw_idgen_t *g, uint8_t out[GW_SPAN_ID_LEN]);

/* ---- W3C traceparent ---------------------------------------------------- */

typedef struct gw_traceparent {
    uint8_t trace_id[GW_TRACE_ID_LEN];
    uint8_t span_id[GW_SPAN_ID_LEN]; /* the caller's span: our root's parent */
    uint8_t flags;
} gw_traceparent_t;

/* Parses a traceparent header value s[0..n) strictly: optional leading and
 * trailing spaces/tabs (HTTP OWS), then version "00", '-', 32 lowercase hex
 * trace id (not all zero), '-', 16 lowercase hex parent id (not all zero),
 * '-', 2 lowercase hex flags, nothing else. GW_OK fills *out; GW_EINVAL
 * otherwise (*out untouched): the caller then starts a new trace. */
gw_err_t gw_traceparent_parse(const char *s, size_t n, gw_traceparent_t *out);
/* Writes "00-<trace>-<span>-<flags>" and a NUL into out (56 bytes). */
void gw_traceparent_format(const uint8_t trace_id[GW_TRACE_ID_LEN], const uint8_t span_id[GW_SPAN_ID_LEN],
                           uint8_t flags, char out[GW_TRACEPARENT_LEN + 1]);

/* ---- spans -------------------------------------------------------------- */

/* Values are those of opentelemetry.proto.trace.v1.Span.SpanKind. */
typedef enum { GW_SPAN_INTERNAL = 1, GW_SPAN_SERVER = 2, GW_SPAN_CLIENT = 3 } gw_span_kind_t;
/* Values are those of opentelemetry.proto.trace.v1.Status.StatusCode. */
typedef enum { GW_STATUS_UNSET = 0, GW_STATUS_OK = 1, GW_STATUS_ERROR = 2 } gw_span_status_t;
typedef enum { GW_ATTR_STR = 1, GW_ATTR_BOOL, GW_ATTR_INT, GW_ATTR_DOUBLE } gw_attr_type_t;

typedef struct gw_span_attr {
    const char *key; /* a string literal (static storage) */
    uint8_t type;    /* gw_attr_type_t */
    uint8_t klen;    /* strlen(key), at most 255 */
    union {
        struct {
            uint16_t off, len; /* in the trace's arena */
        } s;
        int64_t i; /* GW_ATTR_INT and GW_ATTR_BOOL */
        double d;
    } v;
} gw_span_attr_t;

typedef struct gw_span {
    uint8_t span_id[GW_SPAN_ID_LEN];
    int8_t parent;  /* index of the parent span; -1 for the root */
    uint8_t kind;   /* gw_span_kind_t */
    uint8_t status; /* gw_span_status_t */
    uint8_t n_attrs;
    uint8_t dropped_attrs; /* no room in attrs[] or in the arena */
    uint8_t ended;
    uint16_t name_off, name_len;
    uint16_t msg_off, msg_len; /* status message */
    uint64_t start_ns, end_ns; /* monotonic */
    gw_span_attr_t attrs[GW_SPAN_MAX_ATTRS];
} gw_span_t;

typedef struct gw_trace {
    uint8_t trace_id[GW_TRACE_ID_LEN];
    uint8_t remote_parent[GW_SPAN_ID_LEN]; /* the client's span; all zero when none */
    uint8_t flags;                         /* W3C trace flags (sampled bit) */
    uint8_t has_remote_parent;
    int64_t unix_offset_ns; /* Unix ns = monotonic ns + unix_offset_ns */
    uint32_t n_spans;
    uint32_t dropped_spans;
    uint32_t n_attempts; /* entries of attempts[] */
    uint32_t arena_len;
    /* attempt spans by (call, number): which span is attempt `number` of the
     * router call `call` (an identity, never dereferenced) */
    struct {
        const void *call;
        int32_t number;
        int32_t span;
    } attempts[GW_TRACE_MAX_SPANS];
    gw_span_t spans[GW_TRACE_MAX_SPANS];
    char arena[GW_TRACE_ARENA];
} gw_trace_t;

/* Starts a trace whose root SERVER span (index 0) begins at start_ns and is
 * named "METHOD route" with http.request.method and http.route set.
 * traceparent[0..tp_len) is the client's header value (NULL or invalid:
 * a new trace id, sampled). A valid one gives its trace id, flags and
 * parent span. Returns a new trace (release with gw_trace_free or hand to
 * gw_otel_submit), NULL on OOM. */
gw_trace_t *gw_trace_begin(gw_idgen_t *g, uint64_t start_ns, const char *traceparent, size_t tp_len,
                           const char *method, const char *route);
void gw_trace_free(gw_trace_t *t);
/* 1 when the trace is to be exported (the sampled flag); 0 for NULL. */
int gw_trace_sampled(const gw_trace_t *t);

/* Opens a child of span parent; returns its index, -1 when t is NULL, the
 * parent is invalid or the trace is full (counted in dropped_spans). */
int gw_trace_span_begin(gw_trace_t *t, gw_idgen_t *g, int parent, gw_span_kind_t kind, const char *name,
                        uint64_t start_ns);
/* Closes span i at end_ns with a status and an optional message (NULL). */
void gw_trace_span_end(gw_trace_t *t, int i, uint64_t end_ns, gw_span_status_t st, const char *msg);
/* Attribute setters: key must be a string literal; a key already on the
 * span is overwritten (for strings, the old bytes stay in the arena). A
 * value that does not fit is counted in the span's dropped_attrs. On a
 * trace that is not sampled they do nothing, and spans get no names: such
 * a trace is kept for its ids (the traceparent sent upstream) and never
 * exported, like OpenTelemetry's non-recording spans. */
void gw_trace_set_str(gw_trace_t *t, int i, const char *key, const char *val);
void gw_trace_set_strn(gw_trace_t *t, int i, const char *key, const char *val, size_t n);
void gw_trace_set_int(gw_trace_t *t, int i, const char *key, int64_t val);
void gw_trace_set_bool(gw_trace_t *t, int i, const char *key, int val);
void gw_trace_set_double(gw_trace_t *t, int i, const char *key, double val);
/* The traceparent to send with a request made under span i (out: 56 bytes).
 * Returns 0 (out = "") when t is NULL or i is not a span. */
int gw_trace_traceparent(const gw_trace_t *t, int i, char out[GW_TRACEPARENT_LEN + 1]);

/* ---- the request path's helpers ----------------------------------------- */

/* One upstream attempt, as the router saw it. Strings are copied. */
typedef struct gw_trace_attempt {
    const void *call;           /* the router call it belongs to (e.g. its gw_router_result_t) */
    int number;                 /* 1-based within that call; llmgw.attempt */
    int parent;                 /* span index it belongs under, 0 = root */
    const char *operation;      /* gen_ai.operation.name: chat | embeddings | rerank */
    const char *provider_name;  /* gen_ai.provider.name: openai | anthropic | gcp.gemini */
    const char *provider;       /* llmgw.provider: the configured provider's name */
    const char *alias;          /* llmgw.model_alias */
    const char *model;          /* gen_ai.request.model (upstream model name) */
    const char *response_model; /* gen_ai.response.model; NULL when unknown */
    const char *server_address; /* server.address; NULL to leave out */
    int server_port;            /* server.port; 0 to leave out */
    int status;                 /* http.response.status_code; 0 when none */
    const char *reason;         /* llmgw.failover_reason ("ok" on success) */
    int64_t input_tokens;       /* gen_ai.usage.input_tokens; < 0 unknown */
    int64_t output_tokens;      /* gen_ai.usage.output_tokens; < 0 unknown */
    uint64_t start_ns, end_ns;  /* monotonic */
} gw_trace_attempt_t;

/* Opens the CLIENT span of attempt number (1-based) of router call `call`
 * (any pointer that identifies the call, e.g. its gw_router_result_t, so
 * that several router calls in one request, like ask's planner and
 * formatter, keep their attempts apart) under span parent at start_ns,
 * before the request goes out, and writes the traceparent to send upstream
 * into tp (56 bytes; "" when t is NULL or the trace is full). Opening the
 * same (call, number) again returns the same span. Returns the span index
 * or -1. Optional: gw_trace_attempt creates the span when not opened. */
int gw_trace_attempt_open(gw_trace_t *t, gw_idgen_t *g, const void *call, int number, int parent,
                          uint64_t start_ns, char tp[GW_TRACEPARENT_LEN + 1]);
/* Forgets which spans were opened for router call `call` (the spans stay):
 * for when that call is over and its identity (an address) may be reused
 * by a later call of the same request. */
void gw_trace_attempts_forget(gw_trace_t *t, const void *call);
/* The span opened for (call, number), -1 when none. */
int gw_trace_attempt_span(const gw_trace_t *t, const void *call, int number);
/* Fills and closes the span of attempt (a->call, a->number) (opened by
 * gw_trace_attempt_open, or created now with a->start_ns). Span name
 * "{operation} {model}", status ERROR unless 2xx. Returns the index or -1. */
int gw_trace_attempt(gw_trace_t *t, gw_idgen_t *g, const gw_trace_attempt_t *a);
/* One ask pipeline stage (retrieve, plan, guard, execute, format) as an
 * INTERNAL child of the root named "ask.<stage>". Returns its index or -1. */
int gw_trace_stage(gw_trace_t *t, gw_idgen_t *g, const char *stage, uint64_t start_ns, uint64_t end_ns, int ok);
/* Moves the CLIENT children of the root that lie wholly within span i's
 * time under span i (the ask's LLM attempts under the stage that made
 * them; their span ids, hence the traceparents sent, stay). i <= 0 or not
 * a span: no-op. */
void gw_trace_adopt(gw_trace_t *t, int i);
/* Closes the root at end_ns: http.response.status_code = http_status,
 * llmgw.tenant = tenant (NULL: left out), error.type = error, a short
 * low-cardinality code such as "budget_exceeded" (never a message that may
 * quote the request); NULL: the status code for 5xx, else left out. Status
 * ERROR for 5xx, or when error is set with status 0 (the client left);
 * 4xx stays UNSET (OTel HTTP server conventions). Spans still open are
 * closed at end_ns. */
void gw_trace_end(gw_trace_t *t, uint64_t end_ns, int http_status, const char *tenant, const char *error);

/* Reads back string attribute key of span i (for tests and the encoder);
 * NULL when absent. *n receives its length. */
const char *gw_trace_attr_str(const gw_trace_t *t, int i, const char *key, size_t *n);
/* Unix time in ns of monotonic time ns for this trace. */
uint64_t gw_trace_unix_ns(const gw_trace_t *t, uint64_t ns);

#endif

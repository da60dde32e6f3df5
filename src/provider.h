/* provider.h - provider adapters: OpenAI chat requests to each upstream's
 * wire format and the upstream's answers back to OpenAI's.
 *
 * Adapters are pure byte translators: they know nothing of sockets, the
 * server or tenants (system.md 6). Three kinds: openai (any compatible base
 * URL: model spliced into the original bytes, no rebuild), anthropic
 * (Messages API) and gemini (generateContent / streamGenerateContent?alt=sse).
 * Mapping rules: wire-formats.md 5. Ownership: every gw_buf_t passed in is
 * the caller's; functions append to it.
 */
#ifndef GW_PROVIDER_H
#define GW_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "sse.h"

typedef enum { GW_PROV_OPENAI = 0, GW_PROV_ANTHROPIC, GW_PROV_GEMINI } gw_prov_kind_t;

/* Parses "openai" | "anthropic" | "gemini"; GW_EINVAL otherwise. */
gw_err_t gw_prov_kind_parse(const char *s, gw_prov_kind_t *out);
const char *gw_prov_kind_name(gw_prov_kind_t k);

/* What the gateway needs to know of a client's chat request. Filled once
 * per request by gw_chat_inspect; points into the caller's body bytes. */
typedef struct gw_chat_info {
    const char *model; /* the alias the client asked for (not NUL-terminated) */
    size_t model_len;
    int stream;        /* "stream": true */
    int include_usage; /* "stream_options": {"include_usage": true} */
    int64_t max_tokens; /* max_completion_tokens or max_tokens; -1 if absent */
    size_t prompt_chars; /* bytes of message text, for token estimates */
    /* Added for the openai splice (filled by gw_chat_inspect; callers
     * need not look): which body was inspected and byte offsets in it. */
    struct {
        const char *body;
        size_t body_len;
        size_t model_at, model_end; /* "model" value, quotes included */
        size_t so_at, so_end;       /* "stream_options" value; so_end 0: absent */
        size_t iu_at, iu_end;       /* its "include_usage" value; iu_end 0: absent */
        size_t obj_end;             /* offset of the body's closing '}' */
    } splice;
} gw_chat_info_t;

/* Error text for the client when inspect fails: which field, why. */
typedef struct gw_prov_errmsg {
    char message[256];
    char param[64];
} gw_prov_errmsg_t;

/* Validates the body as a JSON object with a string "model" and a
 * non-empty "messages" array and fills info. GW_EINVAL with msg set on a
 * bad request (the server answers 400 invalid_request_error).
 * Also checked: each message is an object; "stream" true/false/null;
 * "stream_options" an object or null with "include_usage" true/false/null;
 * max_tokens / max_completion_tokens non-negative integers or null; none
 * of these top-level keys twice (escaped spellings count). info->model is
 * the raw bytes between the quotes (still JSON-escaped if the client
 * escaped it). msg may be NULL. */
gw_err_t gw_chat_inspect(const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg);

/* One upstream request, ready to send. */
typedef struct gw_prov_req {
    gw_buf_t path;    /* path + query, e.g. "/v1/chat/completions" */
    gw_buf_t headers; /* extra header lines, each "Name: value\r\n" (auth, version) */
    gw_buf_t body;    /* JSON body */
} gw_prov_req_t;

void gw_prov_req_init(gw_prov_req_t *r, size_t max_body);
void gw_prov_req_free(gw_prov_req_t *r);

/* Builds the upstream request for a chat completion.
 *  base_path: the path part of the provider's base_url ("" or "/openai/v1" ...).
 *    Path rule: base_path (trailing '/' dropped), then the API version
 *    segment unless base_path's last segment already is a version ("v"
 *    then a digit: v1, v4, v1beta), then the endpoint:
 *      openai:    "" -> /v1/chat/completions, "/openai/v1" -> /openai/v1/chat/completions
 *      anthropic: "" -> /v1/messages
 *      gemini:    "" -> /v1beta/models/{model}:generateContent
 *                 (stream: :streamGenerateContent?alt=sse; a leading
 *                 "models/" in upstream_model is dropped, the rest is
 *                 percent-encoded)
 *    headers: openai "Authorization: Bearer", anthropic "x-api-key" and
 *    "anthropic-version: 2023-06-01", gemini "x-goog-api-key". Host,
 *    Content-Type and Content-Length are the HTTP client's.
 *  info: gw_chat_inspect's result for this very body (if it is for
 *    another buffer, or NULL, the body is inspected again).
 *  upstream_model: the provider's model name from the config
 *  api_key: may be NULL (no auth header)
 *  For openai: "model" is spliced into the original bytes and, when stream
 *  is on, "stream_options":{"include_usage":true} is ensured.
 * GW_EINVAL with msg set when the request cannot be expressed for the
 * provider (e.g. n>1 for anthropic). */
gw_err_t gw_prov_build_chat(gw_prov_kind_t kind, const char *body, size_t len, const gw_chat_info_t *info,
                            const char *base_path, const char *upstream_model, const char *api_key,
                            gw_prov_req_t *out, gw_prov_errmsg_t *msg);

/* Token usage as reported by (or estimated for) an upstream. */
typedef struct gw_usage {
    int64_t prompt_tokens;     /* -1 when unknown */
    int64_t completion_tokens; /* -1 when unknown */
} gw_usage_t;

/* Translates a non-stream 2xx upstream body into an OpenAI chat.completion
 * appended to out, and reads its usage. For openai the body is copied as
 * is. GW_EUPSTREAM when the body is not a valid answer of that provider.
 * (anthropic/gemini: id is the upstream's msg_... / responseId or a new
 * "chatcmpl-<hex>", created is now, model is the model the upstream
 * reports, else upstream_model. usage fields are -1 when unknown; out is
 * left as it was on failure.) */
gw_err_t gw_prov_translate_response(gw_prov_kind_t kind, const char *body, size_t len,
                                    const char *upstream_model, gw_buf_t *out, gw_usage_t *usage);

/* Translates a non-2xx upstream answer into the client's status and an
 * OpenAI error object appended to out (wire-formats 5.5). For openai the
 * status and body pass through verbatim (a non-JSON body is wrapped);
 * 529 becomes 503. Returns the status to send. */
int gw_prov_translate_error(gw_prov_kind_t kind, int status, const char *body, size_t len, gw_buf_t *out);

/* Added: seconds to put in Retry-After for a 429/503 whose hint is in the
 * body (gemini RetryInfo.retryDelay "7s", "0.5s": rounded up); -1 when the
 * body has none (use the upstream's retry-after header, if any). */
int gw_prov_error_retry_after(gw_prov_kind_t kind, const char *body, size_t len);

/* Whether an upstream status should fail over to the next model:
 * 429, 5xx, 529 yes; other 4xx no. */
int gw_prov_status_retryable(int status);

/* Streaming: one translator per upstream attempt. */
typedef struct gw_xlat gw_xlat_t;

/* What one upstream event meant. */
typedef struct gw_xlat_info {
    int content;  /* this event produced client-visible content (text, tool call, refusal;
                     a content_filter finish counts as a refusal) */
    int done;     /* the upstream signalled the end of the answer */
    int error;    /* the upstream sent an in-band error (after a 200) */
    size_t content_bytes; /* bytes of generated text in this event when the translator
                             measured them (0: unknown, estimate from the event) */
    char error_message[256];
    /* Added: OpenAI error type and code for the frame ("" = null), e.g.
     * anthropic overloaded_error -> "overloaded_error" / "overloaded". */
    char error_type[64];
    char error_code[64];
} gw_xlat_info_t;

/* include_usage: whether the client asked for the usage chunk.
 * upstream_model: echoed as "model" in translated chunks. */
gw_xlat_t *gw_xlat_new(gw_prov_kind_t kind, int include_usage, const char *upstream_model);
void gw_xlat_free(gw_xlat_t *x);

/* Feeds one parsed upstream SSE event; appends zero or more OpenAI SSE
 * frames ("data: {...}\n\n") to out and fills info. For openai, chunks pass
 * through as they are, except the usage-only chunk when the client did not
 * ask for it and the upstream's own [DONE] (gw_xlat_finish writes it).
 * An in-band upstream error appends nothing: info->error and the
 * error_message/type/code fields are set, and the caller either fails over
 * or writes gw_xlat_error_frame(out, message, type, code) itself.
 * GW_EUPSTREAM when the event's data is not what that upstream sends
 * (e.g. not JSON); GW_ETOOBIG/GW_ENOMEM from out. */
gw_err_t gw_xlat_event(gw_xlat_t *x, const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info);

/* Appends the closing frames after a complete answer: the usage chunk if
 * the client asked for it and the provider sends none of its own
 * (anthropic, gemini), then "data: [DONE]\n\n". */
gw_err_t gw_xlat_finish(gw_xlat_t *x, gw_buf_t *out);

/* Usage seen so far on this stream (-1 fields when none yet). */
gw_usage_t gw_xlat_usage(const gw_xlat_t *x);

/* Appends an in-band OpenAI error frame: data: {"error":{...}}\n\n */
gw_err_t gw_xlat_error_frame(gw_buf_t *out, const char *message, const char *type, const char *code);

/* Appends an OpenAI error object {"error":{"message","type","param","code"}}.
 * param and code may be NULL or "" (JSON null). Used by every route. */
gw_err_t gw_openai_error(gw_buf_t *out, const char *message, const char *type, const char *param, const char *code);

/* ---- operations other than chat (embeddings, rerank) ------------------- */

typedef enum { GW_OP_CHAT = 0, GW_OP_EMBEDDINGS, GW_OP_RERANK } gw_op_t;

/* Validates a client body for op and fills info (model, model_len,
 * prompt_chars; stream stays 0). GW_EINVAL with msg on a bad request.
 * GW_OP_CHAT is gw_chat_inspect. */
gw_err_t gw_op_inspect(gw_op_t op, const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg);

/* Builds the upstream request of op for a provider (as gw_prov_build_chat).
 * GW_EINVAL with msg when the provider cannot do op (the router then tries
 * the next model of the chain). */
gw_err_t gw_prov_build(gw_op_t op, gw_prov_kind_t kind, const char *body, size_t len, const gw_chat_info_t *info,
                       const char *base_path, const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                       gw_prov_errmsg_t *msg);

/* Translates a 2xx upstream answer of op to the client's shape (OpenAI
 * embeddings list; rerank {"results":[{"index","relevance_score"}]}) and
 * reads its usage. GW_EUPSTREAM when the body is not a valid answer. */
gw_err_t gw_prov_translate(gw_op_t op, gw_prov_kind_t kind, const char *body, size_t len,
                           const char *upstream_model, gw_buf_t *out, gw_usage_t *usage);

#endif

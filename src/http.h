/* http.h - llmgw's HTTP/1.1 server connection: request parsing with
 * explicit limits, responses (whole or streamed, chunked), keep-alive.
 *
 * Built on libuv and picohttpparser so that every limit answers with a
 * precise status and an OpenAI error object (h2o's server closes or answers
 * in plain text): 400 malformed or conflicting framing, 408 header or body
 * timeout, 413 body too large, 431 header block too large or too many
 * headers. One request is in flight per connection; pipelined bytes wait.
 *
 * Ownership: a gw_http_req_t belongs to its connection. A handler answers
 * it exactly once (gw_http_respond, or gw_http_stream_begin ... end). If
 * the client goes away first, the connection calls req->on_abort (when
 * set) and the handler must not touch req afterwards.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"

struct gw_worker;
typedef struct gw_http_req gw_http_req_t;

typedef struct gw_http_hdr {
    const char *name; /* as received */
    size_t name_len;
    const char *value;
    size_t value_len;
} gw_http_hdr_t;

typedef void (*gw_http_abort_cb)(gw_http_req_t *req);

struct gw_http_req {
    struct gw_worker *worker;
    const char *method;
    size_t method_len;
    const char *path; /* without the query string */
    size_t path_len;
    const char *query; /* after '?', or NULL */
    size_t query_len;
    gw_http_hdr_t *headers;
    size_t num_headers;
    const char *body;
    size_t body_len;
    char client_ip[48];
    uint64_t start_ns; /* monotonic, when the head was complete */
    char request_id[40];
    /* set by the handler */
    gw_http_abort_cb on_abort;
    void *handler_data;
    /* internal */
    struct gw_http_conn *conn;
};

/* Case-insensitive header lookup; returns the value or NULL. */
const char *gw_http_header(const gw_http_req_t *req, const char *name, size_t *value_len);
/* How many header lines named name (case-insensitive) the request has. */
size_t gw_http_header_count(const gw_http_req_t *req, const char *name);

/* Sends a whole response. extra_headers: "Name: value\r\n" lines or NULL.
 * The body is copied; Content-Length and Connection are added. */
/* Stamps req with a new start time and request id ("req_" + 16 hex of
 * time ^ process start + 4 hex worker + 8 hex sequence). Loop thread only. */
void gw_http_new_id(gw_http_req_t *req);

void gw_http_respond(gw_http_req_t *req, int status, const char *content_type, const char *extra_headers,
                     const char *body, size_t body_len);

/* Sends an OpenAI error object {"error":{message,type,param,code}}. */
void gw_http_error(gw_http_req_t *req, int status, const char *type, const char *code, const char *param,
                   const char *message, const char *extra_headers);

/* Starts a streamed (chunked) response, e.g. text/event-stream. The head
 * goes out with the first piece of body (one write, not two). */
void gw_http_stream_begin(gw_http_req_t *req, int status, const char *content_type, const char *extra_headers);
/* Sends one piece of the body now (one chunk; flushed to the socket). */
void gw_http_stream_write(gw_http_req_t *req, const char *data, size_t len);
/* Ends the stream, sending data[0..len) (may be empty) as its last chunk
 * together with the terminator in one write. */
void gw_http_stream_end(gw_http_req_t *req, const char *data, size_t len);

/* Bytes queued on the client socket and not yet written (backpressure). */
size_t gw_http_write_queue(const gw_http_req_t *req);

/* Status line reason phrase. */
const char *gw_http_reason(int status);

#endif

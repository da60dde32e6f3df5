/* http_internal.h - what the worker and the connection code share, not for
 * handlers: accepting, draining, the read allocator. */
#ifndef GW_HTTP_INTERNAL_H
#define GW_HTTP_INTERNAL_H

#include <uv.h>

#include "config.h"
#include "http.h"

struct gw_http_conn;
struct gw_worker;

/* Accepts one pending connection from listener into a new connection. */
void gw_http_accept(struct gw_worker *w, uv_stream_t *listener, const gw_cfg_limits_t *lim);
/* SIGTERM: close idle connections now, the others after their response. */
void gw_http_conns_drain(struct gw_worker *w);
/* End of the drain deadline: close everything now. */
void gw_http_conns_close_all(struct gw_worker *w);
/* Answers a framing error with an OpenAI error and closes after it. */
void gw_http_fail(struct gw_http_conn *c, int status, const char *message);
/* Queues raw bytes on the socket. */
void gw_http_write_raw(struct gw_http_conn *c, const char *p, size_t n);
void gw_http_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out);
/* Writes the peer's address as text. */
void gw_http_peer_ip(uv_tcp_t *tcp, char *out, size_t cap);
/* Called by the connection code after a connection is freed (drain). */
void gw_worker_conn_gone(struct gw_worker *w);

#endif

/* routes_conn.c - the log line and metrics of answers the connection layer
 * sends itself (http_conn.c: malformed head or body 400, 408, 413, 431, 503
 * at accept): such a request never reaches gw_routes_dispatch, yet gets
 * its one log line and its llmgw_requests_total{route="none"} count.
 */
#include <stdio.h>
#include <string.h>

#include "routes.h"

/* Longest path the log line shows (the rest is cut). */
#define CONN_PATH_MAX 256

/* The request target's path from a parsed head's request line (leading
 * CR/LF skipped, query cut), bounded and made printable ASCII, into out. */
static void head_path(const char *head, size_t len, char *out, size_t cap)
{
    size_t i = 0, n = 0;
    while (i < len && (head[i] == '\r' || head[i] == '\n'))
        i++;
    while (i < len && head[i] != ' ' && head[i] != '\r')
        i++; /* the method */
    if (i < len && head[i] == ' ')
        i++;
    for (; i < len && head[i] != ' ' && head[i] != '?' && head[i] != '\r' && n + 1 < cap; i++) {
        unsigned char ch = (unsigned char)head[i];
        out[n++] = ch > 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[n] = '\0';
}

void gw_routes_conn_error(gw_http_req_t *req, int status, const char *message, const char *head, size_t head_len)
{
    char path[CONN_PATH_MAX];
    if (head != NULL)
        head_path(head, head_len, path, sizeof(path));
    else
        gw_http_new_id(req);
    gw_metrics_t *m = &req->worker->app->metrics;
    gw_metrics_add(&m->requests[GW_ROUTE_NONE][gw_metrics_status_slot(status)], 1);
    gw_reqlog_t l = {.request_id = req->request_id,
                     .route = head != NULL && path[0] != '\0' ? path : NULL,
                     .status = status,
                     .latency_ms = head != NULL ? (double)(gw_now_ns() - req->start_ns) / 1e6 : 0,
                     .prompt_tokens = -1,
                     .completion_tokens = -1,
                     .client_ip = req->client_ip,
                     .error = message};
    gw_worker_log(req->worker, &l);
}

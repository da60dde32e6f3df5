/* log.h - the one JSON line per request (system.md 5) and operator
 * messages.
 *
 * gw_log_format_request formats the line from a gw_reqlog_t without printf
 * on the hot path; workers batch lines and write them once per loop turn
 * (gw_log_write). Nothing secret goes in: no key, no prompt. gw_log_msg
 * writes "llmgw: ..." lines to stderr.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdint.h>

#include "buf.h"
#include "router.h"

struct gw_app;

typedef struct gw_reqlog {
    const char *request_id;
    const char *tenant; /* NULL when none */
    const char *route;
    const char *model;  /* the alias the client asked for, or NULL */
    size_t model_len;
    const gw_router_result_t *router; /* NULL for routes without upstream */
    int status;
    double latency_ms;
    double ttfb_ms;
    int64_t prompt_tokens;
    int64_t completion_tokens;
    double cost_usd;
    int stream;
    const char *client_ip;
    const char *error; /* NULL or "" when none */
} gw_reqlog_t;

/* Appends one request line (JSON + "\n") to out; on failure out is left
 * as it was (never half a line). */
gw_err_t gw_log_format_request(const gw_reqlog_t *l, gw_buf_t *out);
/* Writes whole lines to the configured log (stdout by default) under the
 * app's log lock, so lines of different workers never interleave. */
void gw_log_write(struct gw_app *app, const char *p, size_t n);
/* Writes an operator message to stderr. */
void gw_log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

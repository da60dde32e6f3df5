/* log.h - the one JSON line per request (system.md 5) and operator
 * messages.
 *
 * gw_log_request formats the line from a gw_reqlog_t and writes it whole
 * (one write(2) under the app's log lock). Nothing secret goes in: no
 * key, no prompt. gw_log_msg writes "llmgw: ..." lines to stderr.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdint.h>

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

/* Writes one request line to the configured log (stdout by default). */
void gw_log_request(struct gw_app *app, const gw_reqlog_t *l);
/* Writes an operator message to stderr. */
void gw_log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* log.h - the one JSON line per request (system.md 5) and operator
 * messages.
 *
 * gw_log_format_request formats the line from a gw_reqlog_t without printf
 * on the hot path; workers batch lines and hand them to the log writer
 * thread once per loop turn (logwriter.h). Nothing secret goes in: no key,
 * no prompt. gw_log_msg writes "llmgw: ..." lines to stderr.
 *
 * Fields (system.md 5): ts, request_id, tenant, route, model, upstream_model,
 * provider, attempts [{provider, model, status, ms, reason}], status,
 * latency_ms, ttfb_ms, prompt_tokens, completion_tokens, cost_usd (9
 * decimals, exact), stream, client_ip, error; plus "estimated":true when
 * some of the tokens are estimates (the upstream reported no usage).
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
    const char *route;  /* NULL (null): the connection layer answered before a head was parsed */
    const char *model;  /* the alias the client asked for, or NULL */
    size_t model_len;
    const gw_router_result_t *router; /* NULL for routes without upstream */
    /* More router results of the same request (e.g. /v1/ask's planner and
     * formatter calls): accounted and listed in attempts like router. */
    const gw_router_result_t *const *more_routers;
    size_t n_more_routers;
    int status;
    double latency_ms;
    double ttfb_ms;
    /* Tokens and cost: with router results, gw_route_log computes them
     * (sum over billed attempts, estimates included) and overwrites these.
     * Without, a handler may set the tokens and model itself; the cost is
     * then computed from the model's price. -1 tokens: none. */
    int64_t prompt_tokens;
    int64_t completion_tokens;
    int64_t cost_nusd;  /* nano-USD; what the line prints */
    double cost_usd;    /* = cost_nusd / 1e9, filled by gw_route_log */
    int estimated;      /* some tokens are estimates: "estimated":true */
    int stream;
    const char *client_ip;
    const char *error; /* NULL or "" when none */
} gw_reqlog_t;

/* Appends one request line (JSON + "\n") to out; on failure out is left
 * as it was (never half a line). */
gw_err_t gw_log_format_request(const gw_reqlog_t *l, gw_buf_t *out);
/* Appends the periodic usage summary line {"ts","type":"usage_summary",
 * "usage":{GET /v1/usage of every tenant}} + "\n" to out. */
struct gw_usage_table;
gw_err_t gw_log_format_summary(const struct gw_usage_table *u, gw_buf_t *out);
/* Writes an operator message to stderr. */
void gw_log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

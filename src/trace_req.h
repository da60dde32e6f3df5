/* trace_req.h - OpenTelemetry on the gateway's request path: the exporter
 * of `llmgw serve` made from telemetry.*, a request's root span begun from
 * the client's traceparent (gw_routes_dispatch), the tracing context of
 * its router calls, and its end with the log line (gw_route_log), when it
 * is handed to the exporter. With telemetry.otlp_endpoint null the app has
 * no exporter, no trace is made and nothing here allocates: the client's
 * valid traceparent is then forwarded upstream unchanged.
 */
#ifndef GW_TRACE_REQ_H
#define GW_TRACE_REQ_H

#include <stddef.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "otel_export.h"
#include "router.h"
#include "trace.h"

/* Deadline of the exporter's last flush when the server stops. */
#define GW_TRACE_STOP_MS 3000

/* Starts the exporter for cfg->telemetry (otlp_endpoint, service_name).
 * GW_OK with *out NULL when otlp_endpoint is null (tracing off), GW_OK
 * with the exporter (free it with gw_otel_exporter_free once the workers
 * have closed their gw_otel_local_t), or
 * GW_EINVAL with a reason in err. */
gw_err_t gw_trace_req_exporter(const gw_config_t *cfg, gw_otel_exporter_t **out, char *err, size_t errlen);

/* Begins the trace of req when its worker's app has an exporter: a root
 * SERVER span from req->start_ns, a child of the client's traceparent
 * header when valid. method and route are the matched route's (string
 * literals); route NULL for an unknown path (the span is then named by
 * the request's method only). Returns NULL with tracing off or on OOM
 * (the request then runs untraced). Worker loop thread only. */
gw_trace_t *gw_trace_req_begin(gw_http_req_t *req, const char *method, const char *route);

/* Fills *out for router calls of req under span parent of t: the trace and
 * the worker's id generator, or with t NULL the client's traceparent when
 * it is valid ("" otherwise). Never allocates. */
void gw_trace_req_router(gw_trace_t *t, const gw_http_req_t *req, int parent, gw_router_trace_t *out);

/* Ends *t at now with the request's log line l (status, tenant, request id,
 * model alias, stream, cost; 5xx is an error) and hands it to the app's
 * exporter, which owns it from then on; *t becomes NULL. *t NULL: no-op.
 * Call before the runtime holding l's strings is released. */
void gw_trace_req_end(gw_http_req_t *req, gw_trace_t **t, const gw_reqlog_t *l);

#endif

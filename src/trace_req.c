/* trace_req.c - the request path's tracing glue (trace_req.h). */
#include "trace_req.h"

#include <stdio.h>
#include <string.h>

#include "worker.h"

gw_err_t gw_trace_req_exporter(const gw_config_t *cfg, gw_otel_exporter_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->telemetry.otlp_endpoint == NULL || cfg->telemetry.otlp_endpoint[0] == '\0')
        return GW_OK;
    gw_otel_opts_t o;
    gw_otel_opts_default(&o);
    o.endpoint = cfg->telemetry.otlp_endpoint;
    if (cfg->telemetry.service_name != NULL && cfg->telemetry.service_name[0] != '\0')
        o.service_name = cfg->telemetry.service_name;
    o.sample_ratio = cfg->telemetry.sample_ratio;
    char why[200] = "";
    *out = gw_otel_exporter_new(&o, why, sizeof(why));
    if (*out != NULL)
        return GW_OK;
    snprintf(err, errlen, "telemetry.otlp_endpoint: %s", why[0] ? why : "cannot start the exporter");
    return GW_EINVAL;
}

gw_trace_t *gw_trace_req_begin(gw_http_req_t *req, const char *method, const char *route)
{
    gw_worker_t *w = req->worker;
    if (w->otel == NULL)
        return NULL;
    char m[16];
    if (method == NULL) { /* an unknown path: the request's own method, or _OTHER (OTel HTTP) */
        size_t n = req->method_len < sizeof(m) ? req->method_len : 0;
        memcpy(m, n > 0 ? req->method : "_OTHER", n > 0 ? n : 7);
        m[n > 0 ? n : 6] = '\0';
        method = m;
    }
    size_t tl = 0;
    const char *tp = gw_http_header(req, "traceparent", &tl);
    gw_trace_t *t = gw_trace_begin(&w->ids, req->start_ns, tp, tp != NULL ? tl : 0, method, route);
    if (t != NULL && !t->has_remote_parent && !gw_otel_sample(w->app->otel, t->trace_id))
        t->flags &= (uint8_t)~GW_TRACE_FLAG_SAMPLED; /* built for the traceparent sent upstream, not exported */
    gw_trace_set_str(t, 0, "llmgw.request_id", req->request_id);
    return t;
}

void gw_trace_req_router(gw_trace_t *t, const gw_http_req_t *req, int parent, gw_router_trace_t *out)
{
    out->trace = t;
    out->ids = &req->worker->ids;
    out->parent = parent;
    out->client_tp[0] = '\0';
    if (t != NULL)
        return;
    size_t tl = 0;
    gw_traceparent_t tp;
    const char *v = gw_http_header(req, "traceparent", &tl);
    if (v != NULL && gw_traceparent_parse(v, tl, &tp) == GW_OK) /* the same bytes, OWS trimmed */
        gw_traceparent_format(tp.trace_id, tp.span_id, tp.flags, out->client_tp);
}

void gw_trace_req_end(gw_http_req_t *req, gw_trace_t **t, const gw_reqlog_t *l)
{
    gw_trace_t *tr = *t;
    if (tr == NULL)
        return;
    *t = NULL;
    if (l->model != NULL && l->model_len > 0)
        gw_trace_set_strn(tr, 0, "llmgw.model_alias", l->model, l->model_len < 128 ? l->model_len : 128);
    if (l->stream)
        gw_trace_set_bool(tr, 0, "llmgw.stream", 1);
    if (l->cost_nusd > 0)
        gw_trace_set_double(tr, 0, "llmgw.cost_usd", (double)l->cost_nusd / 1e9);
    gw_trace_end(tr, gw_now_ns(), l->status, l->tenant, l->status == 499 ? "client_closed" : NULL);
    gw_otel_submit(req->worker->otel, tr);
}

/* trace_router.c - attempt spans from a router result (trace_router.h). */
#include "trace_router.h"

#include <string.h>

const char *gw_trace_op_name(gw_op_t op)
{
    switch (op) {
    case GW_OP_CHAT: return "chat";
    case GW_OP_EMBEDDINGS: return "embeddings";
    case GW_OP_RERANK: return "rerank";
    }
    return "chat";
}

const char *gw_trace_provider_name(gw_prov_kind_t kind)
{
    switch (kind) {
    case GW_PROV_OPENAI: return "openai";
    case GW_PROV_ANTHROPIC: return "anthropic";
    case GW_PROV_GEMINI: return "gcp.gemini";
    }
    return "openai";
}

static const gw_cfg_provider_t *provider_named(const gw_config_t *cfg, const char *name)
{
    for (size_t i = 0; cfg != NULL && name != NULL && i < cfg->providers_len; i++)
        if (cfg->providers[i].name != NULL && strcmp(cfg->providers[i].name, name) == 0)
            return &cfg->providers[i];
    return NULL;
}

static uint64_t ms_to_ns(double ms) { return ms > 0 ? (uint64_t)(ms * 1e6 + 0.5) : 0; }

int gw_trace_router_result(gw_trace_t *t, gw_idgen_t *g, int parent, const gw_config_t *cfg, gw_op_t op,
                           const gw_router_result_t *res, uint64_t router_start_ns)
{
    if (t == NULL || res == NULL || t->n_spans == 0)
        return 0;
    uint64_t at = router_start_ns ? router_start_ns : t->spans[0].start_ns;
    int n = 0;
    for (size_t i = 0; i < res->n_attempts && i < GW_MAX_ATTEMPTS; i++) {
        const gw_attempt_t *a = &res->attempts[i];
        const gw_cfg_provider_t *p = provider_named(cfg, a->provider);
        int num = (int)i + 1;
        int opened = gw_trace_attempt_span(t, res, num);
        uint64_t start = opened >= 0 ? t->spans[opened].start_ns : at;
        gw_trace_attempt_t ta = {.call = res, .number = num, .parent = parent, .operation = gw_trace_op_name(op),
                                 .provider_name = p ? gw_trace_provider_name(p->kind) : NULL,
                                 .provider = a->provider, .alias = a->alias, .model = a->model,
                                 .server_address = p ? p->host : NULL, .server_port = p ? p->port : 0,
                                 .status = a->status, .reason = a->reason,
                                 .input_tokens = a->usage.prompt_tokens, .output_tokens = a->usage.completion_tokens,
                                 .start_ns = start, .end_ns = start + ms_to_ns(a->ms)};
        if (gw_trace_attempt(t, g, &ta) >= 0)
            n++;
        at = ta.end_ns;
    }
    return n;
}

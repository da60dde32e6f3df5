/* trace_router.h - the gateway-side glue between the router's record of a
 * request (router.h gw_router_result_t) and its trace (trace.h): one CLIENT
 * span per upstream attempt with the OTel GenAI attributes. Kept apart from
 * trace.c so that the span model stays in the core layer and knows nothing
 * of the router, the config or the providers.
 */
#ifndef GW_TRACE_ROUTER_H
#define GW_TRACE_ROUTER_H

#include <stdint.h>

#include "config.h"
#include "provider.h"
#include "router.h"
#include "trace.h"

/* gen_ai.operation.name of op: "chat", "embeddings", "rerank". */
const char *gw_trace_op_name(gw_op_t op);
/* gen_ai.provider.name of a provider kind: "openai", "anthropic", "gcp.gemini". */
const char *gw_trace_provider_name(gw_prov_kind_t kind);

/* Adds (or fills, when the router opened them with gw_trace_attempt_open
 * with call = res) the span of every attempt in res under span parent. An attempt opened
 * earlier keeps its start; the others are laid end to end from
 * router_start_ns (0: the root's start), as the router runs them one after
 * another and records each one's duration (ms). Provider names are looked
 * up in cfg for gen_ai.provider.name and server.address/port. Strings are
 * copied; t == NULL is a no-op. Returns the number of attempt spans. */
int gw_trace_router_result(gw_trace_t *t, gw_idgen_t *g, int parent, const gw_config_t *cfg, gw_op_t op,
                           const gw_router_result_t *res, uint64_t router_start_ns);

#endif

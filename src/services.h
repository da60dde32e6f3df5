/* services.h - the catalog side of the server (engine + guard, ask
 * pipeline, search index). Immutable once opened; every member is safe to
 * use from several threads (the libuv thread pool runs queries). */
#ifndef GW_SERVICES_H
#define GW_SERVICES_H

#include <stdint.h>

#include "ask.h"
#include "config.h"
#include "engine.h"
#include "search.h"
#include "sql_guard.h"

typedef struct gw_services {
    gw_engine_t *engine;
    gw_guard_t *guard;
    gw_ask_t *ask;
    gw_search_t *search;
    struct gw_schema_cache *schema_cache; /* the process's, for ask (counters in /metrics) */
    char engine_name[32];
} gw_services_t;

/* Opens everything the catalog routes need (blocking: run it off the
 * loops). may_generate: create the embedded default's DuckDB catalog when
 * it is missing. Returns NULL with a one-line reason in err. */
gw_services_t *gw_services_open(const gw_config_t *cfg, int may_generate, char *err, size_t errlen);
/* Frees it; no query may be running. NULL is fine. */
void gw_services_free(gw_services_t *s);

#endif

/* config_check.c - checks that need the whole document: each model's
 * provider exists, fallbacks name known aliases and never the alias
 * itself, the ask models exist, and protected mode (system.md 1): a
 * non-loopback listen address with auth off is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config_int.h"

#define S(s, buf) gw__cfg_safe((s), strlen(s), (buf))

/* The value node of a top-level key, NULL when absent. */
static struct fy_node *top(gw__cfg_ctx_t *x, const char *key)
{
    struct fy_node_pair *p = gw__cfg_map_pair(x->root, key);
    return p != NULL ? fy_node_pair_value(p) : NULL;
}

/* Line of mapping[k1][k2] (either may be NULL), falling back outward. */
static int line_of(struct fy_node *map, const char *k1, const char *k2)
{
    struct fy_node_pair *p = gw__cfg_map_pair(map, k1);
    int line = gw__cfg_line(map, 0);
    if (p == NULL)
        return line;
    line = gw__cfg_line(fy_node_pair_key(p), line);
    struct fy_node *v = fy_node_pair_value(p);
    if (k2 == NULL)
        return gw__cfg_line(v, line);
    return line_of(v, k2, NULL) > 0 ? line_of(v, k2, NULL) : line;
}

static gw_err_t check_models(gw__cfg_ctx_t *x)
{
    gw_config_t *c = x->c;
    for (size_t i = 0; i < c->models_len; i++) {
        gw_cfg_model_t *m = &c->models[i];
        size_t p = 0;
        while (p < c->providers_len && strcmp(c->providers[p].name, m->provider) != 0)
            p++;
        if (p == c->providers_len) {
            struct fy_node *item = fy_node_sequence_get_by_index(top(x, "models"), (int)i);
            char b[64];
            return gw__cfg_fail(x, line_of(item, "provider", NULL),
                                "models[%zu].provider: unknown provider '%s' (not in providers)", i, S(m->provider, b));
        }
        m->provider_index = p;
    }
    return GW_OK;
}

static int is_alias(const gw_config_t *c, const char *a) { return gw_config_model(c, a, strlen(a)) != NULL; }

static gw_err_t check_chain(gw__cfg_ctx_t *x, const gw_cfg_fallback_t *fb, struct fy_node_pair *pair)
{
    struct fy_node *seq = pair != NULL ? fy_node_pair_value(pair) : NULL;
    int kline = pair != NULL ? gw__cfg_line(fy_node_pair_key(pair), 0) : 0;
    for (size_t j = 0; j < fb->chain_len; j++) {
        const char *a = fb->chain[j];
        char b1[64], b2[64];
        int line = gw__cfg_line(fy_node_sequence_get_by_index(seq, (int)j), kline);
        if (!is_alias(x->c, a))
            return gw__cfg_fail(x, line, "fallbacks.%s: unknown model alias '%s' (not in models)", S(fb->alias, b1),
                                S(a, b2));
        if (strcmp(a, fb->alias) == 0)
            return gw__cfg_fail(x, line, "fallbacks.%s: the chain names '%s' itself (a fallback cycle)",
                                S(fb->alias, b1), S(a, b2));
        for (size_t k = 0; k < j; k++)
            if (strcmp(fb->chain[k], a) == 0)
                return gw__cfg_fail(x, line, "fallbacks.%s: '%s' is listed twice", S(fb->alias, b1), S(a, b2));
    }
    return GW_OK;
}

static gw_err_t check_fallbacks(gw__cfg_ctx_t *x)
{
    struct fy_node *map = top(x, "fallbacks");
    for (size_t i = 0; i < x->c->fallbacks_len; i++) {
        const gw_cfg_fallback_t *fb = &x->c->fallbacks[i];
        struct fy_node_pair *pair = fy_node_mapping_get_by_index(map, (int)i);
        char b[64];
        if (!is_alias(x->c, fb->alias))
            return gw__cfg_fail(x, gw__cfg_line(pair != NULL ? fy_node_pair_key(pair) : NULL, 0),
                                "fallbacks: '%s' is not a model alias (not in models)", S(fb->alias, b));
        gw_err_t rc = check_chain(x, fb, pair);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

static gw_err_t check_ask(gw__cfg_ctx_t *x)
{
    gw_cfg_ask_t *a = &x->c->ask;
    struct fy_node *ask = top(x, "ask");
    char b[64];
    if (a->planner_model != NULL && !is_alias(x->c, a->planner_model))
        return gw__cfg_fail(x, line_of(ask, "planner", "model"), "ask.planner.model: unknown model alias '%s'",
                            S(a->planner_model, b));
    if (a->formatter_model != NULL && !is_alias(x->c, a->formatter_model))
        return gw__cfg_fail(x, line_of(ask, "formatter", "model"), "ask.formatter.model: unknown model alias '%s'",
                            S(a->formatter_model, b));
    if (strcmp(a->engine, "bigquery") == 0 && a->bigquery_project == NULL)
        return gw__cfg_fail(x, line_of(ask, "engine", NULL),
                            "ask.engine is bigquery but ask.bigquery.project is not set");
    return GW_OK;
}

typedef struct kref {
    const char *hash;
    size_t t, k; /* tenants[t].keys[k] */
} kref_t;

/* By hash (case-insensitive: the same digest), then in file order. */
static int kref_cmp(const void *pa, const void *pb)
{
    const kref_t *a = pa, *b = pb;
    int c = strcasecmp(a->hash, b->hash);
    if (c != 0)
        return c;
    return a->t != b->t ? (a->t < b->t ? -1 : 1) : (a->k < b->k ? -1 : a->k > b->k);
}

static int kref_before(const kref_t *a, const kref_t *b) { return a->t != b->t ? a->t < b->t : a->k < b->k; }

/* A key hash may belong to one tenant, once: sorted, O(n log n). */
static gw_err_t check_key_dups(gw__cfg_ctx_t *x)
{
    gw_config_t *c = x->c;
    size_t n = 0, m = 0, dup = 0;
    for (size_t t = 0; t < c->tenants_len; t++)
        n += c->tenants[t].keys_len;
    if (n < 2)
        return GW_OK;
    kref_t *r = gw_malloc(n * sizeof *r);
    if (r == NULL)
        return gw__cfg_fail(x, 0, "out of memory");
    for (size_t t = 0; t < c->tenants_len; t++)
        for (size_t k = 0; k < c->tenants[t].keys_len; k++)
            r[m++] = (kref_t){c->tenants[t].keys[k], t, k};
    qsort(r, n, sizeof *r, kref_cmp);
    for (size_t i = 1; i < n; i++) /* report the repeat that comes first in the file */
        if (strcasecmp(r[i - 1].hash, r[i].hash) == 0 && (dup == 0 || kref_before(&r[i], &r[dup])))
            dup = i;
    gw_err_t rc = GW_OK;
    if (dup > 0) {
        size_t first = dup - 1;
        while (first > 0 && strcasecmp(r[first - 1].hash, r[dup].hash) == 0)
            first--;
        struct fy_node *item = fy_node_sequence_get_by_index(top(x, "tenants"), (int)r[dup].t);
        struct fy_node_pair *kp = gw__cfg_map_pair(item, "keys");
        struct fy_node *keys = kp != NULL ? fy_node_pair_value(kp) : NULL;
        int line = gw__cfg_line(fy_node_sequence_get_by_index(keys, (int)r[dup].k), 0);
        char b[64];
        rc = gw__cfg_fail(x, line, "tenants[%zu].keys[%zu]: this key hash is already listed for tenant '%s'",
                          r[dup].t, r[dup].k, S(c->tenants[r[first].t].id, b));
    }
    gw_free(r);
    return rc;
}

/* system.md 1: like Redis's protected mode. */
static gw_err_t check_protected(gw__cfg_ctx_t *x)
{
    gw_config_t *c = x->c;
    if (c->auth_enabled || gw__cfg_is_loopback(c->listen_host))
        return GW_OK;
    return gw__cfg_fail(x, line_of(x->root, "auth", "enabled"),
                        "refusing to listen on %.80s with auth disabled: anyone who can reach that address could use "
                        "your provider keys. Either set auth: {enabled: true} and create keys with "
                        "'llmgw keys create --tenant NAME', or listen on 127.0.0.1 (or [::1]) for local use",
                        c->listen);
}

/* telemetry.metrics_auth asks for an admin key: without auth there is none. */
static gw_err_t check_metrics_auth(gw__cfg_ctx_t *x)
{
    gw_config_t *c = x->c;
    if (!c->telemetry.metrics_auth || c->auth_enabled)
        return GW_OK;
    return gw__cfg_fail(x, line_of(x->root, "telemetry", "metrics_auth"),
                        "telemetry.metrics_auth needs auth: {enabled: true} (GET /metrics would take an admin key, "
                        "and without auth there is none)");
}

gw_err_t gw__cfg_check(gw__cfg_ctx_t *x)
{
    gw_config_t *c = x->c;
    if (c->per_ip.rps > 0 && c->per_ip.burst == 0)
        c->per_ip.burst = c->per_ip.rps < 1 ? 1 : c->per_ip.rps;
    gw_err_t rc = check_models(x);
    if (rc == GW_OK)
        rc = check_key_dups(x);
    if (rc == GW_OK)
        rc = check_fallbacks(x);
    if (rc == GW_OK)
        rc = check_ask(x);
    if (rc == GW_OK)
        rc = check_protected(x);
    if (rc == GW_OK)
        rc = check_metrics_auth(x);
    return rc;
}

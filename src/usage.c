/* usage.c - the accounting table, shared cells across reloads, and GET /v1/usage JSON (see usage.h). */
#include "usage.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "tokest.h"

static inline uint64_t ld(const _Atomic uint64_t *p) { return atomic_load_explicit(p, memory_order_relaxed); }
static inline void add(_Atomic uint64_t *p, uint64_t v) { atomic_fetch_add_explicit(p, v, memory_order_relaxed); }

int64_t gw_usage_price_nano(double per_mtok)
{
    if (!(per_mtok > 0))
        return 0;
    return (int64_t)llround(per_mtok * 1000.0);
}

/* The row in prev of the tenant named id, or 0. */
static size_t prev_row(const gw_usage_table_t *prev, const char *id)
{
    for (size_t j = 0; prev != NULL && j < prev->cfg->tenants_len; j++)
        if (strcmp(prev->cfg->tenants[j].id, id) == 0)
            return j + 1;
    return 0;
}

static long prev_model(const gw_usage_table_t *prev, const char *alias)
{
    return prev != NULL ? gw_usage_model(prev, alias, strlen(alias)) : -1;
}

/* A shared blob: *slot takes a reference to old or a new zeroed one. */
static int share(void **slot, void *old, size_t size)
{
    if (old != NULL) {
        atomic_fetch_add_explicit((atomic_int *)old, 1, memory_order_relaxed);
        *slot = old;
        return 1;
    }
    *slot = gw_calloc(1, size); /* every shared blob starts with its atomic_int refs */
    if (*slot == NULL)
        return 0;
    atomic_init((atomic_int *)*slot, 1);
    return 1;
}

static void blob_unref(void *p)
{
    if (p != NULL && atomic_fetch_sub_explicit((atomic_int *)p, 1, memory_order_acq_rel) == 1)
        gw_free(p);
}

static int build_rows(gw_usage_table_t *t, const gw_usage_table_t *prev)
{
    const gw_config_t *cfg = t->cfg;
    for (size_t r = 0; r < t->n_rows; r++) {
        size_t pr = r == 0 ? 0 : prev_row(prev, cfg->tenants[r - 1].id);
        int have = prev != NULL && (r == 0 || pr != 0); /* row 0 (no tenant) always carries over */
        if (!share((void **)&t->tenants[r], have ? prev->tenants[pr] : NULL, sizeof(gw_budget_state_t)))
            return 0;
        const gw_cfg_tenant_t *ct = r ? &cfg->tenants[r - 1] : NULL;
        t->limits[r].budget_nusd = ct && ct->budget_usd >= 0 ? (int64_t)llround(ct->budget_usd * 1e9) : -1;
        t->limits[r].tokens_per_min = ct ? ct->tokens_per_min : 0;
        for (size_t m = 0; m < t->n_models; m++) {
            long pm = have ? prev_model(prev, cfg->models[m].alias) : -1;
            void *old = pm >= 0 ? prev->cells[pr * prev->n_models + (size_t)pm] : NULL;
            if (!share((void **)&t->cells[r * t->n_models + m], old, sizeof(gw_usage_cell_t)))
                return 0;
        }
    }
    return 1;
}

gw_usage_table_t *gw_usage_table_new(gw_config_t *cfg, const gw_usage_table_t *prev)
{
    gw_usage_table_t *t = gw_calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->cfg = gw_config_ref(cfg);
    t->n_rows = 1 + cfg->tenants_len;
    t->n_models = cfg->models_len;
    size_t nm = t->n_models ? t->n_models : 1;
    t->in_nano = gw_calloc(nm, sizeof(int64_t));
    t->out_nano = gw_calloc(nm, sizeof(int64_t));
    t->models = gw_calloc(nm, sizeof(*t->models));
    t->tenants = gw_calloc(t->n_rows, sizeof(*t->tenants));
    t->limits = gw_calloc(t->n_rows, sizeof(*t->limits));
    t->cells = gw_calloc(t->n_rows * nm, sizeof(*t->cells));
    if (!t->in_nano || !t->out_nano || !t->models || !t->tenants || !t->limits || !t->cells)
        goto fail;
    for (size_t m = 0; m < t->n_models; m++) {
        t->in_nano[m] = gw_usage_price_nano(cfg->models[m].input_per_mtok);
        t->out_nano[m] = gw_usage_price_nano(cfg->models[m].output_per_mtok);
        long pm = prev_model(prev, cfg->models[m].alias);
        if (!share((void **)&t->models[m], pm >= 0 ? prev->models[pm] : NULL, sizeof(gw_model_stats_t)))
            goto fail;
    }
    if (!build_rows(t, prev))
        goto fail;
    return t;
fail:
    gw_usage_table_free(t);
    return NULL;
}

void gw_usage_table_free(gw_usage_table_t *t)
{
    if (t == NULL)
        return;
    for (size_t r = 0; t->tenants != NULL && r < t->n_rows; r++)
        blob_unref(t->tenants[r]);
    for (size_t i = 0; t->cells != NULL && i < t->n_rows * t->n_models; i++)
        blob_unref(t->cells[i]);
    for (size_t m = 0; t->models != NULL && m < t->n_models; m++)
        blob_unref(t->models[m]);
    gw_free(t->in_nano);
    gw_free(t->out_nano);
    gw_free(t->models);
    gw_free(t->tenants);
    gw_free(t->limits);
    gw_free(t->cells);
    gw_config_unref(t->cfg);
    gw_free(t);
}

size_t gw_usage_row(const gw_usage_table_t *t, const gw_cfg_tenant_t *tenant)
{
    const gw_cfg_tenant_t *base = t->cfg->tenants;
    if (tenant == NULL || base == NULL || tenant < base || tenant >= base + t->cfg->tenants_len)
        return 0;
    return (size_t)(tenant - base) + 1;
}

long gw_usage_model(const gw_usage_table_t *t, const char *alias, size_t len)
{
    const gw_cfg_model_t *m = alias != NULL ? gw_config_model(t->cfg, alias, len) : NULL;
    return m != NULL ? (long)(m - t->cfg->models) : -1;
}

/* The column of an attempt's model: by pointer when it is ours, else by alias. */
static long attempt_model(const gw_usage_table_t *t, const gw_attempt_t *a)
{
    const gw_cfg_model_t *base = t->cfg->models;
    if (a->cfg_model != NULL && base != NULL && a->cfg_model >= base && a->cfg_model < base + t->n_models)
        return (long)(a->cfg_model - base);
    return a->alias != NULL ? gw_usage_model(t, a->alias, strlen(a->alias)) : -1;
}

static void cell_add(gw_usage_table_t *t, size_t row, long m, int64_t p, int64_t c, int64_t ep, int64_t ec,
                     gw_usage_totals_t *out)
{
    int64_t cost = 0;
    if (m >= 0) {
        cost = p * t->in_nano[m] + c * t->out_nano[m];
        gw_usage_cell_t *cell = t->cells[row * t->n_models + (size_t)m];
        add(&cell->prompt_tokens, (uint64_t)p);
        add(&cell->completion_tokens, (uint64_t)c);
        add(&cell->cost_nusd, (uint64_t)cost);
        if (ep > 0 || ec > 0) {
            add(&cell->est_attempts, 1);
            add(&cell->est_prompt_tokens, (uint64_t)ep);
            add(&cell->est_completion_tokens, (uint64_t)ec);
        }
    }
    out->prompt_tokens += p;
    out->completion_tokens += c;
    out->cost_nusd += cost;
    out->estimated |= ep > 0 || ec > 0;
}

static void account_attempt(gw_usage_table_t *t, size_t row, const gw_router_result_t *r, const gw_attempt_t *a,
                            gw_usage_totals_t *out)
{
    if (!(a->status >= 200 && a->status < 300))
        return; /* the upstream refused or never answered: nothing billed */
    int64_t p = a->usage.prompt_tokens, c = a->usage.completion_tokens, ep = 0, ec = 0;
    if (p < 0)
        p = ep = gw_tokest_prompt(r->prompt_chars);
    if (c < 0)
        c = ec = gw_tokest_completion(a->content_bytes);
    cell_add(t, row, attempt_model(t, a), p, c, ep, ec, out);
}

void gw_usage_account(gw_usage_table_t *t, size_t row, long req_model, const gw_router_result_t *const *rs, size_t n,
                      gw_usage_totals_t *out)
{
    memset(out, 0, sizeof(*out));
    if (row >= t->n_rows)
        row = 0;
    if (req_model >= 0 && (size_t)req_model < t->n_models)
        add(&t->cells[row * t->n_models + (size_t)req_model]->requests, 1);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; rs[i] != NULL && k < rs[i]->n_attempts; k++)
            account_attempt(t, row, rs[i], &rs[i]->attempts[k], out);
}

void gw_usage_account_tokens(gw_usage_table_t *t, size_t row, long model, int64_t prompt, int64_t completion,
                             int estimated, gw_usage_totals_t *out)
{
    memset(out, 0, sizeof(*out));
    if (row >= t->n_rows)
        row = 0;
    if (model >= 0 && (size_t)model < t->n_models)
        add(&t->cells[row * t->n_models + (size_t)model]->requests, 1);
    else
        model = -1;
    prompt = prompt > 0 ? prompt : 0;
    completion = completion > 0 ? completion : 0;
    cell_add(t, row, model, prompt, completion, estimated ? prompt : 0, estimated ? completion : 0, out);
}

uint64_t gw_usage_row_cost(const gw_usage_table_t *t, size_t row)
{
    uint64_t s = 0;
    for (size_t m = 0; m < t->n_models; m++)
        s += ld(&t->cells[row * t->n_models + m]->cost_nusd);
    return s;
}

static void json_u64(gw_buf_t *b, const char *key, uint64_t v)
{
    gw_buf_printf(b, ",\"%s\":%llu", key, (unsigned long long)v);
}

static void json_usd(gw_buf_t *b, const char *key, int64_t nusd)
{
    gw_buf_printf(b, ",\"%s\":", key);
    gw_metrics_add_nano(b, nusd);
}

static void json_models(const gw_usage_table_t *t, size_t row, gw_buf_t *b)
{
    gw_buf_adds(b, ",\"models\":[");
    int first = 1;
    for (size_t m = 0; m < t->n_models; m++) {
        const gw_usage_cell_t *c = t->cells[row * t->n_models + m];
        if (ld(&c->requests) == 0 && ld(&c->prompt_tokens) == 0 && ld(&c->completion_tokens) == 0)
            continue;
        gw_buf_adds(b, first ? "{\"model\":\"" : ",{\"model\":\"");
        first = 0;
        gw_buf_add_json_str(b, t->cfg->models[m].alias, strlen(t->cfg->models[m].alias));
        gw_buf_adds(b, "\"");
        json_u64(b, "requests", ld(&c->requests));
        json_u64(b, "prompt_tokens", ld(&c->prompt_tokens));
        json_u64(b, "completion_tokens", ld(&c->completion_tokens));
        json_usd(b, "cost_usd", (int64_t)ld(&c->cost_nusd));
        json_u64(b, "estimated_attempts", ld(&c->est_attempts));
        json_u64(b, "estimated_prompt_tokens", ld(&c->est_prompt_tokens));
        json_u64(b, "estimated_completion_tokens", ld(&c->est_completion_tokens));
        gw_buf_adds(b, "}");
    }
    gw_buf_adds(b, "]");
}

static void json_row(const gw_usage_table_t *t, size_t row, gw_buf_t *b)
{
    const gw_cfg_tenant_t *ct = row ? &t->cfg->tenants[row - 1] : NULL;
    gw_budget_state_t *st = t->tenants[row];
    const gw_budget_limits_t *lim = &t->limits[row];
    uint64_t req = 0, p = 0, c = 0, cost = 0, est = 0;
    for (size_t m = 0; m < t->n_models; m++) {
        const gw_usage_cell_t *cell = t->cells[row * t->n_models + m];
        req += ld(&cell->requests), p += ld(&cell->prompt_tokens), c += ld(&cell->completion_tokens);
        cost += ld(&cell->cost_nusd), est += ld(&cell->est_attempts);
    }
    int64_t spent = atomic_load_explicit(&st->spent_nusd, memory_order_relaxed);
    int64_t committed = atomic_load_explicit(&st->committed_nusd, memory_order_relaxed);
    gw_buf_adds(b, "{\"tenant\":");
    if (ct != NULL) {
        gw_buf_adds(b, "\"");
        gw_buf_add_json_str(b, ct->id, strlen(ct->id));
        gw_buf_adds(b, "\"");
    } else {
        gw_buf_adds(b, "null");
    }
    if (lim->budget_nusd >= 0)
        json_usd(b, "budget_usd", lim->budget_nusd);
    else
        gw_buf_adds(b, ",\"budget_usd\":null");
    json_usd(b, "spent_usd", spent);
    json_usd(b, "reserved_usd", committed - spent);
    if (lim->budget_nusd >= 0)
        json_usd(b, "budget_left_usd", lim->budget_nusd - committed);
    else
        gw_buf_adds(b, ",\"budget_left_usd\":null");
    gw_buf_printf(b, ",\"tokens_per_min\":%lld", (long long)lim->tokens_per_min);
    json_u64(b, "requests", req);
    json_u64(b, "prompt_tokens", p);
    json_u64(b, "completion_tokens", c);
    json_usd(b, "cost_usd", (int64_t)cost);
    json_u64(b, "estimated_attempts", est);
    json_models(t, row, b);
    gw_buf_adds(b, "}");
}

gw_err_t gw_usage_json(const gw_usage_table_t *t, size_t row, int all, gw_buf_t *out)
{
    size_t start = out->len;
    gw_buf_adds(out, "{\"object\":\"usage\",\"tenants\":[");
    int first = 1;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (all ? (r == 0 && t->cfg->auth_enabled) : r != row)
            continue; /* row 0 (no tenant) only exists with auth off */
        if (!first)
            gw_buf_adds(out, ",");
        first = 0;
        json_row(t, r, out);
    }
    gw_err_t rc = gw_buf_adds(out, "]}");
    if (rc != GW_OK)
        out->len = start;
    return rc;
}

/* usage.h - per (tenant, model alias) accounting: tokens, exact USD,
 * requests and estimated counts, kept in atomics.
 *
 * A gw_usage_table_t is built with each runtime (config generation) and is
 * read-only as a structure afterwards: rows are 0 (no tenant: auth off) and
 * 1 + the config's tenant index, columns the configured model aliases. The
 * cells (and the per-tenant budget state and per-model request counters)
 * are separately allocated and reference counted: a table built on SIGHUP
 * shares the cells of tenants and aliases that still exist with the table
 * before it, so a request that finishes on the old config adds to the same
 * totals and nothing is lost or counted twice. USD is integer nano-USD:
 * price per token = round(price per million tokens * 1000) nano-USD, so
 * sums are exact (to 1e-9 USD; prices are honoured to $0.001 per million).
 * Ownership: the table holds a reference on its config.
 */
#ifndef GW_USAGE_H
#define GW_USAGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "config.h"
#include "metrics.h"
#include "router.h"

typedef struct gw_usage_cell {
    atomic_int refs;
    _Atomic uint64_t requests;          /* requests that asked for this alias */
    _Atomic uint64_t prompt_tokens;     /* billed by attempts on this alias, estimates included */
    _Atomic uint64_t completion_tokens;
    _Atomic uint64_t cost_nusd;
    _Atomic uint64_t est_attempts;      /* attempts whose usage was (partly) estimated */
    _Atomic uint64_t est_prompt_tokens; /* the estimated part of the tokens above */
    _Atomic uint64_t est_completion_tokens;
} gw_usage_cell_t;

typedef struct gw_usage_table {
    gw_config_t *cfg;            /* a reference: names, prices, budgets */
    size_t n_rows;               /* 1 + cfg->tenants_len */
    size_t n_models;             /* cfg->models_len */
    int64_t *in_nano;            /* [model] price per prompt token, nano-USD */
    int64_t *out_nano;           /* [model] price per completion token */
    gw_usage_cell_t **cells;     /* [row * n_models + model] */
    gw_budget_state_t **tenants; /* [row] */
    gw_budget_limits_t *limits;  /* [row] */
    gw_model_stats_t **models;   /* [model] */
} gw_usage_table_t;

/* What one request added (also what its log line says). */
typedef struct gw_usage_totals {
    int64_t prompt_tokens;     /* -1 when nothing was billed and no tokens were given */
    int64_t completion_tokens;
    int64_t cost_nusd;
    int estimated;             /* some of the tokens are estimates */
} gw_usage_totals_t;

/* Builds the table for cfg (takes a new reference on it), sharing the
 * cells of prev (may be NULL) for tenant ids and aliases found in both.
 * NULL on OOM. Cost: O(tenants * previous tenants) name compares. */
gw_usage_table_t *gw_usage_table_new(gw_config_t *cfg, const gw_usage_table_t *prev);
/* Drops the table's references (cells shared with another table live on). NULL is fine. */
void gw_usage_table_free(gw_usage_table_t *t);

/* Nano-USD per token for a price in USD per million tokens (>= 0). */
int64_t gw_usage_price_nano(double per_mtok);
/* The row of a tenant of t->cfg (0 for NULL or a tenant of another config). */
size_t gw_usage_row(const gw_usage_table_t *t, const gw_cfg_tenant_t *tenant);
/* The column of an alias, or -1. */
long gw_usage_model(const gw_usage_table_t *t, const char *alias, size_t len);

/* Accounts one finished request of row that asked for column req_model
 * (-1: none): every attempt of the n router results rs that an upstream
 * billed (a 2xx head) adds its tokens and cost under its own alias; a
 * missing usage figure is estimated (tokest.h) and counted as estimated.
 * Fills *out with the sums (prompt/completion 0 when nothing was billed). */
void gw_usage_account(gw_usage_table_t *t, size_t row, long req_model, const gw_router_result_t *const *rs, size_t n,
                      gw_usage_totals_t *out);
/* Accounts tokens reported without a router result (e.g. a route that
 * counted its own LLM use) under column model; cost from its price. */
void gw_usage_account_tokens(gw_usage_table_t *t, size_t row, long model, int64_t prompt, int64_t completion,
                             int estimated, gw_usage_totals_t *out);

/* Appends GET /v1/usage's JSON for row (or every row when all is set):
 * {"object":"usage","tenants":[{"tenant","budget_usd","spent_usd",
 * "reserved_usd","budget_left_usd","requests","prompt_tokens",
 * "completion_tokens","cost_usd","estimated_attempts","models":[...]}]} */
gw_err_t gw_usage_json(const gw_usage_table_t *t, size_t row, int all, gw_buf_t *out);

/* Sum of a row's cost over all models, nano-USD. */
uint64_t gw_usage_row_cost(const gw_usage_table_t *t, size_t row);

#endif

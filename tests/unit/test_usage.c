/* test_usage.c - the accounting table (usage.h): exact nano-USD sums per
 * (tenant, model), billed vs unbilled attempts, estimates when usage is
 * missing, cells shared across a reload (an old runtime's late request
 * still counts, once), and the /v1/usage JSON. */
#include <string.h>

#include "alloc.h"
#include "test.h"
#include "tokest.h"
#include "usage.h"

static const char yaml1[] = "auth: {enabled: true}\n"
                            "providers:\n  - {name: p, kind: openai, base_url: http://127.0.0.1:9}\n"
                            "models:\n"
                            "  - {alias: a, provider: p, model: a, price: {input_per_mtok: 1.25, output_per_mtok: 10}}\n"
                            "  - {alias: b, provider: p, model: b, price: {input_per_mtok: 3, output_per_mtok: 15}}\n"
                            "fallbacks:\n  a: [b]\n"
                            "tenants:\n"
                            "  - {id: acme, budget_usd: 1.5, rate: {tokens_per_min: 1000}}\n"
                            "  - {id: beta}\n"
                            "ask: {engine: none}\n";

/* Same tenants reordered, beta gone, gamma new, model b gone, c new. */
static const char yaml2[] = "auth: {enabled: true}\n"
                            "providers:\n  - {name: p, kind: openai, base_url: http://127.0.0.1:9}\n"
                            "models:\n"
                            "  - {alias: c, provider: p, model: c}\n"
                            "  - {alias: a, provider: p, model: a, price: {input_per_mtok: 1.25, output_per_mtok: 10}}\n"
                            "tenants:\n  - {id: gamma}\n  - {id: acme, budget_usd: 2}\n"
                            "ask: {engine: none}\n";

static gw_config_t *parse(const char *y)
{
    char err[256] = "";
    gw_config_t *c = gw_config_parse(y, strlen(y), "t.yaml", err, sizeof err);
    T_OK(c != NULL, "config parses: %s", err);
    return c;
}

static gw_attempt_t attempt(const gw_config_t *cfg, size_t m, int status, int64_t p, int64_t c, size_t content)
{
    gw_attempt_t a;
    memset(&a, 0, sizeof(a));
    a.alias = cfg->models[m].alias;
    a.cfg_model = &cfg->models[m];
    a.status = status;
    a.usage.prompt_tokens = p;
    a.usage.completion_tokens = c;
    a.content_bytes = content;
    a.reason = status == 200 ? "ok" : "status_5xx";
    return a;
}

static uint64_t cell(const gw_usage_table_t *t, size_t row, size_t m, int f)
{
    const gw_usage_cell_t *c = t->cells[row * t->n_models + m];
    switch (f) {
    case 0: return atomic_load(&c->requests);
    case 1: return atomic_load(&c->prompt_tokens);
    case 2: return atomic_load(&c->completion_tokens);
    case 3: return atomic_load(&c->cost_nusd);
    default: return atomic_load(&c->est_attempts);
    }
}

static void test_account(gw_config_t *cfg, gw_usage_table_t *t)
{
    T_OK(t->n_rows == 3 && t->n_models == 2, "rows: none + 2 tenants; 2 models");
    T_OK(t->in_nano[0] == 1250 && t->out_nano[0] == 10000 && t->in_nano[1] == 3000, "prices in nano-USD/token");
    T_OK(t->limits[1].budget_nusd == 1500000000 && t->limits[1].tokens_per_min == 1000, "acme limits");
    T_OK(t->limits[2].budget_nusd == -1 && t->limits[0].budget_nusd == -1, "no budget elsewhere");
    size_t acme = gw_usage_row(t, &cfg->tenants[0]);
    T_OK(acme == 1 && gw_usage_row(t, NULL) == 0, "rows");
    /* failover: a 500 (not billed), then b answers with usage */
    gw_router_result_t r;
    memset(&r, 0, sizeof(r));
    r.prompt_chars = 40;
    r.attempts[0] = attempt(cfg, 0, 500, -1, -1, 0);
    r.attempts[1] = attempt(cfg, 1, 200, 9, 3, 0);
    r.n_attempts = 2;
    const gw_router_result_t *rs[1] = {&r};
    gw_usage_totals_t tot;
    gw_usage_account(t, acme, 0, rs, 1, &tot);
    T_OK(tot.prompt_tokens == 9 && tot.completion_tokens == 3 && !tot.estimated, "totals from the billed attempt");
    T_OK(tot.cost_nusd == 9 * 3000 + 3 * 15000, "cost 72000 nUSD, got %lld", (long long)tot.cost_nusd);
    T_OK(cell(t, acme, 0, 0) == 1 && cell(t, acme, 1, 0) == 0, "the request counts under the alias asked for");
    T_OK(cell(t, acme, 1, 1) == 9 && cell(t, acme, 1, 2) == 3 && cell(t, acme, 1, 3) == 72000, "tokens under b");
    T_OK(cell(t, acme, 0, 1) == 0, "the failed attempt billed nothing");
    /* a broken stream billed and without usage: estimated, never 0 */
    memset(&r, 0, sizeof(r));
    r.prompt_chars = 40; /* -> 10 + 4 */
    r.attempts[0] = attempt(cfg, 0, 200, -1, -1, 21); /* -> 6 */
    r.attempts[0].reason = "stream_broken";
    r.n_attempts = 1;
    gw_usage_account(t, acme, 0, rs, 1, &tot);
    T_OK(tot.estimated && tot.prompt_tokens == 14 && tot.completion_tokens == 6, "estimated 14 + 6, got %lld + %lld",
         (long long)tot.prompt_tokens, (long long)tot.completion_tokens);
    T_OK(tot.cost_nusd == 14 * 1250 + 6 * 10000, "estimated cost %lld", (long long)tot.cost_nusd);
    T_OK(cell(t, acme, 0, 4) == 1 && atomic_load(&t->cells[acme * 2]->est_prompt_tokens) == 14, "estimate counted");
    /* partial usage (anthropic message_start only): the missing half is estimated */
    r.attempts[0] = attempt(cfg, 0, 200, 30, -1, 8);
    gw_usage_account(t, 0, 0, rs, 1, &tot);
    T_OK(tot.prompt_tokens == 30 && tot.completion_tokens == 2 && tot.estimated, "prompt kept, completion estimated");
    T_OK(cell(t, 0, 0, 1) == 30 && cell(t, acme, 0, 1) == 14, "row 0 (no tenant) apart");
    /* tokens without router */
    gw_usage_account_tokens(t, 2, 1, 100, 50, 0, &tot);
    T_OK(tot.cost_nusd == 100 * 3000 + 50 * 15000 && cell(t, 2, 1, 0) == 1, "tokens path: %lld", (long long)tot.cost_nusd);
    T_OK(gw_usage_row_cost(t, acme) == 72000 + 14 * 1250 + 60000, "row cost sum");
}

static void test_reload(gw_usage_table_t *t1)
{
    gw_config_t *cfg2 = parse(yaml2);
    gw_usage_table_t *t2 = gw_usage_table_new(cfg2, t1);
    gw_config_unref(cfg2); /* the table holds its own reference */
    T_OK(t2 != NULL && t2->n_rows == 3 && t2->n_models == 2, "new table");
    /* acme is row 2 now, a is column 1 */
    T_OK(t2->cells[2 * 2 + 1] == t1->cells[1 * 2 + 0], "acme/a cell shared");
    T_OK(t2->cells[0 * 2 + 1] == t1->cells[0], "row 0 / a shared");
    T_OK(t2->tenants[2] == t1->tenants[1], "acme budget state shared");
    T_OK(t2->models[1] == t1->models[0], "model stats of a shared");
    T_OK(atomic_load(&t2->cells[1 * 2 + 1]->prompt_tokens) == 0, "gamma/a fresh");
    T_OK(atomic_load(&t2->cells[1 * 2 + 1]->refs) == 1 && atomic_load(&t2->cells[2 * 2 + 1]->refs) == 2, "refs");
    T_OK(t2->limits[2].budget_nusd == 2000000000 && t2->limits[2].tokens_per_min == 0, "new limits");
    /* a request still on the old runtime finishes after the reload */
    gw_router_result_t r;
    memset(&r, 0, sizeof(r));
    r.attempts[0] = attempt(t1->cfg, 0, 200, 1000, 0, 0);
    r.n_attempts = 1;
    const gw_router_result_t *rs[1] = {&r};
    gw_usage_totals_t tot;
    uint64_t before = atomic_load(&t2->cells[2 * 2 + 1]->prompt_tokens);
    gw_usage_account(t1, 1, 0, rs, 1, &tot);
    T_OK(atomic_load(&t2->cells[2 * 2 + 1]->prompt_tokens) == before + 1000, "late request seen by the new table");
    gw_buf_t b;
    gw_buf_init(&b, 1 << 20);
    T_OK(gw_usage_json(t2, 2, 0, &b) == GW_OK, "json");
    T_OK(strstr(b.ptr, "\"tenant\":\"acme\",\"budget_usd\":2.000000000") != NULL, "own tenant: %s", b.ptr);
    T_OK(strstr(b.ptr, "gamma") == NULL, "only its own tenant");
    T_OK(strstr(b.ptr, "{\"model\":\"a\",\"requests\":3,\"prompt_tokens\":1014,") != NULL, "model a row: %s", b.ptr);
    gw_buf_reset(&b);
    T_OK(gw_usage_json(t2, 0, 1, &b) == GW_OK && strstr(b.ptr, "gamma") && strstr(b.ptr, "acme") &&
             strstr(b.ptr, "\"tenant\":null") == NULL, "admin: all tenants, no anonymous row with auth on");
    gw_buf_free(&b);
    gw_usage_table_free(t1); /* the old runtime goes */
    T_OK(atomic_load(&t2->cells[2 * 2 + 1]->refs) == 1, "shared cell now held once");
    gw_usage_table_free(t2);
}

int main(void)
{
    T_OK(gw_usage_price_nano(2.5) == 2500 && gw_usage_price_nano(0.075) == 75 && gw_usage_price_nano(0) == 0 &&
             gw_usage_price_nano(-1) == 0, "price rounding");
    gw_config_t *cfg = parse(yaml1);
    if (cfg == NULL)
        return t_done("test_usage");
    gw_usage_table_t *t = gw_usage_table_new(cfg, NULL);
    gw_config_unref(cfg);
    T_OK(t != NULL, "table");
    test_account(t->cfg, t);
    test_reload(t);
    /* out of memory while building: no leak, NULL */
    cfg = parse(yaml1);
    int nulls = 0;
    for (long n = 0; n < 40; n++) {
        gw_alloc_fail_after(n);
        gw_usage_table_t *x = gw_usage_table_new(cfg, NULL);
        gw_alloc_fail_after(-1);
        nulls += x == NULL;
        gw_usage_table_free(x);
    }
    T_OK(nulls > 5, "allocation failures give NULL (%d)", nulls);
    gw_config_unref(cfg);
    return t_done("test_usage");
}

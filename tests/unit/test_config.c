/* test_config.c - the YAML configuration loader: the full system.md 4
 * example, every default, the extra keys, ${VAR} expansion, each error
 * message (with its line), URL and listen parsing, protected mode,
 * lookups, reference counting and allocation failures.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "config_int.h"
#include "test.h"

#define HASH_A "blake2b:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HASH_B "blake2b:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static gw_config_t *parse(const char *yaml, char *err, size_t errlen)
{
    return gw_config_parse(yaml, strlen(yaml), "t.yaml", err, errlen);
}

/* Parses yaml, which must fail with exactly msg. */
static void expect_err(const char *yaml, const char *msg)
{
    char err[1024];
    gw_config_t *c = parse(yaml, err, sizeof err);
    T_OK(c == NULL, "should fail: %s", yaml);
    T_STREQ(err, msg, "message: got [%s] want [%s]", err, msg);
    gw_config_unref(c);
}

/* Parses yaml, which must fail with a message containing part. */
static void expect_err_has(const char *yaml, const char *part)
{
    char err[1024];
    gw_config_t *c = parse(yaml, err, sizeof err);
    T_OK(c == NULL, "should fail: %s", yaml);
    T_OK(strstr(err, part) != NULL, "message [%s] lacks [%s]", err, part);
    gw_config_unref(c);
}

static void check_full_top(const gw_config_t *c)
{
    T_STREQ(c->path, GW_SOURCE_DIR "/tests/data/config/full.yaml", "path");
    T_STREQ(c->listen, "127.0.0.1:8080", "listen");
    T_STREQ(c->listen_host, "127.0.0.1", "listen host");
    T_OK(c->listen_port == 8080, "listen port");
    T_OK(c->auth_enabled == 1, "auth");
    T_OK(c->limits.max_body_bytes == 1048576, "max_body_bytes");
    T_OK(c->limits.upstream_timeout_ms == 60000, "upstream_timeout_ms");
    T_OK(c->limits.retry_budget == 2, "retry_budget");
    T_OK(c->per_ip.rps == 20 && c->per_ip.burst == 40, "per_ip");
}

static void check_full_providers(const gw_config_t *c)
{
    T_OK(c->providers_len == 4, "4 providers");
    if (c->providers_len != 4)
        return;
    const gw_cfg_provider_t *g = &c->providers[0], *o = &c->providers[1], *a = &c->providers[2], *l = &c->providers[3];
    T_STREQ(g->name, "gemini", "p0 name");
    T_OK(g->kind == GW_PROV_GEMINI && o->kind == GW_PROV_OPENAI && a->kind == GW_PROV_ANTHROPIC &&
             l->kind == GW_PROV_OPENAI,
         "kinds");
    T_STREQ(g->base_url, "https://generativelanguage.googleapis.com", "p0 url");
    T_STREQ(g->host, "generativelanguage.googleapis.com", "p0 host");
    T_OK(g->is_tls == 1 && g->port == 443, "p0 tls/port");
    T_STREQ(g->base_path, "", "p0 base_path");
    T_STREQ(g->api_key, "gk-123", "p0 key from env");
    T_STREQ(o->api_key, "sk-a ${lit}", "p1 key from env (not re-expanded)");
    T_STREQ(a->name, "claude", "p2 name");
    T_STREQ(a->host, "api.anthropic.com", "p2 host");
    T_STREQ(a->api_key, "ak", "p2 key");
    T_STREQ(l->name, "local", "p3 name");
    T_STREQ(l->host, "127.0.0.1", "p3 host");
    T_OK(l->is_tls == 0 && l->port == 8000 && l->api_key == NULL, "p3 http/8000/no key");
}

static void check_full_models(const gw_config_t *c)
{
    T_OK(c->models_len == 3, "3 models");
    if (c->models_len != 3)
        return;
    T_STREQ(c->models[2].alias, "claude-3-sonnet", "m2 alias");
    T_STREQ(c->models[2].provider, "claude", "m2 provider");
    T_STREQ(c->models[2].model, "claude-3-sonnet-20240229", "m2 model");
    T_OK(c->models[2].provider_index == 2 && c->models[0].provider_index == 0 && c->models[1].provider_index == 1,
         "provider_index");
    T_OK(c->models[0].input_per_mtok == 1.25 && c->models[0].output_per_mtok == 5.0, "m0 price");
    T_OK(c->models[2].input_per_mtok == 3.0 && c->models[2].output_per_mtok == 15.0, "m2 price");
    const gw_cfg_model_t *m = gw_config_model(c, "gpt-4o-mini", 6);
    T_OK(m == &c->models[1], "lookup by length prefix");
    T_OK(gw_config_model(c, "gpt-4", 5) == NULL, "no partial match");
    T_OK(gw_config_model(c, "gpt-4o\0xx", 9) == NULL, "embedded NUL");
    const gw_cfg_fallback_t *fb = gw_config_fallback(c, "gemini-1.5-pro");
    T_OK(c->fallbacks_len == 1 && fb != NULL && fb->chain_len == 2, "fallback chain");
    if (fb != NULL && fb->chain_len == 2) {
        T_STREQ(fb->chain[0], "gpt-4o", "chain 0");
        T_STREQ(fb->chain[1], "claude-3-sonnet", "chain 1");
    }
    T_OK(gw_config_fallback(c, "gpt-4o") == NULL, "no fallback for gpt-4o");
}

static void check_full_rest(const gw_config_t *c)
{
    const gw_cfg_tenant_t *t = gw_config_tenant(c, "acme");
    T_OK(c->tenants_len == 1 && t == &c->tenants[0], "tenant acme");
    if (t != NULL) {
        T_OK(t->keys_len == 1 && strcmp(t->keys[0], HASH_A) == 0, "tenant key");
        T_OK(t->budget_usd == 100.0 && t->admin == 0, "budget/admin");
        T_OK(t->rate.rps == 50 && t->rate.burst == 100 && t->tokens_per_min == 200000, "tenant rate");
    }
    T_OK(gw_config_tenant(c, "nobody") == NULL, "unknown tenant");
    const gw_cfg_ask_t *a = &c->ask;
    T_STREQ(a->engine, "duckdb", "engine");
    T_STREQ(a->duckdb_path, "data/catalog.duckdb", "duckdb path");
    T_STREQ(a->clickhouse_url, "http://127.0.0.1:8123", "ch url");
    T_STREQ(a->clickhouse_database, "retail", "ch db");
    T_OK(a->clickhouse_cluster == NULL, "cluster null");
    T_STREQ(a->bigquery_project, "my-proj", "bq project");
    T_STREQ(a->bigquery_dataset, "retail", "bq dataset");
    T_OK(a->bigquery_max_bytes_billed == 10000000000LL, "bq max bytes");
    T_STREQ(a->schema_cache_redis_url, "redis://127.0.0.1:6379", "schema cache redis");
    T_OK(a->schema_cache_ttl_s == 3600, "ttl");
    T_STREQ(a->planner_mode, "auto", "planner mode");
    T_STREQ(a->planner_model, "gemini-1.5-pro", "planner model");
    T_STREQ(a->formatter_mode, "template", "formatter mode");
    T_STREQ(a->formatter_model, "gemini-1.5-pro", "formatter model");
    T_OK(c->telemetry.otlp_endpoint == NULL, "otlp null");
    T_STREQ(c->telemetry.service_name, "llmgw", "service name");
    T_STREQ(c->telemetry.log, "stdout", "log");
    T_OK(c->telemetry.flush_interval_s == 10 && c->telemetry.log_prompts == 0, "flush/log_prompts");
}

static void test_full_example(void)
{
    char err[512] = "";
    setenv("GEMINI_API_KEY", "gk-123", 1);
    setenv("OPENAI_API_KEY", "sk-a ${lit}", 1);
    setenv("ANTHROPIC_API_KEY", "ak", 1);
    gw_config_t *c = gw_config_load(GW_SOURCE_DIR "/tests/data/config/full.yaml", err, sizeof err);
    T_OK(c != NULL, "full example loads: %s", err);
    if (c == NULL)
        return;
    check_full_top(c);
    check_full_providers(c);
    check_full_models(c);
    check_full_rest(c);
    gw_config_unref(c);

    unsetenv("OPENAI_API_KEY");
    c = gw_config_load(GW_SOURCE_DIR "/tests/data/config/full.yaml", err, sizeof err);
    T_OK(c == NULL, "missing env var fails");
    T_STREQ(err, GW_SOURCE_DIR "/tests/data/config/full.yaml:10: environment variable OPENAI_API_KEY is not set",
            "missing env message: %s", err);
    setenv("OPENAI_API_KEY", "sk", 1);
}

static void check_default_limits(const gw_config_t *c)
{
    const gw_cfg_limits_t *l = &c->limits;
    T_OK(l->max_body_bytes == 1048576 && l->max_header_bytes == 16384 && l->max_headers == 100, "size limits");
    T_OK(l->header_timeout_ms == 10000 && l->body_timeout_ms == 30000 && l->keepalive_timeout_ms == 60000,
         "client timeouts");
    T_OK(l->upstream_timeout_ms == 60000 && l->connect_timeout_ms == 5000 && l->first_byte_timeout_ms == 30000 &&
             l->idle_timeout_ms == 30000,
         "upstream timeouts");
    T_OK(l->retry_budget == 2 && l->drain_timeout_ms == 10000, "retry/drain");
    T_OK(l->max_upstream_body_bytes == 16u * 1024 * 1024 && l->max_connections == 20000, "upstream body/conns");
}

static void check_defaults(const gw_config_t *c)
{
    T_STREQ(c->listen, "127.0.0.1:8080", "default listen");
    T_STREQ(c->listen_host, "127.0.0.1", "default host");
    T_OK(c->listen_port == 8080 && c->workers == 0 && c->redis_url == NULL, "port/workers/redis");
    T_OK(c->redis_fail_open == 1 && c->limits.default_max_tokens == 4096 && c->limits.redis_timeout_ms == 100 &&
             c->telemetry.metrics_max_tenants == 20,
         "new defaults");
    check_default_limits(c);
    T_OK(c->per_ip.rps == 0 && c->per_ip.burst == 0, "per_ip unlimited");
    T_OK(c->providers_len == 0 && c->models_len == 0 && c->fallbacks_len == 0 && c->tenants_len == 0, "no tables");
    T_STREQ(c->ask.engine, "duckdb", "engine");
    T_STREQ(c->ask.duckdb_path, "data/catalog.duckdb", "duckdb path");
    T_STREQ(c->ask.clickhouse_url, "http://127.0.0.1:8123", "ch url");
    T_STREQ(c->ask.clickhouse_database, "retail", "ch db");
    T_OK(c->ask.clickhouse_cluster == NULL && c->ask.bigquery_project == NULL, "cluster/project null");
    T_STREQ(c->ask.bigquery_dataset, "retail", "bq dataset");
    T_OK(c->ask.bigquery_max_bytes_billed == 10000000000LL, "bq bytes");
    T_OK(c->ask.schema_cache_redis_url == NULL && c->ask.schema_cache_ttl_s == 3600, "schema cache");
    T_STREQ(c->ask.planner_mode, "auto", "planner");
    T_STREQ(c->ask.formatter_mode, "template", "formatter");
    T_OK(c->ask.planner_model == NULL && c->ask.formatter_model == NULL, "no ask models");
    T_OK(c->telemetry.otlp_endpoint == NULL && c->telemetry.flush_interval_s == 10, "telemetry");
    T_OK(c->telemetry.sample_ratio == 1.0, "sample_ratio defaults to 1");
    T_STREQ(c->telemetry.service_name, "llmgw", "service name");
    T_STREQ(c->telemetry.log, "stdout", "log");
    T_OK(c->telemetry.log_prompts == 0, "log_prompts");
}

static void test_defaults(void)
{
    char err[512] = "x";
    gw_config_t *d = gw_config_default();
    T_OK(d != NULL && d->path == NULL && d->auth_enabled == 0, "embedded default: no path, auth off");
    if (d != NULL)
        check_defaults(d);
    gw_config_unref(d);
    gw_config_t *e = parse("", err, sizeof err);
    T_OK(e != NULL && e->auth_enabled == 1 && err[0] == '\0', "empty file: defaults with auth on");
    if (e != NULL)
        check_defaults(e);
    gw_config_unref(e);
    e = parse("# nothing but a comment\nlimits:\ntenants: []\nask: {}\n", err, sizeof err);
    T_OK(e != NULL && e->tenants_len == 0 && e->limits.max_body_bytes == 1048576, "null/empty sections: %s", err);
    gw_config_unref(e);
    e = parse("rate_limit: {per_ip: {rps: 0.5}}\ntenants: [{id: a, budget_usd: 0, rate: {rps: 7}}]\n", err,
              sizeof err);
    T_OK(e != NULL && e->per_ip.burst == 1 && e->tenants[0].rate.burst == 7, "burst defaults to max(rps, 1)");
    T_OK(e != NULL && e->tenants[0].budget_usd == 0 && e->tenants[0].keys_len == 0, "budget 0 kept, no keys");
    gw_config_unref(e);
    e = parse("tenants: [{id: a}]\n", err, sizeof err);
    T_OK(e != NULL && e->tenants[0].budget_usd == -1 && e->tenants[0].rate.rps == 0 &&
             e->tenants[0].tokens_per_min == 0 && e->tenants[0].admin == 0,
         "tenant defaults");
    gw_config_unref(e);
}

static void check_extra_limits(const gw_config_t *c)
{
    const gw_cfg_limits_t *l = &c->limits;
    T_OK(l->max_body_bytes == 2097152 && l->max_header_bytes == 8192 && l->max_headers == 50, "sizes");
    T_OK(l->header_timeout_ms == 5000 && l->body_timeout_ms == 15000 && l->keepalive_timeout_ms == 30000, "client");
    T_OK(l->upstream_timeout_ms == 45000 && l->connect_timeout_ms == 2000 && l->first_byte_timeout_ms == 20000 &&
             l->idle_timeout_ms == 25000,
         "upstream");
    T_OK(l->retry_budget == 0 && l->drain_timeout_ms == 7000 && l->max_upstream_body_bytes == 8388608 &&
             l->max_connections == 1000,
         "rest");
    T_OK(l->default_max_tokens == 1024 && l->redis_timeout_ms == 250, "default_max_tokens/redis_timeout_ms");
}

static void test_extras(void)
{
    char err[512] = "";
    gw_config_t *c = gw_config_load(GW_SOURCE_DIR "/tests/data/config/extras.yaml", err, sizeof err);
    T_OK(c != NULL, "extras load: %s", err);
    if (c == NULL)
        return;
    T_STREQ(c->listen_host, "::1", "v6 listen host");
    T_OK(c->listen_port == 9090 && c->workers == 4 && c->auth_enabled == 0, "port/workers/auth");
    T_STREQ(c->redis_url, "redis://127.0.0.1:6379/1", "redis_url");
    T_OK(c->redis_fail_open == 0, "redis_policy fail_closed");
    T_OK(c->telemetry.metrics_max_tenants == 5, "metrics_max_tenants");
    T_OK(c->telemetry.sample_ratio == 0.25, "sample_ratio");
    T_STREQ(c->ask.clickhouse_user, "reader", "ch user");
    T_STREQ(c->ask.clickhouse_password, "s3cret", "ch password");
    check_extra_limits(c);
    T_STREQ(c->providers[0].host, "::1", "v6 base_url host");
    T_OK(c->providers[0].port == 8000 && c->providers[0].is_tls == 0, "v6 base_url port");
    T_STREQ(c->providers[0].base_path, "/v1", "base_path without trailing slash");
    T_STREQ(c->models[0].model, "llama", "model defaults to alias");
    T_OK(c->models[0].input_per_mtok == 0 && c->models[0].output_per_mtok == 0, "no price");
    T_OK(c->tenants_len == 2 && c->tenants[0].admin == 1 && c->tenants[0].keys_len == 2, "admin tenant");
    T_STREQ(c->tenants[0].keys[1], "blake2b:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "key 2");
    T_OK(c->tenants[0].rate.rps == 5 && c->tenants[0].rate.burst == 5, "rate");
    T_OK(c->tenants[1].budget_usd == -1, "budget null");
    T_STREQ(c->ask.engine, "clickhouse", "engine");
    T_STREQ(c->ask.clickhouse_url, "https://ch.example.com:8443", "ch url");
    T_STREQ(c->ask.clickhouse_database, "shop", "ch db");
    T_STREQ(c->ask.clickhouse_cluster, "main", "cluster");
    T_STREQ(c->ask.planner_mode, "rules", "planner");
    T_STREQ(c->ask.formatter_mode, "llm", "formatter");
    T_STREQ(c->ask.formatter_model, "llama", "formatter model");
    T_STREQ(c->telemetry.otlp_endpoint, "http://127.0.0.1:4318", "otlp");
    T_STREQ(c->telemetry.service_name, "gw-test", "service");
    T_STREQ(c->telemetry.log, "stderr", "log");
    T_OK(c->telemetry.flush_interval_s == 5 && c->telemetry.log_prompts == 1, "flush/log_prompts");
    gw_config_unref(c);
}

static void test_env(void)
{
    char err[512];
    setenv("GW_T_A", "one", 1);
    setenv("GW_T_B", "two", 1);
    setenv("GW_T_PORT", "9001", 1);
    setenv("GW_T_EMPTY", "", 1);
    gw_config_t *c = parse("listen: 127.0.0.1:${GW_T_PORT}\n"
                           "telemetry: {service_name: \"${GW_T_A}-${GW_T_B}-$${GW_T_A}-$x-$$\", log: ${GW_T_A}}\n"
                           "redis_url: ${GW_T_EMPTY}\n",
                           err, sizeof err);
    T_OK(c != NULL, "env parse: %s", err);
    if (c != NULL) {
        T_OK(c->listen_port == 9001, "env in a number-ish scalar");
        T_STREQ(c->telemetry.service_name, "one-two-${GW_T_A}-$x-$$", "several vars, $${ escape");
        T_STREQ(c->telemetry.log, "one", "whole-scalar var");
        T_OK(c->redis_url == NULL, "empty expansion of an optional string is null");
    }
    gw_config_unref(c);
    expect_err("limits:\n  retry_budget: ${GW_T_NOPE_X}\n", "t.yaml:2: environment variable GW_T_NOPE_X is not set");
    expect_err("telemetry: {log: \"a ${GW_T_A} ${GW_T_NOPE_Y}\"}\n",
               "t.yaml:1: environment variable GW_T_NOPE_Y is not set");
    expect_err("${GW_T_A}: 1\n", "t.yaml:1: unknown key '${GW_T_A}' at the top level");
    expect_err("telemetry:\n  log: ${GW_T_A\n",
               "t.yaml:2: telemetry.log: bad ${...} reference (write ${NAME}, or $${ for a literal ${)");
    expect_err("telemetry:\n  log: ${9X}\n",
               "t.yaml:2: telemetry.log: bad ${...} reference (write ${NAME}, or $${ for a literal ${)");
    expect_err("telemetry:\n  service_name: ${GW_T_EMPTY}\n",
               "t.yaml:2: telemetry.service_name: expected a non-empty string");
}

/* ${VAR} inside flow collections (system.md writes it there). */
static void test_flow_env(void)
{
    char err[512];
    setenv("GW_T_A", "one", 1);
    setenv("GW_T_B", "two", 1);
    gw_config_t *c = parse("# a comment with { and ${GW_T_A\n"
                           "telemetry: {service_name: $(GW_T_A)-${GW_T_A}, log: \"${GW_T_B}\", "
                           "otlp_endpoint: http://${GW_T_A}:4318/$${GW_T_B}}\n"
                           "tenants: [{id: ${GW_T_B}}, {id: x, rate: {rps: 1}}]\n"
                           "fallbacks: {}\n",
                           err, sizeof err);
    T_OK(c != NULL, "flow env parse: %s", err);
    if (c != NULL) {
        T_STREQ(c->telemetry.service_name, "$(GW_T_A)-one", "a literal $(X) stays");
        T_STREQ(c->telemetry.log, "two", "quoted in flow");
        T_STREQ(c->telemetry.otlp_endpoint, "http://one:4318/${GW_T_B}", "inside a URL, and $${");
        T_OK(c->tenants_len == 2 && strcmp(c->tenants[0].id, "two") == 0, "in a nested flow list");
    }
    gw_config_unref(c);
    c = parse("telemetry:\n  service_name: |\n    {x: ${GW_T_A}\n  log: ${GW_T_B}\n", err, sizeof err);
    T_OK(c != NULL && strcmp(c->telemetry.service_name, "{x: one\n") == 0 && strcmp(c->telemetry.log, "two") == 0,
         "block scalar untouched: %s", err);
    gw_config_unref(c);
    expect_err("telemetry: {log: a\n   ${GW_T_A}}\n",
               "t.yaml:1: telemetry.log: ${...} in a multi-line value inside {...} or [...]: put the value in quotes");
    expect_err("telemetry: {${GW_T_A}: 1}\n", "t.yaml:1: unknown key '${GW_T_A}' in telemetry");
    expect_err("telemetry: {log: ${GW_T_NOPE_Z}}\n", "t.yaml:1: environment variable GW_T_NOPE_Z is not set");

    char text[] = "a: {b: ${X}, c: \"${Y}\"}\nd: ${Z}\n";
    size_t *offs = NULL, n = 0;
    T_OK(gw_config_flow_env_fixup(text, strlen(text), &offs, &n) == GW_OK && n == 1 && offs[0] == 7, "one fix at 7");
    T_STREQ(text, "a: {b: $(X), c: \"${Y}\"}\nd: ${Z}\n", "only the flow plain one, same length");
    gw_free(offs);
}

static void test_unknown_keys(void)
{
    expect_err("foo: 1\n", "t.yaml:1: unknown key 'foo' at the top level");
    expect_err("listen: 127.0.0.1:1\nlimits:\n  max_body_bytes: 10\n  foo: 2\n", "t.yaml:4: unknown key 'foo' in limits");
    expect_err("limits: {max_body: 10}\n", "t.yaml:1: unknown key 'max_body' in limits");
    expect_err("rate_limit:\n  per_ip: {rps: 1, brust: 2}\n", "t.yaml:2: unknown key 'brust' in rate_limit.per_ip");
    expect_err("ask:\n  clickhouse:\n    url: http://h:1\n    shards: 3\n",
               "t.yaml:4: unknown key 'shards' in ask.clickhouse");
    expect_err("providers:\n  - {name: a, base_url: http://h}\n  - {name: b, base_url: http://h, apikey: x}\n",
               "t.yaml:3: unknown key 'apikey' in providers[1]");
    expect_err("models:\n  - {alias: a, provider: p, price: {input: 1}}\n",
               "t.yaml:2: unknown key 'input' in models[0].price");
    expect_err("tenants:\n  - id: a\n    rate: {rps: 1, tpm: 3}\n", "t.yaml:3: unknown key 'tpm' in tenants[0].rate");
    expect_err("telemetry: {log_prompt: true}\n", "t.yaml:1: unknown key 'log_prompt' in telemetry");
    expect_err("auth: {enable: true}\n", "t.yaml:1: unknown key 'enable' in auth");
    expect_err("limits: {max_body_bytes: 1, max_body_bytes: 2}\n", "t.yaml:1: YAML syntax error: duplicate key");
    expect_err("limits: [1,\n  2\n", "t.yaml:3: YAML syntax error: flow sequence without a closing bracket");
    expect_err("a: &x 1\nlimits: {max_body_bytes: *x}\n", "t.yaml:1: unknown key 'a' at the top level");
    expect_err("limits: {max_body_bytes: &x 5, max_headers: *x}\n",
               "t.yaml:1: limits.max_headers: YAML aliases are not supported");
    expect_err("- a\n- b\n", "t.yaml:1: expected a mapping of settings at the top level");
    expect_err("listen: 127.0.0.1:8080\nlimits: \xff\xfe\n", "t.yaml:2: invalid UTF-8");
    expect_err("? s:\t:", "t.yaml:1: explicit keys ('? key') are not supported"); /* crashes libfyaml 0.7.12 */
    expect_err("limits:\n  ? max_body_bytes\n  : 5\n", "t.yaml:2: explicit keys ('? key') are not supported");
    expect_err("limits: {? max_body_bytes : 5}\n", "t.yaml:1: explicit keys ('? key') are not supported");
    expect_err("telemetry: {service_name: \"caf\xc3\"}\n", "t.yaml:1: invalid UTF-8");
    char nul[] = "listen: 127.0.0.1:8080\n\nx: \0\n";
    char err[256];
    T_OK(gw_config_parse(nul, sizeof nul - 1, "t.yaml", err, sizeof err) == NULL && strcmp(err, "t.yaml:3: NUL byte in the file") == 0,
         "NUL byte: %s", err);
    gw_config_t *c = parse("telemetry: {service_name: \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}\n", err, sizeof err);
    T_OK(c != NULL && strcmp(c->telemetry.service_name, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == 0, "UTF-8 kept: %s", err);
    gw_config_unref(c);
    c = parse("telemetry: {service_name: what? why ?x}\nlimits:\n  retry_budget: 1 # ? no\n", err, sizeof err);
    T_OK(c != NULL && strcmp(c->telemetry.service_name, "what? why ?x") == 0, "a ? inside a value is fine: %s", err);
    gw_config_unref(c);
}

static void test_bad_types(void)
{
    expect_err("limits:\n  max_body_bytes: abc\n", "t.yaml:2: limits.max_body_bytes: expected a positive integer");
    expect_err("limits: {max_body_bytes: 0}\n", "t.yaml:1: limits.max_body_bytes: expected a positive integer");
    expect_err("limits: {max_body_bytes: -5}\n", "t.yaml:1: limits.max_body_bytes: expected a positive integer");
    expect_err("limits: {max_body_bytes: 1.5}\n", "t.yaml:1: limits.max_body_bytes: expected a positive integer");
    expect_err("limits: {max_body_bytes: 0x10}\n", "t.yaml:1: limits.max_body_bytes: expected a positive integer");
    expect_err("limits:\n  max_body_bytes:\n", "t.yaml:2: limits.max_body_bytes: expected a positive integer");
    expect_err("limits: {max_body_bytes: [1]}\n", "t.yaml:1: limits.max_body_bytes: expected a positive integer");
    expect_err("limits: {connect_timeout_ms: 4294967296}\n",
               "t.yaml:1: limits.connect_timeout_ms: expected a positive integer");
    expect_err("limits: {retry_budget: -1}\n", "t.yaml:1: limits.retry_budget: expected a non-negative integer");
    expect_err("telemetry: {sample_ratio: 1.5}\n", "t.yaml:1: telemetry.sample_ratio: expected a number from 0 to 1");
    expect_err("telemetry: {sample_ratio: -0.1}\n", "t.yaml:1: telemetry.sample_ratio: expected a number from 0 to 1");
    expect_err("telemetry: {sample_ratio: half}\n", "t.yaml:1: telemetry.sample_ratio: expected a number from 0 to 1");
    expect_err("workers: 5000\n", "t.yaml:1: workers: expected an integer from 0 to 1024");
    expect_err("auth: {enabled: maybe}\n", "t.yaml:1: auth.enabled: expected true or false");
    expect_err("auth: true\n", "t.yaml:1: auth: expected a mapping");
    expect_err("rate_limit: {per_ip: {rps: -1}}\n", "t.yaml:1: rate_limit.per_ip.rps: expected a number >= 0");
    expect_err("rate_limit: {per_ip: {rps: nan}}\n", "t.yaml:1: rate_limit.per_ip.rps: expected a number >= 0");
    expect_err("tenants: [{id: a, budget_usd: lots}]\n",
               "t.yaml:1: tenants[0].budget_usd: expected a number >= 0 (or null for no budget)");
    expect_err("providers: {name: a}\n", "t.yaml:1: providers: expected a list");
    expect_err("providers:\n  - gemini\n", "t.yaml:2: providers[0]: expected a mapping");
    expect_err("providers: [{name: a, kind: cohere, base_url: http://h}]\n",
               "t.yaml:1: providers[0].kind: expected one of openai, anthropic, gemini");
    expect_err("ask: {engine: sqlite}\n", "t.yaml:1: ask.engine: expected one of duckdb, clickhouse, bigquery, none");
    expect_err("ask: {planner: {mode: smart}}\n", "t.yaml:1: ask.planner.mode: expected one of auto, llm, rules");
    expect_err("ask: {bigquery: {max_bytes_billed: 0}}\n",
               "t.yaml:1: ask.bigquery.max_bytes_billed: expected a positive integer");
    expect_err("ask: {schema_cache: {redis_url: http://x}}\n",
               "t.yaml:1: ask.schema_cache.redis_url: expected a redis://, rediss:// or unix:// URL (or null)");
    /* a URL the Redis client cannot read is a config error, never echoing the URL (it may hold a password) */
    expect_err_has("redis_url: \"rediss://:s3cret-pw@h:6380\"\n", "t.yaml:1: redis_url: rediss:// (TLS) is not supported");
    expect_err_has("ask: {schema_cache: {redis_url: \"redis://:s3cret-pw@h:99999\"}}\n",
                   "t.yaml:1: ask.schema_cache.redis_url: bad Redis URL");
    expect_err_has("redis_url: \"unix://\"\n", "t.yaml:1: redis_url: bad Redis URL");
    {
        char err[1024];
        gw_config_t *c = parse("redis_url: \"rediss://:s3cret-pw@h:6380\"\n", err, sizeof err);
        T_OK(c == NULL && strstr(err, "s3cret") == NULL, "the refusal does not quote the password: %s", err);
        gw_config_unref(c);
        c = parse("redis_url: \"unix:///run/redis.sock?db=2\"\n", err, sizeof err);
        T_OK(c != NULL && strcmp(c->redis_url, "unix:///run/redis.sock?db=2") == 0, "a unix:// URL is kept: %s",
             c ? "" : err);
        gw_config_unref(c);
    }
    expect_err_has("auth: {enabled: false}\ntelemetry: {metrics_auth: true}\n",
                   "t.yaml:2: telemetry.metrics_auth needs auth: {enabled: true}");
    expect_err("telemetry: {metrics_auth: sure}\n", "t.yaml:1: telemetry.metrics_auth: expected true or false");
    expect_err("telemetry: {flush_interval_s: 0}\n", "t.yaml:1: telemetry.flush_interval_s: expected a positive integer");
    expect_err("telemetry: {service_name: null}\n", "t.yaml:1: telemetry.service_name: expected a string");
    expect_err("tenants: [{id: a, keys: blake2b:00}]\n", "t.yaml:1: tenants[0].keys: expected a list of strings");
    expect_err("fallbacks: [a]\n", "t.yaml:1: fallbacks: expected a mapping of model alias to a list of aliases");
    expect_err("listen: 8080\n",
               "t.yaml:1: listen: expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080 (port 1-65535)");
    expect_err("listen: \"127.0.0.1:70000\"\n",
               "t.yaml:1: listen: expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080 (port 1-65535)");
    expect_err("listen: \"::1:8080\"\n",
               "t.yaml:1: listen: expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080 (port 1-65535)");
}

static void test_urls(void)
{
    expect_err("providers: [{name: a, base_url: ftp://h}]\n",
               "t.yaml:1: providers[0].base_url: expected an http:// or https:// URL");
    expect_err("providers: [{name: a, base_url: \"https://u:p@h\"}]\n",
               "t.yaml:1: providers[0].base_url: user:password@ in a URL is not supported (use api_key)");
    expect_err("providers: [{name: a, base_url: \"http://h:0\"}]\n", "t.yaml:1: providers[0].base_url: bad port (1-65535)");
    expect_err("providers: [{name: a, base_url: \"http://h:\"}]\n", "t.yaml:1: providers[0].base_url: bad port (1-65535)");
    expect_err("providers: [{name: a, base_url: \"http://h/v1?x=1\"}]\n",
               "t.yaml:1: providers[0].base_url: a query string or fragment is not allowed here");
    expect_err("providers: [{name: a, base_url: \"http://::1:80\"}]\n",
               "t.yaml:1: providers[0].base_url: IPv6 addresses must be written in [brackets]");
    expect_err("providers: [{name: a, base_url: \"http://[zz]:80\"}]\n",
               "t.yaml:1: providers[0].base_url: bad [IPv6] address");
    expect_err("providers: [{name: a, base_url: \"http:///v1\"}]\n", "t.yaml:1: providers[0].base_url: missing host");
    expect_err("ask: {clickhouse: {url: \"clickhouse://h\"}}\n",
               "t.yaml:1: ask.clickhouse.url: expected an http:// or https:// URL");
    expect_err("telemetry: {otlp_endpoint: \"grpc://h\"}\n",
               "t.yaml:1: telemetry.otlp_endpoint: expected an http:// or https:// URL");

    gw__cfg_url_t u;
    const char *why = NULL;
    T_OK(gw__cfg_parse_url("HTTPS://Example.com:8443/a/b//", &u, &why) == GW_OK, "url parse");
    T_OK(u.is_tls == 1 && u.port == 8443 && strcmp(u.host, "Example.com") == 0 && strcmp(u.path, "/a/b") == 0,
         "url fields");
    gw_free(u.host);
    gw_free(u.path);
    T_OK(gw__cfg_parse_url("http://[::1]/", &u, &why) == GW_OK && u.port == 80 && strcmp(u.host, "::1") == 0 &&
             u.path[0] == '\0',
         "v6 default port, root path");
    gw_free(u.host);
    gw_free(u.path);
}

static void test_references(void)
{
    static const char base[] = "providers:\n  - {name: p, base_url: http://h}\n";
    char y[1024];
    snprintf(y, sizeof y, "%smodels:\n  - {alias: a, provider: p}\n  - {alias: b, provider: q}\n", base);
    expect_err(y, "t.yaml:5: models[1].provider: unknown provider 'q' (not in providers)");
    snprintf(y, sizeof y, "%smodels: [{alias: a, provider: p}]\nfallbacks:\n  a: [a]\n", base);
    expect_err(y, "t.yaml:5: fallbacks.a: the chain names 'a' itself (a fallback cycle)");
    snprintf(y, sizeof y, "%smodels: [{alias: a, provider: p}, {alias: b, provider: p}]\nfallbacks:\n  a: [b, zz]\n", base);
    expect_err(y, "t.yaml:5: fallbacks.a: unknown model alias 'zz' (not in models)");
    snprintf(y, sizeof y, "%smodels: [{alias: a, provider: p}]\nfallbacks:\n  nope: [a]\n", base);
    expect_err(y, "t.yaml:5: fallbacks: 'nope' is not a model alias (not in models)");
    snprintf(y, sizeof y, "%smodels: [{alias: a, provider: p}, {alias: b, provider: p}]\nfallbacks: {a: [b, b]}\n",
             base);
    expect_err(y, "t.yaml:4: fallbacks.a: 'b' is listed twice");
    snprintf(y, sizeof y, "%smodels: [{alias: a, provider: p}, {alias: a, provider: p}]\n", base);
    expect_err(y, "t.yaml:3: models[1]: duplicate model alias 'a'");
    expect_err("providers:\n  - {name: p, base_url: http://h}\n  - {name: p, base_url: http://h}\n",
               "t.yaml:3: providers[1]: duplicate provider name 'p'");
    expect_err("tenants:\n  - {id: t}\n  - {id: t}\n", "t.yaml:3: tenants[1]: duplicate tenant id 't'");
    expect_err("providers:\n  - {name: p}\n", "t.yaml:2: providers[0]: missing required key 'base_url'");
    expect_err("models:\n  - {alias: a}\n", "t.yaml:2: models[0]: missing required key 'provider'");
    expect_err("tenants:\n  - {keys: []}\n", "t.yaml:2: tenants[0]: missing required key 'id'");
    expect_err("tenants:\n  - id: acme\n    keys: [\"sk-plain\"]\n",
               "t.yaml:3: tenants[0].keys[0]: key of tenant 'acme' must look like blake2b:<64 hex digits> "
               "(make one with: llmgw keys create --tenant acme)");
    expect_err_has("tenants: [{keys: [\"blake2b:0123456789abcdef\"], id: up}]\n", "key of tenant 'up' must look like");
    expect_err("tenants: [{id: a, keys: [\"" HASH_A "\", \"blake2b:0123456789ABCDEF0123456789abcdef0123456789abcdef"
               "0123456789abcdef\"]}]\n",
               "t.yaml:1: tenants[0].keys[1]: this key hash is already listed for tenant 'a'");
    expect_err("tenants:\n  - {id: a, keys: [\"" HASH_A "\"]}\n  - {id: b, keys: [\"" HASH_B "\", \"" HASH_A "\"]}\n",
               "t.yaml:3: tenants[1].keys[1]: this key hash is already listed for tenant 'a'");
    expect_err("tenants:\n  - {id: a, keys: [\"" HASH_B "\"]}\n  - {id: b, keys: [\"" HASH_A "\"]}\n"
               "  - {id: c, keys: [\"" HASH_A "\", \"" HASH_B "\"]}\n",
               "t.yaml:4: tenants[2].keys[0]: this key hash is already listed for tenant 'b'");
    expect_err("tenants:\n  - {id: a, keys: [\"" HASH_B "\", \"" HASH_B "\"]}\n",
               "t.yaml:2: tenants[0].keys[1]: this key hash is already listed for tenant 'a'");
    expect_err("ask: {planner: {model: ghost}}\n", "t.yaml:1: ask.planner.model: unknown model alias 'ghost'");
    expect_err("ask:\n  formatter:\n    model: ghost\n", "t.yaml:3: ask.formatter.model: unknown model alias 'ghost'");
    expect_err("ask:\n  engine: bigquery\n", "t.yaml:2: ask.engine is bigquery but ask.bigquery.project is not set");
}

static void test_protected_mode(void)
{
    char err[1024];
    expect_err("listen: 0.0.0.0:8080\nauth: {enabled: false}\n",
               "t.yaml:2: refusing to listen on 0.0.0.0:8080 with auth disabled: anyone who can reach that address "
               "could use your provider keys. Either set auth: {enabled: true} and create keys with 'llmgw keys "
               "create --tenant NAME', or listen on 127.0.0.1 (or [::1]) for local use");
    expect_err_has("listen: \"[::]:8080\"\nauth:\n  enabled: false\n", "t.yaml:3: refusing to listen on [::]:8080");
    expect_err_has("listen: gw.example.com:80\nauth: {enabled: false}\n", "with auth disabled");
    static const char *const ok[] = {
        "listen: 127.0.0.2:8080\nauth: {enabled: false}\n", "listen: \"[::1]:8080\"\nauth: {enabled: false}\n",
        "listen: localhost:8080\nauth: {enabled: false}\n", "auth: {enabled: false}\n",
        "listen: 0.0.0.0:8080\n", /* auth on by default with a file, no tenants: every request 401 */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        gw_config_t *c = parse(ok[i], err, sizeof err);
        T_OK(c != NULL, "allowed: %s (%s)", ok[i], err);
        gw_config_unref(c);
    }
    gw_config_t *c = parse("listen: \"[::1]:8080\"\n", err, sizeof err);
    T_OK(c != NULL && strcmp(c->listen_host, "::1") == 0 && c->listen_port == 8080, "IPv6 listen");
    T_OK(c != NULL && strcmp(c->listen, "[::1]:8080") == 0, "listen kept as written");
    gw_config_unref(c);
    T_OK(gw__cfg_is_loopback("::ffff:127.0.0.1") && !gw__cfg_is_loopback("::") && !gw__cfg_is_loopback("10.0.0.1"),
         "loopback test");
}

static void test_refcount_and_load_errors(void)
{
    char err[512];
    gw_config_t *c = gw_config_default();
    T_OK(c != NULL && atomic_load(&c->refcnt) == 1, "refcnt 1");
    T_OK(gw_config_ref(c) == c && atomic_load(&c->refcnt) == 2, "ref -> 2");
    gw_config_unref(c);
    T_OK(atomic_load(&c->refcnt) == 1 && strcmp(c->listen, "127.0.0.1:8080") == 0, "still alive after one unref");
    gw_config_unref(c); /* freed: ASan reports a leak or a double free otherwise */
    gw_config_unref(NULL);
    T_OK(gw_config_ref(NULL) == NULL, "ref NULL");
    c = gw_config_load("/nonexistent/llmgw.yaml", err, sizeof err);
    T_OK(c == NULL, "missing file");
    T_STREQ(err, "/nonexistent/llmgw.yaml: cannot open: No such file or directory", "missing file message: %s", err);
    T_OK(gw_config_load("/nonexistent/llmgw.yaml", NULL, 0) == NULL, "NULL err buffer");
    c = parse("limits: {max_body_bytes: x}\n", err, 16);
    T_OK(c == NULL && strlen(err) == 15, "message truncated to the buffer");
}

/* Every allocation failure point fails cleanly (ASan checks for leaks). */
static void test_alloc_failures(void)
{
    char text[4096], err[512];
    FILE *f = fopen(GW_SOURCE_DIR "/tests/data/config/full.yaml", "r");
    size_t n = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    text[n] = '\0';
    int failures = 0, succeeded = 0;
    for (long k = 0; k < 2000 && !succeeded; k++) {
        gw_alloc_fail_after(k);
        gw_config_t *c = gw_config_parse(text, n, "full.yaml", err, sizeof err);
        gw_alloc_fail_after(-1);
        if (c == NULL) {
            failures += strstr(err, "out of memory") != NULL;
        } else {
            succeeded = c->models_len == 3 && c->tenants_len == 1;
            gw_config_unref(c);
        }
    }
    T_OK(succeeded && failures > 50, "OOM at every step fails cleanly, then succeeds (%d OOM runs)", failures);
}

int main(void)
{
    test_full_example();
    test_defaults();
    test_extras();
    test_env();
    test_flow_env();
    test_unknown_keys();
    test_bad_types();
    test_urls();
    test_references();
    test_protected_mode();
    test_refcount_and_load_errors();
    test_alloc_failures();
    return t_done("test_config");
}

/* config.h - llmgw's YAML configuration (system.md 4) as a plain struct.
 *
 * gw_config_load parses a file with libfyaml, expands ${VAR} from the
 * environment (a missing variable is an error naming it), rejects unknown
 * keys (naming the key and its line), checks references (a model's
 * provider, a fallback's aliases) and fills defaults. gw_config_default
 * gives the embedded default (no file). The result is immutable once
 * loaded; the server shares it between workers with a reference count
 * (gw_config_ref / gw_config_unref) so SIGHUP can swap it atomically.
 *
 * Defaults (a key left out of the file keeps these):
 *   listen                  127.0.0.1:8080     workers          0 (= cores)
 *   auth.enabled            true with a file; false in gw_config_default()
 *   redis_url               null (in-process limits and budgets)
 *   limits.max_body_bytes   1048576            max_header_bytes 16384
 *   limits.max_headers      100                header_timeout_ms 10000
 *   limits.body_timeout_ms  30000              keepalive_timeout_ms 60000
 *   limits.upstream_timeout_ms 60000           connect_timeout_ms 5000
 *   limits.first_byte_timeout_ms 30000         idle_timeout_ms 30000
 *   limits.retry_budget     2                  drain_timeout_ms 10000
 *   limits.max_upstream_body_bytes 16777216    max_connections 20000
 *   limits.default_max_tokens 4096             redis_timeout_ms 100
 *   redis_policy            fail_open (fail_closed: refuse with 503 when Redis is down)
 *   rate_limit.per_ip       rps 0 (unlimited), burst 0 (= max(rps, 1) when rps > 0)
 *   providers[].kind        openai             api_key null
 *   models[].model          the alias          price 0 / 0
 *   tenants[].budget_usd    -1 (no budget; null also means none)
 *   tenants[].rate          rps 0 (unlimited), burst as per_ip, tokens_per_min 0 (unlimited)
 *   tenants[].admin         false              keys []
 *   ask.engine duckdb, ask.duckdb.path data/catalog.duckdb,
 *   ask.clickhouse url http://127.0.0.1:8123, database retail, cluster null,
 *     user null, password null,
 *   ask.bigquery project null (required with engine bigquery), dataset retail,
 *     max_bytes_billed 10000000000,
 *   ask.schema_cache redis_url null, ttl_s 3600,
 *   ask.planner mode auto, model null; ask.formatter mode template, model null,
 *   telemetry otlp_endpoint null, service_name llmgw, log stdout,
 *     flush_interval_s 10, log_prompts false, metrics_max_tenants 20,
 *     metrics_auth false.
 * Strings that name a URL are checked (http(s) for base_url, clickhouse.url,
 * otlp_endpoint; redis://, rediss:// or unix:// for the redis URLs). A
 * plain null, ~ or empty value, or a ${VAR} that expands to "", means "not
 * set" for the optional strings.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "provider.h"

typedef struct gw_cfg_provider {
    char *name;
    gw_prov_kind_t kind;
    char *base_url; /* as written, e.g. https://api.openai.com */
    char *api_key;  /* NULL when none; never logged */
    /* parsed from base_url */
    int is_tls;
    char *host;
    uint16_t port;
    char *base_path; /* "" or "/v1beta" ..., no trailing slash */
} gw_cfg_provider_t;

typedef struct gw_cfg_model {
    char *alias;
    char *provider; /* name of a gw_cfg_provider */
    size_t provider_index;
    char *model;    /* upstream model name */
    double input_per_mtok;  /* USD per million prompt tokens */
    double output_per_mtok; /* USD per million completion tokens */
} gw_cfg_model_t;

typedef struct gw_cfg_fallback {
    char *alias;       /* the model asked for */
    char **chain;      /* aliases tried after it, in order */
    size_t chain_len;
} gw_cfg_fallback_t;

typedef struct gw_cfg_bucket {
    double rps;   /* refill per second; 0 = unlimited */
    double burst; /* capacity */
} gw_cfg_bucket_t;

typedef struct gw_cfg_tenant {
    char *id;
    char **keys; /* stored key hashes: "blake2b:<hex>" */
    size_t keys_len;
    int admin;
    double budget_usd; /* < 0: no budget */
    gw_cfg_bucket_t rate;
    int64_t tokens_per_min; /* 0 = unlimited */
} gw_cfg_tenant_t;

typedef struct gw_cfg_limits {
    size_t max_body_bytes;       /* 413 above */
    size_t max_header_bytes;     /* 431 above (request line + headers) */
    size_t max_headers;          /* 431 above */
    uint32_t header_timeout_ms;  /* 408 when headers take longer */
    uint32_t body_timeout_ms;    /* 408 when the body stalls this long */
    uint32_t keepalive_timeout_ms;
    uint32_t upstream_timeout_ms;    /* whole failover chain deadline */
    uint32_t connect_timeout_ms;     /* per attempt */
    uint32_t first_byte_timeout_ms;  /* per attempt, until response head */
    uint32_t idle_timeout_ms;        /* per attempt, between body chunks */
    uint32_t retry_budget;           /* extra attempts after the first */
    uint32_t drain_timeout_ms;       /* SIGTERM: in-flight deadline */
    size_t max_upstream_body_bytes;  /* non-stream upstream answers */
    uint32_t max_connections;        /* per process */
    uint32_t default_max_tokens;     /* budget reservation when a request names no max_tokens */
    uint32_t redis_timeout_ms;       /* per Redis command (shared limits, schema cache) */
} gw_cfg_limits_t;

typedef struct gw_cfg_ask {
    char *engine; /* duckdb | clickhouse | bigquery */
    char *duckdb_path;
    char *clickhouse_url;
    char *clickhouse_database;
    char *clickhouse_cluster; /* NULL: single node */
    char *clickhouse_user;     /* NULL: the URL's or "default" */
    char *clickhouse_password; /* NULL: none; never logged */
    char *bigquery_project;
    char *bigquery_dataset;
    int64_t bigquery_max_bytes_billed;
    char *schema_cache_redis_url; /* NULL: in-process only */
    uint32_t schema_cache_ttl_s;
    char *planner_mode; /* auto | llm | rules */
    char *planner_model;
    char *formatter_mode; /* template | llm */
    char *formatter_model;
} gw_cfg_ask_t;

typedef struct gw_cfg_telemetry {
    char *otlp_endpoint; /* NULL: off */
    char *service_name;
    char *log;           /* stdout | stderr | a file path */
    uint32_t flush_interval_s;
    int log_prompts;
    uint32_t metrics_max_tenants; /* tenant label: K values (sticky, top spenders first), the rest "other" */
    int metrics_auth;             /* GET /metrics needs an admin key (auth.enabled required) */
    double sample_ratio;          /* share of new traces (no client traceparent) exported, 0..1 */
} gw_cfg_telemetry_t;

typedef struct gw_config {
    atomic_int refcnt;
    char *path;      /* file it came from; NULL for the embedded default */
    char *listen;    /* "host:port" as written */
    char *listen_host;
    uint16_t listen_port;
    uint32_t workers; /* 0 = number of cores */
    int auth_enabled;
    char *redis_url; /* shared limits/budgets; NULL = in-process */
    int redis_fail_open; /* redis_policy: fail_open (1, default) | fail_closed (0) */
    gw_cfg_limits_t limits;
    gw_cfg_bucket_t per_ip;
    gw_cfg_provider_t *providers;
    size_t providers_len;
    gw_cfg_model_t *models;
    size_t models_len;
    gw_cfg_fallback_t *fallbacks;
    size_t fallbacks_len;
    gw_cfg_tenant_t *tenants;
    size_t tenants_len;
    gw_cfg_ask_t ask;
    gw_cfg_telemetry_t telemetry;
} gw_config_t;

/* Loads and validates path. Returns a new config holding one reference
 * (release with gw_config_unref). On error returns NULL and writes a
 * one-line reason ("file:line: unknown key 'foo' in limits") into err (err
 * may be NULL). Values: integers are plain decimals, booleans true/false,
 * the file must be UTF-8 without NUL bytes. */
gw_config_t *gw_config_load(const char *path, char *err, size_t errlen);
/* Same, from a string (tests, fuzzing); name is used in messages. */
gw_config_t *gw_config_parse(const char *yaml, size_t len, const char *name, char *err, size_t errlen);
/* The embedded default: 127.0.0.1:8080, auth off, no providers. A new
 * config with one reference; NULL only on OOM. */
gw_config_t *gw_config_default(void);
/* Reference counting (atomic, any thread); the last unref frees, wiping
 * api keys and redis URLs first. Both accept NULL. */
gw_config_t *gw_config_ref(gw_config_t *c);
void gw_config_unref(gw_config_t *c);

/* system.md 4 writes ${VAR} inside flow maps ({api_key: ${KEY}}), where
 * YAML itself reads { and } as flow indicators. This rewrites each such
 * ${NAME} of text in place, at the same length, to $(NAME), so libfyaml
 * accepts the text with every offset and line unchanged. *offs (new array,
 * caller frees; offs may be NULL) receives the offsets of the rewritten
 * '$'s in ascending order; gw_config_parse turns exactly those back into
 * ${NAME} before expanding. GW_ENOMEM is the only error. */
gw_err_t gw_config_flow_env_fixup(char *text, size_t len, size_t **offs, size_t *n);

/* Expands ${VAR} (and $${ to a literal ${) in s[0..len) as the loader
 * does, into a new NUL-terminated string *out (caller frees). GW_ENOTFOUND
 * when a variable is unset (its name is copied into name), GW_EINVAL for a
 * malformed reference, GW_ENOMEM. */
gw_err_t gw_config_expand_env(const char *s, size_t len, char **out, char *name, size_t namecap);

/* Lookups (NULL when absent). */
/* Fills the address fields of p (base_url copied, is_tls, host, port,
 * base_path) from an http(s) URL, as a provider's base_url is read; the
 * other fields are zeroed. Release with gw_cfg_endpoint_free. GW_EINVAL
 * with *why on a bad URL, GW_ENOMEM. */
gw_err_t gw_cfg_endpoint_parse(const char *url, gw_cfg_provider_t *p, const char **why);
void gw_cfg_endpoint_free(gw_cfg_provider_t *p);

const gw_cfg_model_t *gw_config_model(const gw_config_t *c, const char *alias, size_t alias_len);
const gw_cfg_fallback_t *gw_config_fallback(const gw_config_t *c, const char *alias);
/* The tenant with this id (NULL when absent); borrowed from c. */
const gw_cfg_tenant_t *gw_config_tenant(const gw_config_t *c, const char *id);

#endif

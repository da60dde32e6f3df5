/* config.c - life cycle of a gw_config_t: defaults, loading a file or a
 * string through libfyaml, reference counting, freeing and lookups.
 *
 * The walk over the document lives in config_walk.c, the cross-reference
 * and protected-mode checks in config_check.c (config_int.h ties them).
 */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "config_int.h"

#define CONFIG_MAX_FILE_BYTES (4u << 20)

gw_err_t gw__cfg_fail(gw__cfg_ctx_t *x, int line, const char *fmt, ...)
{
    if (x->failed || x->err == NULL || x->errlen == 0) {
        x->failed = 1;
        return GW_ECONFIG;
    }
    x->failed = 1;
    int n = line > 0 ? snprintf(x->err, x->errlen, "%s:%d: ", x->name, line)
                     : snprintf(x->err, x->errlen, "%s: ", x->name);
    if (n >= 0 && (size_t)n < x->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return GW_ECONFIG;
}

const char *gw__cfg_safe(const char *s, size_t n, char out[64])
{
    size_t j = 0;
    for (size_t i = 0; i < n && j < 60; i++)
        out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (j == 60 && n > 60)
        out[j - 1] = '~';
    out[j] = '\0';
    return out;
}

int gw__cfg_line(struct fy_node *n, int fallback)
{
    if (n == NULL)
        return fallback;
    if (fy_node_is_scalar(n)) {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *m = t != NULL ? fy_token_start_mark(t) : NULL;
        return m != NULL && m->line >= 0 ? m->line + 1 : fallback;
    }
    if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p = fy_node_mapping_get_by_index(n, 0);
        return p != NULL ? gw__cfg_line(fy_node_pair_key(p), fallback) : fallback;
    }
    if (fy_node_is_sequence(n))
        return gw__cfg_line(fy_node_sequence_get_by_index(n, 0), fallback);
    return fallback;
}

struct fy_node_pair *gw__cfg_map_pair(struct fy_node *map, const char *key)
{
    void *it = NULL;
    struct fy_node_pair *p;
    size_t kl = strlen(key), l = 0;
    if (map == NULL || !fy_node_is_mapping(map))
        return NULL;
    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        const char *t = k != NULL && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &l) : NULL;
        if (t != NULL && l == kl && memcmp(t, key, kl) == 0)
            return p;
    }
    return NULL;
}

/* Index of the first fix offset >= pos. */
static size_t first_fix(const gw__cfg_ctx_t *x, size_t pos)
{
    size_t lo = 0, hi = x->nfix;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->fix[mid] < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *gw__cfg_scalar(gw__cfg_ctx_t *x, struct fy_node *n, int line, size_t *len, char **owned)
{
    *owned = NULL;
    const char *t = fy_node_get_scalar(n, len);
    if (t == NULL) {
        *len = 0;
        return "";
    }
    struct fy_token *tok = fy_node_get_scalar_token(n);
    const struct fy_mark *s = tok != NULL ? fy_token_start_mark(tok) : NULL;
    const struct fy_mark *e = tok != NULL ? fy_token_end_mark(tok) : NULL;
    if (x->nfix == 0 || s == NULL || e == NULL || fy_node_get_style(n) != FYNS_PLAIN)
        return t;
    size_t k = first_fix(x, s->input_pos);
    if (k == x->nfix || x->fix[k] >= e->input_pos)
        return t;
    if (e->input_pos - s->input_pos != *len || memcmp(x->text + s->input_pos, t, *len) != 0) {
        gw__cfg_fail(x, line, "%s: ${...} in a multi-line value inside {...} or [...]: put the value in quotes",
                     x->path_len ? x->path : "value");
        return NULL;
    }
    char *copy = gw_strndup(t, *len);
    if (copy == NULL) {
        gw__cfg_fail(x, 0, "out of memory");
        return NULL;
    }
    for (; k < x->nfix && x->fix[k] < e->input_pos; k++) {
        size_t o = x->fix[k] - s->input_pos;
        char *close = memchr(copy + o, ')', *len - o);
        copy[o + 1] = '{';
        if (close != NULL)
            *close = '}';
    }
    *owned = copy;
    return copy;
}

/* Replaces *slot with a copy of s; 0 on OOM. */
static int set_str(char **slot, const char *s)
{
    char *d = gw_strdup(s);
    if (d == NULL)
        return 0;
    gw_free(*slot);
    *slot = d;
    return 1;
}

static void limits_defaults(gw_cfg_limits_t *l)
{
    l->max_body_bytes = 1048576;
    l->max_header_bytes = 16384;
    l->max_headers = 100;
    l->header_timeout_ms = 10000;
    l->body_timeout_ms = 30000;
    l->keepalive_timeout_ms = 60000;
    l->upstream_timeout_ms = 60000;
    l->connect_timeout_ms = 5000;
    l->first_byte_timeout_ms = 30000;
    l->idle_timeout_ms = 30000;
    l->retry_budget = 2;
    l->drain_timeout_ms = 10000;
    l->max_upstream_body_bytes = 16u << 20;
    l->max_connections = 20000;
    l->default_max_tokens = 4096;
    l->redis_timeout_ms = 100;
}

gw_err_t gw__cfg_set_defaults(gw_config_t *c)
{
    limits_defaults(&c->limits);
    c->workers = 0;
    c->per_ip.rps = 0;
    c->per_ip.burst = 0;
    c->ask.bigquery_max_bytes_billed = 10000000000LL;
    c->ask.schema_cache_ttl_s = 3600;
    c->telemetry.flush_interval_s = 10;
    c->telemetry.log_prompts = 0;
    c->telemetry.metrics_max_tenants = 20;
    c->telemetry.metrics_auth = 0;
    c->telemetry.sample_ratio = 1.0;
    c->redis_fail_open = 1;
    c->listen_port = 8080;
    int ok = set_str(&c->listen, "127.0.0.1:8080") && set_str(&c->listen_host, "127.0.0.1") &&
             set_str(&c->ask.engine, "duckdb") && set_str(&c->ask.duckdb_path, "data/catalog.duckdb") &&
             set_str(&c->ask.clickhouse_url, "http://127.0.0.1:8123") &&
             set_str(&c->ask.clickhouse_database, "retail") && set_str(&c->ask.bigquery_dataset, "retail") &&
             set_str(&c->ask.planner_mode, "auto") && set_str(&c->ask.formatter_mode, "template") &&
             set_str(&c->telemetry.service_name, "llmgw") && set_str(&c->telemetry.log, "stdout");
    return ok ? GW_OK : GW_ENOMEM;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gw_free(v[i]);
    gw_free(v);
}

void gw__cfg_free_secret(char *s)
{
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        gw_free(s);
    }
}

static void free_providers(gw_config_t *c)
{
    for (size_t i = 0; i < c->providers_len; i++) {
        gw_cfg_provider_t *p = &c->providers[i];
        gw_free(p->name);
        gw_free(p->base_url);
        gw__cfg_free_secret(p->api_key);
        gw_free(p->host);
        gw_free(p->base_path);
    }
    gw_free(c->providers);
}

static void free_tables(gw_config_t *c)
{
    free_providers(c);
    for (size_t i = 0; i < c->models_len; i++) {
        gw_free(c->models[i].alias);
        gw_free(c->models[i].provider);
        gw_free(c->models[i].model);
    }
    gw_free(c->models);
    for (size_t i = 0; i < c->fallbacks_len; i++) {
        gw_free(c->fallbacks[i].alias);
        free_strv(c->fallbacks[i].chain, c->fallbacks[i].chain_len);
    }
    gw_free(c->fallbacks);
    for (size_t i = 0; i < c->tenants_len; i++) {
        gw_free(c->tenants[i].id);
        free_strv(c->tenants[i].keys, c->tenants[i].keys_len);
    }
    gw_free(c->tenants);
}

static void free_ask(gw_cfg_ask_t *a)
{
    char *s[] = {a->engine,           a->duckdb_path,      a->clickhouse_url,         a->clickhouse_database,
                 a->clickhouse_cluster, a->bigquery_project, a->bigquery_dataset,       a->planner_mode,
                 a->planner_model,    a->formatter_mode,   a->formatter_model};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        gw_free(s[i]);
    gw__cfg_free_secret(a->schema_cache_redis_url); /* may carry a password */
    gw_free(a->clickhouse_user);
    gw__cfg_free_secret(a->clickhouse_password);
}

static void config_free(gw_config_t *c)
{
    gw_free(c->path);
    gw_free(c->listen);
    gw_free(c->listen_host);
    gw__cfg_free_secret(c->redis_url);
    free_tables(c);
    free_ask(&c->ask);
    gw_free(c->telemetry.otlp_endpoint);
    gw_free(c->telemetry.service_name);
    gw_free(c->telemetry.log);
    gw_free(c);
}

/* A zeroed config with one reference and the defaults. */
static gw_config_t *config_new(void)
{
    gw_config_t *c = gw_calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    atomic_init(&c->refcnt, 1);
    if (gw__cfg_set_defaults(c) != GW_OK) {
        config_free(c);
        return NULL;
    }
    return c;
}

gw_config_t *gw_config_default(void) { return config_new(); }

gw_config_t *gw_config_ref(gw_config_t *c)
{
    if (c != NULL)
        atomic_fetch_add_explicit(&c->refcnt, 1, memory_order_relaxed);
    return c;
}

void gw_config_unref(gw_config_t *c)
{
    if (c != NULL && atomic_fetch_sub_explicit(&c->refcnt, 1, memory_order_acq_rel) == 1)
        config_free(c);
}

/* Builds the document, turning a libfyaml error into "name:line: msg".
 * A text with no document at all (empty, only comments) gives *doc NULL. */
static gw_err_t build_doc(gw__cfg_ctx_t *x, const char *yaml, size_t len, struct fy_document **doc)
{
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = NULL;
    struct fy_diag *diag = fy_diag_create(&dc);
    if (diag == NULL)
        return gw__cfg_fail(x, 0, "out of memory");
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DISABLE_RECYCLING, .diag = diag};
    gw_err_t rc = GW_OK;
    *doc = len > 0 ? fy_document_build_from_string(&cfg, yaml, len) : NULL;
    if (*doc == NULL) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e != NULL)
            rc = gw__cfg_fail(x, e->line, "YAML syntax error: %s", e->msg != NULL ? e->msg : "invalid document");
        else if (fy_diag_got_error(diag))
            rc = gw__cfg_fail(x, 0, "YAML syntax error");
    }
    fy_diag_destroy(diag);
    return rc;
}

/* Offset of the first byte that is not valid UTF-8 (or is NUL), len if
 * none. libfyaml silently stops at some invalid bytes, so we check first. */
static size_t bad_utf8(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t need = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : 3;
        if (c == 0 || (c >= 0x80 && c < 0xC2) || c > 0xF4 || (need > 0 && i + need >= len))
            return i;
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        for (size_t k = 1; k <= need; k++)
            if (s[i + k] < (k == 1 ? lo : 0x80) || s[i + k] > (k == 1 ? hi : 0xBF))
                return i;
        i += need + 1;
    }
    return len;
}

static int line_at(const char *s, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++)
        line += s[i] == '\n';
    return line;
}

gw_config_t *gw_config_parse(const char *yaml, size_t len, const char *name, char *err, size_t errlen)
{
    gw__cfg_ctx_t x = {.name = name != NULL ? name : "<config>", .err = err, .errlen = errlen};
    struct fy_document *doc = NULL;
    size_t *fix = NULL;
    char *text = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    size_t qmark = len;
    x.c = config_new();
    text = gw_strndup(len > 0 ? yaml : "", len); /* the lexer rewrites in place */
    if (x.c == NULL || text == NULL || gw__cfg_lex(text, len, &fix, &x.nfix, &qmark) != GW_OK) {
        gw__cfg_fail(&x, 0, "out of memory");
        goto out;
    }
    x.c->auth_enabled = 1; /* a file turns auth on unless it says otherwise */
    size_t bad = bad_utf8((const unsigned char *)text, len);
    if (bad < len) {
        gw__cfg_fail(&x, line_at(text, bad), "%s", text[bad] == '\0' ? "NUL byte in the file" : "invalid UTF-8");
        goto out;
    }
    if (qmark < len) {
        gw__cfg_fail(&x, line_at(text, qmark), "explicit keys ('? key') are not supported");
        goto out;
    }
    x.text = text;
    x.fix = fix;
    if (build_doc(&x, text, len, &doc) != GW_OK)
        goto out;
    x.root = doc != NULL ? fy_document_root(doc) : NULL;
    if (gw__cfg_walk(&x) != GW_OK || gw__cfg_check(&x) != GW_OK)
        goto out;
out:
    if (doc != NULL)
        fy_document_destroy(doc);
    if (text != NULL)
        sodium_memzero(text, len); /* may hold literal api keys */
    gw_free(text);
    gw_free(fix);
    if (x.failed) {
        gw_config_unref(x.c);
        return NULL;
    }
    return x.c;
}

/* Reads a whole file (bounded) into a new NUL-terminated buffer. */
static gw_err_t read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    gw_err_t rc = GW_EIO;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    rc = GW_ENOMEM;
    if ((buf = gw_malloc(CONFIG_MAX_FILE_BYTES + 1)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    *len = fread(buf, 1, CONFIG_MAX_FILE_BYTES + 1, f);
    rc = GW_EIO;
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (*len > CONFIG_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: larger than %u bytes", path, CONFIG_MAX_FILE_BYTES);
        goto out;
    }
    buf[*len] = '\0';
    *out = buf;
    buf = NULL;
    rc = GW_OK;
out:
    gw_free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

gw_config_t *gw_config_load(const char *path, char *err, size_t errlen)
{
    char scratch[1];
    char *text = NULL;
    size_t len = 0;
    gw_config_t *c = NULL;
    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    if (read_file(path, &text, &len, err, errlen) != GW_OK)
        return NULL;
    c = gw_config_parse(text, len, path, err, errlen);
    if (c != NULL && (c->path = gw_strdup(path)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        gw_config_unref(c);
        c = NULL;
    }
    sodium_memzero(text, len); /* the file may hold literal api keys */
    gw_free(text);
    return c;
}

const gw_cfg_model_t *gw_config_model(const gw_config_t *c, const char *alias, size_t alias_len)
{
    for (size_t i = 0; c != NULL && i < c->models_len; i++) {
        const char *a = c->models[i].alias;
        if (strlen(a) == alias_len && memcmp(a, alias, alias_len) == 0)
            return &c->models[i];
    }
    return NULL;
}

const gw_cfg_fallback_t *gw_config_fallback(const gw_config_t *c, const char *alias)
{
    for (size_t i = 0; c != NULL && i < c->fallbacks_len; i++)
        if (strcmp(c->fallbacks[i].alias, alias) == 0)
            return &c->fallbacks[i];
    return NULL;
}

const gw_cfg_tenant_t *gw_config_tenant(const gw_config_t *c, const char *id)
{
    for (size_t i = 0; c != NULL && i < c->tenants_len; i++)
        if (strcmp(c->tenants[i].id, id) == 0)
            return &c->tenants[i];
    return NULL;
}

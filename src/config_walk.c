/* config_walk.c - walks the libfyaml document of system.md 4 into a
 * gw_config_t. Each mapping is described by a table of keys (name,
 * handler, offset); anything not in a table is an error naming the key and
 * its line. Scalar values are ${VAR}-expanded before they are typed.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "alloc.h"
#include "config_int.h"
#include "redis.h"

typedef struct field field_t;
typedef gw_err_t (*field_fn)(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base);

/* One accepted key: its handler writes at base + off. min/max bound
 * integers (max 0: the type's own maximum); aux is handler data. */
struct field {
    const char *key;
    field_fn fn;
    size_t off;
    int64_t min;
    int64_t max;
    const void *aux;
};

typedef struct section {
    const field_t *fields;
    size_t n;
} section_t;

#define SECTION(arr) {arr, sizeof(arr) / sizeof((arr)[0])}
#define SLOT(base, off, type) ((type *)(void *)((char *)(base) + (off)))

/* ---- paths and messages ---- */

static size_t path_push(gw__cfg_ctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(gw__cfg_ctx_t *x, const char *fmt, ...)
{
    size_t old = x->path_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(x->path + old, sizeof x->path - old, fmt, ap);
    va_end(ap);
    if (n > 0)
        x->path_len = old + (size_t)n < sizeof x->path ? old + (size_t)n : sizeof x->path - 1;
    return old;
}

static void path_pop(gw__cfg_ctx_t *x, size_t old)
{
    x->path_len = old;
    x->path[old] = '\0';
}

static size_t path_push_key(gw__cfg_ctx_t *x, const char *key)
{
    return x->path_len == 0 ? path_push(x, "%s", key) : path_push(x, ".%s", key);
}

static gw_err_t type_error(gw__cfg_ctx_t *x, struct fy_node *v, int line, const char *what)
{
    if (v != NULL && fy_node_is_alias(v))
        return gw__cfg_fail(x, line, "%s: YAML aliases are not supported", x->path);
    return gw__cfg_fail(x, line, "%s: expected %s", x->path, what);
}

static gw_err_t oom(gw__cfg_ctx_t *x) { return gw__cfg_fail(x, 0, "out of memory"); }

/* ---- scalars ---- */

static int is_null(struct fy_node *v)
{
    size_t l = 0;
    if (v == NULL)
        return 1;
    if (!fy_node_is_scalar(v) || fy_node_is_alias(v) || fy_node_get_style(v) != FYNS_PLAIN)
        return 0;
    const char *t = fy_node_get_scalar(v, &l);
    if (t == NULL || l == 0)
        return 1;
    return (l == 1 && t[0] == '~') || (l == 4 && (memcmp(t, "null", 4) == 0 || memcmp(t, "Null", 4) == 0 ||
                                                  memcmp(t, "NULL", 4) == 0));
}

/* The expanded text of scalar v as a new string; a non-scalar is a type
 * error described by what. */
static gw_err_t get_text(gw__cfg_ctx_t *x, struct fy_node *v, int line, const char *what, char **out)
{
    size_t l = 0;
    char name[128], *owned = NULL;
    *out = NULL;
    if (v == NULL || !fy_node_is_scalar(v) || fy_node_is_alias(v))
        return type_error(x, v, line, what);
    const char *t = gw__cfg_scalar(x, v, line, &l, &owned);
    if (t == NULL)
        return GW_ECONFIG;
    gw_err_t rc = gw_config_expand_env(t, l, out, name, sizeof name);
    gw_free(owned);
    if (rc == GW_ENOTFOUND)
        return gw__cfg_fail(x, line, "environment variable %s is not set", name);
    if (rc == GW_EINVAL)
        return gw__cfg_fail(x, line, "%s: bad ${...} reference (write ${NAME}, or $${ for a literal ${)", x->path);
    return rc == GW_OK ? GW_OK : oom(x);
}

/* A required non-empty string. */
static gw_err_t get_str(gw__cfg_ctx_t *x, struct fy_node *v, int line, char **out)
{
    if (is_null(v))
        return type_error(x, v, line, "a string");
    gw_err_t rc = get_text(x, v, line, "a string", out);
    if (rc == GW_OK && (*out)[0] == '\0') {
        gw_free(*out);
        *out = NULL;
        return type_error(x, v, line, "a non-empty string");
    }
    return rc;
}

/* A string or null; an empty expansion counts as null. */
static gw_err_t get_nstr(gw__cfg_ctx_t *x, struct fy_node *v, int line, char **out)
{
    *out = NULL;
    if (is_null(v))
        return GW_OK;
    gw_err_t rc = get_text(x, v, line, "a string or null", out);
    if (rc == GW_OK && (*out)[0] == '\0') {
        gw_free(*out);
        *out = NULL;
    }
    return rc;
}

static gw_err_t f_str(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    char *s = NULL;
    gw_err_t rc = get_str(x, v, line, &s);
    if (rc == GW_OK) {
        gw_free(*SLOT(base, f->off, char *));
        *SLOT(base, f->off, char *) = s;
    }
    return rc;
}

static gw_err_t f_nstr(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    char *s = NULL;
    gw_err_t rc = get_nstr(x, v, line, &s);
    if (rc == GW_OK) {
        gw_free(*SLOT(base, f->off, char *));
        *SLOT(base, f->off, char *) = s;
    }
    return rc;
}

static gw_err_t f_bool(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
    char *s = NULL;
    int val = -1;
    gw_err_t rc = is_null(v) ? type_error(x, v, line, "true or false") : get_text(x, v, line, "true or false", &s);
    if (rc != GW_OK)
        return rc;
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(s, yes[i]) == 0)
            val = 1;
        if (strcmp(s, no[i]) == 0)
            val = 0;
    }
    gw_free(s);
    if (val < 0)
        return type_error(x, v, line, "true or false");
    *SLOT(base, f->off, int) = val;
    return GW_OK;
}

/* Strict decimal integer: optional sign, digits, nothing else. */
static int parse_i64(const char *s, int64_t *out)
{
    const char *p = s + (*s == '-' || *s == '+');
    char *end = NULL;
    if (*p < '0' || *p > '9')
        return 0;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

static gw_err_t get_int(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, int64_t type_max,
                        int64_t *out)
{
    char what[80], *s = NULL;
    int64_t max = f->max != 0 ? f->max : type_max;
    if (f->max == 0 && f->min <= 1)
        snprintf(what, sizeof what, "%s", f->min == 1 ? "a positive integer" : "a non-negative integer");
    else
        snprintf(what, sizeof what, "an integer from %lld to %lld", (long long)f->min, (long long)max);
    gw_err_t rc = is_null(v) ? type_error(x, v, line, what) : get_text(x, v, line, what, &s);
    if (rc != GW_OK)
        return rc;
    int ok = parse_i64(s, out) && *out >= f->min && *out <= max;
    gw_free(s);
    return ok ? GW_OK : type_error(x, v, line, what);
}

static gw_err_t f_u32(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    int64_t n;
    gw_err_t rc = get_int(x, f, v, line, UINT32_MAX, &n);
    if (rc == GW_OK)
        *SLOT(base, f->off, uint32_t) = (uint32_t)n;
    return rc;
}

static gw_err_t f_size(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    int64_t n;
    gw_err_t rc = get_int(x, f, v, line, SIZE_MAX < INT64_MAX ? (int64_t)SIZE_MAX : INT64_MAX, &n);
    if (rc == GW_OK)
        *SLOT(base, f->off, size_t) = (size_t)n;
    return rc;
}

static gw_err_t f_i64(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    int64_t n;
    gw_err_t rc = get_int(x, f, v, line, INT64_MAX, &n);
    if (rc == GW_OK)
        *SLOT(base, f->off, int64_t) = n;
    return rc;
}

static gw_err_t get_dbl(gw__cfg_ctx_t *x, struct fy_node *v, int line, const char *what, double *out)
{
    char *s = NULL, *end = NULL;
    gw_err_t rc = is_null(v) ? type_error(x, v, line, what) : get_text(x, v, line, what, &s);
    if (rc != GW_OK)
        return rc;
    int ok = s[0] != '\0' && strspn(s, "0123456789.eE+-") == strlen(s);
    if (ok) {
        *out = strtod(s, &end);
        ok = *end == '\0' && isfinite(*out) && *out >= 0;
    }
    gw_free(s);
    return ok ? GW_OK : type_error(x, v, line, what);
}

static gw_err_t f_dbl(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    return get_dbl(x, v, line, "a number >= 0", SLOT(base, f->off, double));
}

/* A share: a number from 0 to 1. */
static gw_err_t f_ratio(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    double d = 0;
    gw_err_t rc = get_dbl(x, v, line, "a number from 0 to 1", &d);
    if (rc == GW_OK && d > 1)
        rc = type_error(x, v, line, "a number from 0 to 1");
    if (rc == GW_OK)
        *SLOT(base, f->off, double) = d;
    return rc;
}

/* budget_usd: a number >= 0, or null for "no budget" (-1). */
static gw_err_t f_budget(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    if (is_null(v)) {
        *SLOT(base, f->off, double) = -1;
        return GW_OK;
    }
    return get_dbl(x, v, line, "a number >= 0 (or null for no budget)", SLOT(base, f->off, double));
}

/* A string from the NULL-terminated list in f->aux. */
static gw_err_t f_enum(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    const char *const *choices = f->aux;
    char what[128] = "one of ", *s = NULL;
    for (size_t i = 0; choices[i] != NULL; i++) {
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, "%s%s", i ? ", " : "", choices[i]);
    }
    gw_err_t rc = is_null(v) ? type_error(x, v, line, what) : get_text(x, v, line, what, &s);
    if (rc != GW_OK)
        return rc;
    for (size_t i = 0; choices[i] != NULL; i++) {
        if (strcmp(s, choices[i]) == 0) {
            gw_free(*SLOT(base, f->off, char *));
            *SLOT(base, f->off, char *) = s;
            return GW_OK;
        }
    }
    gw_free(s);
    return type_error(x, v, line, what);
}

/* redis_policy: fail_open | fail_closed, stored as an int (1 = open). */
static gw_err_t f_policy(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    static const char what[] = "one of fail_open, fail_closed";
    char *s = NULL;
    gw_err_t rc = is_null(v) ? type_error(x, v, line, what) : get_text(x, v, line, what, &s);
    if (rc != GW_OK)
        return rc;
    int open = strcmp(s, "fail_open") == 0, closed = strcmp(s, "fail_closed") == 0;
    gw_free(s);
    if (!open && !closed)
        return type_error(x, v, line, what);
    *SLOT(base, f->off, int) = open;
    return GW_OK;
}

/* An http(s) URL; f->min 1 allows null. */
static gw_err_t f_url(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    gw__cfg_url_t u;
    const char *why = NULL;
    char *s = NULL;
    gw_err_t rc = f->min ? get_nstr(x, v, line, &s) : get_str(x, v, line, &s);
    if (rc != GW_OK)
        return rc;
    if (s != NULL && gw__cfg_parse_url(s, &u, &why) != GW_OK) {
        gw_free(s);
        return gw__cfg_fail(x, line, "%s: %s", x->path, why);
    }
    if (s != NULL) {
        gw_free(u.host);
        gw_free(u.path);
    }
    gw_free(*SLOT(base, f->off, char *));
    *SLOT(base, f->off, char *) = s;
    return GW_OK;
}

/* A redis:// or unix:// URL that the Redis client can read, or null: a bad
 * one (rediss://, a bad port, ...) is refused when the config is read (a
 * reload too), not when the client starts. The reason never quotes the URL
 * (it may hold a password), and the URL is wiped before it is freed. */
static gw_err_t f_redis(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    char *s = NULL;
    gw_err_t rc = get_nstr(x, v, line, &s);
    if (rc != GW_OK)
        return rc;
    if (s != NULL && strncmp(s, "redis://", 8) != 0 && strncmp(s, "rediss://", 9) != 0 &&
        strncmp(s, "unix://", 7) != 0) {
        gw__cfg_free_secret(s);
        return type_error(x, v, line, "a redis://, rediss:// or unix:// URL (or null)");
    }
    if (s != NULL) {
        gw_redis_url_t u;
        char why[200] = "";
        rc = gw_redis_url_parse(s, &u, why, sizeof(why));
        sodium_memzero(&u, sizeof(u));
        if (rc != GW_OK) {
            gw__cfg_free_secret(s);
            return gw__cfg_fail(x, line, "%s: %s", x->path, why);
        }
    }
    gw__cfg_free_secret(*SLOT(base, f->off, char *));
    *SLOT(base, f->off, char *) = s;
    return GW_OK;
}

/* ---- mappings and lists ---- */

static const field_t *find_field(const section_t *s, const char *k, size_t kl)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->fields[i].key) == kl && memcmp(s->fields[i].key, k, kl) == 0)
            return &s->fields[i];
    return NULL;
}

static gw_err_t walk_pair(gw__cfg_ctx_t *x, const section_t *s, struct fy_node_pair *p, int line, void *base)
{
    char buf[64], *owned = NULL;
    size_t kl = 0;
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    int kline = gw__cfg_line(k, line);
    const char *where = x->path_len ? x->path : "the top level";
    if (k == NULL || !fy_node_is_scalar(k) || fy_node_is_alias(k))
        return gw__cfg_fail(x, kline, "keys must be plain strings in %s", where);
    const char *kt = gw__cfg_scalar(x, k, kline, &kl, &owned);
    if (kt == NULL)
        return GW_ECONFIG;
    const field_t *f = find_field(s, kt, kl);
    if (f == NULL)
        gw__cfg_fail(x, kline, "unknown key '%s' %s%s", gw__cfg_safe(kt, kl, buf), x->path_len ? "in " : "at ", where);
    gw_free(owned);
    if (f == NULL)
        return GW_ECONFIG;
    size_t mark = path_push_key(x, f->key);
    gw_err_t rc = f->fn(x, f, v, gw__cfg_line(v, kline), base);
    path_pop(x, mark);
    return rc;
}

static gw_err_t walk_section(gw__cfg_ctx_t *x, const section_t *s, struct fy_node *map, int line, void *base)
{
    void *it = NULL;
    struct fy_node_pair *p;
    if (is_null(map))
        return GW_OK;
    if (!fy_node_is_mapping(map))
        return type_error(x, map, line, "a mapping");
    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        gw_err_t rc = walk_pair(x, s, p, line, base);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

static gw_err_t f_map(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    return walk_section(x, f->aux, v, line, base);
}

/* A list of non-empty strings (null: empty list). */
static gw_err_t get_strv(gw__cfg_ctx_t *x, struct fy_node *v, int line, char ***out, size_t *len)
{
    void *it = NULL;
    struct fy_node *item;
    if (is_null(v))
        return GW_OK;
    if (!fy_node_is_sequence(v))
        return type_error(x, v, line, "a list of strings");
    int n = fy_node_sequence_item_count(v);
    if (n <= 0)
        return GW_OK;
    if ((*out = gw_calloc((size_t)n, sizeof **out)) == NULL)
        return oom(x);
    while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
        size_t mark = path_push(x, "[%zu]", *len);
        gw_err_t rc = get_str(x, item, gw__cfg_line(item, line), &(*out)[*len]);
        path_pop(x, mark);
        if (rc != GW_OK)
            return rc;
        (*len)++;
    }
    return GW_OK;
}

typedef struct items {
    const section_t *section;
    size_t elem_size;
    void (*init)(void *elem);
    gw_err_t (*post)(gw__cfg_ctx_t *x, struct fy_node *item, int line, void *arr, size_t i);
} items_t;

/* A list of mappings into a new array *arr; *len counts the items begun,
 * so the caller frees exactly those on error. */
static gw_err_t walk_items(gw__cfg_ctx_t *x, const items_t *d, struct fy_node *v, int line, void **arr, size_t *len)
{
    void *it = NULL;
    struct fy_node *item;
    if (is_null(v))
        return GW_OK;
    if (!fy_node_is_sequence(v))
        return type_error(x, v, line, "a list");
    int n = fy_node_sequence_item_count(v);
    if (n <= 0)
        return GW_OK;
    char *a = gw_calloc((size_t)n, d->elem_size);
    if (a == NULL)
        return oom(x);
    *arr = a;
    while ((item = fy_node_sequence_iterate(v, &it)) != NULL && *len < (size_t)n) {
        size_t i = (*len)++, mark = path_push(x, "[%zu]", i);
        int iline = gw__cfg_line(item, line);
        if (d->init != NULL)
            d->init(a + i * d->elem_size);
        gw_err_t rc = fy_node_is_mapping(item) ? walk_section(x, d->section, item, iline, a + i * d->elem_size)
                                               : type_error(x, item, iline, "a mapping");
        if (rc == GW_OK)
            rc = d->post(x, item, iline, a, i);
        path_pop(x, mark);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

/* Line of the value of key in mapping item (fallback if absent). */
static int key_line(struct fy_node *item, const char *key, int fallback)
{
    struct fy_node_pair *p = gw__cfg_map_pair(item, key);
    if (p == NULL)
        return fallback;
    return gw__cfg_line(fy_node_pair_value(p), gw__cfg_line(fy_node_pair_key(p), fallback));
}

static gw_err_t missing(gw__cfg_ctx_t *x, int line, const char *key)
{
    return gw__cfg_fail(x, line, "%s: missing required key '%s'", x->path, key);
}

/* ---- providers ---- */

static gw_err_t f_kind(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    static const char *const names[] = {"openai", "anthropic", "gemini"};
    static const gw_prov_kind_t kinds[] = {GW_PROV_OPENAI, GW_PROV_ANTHROPIC, GW_PROV_GEMINI};
    const char *what = "one of openai, anthropic, gemini";
    char *s = NULL;
    gw_err_t rc = is_null(v) ? type_error(x, v, line, what) : get_text(x, v, line, what, &s);
    if (rc != GW_OK)
        return rc;
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *SLOT(base, f->off, gw_prov_kind_t) = kinds[i];
            gw_free(s);
            return GW_OK;
        }
    }
    gw_free(s);
    return type_error(x, v, line, what);
}

static gw_err_t f_base_url(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    gw_cfg_provider_t *p = base;
    gw__cfg_url_t u;
    const char *why = NULL;
    char *s = NULL;
    gw_err_t rc = get_str(x, v, line, &s);
    if (rc != GW_OK)
        return rc;
    rc = gw__cfg_parse_url(s, &u, &why);
    if (rc != GW_OK) {
        gw_free(s);
        return rc == GW_ENOMEM ? oom(x) : gw__cfg_fail(x, line, "%s: %s", x->path, why);
    }
    p->base_url = s;
    p->is_tls = u.is_tls;
    p->host = u.host;
    p->port = u.port;
    p->base_path = u.path;
    return GW_OK;
}

static gw_err_t provider_post(gw__cfg_ctx_t *x, struct fy_node *item, int line, void *arr, size_t i)
{
    gw_cfg_provider_t *a = arr, *p = &a[i];
    char buf[64];
    if (p->name == NULL)
        return missing(x, line, "name");
    if (p->base_url == NULL)
        return missing(x, line, "base_url");
    for (size_t j = 0; j < i; j++)
        if (strcmp(a[j].name, p->name) == 0)
            return gw__cfg_fail(x, key_line(item, "name", line), "%s: duplicate provider name '%s'", x->path,
                                gw__cfg_safe(p->name, strlen(p->name), buf));
    return GW_OK;
}

static const field_t provider_fields[] = {
    {"name", f_str, offsetof(gw_cfg_provider_t, name), 0, 0, NULL},
    {"kind", f_kind, offsetof(gw_cfg_provider_t, kind), 0, 0, NULL},
    {"base_url", f_base_url, 0, 0, 0, NULL},
    {"api_key", f_nstr, offsetof(gw_cfg_provider_t, api_key), 0, 0, NULL},
};
static const section_t provider_section = SECTION(provider_fields);
static const items_t provider_items = {&provider_section, sizeof(gw_cfg_provider_t), NULL, provider_post};

static gw_err_t f_providers(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    gw_config_t *c = base;
    return walk_items(x, &provider_items, v, line, (void **)&c->providers, &c->providers_len);
}

/* ---- models ---- */

static gw_err_t model_post(gw__cfg_ctx_t *x, struct fy_node *item, int line, void *arr, size_t i)
{
    gw_cfg_model_t *a = arr, *m = &a[i];
    char buf[64];
    if (m->alias == NULL)
        return missing(x, line, "alias");
    if (m->provider == NULL)
        return missing(x, line, "provider");
    if (m->model == NULL && (m->model = gw_strdup(m->alias)) == NULL)
        return oom(x);
    for (size_t j = 0; j < i; j++)
        if (strcmp(a[j].alias, m->alias) == 0)
            return gw__cfg_fail(x, key_line(item, "alias", line), "%s: duplicate model alias '%s'", x->path,
                                gw__cfg_safe(m->alias, strlen(m->alias), buf));
    return GW_OK;
}

static const field_t price_fields[] = {
    {"input_per_mtok", f_dbl, offsetof(gw_cfg_model_t, input_per_mtok), 0, 0, NULL},
    {"output_per_mtok", f_dbl, offsetof(gw_cfg_model_t, output_per_mtok), 0, 0, NULL},
};
static const section_t price_section = SECTION(price_fields);
static const field_t model_fields[] = {
    {"alias", f_str, offsetof(gw_cfg_model_t, alias), 0, 0, NULL},
    {"provider", f_str, offsetof(gw_cfg_model_t, provider), 0, 0, NULL},
    {"model", f_str, offsetof(gw_cfg_model_t, model), 0, 0, NULL},
    {"price", f_map, 0, 0, 0, &price_section},
};
static const section_t model_section = SECTION(model_fields);
static const items_t model_items = {&model_section, sizeof(gw_cfg_model_t), NULL, model_post};

static gw_err_t f_models(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    gw_config_t *c = base;
    return walk_items(x, &model_items, v, line, (void **)&c->models, &c->models_len);
}

/* ---- fallbacks: {alias: [alias, ...]} ---- */

static gw_err_t fallback_pair(gw__cfg_ctx_t *x, struct fy_node_pair *p, int line, gw_cfg_fallback_t *fb)
{
    char buf[64], *owned = NULL;
    size_t kl = 0;
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    int kline = gw__cfg_line(k, line);
    if (k == NULL || !fy_node_is_scalar(k) || fy_node_is_alias(k) || is_null(k))
        return gw__cfg_fail(x, kline, "fallbacks: keys must be model aliases");
    const char *kt = gw__cfg_scalar(x, k, kline, &kl, &owned);
    if (kt == NULL)
        return GW_ECONFIG;
    fb->alias = gw_strndup(kt, kl);
    size_t mark = path_push(x, ".%s", gw__cfg_safe(kt, kl, buf));
    gw_free(owned);
    if (fb->alias == NULL)
        return oom(x);
    gw_err_t rc = get_strv(x, v, gw__cfg_line(v, kline), &fb->chain, &fb->chain_len);
    path_pop(x, mark);
    return rc;
}

static gw_err_t f_fallbacks(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    gw_config_t *c = base;
    void *it = NULL;
    struct fy_node_pair *p;
    if (is_null(v))
        return GW_OK;
    if (!fy_node_is_mapping(v))
        return type_error(x, v, line, "a mapping of model alias to a list of aliases");
    int n = fy_node_mapping_item_count(v);
    if (n <= 0)
        return GW_OK;
    if ((c->fallbacks = gw_calloc((size_t)n, sizeof *c->fallbacks)) == NULL)
        return oom(x);
    while ((p = fy_node_mapping_iterate(v, &it)) != NULL && c->fallbacks_len < (size_t)n) {
        gw_err_t rc = fallback_pair(x, p, line, &c->fallbacks[c->fallbacks_len++]);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

/* ---- tenants ---- */

static void tenant_init(void *elem)
{
    gw_cfg_tenant_t *t = elem;
    t->budget_usd = -1;
}

static gw_err_t f_keys(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    gw_cfg_tenant_t *t = base;
    return get_strv(x, v, line, &t->keys, &t->keys_len);
}

/* Each key a well-formed hash (duplicates: config_check.c). */
static gw_err_t tenant_keys_check(gw__cfg_ctx_t *x, struct fy_node *item, int line, gw_cfg_tenant_t *a, size_t i)
{
    gw_cfg_tenant_t *t = &a[i];
    struct fy_node_pair *kp = gw__cfg_map_pair(item, "keys");
    struct fy_node *keys = kp != NULL ? fy_node_pair_value(kp) : NULL;
    char buf[64], buf2[64];
    for (size_t k = 0; k < t->keys_len; k++) {
        int kline = gw__cfg_line(fy_node_sequence_get_by_index(keys, (int)k), line);
        if (!gw__cfg_key_hash_ok(t->keys[k]))
            return gw__cfg_fail(x, kline,
                                "%s.keys[%zu]: key of tenant '%s' must look like blake2b:<64 hex digits> "
                                "(make one with: llmgw keys create --tenant %s)",
                                x->path, k, gw__cfg_safe(t->id, strlen(t->id), buf),
                                gw__cfg_safe(t->id, strlen(t->id), buf2));
    }
    return GW_OK;
}

static gw_err_t tenant_post(gw__cfg_ctx_t *x, struct fy_node *item, int line, void *arr, size_t i)
{
    gw_cfg_tenant_t *a = arr, *t = &a[i];
    char buf[64];
    if (t->id == NULL)
        return missing(x, line, "id");
    for (size_t j = 0; j < i; j++)
        if (strcmp(a[j].id, t->id) == 0)
            return gw__cfg_fail(x, key_line(item, "id", line), "%s: duplicate tenant id '%s'", x->path,
                                gw__cfg_safe(t->id, strlen(t->id), buf));
    if (t->rate.rps > 0 && t->rate.burst == 0)
        t->rate.burst = t->rate.rps < 1 ? 1 : t->rate.rps;
    return tenant_keys_check(x, item, line, a, i);
}

static const field_t rate_fields[] = {
    {"rps", f_dbl, offsetof(gw_cfg_tenant_t, rate.rps), 0, 0, NULL},
    {"burst", f_dbl, offsetof(gw_cfg_tenant_t, rate.burst), 0, 0, NULL},
    {"tokens_per_min", f_i64, offsetof(gw_cfg_tenant_t, tokens_per_min), 0, 0, NULL},
};
static const section_t rate_section = SECTION(rate_fields);
static const field_t tenant_fields[] = {
    {"id", f_str, offsetof(gw_cfg_tenant_t, id), 0, 0, NULL},
    {"keys", f_keys, 0, 0, 0, NULL},
    {"admin", f_bool, offsetof(gw_cfg_tenant_t, admin), 0, 0, NULL},
    {"budget_usd", f_budget, offsetof(gw_cfg_tenant_t, budget_usd), 0, 0, NULL},
    {"rate", f_map, 0, 0, 0, &rate_section},
};
static const section_t tenant_section = SECTION(tenant_fields);
static const items_t tenant_items = {&tenant_section, sizeof(gw_cfg_tenant_t), tenant_init, tenant_post};

static gw_err_t f_tenants(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    gw_config_t *c = base;
    return walk_items(x, &tenant_items, v, line, (void **)&c->tenants, &c->tenants_len);
}

/* ---- top level ---- */

static gw_err_t f_listen(gw__cfg_ctx_t *x, const field_t *f, struct fy_node *v, int line, void *base)
{
    gw_config_t *c = base;
    char *s = NULL, *host = NULL;
    uint16_t port = 0;
    gw_err_t rc = get_str(x, v, line, &s);
    if (rc != GW_OK)
        return rc;
    rc = gw__cfg_parse_listen(s, &host, &port);
    if (rc != GW_OK) {
        gw_free(s);
        return rc == GW_ENOMEM ? oom(x)
                               : type_error(x, v, line, "host:port, e.g. 127.0.0.1:8080 or [::1]:8080 (port 1-65535)");
    }
    gw_free(c->listen);
    gw_free(c->listen_host);
    c->listen = s;
    c->listen_host = host;
    c->listen_port = port;
    return GW_OK;
}

#define CFG(m) offsetof(gw_config_t, m)
#define LIM(k, m, min)                                                                                      \
    {k, _Generic(((gw_cfg_limits_t *)0)->m, uint32_t: f_u32, size_t: f_size), CFG(limits.m), min, 0, NULL}

static const field_t auth_fields[] = {{"enabled", f_bool, CFG(auth_enabled), 0, 0, NULL}};
static const field_t limits_fields[] = {
    LIM("max_body_bytes", max_body_bytes, 1),
    LIM("max_header_bytes", max_header_bytes, 1),
    LIM("max_headers", max_headers, 1),
    LIM("header_timeout_ms", header_timeout_ms, 1),
    LIM("body_timeout_ms", body_timeout_ms, 1),
    LIM("keepalive_timeout_ms", keepalive_timeout_ms, 1),
    LIM("upstream_timeout_ms", upstream_timeout_ms, 1),
    LIM("connect_timeout_ms", connect_timeout_ms, 1),
    LIM("first_byte_timeout_ms", first_byte_timeout_ms, 1),
    LIM("idle_timeout_ms", idle_timeout_ms, 1),
    LIM("retry_budget", retry_budget, 0),
    LIM("drain_timeout_ms", drain_timeout_ms, 1),
    LIM("max_upstream_body_bytes", max_upstream_body_bytes, 1),
    LIM("max_connections", max_connections, 1),
    LIM("default_max_tokens", default_max_tokens, 1),
    LIM("redis_timeout_ms", redis_timeout_ms, 1),
};
static const field_t per_ip_fields[] = {
    {"rps", f_dbl, CFG(per_ip.rps), 0, 0, NULL},
    {"burst", f_dbl, CFG(per_ip.burst), 0, 0, NULL},
};
static const section_t per_ip_section = SECTION(per_ip_fields);
static const field_t rate_limit_fields[] = {{"per_ip", f_map, 0, 0, 0, &per_ip_section}};

static const char *const engines[] = {"duckdb", "clickhouse", "bigquery", "none", NULL};
static const char *const planner_modes[] = {"auto", "llm", "rules", NULL};
static const char *const formatter_modes[] = {"template", "llm", NULL};
static const field_t duckdb_fields[] = {{"path", f_str, CFG(ask.duckdb_path), 0, 0, NULL}};
static const field_t clickhouse_fields[] = {
    {"url", f_url, CFG(ask.clickhouse_url), 0, 0, NULL},
    {"database", f_str, CFG(ask.clickhouse_database), 0, 0, NULL},
    {"cluster", f_nstr, CFG(ask.clickhouse_cluster), 0, 0, NULL},
    {"user", f_nstr, CFG(ask.clickhouse_user), 0, 0, NULL},
    {"password", f_nstr, CFG(ask.clickhouse_password), 0, 0, NULL},
};
static const field_t bigquery_fields[] = {
    {"project", f_nstr, CFG(ask.bigquery_project), 0, 0, NULL},
    {"dataset", f_str, CFG(ask.bigquery_dataset), 0, 0, NULL},
    {"max_bytes_billed", f_i64, CFG(ask.bigquery_max_bytes_billed), 1, 0, NULL},
};
static const field_t schema_cache_fields[] = {
    {"redis_url", f_redis, CFG(ask.schema_cache_redis_url), 0, 0, NULL},
    {"ttl_s", f_u32, CFG(ask.schema_cache_ttl_s), 1, 0, NULL},
};
static const field_t planner_fields[] = {
    {"mode", f_enum, CFG(ask.planner_mode), 0, 0, planner_modes},
    {"model", f_nstr, CFG(ask.planner_model), 0, 0, NULL},
};
static const field_t formatter_fields[] = {
    {"mode", f_enum, CFG(ask.formatter_mode), 0, 0, formatter_modes},
    {"model", f_nstr, CFG(ask.formatter_model), 0, 0, NULL},
};
static const section_t duckdb_section = SECTION(duckdb_fields), clickhouse_section = SECTION(clickhouse_fields),
                       bigquery_section = SECTION(bigquery_fields), schema_cache_section = SECTION(schema_cache_fields),
                       planner_section = SECTION(planner_fields), formatter_section = SECTION(formatter_fields);
static const field_t ask_fields[] = {
    {"engine", f_enum, CFG(ask.engine), 0, 0, engines},
    {"duckdb", f_map, 0, 0, 0, &duckdb_section},
    {"clickhouse", f_map, 0, 0, 0, &clickhouse_section},
    {"bigquery", f_map, 0, 0, 0, &bigquery_section},
    {"schema_cache", f_map, 0, 0, 0, &schema_cache_section},
    {"planner", f_map, 0, 0, 0, &planner_section},
    {"formatter", f_map, 0, 0, 0, &formatter_section},
};
static const field_t telemetry_fields[] = {
    {"otlp_endpoint", f_url, CFG(telemetry.otlp_endpoint), 1, 0, NULL},
    {"service_name", f_str, CFG(telemetry.service_name), 0, 0, NULL},
    {"sample_ratio", f_ratio, CFG(telemetry.sample_ratio), 0, 0, NULL},
    {"log", f_str, CFG(telemetry.log), 0, 0, NULL},
    {"flush_interval_s", f_u32, CFG(telemetry.flush_interval_s), 1, 0, NULL},
    {"log_prompts", f_bool, CFG(telemetry.log_prompts), 0, 0, NULL},
    {"metrics_auth", f_bool, CFG(telemetry.metrics_auth), 0, 0, NULL},
    {"metrics_max_tenants", f_u32, CFG(telemetry.metrics_max_tenants), 1, 1000, NULL},
};
static const section_t auth_section = SECTION(auth_fields), limits_section = SECTION(limits_fields),
                       rate_limit_section = SECTION(rate_limit_fields), ask_section = SECTION(ask_fields),
                       telemetry_section = SECTION(telemetry_fields);
static const field_t top_fields[] = {
    {"listen", f_listen, 0, 0, 0, NULL},
    {"workers", f_u32, CFG(workers), 0, 1024, NULL},
    {"redis_url", f_redis, CFG(redis_url), 0, 0, NULL},
    {"redis_policy", f_policy, CFG(redis_fail_open), 0, 0, NULL},
    {"auth", f_map, 0, 0, 0, &auth_section},
    {"limits", f_map, 0, 0, 0, &limits_section},
    {"rate_limit", f_map, 0, 0, 0, &rate_limit_section},
    {"providers", f_providers, 0, 0, 0, NULL},
    {"models", f_models, 0, 0, 0, NULL},
    {"fallbacks", f_fallbacks, 0, 0, 0, NULL},
    {"tenants", f_tenants, 0, 0, 0, NULL},
    {"ask", f_map, 0, 0, 0, &ask_section},
    {"telemetry", f_map, 0, 0, 0, &telemetry_section},
};
static const section_t top_section = SECTION(top_fields);

gw_err_t gw__cfg_walk(gw__cfg_ctx_t *x)
{
    if (x->root == NULL)
        return GW_OK; /* an empty file: all defaults */
    if (!fy_node_is_mapping(x->root))
        return gw__cfg_fail(x, gw__cfg_line(x->root, 1), "expected a mapping of settings at the top level");
    return walk_section(x, &top_section, x->root, 1, x->c);
}

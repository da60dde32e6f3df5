/* prov_json.c - JSON plumbing shared by the provider adapters: the one
 * static copy of jsmn (strict, parent links) with a tokenizer that grows
 * its token array on demand, and small jansson helpers (compact dump into
 * a gw_buf_t, content text, stop lists, tool-call arguments, OpenAI
 * usage / completion / tool-call objects).
 */
#define GW_PROV_JSMN_IMPL
#include "prov_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "alloc.h"

/* ---- jsmn ---- */

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Grows d->tok to twice its size, moving off the stack array if needed. */
static gw_err_t jdoc_grow(gw__jdoc_t *d, unsigned *cap)
{
    unsigned ncap = *cap * 2;
    jsmntok_t *t;
    if (d->tok == d->small) {
        t = gw_malloc(ncap * sizeof *t);
        if (t != NULL)
            memcpy(t, d->small, *cap * sizeof *t);
    } else {
        t = gw_realloc(d->tok, ncap * sizeof *t);
    }
    if (t == NULL)
        return GW_ENOMEM;
    d->tok = t;
    *cap = ncap;
    return GW_OK;
}

gw_err_t gw__jdoc_parse(gw__jdoc_t *d, const char *js, size_t len)
{
    d->js = js;
    d->n = 0;
    d->tok = d->small;
    if (len > INT_MAX / 4)
        return GW_ETOOBIG;
    unsigned cap = GW__JTOK_SMALL;
    jsmn_parser p;
    jsmn_init(&p);
    for (;;) {
        int r = jsmn_parse(&p, js, len, d->tok, cap);
        if (r >= 0)
            break;
        if (r != JSMN_ERROR_NOMEM || cap > len + 2)
            return GW_EINVAL;
        gw_err_t rc = jdoc_grow(d, &cap);
        if (rc != GW_OK)
            return rc;
    }
    d->n = (int)p.toknext;
    if (d->n < 1 || gw__jnext(d, 0) != d->n)
        return GW_EINVAL;
    /* Only whitespace around the one value (jsmn stops early at a NUL). */
    const jsmntok_t *root = &d->tok[0];
    size_t from = (size_t)root->start - (root->type == JSMN_STRING);
    size_t to = (size_t)root->end + (root->type == JSMN_STRING);
    for (size_t i = 0; i < from; i++)
        if (!is_ws(js[i]))
            return GW_EINVAL;
    for (size_t i = to; i < len; i++)
        if (!is_ws(js[i]))
            return GW_EINVAL;
    return GW_OK;
}

void gw__jdoc_free(gw__jdoc_t *d)
{
    if (d->tok != d->small)
        gw_free(d->tok);
    d->tok = d->small;
    d->n = 0;
}

int gw__jnext(const gw__jdoc_t *d, int i)
{
    int end = d->tok[i].end;
    int j = i + 1;
    while (j < d->n && d->tok[j].start < end)
        j++;
    return j;
}

int gw__jstreq(const gw__jdoc_t *d, int i, const char *s)
{
    const jsmntok_t *t = &d->tok[i];
    size_t n = strlen(s);
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n && memcmp(d->js + t->start, s, n) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one escape at p (after the backslash); -1 if it is not ASCII. */
static int unescape_one(const char **pp, const char *e)
{
    const char *p = *pp;
    if (p >= e)
        return -1;
    char c = *p++;
    int v = -1;
    switch (c) {
    case '"': case '\\': case '/': v = c; break;
    case 'b': v = '\b'; break;
    case 'f': v = '\f'; break;
    case 'n': v = '\n'; break;
    case 'r': v = '\r'; break;
    case 't': v = '\t'; break;
    case 'u':
        if (e - p < 4)
            return -1;
        v = 0;
        for (int k = 0; k < 4; k++) {
            int h = hexval(p[k]);
            if (h < 0)
                return -1;
            v = v * 16 + h;
        }
        p += 4;
        if (v > 0x7f)
            v = -1;
        break;
    default: break;
    }
    *pp = p;
    return v;
}

int gw__jkeyeq(const gw__jdoc_t *d, int i, const char *s)
{
    const jsmntok_t *t = &d->tok[i];
    if (t->type != JSMN_STRING)
        return 0;
    const char *p = d->js + t->start, *e = d->js + t->end;
    if (memchr(p, '\\', (size_t)(e - p)) == NULL)
        return gw__jstreq(d, i, s);
    size_t k = 0;
    while (p < e) {
        int c = (unsigned char)*p++;
        if (c == '\\' && (c = unescape_one(&p, e)) < 0)
            return 0;
        if (s[k] == '\0' || (unsigned char)s[k] != c)
            return 0;
        k++;
    }
    return s[k] == '\0';
}

int gw__jget(const gw__jdoc_t *d, int obj, const char *key)
{
    if (obj < 0 || obj >= d->n || d->tok[obj].type != JSMN_OBJECT)
        return -1;
    int k = obj + 1;
    for (int m = 0; m < d->tok[obj].size && k < d->n; m++) {
        if (d->tok[k].size != 1 || k + 1 >= d->n)
            return -1;
        if (gw__jkeyeq(d, k, key))
            return k + 1;
        k = gw__jnext(d, k + 1);
    }
    return -1;
}

int gw__jlit(const gw__jdoc_t *d, int i, const char *lit)
{
    const jsmntok_t *t = &d->tok[i];
    size_t n = strlen(lit);
    return t->type == JSMN_PRIMITIVE && (size_t)(t->end - t->start) == n && memcmp(d->js + t->start, lit, n) == 0;
}

gw_err_t gw__jint(const gw__jdoc_t *d, int i, int64_t *out)
{
    const jsmntok_t *t = &d->tok[i];
    if (t->type != JSMN_PRIMITIVE)
        return GW_EINVAL;
    const char *p = d->js + t->start, *e = d->js + t->end;
    int neg = p < e && *p == '-';
    p += neg;
    if (p == e)
        return GW_EINVAL;
    int64_t v = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9')
            return GW_EINVAL;
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return GW_EINVAL;
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return GW_OK;
}

/* ---- small helpers ---- */

void gw__utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < need)
        s[i - 1] = '\0';
}

void gw__errmsg(gw_prov_errmsg_t *msg, const char *param, const char *fmt, ...)
{
    if (msg == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg->message, sizeof msg->message, fmt, ap);
    va_end(ap);
    gw__utf8_trim(msg->message);
    snprintf(msg->param, sizeof msg->param, "%s", param != NULL ? param : "");
}

struct dump_ctx {
    gw_buf_t *b;
    gw_err_t rc;
};

static int dump_cb(const char *buffer, size_t size, void *data)
{
    struct dump_ctx *c = data;
    c->rc = gw_buf_add(c->b, buffer, size);
    return c->rc == GW_OK ? 0 : -1;
}

gw_err_t gw__json_append(gw_buf_t *out, const json_t *j)
{
    struct dump_ctx c = {out, GW_OK};
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(16);
    if (json_dump_callback(j, dump_cb, &c, flags) != 0)
        return c.rc != GW_OK ? c.rc : GW_ENOMEM;
    return GW_OK;
}

json_t *gw__json_load(const char *body, size_t len)
{
    json_error_t err;
    return json_loadb(body, len, JSON_ALLOW_NUL, &err);
}

gw_err_t gw__hdr_add(gw_buf_t *h, const char *name, const char *value)
{
    if (strpbrk(value, "\r\n") != NULL)
        return GW_EINVAL;
    return gw_buf_printf(h, "%s: %s\r\n", name, value);
}

gw_err_t gw__path_join(gw_buf_t *p, const char *base_path, const char *version, const char *rest)
{
    const char *b = base_path != NULL ? base_path : "";
    size_t bl = strlen(b);
    while (bl > 0 && b[bl - 1] == '/')
        bl--;
    if (bl > 0 && b[0] != '/' && gw_buf_add(p, "/", 1) != GW_OK)
        return GW_ETOOBIG;
    gw_err_t rc = gw_buf_add(p, b, bl);
    size_t seg = bl;
    while (seg > 0 && b[seg - 1] != '/')
        seg--;
    int versioned = bl - seg >= 2 && b[seg] == 'v' && b[seg + 1] >= '0' && b[seg + 1] <= '9';
    if (rc == GW_OK && !versioned)
        rc = gw_buf_printf(p, "/%s", version);
    if (rc == GW_OK)
        rc = gw_buf_adds(p, rest);
    return rc;
}

/* Per-thread splitmix64 state for synthetic ids: they must be unique, not
 * secret, so one getrandom per thread seeds it instead of one per id (a
 * syscall on every streamed answer). The only thread-local state here. */
static _Thread_local uint64_t rand_state;
static _Thread_local int rand_seeded;

static uint64_t rand_next(void)
{
    if (!rand_seeded) {
        if (getrandom(&rand_state, sizeof rand_state, 0) != (ssize_t)sizeof rand_state) {
            struct timespec ts; /* no entropy source: the clock and the stack */
            clock_gettime(CLOCK_REALTIME, &ts);
            rand_state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)&ts;
        }
        rand_seeded = 1;
    }
    uint64_t z = (rand_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void gw__rand_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    if (nbytes > 32)
        nbytes = 32;
    uint64_t v = 0;
    for (size_t i = 0; i < nbytes; i++) {
        if (i % 8 == 0)
            v = rand_next();
        unsigned char b = (unsigned char)(v >> (8 * (i % 8)));
        out[2 * i] = hex[b >> 4];
        out[2 * i + 1] = hex[b & 15];
    }
    out[2 * nbytes] = '\0';
}

int gw__data_uri(const char *url, const char **mime, size_t *mime_len, const char **data)
{
    if (strncmp(url, "data:", 5) != 0)
        return 0;
    const char *comma = strchr(url, ',');
    if (comma == NULL || comma - url < 12 || memcmp(comma - 7, ";base64", 7) != 0)
        return 0;
    const char *m = url + 5;
    const char *semi = strchr(m, ';');
    *mime = m;
    *mime_len = (size_t)(semi - m);
    *data = comma + 1;
    return 1;
}

json_t *gw__content_text(const json_t *content, const char *sep, int *bad)
{
    if (content == NULL || json_is_null(content))
        return json_string("");
    if (json_is_string(content))
        return json_incref((json_t *)content);
    if (!json_is_array(content)) {
        *bad = 1;
        return NULL;
    }
    gw_buf_t b;
    gw_buf_init(&b, (size_t)1 << 30);
    json_t *res = NULL;
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        const char *type = gw__jstr_get(part, "type");
        int refusal = type != NULL && strcmp(type, "refusal") == 0;
        json_t *text = json_object_get(part, refusal ? "refusal" : "text");
        if (type == NULL || !json_is_string(text) || (strcmp(type, "text") != 0 && !refusal)) {
            *bad = 1;
            goto out;
        }
        if ((i > 0 && gw_buf_adds(&b, sep) != GW_OK) ||
            gw_buf_add(&b, json_string_value(text), json_string_length(text)) != GW_OK)
            goto out;
    }
    res = json_stringn(b.ptr != NULL ? b.ptr : "", b.len);
out:
    gw_buf_free(&b);
    return res;
}

json_t *gw__stop_array(const json_t *stop, int *bad)
{
    if (json_is_string(stop)) {
        json_t *a = json_array();
        if (a != NULL && json_array_append(a, (json_t *)stop) != 0) {
            json_decref(a);
            a = NULL;
        }
        return a;
    }
    if (!json_is_array(stop)) {
        *bad = 1;
        return NULL;
    }
    size_t i;
    json_t *s;
    json_array_foreach(stop, i, s) {
        if (!json_is_string(s)) {
            *bad = 1;
            return NULL;
        }
    }
    return json_incref((json_t *)stop);
}

json_t *gw__tool_args(const json_t *arguments)
{
    if (arguments == NULL || json_is_null(arguments))
        return json_object();
    if (json_is_object(arguments))
        return json_incref((json_t *)arguments);
    if (!json_is_string(arguments))
        return NULL;
    size_t n = json_string_length(arguments);
    const char *s = json_string_value(arguments);
    size_t k = 0;
    while (k < n && is_ws(s[k]))
        k++;
    if (k == n)
        return json_object();
    json_t *j = gw__json_load(s, n);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

int64_t gw__tokens(int64_t v) { return v < 0 ? 0 : v > GW__MAX_TOKENS ? GW__MAX_TOKENS : v; }

int64_t gw__jint_get(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? gw__tokens((int64_t)json_integer_value(v)) : 0;
}

const char *gw__jstr_get(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

json_t *gw__usage_json(int64_t prompt, int64_t completion, int64_t total, int64_t cached, int64_t reasoning)
{
    json_t *u = json_object();
    if (u == NULL)
        return NULL;
    int bad = json_object_set_new(u, "prompt_tokens", json_integer(prompt));
    bad |= json_object_set_new(u, "completion_tokens", json_integer(completion));
    bad |= json_object_set_new(u, "total_tokens", json_integer(total));
    if (cached >= 0)
        bad |= json_object_set_new(u, "prompt_tokens_details", json_pack("{sI}", "cached_tokens", (json_int_t)cached));
    if (reasoning >= 0)
        bad |= json_object_set_new(u, "completion_tokens_details",
                                   json_pack("{sI}", "reasoning_tokens", (json_int_t)reasoning));
    if (bad) {
        json_decref(u);
        return NULL;
    }
    return u;
}

json_t *gw__completion_json(const char *id, const char *model, json_t *choices, json_t *usage)
{
    json_t *c = json_pack("{ss,ss,sI,ss}", "id", id, "object", "chat.completion", "created",
                          (json_int_t)time(NULL), "model", model);
    int bad = c == NULL || choices == NULL;
    if (!bad)
        bad = json_object_set(c, "choices", choices) != 0;
    if (!bad && usage != NULL)
        bad = json_object_set(c, "usage", usage) != 0;
    json_decref(choices);
    json_decref(usage);
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return c;
}

json_t *gw__tool_call_json(const char *id, const char *name, const json_t *args)
{
    gw_buf_t b;
    gw_buf_init(&b, (size_t)1 << 30);
    json_t *res = NULL;
    if (gw__json_append(&b, args) == GW_OK)
        res = json_pack("{ss,ss,s{ss,ss%}}", "id", id, "type", "function", "function", "name", name, "arguments",
                        b.ptr, b.len);
    gw_buf_free(&b);
    return res;
}

gw_err_t gw__append_turn(json_t *turns, const char *role, const char *key, json_t *item)
{
    size_t n = json_array_size(turns);
    json_t *last = n > 0 ? json_array_get(turns, n - 1) : NULL;
    if (item == NULL)
        return GW_ENOMEM;
    if (last != NULL && strcmp(gw__jstr_get(last, "role"), role) == 0)
        return json_array_append_new(json_object_get(last, key), item) == 0 ? GW_OK : GW_ENOMEM;
    json_t *turn = json_pack("{ss,s[o]}", "role", role, key, item);
    return turn != NULL && json_array_append_new(turns, turn) == 0 ? GW_OK : GW_ENOMEM;
}

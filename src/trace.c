/* trace.c - request traces: id generation (xoshiro256** seeded from
 * libsodium), strict W3C traceparent parse/format (trace-context level 1,
 * version 00 only), and filling the fixed-size span structs of trace.h.
 * Nothing here allocates except gw_trace_begin (one block per trace).
 */
#include "trace.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"

static const char hexdig[] = "0123456789abcdef";

/* ---- ids ---------------------------------------------------------------- */

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next64(gw_idgen_t *g)
{
    uint64_t *s = g->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

gw_err_t gw_idgen_init(gw_idgen_t *g)
{
    if (sodium_init() < 0)
        return GW_EIO;
    do {
        randombytes_buf(g->s, sizeof(g->s));
    } while ((g->s[0] | g->s[1] | g->s[2] | g->s[3]) == 0);
    return GW_OK;
}

static void fill_nonzero(gw_idgen_t *g, uint8_t *out, size_t n)
{
    for (;;) {
        uint64_t acc = 0;
        for (size_t i = 0; i < n; i += 8) {
            uint64_t r = next64(g);
            memcpy(out + i, &r, n - i < 8 ? n - i : 8);
            acc |= r;
        }
        if (acc != 0)
            return;
    }
}

void gw_idgen_trace_id(gw_idgen_t *g, uint8_t out[GW_TRACE_ID_LEN]) { fill_nonzero(g, out, GW_TRACE_ID_LEN); }
void gw_idgen_span_id(gw_idgen_t *g, uint8_t out[GW_SPAN_ID_LEN]) { fill_nonzero(g, out, GW_SPAN_ID_LEN); }

/* ---- traceparent -------------------------------------------------------- */

static int lhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes 2*n lowercase hex digits into out; 0 on a bad digit or all zero
 * (when nonzero is asked). */
static int unhex(const char *s, uint8_t *out, size_t n, int nonzero)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = lhex(s[2 * i]), lo = lhex(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
        acc |= out[i];
    }
    return !nonzero || acc != 0;
}

gw_err_t gw_traceparent_parse(const char *s, size_t n, gw_traceparent_t *out)
{
    gw_traceparent_t tp;
    if (s == NULL)
        return GW_EINVAL;
    while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n != GW_TRACEPARENT_LEN || s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return GW_EINVAL;
    if (!unhex(s + 3, tp.trace_id, GW_TRACE_ID_LEN, 1) || !unhex(s + 36, tp.span_id, GW_SPAN_ID_LEN, 1) ||
        !unhex(s + 53, &tp.flags, 1, 0))
        return GW_EINVAL;
    *out = tp;
    return GW_OK;
}

static char *put_hex(char *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *o++ = hexdig[p[i] >> 4];
        *o++ = hexdig[p[i] & 15];
    }
    return o;
}

void gw_traceparent_format(const uint8_t trace_id[GW_TRACE_ID_LEN], const uint8_t span_id[GW_SPAN_ID_LEN],
                           uint8_t flags, char out[GW_TRACEPARENT_LEN + 1])
{
    char *o = out;
    *o++ = '0';
    *o++ = '0';
    *o++ = '-';
    o = put_hex(o, trace_id, GW_TRACE_ID_LEN);
    *o++ = '-';
    o = put_hex(o, span_id, GW_SPAN_ID_LEN);
    *o++ = '-';
    o = put_hex(o, &flags, 1);
    *o = '\0';
}

/* ---- trace and spans ---------------------------------------------------- */

static int64_t unix_offset(void)
{
    struct timespec rt, mt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    int64_t r = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
    int64_t m = (int64_t)mt.tv_sec * 1000000000 + mt.tv_nsec;
    return r - m;
}

static gw_span_t *span_at(gw_trace_t *t, int i)
{
    return t != NULL && i >= 0 && (uint32_t)i < t->n_spans ? &t->spans[i] : NULL;
}

/* Copies s[0..n) into the arena; 0 when it does not fit. */
static int arena_put(gw_trace_t *t, const char *s, size_t n, uint16_t *off, uint16_t *len)
{
    if (n > GW_TRACE_ARENA - t->arena_len)
        return 0;
    memcpy(t->arena + t->arena_len, s, n);
    *off = (uint16_t)t->arena_len;
    *len = (uint16_t)n;
    t->arena_len += (uint32_t)n;
    return 1;
}

/* Name made of up to two parts joined by a space ("POST /v1/chat"). */
static void set_name(gw_trace_t *t, gw_span_t *sp, const char *a, const char *b)
{
    if (!gw_trace_sampled(t)) /* not recorded */
        return;
    char tmp[256];
    size_t la = a ? strnlen(a, 128) : 0, lb = b ? strnlen(b, 126) : 0;
    memcpy(tmp, a ? a : "", la);
    if (lb > 0) {
        tmp[la] = ' ';
        memcpy(tmp + la + 1, b, lb);
        la += lb + 1;
    }
    if (!arena_put(t, tmp, la, &sp->name_off, &sp->name_len))
        sp->name_len = 0;
}

static int add_span(gw_trace_t *t, gw_idgen_t *g, int parent, gw_span_kind_t kind, uint64_t start_ns)
{
    if (t->n_spans >= GW_TRACE_MAX_SPANS) {
        t->dropped_spans++;
        return -1;
    }
    gw_span_t *sp = &t->spans[t->n_spans];
    memset(sp, 0, offsetof(gw_span_t, attrs));
    gw_idgen_span_id(g, sp->span_id);
    sp->parent = (int8_t)parent;
    sp->kind = (uint8_t)kind;
    sp->start_ns = sp->end_ns = start_ns;
    return (int)t->n_spans++;
}

gw_trace_t *gw_trace_begin(gw_idgen_t *g, uint64_t start_ns, const char *traceparent, size_t tp_len,
                           const char *method, const char *route)
{
    gw_trace_t *t = gw_malloc(sizeof(*t));
    if (t == NULL)
        return NULL;
    memset(t, 0, offsetof(gw_trace_t, spans));
    gw_traceparent_t tp;
    if (gw_traceparent_parse(traceparent, tp_len, &tp) == GW_OK) {
        memcpy(t->trace_id, tp.trace_id, GW_TRACE_ID_LEN);
        memcpy(t->remote_parent, tp.span_id, GW_SPAN_ID_LEN);
        t->flags = tp.flags & GW_TRACE_FLAG_SAMPLED;
        t->has_remote_parent = 1;
    } else {
        gw_idgen_trace_id(g, t->trace_id);
        t->flags = GW_TRACE_FLAG_SAMPLED;
    }
    t->unix_offset_ns = unix_offset();
    int root = add_span(t, g, -1, GW_SPAN_SERVER, start_ns);
    set_name(t, &t->spans[root], method, route);
    gw_trace_set_str(t, root, "http.request.method", method);
    gw_trace_set_str(t, root, "http.route", route);
    return t;
}

void gw_trace_free(gw_trace_t *t) { gw_free(t); }

int gw_trace_sampled(const gw_trace_t *t) { return t != NULL && (t->flags & GW_TRACE_FLAG_SAMPLED) != 0; }

int gw_trace_span_begin(gw_trace_t *t, gw_idgen_t *g, int parent, gw_span_kind_t kind, const char *name,
                        uint64_t start_ns)
{
    if (span_at(t, parent) == NULL)
        return -1;
    int i = add_span(t, g, parent, kind, start_ns);
    if (i >= 0)
        set_name(t, &t->spans[i], name, NULL);
    return i;
}

void gw_trace_span_end(gw_trace_t *t, int i, uint64_t end_ns, gw_span_status_t st, const char *msg)
{
    gw_span_t *sp = span_at(t, i);
    if (sp == NULL)
        return;
    sp->end_ns = end_ns < sp->start_ns ? sp->start_ns : end_ns;
    sp->status = (uint8_t)st;
    sp->ended = 1;
    if (msg != NULL && !arena_put(t, msg, strnlen(msg, 256), &sp->msg_off, &sp->msg_len))
        sp->msg_len = 0;
}

/* The slot for key on span sp: the existing one or a new one; NULL when full. */
static gw_span_attr_t *attr_slot(gw_span_t *sp, const char *key)
{
    size_t klen = strnlen(key, UINT8_MAX);
    for (uint8_t k = 0; k < sp->n_attrs; k++) /* lengths first: most keys differ there */
        if (sp->attrs[k].klen == klen && memcmp(sp->attrs[k].key, key, klen) == 0)
            return &sp->attrs[k];
    if (sp->n_attrs >= GW_SPAN_MAX_ATTRS) {
        if (sp->dropped_attrs < UINT8_MAX)
            sp->dropped_attrs++;
        return NULL;
    }
    gw_span_attr_t *a = &sp->attrs[sp->n_attrs++];
    a->key = key;
    a->klen = (uint8_t)klen;
    return a;
}

void gw_trace_set_strn(gw_trace_t *t, int i, const char *key, const char *val, size_t n)
{
    gw_span_t *sp = span_at(t, i);
    if (sp == NULL || val == NULL || !gw_trace_sampled(t)) /* not recorded: nobody reads it */
        return;
    uint16_t off, len;
    if (!arena_put(t, val, n, &off, &len)) {
        if (sp->dropped_attrs < UINT8_MAX)
            sp->dropped_attrs++;
        return;
    }
    gw_span_attr_t *a = attr_slot(sp, key);
    if (a == NULL)
        return;
    a->type = GW_ATTR_STR;
    a->v.s.off = off;
    a->v.s.len = len;
}

void gw_trace_set_str(gw_trace_t *t, int i, const char *key, const char *val)
{
    if (val != NULL)
        gw_trace_set_strn(t, i, key, val, strnlen(val, 1024));
}

static void set_num(gw_trace_t *t, int i, const char *key, gw_attr_type_t type, int64_t iv, double dv)
{
    gw_span_t *sp = span_at(t, i);
    gw_span_attr_t *a = sp && gw_trace_sampled(t) ? attr_slot(sp, key) : NULL;
    if (a == NULL)
        return;
    a->type = (uint8_t)type;
    if (type == GW_ATTR_DOUBLE)
        a->v.d = dv;
    else
        a->v.i = iv;
}

void gw_trace_set_int(gw_trace_t *t, int i, const char *key, int64_t val) { set_num(t, i, key, GW_ATTR_INT, val, 0); }
void gw_trace_set_bool(gw_trace_t *t, int i, const char *key, int val) { set_num(t, i, key, GW_ATTR_BOOL, !!val, 0); }
void gw_trace_set_double(gw_trace_t *t, int i, const char *key, double val)
{
    set_num(t, i, key, GW_ATTR_DOUBLE, 0, val);
}

int gw_trace_traceparent(const gw_trace_t *t, int i, char out[GW_TRACEPARENT_LEN + 1])
{
    out[0] = '\0';
    if (t == NULL || i < 0 || (uint32_t)i >= t->n_spans)
        return 0;
    gw_traceparent_format(t->trace_id, t->spans[i].span_id, t->flags, out);
    return 1;
}

const char *gw_trace_attr_str(const gw_trace_t *t, int i, const char *key, size_t *n)
{
    if (t == NULL || i < 0 || (uint32_t)i >= t->n_spans)
        return NULL;
    const gw_span_t *sp = &t->spans[i];
    for (uint8_t k = 0; k < sp->n_attrs; k++)
        if (sp->attrs[k].type == GW_ATTR_STR && strcmp(sp->attrs[k].key, key) == 0) {
            *n = sp->attrs[k].v.s.len;
            return t->arena + sp->attrs[k].v.s.off;
        }
    return NULL;
}

uint64_t gw_trace_unix_ns(const gw_trace_t *t, uint64_t ns) { return (uint64_t)((int64_t)ns + t->unix_offset_ns); }

/* ---- request path helpers ----------------------------------------------- */

int gw_trace_attempt_span(const gw_trace_t *t, const void *call, int number)
{
    for (uint32_t k = 0; t != NULL && k < t->n_attempts; k++)
        if (t->attempts[k].call == call && t->attempts[k].number == number)
            return t->attempts[k].span;
    return -1;
}

void gw_trace_attempts_forget(gw_trace_t *t, const void *call)
{
    for (uint32_t k = 0; t != NULL && k < t->n_attempts; k++)
        if (t->attempts[k].call == call)
            t->attempts[k].number = 0; /* numbers start at 1: never matches again */
}

int gw_trace_attempt_open(gw_trace_t *t, gw_idgen_t *g, const void *call, int number, int parent,
                          uint64_t start_ns, char tp[GW_TRACEPARENT_LEN + 1])
{
    tp[0] = '\0';
    if (t == NULL || number < 1 || span_at(t, parent) == NULL)
        return -1;
    int i = gw_trace_attempt_span(t, call, number);
    if (i < 0) {
        i = add_span(t, g, parent, GW_SPAN_CLIENT, start_ns);
        if (i < 0)
            return -1;
        /* attempts[] has a slot per span, so it cannot be full here */
        t->attempts[t->n_attempts].call = call;
        t->attempts[t->n_attempts].number = number;
        t->attempts[t->n_attempts].span = i;
        t->n_attempts++;
    }
    gw_trace_traceparent(t, i, tp);
    return i;
}

static void attempt_attrs(gw_trace_t *t, int i, const gw_trace_attempt_t *a)
{
    gw_trace_set_str(t, i, "gen_ai.operation.name", a->operation);
    gw_trace_set_str(t, i, "gen_ai.provider.name", a->provider_name);
    gw_trace_set_str(t, i, "gen_ai.request.model", a->model);
    gw_trace_set_str(t, i, "gen_ai.response.model", a->response_model);
    if (a->input_tokens >= 0)
        gw_trace_set_int(t, i, "gen_ai.usage.input_tokens", a->input_tokens);
    if (a->output_tokens >= 0)
        gw_trace_set_int(t, i, "gen_ai.usage.output_tokens", a->output_tokens);
    gw_trace_set_str(t, i, "server.address", a->server_address);
    if (a->server_port > 0)
        gw_trace_set_int(t, i, "server.port", a->server_port);
    if (a->status > 0)
        gw_trace_set_int(t, i, "http.response.status_code", a->status);
    gw_trace_set_int(t, i, "llmgw.attempt", a->number);
    gw_trace_set_str(t, i, "llmgw.failover_reason", a->reason);
    gw_trace_set_str(t, i, "llmgw.provider", a->provider);
    gw_trace_set_str(t, i, "llmgw.model_alias", a->alias);
}

int gw_trace_attempt(gw_trace_t *t, gw_idgen_t *g, const gw_trace_attempt_t *a)
{
    char tp[GW_TRACEPARENT_LEN + 1];
    int i = gw_trace_attempt_open(t, g, a->call, a->number, a->parent, a->start_ns, tp);
    if (i < 0)
        return -1;
    gw_span_t *sp = &t->spans[i];
    set_name(t, sp, a->operation, a->model);
    attempt_attrs(t, i, a);
    int ok = a->status >= 200 && a->status < 300;
    if (!ok) {
        char code[16];
        const char *et = a->reason;
        if (a->status > 0) {
            snprintf(code, sizeof(code), "%d", a->status);
            et = code;
        }
        gw_trace_set_str(t, i, "error.type", et ? et : "_OTHER");
    }
    uint64_t end = a->end_ns > 0 ? a->end_ns : sp->start_ns;
    gw_trace_span_end(t, i, end, ok ? GW_STATUS_UNSET : GW_STATUS_ERROR, ok ? NULL : a->reason);
    return i;
}

int gw_trace_stage(gw_trace_t *t, gw_idgen_t *g, const char *stage, uint64_t start_ns, uint64_t end_ns, int ok)
{
    char name[64];
    if (t == NULL || stage == NULL)
        return -1;
    snprintf(name, sizeof(name), "ask.%s", stage);
    int i = gw_trace_span_begin(t, g, 0, GW_SPAN_INTERNAL, name, start_ns);
    gw_trace_set_str(t, i, "llmgw.ask.stage", stage);
    gw_trace_span_end(t, i, end_ns, ok ? GW_STATUS_UNSET : GW_STATUS_ERROR, NULL);
    return i;
}

void gw_trace_adopt(gw_trace_t *t, int i)
{
    const gw_span_t *p = i > 0 ? span_at(t, i) : NULL;
    if (p == NULL)
        return;
    for (uint32_t k = 1; k < t->n_spans; k++) {
        gw_span_t *c = &t->spans[k];
        if ((int)k != i && c->parent == 0 && c->kind == GW_SPAN_CLIENT && c->start_ns >= p->start_ns &&
            c->end_ns <= p->end_ns)
            c->parent = (int8_t)i;
    }
}

void gw_trace_end(gw_trace_t *t, uint64_t end_ns, int http_status, const char *tenant, const char *error)
{
    if (t == NULL || t->n_spans == 0)
        return;
    if (http_status > 0)
        gw_trace_set_int(t, 0, "http.response.status_code", http_status);
    gw_trace_set_str(t, 0, "llmgw.tenant", tenant);
    char code[16];
    if (error == NULL && http_status >= 500) {
        snprintf(code, sizeof(code), "%d", http_status);
        error = code;
    }
    gw_trace_set_str(t, 0, "error.type", error);
    for (uint32_t i = 1; i < t->n_spans; i++)
        if (!t->spans[i].ended)
            gw_trace_span_end(t, (int)i, end_ns, GW_STATUS_UNSET, NULL);
    int err = http_status >= 500 || (http_status == 0 && error != NULL);
    gw_trace_span_end(t, 0, end_ns, err ? GW_STATUS_ERROR : GW_STATUS_UNSET, err ? error : NULL);
}

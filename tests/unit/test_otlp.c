/* test_otlp.c - unit tests for src/otlp.c: varints, and a whole
 * ExportTraceServiceRequest decoded back by the small independent protobuf
 * decoder below (field numbers written out again from opentelemetry-proto)
 * and compared with the traces it was made from; bounds; the response
 * parser. The official-definition check is tests/integration/otel.test.mjs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "otlp.h"
#include "test.h"
#include "trace.h"

/* ---- a tiny protobuf decoder ---------------------------------------------- */

typedef struct fld {
    uint32_t num;
    int wt;
    uint64_t v;       /* varint, fixed64, fixed32 */
    const uint8_t *p; /* length-delimited */
    size_t n;
} fld_t;

/* 1: a field read; 0: end of message; -1: malformed. */
static int next_fld(const uint8_t **p, const uint8_t *end, fld_t *f)
{
    uint64_t key;
    if (*p == end)
        return 0;
    if (!gw_pb_read_varint(p, end, &key) || (key >> 3) == 0)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if (f->wt == 0)
        return gw_pb_read_varint(p, end, &f->v) ? 1 : -1;
    size_t need = f->wt == 1 ? 8 : f->wt == 5 ? 4 : 0;
    if (f->wt == 2) {
        if (!gw_pb_read_varint(p, end, &f->v) || f->v > (uint64_t)(end - *p))
            return -1;
        f->p = *p;
        f->n = (size_t)f->v;
        *p += f->n;
        return 1;
    }
    if (need == 0 || need > (size_t)(end - *p))
        return -1;
    f->v = 0;
    for (size_t i = 0; i < need; i++)
        f->v |= (uint64_t)(*p)[i] << (8 * i);
    *p += need;
    return 1;
}

typedef struct dattr {
    char key[64];
    int type; /* 1 string, 2 bool, 3 int, 4 double */
    char s[512];
    int64_t i;
    double d;
} dattr_t;

typedef struct dspan {
    uint8_t tid[16], sid[8], pid[8];
    size_t tid_n, sid_n, pid_n;
    char name[128];
    uint64_t kind, start, end, dropped;
    dattr_t attrs[20];
    int nattrs;
    int has_status;
    uint64_t st_code;
    char st_msg[128];
    uint32_t flags;
} dspan_t;

typedef struct dreq {
    int n_rs, n_ss;
    dattr_t res[8];
    int nres;
    char scope[32], scope_ver[32];
    dspan_t spans[40];
    int nspans;
    int bad;
} dreq_t;

static void cpy(char *dst, size_t cap, const fld_t *f)
{
    size_t n = f->n < cap - 1 ? f->n : cap - 1;
    memcpy(dst, f->p, n);
    dst[n] = '\0';
}

/* KeyValue { key = 1; value = 2 } with AnyValue { string 1, bool 2, int 3, double 4 } */
static void dec_kv(const uint8_t *p, size_t n, dattr_t *a, int *bad)
{
    const uint8_t *end = p + n, *q, *qe;
    fld_t f, g;
    int r;
    memset(a, 0, sizeof(*a));
    while ((r = next_fld(&p, end, &f)) == 1) {
        if (f.num == 1 && f.wt == 2) {
            cpy(a->key, sizeof(a->key), &f);
        } else if (f.num == 2 && f.wt == 2) {
            q = f.p;
            qe = f.p + f.n;
            while ((r = next_fld(&q, qe, &g)) == 1) {
                a->type = (int)g.num;
                if (g.num == 1 && g.wt == 2)
                    cpy(a->s, sizeof(a->s), &g);
                else if ((g.num == 2 || g.num == 3) && g.wt == 0)
                    a->i = (int64_t)g.v;
                else if (g.num == 4 && g.wt == 1)
                    memcpy(&a->d, &g.v, 8);
                else
                    *bad = 1;
            }
            *bad |= r < 0;
        } else {
            *bad = 1;
        }
    }
    *bad |= r < 0;
}

static void dec_span(const uint8_t *p, size_t n, dspan_t *s, int *bad)
{
    const uint8_t *end = p + n;
    fld_t f;
    int r;
    memset(s, 0, sizeof(*s));
    while ((r = next_fld(&p, end, &f)) == 1) {
        switch (f.num) {
        case 1: memcpy(s->tid, f.p, f.n < 16 ? f.n : 16), s->tid_n = f.n; break;
        case 2: memcpy(s->sid, f.p, f.n < 8 ? f.n : 8), s->sid_n = f.n; break;
        case 4: memcpy(s->pid, f.p, f.n < 8 ? f.n : 8), s->pid_n = f.n; break;
        case 5: cpy(s->name, sizeof(s->name), &f); break;
        case 6: s->kind = f.v; break;
        case 7: s->start = f.v, *bad |= f.wt != 1; break;
        case 8: s->end = f.v, *bad |= f.wt != 1; break;
        case 9:
            if (s->nattrs < 20)
                dec_kv(f.p, f.n, &s->attrs[s->nattrs++], bad);
            break;
        case 10: s->dropped = f.v; break;
        case 15: {
            const uint8_t *q = f.p, *qe = f.p + f.n;
            fld_t g;
            s->has_status = 1;
            while (next_fld(&q, qe, &g) == 1) {
                if (g.num == 2)
                    cpy(s->st_msg, sizeof(s->st_msg), &g);
                else if (g.num == 3)
                    s->st_code = g.v;
            }
            break;
        }
        case 16: s->flags = (uint32_t)f.v, *bad |= f.wt != 5; break;
        default: *bad = 1;
        }
    }
    *bad |= r < 0;
}

static void dec_scope_spans(const uint8_t *p, size_t n, dreq_t *d)
{
    const uint8_t *end = p + n;
    fld_t f, g;
    int r;
    d->n_ss++;
    while ((r = next_fld(&p, end, &f)) == 1) {
        if (f.num == 1) {
            const uint8_t *q = f.p, *qe = f.p + f.n;
            while (next_fld(&q, qe, &g) == 1)
                cpy(g.num == 1 ? d->scope : d->scope_ver, 32, &g);
        } else if (f.num == 2 && d->nspans < 40) {
            dec_span(f.p, f.n, &d->spans[d->nspans++], &d->bad);
        } else {
            d->bad = 1;
        }
    }
    d->bad |= r < 0;
}

static void dec_request(const uint8_t *p, size_t n, dreq_t *d)
{
    const uint8_t *end = p + n;
    fld_t f, g, h;
    int r;
    memset(d, 0, sizeof(*d));
    while ((r = next_fld(&p, end, &f)) == 1) {
        if (f.num != 1 || f.wt != 2) {
            d->bad = 1;
            continue;
        }
        d->n_rs++;
        const uint8_t *q = f.p, *qe = f.p + f.n;
        while (next_fld(&q, qe, &g) == 1) {
            if (g.num == 1) { /* Resource { attributes = 1 } */
                const uint8_t *s = g.p, *se = g.p + g.n;
                while (next_fld(&s, se, &h) == 1 && d->nres < 8)
                    dec_kv(h.p, h.n, &d->res[d->nres++], &d->bad);
            } else if (g.num == 2) {
                dec_scope_spans(g.p, g.n, d);
            }
        }
    }
    d->bad |= r < 0;
}

static const dattr_t *find(const dattr_t *as, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(as[i].key, key) == 0)
            return &as[i];
    return NULL;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_varint(void)
{
    gw_buf_t b;
    gw_buf_init(&b, 64);
    gw_pb_varint(&b, 0);
    gw_pb_varint(&b, 1);
    gw_pb_varint(&b, 300);
    gw_pb_varint(&b, UINT64_MAX);
    static const uint8_t want[] = {0x00, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x01};
    T_OK(b.len == sizeof(want) && memcmp(b.ptr, want, sizeof(want)) == 0, "varint bytes (len %zu)", b.len);
    const uint8_t *p = (const uint8_t *)b.ptr, *end = p + b.len;
    uint64_t v[4];
    int ok = 1;
    for (int i = 0; i < 4; i++)
        ok &= gw_pb_read_varint(&p, end, &v[i]);
    T_OK(ok && v[0] == 0 && v[1] == 1 && v[2] == 300 && v[3] == UINT64_MAX && p == end, "varints read back");
    static const uint8_t trunc[] = {0x80, 0x80};
    p = trunc;
    T_OK(!gw_pb_read_varint(&p, trunc + 2, &v[0]), "truncated varint refused");
    gw_buf_free(&b);
}

static gw_trace_t *trace_a(gw_idgen_t *g)
{
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    gw_trace_t *t = gw_trace_begin(g, 1000000, tp, strlen(tp), "POST", "/v1/chat/completions");
    gw_trace_attempt_t a1 = {.number = 1, .operation = "chat", .provider_name = "gcp.gemini", .provider = "gemini",
                             .alias = "gemini-1.5-pro", .model = "gemini-1.5-pro", .status = 503,
                             .reason = "status_503", .input_tokens = -1, .output_tokens = -1,
                             .start_ns = 1100000, .end_ns = 2100000};
    gw_trace_attempt_t a2 = {.number = 2, .operation = "chat", .provider_name = "openai", .provider = "openai",
                             .alias = "gpt-4o", .model = "gpt-4o", .response_model = "gpt-4o-2024-08-06",
                             .status = 200, .reason = "ok", .input_tokens = 21, .output_tokens = 300,
                             .start_ns = 2100000, .end_ns = 9000000};
    gw_trace_attempt(t, g, &a1);
    gw_trace_attempt(t, g, &a2);
    gw_trace_stage(t, g, "plan", 1050000, 1090000, 1);
    gw_trace_set_bool(t, 0, "llmgw.stream", 1);
    gw_trace_end(t, 9500000, 200, "acme", NULL);
    return t;
}

static gw_trace_t *trace_b(gw_idgen_t *g)
{
    gw_trace_t *t = gw_trace_begin(g, 5, NULL, 0, "POST", "/v1/embeddings");
    char longs[300];
    memset(longs, 'q', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    gw_trace_set_double(t, 0, "llmgw.cost_usd", 0.125);
    gw_trace_set_int(t, 0, "llmgw.negative", -5);
    gw_trace_set_int(t, 0, "llmgw.zero", 0);
    gw_trace_set_bool(t, 0, "llmgw.false", 0);
    gw_trace_set_str(t, 0, "llmgw.long", longs);
    gw_trace_set_str(t, 0, "llmgw.empty", "");
    gw_trace_end(t, 77, 500, "beta", "internal");
    return t;
}

static void check_attr(const gw_trace_t *t, const gw_span_t *sp, const dspan_t *ds, const char *where)
{
    int ok = ds->nattrs == sp->n_attrs;
    for (int k = 0; k < sp->n_attrs && ok; k++) {
        const gw_span_attr_t *a = &sp->attrs[k];
        const dattr_t *d = find(ds->attrs, ds->nattrs, a->key);
        if (d == NULL) {
            ok = 0;
        } else if (a->type == GW_ATTR_STR) {
            ok = d->type == 1 && strlen(d->s) == a->v.s.len && memcmp(d->s, t->arena + a->v.s.off, a->v.s.len) == 0;
        } else if (a->type == GW_ATTR_DOUBLE) {
            ok = d->type == 4 && d->d == a->v.d;
        } else {
            /* proto3 presence: a oneof member is written even at its default */
            ok = d->type == (a->type == GW_ATTR_BOOL ? 2 : 3) && d->i == a->v.i;
        }
        if (!ok)
            fprintf(stderr, "  attribute %s differs\n", a->key);
    }
    T_OK(ok, "%s: attributes decode to what was set", where);
}

static void check_span(const gw_trace_t *t, int i, const dspan_t *ds)
{
    const gw_span_t *sp = &t->spans[i];
    char where[64];
    snprintf(where, sizeof(where), "span %d (%.40s)", i, ds->name);
    T_OK(ds->tid_n == 16 && memcmp(ds->tid, t->trace_id, 16) == 0, "%s: trace id", where);
    T_OK(ds->sid_n == 8 && memcmp(ds->sid, sp->span_id, 8) == 0, "%s: span id", where);
    if (sp->parent >= 0)
        T_OK(ds->pid_n == 8 && memcmp(ds->pid, t->spans[sp->parent].span_id, 8) == 0, "%s: parent", where);
    else if (t->has_remote_parent)
        T_OK(ds->pid_n == 8 && memcmp(ds->pid, t->remote_parent, 8) == 0, "%s: remote parent", where);
    else
        T_OK(ds->pid_n == 0, "%s: root has no parent_span_id", where);
    T_OK(strlen(ds->name) == sp->name_len && memcmp(ds->name, t->arena + sp->name_off, sp->name_len) == 0, "%s: name",
         where);
    T_OK(ds->kind == sp->kind, "%s: kind %llu", where, (unsigned long long)ds->kind);
    T_OK(ds->start == gw_trace_unix_ns(t, sp->start_ns) && ds->end == gw_trace_unix_ns(t, sp->end_ns), "%s: times",
         where);
    T_OK(ds->end >= ds->start, "%s: end >= start", where);
    T_OK(ds->has_status == (sp->status != 0 || sp->msg_len > 0) && ds->st_code == sp->status &&
             strlen(ds->st_msg) == sp->msg_len,
         "%s: status", where);
    uint32_t want_flags = t->flags | 0x100 | (sp->parent < 0 && t->has_remote_parent ? 0x200 : 0);
    T_OK(ds->flags == want_flags, "%s: flags %#x", where, ds->flags);
    T_OK(ds->dropped == sp->dropped_attrs, "%s: dropped attributes", where);
    check_attr(t, sp, ds, where);
}

static void test_roundtrip(gw_idgen_t *g)
{
    gw_trace_t *ts[2] = {trace_a(g), trace_b(g)};
    gw_buf_t b;
    gw_buf_init(&b, 1 << 20);
    T_OK(gw_otlp_encode((const gw_trace_t *const *)ts, 2, "svc-test", &b) == GW_OK, "encode");
    dreq_t *d = gw_calloc(1, sizeof(*d));
    dec_request((const uint8_t *)b.ptr, b.len, d);
    T_OK(!d->bad, "decodes cleanly, only known fields");
    T_OK(d->n_rs == 1 && d->n_ss == 1, "one ResourceSpans, one ScopeSpans");
    const dattr_t *svc = find(d->res, d->nres, "service.name");
    T_OK(svc != NULL && svc->type == 1 && strcmp(svc->s, "svc-test") == 0, "resource service.name");
    T_OK(strcmp(d->scope, "llmgw") == 0 && d->scope_ver[0] != '\0', "scope name and version");
    T_OK(d->nspans == (int)(ts[0]->n_spans + ts[1]->n_spans) && d->nspans == 5, "all spans: %d", d->nspans);
    int k = 0;
    for (int ti = 0; ti < 2; ti++)
        for (uint32_t s = 0; s < ts[ti]->n_spans && k < d->nspans; s++)
            check_span(ts[ti], (int)s, &d->spans[k++]);
    /* spot checks of values against literals, not only against the struct */
    const dspan_t *root = &d->spans[0], *att2 = &d->spans[2], *rb = &d->spans[4];
    T_OK(strcmp(root->name, "POST /v1/chat/completions") == 0 && root->kind == 2 && root->flags == 0x301,
         "root A literal name/kind/flags");
    static const uint8_t remote[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};
    T_OK(memcmp(root->pid, remote, 8) == 0, "root A parent is the traceparent's span");
    const dattr_t *in = find(att2->attrs, att2->nattrs, "gen_ai.usage.input_tokens");
    const dattr_t *out = find(att2->attrs, att2->nattrs, "gen_ai.usage.output_tokens");
    T_OK(in && in->type == 3 && in->i == 21 && out && out->type == 3 && out->i == 300, "usage tokens 21/300");
    T_OK(strcmp(att2->name, "chat gpt-4o") == 0 && att2->kind == 3 && att2->end - att2->start == 6900000,
         "attempt 2 name, CLIENT, 6.9 ms");
    const dattr_t *neg = find(rb->attrs, rb->nattrs, "llmgw.negative");
    const dattr_t *cost = find(rb->attrs, rb->nattrs, "llmgw.cost_usd");
    const dattr_t *lng = find(rb->attrs, rb->nattrs, "llmgw.long");
    T_OK(neg && neg->i == -5 && cost && cost->d == 0.125 && lng && strlen(lng->s) == 299,
         "int64 -5, double, 299-byte string");
    T_OK(rb->has_status && rb->st_code == 2 && strcmp(rb->st_msg, "internal") == 0 && rb->flags == 0x101,
         "root B: ERROR 'internal', local root flags");
    gw_free(d);

    /* bounds */
    gw_buf_t small;
    gw_buf_init(&small, 200);
    T_OK(gw_otlp_encode((const gw_trace_t *const *)ts, 2, NULL, &small) == GW_ETOOBIG, "bounded buffer: GW_ETOOBIG");
    gw_buf_free(&small);
    gw_buf_reset(&b);
    T_OK(gw_otlp_encode(NULL, 0, NULL, &b) == GW_OK && b.len > 0, "empty batch still a valid request");
    dreq_t *e = gw_calloc(1, sizeof(*e));
    dec_request((const uint8_t *)b.ptr, b.len, e);
    T_OK(!e->bad && e->nspans == 0 && strcmp(find(e->res, e->nres, "service.name")->s, "llmgw") == 0,
         "default service name llmgw");
    gw_free(e);

    /* in two parts, as the exporter sends: the same bytes */
    gw_buf_t spans, head;
    gw_buf_init(&spans, 1 << 20);
    gw_buf_init(&head, 1 << 20);
    gw_buf_reset(&b);
    gw_otlp_encode((const gw_trace_t *const *)ts, 2, "svc-test", &b);
    T_OK(gw_otlp_encode_spans(ts[0], &spans) == GW_OK && gw_otlp_encode_spans(ts[1], &spans) == GW_OK,
         "spans encoded trace by trace");
    T_OK(gw_otlp_head("svc-test", spans.len, &head) == GW_OK, "head for their length");
    T_OK(head.len + spans.len == b.len && memcmp(b.ptr, head.ptr, head.len) == 0 &&
             memcmp(b.ptr + head.len, spans.ptr, spans.len) == 0,
         "head + spans = the whole request, byte for byte (%zu + %zu vs %zu)", head.len, spans.len, b.len);
    size_t before = spans.len;
    gw_buf_t tiny;
    gw_buf_init(&tiny, 50);
    T_OK(gw_otlp_encode_spans(ts[0], &tiny) == GW_ETOOBIG && tiny.len == 0, "a trace that does not fit leaves nothing");
    T_OK(spans.len == before, "untouched");
    gw_buf_free(&tiny);
    gw_buf_free(&spans);
    gw_buf_free(&head);
    gw_buf_free(&b);
    gw_trace_free(ts[0]);
    gw_trace_free(ts[1]);
}

static void test_alloc_failure(gw_idgen_t *g)
{
    gw_trace_t *t = trace_a(g);
    const gw_trace_t *one[1] = {t};
    int all_ok = 1;
    for (long n = 0; n < 12; n++) {
        gw_buf_t b;
        gw_buf_init(&b, 1 << 20);
        gw_alloc_fail_after(n);
        gw_err_t rc = gw_otlp_encode(one, 1, "s", &b);
        gw_alloc_fail_after(-1);
        all_ok &= rc == GW_OK || rc == GW_ENOMEM;
        gw_buf_free(&b);
    }
    T_OK(all_ok, "allocation failures give GW_ENOMEM, no crash or leak");
    gw_trace_free(t);
}

static void test_response(void)
{
    int64_t rej = -1;
    T_OK(gw_otlp_parse_response(NULL, 0, &rej) == GW_OK && rej == 0, "empty response: 0 rejected");
    static const uint8_t ps[] = {0x0a, 0x09, 0x08, 0x05, 0x12, 0x05, 'o', 'o', 'p', 's', '!'};
    T_OK(gw_otlp_parse_response(ps, sizeof(ps), &rej) == GW_OK && rej == 5, "partial_success.rejected_spans 5");
    static const uint8_t unk[] = {0x10, 0x07, 0x0a, 0x02, 0x08, 0x02};
    T_OK(gw_otlp_parse_response(unk, sizeof(unk), &rej) == GW_OK && rej == 2, "unknown field skipped");
    static const uint8_t bad[] = {0x0a, 0x05, 0x08};
    T_OK(gw_otlp_parse_response(bad, sizeof(bad), &rej) == GW_EINVAL, "length past the end refused");
    static const uint8_t badwt[] = {0x0b, 0x00};
    T_OK(gw_otlp_parse_response(badwt, sizeof(badwt), &rej) == GW_EINVAL, "wire type 3 refused");
}

int main(void)
{
    gw_idgen_t g;
    gw_idgen_init(&g);
    test_varint();
    test_roundtrip(&g);
    test_alloc_failure(&g);
    test_response();
    return t_done("test_otlp");
}

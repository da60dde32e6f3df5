/* otlp.c - hand-written protobuf encoding of OTLP trace export requests.
 *
 * Field numbers, from open-telemetry/opentelemetry-proto (v1):
 *  collector/trace/v1/trace_service.proto
 *    ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
 *    ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
 *    ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
 *  trace/v1/trace.proto
 *    ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
 *    ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
 *    Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
 *           fixed32 flags = 16 (SpanFlags masks 0xff, 0x100, 0x200); string name = 5;
 *           SpanKind kind = 6; fixed64 start_time_unix_nano = 7;
 *           fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
 *           uint32 dropped_attributes_count = 10; repeated Event events = 11; ...; Status status = 15; }
 *    Status { string message = 2; StatusCode code = 3; }
 *  resource/v1/resource.proto
 *    Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
 *  common/v1/common.proto
 *    InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
 *    KeyValue { string key = 1; AnyValue value = 2; }
 *    AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
 *               double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6;
 *               bytes bytes_value = 7; } }
 * Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. Fields
 * at their default value (0, "") are left out, as proto3 encoders do.
 * An attribute (KeyValue and its AnyValue) has every length known before
 * its first byte and is written in one pass. Other nested messages are
 * written in place after a one-byte length; when one turns out 128 bytes
 * or longer it is moved up to make room for the longer varint, so each
 * length is the canonical, shortest varint.
 */
#include "otlp.h"

#include <string.h>

#ifndef GW_VERSION
#define GW_VERSION "0"
#endif

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* The encoder: errors are sticky, so a message is written straight down and
 * checked once. */
typedef struct pb {
    gw_buf_t *b;
    gw_err_t rc;
} pb_t;

static size_t varint_to(uint8_t *o, uint64_t v)
{
    size_t k = 0;
    while (v >= 0x80) {
        o[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[k++] = (uint8_t)v;
    return k;
}

gw_err_t gw_pb_varint(gw_buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    return gw_buf_add(b, tmp, varint_to(tmp, v));
}

int gw_pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t c = *(*p)++;
        r |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            *v = r;
            return 1;
        }
    }
    return 0;
}

/* Appends p[0..n): straight into the buffer when it has room (the common
 * case once gw_otlp_encode has reserved for the batch), else through
 * gw_buf_add with its bound. */
static inline void put(pb_t *e, const void *p, size_t n)
{
    gw_buf_t *b = e->b;
    if (e->rc != GW_OK)
        return;
    if (b->len + n < b->cap) {
        memcpy(b->ptr + b->len, p, n);
        b->len += n;
        return;
    }
    e->rc = gw_buf_add(b, p, n);
}

static inline void put_varint(pb_t *e, uint64_t v)
{
    gw_buf_t *b = e->b;
    if (e->rc == GW_OK && b->len + 10 < b->cap) {
        b->len += varint_to((uint8_t *)b->ptr + b->len, v);
        return;
    }
    uint8_t tmp[10];
    put(e, tmp, varint_to(tmp, v));
}

static void put_tag(pb_t *e, uint32_t field, int wt) { put_varint(e, (uint64_t)field << 3 | (uint64_t)wt); }

static void put_bytes(pb_t *e, uint32_t field, const void *p, size_t n)
{
    put_tag(e, field, WT_LEN);
    put_varint(e, n);
    put(e, p, n);
}

static void put_str(pb_t *e, uint32_t field, const char *s, size_t n)
{
    if (n > 0)
        put_bytes(e, field, s, n);
}

static void put_fixed64(pb_t *e, uint32_t field, uint64_t v)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    put_tag(e, field, WT_I64);
    put(e, le, 8);
}

static void put_fixed32(pb_t *e, uint32_t field, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_tag(e, field, WT_I32);
    put(e, le, 4);
}

static void put_uvarint_field(pb_t *e, uint32_t field, uint64_t v)
{
    if (v != 0) {
        put_tag(e, field, WT_VARINT);
        put_varint(e, v);
    }
}

/* Opens a nested message; returns the mark to close it with. One byte is
 * kept for the length, which is enough for most messages here (< 128
 * bytes): those close without moving anything. */
static size_t open_msg(pb_t *e, uint32_t field)
{
    static const uint8_t placeholder = 0;
    put_tag(e, field, WT_LEN);
    put(e, &placeholder, 1);
    return e->b->len;
}

static void close_msg(pb_t *e, size_t mark)
{
    if (e->rc != GW_OK)
        return;
    size_t n = e->b->len - mark;
    if (n < 0x80) {
        e->b->ptr[mark - 1] = (char)n;
        return;
    }
    uint8_t tmp[10];
    size_t k = varint_to(tmp, n);
    e->rc = gw_buf_reserve(e->b, k - 1);
    if (e->rc != GW_OK)
        return;
    memmove(e->b->ptr + mark - 1 + k, e->b->ptr + mark, n);
    memcpy(e->b->ptr + mark - 1, tmp, k);
    e->b->len += k - 1;
    e->b->ptr[e->b->len] = '\0';
}

/* Bytes of the varint of v. */
static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Room for n more bytes written straight (the sticky error set when the
 * buffer's bound refuses them); returns where they go, NULL on error. */
static uint8_t *room(pb_t *e, size_t n)
{
    gw_buf_t *b = e->b;
    if (e->rc != GW_OK)
        return NULL;
    if (b->len + n >= b->cap && (e->rc = gw_buf_reserve(b, n)) != GW_OK)
        return NULL;
    return (uint8_t *)b->ptr + b->len;
}

/* A KeyValue { key = 1; value = 2 (AnyValue) } entry of field `field`,
 * whose AnyValue holds one field: tag vtag, then vlen bytes from v when
 * vtag is length-delimited (string_value), else the vlen bytes of v as they
 * are (a varint or a fixed64). Every length is known before the first byte,
 * so the entry is written in one pass with no placeholder to fix. */
static void put_kv(pb_t *e, uint32_t field, const char *key, size_t klen, uint8_t vtag, const void *v, size_t vlen)
{
    int is_len = (vtag & 7) == WT_LEN;
    size_t av = 1 + (is_len ? varint_len(vlen) : 0) + vlen;
    size_t kv = (klen > 0 ? 1 + varint_len(klen) + klen : 0) + 1 + varint_len(av) + av;
    uint64_t tag = (uint64_t)field << 3 | WT_LEN;
    uint8_t *o = room(e, varint_len(tag) + varint_len(kv) + kv);
    if (o == NULL)
        return;
    uint8_t *start = o;
    o += varint_to(o, tag);
    o += varint_to(o, kv);
    if (klen > 0) { /* key = 1, left out when "" as proto3 does */
        *o++ = 1 << 3 | WT_LEN;
        o += varint_to(o, klen);
        memcpy(o, key, klen);
        o += klen;
    }
    *o++ = 2 << 3 | WT_LEN;
    o += varint_to(o, av);
    *o++ = vtag;
    if (is_len)
        o += varint_to(o, vlen);
    memcpy(o, v, vlen);
    e->b->len += (size_t)(o + vlen - start);
}

static void put_kv_str(pb_t *e, uint32_t field, const char *key, size_t klen, const char *s, size_t n)
{
    put_kv(e, field, key, klen, 1 << 3 | WT_LEN, s, n); /* string_value, written even when "" */
}

static void put_attr(pb_t *e, const gw_trace_t *t, const gw_span_attr_t *a)
{
    uint8_t v[10];
    switch (a->type) {
    case GW_ATTR_STR:
        put_kv_str(e, 9, a->key, a->klen, t->arena + a->v.s.off, a->v.s.len);
        return;
    case GW_ATTR_DOUBLE: { /* double_value = 4, fixed64 */
        uint64_t bits;
        memcpy(&bits, &a->v.d, 8);
        for (int i = 0; i < 8; i++)
            v[i] = (uint8_t)(bits >> (8 * i));
        put_kv(e, 9, a->key, a->klen, 4 << 3 | WT_I64, v, 8);
        return;
    }
    default: /* bool_value = 2 or int_value = 3, varint (int64: two's complement, 10 bytes when negative) */
        put_kv(e, 9, a->key, a->klen, (uint8_t)((a->type == GW_ATTR_BOOL ? 2 : 3) << 3 | WT_VARINT), v,
               varint_to(v, (uint64_t)a->v.i));
    }
}

static void put_span(pb_t *e, const gw_trace_t *t, const gw_span_t *sp)
{
    size_t m = open_msg(e, 2); /* ScopeSpans.spans */
    put_bytes(e, 1, t->trace_id, GW_TRACE_ID_LEN);
    put_bytes(e, 2, sp->span_id, GW_SPAN_ID_LEN);
    if (sp->parent >= 0)
        put_bytes(e, 4, t->spans[sp->parent].span_id, GW_SPAN_ID_LEN);
    else if (t->has_remote_parent)
        put_bytes(e, 4, t->remote_parent, GW_SPAN_ID_LEN);
    put_str(e, 5, t->arena + sp->name_off, sp->name_len);
    put_uvarint_field(e, 6, sp->kind);
    put_fixed64(e, 7, gw_trace_unix_ns(t, sp->start_ns));
    put_fixed64(e, 8, gw_trace_unix_ns(t, sp->end_ns));
    for (uint8_t k = 0; k < sp->n_attrs; k++)
        put_attr(e, t, &sp->attrs[k]);
    put_uvarint_field(e, 10, sp->dropped_attrs);
    if (sp->status != GW_STATUS_UNSET || sp->msg_len > 0) {
        size_t st = open_msg(e, 15);
        put_str(e, 2, t->arena + sp->msg_off, sp->msg_len);
        put_uvarint_field(e, 3, sp->status);
        close_msg(e, st);
    }
    /* low 8 bits: W3C trace flags; 0x100 SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK,
     * 0x200 SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK: whether the parent is remote */
    uint32_t remote = sp->parent < 0 && t->has_remote_parent ? 0x200 : 0;
    put_fixed32(e, 16, (uint32_t)t->flags | 0x100 | remote);
    close_msg(e, m);
}

gw_err_t gw_otlp_encode_spans(const gw_trace_t *t, gw_buf_t *out)
{
    pb_t e = {out, GW_OK};
    size_t old = out->len;
    if (gw_buf_reserve(out, t->n_spans * 640) != GW_OK) /* room for the usual span: put() then writes straight */
        gw_buf_reserve(out, 0);
    for (uint32_t s = 0; s < t->n_spans; s++)
        put_span(&e, t, &t->spans[s]);
    if (e.rc != GW_OK)
        out->len = old;
    if (out->ptr != NULL)
        out->ptr[out->len] = '\0'; /* gw_buf's invariant (put() writes without it) */
    return e.rc;
}

/* The Resource and the scope entries, as they sit inside ResourceSpans and
 * ScopeSpans (field tag and length included). */
static gw_err_t resource_and_scope(const char *svc, gw_buf_t *res, gw_buf_t *scope)
{
    pb_t r = {res, GW_OK}, s = {scope, GW_OK};
    size_t m = open_msg(&r, 1); /* ResourceSpans.resource */
    put_kv_str(&r, 1, "service.name", 12, svc, strlen(svc));
    put_kv_str(&r, 1, "telemetry.sdk.name", 18, "llmgw", 5);
    put_kv_str(&r, 1, "telemetry.sdk.language", 22, "c", 1);
    close_msg(&r, m);
    m = open_msg(&s, 1); /* ScopeSpans.scope */
    put_str(&s, 1, "llmgw", 5);
    put_str(&s, 2, GW_VERSION, strlen(GW_VERSION));
    close_msg(&s, m);
    return r.rc != GW_OK ? r.rc : s.rc;
}

gw_err_t gw_otlp_prefix_init(gw_otlp_prefix_t *p, const char *service_name)
{
    gw_buf_init(&p->res, 64 * 1024);
    gw_buf_init(&p->scope, 1024);
    gw_err_t rc = resource_and_scope(service_name ? service_name : "llmgw", &p->res, &p->scope);
    if (rc != GW_OK)
        gw_otlp_prefix_free(p);
    return rc;
}

void gw_otlp_prefix_free(gw_otlp_prefix_t *p)
{
    gw_buf_free(&p->res);
    gw_buf_free(&p->scope);
}

gw_err_t gw_otlp_head_from(const gw_otlp_prefix_t *p, size_t spans_len, gw_buf_t *out)
{
    pb_t e = {out, GW_OK};
    size_t ss_len = p->scope.len + spans_len;
    uint8_t tmp[10];
    put_tag(&e, 1, WT_LEN); /* ExportTraceServiceRequest.resource_spans */
    put_varint(&e, p->res.len + 1 + varint_to(tmp, ss_len) + ss_len);
    put(&e, p->res.ptr, p->res.len);
    put_tag(&e, 2, WT_LEN); /* ResourceSpans.scope_spans */
    put_varint(&e, ss_len);
    put(&e, p->scope.ptr, p->scope.len);
    if (out->ptr != NULL)
        out->ptr[out->len] = '\0';
    return e.rc;
}

gw_err_t gw_otlp_head(const char *service_name, size_t spans_len, gw_buf_t *out)
{
    gw_otlp_prefix_t p;
    gw_err_t rc = gw_otlp_prefix_init(&p, service_name);
    if (rc != GW_OK)
        return rc;
    rc = gw_otlp_head_from(&p, spans_len, out);
    gw_otlp_prefix_free(&p);
    return rc;
}

gw_err_t gw_otlp_encode(const gw_trace_t *const *traces, size_t n, const char *service_name, gw_buf_t *out)
{
    size_t mark = out->len;
    gw_err_t rc = GW_OK;
    for (size_t i = 0; i < n && rc == GW_OK; i++)
        rc = gw_otlp_encode_spans(traces[i], out);
    gw_buf_t head;
    gw_buf_init(&head, 64 * 1024);
    if (rc == GW_OK)
        rc = gw_otlp_head(service_name, out->len - mark, &head);
    if (rc == GW_OK)
        rc = gw_buf_reserve(out, head.len);
    if (rc == GW_OK) { /* the head goes in front of the spans */
        memmove(out->ptr + mark + head.len, out->ptr + mark, out->len - mark);
        memcpy(out->ptr + mark, head.ptr, head.len);
        out->len += head.len;
        out->ptr[out->len] = '\0';
    }
    gw_buf_free(&head);
    return rc;
}

/* Skips one field of wire type wt at *p. 0 when malformed. */
static int skip_field(const uint8_t **p, const uint8_t *end, int wt)
{
    uint64_t v;
    size_t need = wt == WT_I64 ? 8 : wt == WT_I32 ? 4 : 0;
    if (wt == WT_VARINT)
        return gw_pb_read_varint(p, end, &v);
    if (wt == WT_LEN) {
        if (!gw_pb_read_varint(p, end, &v))
            return 0;
        need = (size_t)v;
        if (v > (uint64_t)(end - *p))
            return 0;
    } else if (need == 0) {
        return 0;
    }
    if (need > (size_t)(end - *p))
        return 0;
    *p += need;
    return 1;
}

gw_err_t gw_otlp_parse_response(const uint8_t *p, size_t n, int64_t *rejected)
{
    const uint8_t *end = p + n;
    uint64_t key, v;
    *rejected = 0;
    while (p < end) {
        if (!gw_pb_read_varint(&p, end, &key))
            return GW_EINVAL;
        if (key != (1 << 3 | WT_LEN)) {
            if (!skip_field(&p, end, (int)(key & 7)))
                return GW_EINVAL;
            continue;
        }
        if (!gw_pb_read_varint(&p, end, &v) || v > (uint64_t)(end - p))
            return GW_EINVAL;
        const uint8_t *q = p, *qend = p + v;
        p = qend;
        while (q < qend) {
            if (!gw_pb_read_varint(&q, qend, &key))
                return GW_EINVAL;
            if (key == (1 << 3 | WT_VARINT)) {
                if (!gw_pb_read_varint(&q, qend, &v))
                    return GW_EINVAL;
                *rejected = (int64_t)v;
            } else if (!skip_field(&q, qend, (int)(key & 7))) {
                return GW_EINVAL;
            }
        }
    }
    return GW_OK;
}

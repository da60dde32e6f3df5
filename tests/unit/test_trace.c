/* test_trace.c - unit tests for src/trace.c: the id generator, W3C
 * traceparent parsing (valid and invalid vectors after the trace-context
 * spec and its test suite) and formatting, and the span model: tree,
 * attributes, GenAI attempt spans, limits and NULL tolerance.
 */
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "trace.h"
#include "trace_router.h"

static const char *VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

static void test_idgen(void)
{
    gw_idgen_t a, b;
    T_OK(gw_idgen_init(&a) == GW_OK && gw_idgen_init(&b) == GW_OK, "idgen init");
    uint8_t t1[16], t2[16], s1[8], s2[8], zero[16] = {0};
    int distinct = 1, nonzero = 1;
    for (int i = 0; i < 1000; i++) {
        gw_idgen_trace_id(&a, t1);
        gw_idgen_trace_id(&b, t2);
        gw_idgen_span_id(&a, s1);
        gw_idgen_span_id(&a, s2);
        distinct &= memcmp(t1, t2, 16) != 0 && memcmp(s1, s2, 8) != 0;
        nonzero &= memcmp(t1, zero, 16) != 0 && memcmp(s1, zero, 8) != 0;
    }
    T_OK(distinct, "two generators and successive span ids differ");
    T_OK(nonzero, "ids are never all zero");
    /* the high half of a trace id is random too (not only the first 8 bytes) */
    int hi_varies = 0;
    uint8_t first[16];
    gw_idgen_trace_id(&a, first);
    for (int i = 0; i < 16 && !hi_varies; i++) {
        gw_idgen_trace_id(&a, t1);
        hi_varies = memcmp(t1 + 8, first + 8, 8) != 0;
    }
    T_OK(hi_varies, "bytes 8..15 of trace ids vary");
}

static void test_parse_valid(void)
{
    gw_traceparent_t tp;
    T_OK(gw_traceparent_parse(VALID, strlen(VALID), &tp) == GW_OK, "spec example parses");
    static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    static const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    T_OK(memcmp(tp.trace_id, tid, 16) == 0, "trace id bytes");
    T_OK(memcmp(tp.span_id, sid, 8) == 0, "parent id bytes");
    T_OK(tp.flags == 0x01, "flags 01");
    const char *v0 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    T_OK(gw_traceparent_parse(v0, strlen(v0), &tp) == GW_OK && tp.flags == 0, "flags 00 (not sampled)");
    const char *vf = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff";
    T_OK(gw_traceparent_parse(vf, strlen(vf), &tp) == GW_OK && tp.flags == 0xff, "unknown flag bits are accepted");
    const char *ows = " \t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \t";
    T_OK(gw_traceparent_parse(ows, strlen(ows), &tp) == GW_OK && tp.flags == 1, "OWS around the value");
    char buf[GW_TRACEPARENT_LEN + 1];
    gw_traceparent_parse(VALID, strlen(VALID), &tp);
    gw_traceparent_format(tp.trace_id, tp.span_id, tp.flags, buf);
    T_STREQ(buf, VALID, "format(parse(x)) == x");
    T_OK(strlen(buf) == GW_TRACEPARENT_LEN, "formatted length 55");
}

static void test_parse_invalid(void)
{
    static const char *bad[] = {
        "",
        "00",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",   /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902B7-01",   /* one uppercase digit */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",   /* uppercase flags */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   /* zero parent id */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* version ff is forbidden */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* only version 00 here */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-00", /* extra field on 00 */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",    /* short flags */
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",   /* misplaced dash */
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",   /* wrong delimiter */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",   /* non-hex trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",   /* non-hex parent id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",   /* non-hex flags */
        "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* non-hex version */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.",  /* trailing junk */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01,",  /* list separator */
        "00 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 01",   /* spaces for dashes */
        "00-4bf92f3577b34da6a3ce929d0e0e4736--0f067aa0ba902b7-01",   /* double dash */
    };
    gw_traceparent_t tp;
    memset(&tp, 0x5a, sizeof(tp));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        T_OK(gw_traceparent_parse(bad[i], strlen(bad[i]), &tp) == GW_EINVAL, "invalid #%zu: '%s'", i, bad[i]);
    T_OK(tp.flags == 0x5a, "*out untouched on failure");
    T_OK(gw_traceparent_parse(NULL, 55, &tp) == GW_EINVAL, "NULL");
    char nul[GW_TRACEPARENT_LEN];
    memcpy(nul, VALID, GW_TRACEPARENT_LEN);
    nul[20] = '\0';
    T_OK(gw_traceparent_parse(nul, GW_TRACEPARENT_LEN, &tp) == GW_EINVAL, "embedded NUL");
    T_OK(gw_traceparent_parse(VALID, GW_TRACEPARENT_LEN - 1, &tp) == GW_EINVAL, "one byte short");
}

static int attr_int(const gw_trace_t *t, int i, const char *key, int64_t *v)
{
    const gw_span_t *sp = &t->spans[i];
    for (int k = 0; k < sp->n_attrs; k++)
        if (strcmp(sp->attrs[k].key, key) == 0 &&
            (sp->attrs[k].type == GW_ATTR_INT || sp->attrs[k].type == GW_ATTR_BOOL)) {
            *v = sp->attrs[k].v.i;
            return 1;
        }
    return 0;
}

static int attr_is(const gw_trace_t *t, int i, const char *key, const char *want)
{
    size_t n = 0;
    const char *v = gw_trace_attr_str(t, i, key, &n);
    return v != NULL && n == strlen(want) && memcmp(v, want, n) == 0;
}

static int name_is(const gw_trace_t *t, int i, const char *want)
{
    const gw_span_t *sp = &t->spans[i];
    return sp->name_len == strlen(want) && memcmp(t->arena + sp->name_off, want, sp->name_len) == 0;
}

static void test_root(gw_idgen_t *g)
{
    gw_trace_t *t = gw_trace_begin(g, 1000, NULL, 0, "POST", "/v1/chat/completions");
    T_OK(t != NULL && t->n_spans == 1, "root span");
    T_OK(gw_trace_sampled(t) && !t->has_remote_parent, "new trace: sampled, no remote parent");
    T_OK(t->spans[0].kind == GW_SPAN_SERVER && t->spans[0].parent == -1, "root is SERVER, no parent");
    T_OK(name_is(t, 0, "POST /v1/chat/completions"), "root name");
    T_OK(attr_is(t, 0, "http.request.method", "POST") && attr_is(t, 0, "http.route", "/v1/chat/completions"),
         "method and route attributes");
    gw_trace_end(t, 5000, 200, "acme", NULL);
    int64_t st = 0;
    T_OK(attr_int(t, 0, "http.response.status_code", &st) && st == 200, "status attribute 200");
    T_OK(attr_is(t, 0, "llmgw.tenant", "acme"), "tenant attribute");
    T_OK(t->spans[0].ended && t->spans[0].end_ns == 5000 && t->spans[0].status == GW_STATUS_UNSET,
         "root closed, unset");
    uint64_t u = gw_trace_unix_ns(t, 1000);
    T_OK(u > 1700000000ull * 1000000000ull, "unix time of a monotonic instant is after 2023");
    gw_trace_free(t);

    t = gw_trace_begin(g, 1, VALID, strlen(VALID), "POST", "/v1/ask");
    T_OK(t->has_remote_parent && t->flags == 1, "remote parent taken");
    char tp[GW_TRACEPARENT_LEN + 1];
    T_OK(gw_trace_traceparent(t, 0, tp) == 1 && memcmp(tp, VALID, 36) == 0 && strcmp(tp + 52, "-01") == 0,
         "same trace id and flags, own span id: %s", tp);
    T_OK(memcmp(tp + 36, VALID + 36, 16) != 0, "root has its own span id");
    gw_trace_end(t, 10, 502, NULL, "upstream_failed");
    T_OK(t->spans[0].status == GW_STATUS_ERROR, "5xx root is ERROR");
    T_OK(attr_is(t, 0, "error.type", "upstream_failed"), "error.type on root");
    T_OK(gw_trace_attr_str(t, 0, "llmgw.tenant", &(size_t){0}) == NULL, "no tenant attribute when NULL");
    gw_trace_free(t);

    t = gw_trace_begin(g, 1, NULL, 0, "POST", "/v1/rerank");
    gw_trace_end(t, 2, 503, "acme", NULL);
    T_OK(attr_is(t, 0, "error.type", "503") && t->spans[0].status == GW_STATUS_ERROR,
         "5xx without a code: error.type is the status");
    gw_trace_free(t);
    t = gw_trace_begin(g, 1, NULL, 0, "POST", "/v1/rerank");
    gw_trace_end(t, 2, 429, "acme", "rate_limited");
    T_OK(attr_is(t, 0, "error.type", "rate_limited") && t->spans[0].status == GW_STATUS_UNSET,
         "429 with a code: UNSET, error.type kept");
    gw_trace_free(t);

    const char *unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    t = gw_trace_begin(g, 1, unsampled, strlen(unsampled), "GET", "/v1/models");
    T_OK(!gw_trace_sampled(t), "flags 00: not sampled");
    gw_trace_set_str(t, 0, "llmgw.request_id", "req_1");
    gw_trace_set_int(t, 0, "llmgw.attempt", 1);
    char utp[GW_TRACEPARENT_LEN + 1];
    int us = gw_trace_attempt_open(t, g, NULL, 1, 0, 1, utp);
    T_OK(t->spans[0].n_attrs == 0 && t->arena_len == 0 && t->spans[0].name_len == 0,
         "not sampled: no attribute, no name recorded (%u attrs, %u arena bytes)", t->spans[0].n_attrs, t->arena_len);
    T_OK(us == 1 && strlen(utp) == 55 && strncmp(utp, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36) == 0 &&
             strcmp(utp + 53, "00") == 0,
         "not sampled: the attempt still gets ids and a traceparent with flags 00: %s", utp);
    gw_trace_end(t, 2, 404, "t", NULL);
    T_OK(t->spans[0].status == GW_STATUS_UNSET, "4xx server span stays UNSET");
    gw_trace_free(t);
}

static void test_attempts(gw_idgen_t *g)
{
    gw_trace_t *t = gw_trace_begin(g, 100, NULL, 0, "POST", "/v1/chat/completions");
    char tp[GW_TRACEPARENT_LEN + 1];
    int s1 = gw_trace_attempt_open(t, g, NULL, 1, 0, 200, tp);
    T_OK(s1 == 1 && strlen(tp) == 55, "attempt 1 opened with a traceparent");
    char want[GW_TRACEPARENT_LEN + 1];
    gw_trace_traceparent(t, s1, want);
    T_STREQ(tp, want, "traceparent names the attempt's span");
    gw_trace_attempt_t a1 = {.number = 1, .parent = 0, .operation = "chat", .provider_name = "openai",
                             .provider = "oai", .alias = "gpt-4o", .model = "gpt-4o-2024", .status = 503,
                             .reason = "status_503", .input_tokens = -1, .output_tokens = -1,
                             .start_ns = 999, .end_ns = 400, .server_address = "api.openai.com", .server_port = 443};
    T_OK(gw_trace_attempt(t, g, &a1) == s1, "attempt 1 fills the opened span");
    const gw_span_t *sp = &t->spans[s1];
    T_OK(sp->start_ns == 200 && sp->end_ns == 400, "opened start kept, end set");
    T_OK(sp->kind == GW_SPAN_CLIENT && sp->parent == 0, "CLIENT child of root");
    T_OK(name_is(t, s1, "chat gpt-4o-2024"), "name '{operation} {model}'");
    T_OK(sp->status == GW_STATUS_ERROR && sp->msg_len == 10, "503 attempt is ERROR with the reason");
    T_OK(attr_is(t, s1, "error.type", "503"), "error.type is the status code");
    T_OK(attr_is(t, s1, "gen_ai.provider.name", "openai") && attr_is(t, s1, "gen_ai.operation.name", "chat") &&
             attr_is(t, s1, "gen_ai.request.model", "gpt-4o-2024") &&
             attr_is(t, s1, "llmgw.failover_reason", "status_503") &&
             attr_is(t, s1, "llmgw.provider", "oai") && attr_is(t, s1, "llmgw.model_alias", "gpt-4o") &&
             attr_is(t, s1, "server.address", "api.openai.com"),
         "attempt 1 string attributes");
    int64_t v = 0;
    T_OK(!attr_int(t, s1, "gen_ai.usage.input_tokens", &v), "unknown usage left out");
    T_OK(attr_int(t, s1, "llmgw.attempt", &v) && v == 1, "attempt number");
    T_OK(attr_int(t, s1, "server.port", &v) && v == 443, "server.port");

    gw_trace_attempt_t a2 = {.number = 2, .parent = 0, .operation = "chat", .provider_name = "anthropic",
                             .provider = "claude", .alias = "claude-3", .model = "claude-3-sonnet",
                             .response_model = "claude-3-sonnet-20240229", .status = 200, .reason = "ok",
                             .input_tokens = 12, .output_tokens = 34, .start_ns = 400, .end_ns = 900};
    int s2 = gw_trace_attempt(t, g, &a2);
    T_OK(s2 == 2 && t->spans[s2].start_ns == 400 && t->spans[s2].end_ns == 900, "attempt 2 created with its times");
    T_OK(t->spans[s2].status == GW_STATUS_UNSET && gw_trace_attr_str(t, s2, "error.type", &(size_t){0}) == NULL,
         "2xx attempt: UNSET, no error.type");
    T_OK(attr_int(t, s2, "gen_ai.usage.input_tokens", &v) && v == 12, "input tokens");
    T_OK(attr_int(t, s2, "gen_ai.usage.output_tokens", &v) && v == 34, "output tokens");
    T_OK(attr_is(t, s2, "gen_ai.response.model", "claude-3-sonnet-20240229"), "response model");
    T_OK(memcmp(t->spans[s1].span_id, t->spans[s2].span_id, 8) != 0, "distinct span ids");

    gw_trace_attempt_t a3 = {.number = 3, .operation = "embeddings", .model = "m", .status = 0,
                             .reason = "connect_error", .input_tokens = -1, .output_tokens = -1};
    int s3 = gw_trace_attempt(t, g, &a3);
    T_OK(attr_is(t, s3, "error.type", "connect_error"), "no status: error.type is the reason");
    int st = gw_trace_stage(t, g, "retrieve", 120, 180, 1);
    T_OK(st == 4 && name_is(t, st, "ask.retrieve") && t->spans[st].kind == GW_SPAN_INTERNAL, "stage span");
    int open = gw_trace_span_begin(t, g, 0, GW_SPAN_INTERNAL, "left-open", 950);
    gw_trace_end(t, 1000, 200, "acme", NULL);
    T_OK(t->spans[open].ended && t->spans[open].end_ns == 1000, "gw_trace_end closes open spans");
    gw_trace_free(t);
}

static void test_limits(gw_idgen_t *g)
{
    gw_trace_t *t = gw_trace_begin(g, 0, NULL, 0, "POST", "/x");
    int last = 0;
    for (int i = 1; i < GW_TRACE_MAX_SPANS + 3; i++)
        last = gw_trace_span_begin(t, g, 0, GW_SPAN_INTERNAL, "s", 1);
    T_OK(last == -1 && t->n_spans == GW_TRACE_MAX_SPANS && t->dropped_spans == 3, "span overflow counted: %u",
         t->dropped_spans);
    T_OK(gw_trace_span_begin(t, g, 99, GW_SPAN_INTERNAL, "s", 1) == -1, "bad parent refused");
    static const char *keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9",
                                 "k10", "k11", "k12", "k13", "k14", "k15"};
    for (int i = 0; i < 16; i++)
        gw_trace_set_int(t, 1, keys[i], i);
    T_OK(t->spans[1].n_attrs == GW_SPAN_MAX_ATTRS && t->spans[1].dropped_attrs == 16 - GW_SPAN_MAX_ATTRS,
         "attribute overflow counted");
    gw_trace_set_int(t, 1, "k3", 42);
    int64_t v = 0;
    T_OK(attr_int(t, 1, "k3", &v) && v == 42 && t->spans[1].n_attrs == GW_SPAN_MAX_ATTRS, "same key overwritten");
    char big[1000];
    memset(big, 'x', sizeof(big));
    int fitted = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t before = t->spans[2].dropped_attrs;
        gw_trace_set_strn(t, 2, keys[i], big, sizeof(big));
        fitted += t->spans[2].dropped_attrs == before;
    }
    T_OK(fitted == 2 && t->spans[2].dropped_attrs == 2 && t->arena_len <= GW_TRACE_ARENA, "arena bound: %d fitted",
         fitted);
    gw_trace_free(t);

    /* NULL is a no-op everywhere */
    char tp[GW_TRACEPARENT_LEN + 1] = "x";
    gw_trace_set_str(NULL, 0, "k", "v");
    gw_trace_end(NULL, 0, 200, NULL, NULL);
    T_OK(gw_trace_attempt_open(NULL, g, NULL, 1, 0, 0, tp) == -1 && tp[0] == '\0', "NULL trace: no traceparent");
    T_OK(gw_trace_traceparent(NULL, 0, tp) == 0 && !gw_trace_sampled(NULL), "NULL trace queries");
    T_OK(gw_trace_stage(NULL, g, "plan", 0, 1, 1) == -1, "NULL stage");
    gw_trace_free(NULL);
}

static void test_router_result(gw_idgen_t *g)
{
    gw_cfg_provider_t provs[2] = {{.name = "gem", .kind = GW_PROV_GEMINI, .host = "gem.example", .port = 443},
                                  {.name = "claude", .kind = GW_PROV_ANTHROPIC, .host = "127.0.0.1", .port = 18001}};
    gw_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.providers = provs;
    cfg.providers_len = 2;
    gw_router_result_t res;
    memset(&res, 0, sizeof(res));
    res.n_attempts = 2;
    res.attempts[0] = (gw_attempt_t){.alias = "g15", .provider = "gem", .model = "gemini-1.5-pro", .status = 0,
                                     .reason = "first_byte_timeout", .ms = 2.5, .usage = {-1, -1}};
    res.attempts[1] = (gw_attempt_t){.alias = "c3", .provider = "claude", .model = "claude-3", .status = 200,
                                     .reason = "ok", .ms = 4.0, .usage = {7, 9}};
    gw_trace_t *t = gw_trace_begin(g, 1000000, NULL, 0, "POST", "/v1/chat/completions");
    char tp[GW_TRACEPARENT_LEN + 1];
    int opened = gw_trace_attempt_open(t, g, &res, 2, 0, 9000000, tp); /* the router opened attempt 2 itself */
    T_OK(gw_trace_router_result(t, g, 0, &cfg, GW_OP_CHAT, &res, 2000000) == 2, "two attempt spans");
    int s1 = gw_trace_attempt_span(t, &res, 1), s2 = gw_trace_attempt_span(t, &res, 2);
    T_OK(s2 == opened && s1 == 2, "attempt 2 reused its opened span, attempt 1 got a new one");
    T_OK(t->spans[s1].start_ns == 2000000 && t->spans[s1].end_ns == 4500000, "attempt 1 laid from router start");
    T_OK(t->spans[s2].start_ns == 9000000 && t->spans[s2].end_ns == 13000000, "attempt 2 keeps its opened start");
    T_OK(attr_is(t, s1, "gen_ai.provider.name", "gcp.gemini") && attr_is(t, s1, "server.address", "gem.example") &&
             attr_is(t, s1, "error.type", "first_byte_timeout") && attr_is(t, s1, "llmgw.model_alias", "g15"),
         "attempt 1 attributes from the config");
    int64_t v = 0;
    T_OK(attr_is(t, s2, "gen_ai.provider.name", "anthropic") && attr_int(t, s2, "server.port", &v) && v == 18001,
         "attempt 2 provider and port");
    T_OK(attr_int(t, s2, "gen_ai.usage.output_tokens", &v) && v == 9, "attempt 2 usage");
    T_OK(name_is(t, s2, "chat claude-3") && t->spans[s2].status == GW_STATUS_UNSET, "attempt 2 name and status");
    T_STREQ(gw_trace_op_name(GW_OP_EMBEDDINGS), "embeddings", "op name");
    T_STREQ(gw_trace_provider_name(GW_PROV_OPENAI), "openai", "provider name");
    T_OK(gw_trace_router_result(NULL, g, 0, &cfg, GW_OP_CHAT, &res, 0) == 0, "NULL trace");
    /* a second router call in the same request (ask: planner, then formatter)
     * has its own attempt 1 and 2 */
    gw_router_result_t res2 = res;
    T_OK(gw_trace_router_result(t, g, 0, &cfg, GW_OP_CHAT, &res2, 20000000) == 2, "second call: two more spans");
    int u1 = gw_trace_attempt_span(t, &res2, 1), u2 = gw_trace_attempt_span(t, &res2, 2);
    T_OK(u1 > s2 && u2 > s2 && u1 != u2 && t->n_spans == 5, "distinct spans for the second call (%d %d)", u1, u2);
    T_OK(t->spans[u1].start_ns == 20000000 && gw_trace_attempt_span(t, &res, 1) == s1, "first call's map unchanged");
    T_OK(gw_trace_attempt_open(t, g, &res2, 1, 0, 1, tp) == u1 && t->n_spans == 5, "reopening gives the same span");
    gw_trace_free(t);
}

int main(void)
{
    gw_idgen_t g;
    gw_idgen_init(&g);
    test_idgen();
    test_parse_valid();
    test_parse_invalid();
    test_root(&g);
    test_attempts(&g);
    test_limits(&g);
    test_router_result(&g);
    return t_done("test_trace");
}

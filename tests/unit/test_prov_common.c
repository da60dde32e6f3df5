/* test_prov_common.c - provider-neutral parts of provider.h: kind names,
 * gw_chat_inspect's validation and fields (OAI-1), status rules, OpenAI
 * error objects and frames (ANT-5), the jsmn wrapper and helpers.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "prov_internal.h"
#include "provider.h"
#include "test.h"

static const char OAI1[] =
    "{\"model\":\"gpt-test-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":"
    "\"user\",\"content\":\"Name a prime number above 10.\"}],\"max_completion_tokens\":16,\"temperature\":0.2,"
    "\"stop\":[\"\\n\\n\"],\"user\":\"u-42\"}";

static void test_kinds(void)
{
    gw_prov_kind_t k = GW_PROV_GEMINI;
    T_OK(gw_prov_kind_parse("openai", &k) == GW_OK && k == GW_PROV_OPENAI, "parse openai");
    T_OK(gw_prov_kind_parse("anthropic", &k) == GW_OK && k == GW_PROV_ANTHROPIC, "parse anthropic");
    T_OK(gw_prov_kind_parse("gemini", &k) == GW_OK && k == GW_PROV_GEMINI, "parse gemini");
    T_OK(gw_prov_kind_parse("Gemini", &k) == GW_EINVAL, "case matters");
    T_OK(gw_prov_kind_parse("", &k) == GW_EINVAL, "empty");
    T_OK(gw_prov_kind_parse(NULL, &k) == GW_EINVAL, "NULL");
    T_STREQ(gw_prov_kind_name(GW_PROV_OPENAI), "openai", "name openai");
    T_STREQ(gw_prov_kind_name(GW_PROV_ANTHROPIC), "anthropic", "name anthropic");
    T_STREQ(gw_prov_kind_name(GW_PROV_GEMINI), "gemini", "name gemini");
}

static void test_inspect_oai1(void)
{
    gw_chat_info_t info;
    gw_prov_errmsg_t msg = {{0}, {0}};
    T_OK(gw_chat_inspect(OAI1, strlen(OAI1), &info, &msg) == GW_OK, "OAI-1 inspects: %s", msg.message);
    T_OK(info.model_len == 13 && memcmp(info.model, "gpt-test-mini", 13) == 0, "model");
    T_OK(info.model == OAI1 + 10, "model points into the body");
    T_OK(info.stream == 0 && info.include_usage == 0, "not a stream");
    T_OK(info.max_tokens == 16, "max_completion_tokens: %lld", (long long)info.max_tokens);
    T_OK(info.prompt_chars == strlen("You are terse.") + strlen("Name a prime number above 10."), "prompt_chars %zu",
         info.prompt_chars);
    T_OK(info.splice.body == OAI1 && info.splice.body_len == strlen(OAI1), "splice body");
    T_OK(info.splice.obj_end == strlen(OAI1) - 1, "obj_end");
    T_OK(info.splice.model_at == 9 && info.splice.model_end == 24, "model span %zu %zu", info.splice.model_at,
         info.splice.model_end);
    T_OK(info.splice.so_end == 0, "no stream_options");
}

static void test_inspect_fields(void)
{
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    const char *b = " {\"stream\" : true ,\n \"stream_options\": {\"include_usage\": true},\"max_tokens\":7,"
                    "\"max_completion_tokens\":null,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                    "\"text\":\"abc\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}},"
                    "{\"type\":\"text\",\"text\":\"de\"}]},{\"role\":\"assistant\",\"content\":null}],\"model\":\"m\"}\n";
    T_OK(gw_chat_inspect(b, strlen(b), &info, &msg) == GW_OK, "fields inspect: %s", msg.message);
    T_OK(info.stream == 1 && info.include_usage == 1, "stream and include_usage");
    T_OK(info.max_tokens == 7, "max_tokens when max_completion_tokens is null");
    T_OK(info.prompt_chars == 5, "text parts counted, image not: %zu", info.prompt_chars);
    T_OK(info.model_len == 1 && info.model[0] == 'm', "model last");

    b = "{\"model\":\"m\",\"messages\":[{}],\"max_tokens\":100,\"max_completion_tokens\":5,\"stream\":null,"
        "\"stream_options\":null}";
    T_OK(gw_chat_inspect(b, strlen(b), &info, &msg) == GW_OK, "nulls: %s", msg.message);
    T_OK(info.max_tokens == 5, "max_completion_tokens preferred");
    T_OK(info.stream == 0 && info.include_usage == 0, "null stream");
    T_OK(info.splice.so_end != 0 && b[info.splice.so_at] == 'n', "stream_options null located");

    b = "{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}],\"stream\":false,\"stream_options\":"
        "{\"include_usage\":false}}";
    T_OK(gw_chat_inspect(b, strlen(b), &info, &msg) == GW_OK, "include_usage false");
    T_OK(info.include_usage == 0 && info.splice.iu_end - info.splice.iu_at == 5, "include_usage span");
    T_OK(info.max_tokens == -1, "max_tokens absent");
}

typedef struct {
    const char *body;
    const char *param;
    const char *msg_part;
} bad_case_t;

static void test_inspect_errors(void)
{
    static const bad_case_t cases[] = {
        {"", "", "parse"},
        {"not json", "", "parse"},
        {"{\"model\":\"m\",\"messages\":[{}]", "", "parse"},
        {"{\"model\":\"m\",\"messages\":[{}]} x", "", "parse"},
        {"{\"model\":\"m\",\"messages\":[{}]}{}", "", "parse"},
        {"{\"model\":\"m\" \"messages\":[{}]}", "", "parse"},
        {"{\"model\":\"m\",\"messages\":[{}],}garbage", "", "parse"},
        {"[1,2]", "", "JSON object"},
        {"\"str\"", "", "JSON object"},
        {"{\"messages\":[{}]}", "model", "'model' is a required property"},
        {"{\"model\":5,\"messages\":[{}]}", "model", "non-empty string"},
        {"{\"model\":\"\",\"messages\":[{}]}", "model", "non-empty string"},
        {"{\"model\":null,\"messages\":[{}]}", "model", "non-empty string"},
        {"{\"model\":\"m\"}", "messages", "'messages' is a required property"},
        {"{\"model\":\"m\",\"messages\":[]}", "messages", "non-empty array"},
        {"{\"model\":\"m\",\"messages\":{}}", "messages", "non-empty array"},
        {"{\"model\":\"m\",\"messages\":[\"hi\"]}", "messages", "messages[0]"},
        {"{\"model\":\"m\",\"messages\":[{},3]}", "messages", "messages[1]"},
        {"{\"model\":\"m\",\"messages\":[{}],\"stream\":\"yes\"}", "stream", "boolean"},
        {"{\"model\":\"m\",\"messages\":[{}],\"stream\":tru}", "stream", "boolean"},
        {"{\"model\":\"m\",\"messages\":[{}],\"stream\":1}", "stream", "boolean"},
        {"{\"model\":\"m\",\"messages\":[{}],\"max_tokens\":-1}", "max_tokens", "non-negative integer"},
        {"{\"model\":\"m\",\"messages\":[{}],\"max_tokens\":1.5}", "max_tokens", "non-negative integer"},
        {"{\"model\":\"m\",\"messages\":[{}],\"max_tokens\":\"16\"}", "max_tokens", "non-negative integer"},
        {"{\"model\":\"m\",\"messages\":[{}],\"max_tokens\":99999999999999999999}", "max_tokens", "integer"},
        {"{\"model\":\"m\",\"messages\":[{}],\"max_completion_tokens\":1e3}", "max_completion_tokens", "integer"},
        {"{\"model\":\"m\",\"messages\":[{}],\"model\":\"x\"}", "model", "Duplicate key 'model'"},
        {"{\"model\":\"m\",\"messages\":[{}],\"mod\\u0065l\":\"x\"}", "model", "Duplicate key 'model'"},
        {"{\"model\":\"m\",\"messages\":[{}],\"stream\":true,\"str\\u0065am\":false}", "stream", "Duplicate"},
        {"{\"model\":\"m\",\"messages\":[{}],\"messages\":[{}]}", "messages", "Duplicate"},
        {"{\"model\":\"m\",\"messages\":[{}],\"stream_options\":\"x\"}", "stream_options", "object or null"},
        {"{\"model\":\"m\",\"messages\":[{}],\"stream_options\":{\"include_usage\":1}}", "stream_options.include_usage",
         "boolean"},
        {"{\"model\":\"m\",\"messages\":[{}],\"stream_options\":{\"include_usage\":true,\"include_usage\":false}}",
         "stream_options.include_usage", "Duplicate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_chat_info_t info;
        gw_prov_errmsg_t msg = {{0}, {0}};
        gw_err_t rc = gw_chat_inspect(cases[i].body, strlen(cases[i].body), &info, &msg);
        T_OK(rc == GW_EINVAL, "case %zu rejected (%d)", i, rc);
        T_STREQ(msg.param, cases[i].param, "case %zu param '%s'", i, msg.param);
        T_OK(strstr(msg.message, cases[i].msg_part) != NULL, "case %zu message '%s'", i, msg.message);
    }
    /* A NUL byte ends jsmn early: it must still be refused, and msg may be NULL. */
    static const char nul[] = "{\"model\":\"m\",\"messages\":[{}]}\0{}";
    gw_chat_info_t info;
    T_OK(gw_chat_inspect(nul, sizeof nul - 1, &info, NULL) == GW_EINVAL, "NUL byte refused");
    T_OK(gw_chat_inspect("{\"model\":\"m\",\"messages\":[{}]}", 29, &info, NULL) == GW_OK, "msg may be NULL");
}

/* A request big enough to leave the on-stack token array (heap path). */
static void test_inspect_big(void)
{
    gw_buf_t b;
    gw_buf_init(&b, 1 << 22);
    gw_buf_adds(&b, "{\"messages\":[");
    for (int i = 0; i < 3000; i++)
        gw_buf_printf(&b, "%s{\"role\":\"user\",\"content\":\"message %04d\"}", i ? "," : "", i);
    gw_buf_adds(&b, "],\"model\":\"big\",\"stream\":true}");
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    T_OK(gw_chat_inspect(b.ptr, b.len, &info, &msg) == GW_OK, "big inspect: %s", msg.message);
    T_OK(info.prompt_chars == 3000 * 12, "big prompt_chars %zu", info.prompt_chars);
    T_OK(info.model_len == 3 && info.stream == 1, "big fields");
    /* allocation failures: never a crash or a leak, ENOMEM or OK */
    for (long n = 0; n < 6; n++) {
        gw_alloc_fail_after(n);
        gw_err_t rc = gw_chat_inspect(b.ptr, b.len, &info, &msg);
        gw_alloc_fail_after(-1);
        T_OK(rc == GW_ENOMEM || rc == GW_OK, "alloc fail %ld -> %d", n, rc);
    }
    gw_buf_free(&b);
    /* deep nesting */
    gw_buf_init(&b, 1 << 22);
    gw_buf_adds(&b, "{\"model\":\"m\",\"messages\":[{\"x\":");
    for (int i = 0; i < 5000; i++)
        gw_buf_adds(&b, "[");
    for (int i = 0; i < 5000; i++)
        gw_buf_adds(&b, "]");
    gw_buf_adds(&b, "}]}");
    T_OK(gw_chat_inspect(b.ptr, b.len, &info, &msg) == GW_OK, "deep nesting is fine");
    gw_buf_free(&b);
}

static void test_status(void)
{
    static const int yes[] = {429, 500, 502, 503, 504, 529, 599};
    static const int no[] = {400, 401, 402, 403, 404, 408, 409, 413, 422};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        T_OK(gw_prov_status_retryable(yes[i]), "%d retryable", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        T_OK(!gw_prov_status_retryable(no[i]), "%d not retryable", no[i]);
    T_OK(gw__client_status(529) == 503 && gw__client_status(503) == 503, "529 -> 503");
    T_OK(gw__client_status(302) == 502 && gw__client_status(200) == 502, "non-error -> 502");
    T_OK(gw__client_status(418) == 418, "4xx kept");
    T_STREQ(gw__status_type(401), "authentication_error", "401 type");
    T_STREQ(gw__status_code(401), "invalid_api_key", "401 code");
    T_STREQ(gw__status_type(429), "rate_limit_error", "429 type");
    T_STREQ(gw__status_code(429), "rate_limit_exceeded", "429 code");
    T_STREQ(gw__status_type(503), "server_error", "503 type");
    T_STREQ(gw__status_code(503), "overloaded", "503 code");
    T_STREQ(gw__status_type(504), "timeout_error", "504 type");
    T_STREQ(gw__status_type(404), "invalid_request_error", "404 type");
    T_STREQ(gw__status_code(404), "model_not_found", "404 code");
    T_STREQ(gw__status_type(403), "permission_error", "403 type");
    T_OK(gw__status_code(400) == NULL && gw__status_code(500) == NULL, "no code for 400/500");
}

static void test_errors(void)
{
    gw_buf_t b;
    gw_buf_init(&b, 4096);
    T_OK(gw_openai_error(&b, "Bad \"x\"\n", "invalid_request_error", "messages", NULL) == GW_OK, "error ok");
    T_STREQ(b.ptr,
            "{\"error\":{\"message\":\"Bad \\\"x\\\"\\n\",\"type\":\"invalid_request_error\",\"param\":\"messages\","
            "\"code\":null}}",
            "error bytes: %s", b.ptr);
    gw_buf_reset(&b);
    gw_openai_error(&b, "m", "t", "", "");
    T_STREQ(b.ptr, "{\"error\":{\"message\":\"m\",\"type\":\"t\",\"param\":null,\"code\":null}}", "empty -> null");
    /* ANT-5 as the gateway emits it */
    gw_buf_reset(&b);
    T_OK(gw_xlat_error_frame(&b, "Overloaded", "overloaded_error", "overloaded") == GW_OK, "frame ok");
    T_STREQ(b.ptr,
            "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\",\"param\":null,\"code\":"
            "\"overloaded\"}}\n\n",
            "ANT-5 frame bytes");
    gw_buf_free(&b);
    /* a buffer too small: ETOOBIG and nothing half-written */
    gw_buf_init(&b, 40);
    gw_buf_adds(&b, "keep");
    T_OK(gw_xlat_error_frame(&b, "a long message that does not fit", "server_error", NULL) == GW_ETOOBIG, "too big");
    T_STREQ(b.ptr, "keep", "buffer rolled back");
    T_OK(gw_openai_error(&b, "a long message that does not fit", "x", NULL, NULL) == GW_ETOOBIG, "too big 2");
    T_OK(b.len == 4, "rolled back 2");
    gw_buf_free(&b);
}

static void test_helpers(void)
{
    gw_buf_t p;
    static const char *const cases[][3] = {
        {"", "v1", "/v1/x"},           {"/", "v1", "/v1/x"},
        {"/v1", "v1", "/v1/x"},        {"/v1/", "v1", "/v1/x"},
        {"/openai/v1", "v1", "/openai/v1/x"}, {"/api", "v1", "/api/v1/x"},
        {"/api/paas/v4", "v1", "/api/paas/v4/x"}, {"/v1beta", "v1beta", "/v1beta/x"},
        {"/proxy/vendor", "v1", "/proxy/vendor/v1/x"}, {"/video", "v1", "/video/v1/x"},
        {"nolead", "v1", "/nolead/v1/x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_buf_init(&p, 256);
        T_OK(gw__path_join(&p, cases[i][0], cases[i][1], "/x") == GW_OK, "join ok");
        T_STREQ(p.ptr, cases[i][2], "path for '%s': %s", cases[i][0], p.ptr);
        gw_buf_free(&p);
    }
    char s[] = "ab\xe2\x9c";
    gw__utf8_trim(s);
    T_STREQ(s, "ab", "cut half a check mark");
    char s2[] = "ab\xe2\x9c\x93";
    gw__utf8_trim(s2);
    T_STREQ(s2, "ab\xe2\x9c\x93", "whole check mark kept");
    char h1[25], h2[25];
    gw__rand_hex(h1, 12);
    gw__rand_hex(h2, 12);
    T_OK(strlen(h1) == 24 && strspn(h1, "0123456789abcdef") == 24 && strcmp(h1, h2) != 0, "rand hex");
    const char *mime, *data;
    size_t ml;
    T_OK(gw__data_uri("data:image/png;base64,QUJD", &mime, &ml, &data) && ml == 9 &&
             memcmp(mime, "image/png", 9) == 0 && strcmp(data, "QUJD") == 0,
         "data uri");
    T_OK(!gw__data_uri("https://x/y.png", &mime, &ml, &data), "not a data uri");
    T_OK(!gw__data_uri("data:text/plain,hello", &mime, &ml, &data), "not base64");
    gw_buf_t h;
    gw_buf_init(&h, 256);
    T_OK(gw__hdr_add(&h, "x-api-key", "k\r\nEvil: 1") == GW_EINVAL && h.len == 0, "header injection refused");
    gw_buf_free(&h);
    /* jsmn wrapper: key lookup with escapes, integers */
    gw__jdoc_t d;
    const char *js = "{\"a\":1,\"b\\u0022\":{\"c\":[1,2,{\"d\":3}]},\"e\":-42,\"f\":9223372036854775807}";
    T_OK(gw__jdoc_parse(&d, js, strlen(js)) == GW_OK, "jdoc parse");
    int64_t v = 0;
    T_OK(gw__jint(&d, gw__jget(&d, 0, "e"), &v) == GW_OK && v == -42, "int -42");
    T_OK(gw__jint(&d, gw__jget(&d, 0, "f"), &v) == GW_OK && v == INT64_MAX, "int max");
    T_OK(gw__jget(&d, 0, "b\"") >= 0, "escaped key found");
    T_OK(gw__jget(&d, 0, "zz") == -1 && gw__jget(&d, -1, "a") == -1, "missing key");
    T_OK(gw__jnext(&d, gw__jget(&d, 0, "b\"")) == gw__jget(&d, 0, "e") - 1, "jnext skips a subtree");
    gw__jdoc_free(&d);
}

/* Every allocation through gw_* failing in turn: OK or ENOMEM (or the
 * EINVAL a half-built jansson tree gives), never a crash or a leak. */
static void test_alloc_failures(void)
{
    const char *req =
        "{\"model\":\"a\",\"stream\":true,\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
        "\"user\",\"content\":\"Weather?\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
        "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\","
        "\"tool_call_id\":\"c1\",\"content\":\"4C\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
        "\"f\"}}]}";
    static const char *const events[3][3] = {
        {"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}", "{\"choices\":[],\"usage\":{}}",
         "[DONE]"},
        {"{\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}",
         "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
         "\"name\":\"f\"}}",
         "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"},
        {"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}],\"responseId\":\"r\"}",
         "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\"}}]},\"finishReason\":"
         "\"STOP\"}]}",
         "{\"usageMetadata\":{\"promptTokenCount\":1}}"},
    };
    int ok = 1;
    for (int k = 0; k < 3; k++) {
        for (long n = 0; n < 40; n++) {
            gw_chat_info_t info;
            gw_prov_req_t r;
            gw_prov_req_init(&r, 1 << 20);
            gw_alloc_fail_after(n);
            gw_err_t rc = gw_chat_inspect(req, strlen(req), &info, NULL);
            if (rc == GW_OK)
                rc = gw_prov_build_chat((gw_prov_kind_t)k, req, strlen(req), &info, "", "m", "key", &r, NULL);
            ok &= rc == GW_OK || rc == GW_ENOMEM || rc == GW_ETOOBIG;
            gw_xlat_t *x = gw_xlat_new((gw_prov_kind_t)k, 1, "m");
            gw_buf_t out;
            gw_buf_init(&out, 1 << 20);
            for (int e = 0; x != NULL && e < 3; e++) {
                gw_sse_event_t ev = {"", 0, events[k][e], strlen(events[k][e])};
                gw_xlat_info_t xi;
                rc = gw_xlat_event(x, &ev, &out, &xi);
                ok &= rc == GW_OK || rc == GW_ENOMEM || rc == GW_ETOOBIG;
            }
            if (x != NULL)
                gw_xlat_finish(x, &out);
            gw_alloc_fail_after(-1);
            gw_xlat_free(x);
            gw_buf_free(&out);
            gw_prov_req_free(&r);
        }
    }
    T_OK(ok, "allocation failures handled for every kind");
    /* blank data is a keep-alive for every kind */
    for (int k = 0; k < 3; k++) {
        gw_xlat_t *x = gw_xlat_new((gw_prov_kind_t)k, 0, "m");
        gw_buf_t out;
        gw_buf_init(&out, 1024);
        gw_xlat_info_t xi;
        gw_sse_event_t ev = {"", 0, " \n ", 3};
        T_OK(gw_xlat_event(x, &ev, &out, &xi) == GW_OK && out.len == 0 && !xi.content && !xi.done && !xi.error,
             "kind %d: blank data ignored", k);
        gw_buf_free(&out);
        gw_xlat_free(x);
    }
}

int main(void)
{
    test_kinds();
    test_inspect_oai1();
    test_inspect_fields();
    test_inspect_errors();
    test_inspect_big();
    test_status();
    test_errors();
    test_helpers();
    test_alloc_failures();
    return t_done("test_prov_common");
}

/* test_prov_gemini.c - the Gemini adapter: requests (GEM-1 byte-exact,
 * GEM-2 follow-up, tools, images, generationConfig, paths), answers
 * (GEM-1, GEM-2, prompt blocked), finish reasons, errors (GEM-4 and 5.5,
 * retry hints) and streams (GEM-3 by hand and, with CRLF, through the SSE
 * parser; function calls; in-band errors).
 */
#include <jansson.h>
#include <string.h>

#include "alloc.h"
#include "prov_internal.h"
#include "provider.h"
#include "sse.h"
#include "test.h"

/* OAI-1 plus the top_p GEM-1 carries. */
static const char OAI1_TOPP[] =
    "{\"model\":\"gpt-test-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":"
    "\"user\",\"content\":\"Name a prime number above 10.\"}],\"max_completion_tokens\":16,\"temperature\":0.2,"
    "\"top_p\":0.9,\"stop\":[\"\\n\\n\"],\"user\":\"u-42\"}";
static const char GEM1_REQ[] =
    "{\"systemInstruction\":{\"parts\":[{\"text\":\"You are terse.\"}]},\"contents\":[{\"role\":\"user\",\"parts\":"
    "[{\"text\":\"Name a prime number above 10.\"}]}],\"generationConfig\":{\"maxOutputTokens\":16,\"temperature\":"
    "0.2,\"topP\":0.9,\"stopSequences\":[\"\\n\\n\"]}}";
static const char GEM1_RESP[] =
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"11\"}]},\"finishReason\":\"STOP\","
    "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":2,\"totalTokenCount\":14},"
    "\"modelVersion\":\"gemini-test-001\",\"responseId\":\"resp-test-0001\"}";
static const char GEM2_RESP[] =
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\","
    "\"args\":{\"city\":\"Oslo\"}}}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":"
    "40,\"candidatesTokenCount\":6,\"totalTokenCount\":46},\"modelVersion\":\"gemini-test-001\"}";
static const char GEM2_FOLLOWUP[] =
    "[{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Oslo\"}}}]},"
    "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"result\":"
    "\"4\xc2\xb0"
    "C, cloudy\"}}}]}]";
static const char GEM4_BODY[] =
    "{\"error\":{\"code\":429,\"message\":\"Quota exceeded for requests per minute.\",\"status\":\"RESOURCE_EXHAUSTED\","
    "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"7s\"}]}}";
static const char BLOCKED[] =
    "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":7,\"totalTokenCount\":7}}";
static const char *const GEM3[] = {
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]},\"index\":0}],\"usageMetadata\":"
    "{\"promptTokenCount\":5,\"candidatesTokenCount\":1,\"totalTokenCount\":6},\"modelVersion\":\"gemini-test-001\","
    "\"responseId\":\"resp-test-0003\"}",
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo \xe2\x9c\x93\"}]},\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":2,\"totalTokenCount\":7},\"modelVersion\":"
    "\"gemini-test-001\",\"responseId\":\"resp-test-0003\"}",
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\",\"index\":"
    "0}],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":3,\"totalTokenCount\":8},\"modelVersion\":"
    "\"gemini-test-001\",\"responseId\":\"resp-test-0003\"}",
};

static json_t *loadn(const char *s, size_t n)
{
    json_error_t e;
    return json_loadb(s, n, JSON_DECODE_ANY, &e);
}

static json_t *load(const char *s) { return loadn(s, strlen(s)); }

static gw_err_t build(const char *body, const char *base, const char *model, const char *key, gw_prov_req_t *r,
                      gw_prov_errmsg_t *msg)
{
    gw_chat_info_t info;
    gw_prov_req_init(r, 1 << 20);
    memset(msg, 0, sizeof *msg);
    gw_err_t rc = gw_chat_inspect(body, strlen(body), &info, msg);
    if (rc != GW_OK)
        return rc;
    return gw_prov_build_chat(GW_PROV_GEMINI, body, strlen(body), &info, base, model, key, r, msg);
}

static json_t *build_json(const char *body, gw_prov_errmsg_t *msg)
{
    gw_prov_req_t r;
    json_t *j = NULL;
    if (build(body, "", "gemini-test", NULL, &r, msg) == GW_OK)
        j = loadn(r.body.ptr, r.body.len);
    gw_prov_req_free(&r);
    return j;
}

static void expect_field(const json_t *j, const char *key, const char *want, const char *what)
{
    json_t *w = load(want);
    T_OK(w != NULL, "%s: expected JSON parses", what);
    T_OK(json_equal(json_object_get(j, key), w), "%s: field %s", what, key);
    json_decref(w);
}

static void test_build_vectors(void)
{
    gw_prov_req_t r;
    gw_prov_errmsg_t msg;
    T_OK(build(OAI1_TOPP, "", "gemini-test", "test-key", &r, &msg) == GW_OK, "GEM-1 builds: %s", msg.message);
    T_STREQ(r.body.ptr, GEM1_REQ, "GEM-1 byte-exact: %s", r.body.ptr);
    T_STREQ(r.path.ptr, "/v1beta/models/gemini-test:generateContent", "GEM-1 path");
    T_STREQ(r.headers.ptr, "x-goog-api-key: test-key\r\n", "GEM-1 header");
    gw_prov_req_free(&r);

    static const char *const paths[][3] = {
        {"/v1beta", "gemini-test", "/v1beta/models/gemini-test:generateContent"},
        {"/v1beta/", "models/gemini-x", "/v1beta/models/gemini-x:generateContent"},
        {"/proxy", "a b/c", "/proxy/v1beta/models/a%20b%2Fc:generateContent"},
        {"/v1", "gemini-2.5-flash", "/v1/models/gemini-2.5-flash:generateContent"},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        T_OK(build(OAI1_TOPP, paths[i][0], paths[i][1], NULL, &r, &msg) == GW_OK, "path build %zu", i);
        T_STREQ(r.path.ptr, paths[i][2], "path %zu: %s", i, r.path.ptr);
        T_OK(r.headers.len == 0, "no key, no header");
        gw_prov_req_free(&r);
    }
    const char *st = "{\"model\":\"a\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    T_OK(build(st, "", "gemini-test", NULL, &r, &msg) == GW_OK, "stream builds");
    T_STREQ(r.path.ptr, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse", "stream path");
    json_t *j = loadn(r.body.ptr, r.body.len);
    T_OK(json_object_get(j, "stream") == NULL && json_object_get(j, "generationConfig") == NULL,
         "no stream field, no empty generationConfig");
    json_decref(j);
    gw_prov_req_free(&r);

    /* GEM-2 follow-up: the tool round trip */
    const char *rt =
        "{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":"
        "\"call_1\",\"content\":\"4\xc2\xb0"
        "C, cloudy\"}]}";
    j = build_json(rt, &msg);
    T_OK(j != NULL, "GEM-2 round trip builds: %s", msg.message);
    json_t *contents = json_object_get(j, "contents");
    json_t *want = load(GEM2_FOLLOWUP);
    T_OK(json_array_size(contents) == 3, "three contents");
    T_OK(json_equal(json_array_get(contents, 1), json_array_get(want, 0)), "model functionCall turn");
    T_OK(json_equal(json_array_get(contents, 2), json_array_get(want, 1)), "user functionResponse turn");
    json_decref(want);
    json_decref(j);
}

static void test_build_rules(void)
{
    gw_prov_errmsg_t msg;
    const char *b =
        "{\"model\":\"a\",\"n\":2,\"seed\":7,\"presence_penalty\":0.5,\"frequency_penalty\":-0.5,\"stop\":\"END\","
        "\"messages\":[{\"role\":\"developer\",\"content\":\"R1\"},{\"role\":\"system\",\"content\":[{\"type\":\"text\","
        "\"text\":\"R2\"}]},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},{\"type\":\"image_url\","
        "\"image_url\":{\"url\":\"data:image/png;base64,QUJD\"}},{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"https://x.test/a/y.WEBP?sig=1\"}},{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AAA=\",\"format\":"
        "\"wav\"}}]},{\"role\":\"assistant\",\"content\":\"hm\"},{\"role\":\"assistant\",\"content\":\"more\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"d\",\"parameters\":{\"type\":"
        "\"object\"}}},{\"type\":\"function\",\"function\":{\"name\":\"g\"}}],\"tool_choice\":{\"type\":\"function\","
        "\"function\":{\"name\":\"g\"}},\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"c\","
        "\"schema\":{\"type\":\"object\"}}}}";
    json_t *j = build_json(b, &msg);
    T_OK(j != NULL, "rules build: %s", msg.message);
    expect_field(j, "systemInstruction", "{\"parts\":[{\"text\":\"R1\"},{\"text\":\"R2\"}]}", "system parts");
    expect_field(j, "contents",
                 "[{\"role\":\"user\",\"parts\":[{\"text\":\"look\"},{\"inlineData\":{\"mimeType\":\"image/png\","
                 "\"data\":\"QUJD\"}},{\"fileData\":{\"mimeType\":\"image/webp\",\"fileUri\":\"https://x.test/a/y.WEBP?"
                 "sig=1\"}},{\"inlineData\":{\"mimeType\":\"audio/wav\",\"data\":\"AAA=\"}}]},{\"role\":\"model\","
                 "\"parts\":[{\"text\":\"hm\"},{\"text\":\"more\"}]}]",
                 "contents, merged model turns");
    expect_field(j, "tools",
                 "[{\"functionDeclarations\":[{\"name\":\"f\",\"description\":\"d\",\"parametersJsonSchema\":"
                 "{\"type\":\"object\"}},{\"name\":\"g\"}]}]",
                 "tools");
    expect_field(j, "toolConfig", "{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"g\"]}}",
                 "forced function");
    expect_field(j, "generationConfig",
                 "{\"stopSequences\":[\"END\"],\"candidateCount\":2,\"seed\":7,\"presencePenalty\":0.5,"
                 "\"frequencyPenalty\":-0.5,\"responseMimeType\":\"application/json\",\"responseJsonSchema\":"
                 "{\"type\":\"object\"}}",
                 "generationConfig");
    json_decref(j);

    static const char *const tc[][2] = {
        {"\"auto\"", "{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}"},
        {"\"required\"", "{\"functionCallingConfig\":{\"mode\":\"ANY\"}}"},
        {"\"none\"", "{\"functionCallingConfig\":{\"mode\":\"NONE\"}}"},
    };
    for (size_t i = 0; i < 3; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":"
                 "\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":%s,\"response_format\":{\"type\":"
                 "\"json_object\"}}",
                 tc[i][0]);
        j = build_json(body, &msg);
        expect_field(j, "toolConfig", tc[i][1], tc[i][0]);
        expect_field(j, "generationConfig", "{\"responseMimeType\":\"application/json\"}", "json_object");
        json_decref(j);
    }
}

static void test_build_errors(void)
{
    static const char *const bad[][2] = {
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"nope\",\"content\":\"x\"}]}", "messages"},
        {"{\"model\":\"a\",\"stream\":true,\"n\":3,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "n"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{}}]}]}", "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"t\",\"function\":{\"name\":"
         "\"f\",\"arguments\":\"{oops\"}}]}]}",
         "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":{}}", "stop"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
         "\"function\":{}}]}",
         "tools"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
         "\"function\":{\"name\":\"f\"}}],\"tool_choice\":{\"type\":\"allowed_tools\"}}",
         "tool_choice"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":"
         "\"json_schema\"}}",
         "response_format"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_prov_req_t r;
        gw_prov_errmsg_t msg;
        T_OK(build(bad[i][0], "", "m", NULL, &r, &msg) == GW_EINVAL, "bad %zu refused", i);
        T_STREQ(msg.param, bad[i][1], "bad %zu param '%s' (%s)", i, msg.param, msg.message);
        gw_prov_req_free(&r);
    }
}

static json_t *translate(const char *body, gw_usage_t *u, gw_err_t *rc)
{
    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    json_t *j = NULL;
    *rc = gw_prov_translate_response(GW_PROV_GEMINI, body, strlen(body), "gemini-up", &out, u);
    if (*rc == GW_OK)
        j = loadn(out.ptr, out.len);
    gw_buf_free(&out);
    return j;
}

static json_t *choice0(const json_t *j) { return json_array_get(json_object_get(j, "choices"), 0); }

static void test_response(void)
{
    gw_usage_t u;
    gw_err_t rc;
    json_t *j = translate(GEM1_RESP, &u, &rc);
    T_OK(rc == GW_OK && j != NULL, "GEM-1 translates");
    T_STREQ(gw__jstr_get(j, "id"), "resp-test-0001", "id from responseId");
    T_STREQ(gw__jstr_get(j, "object"), "chat.completion", "object");
    T_STREQ(gw__jstr_get(j, "model"), "gemini-test-001", "model from modelVersion");
    json_t *c = choice0(j);
    T_STREQ(gw__jstr_get(json_object_get(c, "message"), "content"), "11", "content");
    T_STREQ(gw__jstr_get(c, "finish_reason"), "stop", "finish");
    json_t *want = load("{\"prompt_tokens\":12,\"completion_tokens\":2,\"total_tokens\":14}");
    T_OK(json_equal(json_object_get(j, "usage"), want), "GEM-1 usage");
    json_decref(want);
    T_OK(u.prompt_tokens == 12 && u.completion_tokens == 2, "usage out");
    json_decref(j);

    j = translate(GEM2_RESP, &u, &rc);
    T_OK(rc == GW_OK, "GEM-2 translates");
    c = choice0(j);
    json_t *m = json_object_get(c, "message");
    T_OK(json_is_null(json_object_get(m, "content")), "content null");
    T_STREQ(gw__jstr_get(c, "finish_reason"), "tool_calls", "STOP with a call -> tool_calls");
    json_t *tc = json_array_get(json_object_get(m, "tool_calls"), 0);
    T_OK(strncmp(gw__jstr_get(tc, "id"), "call_", 5) == 0 && strlen(gw__jstr_get(tc, "id")) == 29, "synthesized id");
    T_STREQ(gw__jstr_get(json_object_get(tc, "function"), "name"), "get_weather", "name");
    T_STREQ(gw__jstr_get(json_object_get(tc, "function"), "arguments"), "{\"city\":\"Oslo\"}", "arguments");
    T_STREQ(gw__jstr_get(tc, "type"), "function", "type");
    T_OK(strncmp(gw__jstr_get(j, "id"), "chatcmpl-", 9) == 0, "synthesized completion id");
    T_OK(u.prompt_tokens == 40 && u.completion_tokens == 6, "GEM-2 usage");
    json_decref(j);

    j = translate(BLOCKED, &u, &rc);
    T_OK(rc == GW_OK, "prompt blocked translates");
    c = choice0(j);
    T_STREQ(gw__jstr_get(c, "finish_reason"), "content_filter", "blocked -> content_filter");
    T_STREQ(gw__jstr_get(json_object_get(c, "message"), "content"), "", "empty content");
    T_STREQ(gw__jstr_get(j, "model"), "gemini-up", "model falls back");
    T_OK(u.prompt_tokens == 7 && u.completion_tokens == 0, "blocked usage");
    json_decref(j);

    /* thoughts left out of the text but counted; cache; several candidates */
    j = translate("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"plan\",\"thought\":true},{\"text\":\"A\"},"
                  "{\"text\":\"B\"}]},\"finishReason\":\"MAX_TOKENS\"},{\"content\":{\"parts\":[{\"text\":\"C\"}]},"
                  "\"finishReason\":\"SAFETY\",\"index\":1}],\"usageMetadata\":{\"promptTokenCount\":10,"
                  "\"toolUsePromptTokenCount\":2,\"candidatesTokenCount\":4,\"thoughtsTokenCount\":3,"
                  "\"cachedContentTokenCount\":6,\"totalTokenCount\":19}}",
                  &u, &rc);
    T_OK(rc == GW_OK, "two candidates");
    T_STREQ(gw__jstr_get(json_object_get(choice0(j), "message"), "content"), "AB", "thought left out");
    T_STREQ(gw__jstr_get(choice0(j), "finish_reason"), "length", "MAX_TOKENS -> length");
    json_t *c1 = json_array_get(json_object_get(j, "choices"), 1);
    T_OK(json_integer_value(json_object_get(c1, "index")) == 1, "second index");
    T_STREQ(gw__jstr_get(c1, "finish_reason"), "content_filter", "SAFETY");
    want = load("{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19,\"prompt_tokens_details\":"
                "{\"cached_tokens\":6},\"completion_tokens_details\":{\"reasoning_tokens\":3}}");
    T_OK(json_equal(json_object_get(j, "usage"), want), "usage mapping 5.4");
    json_decref(want);
    json_decref(j);

    gw_buf_t out;
    gw_buf_init(&out, 1 << 16);
    T_OK(gw_prov_translate_response(GW_PROV_GEMINI, "{}", 2, "m", &out, &u) == GW_EUPSTREAM, "no candidates");
    T_OK(gw_prov_translate_response(GW_PROV_GEMINI, "[]", 2, "m", &out, &u) == GW_EUPSTREAM, "array");
    const char *noname = "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{}}]}}]}";
    T_OK(gw_prov_translate_response(GW_PROV_GEMINI, noname, strlen(noname), "m", &out, &u) == GW_EUPSTREAM,
         "functionCall without name");
    T_OK(out.len == 0, "nothing out");
    gw_buf_free(&out);
}

static void test_finish_table(void)
{
    static const char *const t[][2] = {
        {"STOP", "stop"}, {"MAX_TOKENS", "length"}, {"SAFETY", "content_filter"}, {"RECITATION", "content_filter"},
        {"BLOCKLIST", "content_filter"}, {"PROHIBITED_CONTENT", "content_filter"}, {"SPII", "content_filter"},
        {"IMAGE_SAFETY", "content_filter"}, {"IMAGE_PROHIBITED_CONTENT", "content_filter"},
        {"IMAGE_RECITATION", "content_filter"}, {"LANGUAGE", "content_filter"}, {"MALFORMED_FUNCTION_CALL", "stop"},
        {"UNEXPECTED_TOOL_CALL", "stop"}, {"TOO_MANY_TOOL_CALLS", "stop"}, {"OTHER", "stop"},
        {"FINISH_REASON_UNSPECIFIED", "stop"}, {"NO_IMAGE", "stop"}, {"IMAGE_OTHER", "stop"}, {"CONTINUATION", "stop"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        T_STREQ(gw__gemini_finish(t[i][0], 0), t[i][1], "finish %s", t[i][0]);
    T_STREQ(gw__gemini_finish("STOP", 1), "tool_calls", "STOP with calls");
    T_STREQ(gw__gemini_finish("MAX_TOKENS", 1), "length", "MAX_TOKENS with calls");
}

static void expect_error(int status, const char *body, int want_status, const char *msg, const char *type,
                         const char *code)
{
    gw_buf_t out;
    gw_buf_init(&out, 1 << 16);
    int st = gw_prov_translate_error(GW_PROV_GEMINI, status, body, strlen(body), &out);
    T_OK(st == want_status, "%d -> %d (got %d)", status, want_status, st);
    json_t *j = loadn(out.ptr, out.len);
    json_t *e = json_object_get(j, "error");
    T_STREQ(gw__jstr_get(e, "message"), msg, "%d message: %s", status, out.ptr);
    T_STREQ(gw__jstr_get(e, "type"), type, "%d type", status);
    T_OK(code == NULL ? json_is_null(json_object_get(e, "code")) : strcmp(gw__jstr_get(e, "code"), code) == 0,
         "%d code: %s", status, out.ptr);
    json_decref(j);
    gw_buf_free(&out);
}

static void test_errors(void)
{
    expect_error(429, GEM4_BODY, 429, "Quota exceeded for requests per minute.", "rate_limit_error",
                 "rate_limit_exceeded");
    T_OK(gw_prov_error_retry_after(GW_PROV_GEMINI, GEM4_BODY, strlen(GEM4_BODY)) == 7, "GEM-4 retry 7");
    const char *half = "[{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\","
                       "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"0.5s\"}]}}]";
    T_OK(gw_prov_error_retry_after(GW_PROV_GEMINI, half, strlen(half)) == 1, "0.5s rounds up, array wrapper");
    expect_error(503, half, 503, "The model is overloaded.", "server_error", "overloaded");
    T_OK(gw_prov_error_retry_after(GW_PROV_GEMINI, "{}", 2) == -1, "no hint");
    T_OK(gw_prov_error_retry_after(GW_PROV_GEMINI, "x", 1) == -1, "not JSON");
    expect_error(400,
                 "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\",\"status\":"
                 "\"INVALID_ARGUMENT\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
                 "\"API_KEY_INVALID\",\"domain\":\"googleapis.com\"}]}}",
                 401, "API key not valid. Please pass a valid API key.", "authentication_error", "invalid_api_key");
    expect_error(400, "{\"error\":{\"code\":400,\"message\":\"bad field\",\"status\":\"INVALID_ARGUMENT\"}}", 400,
                 "bad field", "invalid_request_error", "invalid_argument");
    expect_error(400, "{\"error\":{\"code\":400,\"message\":\"region\",\"status\":\"FAILED_PRECONDITION\"}}", 400,
                 "region", "invalid_request_error", "failed_precondition");
    expect_error(401, "{\"error\":{\"code\":401,\"message\":\"who\",\"status\":\"UNAUTHENTICATED\"}}", 401, "who",
                 "authentication_error", "invalid_api_key");
    expect_error(403, "{\"error\":{\"code\":403,\"message\":\"no\",\"status\":\"PERMISSION_DENIED\"}}", 403, "no",
                 "permission_error", NULL);
    expect_error(404, "{\"error\":{\"code\":404,\"message\":\"models/x is not found\",\"status\":\"NOT_FOUND\"}}", 404,
                 "models/x is not found", "invalid_request_error", "model_not_found");
    expect_error(500, "{\"error\":{\"code\":500,\"message\":\"internal\",\"status\":\"INTERNAL\"}}", 500, "internal",
                 "server_error", NULL);
    expect_error(504, "{\"error\":{\"code\":504,\"message\":\"late\",\"status\":\"DEADLINE_EXCEEDED\"}}", 504, "late",
                 "timeout_error", NULL);
    expect_error(502, "Bad Gateway", 502, "Upstream returned HTTP 502: Bad Gateway", "server_error", NULL);
}

typedef struct {
    gw_xlat_t *x;
    gw_buf_t out;
    int events, content, done, error, fail;
} feed_t;

static int on_event(const gw_sse_event_t *ev, void *data)
{
    feed_t *f = data;
    gw_xlat_info_t info;
    if (gw_xlat_event(f->x, ev, &f->out, &info) != GW_OK)
        f->fail++;
    f->events++;
    f->content += info.content;
    f->done += info.done;
    f->error += info.error;
    return 0;
}

static void feed_one(feed_t *f, const char *data)
{
    gw_sse_event_t ev = {"", 0, data, strlen(data)};
    on_event(&ev, f);
}

static size_t frames(const gw_buf_t *out, json_t **js, size_t max)
{
    size_t n = 0;
    const char *p = out->ptr;
    while (p != NULL && *p != '\0' && n < max) {
        const char *end = strstr(p, "\n\n");
        if (strncmp(p, "data: ", 6) != 0 || end == NULL)
            break;
        js[n++] = strncmp(p + 6, "[DONE]", 6) == 0 ? json_string("[DONE]") : loadn(p + 6, (size_t)(end - p - 6));
        p = end + 2;
    }
    return n;
}

static json_t *delta(const json_t *chunk) { return json_object_get(choice0(chunk), "delta"); }

static void check_gem3_frames(const gw_buf_t *out, const char *what)
{
    json_t *js[16];
    size_t n = frames(out, js, 16);
    T_OK(n == 6, "%s: role, Hel, lo, finish, usage, DONE: %zu\n%s", what, n, out->ptr);
    if (n == 6) {
        for (size_t i = 0; i < 5; i++) {
            T_STREQ(gw__jstr_get(js[i], "id"), "resp-test-0003", "%s: frame %zu id", what, i);
            T_STREQ(gw__jstr_get(js[i], "model"), "gemini-up", "%s: frame %zu model", what, i);
            T_STREQ(gw__jstr_get(js[i], "object"), "chat.completion.chunk", "%s: frame %zu object", what, i);
        }
        T_STREQ(gw__jstr_get(delta(js[0]), "role"), "assistant", "%s: role first", what);
        T_STREQ(gw__jstr_get(delta(js[1]), "content"), "Hel", "%s: Hel", what);
        T_STREQ(gw__jstr_get(delta(js[2]), "content"), "lo \xe2\x9c\x93", "%s: lo check", what);
        T_STREQ(gw__jstr_get(choice0(js[3]), "finish_reason"), "stop", "%s: finish", what);
        T_OK(json_object_size(delta(js[3])) == 0, "%s: empty final delta", what);
        json_t *want = load("{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}");
        T_OK(json_equal(json_object_get(js[4], "usage"), want), "%s: usage chunk", what);
        json_decref(want);
        T_STREQ(json_string_value(js[5]), "[DONE]", "%s: DONE", what);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(js[i]);
}

static void test_stream_gem3(void)
{
    feed_t f = {gw_xlat_new(GW_PROV_GEMINI, 1, "gemini-up"), {0}, 0, 0, 0, 0, 0};
    gw_buf_init(&f.out, 1 << 20);
    feed_one(&f, GEM3[0]);
    T_OK(f.content == 1 && f.done == 0, "first chunk is content");
    feed_one(&f, GEM3[1]);
    size_t len = f.out.len;
    feed_one(&f, GEM3[2]);
    T_OK(f.content == 2 && f.done == 1 && f.fail == 0, "empty final text is not content; done");
    T_OK(f.out.len > len, "finish frame written");
    gw_usage_t u = gw_xlat_usage(f.x);
    T_OK(u.prompt_tokens == 5 && u.completion_tokens == 3, "last usage wins");
    gw_xlat_finish(f.x, &f.out);
    check_gem3_frames(&f.out, "GEM-3 by hand");
    gw_buf_free(&f.out);
    gw_xlat_free(f.x);

    /* GEM-3 with CRLF line ends, through the SSE parser, split everywhere */
    gw_buf_t t;
    gw_buf_init(&t, 1 << 16);
    for (size_t i = 0; i < 3; i++)
        gw_buf_printf(&t, "data: %s\r\n\r\n", GEM3[i]);
    int all_ok = 1;
    for (size_t cut = 0; cut <= t.len; cut++) {
        f = (feed_t){gw_xlat_new(GW_PROV_GEMINI, 1, "gemini-up"), {0}, 0, 0, 0, 0, 0};
        gw_buf_init(&f.out, 1 << 20);
        gw_sse_parser_t p;
        gw_sse_init(&p, 1 << 16);
        gw_err_t rc = gw_sse_feed(&p, t.ptr, cut, on_event, &f);
        if (rc == GW_OK)
            rc = gw_sse_feed(&p, t.ptr + cut, t.len - cut, on_event, &f);
        int ok = rc == GW_OK && f.events == 3 && f.content == 2 && f.done == 1 && f.fail == 0;
        if (cut == t.len / 2) {
            gw_xlat_finish(f.x, &f.out);
            check_gem3_frames(&f.out, "GEM-3 via SSE");
        }
        if (!ok) {
            T_OK(0, "GEM-3 split at %zu: events %d", cut, f.events);
            all_ok = 0;
        }
        gw_sse_free(&p);
        gw_buf_free(&f.out);
        gw_xlat_free(f.x);
    }
    T_OK(all_ok, "GEM-3 (CRLF) through the SSE parser at every split");
    gw_buf_free(&t);
}

static void test_stream_other(void)
{
    /* a function call chunk, no responseId: a synthesized id that stays */
    feed_t f = {gw_xlat_new(GW_PROV_GEMINI, 0, "gemini-up"), {0}, 0, 0, 0, 0, 0};
    gw_buf_init(&f.out, 1 << 20);
    feed_one(&f, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_"
                 "weather\",\"args\":{\"city\":\"Oslo\"},\"id\":\"fc1\"}}]},\"index\":0}]}");
    feed_one(&f, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[]},\"finishReason\":\"STOP\"}],"
                 "\"responseId\":\"late-id\"}");
    T_OK(f.content == 1 && f.done == 1 && f.fail == 0, "function call stream flags");
    gw_xlat_finish(f.x, &f.out);
    json_t *js[8];
    size_t n = frames(&f.out, js, 8);
    T_OK(n == 4, "role, tool call, finish, DONE: %zu", n);
    if (n == 4) {
        const char *id = gw__jstr_get(js[0], "id");
        T_OK(id != NULL && strncmp(id, "chatcmpl-", 9) == 0, "synthesized stream id");
        T_STREQ(gw__jstr_get(js[2], "id"), id, "id kept when a later chunk has responseId");
        json_t *want = load("[{\"index\":0,\"id\":\"fc1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                            "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]");
        T_OK(json_equal(json_object_get(delta(js[1]), "tool_calls"), want), "whole call in one chunk");
        json_decref(want);
        T_STREQ(gw__jstr_get(choice0(js[2]), "finish_reason"), "tool_calls", "finish tool_calls");
    }
    for (size_t i = 0; i < n; i++)
        json_decref(js[i]);
    gw_buf_free(&f.out);
    gw_xlat_free(f.x);

    /* prompt blocked mid-stream, in-band error, junk */
    gw_xlat_t *x = gw_xlat_new(GW_PROV_GEMINI, 0, "g");
    gw_buf_t out;
    gw_buf_init(&out, 1 << 16);
    gw_xlat_info_t info;
    gw_sse_event_t ev = {"", 0, BLOCKED, strlen(BLOCKED)};
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && info.done && info.content, "blocked stream ends");
    T_OK(strstr(out.ptr, "\"finish_reason\":\"content_filter\"") != NULL, "blocked -> content_filter chunk");
    gw_buf_reset(&out);
    const char *err = "{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}";
    ev = (gw_sse_event_t){"", 0, err, strlen(err)};
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && info.error && out.len == 0, "in-band error");
    T_STREQ(info.error_message, "The model is overloaded.", "error message");
    T_STREQ(info.error_type, "server_error", "error type");
    T_STREQ(info.error_code, "overloaded", "error code");
    ev = (gw_sse_event_t){"", 0, "{\"candidates\":", 14};
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_EUPSTREAM && out.len == 0, "truncated JSON");
    ev = (gw_sse_event_t){"", 0, "\"str\"", 5};
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_EUPSTREAM, "not an object");
    const char *um = "{\"usageMetadata\":{\"promptTokenCount\":3}}";
    ev = (gw_sse_event_t){"", 0, um, strlen(um)};
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && out.len == 0 && !info.content, "usage-only chunk");
    T_OK(gw_xlat_usage(x).prompt_tokens == 3, "usage-only recorded");
    gw_buf_free(&out);
    gw_xlat_free(x);
}

int main(void)
{
    test_build_vectors();
    test_build_rules();
    test_build_errors();
    test_response();
    test_finish_table();
    test_errors();
    test_stream_gem3();
    test_stream_other();
    return t_done("test_prov_gemini");
}

/* test_prov_anthropic.c - the Anthropic adapter: requests (ANT-1
 * byte-exact, OAI-1 and ANT-2 field-exact, tools, images, limits),
 * answers (ANT-1, ANT-2), finish reasons, errors (ANT-6 and 5.5), and
 * streams (ANT-3, ANT-4, ANT-5, by hand and through the SSE parser).
 */
#include <jansson.h>
#include <string.h>

#include "alloc.h"
#include "prov_internal.h"
#include "provider.h"
#include "sse.h"
#include "test.h"

static const char OAI1[] =
    "{\"model\":\"gpt-test-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":"
    "\"user\",\"content\":\"Name a prime number above 10.\"}],\"max_completion_tokens\":16,\"temperature\":0.2,"
    "\"stop\":[\"\\n\\n\"],\"user\":\"u-42\"}";

/* The OpenAI request that ANT-1 expresses, and ANT-1 itself. */
static const char ANT1_AS_OAI[] =
    "{\"model\":\"alias\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":\"user\","
    "\"content\":\"Name a prime number above 10.\"}],\"max_tokens\":64,\"stop\":[\"\\n\\n\"],\"user\":\"u-42\"}";
static const char ANT1_REQ[] =
    "{\"model\":\"claude-test\",\"max_tokens\":64,\"system\":\"You are terse.\",\"messages\":[{\"role\":\"user\","
    "\"content\":\"Name a prime number above 10.\"}],\"stop_sequences\":[\"\\n\\n\"],\"metadata\":{\"user_id\":"
    "\"u-42\"}}";

static const char ANT1_RESP[] =
    "{\"id\":\"msg_test0001\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test\",\"content\":[{"
    "\"type\":\"text\",\"text\":\"11\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_"
    "tokens\":18,\"output_tokens\":4,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}";
static const char ANT2_TOOLS[] =
    "{\"tools\":[{\"name\":\"get_weather\",\"description\":\"Current weather\",\"input_schema\":{\"type\":\"object\","
    "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}],\"tool_choice\":{\"type\":\"auto\"}}";
static const char ANT2_RESP[] =
    "{\"id\":\"msg_test0002\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test\",\"content\":[{"
    "\"type\":\"text\",\"text\":\"Checking.\"},{\"type\":\"tool_use\",\"id\":\"toolu_01abc\",\"name\":\"get_weather\","
    "\"input\":{\"city\":\"Oslo\"}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":"
    "310,\"output_tokens\":41}}";
static const char ANT2_FOLLOWUP[] = "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                                    "\"toolu_01abc\",\"content\":\"4\xc2\xb0"
                                    "C, cloudy\"}]}";
static const char ANT6_BODY[] =
    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},\"request_id\":"
    "\"req_test_529\"}";

typedef struct {
    const char *event;
    const char *data;
} ev_t;

static const ev_t ANT3[] = {
    {"message_start",
     "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_test0003\",\"type\":\"message\",\"role\":\"assistant\","
     "\"model\":\"claude-test\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":"
     "18,\"output_tokens\":1,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}"},
    {"content_block_start",
     "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"},
    {"ping", "{\"type\":\"ping\"}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo \xe2\x9c\x93\"}}"},
    {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"},
    {"message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
                      "\"usage\":{\"output_tokens\":5}}"},
    {"message_stop", "{\"type\":\"message_stop\"}"},
};

static const ev_t ANT4[] = {
    {"content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
                            "\"id\":\"toolu_01abc\",\"name\":\"get_weather\",\"input\":{}}}"},
    {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
                            "\"partial_json\":\"{\\\"city\\\":\"}}"},
    {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
                            "\"partial_json\":\"\\\"Oslo\\\"}\"}}"},
    {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}"},
    {"message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
                      "\"usage\":{\"output_tokens\":41}}"},
    {"message_stop", "{\"type\":\"message_stop\"}"},
};

static json_t *loadn(const char *s, size_t n)
{
    json_error_t e;
    return json_loadb(s, n, JSON_DECODE_ANY, &e);
}

static json_t *load(const char *s) { return loadn(s, strlen(s)); }

static gw_err_t build(const char *body, const char *model, const char *key, gw_prov_req_t *r, gw_prov_errmsg_t *msg)
{
    gw_chat_info_t info;
    gw_prov_req_init(r, 1 << 20);
    memset(msg, 0, sizeof *msg);
    gw_err_t rc = gw_chat_inspect(body, strlen(body), &info, msg);
    if (rc != GW_OK)
        return rc;
    return gw_prov_build_chat(GW_PROV_ANTHROPIC, body, strlen(body), &info, "", model, key, r, msg);
}

/* Builds body and checks that field path (one key) equals want (JSON). */
static json_t *build_json(const char *body, gw_prov_errmsg_t *msg)
{
    gw_prov_req_t r;
    json_t *j = NULL;
    if (build(body, "claude-test", NULL, &r, msg) == GW_OK)
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
    T_OK(build(ANT1_AS_OAI, "claude-test", "test-key", &r, &msg) == GW_OK, "ANT-1 builds: %s", msg.message);
    T_STREQ(r.body.ptr, ANT1_REQ, "ANT-1 byte-exact: %s", r.body.ptr);
    T_STREQ(r.path.ptr, "/v1/messages", "path");
    T_STREQ(r.headers.ptr, "x-api-key: test-key\r\nanthropic-version: 2023-06-01\r\n", "headers");
    gw_prov_req_free(&r);
    gw_prov_req_init(&r, 1 << 20);
    T_OK(gw_prov_build_chat(GW_PROV_ANTHROPIC, ANT1_AS_OAI, strlen(ANT1_AS_OAI), NULL, "/anthropic/v1", "m", NULL,
                            &r, NULL) == GW_OK,
         "no key");
    T_STREQ(r.path.ptr, "/anthropic/v1/messages", "versioned base path");
    T_STREQ(r.headers.ptr, "anthropic-version: 2023-06-01\r\n", "only the version header");
    gw_prov_req_free(&r);

    json_t *j = build_json(OAI1, &msg);
    T_OK(j != NULL, "OAI-1 builds");
    expect_field(j, "model", "\"claude-test\"", "OAI-1");
    expect_field(j, "max_tokens", "16", "OAI-1");
    expect_field(j, "temperature", "0.2", "OAI-1");
    expect_field(j, "system", "\"You are terse.\"", "OAI-1");
    expect_field(j, "stop_sequences", "[\"\\n\\n\"]", "OAI-1");
    expect_field(j, "metadata", "{\"user_id\":\"u-42\"}", "OAI-1");
    expect_field(j, "messages", "[{\"role\":\"user\",\"content\":\"Name a prime number above 10.\"}]", "OAI-1");
    T_OK(json_object_get(j, "stream") == NULL && json_object_get(j, "user") == NULL, "no stream, no user");
    json_decref(j);

    /* ANT-2: tools and the tool round trip */
    const char *tools =
        "{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[{\"id\":\"toolu_01abc\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":"
        "\"toolu_01abc\",\"content\":\"4\xc2\xb0"
        "C, cloudy\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
        "\"Current weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
        "\"required\":[\"city\"]}}}],\"tool_choice\":\"auto\"}";
    j = build_json(tools, &msg);
    T_OK(j != NULL, "ANT-2 builds: %s", msg.message);
    json_t *frag = load(ANT2_TOOLS);
    T_OK(json_equal(json_object_get(j, "tools"), json_object_get(frag, "tools")), "ANT-2 tools");
    T_OK(json_equal(json_object_get(j, "tool_choice"), json_object_get(frag, "tool_choice")), "ANT-2 tool_choice");
    json_decref(frag);
    json_t *msgs = json_object_get(j, "messages");
    T_OK(json_array_size(msgs) == 3, "three turns");
    json_t *want = load(ANT2_FOLLOWUP);
    T_OK(json_equal(json_array_get(msgs, 2), want), "ANT-2 follow-up user turn");
    json_decref(want);
    const char *tu = "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01abc\",\"name\":"
                     "\"get_weather\",\"input\":{\"city\":\"Oslo\"}}]}";
    want = load(tu);
    T_OK(json_equal(json_array_get(msgs, 1), want), "assistant tool_use turn");
    json_decref(want);
    json_decref(j);
}

static void test_build_rules(void)
{
    gw_prov_errmsg_t msg;
    /* default max_tokens, temperature clamp, stream, developer role, merges */
    const char *b =
        "{\"model\":\"a\",\"stream\":true,\"temperature\":1.7,\"top_p\":0.5,\"messages\":[{\"role\":\"developer\","
        "\"content\":[{\"type\":\"text\",\"text\":\"Rule 1.\"}]},{\"role\":\"system\",\"content\":\"Rule 2.\"},"
        "{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"b\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,QUJD\"}},{\"type\":\"image_url\","
        "\"image_url\":{\"url\":\"https://x.test/y.jpg\",\"detail\":\"low\"}}]},{\"role\":\"assistant\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"ok\"}],\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\",\"function\":"
        "{\"name\":\"f\",\"arguments\":\"\"}},{\"id\":\"t2\",\"type\":\"function\",\"function\":{\"name\":\"g\","
        "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"r1\"}]},{\"role\":\"tool\",\"tool_call_id\":\"t2\",\"content\":\"r2\"},{\"role\":\"user\",\"content\":\"c\"}],"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"city\",\"strict\":true,\"schema\":"
        "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"],"
        "\"additionalProperties\":false}}}}";
    json_t *j = build_json(b, &msg);
    T_OK(j != NULL, "rules build: %s", msg.message);
    expect_field(j, "max_tokens", "4096", "default max_tokens");
    expect_field(j, "temperature", "1.0", "temperature clamped");
    expect_field(j, "top_p", "0.5", "top_p");
    expect_field(j, "stream", "true", "stream");
    expect_field(j, "system", "\"Rule 1.\\n\\nRule 2.\"", "system joined");
    expect_field(j, "output_config",
                 "{\"format\":{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\",\"properties\":{\"name\":"
                 "{\"type\":\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}}}",
                 "output_config");
    expect_field(j, "messages",
                 "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"},"
                 "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"QUJD\"}},"
                 "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x.test/y.jpg\"}}]},"
                 "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"},{\"type\":\"tool_use\",\"id\":"
                 "\"t1\",\"name\":\"f\",\"input\":{}},{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"g\",\"input\":{}}]},"
                 "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"r1\"},"
                 "{\"type\":\"tool_result\",\"tool_use_id\":\"t2\",\"content\":\"r2\"},{\"type\":\"text\",\"text\":"
                 "\"c\"}]}]",
                 "messages merged per role");
    json_decref(j);

    /* tool_choice forms */
    static const char *const tc[][2] = {
        {"\"required\"", "{\"type\":\"any\"}"},
        {"\"none\"", "{\"type\":\"none\"}"},
        {"{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "{\"type\":\"tool\",\"name\":\"f\"}"},
    };
    for (size_t i = 0; i < 3; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":"
                 "\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":%s}",
                 tc[i][0]);
        j = build_json(body, &msg);
        expect_field(j, "tool_choice", tc[i][1], tc[i][0]);
        expect_field(j, "tools", "[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}]",
                     "tool without parameters");
        json_decref(j);
    }
    j = build_json("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"parallel_tool_calls\":"
                   "false,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}",
                   &msg);
    expect_field(j, "tool_choice", "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}", "parallel off");
    json_decref(j);
    j = build_json("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":\"END\","
                   "\"safety_identifier\":\"s-1\",\"temperature\":-1,\"n\":1}",
                   &msg);
    expect_field(j, "stop_sequences", "[\"END\"]", "stop string");
    expect_field(j, "metadata", "{\"user_id\":\"s-1\"}", "safety_identifier");
    expect_field(j, "temperature", "0.0", "negative temperature clamped");
    json_decref(j);
}

static void test_build_errors(void)
{
    static const char *const bad[][2] = {
        {"{\"model\":\"a\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "n"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]}]}", "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"content\":\"x\"}]}", "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"t\",\"function\":{\"name\":"
         "\"f\",\"arguments\":\"[1]\"}}]}]}",
         "messages"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", "stop"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"custom\"}]}",
         "tools"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
         "\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"sometimes\"}",
         "tool_choice"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":"
         "\"json_schema\",\"json_schema\":{\"name\":\"x\"}}}",
         "response_format"},
        {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_prov_req_t r;
        gw_prov_errmsg_t msg;
        T_OK(build(bad[i][0], "m", NULL, &r, &msg) == GW_EINVAL, "bad %zu refused", i);
        T_STREQ(msg.param, bad[i][1], "bad %zu param '%s' (%s)", i, msg.param, msg.message);
        T_OK(msg.message[0] != '\0', "bad %zu has a message", i);
        gw_prov_req_free(&r);
    }
}

static json_t *translate(const char *body, gw_usage_t *u)
{
    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    json_t *j = NULL;
    if (gw_prov_translate_response(GW_PROV_ANTHROPIC, body, strlen(body), "claude-up", &out, u) == GW_OK)
        j = loadn(out.ptr, out.len);
    gw_buf_free(&out);
    return j;
}

static const char *path_str(const json_t *j, const char *p1, size_t i, const char *p2, const char *p3)
{
    json_t *c = json_array_get(json_object_get(j, p1), i);
    c = json_object_get(c, p2);
    return json_string_value(p3 != NULL ? json_object_get(c, p3) : c);
}

static void test_response(void)
{
    gw_usage_t u;
    json_t *j = translate(ANT1_RESP, &u);
    T_OK(j != NULL, "ANT-1 translates");
    T_STREQ(gw__jstr_get(j, "id"), "msg_test0001", "id");
    T_STREQ(gw__jstr_get(j, "object"), "chat.completion", "object");
    T_STREQ(gw__jstr_get(j, "model"), "claude-test", "model from the answer");
    T_OK(json_integer_value(json_object_get(j, "created")) > 1700000000, "created now");
    T_STREQ(path_str(j, "choices", 0, "message", "content"), "11", "content");
    T_STREQ(path_str(j, "choices", 0, "message", "role"), "assistant", "role");
    T_STREQ(path_str(j, "choices", 0, "finish_reason", NULL), "stop", "finish stop");
    json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
    T_OK(json_integer_value(json_object_get(c0, "index")) == 0 && json_is_null(json_object_get(c0, "logprobs")),
         "index, logprobs");
    T_OK(json_is_null(json_object_get(json_object_get(c0, "message"), "refusal")), "refusal null");
    json_t *want = load("{\"prompt_tokens\":18,\"completion_tokens\":4,\"total_tokens\":22,\"prompt_tokens_details\":"
                        "{\"cached_tokens\":0}}");
    T_OK(json_equal(json_object_get(j, "usage"), want), "ANT-1 usage");
    json_decref(want);
    T_OK(u.prompt_tokens == 18 && u.completion_tokens == 4, "usage out");
    json_decref(j);

    j = translate(ANT2_RESP, &u);
    T_OK(j != NULL, "ANT-2 translates");
    c0 = json_array_get(json_object_get(j, "choices"), 0);
    json_t *m = json_object_get(c0, "message");
    T_STREQ(gw__jstr_get(m, "content"), "Checking.", "text kept with tool calls");
    T_STREQ(gw__jstr_get(c0, "finish_reason"), "tool_calls", "finish tool_calls");
    json_t *tc = json_array_get(json_object_get(m, "tool_calls"), 0);
    want = load("{\"id\":\"toolu_01abc\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
                "\"{\\\"city\\\":\\\"Oslo\\\"}\"}}");
    T_OK(want != NULL && json_equal(tc, want), "ANT-2 tool call as OAI-2's");
    json_decref(want);
    T_OK(u.prompt_tokens == 310 && u.completion_tokens == 41, "ANT-2 usage");
    T_OK(json_object_get(json_object_get(j, "usage"), "prompt_tokens_details") == NULL, "no cache details");
    json_decref(j);

    /* tool use only: content null; refusal; cache counts */
    j = translate("{\"id\":\"m\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}],"
                  "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1,"
                  "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":100}}",
                  &u);
    m = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message");
    T_OK(json_is_null(json_object_get(m, "content")), "content null with only tool calls");
    T_OK(u.prompt_tokens == 115 && u.completion_tokens == 1, "prompt includes cache counts");
    T_OK(json_integer_value(json_object_get(json_object_get(json_object_get(j, "usage"), "prompt_tokens_details"),
                                            "cached_tokens")) == 100,
         "cached_tokens");
    T_STREQ(gw__jstr_get(j, "model"), "claude-up", "model falls back to upstream_model");
    json_decref(j);
    j = translate("{\"id\":\"m\",\"model\":\"c\",\"content\":[{\"type\":\"text\",\"text\":\"No.\"}],\"stop_reason\":"
                  "\"refusal\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}",
                  &u);
    c0 = json_array_get(json_object_get(j, "choices"), 0);
    m = json_object_get(c0, "message");
    T_STREQ(gw__jstr_get(c0, "finish_reason"), "content_filter", "refusal finish");
    T_STREQ(gw__jstr_get(m, "refusal"), "No.", "refusal text");
    T_OK(json_is_null(json_object_get(m, "content")), "refusal content null");
    json_decref(j);

    /* absurd counts cannot overflow the sums */
    j = translate("{\"id\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":9223372036854775807,"
                  "\"cache_read_input_tokens\":9223372036854775807,\"output_tokens\":-5}}",
                  &u);
    T_OK(j != NULL && u.prompt_tokens == ((int64_t)2 << 40) && u.completion_tokens == 0, "token counts clamped");
    json_decref(j);

    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    T_OK(gw_prov_translate_response(GW_PROV_ANTHROPIC, "{}", 2, "m", &out, &u) == GW_EUPSTREAM, "no content");
    T_OK(gw_prov_translate_response(GW_PROV_ANTHROPIC, "nope", 4, "m", &out, &u) == GW_EUPSTREAM, "not JSON");
    T_OK(out.len == 0 && u.prompt_tokens == -1, "nothing out");
    gw_buf_free(&out);
}

static void test_finish_table(void)
{
    static const char *const t[][2] = {
        {"end_turn", "stop"},     {"stop_sequence", "stop"},   {"max_tokens", "length"},
        {"tool_use", "tool_calls"}, {"refusal", "content_filter"}, {"pause_turn", "stop"},
        {"model_context_window_exceeded", "length"}, {"something_new", "stop"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        T_STREQ(gw__anthropic_finish(t[i][0]), t[i][1], "finish %s", t[i][0]);
    T_STREQ(gw__anthropic_finish(NULL), "stop", "finish NULL");
}

static void expect_error(int status, const char *body, int want_status, const char *msg, const char *type,
                         const char *code)
{
    gw_buf_t out;
    gw_buf_init(&out, 1 << 16);
    int st = gw_prov_translate_error(GW_PROV_ANTHROPIC, status, body, strlen(body), &out);
    T_OK(st == want_status, "%d -> %d (got %d)", status, want_status, st);
    json_t *j = loadn(out.ptr, out.len);
    json_t *e = json_object_get(j, "error");
    T_STREQ(gw__jstr_get(e, "message"), msg, "%d message: %s", status, out.ptr);
    T_STREQ(gw__jstr_get(e, "type"), type, "%d type", status);
    T_OK(code == NULL ? json_is_null(json_object_get(e, "code")) : strcmp(gw__jstr_get(e, "code"), code) == 0,
         "%d code", status);
    T_OK(json_is_null(json_object_get(e, "param")), "%d param null", status);
    json_decref(j);
    gw_buf_free(&out);
}

static void test_errors(void)
{
    expect_error(529, ANT6_BODY, 503, "Overloaded", "server_error", "overloaded");
    expect_error(400,
                 "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"max_tokens: Field "
                 "required\"},\"request_id\":\"r\"}",
                 400, "max_tokens: Field required", "invalid_request_error", NULL);
    expect_error(401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}",
                 401, "invalid x-api-key", "authentication_error", "invalid_api_key");
    expect_error(403, "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\",\"message\":\"no\"}}", 403, "no",
                 "permission_error", NULL);
    expect_error(404, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model: x\"}}", 404,
                 "model: x", "invalid_request_error", "model_not_found");
    expect_error(429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}", 429,
                 "slow down", "rate_limit_error", "rate_limit_exceeded");
    expect_error(500, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"oops\"}}", 500, "oops",
                 "server_error", NULL);
    expect_error(504, "{\"type\":\"error\",\"error\":{\"type\":\"timeout_error\",\"message\":\"slow\"}}", 504, "slow",
                 "timeout_error", NULL);
    expect_error(413, "<html>Request Entity Too Large</html>", 413,
                 "Upstream returned HTTP 413: <html>Request Entity Too Large</html>", "invalid_request_error",
                 "request_too_large");
    expect_error(402, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":\"pay\"}}", 402, "pay",
                 "billing_error", "insufficient_quota");
    T_OK(gw_prov_error_retry_after(GW_PROV_ANTHROPIC, ANT6_BODY, strlen(ANT6_BODY)) == -1, "no body retry hint");
}

typedef struct {
    gw_xlat_t *x;
    gw_buf_t out;
    int events, content, done, error, fail;
} feed_t;

static void feed_one(feed_t *f, const char *event, const char *data)
{
    gw_sse_event_t ev = {event, strlen(event), data, strlen(data)};
    gw_xlat_info_t info;
    if (gw_xlat_event(f->x, &ev, &f->out, &info) != GW_OK)
        f->fail++;
    f->events++;
    f->content += info.content;
    f->done += info.done;
    f->error += info.error;
}

/* Splits out into frames; returns how many, each parsed into js[]. */
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

static const char *delta_str(const json_t *chunk, const char *key)
{
    return gw__jstr_get(json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta"), key);
}

static void check_chunk_envelope(json_t *const *js, size_t n, const char *id)
{
    json_int_t created = json_integer_value(json_object_get(js[0], "created"));
    for (size_t i = 0; i < n; i++) {
        if (json_is_string(js[i]))
            continue;
        T_STREQ(gw__jstr_get(js[i], "id"), id, "frame %zu id", i);
        T_STREQ(gw__jstr_get(js[i], "object"), "chat.completion.chunk", "frame %zu object", i);
        T_STREQ(gw__jstr_get(js[i], "model"), "claude-up", "frame %zu model", i);
        T_OK(json_integer_value(json_object_get(js[i], "created")) == created && created > 0, "frame %zu created", i);
    }
}

static void test_stream_ant3(void)
{
    feed_t f = {gw_xlat_new(GW_PROV_ANTHROPIC, 1, "claude-up"), {0}, 0, 0, 0, 0, 0};
    gw_buf_init(&f.out, 1 << 20);
    int content[8];
    for (size_t i = 0; i < 8; i++) {
        int before = f.content;
        size_t len = f.out.len;
        feed_one(&f, ANT3[i].event, ANT3[i].data);
        content[i] = f.content - before;
        if (i == 1 || i == 2 || i == 5 || i == 7)
            T_OK(f.out.len == len, "ANT-3 event %zu writes nothing", i);
        T_OK(f.done == (i == 7), "done only at message_stop (%zu)", i);
    }
    T_OK(f.fail == 0 && f.error == 0, "no failures");
    T_OK(content[3] == 1 && content[4] == 1 && content[0] == 0 && content[6] == 0, "content flags");
    gw_usage_t u = gw_xlat_usage(f.x);
    T_OK(u.prompt_tokens == 18 && u.completion_tokens == 5, "ANT-3 usage %lld/%lld", (long long)u.prompt_tokens,
         (long long)u.completion_tokens);
    T_OK(gw_xlat_finish(f.x, &f.out) == GW_OK, "finish");
    json_t *js[16];
    size_t n = frames(&f.out, js, 16);
    T_OK(n == 6, "role, Hel, lo, finish, usage, DONE: %zu frames\n%s", n, f.out.ptr);
    if (n == 6) {
        check_chunk_envelope(js, 5, "msg_test0003");
        T_STREQ(delta_str(js[0], "role"), "assistant", "role chunk");
        T_STREQ(delta_str(js[0], "content"), "", "role chunk content");
        T_STREQ(delta_str(js[1], "content"), "Hel", "Hel");
        T_STREQ(delta_str(js[2], "content"), "lo \xe2\x9c\x93", "lo check");
        T_STREQ(gw__jstr_get(json_array_get(json_object_get(js[3], "choices"), 0), "finish_reason"), "stop", "stop");
        T_OK(json_is_null(json_object_get(json_array_get(json_object_get(js[1], "choices"), 0), "finish_reason")),
             "finish null before");
        json_t *want = load("{\"prompt_tokens\":18,\"completion_tokens\":5,\"total_tokens\":23,"
                            "\"prompt_tokens_details\":{\"cached_tokens\":0}}");
        T_OK(json_array_size(json_object_get(js[4], "choices")) == 0 && json_equal(json_object_get(js[4], "usage"), want),
             "usage chunk");
        json_decref(want);
        T_STREQ(json_string_value(js[5]), "[DONE]", "DONE last");
    }
    for (size_t i = 0; i < n; i++)
        json_decref(js[i]);
    gw_buf_free(&f.out);
    gw_xlat_free(f.x);

    /* without include_usage: no usage chunk */
    f = (feed_t){gw_xlat_new(GW_PROV_ANTHROPIC, 0, "claude-up"), {0}, 0, 0, 0, 0, 0};
    gw_buf_init(&f.out, 1 << 20);
    for (size_t i = 0; i < 8; i++)
        feed_one(&f, ANT3[i].event, ANT3[i].data);
    gw_xlat_finish(f.x, &f.out);
    n = frames(&f.out, js, 16);
    T_OK(n == 5 && json_is_string(js[4]), "no usage chunk without include_usage");
    for (size_t i = 0; i < n; i++)
        json_decref(js[i]);
    gw_buf_free(&f.out);
    gw_xlat_free(f.x);
}

static void test_stream_ant4_ant5(void)
{
    feed_t f = {gw_xlat_new(GW_PROV_ANTHROPIC, 0, "claude-up"), {0}, 0, 0, 0, 0, 0};
    gw_buf_init(&f.out, 1 << 20);
    feed_one(&f, ANT3[0].event, ANT3[0].data); /* message_start */
    feed_one(&f, "", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    feed_one(&f, "", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}");
    T_OK(f.content == 0, "thinking is not content");
    for (size_t i = 0; i < 6; i++)
        feed_one(&f, ANT4[i].event, ANT4[i].data);
    T_OK(f.fail == 0 && f.done == 1 && f.content == 3, "ANT-4 flags: content %d", f.content);
    gw_xlat_finish(f.x, &f.out);
    json_t *js[16];
    size_t n = frames(&f.out, js, 16);
    T_OK(n == 6, "role, tool start, 2 args, finish, DONE: %zu", n);
    if (n == 6) {
        json_t *want = load("[{\"index\":0,\"id\":\"toolu_01abc\",\"type\":\"function\",\"function\":{\"name\":"
                            "\"get_weather\",\"arguments\":\"\"}}]");
        json_t *d1 = json_object_get(json_array_get(json_object_get(js[1], "choices"), 0), "delta");
        T_OK(want != NULL && json_equal(json_object_get(d1, "tool_calls"), want), "tool start, index 0 not 1");
        json_decref(want);
        want = load("[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]");
        json_t *d2 = json_object_get(json_array_get(json_object_get(js[2], "choices"), 0), "delta");
        T_OK(want != NULL && json_equal(json_object_get(d2, "tool_calls"), want), "arguments fragment 1");
        json_decref(want);
        want = load("[{\"index\":0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]");
        json_t *d3 = json_object_get(json_array_get(json_object_get(js[3], "choices"), 0), "delta");
        T_OK(want != NULL && json_equal(json_object_get(d3, "tool_calls"), want), "arguments fragment 2");
        json_decref(want);
        T_STREQ(gw__jstr_get(json_array_get(json_object_get(js[4], "choices"), 0), "finish_reason"), "tool_calls",
                "finish tool_calls");
    }
    for (size_t i = 0; i < n; i++)
        json_decref(js[i]);
    gw_usage_t u = gw_xlat_usage(f.x);
    T_OK(u.prompt_tokens == 18 && u.completion_tokens == 41, "ANT-4 usage");
    gw_buf_free(&f.out);
    gw_xlat_free(f.x);

    /* ANT-5: error after some deltas */
    gw_xlat_t *x = gw_xlat_new(GW_PROV_ANTHROPIC, 0, "claude-up");
    gw_buf_t out;
    gw_buf_init(&out, 1 << 16);
    gw_xlat_info_t info;
    const char *d = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
    gw_sse_event_t ev = {"error", 5, d, strlen(d)};
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK, "ANT-5 ok");
    T_OK(info.error == 1 && out.len == 0 && !info.done, "ANT-5 flagged, nothing written");
    T_STREQ(info.error_message, "Overloaded", "ANT-5 message");
    T_STREQ(info.error_type, "overloaded_error", "ANT-5 type");
    T_STREQ(info.error_code, "overloaded", "ANT-5 code");
    gw_xlat_error_frame(&out, info.error_message, info.error_type, info.error_code);
    T_STREQ(out.ptr,
            "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\",\"param\":null,\"code\":"
            "\"overloaded\"}}\n\n",
            "ANT-5 translated byte-exact");
    gw_buf_reset(&out);
    /* dispatch falls back to the event name; junk is EUPSTREAM */
    const char *stop = "{}";
    ev = (gw_sse_event_t){"message_stop", 12, stop, 2};
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && info.done, "event name used when type is missing");
    ev = (gw_sse_event_t){"", 0, "[1,2]", 5};
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_EUPSTREAM, "not an object");
    ev = (gw_sse_event_t){"", 0, "{\"type\":\"content_block_start\",\"index\":99999999,\"content_block\":{\"type\":"
                                 "\"tool_use\",\"id\":\"a\",\"name\":\"b\"}}",
                          0};
    ev.data_len = strlen(ev.data);
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_EUPSTREAM && out.len == 0, "absurd block index refused");
    ev = (gw_sse_event_t){"", 0, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\"}}", 0};
    ev.data_len = strlen(ev.data);
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && info.content == 1, "refusal counts as content");
    gw_buf_free(&out);
    gw_xlat_free(x);
}

static int on_event(const gw_sse_event_t *ev, void *data)
{
    feed_t *f = data;
    gw_xlat_info_t info;
    if (gw_xlat_event(f->x, ev, &f->out, &info) != GW_OK)
        f->fail++;
    f->events++;
    f->content += info.content;
    f->done += info.done;
    return 0;
}

/* ANT-3 bytes -> gw_sse_feed (split at each offset) -> gw_xlat_event. */
static void test_through_sse(void)
{
    gw_buf_t t;
    gw_buf_init(&t, 1 << 16);
    for (size_t i = 0; i < 8; i++)
        gw_buf_printf(&t, "event: %s\ndata: %s\n\n", ANT3[i].event, ANT3[i].data);
    int all_ok = 1;
    char *first = NULL;
    for (size_t cut = 0; cut <= t.len; cut++) {
        feed_t f = {gw_xlat_new(GW_PROV_ANTHROPIC, 0, "claude-up"), {0}, 0, 0, 0, 0, 0};
        gw_buf_init(&f.out, 1 << 20);
        gw_sse_parser_t p;
        gw_sse_init(&p, 1 << 16);
        gw_err_t rc = gw_sse_feed(&p, t.ptr, cut, on_event, &f);
        if (rc == GW_OK)
            rc = gw_sse_feed(&p, t.ptr + cut, t.len - cut, on_event, &f);
        /* the same bytes every time, but for the (per stream) created time */
        int ok = rc == GW_OK && f.events == 8 && f.content == 2 && f.done == 1 && f.fail == 0 &&
                 strstr(f.out.ptr, "\"content\":\"lo \xe2\x9c\x93\"") != NULL;
        if (first == NULL)
            first = gw_strdup(f.out.ptr);
        else
            ok &= strlen(first) == f.out.len;
        if (!ok) {
            T_OK(0, "ANT-3 split at %zu", cut);
            all_ok = 0;
        }
        gw_sse_free(&p);
        gw_buf_free(&f.out);
        gw_xlat_free(f.x);
    }
    T_OK(all_ok, "ANT-3 through the SSE parser at every split");
    gw_free(first);
    gw_buf_free(&t);
}

int main(void)
{
    test_build_vectors();
    test_build_rules();
    test_build_errors();
    test_response();
    test_finish_table();
    test_errors();
    test_stream_ant3();
    test_stream_ant4_ant5();
    test_through_sse();
    return t_done("test_prov_anthropic");
}

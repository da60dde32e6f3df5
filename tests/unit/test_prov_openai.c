/* test_prov_openai.c - the OpenAI pass-through adapter: model splice and
 * stream_options (byte-exact), paths and headers, OAI-1/2 answers and
 * usage, OAI-5 errors, OAI-3/OAI-4 streams (byte-exact, by hand and
 * through the SSE parser split at every byte), and a speed check.
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "provider.h"
#include "sse.h"
#include "test.h"

static const char OAI1[] =
    "{\"model\":\"gpt-test-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":"
    "\"user\",\"content\":\"Name a prime number above 10.\"}],\"max_completion_tokens\":16,\"temperature\":0.2,"
    "\"stop\":[\"\\n\\n\"],\"user\":\"u-42\"}";

static const char OAI1_RESP[] =
    "{\"id\":\"chatcmpl-test0001\",\"object\":\"chat.completion\",\"created\":1767225600,\"model\":\"gpt-test-mini-"
    "2026-01-01\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"11\",\"refusal\":null},"
    "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":21,\"completion_tokens\":2,\"total_"
    "tokens\":23,\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":"
    "0}},\"system_fingerprint\":\"fp_test\"}";

static const char OAI2_RESP[] =
    "{\"id\":\"chatcmpl-test0002\",\"object\":\"chat.completion\",\"created\":1767225601,\"model\":\"gpt-test-mini\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null,\"tool_calls\":"
    "[{\"id\":\"call_abc123\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city"
    "\\\":\\\"Oslo\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":58,"
    "\"completion_tokens\":17,\"total_tokens\":75}}";

static const char OAI5_BODY[] = "{\"error\":{\"message\":\"Rate limit reached for requests. Try again in 1.2s.\","
                                "\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";

/* OAI-3 events (the data of each) and the whole transcript. */
static const char *const OAI3_EV[] = {
    "{\"id\":\"chatcmpl-test0003\",\"object\":\"chat.completion.chunk\",\"created\":1767225602,\"model\":\"gpt-test-"
    "mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_"
    "reason\":null}],\"usage\":null}",
    "{\"id\":\"chatcmpl-test0003\",\"object\":\"chat.completion.chunk\",\"created\":1767225602,\"model\":\"gpt-test-"
    "mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"logprobs\":null,\"finish_reason\":null}],"
    "\"usage\":null}",
    "{\"id\":\"chatcmpl-test0003\",\"object\":\"chat.completion.chunk\",\"created\":1767225602,\"model\":\"gpt-test-"
    "mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \xe2\x9c\x93\"},\"logprobs\":null,\"finish_reason"
    "\":null}],\"usage\":null}",
    "{\"id\":\"chatcmpl-test0003\",\"object\":\"chat.completion.chunk\",\"created\":1767225602,\"model\":\"gpt-test-"
    "mini\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}",
    "{\"id\":\"chatcmpl-test0003\",\"object\":\"chat.completion.chunk\",\"created\":1767225602,\"model\":\"gpt-test-"
    "mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12,\"prompt_tokens_"
    "details\":{\"cached_tokens\":0}}}",
    "[DONE]",
};
static const int OAI3_CONTENT[] = {0, 1, 1, 0, 0, 0};

static const char *const OAI4_EV[] = {
    "{\"id\":\"chatcmpl-t4\",\"object\":\"chat.completion.chunk\",\"created\":1767225603,\"model\":\"gpt-test-mini\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":"
    "\"call_abc123\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_"
    "reason\":null}]}",
    "{\"id\":\"chatcmpl-t4\",\"object\":\"chat.completion.chunk\",\"created\":1767225603,\"model\":\"gpt-test-mini\","
    "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}"
    "]},\"finish_reason\":null}]}",
    "{\"id\":\"chatcmpl-t4\",\"object\":\"chat.completion.chunk\",\"created\":1767225603,\"model\":\"gpt-test-mini\","
    "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}"
    "]},\"finish_reason\":null}]}",
    "{\"id\":\"chatcmpl-t4\",\"object\":\"chat.completion.chunk\",\"created\":1767225603,\"model\":\"gpt-test-mini\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
    "[DONE]",
};
static const int OAI4_CONTENT[] = {1, 1, 1, 0, 0};

static gw_err_t build(const char *body, const char *base, const char *model, const char *key, gw_prov_req_t *r,
                      gw_prov_errmsg_t *msg)
{
    gw_chat_info_t info;
    gw_prov_req_init(r, 1 << 20);
    gw_err_t rc = gw_chat_inspect(body, strlen(body), &info, msg);
    if (rc != GW_OK)
        return rc;
    return gw_prov_build_chat(GW_PROV_OPENAI, body, strlen(body), &info, base, model, key, r, msg);
}

/* Builds body with model "up" and checks the upstream body is want. */
static void expect_body(const char *body, const char *want, const char *what)
{
    gw_prov_req_t r;
    gw_prov_errmsg_t msg = {{0}, {0}};
    T_OK(build(body, "", "up", NULL, &r, &msg) == GW_OK, "%s: build (%s)", what, msg.message);
    T_STREQ(r.body.ptr, want, "%s: got %s", what, r.body.ptr ? r.body.ptr : "(null)");
    json_error_t e;
    json_t *j = json_loadb(r.body.ptr, r.body.len, 0, &e);
    T_OK(j != NULL, "%s: output is JSON", what);
    json_decref(j);
    gw_prov_req_free(&r);
}

static void test_build_oai1(void)
{
    gw_prov_req_t r;
    gw_prov_errmsg_t msg;
    T_OK(build(OAI1, "", "gpt-test-mini-2026-01-01", "sk-test", &r, &msg) == GW_OK, "OAI-1 builds");
    T_STREQ(r.path.ptr, "/v1/chat/completions", "path");
    T_STREQ(r.headers.ptr, "Authorization: Bearer sk-test\r\n", "auth header");
    const char *want =
        "{\"model\":\"gpt-test-mini-2026-01-01\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
        "{\"role\":\"user\",\"content\":\"Name a prime number above 10.\"}],\"max_completion_tokens\":16,"
        "\"temperature\":0.2,\"stop\":[\"\\n\\n\"],\"user\":\"u-42\"}";
    T_STREQ(r.body.ptr, want, "OAI-1 body spliced byte-exact");
    gw_prov_req_free(&r);

    static const char *const paths[][2] = {
        {"/v1", "/v1/chat/completions"},          {"/openai/v1", "/openai/v1/chat/completions"},
        {"/openai/v1/", "/openai/v1/chat/completions"}, {"/api", "/api/v1/chat/completions"},
        {"/api/paas/v4", "/api/paas/v4/chat/completions"}, {"/", "/v1/chat/completions"},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        T_OK(build(OAI1, paths[i][0], "m", NULL, &r, &msg) == GW_OK, "build %s", paths[i][0]);
        T_STREQ(r.path.ptr, paths[i][1], "path for base '%s': %s", paths[i][0], r.path.ptr);
        T_OK(r.headers.len == 0, "no key, no header");
        gw_prov_req_free(&r);
    }
    T_OK(build(OAI1, "", "m", "sk\r\nX-Evil: 1", &r, &msg) == GW_EINVAL, "key with CRLF refused");
    gw_prov_req_free(&r);
    T_OK(build(OAI1, "", "", "k", &r, &msg) == GW_EINVAL, "empty upstream model refused");
    gw_prov_req_free(&r);
}

static void test_splice(void)
{
    /* model escaping: quotes, backslash, control, unicode kept as UTF-8 */
    gw_prov_req_t r;
    gw_prov_errmsg_t msg;
    const char *model = "we\"ird\\mo/del\x01\xe2\x9c\x93";
    T_OK(build(OAI1, "", model, NULL, &r, &msg) == GW_OK, "odd model builds");
    const char *esc = "{\"model\":\"we\\\"ird\\\\mo/del\\u0001\xe2\x9c\x93\",\"messages\"";
    T_OK(strncmp(r.body.ptr, esc, strlen(esc)) == 0, "escaped model: %.60s", r.body.ptr);
    json_error_t e;
    json_t *j = json_loadb(r.body.ptr, r.body.len, 0, &e);
    T_STREQ(json_string_value(json_object_get(j, "model")), model, "model round-trips");
    json_decref(j);
    gw_prov_req_free(&r);

    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":true}",
                "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                "stream_options added");
    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":false}", "{\"model\":\"up\",\"messages\":[{}],\"stream\":false}",
                "no stream: nothing added");
    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":true,\"stream_options\":{}}",
                "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                "empty stream_options filled");
    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":true,\"stream_options\":{ }}",
                "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true }}",
                "blank stream_options filled");
    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_obfuscation\":false}}",
                "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true,"
                "\"include_obfuscation\":false}}",
                "existing stream_options kept");
    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":false,\"x\":1}}",
                "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true,\"x\":1}}",
                "include_usage false set to true");
    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":null}}",
                "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                "include_usage null set to true");
    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                "include_usage true untouched");
    expect_body("{\"model\":\"a\",\"messages\":[{}],\"stream\":true,\"stream_options\":null}",
                "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                "stream_options null replaced");
    /* keys in any order: the stream_options edit comes before the model edit */
    expect_body("{\"stream_options\":{\"include_usage\":false},\"stream\":true,\"messages\":[{}],\"model\":\"a\"}",
                "{\"stream_options\":{\"include_usage\":true},\"stream\":true,\"messages\":[{}],\"model\":\"up\"}",
                "reverse key order");
    /* whitespace everywhere, pretty-printed */
    expect_body("\n{\n  \"stream\" : true ,\n  \"model\" :\t\"a\\\"b\" ,\n  \"messages\" : [ { } ]\n}\n",
                "\n{\n  \"stream\" : true ,\n  \"model\" :\t\"up\" ,\n  \"messages\" : [ { } ]\n,\"stream_options\":"
                "{\"include_usage\":true}}\n",
                "pretty body");
    /* a "model" key nested deeper is not touched */
    expect_body("{\"messages\":[{\"model\":\"x\"}],\"model\":\"a\",\"metadata\":{\"model\":\"y\"}}",
                "{\"messages\":[{\"model\":\"x\"}],\"model\":\"up\",\"metadata\":{\"model\":\"y\"}}", "nested model kept");

    /* info inspected on another copy of the body: build re-inspects */
    const char *b1 = "{\"model\":\"a\",\"messages\":[{}],\"stream\":true}";
    char copy[128];
    memcpy(copy, b1, strlen(b1) + 1);
    gw_chat_info_t info;
    T_OK(gw_chat_inspect(b1, strlen(b1), &info, NULL) == GW_OK, "inspect original");
    gw_prov_req_init(&r, 1 << 16);
    T_OK(gw_prov_build_chat(GW_PROV_OPENAI, copy, strlen(copy), &info, "", "up", NULL, &r, NULL) == GW_OK, "copy");
    T_STREQ(r.body.ptr, "{\"model\":\"up\",\"messages\":[{}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
            "copy spliced");
    gw_prov_req_free(&r);
    gw_prov_req_init(&r, 1 << 16);
    T_OK(gw_prov_build_chat(GW_PROV_OPENAI, copy, strlen(copy), NULL, "", "up", NULL, &r, NULL) == GW_OK, "NULL info");
    T_OK(gw_prov_build_chat(GW_PROV_OPENAI, "[]", 2, NULL, "", "up", NULL, &r, &msg) == GW_EINVAL, "bad body");
    gw_prov_req_free(&r);
    /* the body limit holds */
    gw_prov_req_init(&r, 20);
    T_OK(gw_prov_build_chat(GW_PROV_OPENAI, b1, strlen(b1), NULL, "", "up", NULL, &r, NULL) == GW_ETOOBIG, "limit");
    gw_prov_req_free(&r);
}

static void test_response(void)
{
    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    gw_usage_t u;
    T_OK(gw_prov_translate_response(GW_PROV_OPENAI, OAI1_RESP, strlen(OAI1_RESP), "x", &out, &u) == GW_OK, "OAI-1");
    T_STREQ(out.ptr, OAI1_RESP, "OAI-1 copied verbatim");
    T_OK(u.prompt_tokens == 21 && u.completion_tokens == 2, "OAI-1 usage");
    gw_buf_reset(&out);
    T_OK(gw_prov_translate_response(GW_PROV_OPENAI, OAI2_RESP, strlen(OAI2_RESP), "x", &out, &u) == GW_OK, "OAI-2");
    T_STREQ(out.ptr, OAI2_RESP, "OAI-2 copied verbatim");
    T_OK(u.prompt_tokens == 58 && u.completion_tokens == 17, "OAI-2 usage");
    gw_buf_reset(&out);
    const char *nousage = "{\"id\":\"x\",\"choices\":[]}";
    T_OK(gw_prov_translate_response(GW_PROV_OPENAI, nousage, strlen(nousage), "x", &out, &u) == GW_OK, "no usage");
    T_OK(u.prompt_tokens == -1 && u.completion_tokens == -1, "usage unknown");
    gw_buf_reset(&out);
    gw_buf_adds(&out, "keep");
    T_OK(gw_prov_translate_response(GW_PROV_OPENAI, "<html>", 6, "x", &out, &u) == GW_EUPSTREAM, "not JSON");
    T_OK(gw_prov_translate_response(GW_PROV_OPENAI, "[1]", 3, "x", &out, &u) == GW_EUPSTREAM, "not an object");
    T_STREQ(out.ptr, "keep", "out untouched on failure");
    gw_buf_free(&out);
}

static void test_errors(void)
{
    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    T_OK(gw_prov_translate_error(GW_PROV_OPENAI, 429, OAI5_BODY, strlen(OAI5_BODY), &out) == 429, "OAI-5 429");
    T_STREQ(out.ptr, OAI5_BODY, "OAI-5 body verbatim");
    gw_buf_reset(&out);
    T_OK(gw_prov_translate_error(GW_PROV_OPENAI, 529, OAI5_BODY, strlen(OAI5_BODY), &out) == 503, "529 -> 503");
    T_STREQ(out.ptr, OAI5_BODY, "529 body verbatim");
    gw_buf_reset(&out);
    const char *detail = "{\"detail\":\"Not Found\"}";
    T_OK(gw_prov_translate_error(GW_PROV_OPENAI, 404, detail, strlen(detail), &out) == 404, "404 JSON");
    T_STREQ(out.ptr, detail, "non-OpenAI JSON verbatim");
    gw_buf_reset(&out);
    const char *html = "<html>bad gateway</html>\n<p>";
    T_OK(gw_prov_translate_error(GW_PROV_OPENAI, 502, html, strlen(html), &out) == 502, "502 html");
    json_error_t e;
    json_t *j = json_loadb(out.ptr, out.len, 0, &e);
    json_t *err = json_object_get(j, "error");
    T_STREQ(json_string_value(json_object_get(err, "message")), "Upstream returned HTTP 502: <html>bad gateway</html>",
            "wrapped message: %s", out.ptr);
    T_STREQ(json_string_value(json_object_get(err, "type")), "server_error", "wrapped type");
    T_OK(json_is_null(json_object_get(err, "param")) && json_is_null(json_object_get(err, "code")), "nulls");
    json_decref(j);
    gw_buf_reset(&out);
    T_OK(gw_prov_translate_error(GW_PROV_OPENAI, 503, "", 0, &out) == 503, "empty body");
    j = json_loadb(out.ptr, out.len, 0, &e);
    T_STREQ(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "overloaded", "503 code");
    json_decref(j);
    T_OK(gw_prov_error_retry_after(GW_PROV_OPENAI, OAI5_BODY, strlen(OAI5_BODY)) == -1, "no body retry hint");
    gw_buf_free(&out);
}

static gw_sse_event_t ev_of(const char *data)
{
    gw_sse_event_t ev = {"", 0, data, strlen(data)};
    return ev;
}

/* Feeds events by hand; checks the output and each event's flags. */
static void stream_by_hand(const char *const *evs, const int *content, size_t n, int include_usage, const char *want,
                           const char *what)
{
    gw_xlat_t *x = gw_xlat_new(GW_PROV_OPENAI, include_usage, "ignored");
    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    for (size_t i = 0; i < n; i++) {
        gw_sse_event_t ev = ev_of(evs[i]);
        gw_xlat_info_t info;
        T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK, "%s: event %zu", what, i);
        T_OK(info.content == content[i], "%s: event %zu content %d", what, i, info.content);
        T_OK(info.done == (i == n - 1) && info.error == 0, "%s: event %zu done %d", what, i, info.done);
    }
    T_OK(gw_xlat_finish(x, &out) == GW_OK, "%s: finish", what);
    T_STREQ(out.ptr, want, "%s: transcript", what);
    gw_buf_free(&out);
    gw_xlat_free(x);
}

static char *transcript(const char *const *evs, size_t n, int skip)
{
    gw_buf_t b;
    gw_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < n; i++)
        if ((int)i != skip)
            gw_buf_printf(&b, "data: %s\n\n", evs[i]);
    return gw_buf_take(&b, NULL);
}

static void test_stream_vectors(void)
{
    char *t3 = transcript(OAI3_EV, 6, -1);
    stream_by_hand(OAI3_EV, OAI3_CONTENT, 6, 1, t3, "OAI-3 with usage");
    char *t3n = transcript(OAI3_EV, 6, 4);
    stream_by_hand(OAI3_EV, OAI3_CONTENT, 6, 0, t3n, "OAI-3 usage chunk dropped");
    char *t4 = transcript(OAI4_EV, 5, -1);
    stream_by_hand(OAI4_EV, OAI4_CONTENT, 5, 0, t4, "OAI-4");
    gw_free(t3);
    gw_free(t3n);
    gw_free(t4);

    /* usage is recorded even when the chunk is dropped */
    gw_xlat_t *x = gw_xlat_new(GW_PROV_OPENAI, 0, "m");
    gw_buf_t out;
    gw_buf_init(&out, 1 << 20);
    gw_xlat_info_t info;
    gw_usage_t u = gw_xlat_usage(x);
    T_OK(u.prompt_tokens == -1 && u.completion_tokens == -1, "no usage yet");
    gw_sse_event_t ev = ev_of(OAI3_EV[4]);
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && out.len == 0, "usage chunk dropped");
    u = gw_xlat_usage(x);
    T_OK(u.prompt_tokens == 9 && u.completion_tokens == 3, "usage recorded");
    /* in-band error: nothing written, fields set */
    ev = ev_of("{\"error\":{\"message\":\"boom \\\"x\\\"\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK, "error event ok");
    T_OK(info.error == 1 && out.len == 0, "error flagged, nothing appended");
    T_STREQ(info.error_message, "boom \"x\"", "error message unescaped");
    T_STREQ(info.error_type, "server_error", "error type");
    T_STREQ(info.error_code, "", "error code null");
    /* not JSON: EUPSTREAM, out untouched */
    ev = ev_of("{\"id\":");
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_EUPSTREAM && out.len == 0, "bad JSON");
    ev = ev_of("");
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && out.len == 0 && !info.done, "empty data ignored");
    /* multi-line data is re-framed on one line */
    ev = ev_of("{\"id\":\"a\",\n\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\\ny\"}}]}");
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && info.content == 1, "multi-line ok");
    T_STREQ(out.ptr, "data: {\"id\":\"a\", \"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\\ny\"}}]}\n\n",
            "one data line");
    gw_buf_reset(&out);
    ev = ev_of("{\"choices\":[{\"delta\":{\"refusal\":\"no\"}}]}");
    T_OK(gw_xlat_event(x, &ev, &out, &info) == GW_OK && info.content == 1, "refusal is content");
    gw_buf_reset(&out);
    T_OK(gw_xlat_finish(x, &out) == GW_OK, "finish");
    T_STREQ(out.ptr, "data: [DONE]\n\n", "openai finish writes only [DONE]");
    gw_buf_free(&out);
    gw_xlat_free(x);
}

typedef struct {
    gw_xlat_t *x;
    gw_buf_t out;
    int events, content, done, fail;
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
    return 0;
}

/* bytes -> gw_sse_feed (split at every offset) -> gw_xlat_event */
static void test_through_sse(void)
{
    char *t3 = transcript(OAI3_EV, 6, -1);
    size_t n = strlen(t3);
    int all_ok = 1;
    for (size_t cut = 0; cut <= n; cut++) {
        feed_t f = {gw_xlat_new(GW_PROV_OPENAI, 1, "m"), {0}, 0, 0, 0, 0};
        gw_buf_init(&f.out, 1 << 20);
        gw_sse_parser_t p;
        gw_sse_init(&p, 1 << 16);
        gw_err_t rc = gw_sse_feed(&p, t3, cut, on_event, &f);
        if (rc == GW_OK)
            rc = gw_sse_feed(&p, t3 + cut, n - cut, on_event, &f);
        gw_xlat_finish(f.x, &f.out);
        int ok = rc == GW_OK && f.events == 6 && f.content == 2 && f.done == 1 && f.fail == 0 &&
                 strcmp(f.out.ptr, t3) == 0;
        if (!ok) {
            T_OK(0, "SSE split at %zu: events %d content %d done %d", cut, f.events, f.content, f.done);
            all_ok = 0;
        }
        gw_sse_free(&p);
        gw_buf_free(&f.out);
        gw_xlat_free(f.x);
    }
    T_OK(all_ok, "OAI-3 through the SSE parser, split at each of %zu offsets", n + 1);
    gw_free(t3);
}

static void test_speed(void)
{
    const char *body =
        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant that "
        "answers briefly.\"},{\"role\":\"user\",\"content\":\"What is the capital of Norway, and what is it known "
        "for? Please answer in two sentences at most, in plain English.\"},{\"role\":\"assistant\",\"content\":"
        "\"Oslo. It is known for its fjord, museums and the Nobel Peace Prize.\"},{\"role\":\"user\",\"content\":"
        "\"Thanks!\"}],\"temperature\":0.7,\"max_tokens\":128,\"stream\":true,\"user\":\"bench\"}";
    size_t len = strlen(body);
    gw_prov_req_t r;
    gw_prov_req_init(&r, 1 << 20);
    struct timespec a, b;
    const int rounds = 20000;
    int ok = 1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < rounds; i++) {
        gw_chat_info_t info;
        gw_buf_reset(&r.path);
        gw_buf_reset(&r.headers);
        gw_buf_reset(&r.body);
        ok &= gw_chat_inspect(body, len, &info, NULL) == GW_OK;
        ok &= gw_prov_build_chat(GW_PROV_OPENAI, body, len, &info, "", "gpt-4o-2024-08-06", "sk-xxxxxxxx", &r,
                                 NULL) == GW_OK;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / rounds;
    printf("inspect + openai build of a %zu-byte request: %.2f us\n", len, us);
    T_OK(ok, "all rounds ok");
    T_OK(us < 200, "well under 200 us even with sanitizers (%.2f)", us);
    gw_prov_req_free(&r);
}

int main(void)
{
    test_build_oai1();
    test_splice();
    test_response();
    test_errors();
    test_stream_vectors();
    test_through_sse();
    test_speed();
    return t_done("test_prov_openai");
}

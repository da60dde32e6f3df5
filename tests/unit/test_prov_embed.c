/* test_prov_embed.c - embeddings through gw_op_inspect / gw_prov_build /
 * gw_prov_translate(_req): request checks and their messages, the openai
 * model splice (byte-exact), OAI-6 -> GEM-5 (byte-exact), paths and
 * headers, providers without embeddings, answers (OAI-6 verbatim, GEM-5 to
 * the OpenAI list byte-exact, base64 as the OpenAI SDK decodes it), broken
 * answers, usage, the GW_OP_CHAT delegation, and allocation failures.
 */
#include <jansson.h>
#include <string.h>

#include "alloc.h"
#include "prov_ops.h"
#include "provider.h"
#include "test.h"

#define BAD_JSON "We could not parse the JSON body of your request. (HINT: it must be one valid JSON object.)"

static const char OAI6_REQ[] =
    "{\"model\":\"text-embedding-test\",\"input\":[\"alpha\",\"beta\"],\"encoding_format\":\"float\",\"dimensions\":4}";
static const char OAI6_RESP[] =
    "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.1,-0.2,0.3,0.0]},{\"object\":"
    "\"embedding\",\"index\":1,\"embedding\":[0.05,0.4,-0.1,0.2]}],\"model\":\"text-embedding-test\",\"usage\":{"
    "\"prompt_tokens\":2,\"total_tokens\":2}}";
static const char GEM5_REQ[] =
    "{\"requests\":[{\"model\":\"models/embed-test\",\"content\":{\"parts\":[{\"text\":\"alpha\"}]},"
    "\"outputDimensionality\":4},{\"model\":\"models/embed-test\",\"content\":{\"parts\":[{\"text\":\"beta\"}]},"
    "\"outputDimensionality\":4}]}";
static const char GEM5_RESP[] = "{\"embeddings\":[{\"values\":[0.1,-0.2,0.3,0.0]},{\"values\":[0.05,0.4,-0.1,0.2]}]}";
/* GEM-5 as the OpenAI list: OAI-6's shape, usage unknown (0 in the body). */
static const char GEM5_AS_OAI[] =
    "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.1,-0.2,0.3,0.0]},{\"object\":"
    "\"embedding\",\"index\":1,\"embedding\":[0.05,0.4,-0.1,0.2]}],\"model\":\"text-embedding-test\",\"usage\":{"
    "\"prompt_tokens\":0,\"total_tokens\":0}}";
/* little-endian float32 of each GEM-5 vector, base64 (python struct.pack('<4f')) */
static const char B64_0[] = "zczMPc3MTL6amZk+AAAAAA==";
static const char B64_1[] = "zcxMPc3MzD7NzMy9zcxMPg==";

static gw_err_t inspect(const char *body, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    memset(msg, 0, sizeof *msg);
    return gw_op_inspect(GW_OP_EMBEDDINGS, body, strlen(body), info, msg);
}

static gw_err_t build(gw_prov_kind_t kind, const char *body, const char *base, const char *model, const char *key,
                      gw_prov_req_t *r, gw_prov_errmsg_t *msg)
{
    gw_chat_info_t info;
    gw_prov_req_init(r, 1 << 20);
    gw_err_t rc = inspect(body, &info, msg);
    if (rc != GW_OK)
        return rc;
    return gw_prov_build(GW_OP_EMBEDDINGS, kind, body, strlen(body), &info, base, model, key, r, msg);
}

static void test_inspect_ok(void)
{
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    T_OK(inspect(OAI6_REQ, &info, &msg) == GW_OK, "OAI-6 accepted: %s", msg.message);
    T_OK(info.model_len == 19 && memcmp(info.model, "text-embedding-test", 19) == 0, "model");
    T_OK(info.prompt_chars == 9 && info.stream == 0 && info.max_tokens == -1, "chars %zu", info.prompt_chars);
    T_OK(info.splice.body == OAI6_REQ && info.splice.model_at == 9 && info.splice.model_end == 30, "splice offsets");
    static const struct {
        const char *body;
        size_t chars;
    } ok[] = {
        {"{\"model\":\"m\",\"input\":\"hello\"}", 5},
        {"{\"model\":\"m\",\"input\":[1,2,3]}", 12},
        {"{\"model\":\"m\",\"input\":[[1,2],[3]]}", 12},
        {"{\"model\":\"m\",\"input\":\"ab\",\"encoding_format\":\"base64\",\"dimensions\":8,\"user\":\"u\"}", 2},
        {"{\"model\":\"m\",\"input\":\"ab\",\"encoding_format\":null,\"dimensions\":null,\"user\":null,\"x\":[1]}", 2},
        {" {\"input\":[\"a\",\"bc\"],\"model\":\"m\",\"encoding_format\":\"b\\u0061se64\"} ", 3},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        gw_err_t rc = inspect(ok[i].body, &info, &msg);
        T_OK(rc == GW_OK && info.prompt_chars == ok[i].chars, "ok[%zu]: rc %d chars %zu %s", i, rc, info.prompt_chars,
             msg.message);
    }
}

static void test_inspect_errors(void)
{
    static const struct {
        const char *body, *message, *param;
    } bad[] = {
        {"{", BAD_JSON, ""},
        {"[]", "The request body must be a JSON object.", ""},
        {"{\"input\":\"x\"}", "'model' is a required property", "model"},
        {"{\"model\":\"\",\"input\":\"x\"}", "'model' must be a non-empty string", "model"},
        {"{\"model\":7,\"input\":\"x\"}", "'model' must be a non-empty string", "model"},
        {"{\"model\":\"m\"}", "'input' is a required property", "input"},
        {"{\"model\":\"m\",\"input\":\"\"}", "'input' must not be an empty string", "input"},
        {"{\"model\":\"m\",\"input\":[]}", "'input' must not be an empty array", "input"},
        {"{\"model\":\"m\",\"input\":5}",
         "Invalid type for 'input': expected a string, an array of strings, an array of token ids or an array of "
         "token id arrays.",
         "input"},
        {"{\"model\":\"m\",\"input\":[{\"text\":\"a\"}]}",
         "Invalid type for 'input': expected a string, an array of strings, an array of token ids or an array of "
         "token id arrays.",
         "input"},
        {"{\"model\":\"m\",\"input\":[\"a\",1]}", "Invalid type for 'input[1]': every item must have the type of "
                                                 "'input[0]'.", "input"},
        {"{\"model\":\"m\",\"input\":[\"a\",\"\"]}", "Invalid value for 'input[1]': expected a non-empty string.",
         "input"},
        {"{\"model\":\"m\",\"input\":[1,-2]}", "Invalid value for 'input[1]': expected a non-negative integer token "
                                              "id.", "input"},
        {"{\"model\":\"m\",\"input\":[1,1.5]}", "Invalid value for 'input[1]': expected a non-negative integer token "
                                               "id.", "input"},
        {"{\"model\":\"m\",\"input\":[1,[2]]}", "Invalid value for 'input[1]': expected a non-negative integer token "
                                               "id.", "input"},
        {"{\"model\":\"m\",\"input\":[[1],[]]}", "Invalid value for 'input[1]': expected a non-empty array of token "
                                                "ids.", "input"},
        {"{\"model\":\"m\",\"input\":[[1],[2,\"x\"]]}", "Invalid value for 'input[1][1]': expected a non-negative "
                                                       "integer token id.", "input"},
        {"{\"model\":\"m\",\"input\":\"a\",\"encoding_format\":\"int8\"}",
         "Invalid value for 'encoding_format': expected 'float' or 'base64'.", "encoding_format"},
        {"{\"model\":\"m\",\"input\":\"a\",\"encoding_format\":1}",
         "Invalid value for 'encoding_format': expected 'float' or 'base64'.", "encoding_format"},
        {"{\"model\":\"m\",\"input\":\"a\",\"dimensions\":0}", "Invalid value for 'dimensions': expected a positive "
                                                              "integer.", "dimensions"},
        {"{\"model\":\"m\",\"input\":\"a\",\"dimensions\":\"4\"}", "Invalid value for 'dimensions': expected a "
                                                                  "positive integer.", "dimensions"},
        {"{\"model\":\"m\",\"input\":\"a\",\"dimensions\":2.5}", "Invalid value for 'dimensions': expected a "
                                                                "positive integer.", "dimensions"},
        {"{\"model\":\"m\",\"input\":\"a\",\"user\":5}", "Invalid type for 'user': expected a string.", "user"},
        {"{\"model\":\"a\",\"input\":\"x\",\"model\":\"b\"}", "Duplicate key 'model' in the request body.", "model"},
        {"{\"model\":\"a\",\"input\":\"x\",\"inp\\u0075t\":\"y\"}", "Duplicate key 'input' in the request body.",
         "input"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_chat_info_t info;
        gw_prov_errmsg_t msg;
        gw_err_t rc = inspect(bad[i].body, &info, &msg);
        T_OK(rc == GW_EINVAL, "bad[%zu] rc %d", i, rc);
        T_STREQ(msg.message, bad[i].message, "bad[%zu] message: %s", i, msg.message);
        T_STREQ(msg.param, bad[i].param, "bad[%zu] param: %s", i, msg.param);
    }
    gw_chat_info_t info;
    T_OK(gw_op_inspect(GW_OP_EMBEDDINGS, "{\"model\":\"m\",\"input\":\"a\"}", 25, &info, NULL) == GW_OK, "msg NULL ok");
    T_OK(gw_op_inspect(GW_OP_EMBEDDINGS, "{}", 2, &info, NULL) == GW_EINVAL, "msg may be NULL");
}

static void test_build_openai(void)
{
    gw_prov_req_t r;
    gw_prov_errmsg_t msg;
    const char *body = "{ \"input\" : [\"a\\\"b\"],\n  \"model\" : \"alias\\u0041\", \"encoding_format\":\"base64\" }";
    T_OK(build(GW_PROV_OPENAI, body, "", "text-embedding-3-small", "sk-1", &r, &msg) == GW_OK, "build %s",
         msg.message);
    T_STREQ(r.body.ptr,
            "{ \"input\" : [\"a\\\"b\"],\n  \"model\" : \"text-embedding-3-small\", \"encoding_format\":\"base64\" }",
            "only the model value changed: %s", r.body.ptr);
    T_STREQ(r.path.ptr, "/v1/embeddings", "path %s", r.path.ptr);
    T_STREQ(r.headers.ptr, "Authorization: Bearer sk-1\r\n", "headers %s", r.headers.ptr);
    gw_prov_req_free(&r);

    T_OK(build(GW_PROV_OPENAI, OAI6_REQ, "/openai/v1/", "we\"ird", NULL, &r, &msg) == GW_OK, "build");
    T_STREQ(r.body.ptr,
            "{\"model\":\"we\\\"ird\",\"input\":[\"alpha\",\"beta\"],\"encoding_format\":\"float\",\"dimensions\":4}",
            "model escaped: %s", r.body.ptr);
    T_STREQ(r.path.ptr, "/openai/v1/embeddings", "versioned base: %s", r.path.ptr);
    T_OK(r.headers.len == 0, "no key, no header");
    gw_prov_req_free(&r);

    static const char *const bases[][2] = {{"/api", "/api/v1/embeddings"}, {"v4", "/v4/embeddings"},
                                           {"/compat/v1beta", "/compat/v1beta/embeddings"}};
    for (int i = 0; i < 3; i++) {
        T_OK(build(GW_PROV_OPENAI, OAI6_REQ, bases[i][0], "m", "k", &r, &msg) == GW_OK, "build");
        T_STREQ(r.path.ptr, bases[i][1], "base %s -> %s", bases[i][0], r.path.ptr);
        gw_prov_req_free(&r);
    }

    /* no info: gw_prov_build inspects the body itself */
    gw_prov_req_init(&r, 1 << 20);
    T_OK(gw_prov_build(GW_OP_EMBEDDINGS, GW_PROV_OPENAI, OAI6_REQ, strlen(OAI6_REQ), NULL, "", "x", NULL, &r, &msg) ==
             GW_OK,
         "NULL info");
    T_STREQ(r.body.ptr, "{\"model\":\"x\",\"input\":[\"alpha\",\"beta\"],\"encoding_format\":\"float\",\"dimensions\":4}",
            "NULL info body");
    gw_prov_req_free(&r);
    gw_prov_req_init(&r, 1 << 20);
    T_OK(gw_prov_build(GW_OP_EMBEDDINGS, GW_PROV_OPENAI, "{\"model\":\"m\"}", 13, NULL, "", "x", NULL, &r, &msg) ==
             GW_EINVAL,
         "NULL info, bad body");
    T_STREQ(msg.message, "'input' is a required property", "message %s", msg.message);
    gw_prov_req_free(&r);

    T_OK(build(GW_PROV_OPENAI, OAI6_REQ, "", "", "k", &r, &msg) == GW_EINVAL, "no upstream model");
    T_STREQ(msg.message, "No upstream model name is configured.", "message %s", msg.message);
    gw_prov_req_free(&r);
    T_OK(build(GW_PROV_OPENAI, OAI6_REQ, "", "m", "k\r\nX-Evil: 1", &r, &msg) == GW_EINVAL, "key with CRLF");
    T_STREQ(msg.message, "The provider's API key holds a line break.", "message %s", msg.message);
    gw_prov_req_free(&r);
}

static void test_build_gemini(void)
{
    gw_prov_req_t r;
    gw_prov_errmsg_t msg;
    T_OK(build(GW_PROV_GEMINI, OAI6_REQ, "", "embed-test", "gk", &r, &msg) == GW_OK, "build %s", msg.message);
    T_STREQ(r.body.ptr, GEM5_REQ, "GEM-5 request byte-exact: %s", r.body.ptr);
    T_STREQ(r.path.ptr, "/v1beta/models/embed-test:batchEmbedContents", "path %s", r.path.ptr);
    T_STREQ(r.headers.ptr, "x-goog-api-key: gk\r\n", "headers %s", r.headers.ptr);
    gw_prov_req_free(&r);

    T_OK(build(GW_PROV_GEMINI, "{\"model\":\"e\",\"input\":\"caf\xc3\xa9 \\n\"}", "/v1beta/", "models/a b", NULL, &r,
               &msg) == GW_OK,
         "single string");
    T_STREQ(r.body.ptr, "{\"requests\":[{\"model\":\"models/a b\",\"content\":{\"parts\":[{\"text\":\"caf\xc3\xa9 \\n\"}]}}]}",
            "one request, no outputDimensionality: %s", r.body.ptr);
    T_STREQ(r.path.ptr, "/v1beta/models/a%20b:batchEmbedContents", "path %s", r.path.ptr);
    T_OK(r.headers.len == 0, "no key, no header");
    gw_prov_req_free(&r);

    static const char *const tokens[] = {"{\"model\":\"e\",\"input\":[1,2]}", "{\"model\":\"e\",\"input\":[[1],[2]]}"};
    for (int i = 0; i < 2; i++) {
        T_OK(build(GW_PROV_GEMINI, tokens[i], "", "embed-test", "k", &r, &msg) == GW_EINVAL, "tokens %d", i);
        T_STREQ(msg.message, "provider 'gemini' cannot embed token ids; send the input as text", "message %s",
                msg.message);
        T_STREQ(msg.param, "input", "param %s", msg.param);
        gw_prov_req_free(&r);
    }
    /* jsmn accepts a raw control byte in a string; the rebuild refuses it */
    T_OK(build(GW_PROV_GEMINI, "{\"model\":\"e\",\"input\":\"a\x01\"}", "", "m", "k", &r, &msg) == GW_EINVAL,
         "unparsable for jansson");
    T_STREQ(msg.message, "We could not parse the JSON body of your request.", "message %s", msg.message);
    gw_prov_req_free(&r);
    T_OK(build(GW_PROV_GEMINI, OAI6_REQ, "", "m", "k\n", &r, &msg) == GW_EINVAL, "key with LF");
    gw_prov_req_free(&r);
}

static void test_build_anthropic(void)
{
    gw_prov_req_t r;
    gw_prov_errmsg_t msg;
    T_OK(build(GW_PROV_ANTHROPIC, OAI6_REQ, "", "claude", "k", &r, &msg) == GW_EINVAL, "anthropic");
    T_STREQ(msg.message, "provider 'anthropic' has no embeddings API", "message %s", msg.message);
    T_STREQ(msg.param, "model", "param %s", msg.param);
    T_OK(r.body.len == 0 && r.path.len == 0 && r.headers.len == 0, "nothing built");
    gw_prov_req_free(&r);
}

/* Translates answer for the client body req (NULL: gw_prov_translate). */
static gw_err_t xlat(gw_prov_kind_t kind, const char *req, const char *answer, const char *model, gw_buf_t *out,
                     gw_usage_t *u)
{
    gw_buf_init(out, 1 << 20);
    if (req == NULL)
        return gw_prov_translate(GW_OP_EMBEDDINGS, kind, answer, strlen(answer), model, out, u);
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    if (inspect(req, &info, &msg) != GW_OK)
        return GW_EINVAL;
    return gw_prov_translate_req(GW_OP_EMBEDDINGS, kind, &info, answer, strlen(answer), model, out, u);
}

/* Decodes standard base64 into at most cap bytes; returns the count. */
static size_t unb64(const char *s, size_t n, unsigned char *out, size_t cap)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    unsigned v = 0, bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *p = strchr(tab, s[i]);
        v = v << 6 | (unsigned)(p - tab);
        if ((bits += 6) >= 8 && k < cap) {
            bits -= 8;
            out[k++] = (unsigned char)(v >> bits);
        }
    }
    return k;
}

/* The float32 values (little-endian) of a base64 string, as the SDK reads them. */
static int b64_floats(const char *s, const float *want, size_t n)
{
    unsigned char b[64];
    if (unb64(s, strlen(s), b, sizeof b) != 4 * n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                     (uint32_t)b[4 * i + 3] << 24;
        float f;
        memcpy(&f, &u, 4);
        if (f != want[i])
            return 0;
    }
    return 1;
}

static const char *emb_str(json_t *j, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(j, "data"), i), "embedding"));
}

static void test_answer_openai(void)
{
    gw_buf_t out;
    gw_usage_t u;
    T_OK(xlat(GW_PROV_OPENAI, OAI6_REQ, OAI6_RESP, "m", &out, &u) == GW_OK, "OAI-6 answer");
    T_STREQ(out.ptr, OAI6_RESP, "verbatim");
    T_OK(u.prompt_tokens == 2 && u.completion_tokens == 0, "usage %lld %lld", (long long)u.prompt_tokens,
         (long long)u.completion_tokens);
    gw_buf_free(&out);

    const char *nousage = "{\"object\":\"list\",\"data\":[],\"model\":\"m\"}";
    T_OK(xlat(GW_PROV_OPENAI, NULL, nousage, "m", &out, &u) == GW_OK, "no usage");
    T_OK(u.prompt_tokens == -1 && u.completion_tokens == 0, "unknown prompt tokens");
    gw_buf_free(&out);

    /* the client asked base64, the upstream sent floats anyway: converted in place */
    const char *req_b64 = "{\"model\":\"m\",\"input\":[\"alpha\",\"beta\"],\"encoding_format\":\"base64\"}";
    T_OK(xlat(GW_PROV_OPENAI, req_b64, OAI6_RESP, "m", &out, &u) == GW_OK, "floats -> base64");
    char want[512];
    snprintf(want, sizeof want,
             "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":\"%s\"},{\"object\":"
             "\"embedding\",\"index\":1,\"embedding\":\"%s\"}],\"model\":\"text-embedding-test\",\"usage\":{"
             "\"prompt_tokens\":2,\"total_tokens\":2}}",
             B64_0, B64_1);
    T_STREQ(out.ptr, want, "base64 rewrite: %s", out.ptr);
    T_OK(u.prompt_tokens == 2, "usage kept");
    gw_buf_free(&out);

    /* wire-formats 1.9: [1.0, 0.0] is "AACAPwAAAAA=" */
    const char *one = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[1.0, 0]}]}";
    T_OK(xlat(GW_PROV_OPENAI, req_b64, one, "m", &out, &u) == GW_OK, "1.0, 0");
    T_OK(strstr(out.ptr, "\"embedding\":\"AACAPwAAAAA=\"}") != NULL, "spec vector: %s", out.ptr);
    gw_buf_free(&out);

    /* already base64: as it is; and floats with a float client: as they are */
    const char *already = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":\"AACAPw==\"}]}";
    T_OK(xlat(GW_PROV_OPENAI, req_b64, already, "m", &out, &u) == GW_OK && strcmp(out.ptr, already) == 0, "b64 kept");
    gw_buf_free(&out);
    T_OK(xlat(GW_PROV_OPENAI, "{\"model\":\"m\",\"input\":\"a\"}", one, "m", &out, &u) == GW_OK &&
             strcmp(out.ptr, one) == 0,
         "float kept");
    gw_buf_free(&out);

    static const char *const broken[] = {
        "not json", "[1]", "{\"object\":\"list\"}", "{\"data\":{}}", "{\"data\":[1]}", "{\"data\":[{}],",
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        gw_buf_init(&out, 1 << 20);
        gw_buf_adds(&out, "keep");
        gw_err_t rc = gw_prov_translate(GW_OP_EMBEDDINGS, GW_PROV_OPENAI, broken[i], strlen(broken[i]), "m", &out, &u);
        T_OK(rc == GW_EUPSTREAM && strcmp(out.ptr, "keep") == 0 && u.prompt_tokens == -1, "broken[%zu] rc %d", i,
             rc);
        gw_buf_free(&out);
    }
    /* a bad number only matters when it has to be converted */
    const char *badnum = "{\"data\":[{\"embedding\":[1,tru]}],\"usage\":{\"prompt_tokens\":3}}";
    gw_buf_init(&out, 1 << 20);
    gw_buf_adds(&out, "keep");
    T_OK(gw_prov_translate(GW_OP_EMBEDDINGS, GW_PROV_OPENAI, badnum, strlen(badnum), "m", &out, &u) == GW_OK,
         "float client: verbatim");
    gw_buf_free(&out);
    T_OK(xlat(GW_PROV_OPENAI, req_b64, badnum, "m", &out, &u) == GW_EUPSTREAM && out.len == 0 &&
             u.prompt_tokens == -1,
         "bad number, base64 client: rejected, usage reset");
    gw_buf_free(&out);
}

static void test_answer_gemini(void)
{
    gw_buf_t out;
    gw_usage_t u;
    T_OK(xlat(GW_PROV_GEMINI, OAI6_REQ, GEM5_RESP, "text-embedding-test", &out, &u) == GW_OK, "GEM-5");
    T_STREQ(out.ptr, GEM5_AS_OAI, "OpenAI list byte-exact: %s", out.ptr);
    T_OK(u.prompt_tokens == -1 && u.completion_tokens == 0, "usage unknown");
    gw_buf_free(&out);
    T_OK(xlat(GW_PROV_GEMINI, NULL, GEM5_RESP, "text-embedding-test", &out, &u) == GW_OK, "no info");
    T_STREQ(out.ptr, GEM5_AS_OAI, "no info: floats");
    gw_buf_free(&out);

    const char *req_b64 = "{\"model\":\"m\",\"input\":[\"alpha\",\"beta\"],\"encoding_format\":\"base64\"}";
    T_OK(xlat(GW_PROV_GEMINI, req_b64, GEM5_RESP, "embed-\"x\"", &out, &u) == GW_OK, "GEM-5 base64");
    json_error_t e;
    json_t *j = json_loadb(out.ptr, out.len, 0, &e);
    T_OK(j != NULL, "valid JSON: %s", out.ptr);
    T_STREQ(emb_str(j, 0), B64_0, "vector 0");
    T_STREQ(emb_str(j, 1), B64_1, "vector 1");
    const float v0[] = {0.1f, -0.2f, 0.3f, 0.0f}, v1[] = {0.05f, 0.4f, -0.1f, 0.2f};
    T_OK(emb_str(j, 0) != NULL && b64_floats(emb_str(j, 0), v0, 4), "decodes as the SDK does (0)");
    T_OK(emb_str(j, 1) != NULL && b64_floats(emb_str(j, 1), v1, 4), "decodes as the SDK does (1)");
    T_STREQ(json_string_value(json_object_get(j, "model")), "embed-\"x\"", "model escaped");
    T_OK(json_integer_value(json_object_get(json_array_get(json_object_get(j, "data"), 1), "index")) == 1, "index");
    json_decref(j);
    gw_buf_free(&out);

    /* whitespace, exponents and -0 in the upstream's numbers */
    const char *spaced = "{ \"embeddings\" : [ { \"values\" : [ 1e-3 , -0 , 2E+2 ] } ] }";
    T_OK(xlat(GW_PROV_GEMINI, "{\"model\":\"m\",\"input\":\"a\"}", spaced, "m", &out, &u) == GW_OK, "spaced");
    T_STREQ(out.ptr,
            "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[1e-3,-0,2E+2]}],"
            "\"model\":\"m\",\"usage\":{\"prompt_tokens\":0,\"total_tokens\":0}}",
            "numbers copied: %s", out.ptr);
    gw_buf_free(&out);

    static const char *const broken[] = {
        "{\"embeddings\":{}}", "{\"embedding\":{\"values\":[1]}}", "{\"embeddings\":[{\"values\":[1,\"x\"]}]}",
        "{\"embeddings\":[{\"values\":[01]}]}", "{\"embeddings\":[{\"values\":[tru]}]}",
        "{\"embeddings\":[{\"values\":[1.]}]}", "{\"embeddings\":[{\"values\":[-]}]}",
        "{\"embeddings\":[{\"vals\":[1]}]}", "{\"embeddings\":[[1]]}", "{\"embeddings\":[{\"values\":{}}]}", "[]",
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        gw_err_t rc = xlat(GW_PROV_GEMINI, NULL, broken[i], "m", &out, &u);
        T_OK(rc == GW_EUPSTREAM && out.len == 0, "broken[%zu] rc %d", i, rc);
        gw_buf_free(&out);
    }
    /* numbers beyond double (float path) or float32 (base64 path) range */
    T_OK(xlat(GW_PROV_GEMINI, NULL, "{\"embeddings\":[{\"values\":[1,1e999]}]}", "m", &out, &u) == GW_EUPSTREAM,
         "1e999");
    gw_buf_free(&out);
    T_OK(xlat(GW_PROV_GEMINI, req_b64, "{\"embeddings\":[{\"values\":[1e39]},{\"values\":[1]}]}", "m", &out, &u) ==
             GW_EUPSTREAM,
         "1e39 as float32");
    gw_buf_free(&out);
    T_OK(xlat(GW_PROV_GEMINI, NULL, "{\"embeddings\":[{\"values\":[66666666666666666666662,1e300]}]}", "m", &out,
              &u) == GW_OK &&
             strstr(out.ptr, "[66666666666666666666662,1e300]") != NULL,
         "big but finite numbers copied");
    gw_buf_free(&out);

    /* with the request known, the count must match */
    T_OK(xlat(GW_PROV_GEMINI, "{\"model\":\"m\",\"input\":[\"a\",\"b\",\"c\"]}", GEM5_RESP, "m", &out, &u) ==
             GW_EUPSTREAM,
         "2 vectors for 3 inputs");
    gw_buf_free(&out);
    T_OK(xlat(GW_PROV_GEMINI, "{\"model\":\"m\",\"input\":\"a\"}", GEM5_RESP, "m", &out, &u) == GW_EUPSTREAM,
         "2 vectors for 1 input");
    gw_buf_free(&out);
    T_OK(xlat(GW_PROV_ANTHROPIC, NULL, GEM5_RESP, "m", &out, &u) == GW_EUPSTREAM, "anthropic: no answer shape");
    gw_buf_free(&out);
}

static void test_chat_delegation(void)
{
    const char *chat = "{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}";
    gw_chat_info_t a, b;
    gw_prov_errmsg_t ma, mb;
    T_OK(gw_op_inspect(GW_OP_CHAT, chat, strlen(chat), &a, &ma) == GW_OK, "chat inspect");
    T_OK(gw_chat_inspect(chat, strlen(chat), &b, &mb) == GW_OK && memcmp(&a, &b, sizeof a) == 0, "same info");
    T_OK(a.stream == 1 && a.prompt_chars == 2, "chat fields");
    T_OK(gw_op_inspect(GW_OP_CHAT, OAI6_REQ, strlen(OAI6_REQ), &a, &ma) == GW_EINVAL, "embeddings body as chat");
    T_STREQ(ma.message, "'messages' is a required property", "chat message");
    T_OK(gw_op_inspect((gw_op_t)7, OAI6_REQ, strlen(OAI6_REQ), &a, &ma) == GW_EINVAL, "unknown op");

    gw_prov_req_t r1, r2;
    gw_prov_req_init(&r1, 1 << 20);
    gw_prov_req_init(&r2, 1 << 20);
    gw_chat_inspect(chat, strlen(chat), &b, &mb);
    T_OK(gw_prov_build(GW_OP_CHAT, GW_PROV_ANTHROPIC, chat, strlen(chat), &b, "", "claude", "k", &r1, &ma) == GW_OK &&
             gw_prov_build_chat(GW_PROV_ANTHROPIC, chat, strlen(chat), &b, "", "claude", "k", &r2, &mb) == GW_OK,
         "chat build");
    T_OK(strcmp(r1.body.ptr, r2.body.ptr) == 0 && strcmp(r1.path.ptr, r2.path.ptr) == 0 &&
             strcmp(r1.headers.ptr, r2.headers.ptr) == 0,
         "same request");
    gw_prov_req_free(&r1);
    gw_prov_req_free(&r2);

    const char *ans = "{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5}}";
    gw_buf_t out;
    gw_usage_t u;
    gw_buf_init(&out, 1 << 20);
    T_OK(gw_prov_translate(GW_OP_CHAT, GW_PROV_OPENAI, ans, strlen(ans), "m", &out, &u) == GW_OK &&
             strcmp(out.ptr, ans) == 0 && u.prompt_tokens == 4 && u.completion_tokens == 5,
         "chat translate");
    gw_buf_free(&out);
}

/* Every allocation failing in turn: an error or the right answer, out restored. */
static void test_alloc_failures(void)
{
    const char *req_b64 = "{\"model\":\"m\",\"input\":[\"alpha\",\"beta\"],\"encoding_format\":\"base64\"}";
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    inspect(req_b64, &info, &msg);
    int oks = 0, fails = 0;
    for (long k = 0; k < 40; k++) {
        gw_buf_t out;
        gw_usage_t u;
        gw_buf_init(&out, 1 << 20);
        gw_alloc_fail_after(k);
        gw_err_t rc = gw_prov_translate_req(GW_OP_EMBEDDINGS, GW_PROV_GEMINI, &info, GEM5_RESP, strlen(GEM5_RESP), "m",
                                            &out, &u);
        gw_alloc_fail_after(-1);
        if (rc == GW_OK)
            oks += strstr(out.ptr, B64_1) != NULL;
        else
            fails += (rc == GW_ENOMEM || rc == GW_EUPSTREAM) && out.len == 0;
        gw_buf_free(&out);
    }
    T_OK(oks + fails == 40 && fails > 0 && oks > 0, "alloc failures: %d ok, %d clean failures", oks, fails);

    gw_buf_t small;
    gw_usage_t u;
    gw_buf_init(&small, 40);
    T_OK(gw_prov_translate(GW_OP_EMBEDDINGS, GW_PROV_GEMINI, GEM5_RESP, strlen(GEM5_RESP), "m", &small, &u) ==
             GW_ETOOBIG &&
             small.len == 0,
         "bounded out: GW_ETOOBIG");
    gw_buf_free(&small);
}

int main(void)
{
    test_inspect_ok();
    test_inspect_errors();
    test_build_openai();
    test_build_gemini();
    test_build_anthropic();
    test_answer_openai();
    test_answer_gemini();
    test_chat_delegation();
    test_alloc_failures();
    return t_done("test_prov_embed");
}

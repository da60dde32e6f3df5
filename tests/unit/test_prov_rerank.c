/* test_prov_rerank.c - rerank through gw_op_inspect / gw_prov_build /
 * gw_prov_translate(_req): the client shape and its aliases, error
 * messages, the openai model splice (byte-exact) and the rewrite of
 * aliases and {text} documents, paths, providers without rerank, and the
 * answers of Cohere (RR-1), Voyage, TEI, vLLM, Jina and LiteLLM into the
 * gateway's shape (byte-exact): sorting, top_n, documents, usage, meta.
 */
#include <jansson.h>
#include <string.h>

#include "alloc.h"
#include "prov_ops.h"
#include "provider.h"
#include "test.h"

#define BAD_JSON "We could not parse the JSON body of your request. (HINT: it must be one valid JSON object.)"

static const char RR1_REQ[] =
    "{\"model\":\"rerank-test\",\"query\":\"capital of Norway\",\"documents\":[\"Bergen is rainy.\",\"Oslo is the "
    "capital of Norway.\",\"Fjords are deep.\"],\"top_n\":2}";
static const char RR1_RESP[] =
    "{\"id\":\"rr-test-0001\",\"results\":[{\"index\":1,\"relevance_score\":0.97},{\"index\":0,\"relevance_score\":"
    "0.12}],\"meta\":{\"api_version\":{\"version\":\"2\"},\"billed_units\":{\"search_units\":1}}}";
static const char RR1_OUT[] =
    "{\"id\":\"rr-test-0001\",\"model\":\"rerank-test\",\"results\":[{\"index\":1,\"relevance_score\":0.97},{\"index\":"
    "0,\"relevance_score\":0.12}],\"meta\":{\"api_version\":{\"version\":\"2\"},\"billed_units\":{\"search_units\":"
    "1}}}";
/* RR-1's request without top_n, asking for the documents */
static const char RR1_DOCS_REQ[] =
    "{\"model\":\"rerank-test\",\"query\":\"capital of Norway\",\"documents\":[\"Bergen is rainy.\",{\"text\":\"Oslo "
    "is the capital of Norway.\",\"id\":\"d1\"},\"Fjords are deep.\"],\"return_documents\":true}";
/* Voyage: data[], top_k semantics (it ignored top_n), out of order here */
static const char VOYAGE_RESP[] =
    "{\"object\":\"list\",\"data\":[{\"index\":2,\"relevance_score\":0.05},{\"index\":1,\"relevance_score\":0.91},"
    "{\"index\":0,\"relevance_score\":0.33}],\"model\":\"rerank-2.5\",\"usage\":{\"total_tokens\":27}}";
/* TEI: a bare array, "score", sorted by score */
static const char TEI_RESP[] =
    "[{\"index\":1,\"score\":0.99},{\"index\":0,\"score\":0.5},{\"index\":2,\"score\":0.01}]";
/* vLLM: results with document.text, usage.prompt_tokens */
static const char VLLM_RESP[] =
    "{\"id\":\"rerank-vllm-1\",\"model\":\"BAAI/bge-reranker-base\",\"usage\":{\"prompt_tokens\":30,\"total_tokens\":"
    "30},\"results\":[{\"index\":1,\"document\":{\"text\":\"Oslo is the capital of Norway.\"},\"relevance_score\":"
    "0.99},{\"index\":0,\"document\":{\"text\":\"Bergen is rainy.\"},\"relevance_score\":0.01}]}";

static gw_err_t inspect(const char *body, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    memset(msg, 0, sizeof *msg);
    return gw_op_inspect(GW_OP_RERANK, body, strlen(body), info, msg);
}

static gw_err_t build(gw_prov_kind_t kind, const char *body, const char *base, const char *model, const char *key,
                      gw_prov_req_t *r, gw_prov_errmsg_t *msg)
{
    gw_chat_info_t info;
    gw_prov_req_init(r, 1 << 20);
    gw_err_t rc = inspect(body, &info, msg);
    if (rc != GW_OK)
        return rc;
    return gw_prov_build(GW_OP_RERANK, kind, body, strlen(body), &info, base, model, key, r, msg);
}

/* Translates answer for the client body req (NULL: gw_prov_translate). */
static gw_err_t xlat(const char *req, const char *answer, const char *model, gw_buf_t *out, gw_usage_t *u)
{
    gw_buf_init(out, 1 << 20);
    if (req == NULL)
        return gw_prov_translate(GW_OP_RERANK, GW_PROV_OPENAI, answer, strlen(answer), model, out, u);
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    if (inspect(req, &info, &msg) != GW_OK)
        return GW_EINVAL;
    return gw_prov_translate_req(GW_OP_RERANK, GW_PROV_OPENAI, &info, answer, strlen(answer), model, out, u);
}

static void test_inspect(void)
{
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    T_OK(inspect(RR1_REQ, &info, &msg) == GW_OK, "RR-1 accepted: %s", msg.message);
    T_OK(info.model_len == 11 && memcmp(info.model, "rerank-test", 11) == 0, "model");
    T_OK(info.prompt_chars == 3 * 17 + 16 + 30 + 16, "chars = docs + query per doc: %zu", info.prompt_chars);
    T_OK(info.stream == 0 && info.max_tokens == -1 && info.splice.body == RR1_REQ, "other fields");
    static const struct {
        const char *body;
        size_t chars;
    } ok[] = {
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[{\"text\":\"ab\"},\"c\"]}", 5},
        {"{\"model\":\"m\",\"query\":\"qq\",\"texts\":[\"abc\"],\"top_k\":3}", 5},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"\"],\"top_n\":null,\"return_documents\":false}", 1},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"return_documents\":null,\"rank_fields\":[]}", 2},
        {RR1_DOCS_REQ, 113},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        gw_err_t rc = inspect(ok[i].body, &info, &msg);
        T_OK(rc == GW_OK && info.prompt_chars == ok[i].chars, "ok[%zu]: rc %d chars %zu %s", i, rc, info.prompt_chars,
             msg.message);
    }
    static const struct {
        const char *body, *message, *param;
    } bad[] = {
        {"[1]", "The request body must be a JSON object.", ""},
        {"{\"model\":\"m\",", BAD_JSON, ""},
        {"{\"query\":\"q\",\"documents\":[\"a\"]}", "'model' is a required property", "model"},
        {"{\"model\":\"m\",\"documents\":[\"a\"]}", "'query' is a required property", "query"},
        {"{\"model\":\"m\",\"query\":\"\",\"documents\":[\"a\"]}", "'query' must be a non-empty string", "query"},
        {"{\"model\":\"m\",\"query\":[\"q\"],\"documents\":[\"a\"]}", "'query' must be a non-empty string", "query"},
        {"{\"model\":\"m\",\"query\":\"q\"}", "'documents' is a required property", "documents"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[]}", "'documents' must be a non-empty array", "documents"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":\"a\"}", "'documents' must be a non-empty array",
         "documents"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\",1]}",
         "Invalid type for 'documents[1]': expected a string or an object with a string 'text'.", "documents"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[{\"txt\":\"a\"}]}",
         "Invalid type for 'documents[0]': expected a string or an object with a string 'text'.", "documents"},
        {"{\"model\":\"m\",\"query\":\"q\",\"texts\":[{\"text\":2}]}",
         "Invalid type for 'documents[0]': expected a string or an object with a string 'text'.", "documents"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":0}",
         "Invalid value for 'top_n': expected a positive integer.", "top_n"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"top_k\":-1}",
         "Invalid value for 'top_n': expected a positive integer.", "top_n"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":\"2\"}",
         "Invalid value for 'top_n': expected a positive integer.", "top_n"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":1.5}",
         "Invalid value for 'top_n': expected a positive integer.", "top_n"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"return_documents\":\"yes\"}",
         "Invalid type for 'return_documents': expected a boolean.", "return_documents"},
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\"],\"texts\":[\"b\"]}",
         "Duplicate key 'texts' in the request body.", "documents"},
        {"{\"model\":\"m\",\"query\":\"q\",\"top_k\":1,\"documents\":[\"a\"],\"top_n\":1}",
         "Duplicate key 'top_n' in the request body.", "top_n"},
        {"{\"model\":\"m\",\"query\":\"q\",\"qu\\u0065ry\":\"r\",\"documents\":[\"a\"]}",
         "Duplicate key 'query' in the request body.", "query"},
        /* documents are quoted back: they must be readable JSON strings */
        {"{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\x01\"],\"return_documents\":true}", BAD_JSON, ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_err_t rc = inspect(bad[i].body, &info, &msg);
        T_OK(rc == GW_EINVAL, "bad[%zu] rc %d", i, rc);
        T_STREQ(msg.message, bad[i].message, "bad[%zu] message: %s", i, msg.message);
        T_STREQ(msg.param, bad[i].param, "bad[%zu] param: %s", i, msg.param);
    }
}

static void test_build(void)
{
    gw_prov_req_t r;
    gw_prov_errmsg_t msg;
    T_OK(build(GW_PROV_OPENAI, RR1_REQ, "", "BAAI/bge-reranker-v2-m3", "sk-r", &r, &msg) == GW_OK, "RR-1 build");
    T_STREQ(r.body.ptr,
            "{\"model\":\"BAAI/bge-reranker-v2-m3\",\"query\":\"capital of Norway\",\"documents\":[\"Bergen is "
            "rainy.\",\"Oslo is the capital of Norway.\",\"Fjords are deep.\"],\"top_n\":2}",
            "spliced: %s", r.body.ptr);
    T_STREQ(r.path.ptr, "/v1/rerank", "path %s", r.path.ptr);
    T_STREQ(r.headers.ptr, "Authorization: Bearer sk-r\r\n", "headers");
    gw_prov_req_free(&r);

    static const char *const bases[][2] = {{"/v2", "/v2/rerank"}, {"/api/", "/api/v1/rerank"}, {"/v1", "/v1/rerank"}};
    for (int i = 0; i < 3; i++) {
        T_OK(build(GW_PROV_OPENAI, RR1_REQ, bases[i][0], "m", NULL, &r, &msg) == GW_OK && r.headers.len == 0, "build");
        T_STREQ(r.path.ptr, bases[i][1], "base %s -> %s", bases[i][0], r.path.ptr);
        gw_prov_req_free(&r);
    }

    /* aliases and {text} documents: rewritten to the Cohere shape, extras kept */
    const char *aliased = "{\"model\":\"a\",\"query\":\"q\",\"texts\":[{\"text\":\"x\",\"id\":1},\"y\"],\"top_k\":1,"
                          "\"extra\":true}";
    T_OK(build(GW_PROV_OPENAI, aliased, "", "up\"m", "k", &r, &msg) == GW_OK, "aliased build %s", msg.message);
    T_STREQ(r.body.ptr, "{\"model\":\"up\\\"m\",\"query\":\"q\",\"extra\":true,\"documents\":[\"x\",\"y\"],\"top_n\":1}",
            "normalized: %s", r.body.ptr);
    gw_prov_req_free(&r);
    const char *objs = "{\"model\":\"a\",\"query\":\"q\",\"documents\":[\"w\",{\"text\":\"x\"}],\"return_documents\":true}";
    T_OK(build(GW_PROV_OPENAI, objs, "", "m", "k", &r, &msg) == GW_OK, "object docs");
    T_STREQ(r.body.ptr, "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"w\",\"x\"],\"return_documents\":true}",
            "documents in place: %s", r.body.ptr);
    gw_prov_req_free(&r);

    static const gw_prov_kind_t none[] = {GW_PROV_GEMINI, GW_PROV_ANTHROPIC};
    static const char *const none_msg[] = {"provider 'gemini' has no rerank API",
                                           "provider 'anthropic' has no rerank API"};
    for (int i = 0; i < 2; i++) {
        T_OK(build(none[i], RR1_REQ, "", "m", "k", &r, &msg) == GW_EINVAL, "no rerank %d", i);
        T_STREQ(msg.message, none_msg[i], "message %s", msg.message);
        T_STREQ(msg.param, "model", "param");
        T_OK(r.body.len == 0 && r.path.len == 0, "nothing built");
        gw_prov_req_free(&r);
    }
    gw_prov_req_init(&r, 1 << 20);
    T_OK(gw_prov_build(GW_OP_RERANK, GW_PROV_OPENAI, RR1_REQ, strlen(RR1_REQ), NULL, "", "x", NULL, &r, &msg) == GW_OK,
         "NULL info");
    T_OK(strncmp(r.body.ptr, "{\"model\":\"x\",\"query\"", 20) == 0, "NULL info spliced: %s", r.body.ptr);
    gw_prov_req_free(&r);
    T_OK(build(GW_PROV_OPENAI, RR1_REQ, "", "m", "k\r", &r, &msg) == GW_EINVAL, "key with CR");
    gw_prov_req_free(&r);
    T_OK(build(GW_PROV_OPENAI, RR1_REQ, "", "", "k", &r, &msg) == GW_EINVAL, "no upstream model");
    gw_prov_req_free(&r);
}

static void test_answers(void)
{
    gw_buf_t out;
    gw_usage_t u;
    /* Cohere RR-1: byte-exact, meta kept, no token usage (search units are not tokens) */
    T_OK(xlat(RR1_REQ, RR1_RESP, "rerank-test", &out, &u) == GW_OK, "RR-1");
    T_STREQ(out.ptr, RR1_OUT, "RR-1 out: %s", out.ptr);
    T_OK(u.prompt_tokens == -1 && u.completion_tokens == 0, "RR-1 usage unknown");
    gw_buf_free(&out);
    T_OK(xlat(NULL, RR1_RESP, "rerank-test", &out, &u) == GW_OK && strcmp(out.ptr, RR1_OUT) == 0, "RR-1 no info");
    gw_buf_free(&out);

    /* Voyage: data -> results, sorted, cut at the client's top_n, its usage */
    T_OK(xlat(RR1_REQ, VOYAGE_RESP, "voyage-cfg", &out, &u) == GW_OK, "Voyage");
    T_OK(out.len > 40 && strncmp(out.ptr, "{\"id\":\"rerank-", 14) == 0 && strncmp(out.ptr + 38, "\",", 2) == 0,
         "generated id rerank-<24 hex>: %s", out.ptr);
    T_STREQ(out.len > 40 ? out.ptr + 40 : "",
            "\"model\":\"rerank-2.5\",\"results\":[{\"index\":1,\"relevance_score\":0.91},{\"index\":0,"
            "\"relevance_score\":0.33}],\"usage\":{\"prompt_tokens\":27,\"total_tokens\":27}}",
            "Voyage out: %s", out.ptr);
    T_OK(u.prompt_tokens == 27 && u.completion_tokens == 0, "Voyage usage");
    gw_buf_free(&out);

    /* TEI: bare array, score -> relevance_score, documents from the client */
    T_OK(xlat(RR1_DOCS_REQ, TEI_RESP, "tei", &out, &u) == GW_OK, "TEI");
    const char *tei_tail =
        "\"model\":\"tei\",\"results\":[{\"index\":1,\"relevance_score\":0.99,\"document\":{\"text\":\"Oslo is the "
        "capital of Norway.\"}},{\"index\":0,\"relevance_score\":0.5,\"document\":{\"text\":\"Bergen is rainy.\"}},{"
        "\"index\":2,\"relevance_score\":0.01,\"document\":{\"text\":\"Fjords are deep.\"}}]}";
    T_OK(out.len > strlen(tei_tail) && strcmp(out.ptr + out.len - strlen(tei_tail), tei_tail) == 0 &&
             strncmp(out.ptr, "{\"id\":\"rerank-", 14) == 0,
         "TEI out: %s", out.ptr);
    T_OK(u.prompt_tokens == -1, "TEI has no usage");
    gw_buf_free(&out);

    /* vLLM: echoed documents dropped unless asked; usage.prompt_tokens */
    T_OK(xlat(RR1_REQ, VLLM_RESP, "cfg", &out, &u) == GW_OK, "vLLM");
    T_STREQ(out.ptr,
            "{\"id\":\"rerank-vllm-1\",\"model\":\"BAAI/bge-reranker-base\",\"results\":[{\"index\":1,\"relevance_"
            "score\":0.99},{\"index\":0,\"relevance_score\":0.01}],\"usage\":{\"prompt_tokens\":30,\"total_tokens\":30}}",
            "vLLM out: %s", out.ptr);
    T_OK(u.prompt_tokens == 30 && u.completion_tokens == 0, "vLLM usage");
    gw_buf_free(&out);
    T_OK(xlat(NULL, VLLM_RESP, "cfg", &out, &u) == GW_OK, "vLLM no info");
    T_OK(strstr(out.ptr, "{\"index\":0,\"relevance_score\":0.01,\"document\":{\"text\":\"Bergen is rainy.\"}}") != NULL,
         "no info: echoed documents kept: %s", out.ptr);
    gw_buf_free(&out);
    const char *one_doc = "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"A\",{\"text\":\"B\"}],\"top_n\":1,"
                          "\"return_documents\":true}";
    const char *jina = "{\"model\":\"jina-reranker-v2\",\"usage\":{\"total_tokens\":15},\"results\":[{\"index\":0,"
                       "\"relevance_score\":0.2,\"document\":{\"text\":\"not A\"}},{\"index\":1,\"relevance_score\":0.8,"
                       "\"document\":{\"text\":\"not B\"}}]}";
    T_OK(xlat(one_doc, jina, "cfg", &out, &u) == GW_OK, "Jina");
    T_OK(strstr(out.ptr, "\"results\":[{\"index\":1,\"relevance_score\":0.8,\"document\":{\"text\":\"B\"}}],"
                         "\"usage\":{\"prompt_tokens\":15,\"total_tokens\":15}}") != NULL,
         "Jina: client's document text, top_n 1: %s", out.ptr);
    T_OK(u.prompt_tokens == 15, "Jina usage");
    gw_buf_free(&out);

    /* LiteLLM: meta.tokens.input_tokens counts; meta kept */
    const char *litellm = "{\"id\":\"l1\",\"results\":[{\"index\":0,\"relevance_score\":1}],\"meta\":{\"billed_units\":"
                          "{\"search_units\":1,\"total_tokens\":11},\"tokens\":{\"input_tokens\":9,\"output_tokens\":0}}}";
    T_OK(xlat(NULL, litellm, "lm", &out, &u) == GW_OK, "LiteLLM");
    T_STREQ(out.ptr,
            "{\"id\":\"l1\",\"model\":\"lm\",\"results\":[{\"index\":0,\"relevance_score\":1}],\"usage\":{\"prompt_"
            "tokens\":9,\"total_tokens\":9},\"meta\":{\"billed_units\":{\"search_units\":1,\"total_tokens\":11},"
            "\"tokens\":{\"input_tokens\":9,\"output_tokens\":0}}}",
            "LiteLLM out: %s", out.ptr);
    T_OK(u.prompt_tokens == 9, "LiteLLM usage");
    gw_buf_free(&out);

    /* ties by index; top_n above the count keeps all */
    const char *ties = "{\"results\":[{\"index\":2,\"relevance_score\":0.5},{\"index\":0,\"relevance_score\":0.5},"
                       "{\"index\":1,\"relevance_score\":0.7}]}";
    const char *big_top = "{\"model\":\"m\",\"query\":\"q\",\"documents\":[\"a\",\"b\",\"c\"],\"top_n\":10}";
    T_OK(xlat(big_top, ties, "m", &out, &u) == GW_OK, "ties");
    T_OK(strstr(out.ptr, "[{\"index\":1,\"relevance_score\":0.7},{\"index\":0,\"relevance_score\":0.5},{\"index\":2,"
                         "\"relevance_score\":0.5}]") != NULL,
         "ties: %s", out.ptr);
    gw_buf_free(&out);
}

static void test_broken_answers(void)
{
    static const char *const broken[] = {
        "not json",
        "{\"id\":\"x\"}",
        "{\"results\":{}}",
        "{\"results\":[1]}",
        "{\"results\":[{\"relevance_score\":0.5}]}",
        "{\"results\":[{\"index\":-1,\"relevance_score\":0.5}]}",
        "{\"results\":[{\"index\":\"0\",\"relevance_score\":0.5}]}",
        "{\"results\":[{\"index\":0.0,\"relevance_score\":0.5}]}",
        "{\"results\":[{\"index\":0}]}",
        "{\"results\":[{\"index\":0,\"relevance_score\":\"high\"}]}",
        "{\"results\":[{\"index\":0,\"relevance_score\":null}]}",
        "[{\"index\":0}]",
        "\"results\"",
        /* index 3 is outside RR-1's 3 documents */
        "{\"results\":[{\"index\":3,\"relevance_score\":0.5}]}",
    };
    gw_buf_t out;
    gw_usage_t u;
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        gw_buf_init(&out, 1 << 20);
        gw_buf_adds(&out, "keep");
        gw_chat_info_t info;
        gw_prov_errmsg_t msg;
        inspect(RR1_REQ, &info, &msg);
        gw_err_t rc = gw_prov_translate_req(GW_OP_RERANK, GW_PROV_OPENAI, &info, broken[i], strlen(broken[i]), "m",
                                            &out, &u);
        T_OK(rc == GW_EUPSTREAM && strcmp(out.ptr, "keep") == 0 && u.prompt_tokens == -1, "broken[%zu] rc %d", i, rc);
        gw_buf_free(&out);
    }
    /* without the request, index 3 cannot be checked */
    T_OK(xlat(NULL, broken[13], "m", &out, &u) == GW_OK, "no info, index 3");
    gw_buf_free(&out);
    gw_buf_init(&out, 1 << 20);
    T_OK(gw_prov_translate(GW_OP_RERANK, GW_PROV_GEMINI, RR1_RESP, strlen(RR1_RESP), "m", &out, &u) == GW_EUPSTREAM,
         "gemini has no rerank answers");
    T_OK(gw_prov_translate(GW_OP_RERANK, GW_PROV_ANTHROPIC, RR1_RESP, strlen(RR1_RESP), "m", &out, &u) ==
             GW_EUPSTREAM,
         "anthropic has no rerank answers");
    gw_buf_free(&out);
    gw_buf_init(&out, 32);
    T_OK(gw_prov_translate(GW_OP_RERANK, GW_PROV_OPENAI, RR1_RESP, strlen(RR1_RESP), "m", &out, &u) == GW_ETOOBIG &&
             out.len == 0,
         "bounded out");
    gw_buf_free(&out);
}

int main(void)
{
    test_inspect();
    test_build();
    test_answers();
    test_broken_answers();
    return t_done("test_prov_rerank");
}

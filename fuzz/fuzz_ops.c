/* fuzz_ops.c - gw_op_inspect, gw_prov_build and gw_prov_translate(_req)
 * on arbitrary bytes: byte 0 picks the op (chat, embeddings, rerank); the
 * rest, split at the first 0x1e, is a client body and an upstream answer.
 * An accepted body is built for every provider kind, and the answer is
 * translated for every kind, with and without the request. Checks: a built
 * body is JSON; a translated embeddings/rerank answer is JSON jansson reads
 * (integers as reals: a 30-digit number is JSON; for the openai
 * pass-through, whenever the upstream's was); a failed
 * translation leaves out as it was; usage is never below -1.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prov_internal.h"
#include "prov_ops.h"
#include "provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_json(const char *p, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &e);
    json_decref(j);
    return j != NULL;
}

static void build_all(gw_op_t op, const char *body, size_t len, const gw_chat_info_t *info)
{
    static const char *const models[] = {"gpt-x", "we\"ird\\model\x01", "models/gemini x"};
    static const char *const bases[] = {"", "/openai/v1", "/v1beta/"};
    for (int k = 0; k < 3; k++) {
        gw_prov_req_t r;
        gw_prov_errmsg_t msg;
        gw_prov_req_init(&r, len * 2 + 65536);
        gw_err_t rc = gw_prov_build(op, (gw_prov_kind_t)k, body, len, info, bases[k], models[k], "key", &r, &msg);
        if (rc == GW_OK && op != GW_OP_CHAT && k == GW_PROV_OPENAI) {
            gw__jdoc_t d;
            gw_err_t prc = gw__jdoc_parse(&d, r.body.ptr, r.body.len);
            if (prc != GW_ENOMEM && (prc != GW_OK || d.tok[0].type != JSMN_OBJECT))
                abort(); /* the splice or rewrite broke the document */
            gw__jdoc_free(&d);
        }
        if (rc == GW_OK && op != GW_OP_CHAT && k == GW_PROV_GEMINI && !is_json(r.body.ptr, r.body.len))
            abort();
        gw_prov_req_free(&r);
    }
}

static void translate_all(gw_op_t op, const gw_chat_info_t *info, const char *ans, size_t n)
{
    int upstream_json = is_json(ans, n);
    for (int k = 0; k < 3; k++) {
        for (int with = 0; with < 2; with++) {
            gw_buf_t out;
            gw_usage_t u;
            gw_buf_init(&out, 1 << 22);
            gw_buf_adds(&out, "pre");
            gw_err_t rc = gw_prov_translate_req(op, (gw_prov_kind_t)k, with ? info : NULL, ans, n, "model-\"x\"", &out,
                                                &u);
            if (rc != GW_OK && out.len != 3)
                abort(); /* out not restored */
            if (rc == GW_OK && op != GW_OP_CHAT) {
                int must = k != GW_PROV_OPENAI || op == GW_OP_RERANK || upstream_json;
                if ((must && !is_json(out.ptr + 3, out.len - 3)) || u.completion_tokens != 0 || u.prompt_tokens < -1)
                    abort();
            }
            gw_buf_free(&out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    gw_op_t op = (gw_op_t)(data[0] % 3);
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    const char *sep = memchr(rest, 0x1e, n);
    size_t body_len = sep != NULL ? (size_t)(sep - rest) : n;
    const char *ans = sep != NULL ? sep + 1 : rest;
    size_t ans_len = sep != NULL ? n - body_len - 1 : n;
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    gw_err_t rc = gw_op_inspect(op, rest, body_len, &info, &msg);
    if (rc == GW_OK)
        build_all(op, rest, body_len, &info);
    translate_all(op, rc == GW_OK ? &info : NULL, ans, ans_len);
    return 0;
}

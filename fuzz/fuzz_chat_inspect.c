/* fuzz_chat_inspect.c - gw_chat_inspect and gw_prov_build_chat for every
 * provider kind on arbitrary bodies: no crash, no leak, and an accepted
 * body always yields an openai request that is still one JSON object.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "prov_internal.h"
#include "provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    gw_chat_info_t info;
    gw_prov_errmsg_t msg;
    if (gw_chat_inspect(body, size, &info, &msg) != GW_OK)
        return 0;
    static const char *const models[] = {"gpt-4o", "we\"ird\\model\x01", "models/gemini x"};
    static const char *const bases[] = {"", "/openai/v1", "/v1beta/"};
    for (int k = 0; k < 3; k++) {
        gw_prov_req_t r;
        gw_prov_req_init(&r, size * 2 + 65536);
        gw_err_t rc = gw_prov_build_chat((gw_prov_kind_t)k, body, size, &info, bases[k], models[k], "key", &r, &msg);
        if (rc == GW_OK && k == GW_PROV_OPENAI) {
            gw__jdoc_t d;
            gw_err_t prc = gw__jdoc_parse(&d, r.body.ptr, r.body.len);
            if (prc != GW_ENOMEM && (prc != GW_OK || d.tok[0].type != JSMN_OBJECT))
                abort(); /* the splice broke the document */
            gw__jdoc_free(&d);
        }
        gw_prov_req_free(&r);
    }
    return 0;
}

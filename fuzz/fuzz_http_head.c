/* fuzz_http_head.c - libFuzzer target for gw_http_parse_head: any bytes,
 * whole and split at one point (as reads arrive), must give the same
 * verdict once complete, and every accepted head must be self-consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_http_limits_in_t lim = {1024, 16, 4096};
    gw_http_hdr_t hs[17];
    gw_http_head_t h, p;
    const char *buf = (const char *)data;
    int st = gw_http_parse_head(buf, size, &lim, hs, 17, &h);
    if (st == 0) {
        if (h.head_len == 0 || h.head_len > size || h.head_len > lim.max_header_bytes ||
            h.num_headers > lim.max_headers || (h.chunked && h.content_length != 0) ||
            h.content_length > lim.max_body_bytes || h.method_len == 0)
            abort();
        for (size_t i = 0; i < h.num_headers; i++)
            if (hs[i].name < buf || hs[i].value + hs[i].value_len > buf + size)
                abort();
        /* a complete head is also complete in any longer prefix of itself */
        if (gw_http_parse_head(buf, h.head_len, &lim, hs, 17, &p) != 0 || p.head_len != h.head_len)
            abort();
    } else if (st != -2 && st != 400 && st != 413 && st != 431) {
        abort();
    } else if (st != -2 && h.error == NULL) {
        abort();
    }
    return 0;
}

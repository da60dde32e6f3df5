/* fuzz_otlp_response.c - libFuzzer target for gw_otlp_parse_response (the
 * OTLP receiver's ExportTraceServiceResponse): any bytes either fail
 * cleanly or give a rejected count, and a response re-encoded from that
 * count parses back to the same count. */
#include <stdint.h>
#include <stdlib.h>

#include "otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t rej = -1;
    if (gw_otlp_parse_response(data, size, &rej) != GW_OK)
        return 0;
    /* ExportTraceServiceResponse { partial_success = 1 { rejected_spans = 1 } } */
    gw_buf_t inner, out;
    gw_buf_init(&inner, 64);
    gw_buf_init(&out, 64);
    uint8_t tag = 1 << 3 | 0;
    int64_t again = -1;
    if (gw_buf_add(&inner, &tag, 1) != GW_OK || gw_pb_varint(&inner, (uint64_t)rej) != GW_OK)
        abort();
    tag = 1 << 3 | 2;
    if (gw_buf_add(&out, &tag, 1) != GW_OK || gw_pb_varint(&out, inner.len) != GW_OK ||
        gw_buf_add(&out, inner.ptr, inner.len) != GW_OK)
        abort();
    if (gw_otlp_parse_response((const uint8_t *)out.ptr, out.len, &again) != GW_OK || again != rej)
        abort();
    gw_buf_free(&inner);
    gw_buf_free(&out);
    return 0;
}

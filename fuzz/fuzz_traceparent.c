/* fuzz_traceparent.c - libFuzzer target for gw_traceparent_parse: any bytes
 * either fail cleanly or give ids that are non-zero and format back to the
 * input without its surrounding whitespace (so nothing lax, e.g. uppercase
 * or a sign, is ever accepted), and the formatted value parses the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t zero[GW_TRACE_ID_LEN];
    const char *s = (const char *)data;
    gw_traceparent_t tp, again;
    if (gw_traceparent_parse(s, size, &tp) != GW_OK)
        return 0;
    if (memcmp(tp.trace_id, zero, GW_TRACE_ID_LEN) == 0 || memcmp(tp.span_id, zero, GW_SPAN_ID_LEN) == 0)
        abort();
    size_t lead = 0, n = size;
    while (lead < n && (s[lead] == ' ' || s[lead] == '\t'))
        lead++;
    while (n > lead && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    char out[GW_TRACEPARENT_LEN + 1];
    gw_traceparent_format(tp.trace_id, tp.span_id, tp.flags, out);
    if (n - lead != GW_TRACEPARENT_LEN || memcmp(out, s + lead, GW_TRACEPARENT_LEN) != 0)
        abort();
    if (gw_traceparent_parse(out, GW_TRACEPARENT_LEN, &again) != GW_OK || memcmp(&again, &tp, sizeof(tp)) != 0)
        abort();
    return 0;
}

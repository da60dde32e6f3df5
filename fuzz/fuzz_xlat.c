/* fuzz_xlat.c - the answer side of every adapter on arbitrary bytes:
 * byte 0 picks the kind and include_usage; the rest, split at 0x1e, is a
 * sequence of SSE event data fed to gw_xlat_event (each segment may start
 * with "name\x1f" to set the event name), and the whole rest also goes
 * through gw_prov_translate_response / _error / gw_prov_error_retry_after.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed_events(gw_xlat_t *x, const char *p, size_t n, gw_buf_t *out)
{
    while (n > 0) {
        const char *end = memchr(p, 0x1e, n);
        size_t seg = end != NULL ? (size_t)(end - p) : n;
        const char *name = "";
        size_t name_len = 0;
        const char *d = p;
        size_t dl = seg;
        const char *us = memchr(p, 0x1f, seg);
        if (us != NULL) {
            name = p;
            name_len = (size_t)(us - p);
            d = us + 1;
            dl = seg - name_len - 1;
        }
        char *copy = gw_strndup(d, dl); /* the SSE parser hands out NUL-terminated data */
        if (copy != NULL) {
            gw_sse_event_t ev = {name, name_len, copy, dl};
            gw_xlat_info_t info;
            gw_xlat_event(x, &ev, out, &info);
            gw_free(copy);
        }
        if (out->len > (1 << 20))
            gw_buf_reset(out);
        p += seg + (end != NULL);
        n -= seg + (end != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    gw_prov_kind_t kind = (gw_prov_kind_t)(data[0] % 3);
    int include_usage = (data[0] >> 2) & 1;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    gw_buf_t out;
    gw_buf_init(&out, 1 << 21);
    gw_xlat_t *x = gw_xlat_new(kind, include_usage, "model-\"x\"");
    if (x != NULL) {
        feed_events(x, rest, n, &out);
        gw_xlat_finish(x, &out);
        (void)gw_xlat_usage(x);
        gw_xlat_free(x);
    }
    gw_buf_reset(&out);
    gw_usage_t u;
    gw_prov_translate_response(kind, rest, n, "model", &out, &u);
    gw_buf_reset(&out);
    static const int statuses[] = {400, 401, 402, 403, 404, 413, 429, 500, 502, 503, 504, 529, 302, 200};
    int st = gw_prov_translate_error(kind, statuses[(data[0] >> 3) % 14], rest, n, &out);
    if (st < 400 || st > 599)
        __builtin_trap();
    gw_prov_error_retry_after(kind, rest, n);
    gw_buf_free(&out);
    return 0;
}

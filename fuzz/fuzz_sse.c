/* fuzz_sse.c - libFuzzer target for the SSE parser (src/sse.c).
 *
 * The first input byte picks the event limit and a callback stop point;
 * the rest is the stream. It is parsed whole, byte by byte and in random
 * splits (seeded from the input); all three must give the same events,
 * return code, pending flag, last event ID and retry, or we abort. Every
 * event must also be NUL-terminated, within the limit and valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sse.h"

typedef struct rec {
    gw_buf_t out;
    size_t max;
    int stop_after;
    int count;
} rec_t;

static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], lo, hi;
        size_t need = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : 3;
        if ((c >= 0x80 && c < 0xC2) || c > 0xF4)
            return 0;
        lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        for (size_t k = 1; k <= need; k++, lo = 0x80, hi = 0xBF)
            if (i + k >= n || s[i + k] < lo || s[i + k] > hi)
                return 0;
        i += need + 1;
    }
    return 1;
}

static int on_event(const gw_sse_event_t *ev, void *data)
{
    rec_t *r = data;
    if (ev->data[ev->data_len] != '\0' || ev->event[ev->event_len] != '\0' ||
        ev->data_len > r->max || ev->event_len > r->max ||
        !utf8_ok((const unsigned char *)ev->data, ev->data_len) ||
        !utf8_ok((const unsigned char *)ev->event, ev->event_len))
        abort();
    gw_buf_printf(&r->out, "%zu:", ev->event_len);
    gw_buf_add(&r->out, ev->event, ev->event_len);
    gw_buf_printf(&r->out, "%zu:", ev->data_len);
    gw_buf_add(&r->out, ev->data, ev->data_len);
    r->count++;
    return r->stop_after > 0 && r->count >= r->stop_after;
}

/* mode 0: whole; 1: byte by byte; 2: random pieces from *seed. */
static void run(const char *s, size_t n, rec_t *r, int mode, uint64_t seed)
{
    gw_sse_parser_t p;
    gw_err_t rc = GW_OK;
    gw_sse_init(&p, r->max);
    size_t at = 0;
    do { /* an empty stream is fed once, with zero bytes */
        size_t k = n - at;
        if (mode == 1 && k > 1)
            k = 1;
        if (mode == 2) { /* 0..16 bytes, zero-length feeds included */
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            k = (size_t)(seed >> 33) % (k < 16 ? k + 1 : 17);
        }
        rc = gw_sse_feed(&p, s + at, k, on_event, r);
        at += k;
    } while (at < n);
    size_t id_len;
    const char *id = gw_sse_last_id(&p, &id_len);
    gw_buf_printf(&r->out, "|rc=%d pending=%d retry=%lld id=", (int)rc, gw_sse_pending(&p),
                  gw_sse_retry_ms(&p));
    gw_buf_add(&r->out, id, id_len);
    gw_sse_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[4] = {8, 32, 256, 65536};
    if (size < 1)
        return 0;
    rec_t r[3];
    uint64_t seed = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 1099511628211ull;
    for (int m = 0; m < 3; m++) {
        memset(&r[m], 0, sizeof r[m]);
        gw_buf_init(&r[m].out, (size_t)1 << 24);
        r[m].max = limits[data[0] & 3];
        r[m].stop_after = (data[0] >> 2) & 7;
        run((const char *)data + 1, size - 1, &r[m], m, seed);
    }
    for (int m = 1; m < 3; m++)
        if (r[m].out.len != r[0].out.len || memcmp(r[m].out.ptr, r[0].out.ptr, r[0].out.len) != 0)
            abort();
    for (int m = 0; m < 3; m++)
        gw_buf_free(&r[m].out);
    return 0;
}

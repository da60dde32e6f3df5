/* fuzz_http_resp.c - libFuzzer target for the upstream response framing
 * (src/http_resp.c).
 *
 * The input is one connection's bytes. It is fed whole and then in
 * pieces of 1..16 bytes (sizes taken from the input); both runs must agree
 * on the outcome, the status and the de-chunked body (on a framing error,
 * the body up to the failing piece), or we abort.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "http_resp.h"

typedef struct rec {
    int status, heads;
    gw_buf_t body;
} rec_t;

static int on_head(void *data, int status, const char *ra, size_t ralen)
{
    rec_t *r = data;
    (void)ra;
    (void)ralen;
    r->status = status;
    r->heads++;
    return 0;
}

static int on_body(void *data, const char *p, size_t n)
{
    rec_t *r = data;
    gw_buf_add(&r->body, p, n);
    return 0;
}

static const gw_resp_cbs_t cbs = {on_head, on_body};

/* Feeds data in pieces (step 0: whole); returns the outcome, 3 for "ended by EOF". */
static int run(const uint8_t *data, size_t size, size_t step, rec_t *r, int *keepalive)
{
    gw_resp_t resp;
    gw_resp_init(&resp);
    char *copy = gw_malloc(size + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    gw_resp_rc_t rc = GW_RESP_MORE;
    size_t at = 0;
    while (at < size && rc == GW_RESP_MORE) {
        size_t n = step == 0 ? size - at : 1 + (data[at] % step);
        if (n > size - at)
            n = size - at;
        rc = gw_resp_feed(&resp, copy + at, n, &cbs, r);
        at += n;
    }
    int out = rc == GW_RESP_MORE ? (gw_resp_eof(&resp) == GW_RESP_DONE ? 3 : 4) : (int)rc;
    *keepalive = rc == GW_RESP_DONE && at == size ? resp.keepalive : -1;
    gw_resp_free(&resp);
    gw_free(copy);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rec_t a = {0}, b = {0};
    gw_buf_init(&a.body, 1 << 20);
    gw_buf_init(&b.body, 1 << 20);
    int ka = 0, kb = 0;
    int ra = run(data, size, 0, &a, &ka);
    int rb = run(data, size, 16, &b, &kb);
    /* a split can only end the response earlier than the whole feed when
     * bytes follow it; both must see the same head and body up to there */
    if (ra != rb || a.status != b.status || a.heads != b.heads)
        abort();
    /* on a framing error a piece's bytes are not delivered: the whole
     * feed's body is then a prefix of the split feed's */
    if (ra == GW_RESP_ERROR ? a.body.len > b.body.len : a.body.len != b.body.len)
        abort();
    if (a.body.len > 0 && memcmp(a.body.ptr, b.body.ptr, a.body.len) != 0)
        abort();
    if (a.heads > 1)
        abort(); /* one final head per response */
    (void)ka;
    (void)kb;
    gw_buf_free(&a.body);
    gw_buf_free(&b.body);
    return 0;
}

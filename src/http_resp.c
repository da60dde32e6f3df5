/* http_resp.c - incremental HTTP/1.1 response framing (see http_resp.h). */
#include "http_resp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESP_HEADERS_MAX 64

enum { R_HEAD, R_LEN, R_CHUNKED, R_EOF, R_DONE };

void gw_resp_init(gw_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    gw_buf_init(&r->head, GW_RESP_HEAD_MAX);
}

void gw_resp_reset(gw_resp_t *r)
{
    r->state = R_HEAD;
    r->keepalive = 0;
    r->head_seen = 0;
    r->quiet = 0;
    r->body_left = 0;
    r->head.len = 0;
}

void gw_resp_free(gw_resp_t *r) { gw_buf_free(&r->head); }

static int header_is(const struct phr_header *h, const char *name, size_t n)
{
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static int value_has(const struct phr_header *h, const char *token)
{
    size_t n = strlen(token);
    for (size_t i = 0; i + n <= h->value_len; i++)
        if (strncasecmp(h->value + i, token, n) == 0)
            return 1;
    return 0;
}

/* A Content-Length value: digits only; -1 when malformed. */
static long long parse_length(const char *v, size_t n)
{
    if (n == 0 || n > 18)
        return -1;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* Sets the body framing from the head; -1 when it is contradictory. */
static int framing(gw_resp_t *r, int minor, int status, const struct phr_header *hs, size_t n)
{
    int chunked = 0;
    long long len = -1;
    r->keepalive = minor >= 1;
    for (size_t i = 0; i < n; i++) {
        if (header_is(&hs[i], "content-length", 14)) {
            long long v = parse_length(hs[i].value, hs[i].value_len);
            if (v < 0 || (len >= 0 && v != len))
                return -1;
            len = v;
        } else if (header_is(&hs[i], "transfer-encoding", 17)) {
            chunked = value_has(&hs[i], "chunked");
        } else if (header_is(&hs[i], "connection", 10) && value_has(&hs[i], "close")) {
            r->keepalive = 0;
        }
    }
    if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
        r->state = R_LEN;
        r->body_left = 0;
    } else if (chunked) {
        r->state = R_CHUNKED;
        memset(&r->dec, 0, sizeof(r->dec));
        r->dec.consume_trailer = 1; /* up to the blank line after the last chunk */
    } else if (len >= 0) {
        r->state = R_LEN;
        r->body_left = (size_t)len;
    } else {
        r->state = R_EOF;
        r->keepalive = 0;
    }
    return 0;
}

/* Parses one head at p[0..n): bytes used, 0 when incomplete, -1 when malformed. */
static long parse_head(gw_resp_t *r, const char *p, size_t n, const gw_resp_cbs_t *cbs, void *data)
{
    struct phr_header hs[RESP_HEADERS_MAX];
    size_t nh = RESP_HEADERS_MAX, msg_len = 0;
    int minor = 0, status = 0;
    const char *msg = NULL;
    int rc = phr_parse_response(p, n, &minor, &status, &msg, &msg_len, hs, &nh, 0);
    if (rc == -2)
        return n > GW_RESP_HEAD_MAX ? -1 : 0;
    if (rc < 0 || status < 100 || status > 999 || framing(r, minor, status, hs, nh) != 0)
        return -1;
    if (status < 200) { /* interim (101 is not asked for: treated the same) */
        r->state = R_HEAD;
        return rc;
    }
    r->head_seen = 1;
    const char *ra = NULL;
    size_t ralen = 0;
    for (size_t i = 0; i < nh; i++)
        if (header_is(&hs[i], "retry-after", 11)) {
            ra = hs[i].value;
            ralen = hs[i].value_len;
        }
    if (!r->quiet && cbs->on_head != NULL && cbs->on_head(data, status, ra, ralen) != 0)
        r->quiet = 1;
    return rc;
}

/* Heads until the final one; *p / *n then hold the body bytes after it.
 * 1: final head parsed, 0: more needed, -1: malformed. */
static int head_input(gw_resp_t *r, char **p, size_t *n, const gw_resp_cbs_t *cbs, void *data)
{
    if (r->head.len > 0) {
        if (gw_buf_add(&r->head, *p, *n) != GW_OK)
            return -1;
        *p = r->head.ptr;
        *n = r->head.len;
    }
    while (r->state == R_HEAD) {
        long used = parse_head(r, *p, *n, cbs, data);
        if (used < 0)
            return -1;
        if (used == 0) { /* keep what we have, at the buffer's start */
            if (r->head.len > 0) {
                memmove(r->head.ptr, *p, *n);
                r->head.len = *n;
            } else if (gw_buf_add(&r->head, *p, *n) != GW_OK) {
                return -1;
            }
            return 0;
        }
        *p += used;
        *n -= (size_t)used;
    }
    r->head.len = 0; /* the body bytes stay readable in place */
    return 1;
}

static void deliver(gw_resp_t *r, const char *p, size_t n, const gw_resp_cbs_t *cbs, void *data)
{
    if (n > 0 && !r->quiet && cbs->on_body != NULL && cbs->on_body(data, p, n) != 0)
        r->quiet = 1;
}

gw_resp_rc_t gw_resp_feed(gw_resp_t *r, char *p, size_t n, const gw_resp_cbs_t *cbs, void *data)
{
    if (r->state == R_DONE) {
        r->keepalive = 0; /* bytes after the response */
        return GW_RESP_DONE;
    }
    if (r->state == R_HEAD) {
        int rc = head_input(r, &p, &n, cbs, data);
        if (rc <= 0)
            return rc < 0 ? GW_RESP_ERROR : GW_RESP_MORE;
    }
    if (r->state == R_LEN) {
        size_t m = n < r->body_left ? n : r->body_left;
        r->body_left -= m;
        deliver(r, p, m, cbs, data);
        if (r->body_left > 0)
            return GW_RESP_MORE;
        if (m < n)
            r->keepalive = 0;
    } else if (r->state == R_CHUNKED) {
        size_t sz = n;
        ssize_t left = phr_decode_chunked(&r->dec, p, &sz);
        if (left == -1)
            return GW_RESP_ERROR;
        deliver(r, p, sz, cbs, data);
        if (left == -2)
            return GW_RESP_MORE;
        if (left > 0)
            r->keepalive = 0;
    } else { /* R_EOF */
        deliver(r, p, n, cbs, data);
        return GW_RESP_MORE;
    }
    r->state = R_DONE;
    return GW_RESP_DONE;
}

gw_resp_rc_t gw_resp_eof(gw_resp_t *r)
{
    if (r->state == R_EOF || r->state == R_DONE) {
        r->state = R_DONE;
        r->keepalive = 0;
        return GW_RESP_DONE;
    }
    return GW_RESP_ERROR;
}

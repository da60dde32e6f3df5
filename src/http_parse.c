/* http_parse.c - request heads with limits and framing rules (see
 * http_parse.h). picohttpparser (built into libh2o) splits the head; the
 * rules on top are ours: exact statuses for every limit, Content-Length and
 * Transfer-Encoding never both, one chunked coding only. */
#include "http_parse.h"

#include <string.h>
#include <strings.h>

#include "picohttpparser.h"

int gw_http_hdr_is(const gw_http_hdr_t *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static int token_has(const char *v, size_t len, const char *tok)
{
    size_t n = strlen(tok);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(v + i, tok, n) == 0)
            return 1;
    return 0;
}

/* Counts header lines in an unparseable head to tell 431 from 400. */
static size_t count_lines(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '\n') {
            n++;
            if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
                break;
        }
    return n;
}

static int parse_length(const char *v, size_t len, size_t *out)
{
    size_t n = 0;
    if (len == 0 || len > 18)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (size_t)(v[i] - '0');
    }
    *out = n;
    return 0;
}

static int fail(gw_http_head_t *out, int status, const char *why)
{
    out->error = why;
    return status;
}

/* The framing headers. Returns 0 or an HTTP status. */
static int check_framing(const gw_http_hdr_t *hs, const gw_http_limits_in_t *lim, gw_http_head_t *out)
{
    int have_cl = 0, have_te = 0;
    size_t cl = 0;
    out->keepalive = out->minor_version >= 1;
    for (size_t i = 0; i < out->num_headers; i++) {
        const gw_http_hdr_t *h = &hs[i];
        if (gw_http_hdr_is(h, "content-length")) {
            size_t v;
            if (parse_length(h->value, h->value_len, &v) != 0)
                return fail(out, 400, "invalid Content-Length");
            if (have_cl && v != cl)
                return fail(out, 400, "conflicting Content-Length headers");
            have_cl = 1;
            cl = v;
        } else if (gw_http_hdr_is(h, "transfer-encoding")) {
            if (have_te || h->value_len != 7 || strncasecmp(h->value, "chunked", 7) != 0)
                return fail(out, 400, "unsupported Transfer-Encoding (only a single 'chunked' is accepted)");
            have_te = 1;
        } else if (gw_http_hdr_is(h, "connection")) {
            if (token_has(h->value, h->value_len, "close"))
                out->keepalive = 0;
            else if (token_has(h->value, h->value_len, "keep-alive"))
                out->keepalive = 1;
        } else if (gw_http_hdr_is(h, "expect")) {
            out->expect_continue = h->value_len == 12 && strncasecmp(h->value, "100-continue", 12) == 0;
        }
    }
    if (have_cl && have_te)
        return fail(out, 400, "both Content-Length and Transfer-Encoding given");
    if (have_cl && cl > lim->max_body_bytes)
        return fail(out, 413, "request body exceeds max_body_bytes");
    out->chunked = have_te;
    out->content_length = have_cl ? cl : 0;
    return 0;
}

int gw_http_parse_head(const char *buf, size_t len, const gw_http_limits_in_t *lim, gw_http_hdr_t *headers,
                       size_t cap, gw_http_head_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t nh = cap;
    struct phr_header *ph = (struct phr_header *)headers; /* same layout */
    int n = phr_parse_request(buf, len, &out->method, &out->method_len, &out->path, &out->path_len,
                              &out->minor_version, ph, &nh, 0);
    if (n == -2)
        return len > lim->max_header_bytes ? fail(out, 431, "request header block exceeds max_header_bytes") : -2;
    if (n == -1)
        return count_lines(buf, len) > lim->max_headers + 1 ? fail(out, 431, "too many request headers")
                                                             : fail(out, 400, "malformed HTTP request");
    if ((size_t)n > lim->max_header_bytes)
        return fail(out, 431, "request header block exceeds max_header_bytes");
    if (nh > lim->max_headers)
        return fail(out, 431, "too many request headers");
    out->num_headers = nh;
    out->head_len = (size_t)n;
    if (out->method_len == 0 || out->path_len == 0)
        return fail(out, 400, "malformed HTTP request line");
    for (size_t i = 0; i < nh; i++)
        if (headers[i].name == NULL) /* a continuation line (RFC 9112 5.2: reject) */
            return fail(out, 400, "obsolete header line folding is not accepted");
    return check_framing(headers, lim, out);
}

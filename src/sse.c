/* sse.c - incremental Server-Sent Events parser (wire-formats.md 6).
 *
 * Splits the byte stream into lines with memchr (CR and LF never occur
 * inside a multi-byte UTF-8 sequence), parses complete lines straight from
 * the caller's chunk and only copies the unfinished tail of a chunk into
 * p->line. A CR that ends a chunk is remembered in p->last_cr so that an
 * LF starting the next chunk completes one CRLF instead of a blank line.
 */
#include "sse.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

static const char sse_bom[3] = {'\xEF', '\xBB', '\xBF'};
static const char sse_replacement[3] = {'\xEF', '\xBF', '\xBD'}; /* U+FFFD */

void gw_sse_init(gw_sse_parser_t *p, size_t max_event_bytes)
{
    /* data holds one extra LF (removed at dispatch), hence the + 1 */
    size_t data_max = max_event_bytes < SIZE_MAX - 1 ? max_event_bytes + 1 : SIZE_MAX - 1;
    gw_buf_init(&p->line, max_event_bytes);
    gw_buf_init(&p->event, max_event_bytes);
    gw_buf_init(&p->data, data_max);
    gw_buf_init(&p->last_id, max_event_bytes);
    p->has_data = 0;
    p->last_cr = 0;
    p->bom_checked = 0;
    p->max_event_bytes = max_event_bytes;
    p->retry_ms = -1;
    p->err = GW_OK;
}

void gw_sse_free(gw_sse_parser_t *p)
{
    gw_buf_free(&p->line);
    gw_buf_free(&p->event);
    gw_buf_free(&p->data);
    gw_buf_free(&p->last_id);
}

int gw_sse_pending(const gw_sse_parser_t *p)
{
    /* a failed feed leaves split-dependent partial state: report "unclean" */
    if (p->err != GW_OK && p->err != GW_EDENIED)
        return 1;
    return p->line.len > 0 || p->has_data || p->event.len > 0;
}

const char *gw_sse_last_id(const gw_sse_parser_t *p, size_t *len)
{
    if (len != NULL)
        *len = p->last_id.len;
    return p->last_id.ptr != NULL ? p->last_id.ptr : "";
}

long long gw_sse_retry_ms(const gw_sse_parser_t *p) { return p->retry_ms; }

/* Returns the first index >= i that may hold a non-ASCII byte (8 at a time). */
static size_t ascii_run(const unsigned char *s, size_t n, size_t i)
{
    uint64_t w;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull)
            break;
    }
    return i;
}

/* Returns how many leading bytes of s[0..n) are valid UTF-8. When that is
 * less than n, *bad is the length (>= 1) of the maximal invalid subpart
 * that starts there, which the WHATWG decoder turns into one U+FFFD. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        i = ascii_run(s, n, i);
        if (i >= n)
            break;
        unsigned c = s[i], lo = 0x80, hi = 0xBF;
        size_t need;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            *bad = 1;
            return i;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n || s[i + k] < lo || s[i + k] > hi) {
                *bad = k;
                return i;
            }
            lo = 0x80;
            hi = 0xBF;
        }
        i += need + 1;
    }
    return n;
}

/* Appends s[0..n) to b with invalid UTF-8 replaced by U+FFFD. */
static gw_err_t add_utf8(gw_buf_t *b, const char *s, size_t n)
{
    gw_err_t rc = GW_OK;
    for (;;) {
        size_t bad = 0;
        size_t ok = utf8_valid_prefix((const unsigned char *)s, n, &bad);
        if ((rc = gw_buf_add(b, s, ok)) != GW_OK || ok == n)
            break;
        if ((rc = gw_buf_add(b, sse_replacement, sizeof sse_replacement)) != GW_OK)
            break;
        s += ok + bad;
        n -= ok + bad;
    }
    return rc;
}

/* Blank line: dispatch the event being built (if it has data) and reset. */
static gw_err_t dispatch(gw_sse_parser_t *p, gw_sse_event_cb cb, void *data)
{
    int stop = 0;
    if (p->has_data) {
        p->data.len--; /* the LF after the last data line */
        p->data.ptr[p->data.len] = '\0';
        gw_sse_event_t ev = {
            .event = p->event.ptr != NULL ? p->event.ptr : "",
            .event_len = p->event.len,
            .data = p->data.ptr,
            .data_len = p->data.len,
        };
        if (cb != NULL)
            stop = cb(&ev, data);
    }
    gw_buf_reset(&p->event);
    gw_buf_reset(&p->data);
    p->has_data = 0;
    return stop ? GW_EDENIED : GW_OK;
}

/* retry: ASCII digits only (at least one, no overflow), else ignored. */
static void set_retry(gw_sse_parser_t *p, const char *v, size_t n)
{
    long long ms = 0;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || ms > (LLONG_MAX - (v[i] - '0')) / 10)
            return;
        ms = ms * 10 + (v[i] - '0');
    }
    p->retry_ms = ms;
}

/* Applies one "name: value" field; unknown names are ignored. */
static gw_err_t apply_field(gw_sse_parser_t *p, const char *name, size_t name_len, const char *v,
                            size_t n)
{
    gw_err_t rc = GW_OK;
    if (name_len == 4 && memcmp(name, "data", 4) == 0) {
        if ((rc = add_utf8(&p->data, v, n)) == GW_OK && (rc = gw_buf_add(&p->data, "\n", 1)) == GW_OK)
            p->has_data = 1;
    } else if (name_len == 5 && memcmp(name, "event", 5) == 0) {
        gw_buf_reset(&p->event);
        rc = add_utf8(&p->event, v, n);
    } else if (name_len == 2 && memcmp(name, "id", 2) == 0) {
        if (memchr(v, '\0', n) == NULL) {
            gw_buf_reset(&p->last_id);
            rc = add_utf8(&p->last_id, v, n);
        }
    } else if (name_len == 5 && memcmp(name, "retry", 5) == 0) {
        set_retry(p, v, n);
    }
    return rc;
}

/* Interprets one complete line (without its end). */
static gw_err_t process_line(gw_sse_parser_t *p, const char *s, size_t n, gw_sse_event_cb cb,
                             void *data)
{
    if (n == 0)
        return dispatch(p, cb, data);
    if (s[0] == ':')
        return GW_OK; /* comment */
    const char *colon = memchr(s, ':', n);
    size_t name_len = colon != NULL ? (size_t)(colon - s) : n;
    const char *v = s + name_len + (colon != NULL);
    size_t vn = n - name_len - (colon != NULL);
    if (vn > 0 && v[0] == ' ') {
        v++;
        vn--;
    }
    return apply_field(p, s, name_len, v, vn);
}

/* A line ended inside this chunk: it is s[0..n) after what p->line holds. */
static gw_err_t line_done(gw_sse_parser_t *p, const char *s, size_t n, gw_sse_event_cb cb, void *data)
{
    gw_err_t rc;
    if (p->line.len == 0) {
        if (n > p->max_event_bytes)
            return GW_ETOOBIG;
        return process_line(p, s, n, cb, data);
    }
    if ((rc = gw_buf_add(&p->line, s, n)) != GW_OK)
        return rc;
    rc = process_line(p, p->line.ptr, p->line.len, cb, data);
    gw_buf_reset(&p->line);
    return rc;
}

/* Skips a leading BOM, which may arrive split over several chunks (its
 * prefix waits in p->line). Returns how many bytes of s it consumed. */
static size_t skip_bom(gw_sse_parser_t *p, const char *s, size_t n, gw_err_t *rc)
{
    size_t i = 0, have = p->line.len;
    while (i < n && have + i < sizeof sse_bom && s[i] == sse_bom[have + i])
        i++;
    if (have + i == sizeof sse_bom) {
        gw_buf_reset(&p->line);
        p->bom_checked = 1;
        return i;
    }
    if (i < n) /* mismatch: what matched so far is the start of a line */
        p->bom_checked = 1;
    if (i > 0)
        *rc = gw_buf_add(&p->line, s, i);
    return i;
}

/* Splits s[0..end) into lines; keeps an unfinished last line in p->line. */
static gw_err_t feed_lines(gw_sse_parser_t *p, const char *s, const char *end, gw_sse_event_cb cb,
                           void *data)
{
    const char *lf = NULL;
    int lf_known = 0; /* lf is the first LF at or after s (NULL: none left) */
    while (s < end) {
        if (!lf_known || (lf != NULL && lf < s)) {
            lf = memchr(s, '\n', (size_t)(end - s));
            lf_known = 1;
        }
        const char *lim = lf != NULL ? lf : end;
        const char *eol = memchr(s, '\r', (size_t)(lim - s));
        if (eol == NULL)
            eol = lf;
        if (eol == NULL)
            return gw_buf_add(&p->line, s, (size_t)(end - s));
        gw_err_t rc = line_done(p, s, (size_t)(eol - s), cb, data);
        if (rc != GW_OK)
            return rc;
        s = eol + 1;
        if (*eol == '\r' && s == end)
            p->last_cr = 1;
        else if (*eol == '\r' && *s == '\n')
            s++;
    }
    return GW_OK;
}

static gw_err_t feed(gw_sse_parser_t *p, const char *s, size_t n, gw_sse_event_cb cb, void *data)
{
    gw_err_t rc = GW_OK;
    if (!p->bom_checked) {
        size_t used = skip_bom(p, s, n, &rc);
        if (rc != GW_OK || !p->bom_checked)
            return rc;
        s += used;
        n -= used;
    }
    if (p->last_cr && n > 0) {
        p->last_cr = 0;
        if (s[0] == '\n') {
            s++;
            n--;
        }
    }
    return feed_lines(p, s, s + n, cb, data);
}

gw_err_t gw_sse_feed(gw_sse_parser_t *p, const char *bytes, size_t n, gw_sse_event_cb cb, void *data)
{
    if (p->err != GW_OK)
        return p->err;
    gw_err_t rc = feed(p, bytes, n, cb, data);
    if (rc != GW_OK)
        p->err = rc;
    return rc;
}

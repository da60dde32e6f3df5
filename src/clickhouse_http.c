/* clickhouse_http.c - URLs, one blocking POST with libcurl, and ClickHouse's
 * error text (clickhouse_http.h).
 */
#include "clickhouse_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gw_err_t gw_ch_url_init(gw_buf_t *url, const char *base)
{
    size_t n;
    gw_buf_reset(url);
    if (base == NULL || (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) ||
        strpbrk(base, "?# \t\r\n") != NULL)
        return GW_EINVAL;
    n = strlen(base);
    while (n > 8 && base[n - 1] == '/')
        n--;
    gw_err_t rc = gw_buf_add(url, base, n);
    return rc == GW_OK ? gw_buf_add(url, "/", 1) : rc;
}

static int url_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

const char *gw_ch_url_shown(const char *url, char *dst, size_t cap)
{
    const char *host = strstr(url, "://");
    host = host != NULL ? host + 3 : url;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at != NULL && (slash == NULL || at < slash))
        snprintf(dst, cap, "%.*s%s", (int)(host - url), url, at + 1);
    else
        snprintf(dst, cap, "%s", url);
    return dst;
}

gw_err_t gw_ch_url_param(gw_buf_t *url, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    gw_err_t rc = gw_buf_add(url, memchr(url->ptr, '?', url->len) != NULL ? "&" : "?", 1);
    if (rc == GW_OK)
        rc = gw_buf_adds(url, key);
    if (rc == GW_OK)
        rc = gw_buf_add(url, "=", 1);
    for (const unsigned char *p = (const unsigned char *)value; rc == GW_OK && *p != '\0'; p++) {
        char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        rc = url_safe(*p) ? gw_buf_add(url, p, 1) : gw_buf_add(url, e, 3);
    }
    return rc;
}

typedef struct sink {
    gw_buf_t *resp;
    int overflow;
} sink_t;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *data)
{
    sink_t *s = data;
    size_t n = size * nmemb;
    if (gw_buf_add(s->resp, ptr, n) != GW_OK) {
        s->overflow = 1;
        return 0;
    }
    return n;
}

typedef struct source {
    gw_ch_read_cb cb;
    void *data;
    int aborted;
} source_t;

static size_t on_read(char *dst, size_t size, size_t nitems, void *data)
{
    source_t *s = data;
    size_t n = s->cb(dst, size * nitems, s->data);
    if (n == GW_CH_READ_ABORT) {
        s->aborted = 1;
        return CURL_READFUNC_ABORT;
    }
    return n;
}

/* The handle's options for one request. */
static CURLcode setup(CURL *c, const gw_ch_request_t *rq, sink_t *snk, source_t *src, struct curl_slist **hdrs,
                      char *ebuf)
{
    CURLcode cc = CURLE_OK;
    curl_easy_reset(c);
#define SET(opt, val) \
    if (cc == CURLE_OK) \
    cc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, rq->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, ebuf);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : 2000L);
    SET(CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : 0L);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, snk);
    SET(CURLOPT_POST, 1L);
    if (rq->user != NULL) {
        SET(CURLOPT_USERNAME, rq->user);
        SET(CURLOPT_PASSWORD, rq->password != NULL ? rq->password : "");
    }
    if (rq->read_cb != NULL) {
        *hdrs = curl_slist_append(NULL, "Transfer-Encoding: chunked");
        if (*hdrs == NULL)
            return CURLE_OUT_OF_MEMORY;
        SET(CURLOPT_HTTPHEADER, *hdrs);
        SET(CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024L);
        SET(CURLOPT_READFUNCTION, on_read);
        SET(CURLOPT_READDATA, src);
    } else {
        SET(CURLOPT_POSTFIELDS, rq->body != NULL ? rq->body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
#undef SET
    return cc;
}

static gw_err_t curl_failure(CURLcode cc, const char *ebuf, const gw_ch_request_t *rq, char *err, size_t errlen)
{
    const char *why = ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc);
    snprintf(err, errlen, "clickhouse: %s", why);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(err, errlen, "clickhouse: no complete answer within %ld ms (%s)", rq->timeout_ms, why);
        return GW_ETIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return GW_EIO;
    case CURLE_OUT_OF_MEMORY:
        return GW_ENOMEM;
    default:
        return GW_EUPSTREAM;
    }
}

gw_err_t gw_ch_post(void *curl, const gw_ch_request_t *rq, gw_buf_t *resp, long *status, char *err, size_t errlen)
{
    CURL *c = curl;
    sink_t snk = {resp, 0};
    source_t src = {rq->read_cb, rq->read_data, 0};
    struct curl_slist *hdrs = NULL;
    char ebuf[CURL_ERROR_SIZE] = "";
    gw_err_t rc = GW_OK;
    *status = 0;
    gw_buf_reset(resp);
    CURLcode cc = setup(c, rq, &snk, &src, &hdrs, ebuf);
    if (cc == CURLE_OK)
        cc = curl_easy_perform(c);
    if (snk.overflow) {
        snprintf(err, errlen, "clickhouse: the response is larger than %zu bytes", resp->max);
        rc = GW_ETOOBIG;
    } else if (src.aborted) {
        snprintf(err, errlen, "clickhouse: the request body could not be produced");
        rc = GW_EINVAL;
    } else if (cc != CURLE_OK) {
        rc = curl_failure(cc, ebuf, rq, err, errlen);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    return rc;
}

/* ---- error text ---- */

#define CODE_PREFIX "Code: "
#define EXC_MARK "DB::Exception: "
#define WHAT_MARK ", e.what() = "

/* Parses the error text starting exactly at s. */
static int error_at(const char *s, const char *end, int *code, char *msg, size_t msglen)
{
    size_t pl = strlen(CODE_PREFIX);
    if ((size_t)(end - s) < pl + 2 || memcmp(s, CODE_PREFIX, pl) != 0)
        return 0;
    char num[12];
    size_t k = 0;
    for (const char *p = s + pl; p < end && k < sizeof num - 1 && *p >= '0' && *p <= '9'; p++)
        num[k++] = *p;
    num[k] = '\0';
    if (k == 0 || s + pl + k >= end || s[pl + k] != ',')
        return 0;
    *code = (int)strtol(num, NULL, 10);
    const char *m = s + pl + k + 1;
    const char *exc = memmem(m, (size_t)(end - m), EXC_MARK, strlen(EXC_MARK));
    if (exc != NULL)
        m = exc + strlen(EXC_MARK);
    while (m < end && *m == ' ')
        m++;
    const char *stop = memmem(m, (size_t)(end - m), WHAT_MARK, strlen(WHAT_MARK));
    if (stop == NULL)
        for (stop = end; stop > m && (stop[-1] == '\n' || stop[-1] == '\r' || stop[-1] == ' ');)
            stop--;
    snprintf(msg, msglen, "%.*s", (int)(stop - m), m);
    return 1;
}

int gw_ch_error_find(const char *body, size_t len, size_t from, int *code, char *msg, size_t msglen)
{
    const char *end = body + len, *hit = NULL;
    if (body == NULL)
        return 0;
    if (error_at(body, end, code, msg, msglen))
        return 1;
    for (const char *p = body + (from < len ? from : len); p < end;) {
        const char *q = memmem(p, (size_t)(end - p), CODE_PREFIX, strlen(CODE_PREFIX));
        if (q == NULL)
            break;
        int c;
        char m[8];
        if (error_at(q, end, &c, m, sizeof m) && memmem(q, (size_t)(end - q), "e.displayText()", 15) != NULL)
            hit = q;
        p = q + 1;
    }
    return hit != NULL && error_at(hit, end, code, msg, msglen);
}

gw_err_t gw_ch_error_kind(int code)
{
    switch (code) {
    case GW_CH_E_TIMEOUT_EXCEEDED:
    case GW_CH_E_QUERY_CANCELLED:
        return GW_ETIMEOUT;
    case GW_CH_E_READONLY:
    case GW_CH_E_TOO_MANY_ROWS:
    case GW_CH_E_TOO_MANY_RESULT_ROWS:
    case GW_CH_E_MEMORY_LIMIT:
    case GW_CH_E_ACCESS_DENIED:
    case GW_CH_E_UNKNOWN_USER:
    case GW_CH_E_WRONG_PASSWORD:
    case GW_CH_E_REQUIRED_PASSWORD:
    case GW_CH_E_IP_NOT_ALLOWED:
        return GW_EDENIED;
    default:
        return GW_EUPSTREAM;
    }
}

/* engine_bigquery_http.c - one BigQuery REST call over a blocking libcurl
 * easy handle: every attempt has a timeout that never passes the query's
 * deadline, the response body is bounded, 5xx / 429 / rateLimitExceeded /
 * broken connections are retried with backoff, and Google error bodies
 * ({"error":{"code","message","errors":[{"reason"}],"status"}}) become a
 * gw_err_t plus a sentence. The OAuth token only ever goes in a header.
 */
#include "engine_bigquery_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"

#define CONNECT_TIMEOUT_MS 10000L

double gw__bq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void gw__bq_sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

gw_err_t gw__bq_add_escaped(gw_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    gw_err_t rc = GW_OK;
    for (; rc == GW_OK && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            rc = gw_buf_add(b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = gw_buf_add(b, e, 3);
        }
    }
    return rc;
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *s, int *failed)
{
    struct curl_slist *n = *failed ? NULL : curl_slist_append(l, s);
    if (n == NULL)
        *failed = 1;
    return n != NULL ? n : l;
}

gw_err_t gw__bq_http_init(gw__bq_http_t *hx, CURL *h, const char *token, const char *token_env,
                          uint32_t call_timeout_ms, size_t max_response)
{
    gw_buf_t auth;
    int failed = 0;
    memset(hx, 0, sizeof *hx);
    hx->h = h;
    hx->token_env = token_env;
    hx->call_timeout_ms = call_timeout_ms;
    gw_buf_init(&hx->body, max_response);
    gw_buf_init(&auth, 16384);
    if (gw_buf_printf(&auth, "Authorization: Bearer %s", token) != GW_OK)
        failed = 1;
    hx->hdrs = slist_add(hx->hdrs, auth.ptr, &failed);
    hx->hdrs = slist_add(hx->hdrs, "Content-Type: application/json; charset=utf-8", &failed);
    hx->hdrs = slist_add(hx->hdrs, "Accept: application/json", &failed);
    hx->hdrs = slist_add(hx->hdrs, "Expect:", &failed);
    gw_buf_free(&auth);
    if (failed) {
        gw__bq_http_free(hx);
        return GW_ENOMEM;
    }
    return GW_OK;
}

void gw__bq_http_free(gw__bq_http_t *hx)
{
    curl_slist_free_all(hx->hdrs);
    hx->hdrs = NULL;
    gw_buf_free(&hx->body);
}

static size_t on_write(char *p, size_t size, size_t n, void *data)
{
    gw__bq_http_t *hx = data;
    if (gw_buf_add(&hx->body, p, size * n) != GW_OK) {
        hx->too_big = true;
        return 0;
    }
    return size * n;
}

static CURLcode setup(gw__bq_http_t *hx, const gw__bq_call_t *c, long timeout_ms, char *errbuf)
{
    CURL *h = hx->h;
    CURLcode cc = curl_easy_setopt(h, CURLOPT_URL, c->url);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hx->hdrs);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)hx);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms
                                                                                          : CONNECT_TIMEOUT_MS);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)hx->body.max);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_USERAGENT, "llmgw/" GW_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (cc == CURLE_OK && c->post)
        cc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(c->body != NULL ? c->body_len : 0));
    if (cc == CURLE_OK && c->post)
        cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body != NULL ? c->body : "");
    return cc;
}

/* A Google error body to a code and a sentence; sets *retry for the
 * transient ones. */
static gw_err_t map_error(gw__bq_http_t *hx, long status, gw__bq_fail_t *f, int *retry)
{
    json_error_t je;
    json_t *j = json_loadb(hx->body.ptr != NULL ? hx->body.ptr : "", hx->body.len, 0, &je);
    json_t *e = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *reason = json_string_value(json_object_get(json_array_get(json_object_get(e, "errors"), 0), "reason"));
    gw_err_t rc = GW_EUPSTREAM;
    snprintf(f->reason, sizeof f->reason, "%s", reason != NULL ? reason : "");
    if (msg == NULL)
        msg = "no error message in the answer";
    int rate = strcmp(f->reason, "rateLimitExceeded") == 0;
    if (status == 401) {
        snprintf(f->message, sizeof f->message,
                 "BigQuery rejected the OAuth token (HTTP 401%s%s): %s Set a valid access token in $%s.",
                 reason ? ", " : "", f->reason, msg, hx->token_env);
    } else if (strcmp(f->reason, "bytesBilledLimitExceeded") == 0) {
        rc = GW_EDENIED;
        snprintf(f->message, sizeof f->message, "BigQuery refused the query over maximumBytesBilled: %s", msg);
    } else if (status == 403 && !rate && strcmp(f->reason, "quotaExceeded") != 0) {
        snprintf(f->message, sizeof f->message,
                 "BigQuery denied access (HTTP 403%s%s): %s Check the IAM roles of the token's account "
                 "(bigquery.jobs.create on the project, bigquery.tables.getData on the dataset).",
                 reason ? ", " : "", f->reason, msg);
    } else {
        rc = status == 404 ? GW_ENOTFOUND : GW_EUPSTREAM;
        snprintf(f->message, sizeof f->message, "BigQuery: %s (HTTP %ld%s%s)", msg, status, reason ? ", " : "",
                 f->reason);
    }
    *retry = rc == GW_EUPSTREAM && (status == 500 || status == 502 || status == 503 || status == 504 ||
                                    status == 429 || rate);
    json_decref(j);
    return rc;
}

static int transient(CURLcode cc)
{
    return cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
           cc == CURLE_PARTIAL_FILE || cc == CURLE_COULDNT_CONNECT;
}

static gw_err_t attempt(gw__bq_http_t *hx, const gw__bq_call_t *c, gw__bq_fail_t *f, int *retry)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    double left = c->deadline - gw__bq_now_ms();
    long timeout = left < (double)hx->call_timeout_ms ? (long)left : (long)hx->call_timeout_ms;
    memset(f, 0, sizeof *f);
    *retry = 0;
    if (timeout < 1) {
        snprintf(f->message, sizeof f->message, "the query deadline passed");
        return GW_ETIMEOUT;
    }
    gw_buf_reset(&hx->body);
    hx->too_big = false;
    curl_easy_reset(hx->h);
    CURLcode cc = setup(hx, c, timeout, errbuf);
    if (cc == CURLE_OK)
        cc = curl_easy_perform(hx->h);
    curl_easy_setopt(hx->h, CURLOPT_ERRORBUFFER, (char *)NULL);
    if ((cc == CURLE_WRITE_ERROR && hx->too_big) || cc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(f->message, sizeof f->message, "BigQuery's answer is larger than %zu bytes", hx->body.max);
        return GW_ETOOBIG;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(f->message, sizeof f->message, "BigQuery did not answer within %ld ms", timeout);
        return GW_ETIMEOUT;
    }
    if (cc != CURLE_OK) {
        *retry = transient(cc);
        snprintf(f->message, sizeof f->message, "cannot reach BigQuery: %s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return GW_EUPSTREAM;
    }
    curl_easy_getinfo(hx->h, CURLINFO_RESPONSE_CODE, &f->status);
    if (f->status >= 200 && f->status < 300)
        return GW_OK;
    return map_error(hx, f->status, f, retry);
}

gw_err_t gw__bq_request(gw__bq_http_t *hx, const gw__bq_call_t *c, json_t **out, gw__bq_fail_t *f)
{
    json_error_t je;
    *out = NULL;
    for (int n = 0;; n++) {
        int retry = 0;
        gw_err_t rc = attempt(hx, c, f, &retry);
        if (rc != GW_OK && (!retry || n >= c->retries))
            return rc;
        if (rc != GW_OK) {
            double wait = n == 0 ? 250 : 750.0 * n; /* 250 ms, then 750 ms */
            if (gw__bq_now_ms() + wait >= c->deadline)
                return rc;
            gw__bq_sleep_ms(wait);
            continue;
        }
        *out = json_loadb(hx->body.ptr != NULL ? hx->body.ptr : "", hx->body.len, 0, &je);
        if (json_is_object(*out))
            return GW_OK;
        json_decref(*out);
        *out = NULL;
        snprintf(f->message, sizeof f->message, "BigQuery answered HTTP %ld with a body that is not a JSON object",
                 f->status);
        return GW_EUPSTREAM;
    }
}

/* log.c - per-request JSON log lines and operator messages (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "metrics.h"
#include "usage.h"

static void add_key(gw_buf_t *b, const char *key);

static void add_str(gw_buf_t *b, const char *key, const char *v, size_t n)
{
    add_key(b, key);
    if (v == NULL) {
        gw_buf_adds(b, "null");
        return;
    }
    gw_buf_adds(b, "\"");
    gw_buf_add_json_str(b, v, n);
    gw_buf_adds(b, "\"");
}

/* Appends the decimal digits of v (no printf on the per-request path). */
static void add_u64(gw_buf_t *b, uint64_t v)
{
    char tmp[24];
    size_t n = sizeof(tmp);
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    gw_buf_add(b, tmp + n, sizeof(tmp) - n);
}

/* Appends v >= 0 with exactly `decimals` digits after the point. */
static void add_fixed(gw_buf_t *b, double v, int decimals)
{
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    if (!(v >= 0) || v > 1e12) {
        gw_buf_printf(b, "%.*f", decimals, v);
        return;
    }
    uint64_t x = (uint64_t)(v * (double)scale + 0.5);
    add_u64(b, x / scale);
    char frac[24];
    uint64_t f = x % scale;
    for (int i = decimals - 1; i >= 0; i--) {
        frac[i] = (char)('0' + f % 10);
        f /= 10;
    }
    gw_buf_add(b, ".", 1);
    gw_buf_add(b, frac, (size_t)decimals);
}

static void add_key(gw_buf_t *b, const char *key)
{
    gw_buf_add(b, ",\"", 2);
    gw_buf_adds(b, key);
    gw_buf_add(b, "\":", 2);
}

static void add_i64(gw_buf_t *b, const char *key, int64_t v)
{
    add_key(b, key);
    if (v < 0)
        gw_buf_add(b, "null", 4);
    else
        add_u64(b, (uint64_t)v);
}

static void add_attempts(gw_buf_t *b, const gw_router_result_t *r, int *first)
{
    for (size_t i = 0; r != NULL && i < r->n_attempts; i++) {
        const gw_attempt_t *a = &r->attempts[i];
        gw_buf_adds(b, *first ? "{\"provider\":\"" : ",{\"provider\":\"");
        *first = 0;
        gw_buf_add_json_str(b, a->provider, strlen(a->provider));
        gw_buf_adds(b, "\",\"model\":\"");
        gw_buf_add_json_str(b, a->model, strlen(a->model));
        gw_buf_adds(b, "\",\"status\":");
        add_u64(b, (uint64_t)(a->status > 0 ? a->status : 0));
        gw_buf_adds(b, ",\"ms\":");
        add_fixed(b, a->ms, 3);
        gw_buf_adds(b, ",\"reason\":\"");
        gw_buf_adds(b, a->reason ? a->reason : "pending");
        gw_buf_adds(b, "\"}");
    }
}

static void add_all_attempts(gw_buf_t *b, const gw_reqlog_t *l)
{
    int first = 1;
    gw_buf_adds(b, ",\"attempts\":[");
    add_attempts(b, l->router, &first);
    for (size_t i = 0; i < l->n_more_routers; i++)
        add_attempts(b, l->more_routers[i], &first);
    gw_buf_adds(b, "]");
}

/* Appends nano-units v >= 0 as a decimal with 9 digits after the point. */
static void add_nano(gw_buf_t *b, int64_t v)
{
    uint64_t u = v > 0 ? (uint64_t)v : 0;
    char frac[9];
    uint64_t f = u % 1000000000ull;
    for (int i = 8; i >= 0; i--) {
        frac[i] = (char)('0' + f % 10);
        f /= 10;
    }
    add_u64(b, u / 1000000000ull);
    gw_buf_add(b, ".", 1);
    gw_buf_add(b, frac, 9);
}

static void add_2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

static void add_ts(gw_buf_t *b)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char t[] = "{\"ts\":\"YYYY-MM-DDTHH:MM:SS.mmmZ\"";
    int y = tm.tm_year + 1900, ms = (int)(ts.tv_nsec / 1000000);
    add_2(t + 7, y / 100);
    add_2(t + 9, y % 100);
    add_2(t + 12, tm.tm_mon + 1);
    add_2(t + 15, tm.tm_mday);
    add_2(t + 18, tm.tm_hour);
    add_2(t + 21, tm.tm_min);
    add_2(t + 24, tm.tm_sec);
    t[27] = (char)('0' + ms / 100);
    add_2(t + 28, ms % 100);
    gw_buf_add(b, t, sizeof(t) - 1);
}

gw_err_t gw_log_format_request(const gw_reqlog_t *l, gw_buf_t *b)
{
    size_t start = b->len;
    add_ts(b);
    add_str(b, "request_id", l->request_id, strlen(l->request_id));
    add_str(b, "tenant", l->tenant, l->tenant ? strlen(l->tenant) : 0);
    add_str(b, "route", l->route, l->route ? strlen(l->route) : 0);
    add_str(b, "model", l->model, l->model_len);
    const gw_router_result_t *r = l->router;
    const char *um = r && r->model ? r->model->model : NULL;
    const char *pv = r && r->provider ? r->provider->name : NULL;
    add_str(b, "upstream_model", um, um ? strlen(um) : 0);
    add_str(b, "provider", pv, pv ? strlen(pv) : 0);
    add_all_attempts(b, l);
    add_key(b, "status");
    add_u64(b, (uint64_t)(l->status > 0 ? l->status : 0));
    add_key(b, "latency_ms");
    add_fixed(b, l->latency_ms, 3);
    add_key(b, "ttfb_ms");
    if (l->ttfb_ms > 0)
        add_fixed(b, l->ttfb_ms, 3);
    else
        gw_buf_add(b, "null", 4);
    add_i64(b, "prompt_tokens", l->prompt_tokens);
    add_i64(b, "completion_tokens", l->completion_tokens);
    add_key(b, "cost_usd");
    add_nano(b, l->cost_nusd);
    if (l->estimated)
        gw_buf_adds(b, ",\"estimated\":true");
    gw_buf_adds(b, l->stream ? ",\"stream\":true" : ",\"stream\":false");
    add_str(b, "client_ip", l->client_ip, strlen(l->client_ip));
    const char *err = l->error && l->error[0] ? l->error : NULL;
    add_str(b, "error", err, err ? strlen(err) : 0);
    gw_err_t rc = gw_buf_adds(b, "}\n");
    if (rc != GW_OK) { /* never a half line */
        b->len = start;
        if (b->ptr != NULL)
            b->ptr[start] = '\0';
    }
    return rc;
}

gw_err_t gw_log_format_summary(const gw_usage_table_t *u, gw_buf_t *b)
{
    size_t start = b->len;
    add_ts(b);
    gw_buf_adds(b, ",\"type\":\"usage_summary\",\"usage\":");
    gw_usage_json(u, 0, 1, b);
    gw_err_t rc = gw_buf_adds(b, "}\n");
    if (rc != GW_OK) {
        b->len = start;
        if (b->ptr != NULL)
            b->ptr[start] = '\0';
    }
    return rc;
}

void gw_log_msg(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n] = '\n';
    fprintf(stderr, "llmgw: %.*s", n + 1, line);
    fflush(stderr);
}

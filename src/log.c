/* log.c - per-request JSON log lines and operator messages (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "worker.h"

static void add_str(gw_buf_t *b, const char *key, const char *v, size_t n)
{
    gw_buf_printf(b, ",\"%s\":", key);
    if (v == NULL) {
        gw_buf_adds(b, "null");
        return;
    }
    gw_buf_adds(b, "\"");
    gw_buf_add_json_str(b, v, n);
    gw_buf_adds(b, "\"");
}

static void add_i64(gw_buf_t *b, const char *key, int64_t v)
{
    if (v < 0)
        gw_buf_printf(b, ",\"%s\":null", key);
    else
        gw_buf_printf(b, ",\"%s\":%lld", key, (long long)v);
}

static void add_attempts(gw_buf_t *b, const gw_router_result_t *r)
{
    gw_buf_adds(b, ",\"attempts\":[");
    for (size_t i = 0; r != NULL && i < r->n_attempts; i++) {
        const gw_attempt_t *a = &r->attempts[i];
        gw_buf_printf(b, "%s{\"provider\":\"", i ? "," : "");
        gw_buf_add_json_str(b, a->provider, strlen(a->provider));
        gw_buf_adds(b, "\",\"model\":\"");
        gw_buf_add_json_str(b, a->model, strlen(a->model));
        gw_buf_printf(b, "\",\"status\":%d,\"ms\":%.3f,\"reason\":\"%s\"}", a->status, a->ms,
                      a->reason ? a->reason : "pending");
    }
    gw_buf_adds(b, "]");
}

static void add_ts(gw_buf_t *b)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    gw_buf_printf(b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void gw_log_request(struct gw_app *app, const gw_reqlog_t *l)
{
    gw_buf_t b;
    gw_buf_init(&b, 64 * 1024);
    add_ts(&b);
    add_str(&b, "request_id", l->request_id, strlen(l->request_id));
    add_str(&b, "tenant", l->tenant, l->tenant ? strlen(l->tenant) : 0);
    add_str(&b, "route", l->route, strlen(l->route));
    add_str(&b, "model", l->model, l->model_len);
    const gw_router_result_t *r = l->router;
    const char *um = r && r->model ? r->model->model : NULL;
    const char *pv = r && r->provider ? r->provider->name : NULL;
    add_str(&b, "upstream_model", um, um ? strlen(um) : 0);
    add_str(&b, "provider", pv, pv ? strlen(pv) : 0);
    add_attempts(&b, r);
    gw_buf_printf(&b, ",\"status\":%d,\"latency_ms\":%.3f", l->status, l->latency_ms);
    if (l->ttfb_ms > 0)
        gw_buf_printf(&b, ",\"ttfb_ms\":%.3f", l->ttfb_ms);
    else
        gw_buf_adds(&b, ",\"ttfb_ms\":null");
    add_i64(&b, "prompt_tokens", l->prompt_tokens);
    add_i64(&b, "completion_tokens", l->completion_tokens);
    gw_buf_printf(&b, ",\"cost_usd\":%.8f,\"stream\":%s", l->cost_usd, l->stream ? "true" : "false");
    add_str(&b, "client_ip", l->client_ip, strlen(l->client_ip));
    const char *err = l->error && l->error[0] ? l->error : NULL;
    add_str(&b, "error", err, err ? strlen(err) : 0);
    if (gw_buf_adds(&b, "}\n") == GW_OK) {
        pthread_mutex_lock(&app->log_lock);
        size_t off = 0;
        while (off < b.len) {
            ssize_t n = write(app->log_fd, b.ptr + off, b.len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        pthread_mutex_unlock(&app->log_lock);
    }
    gw_buf_free(&b);
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

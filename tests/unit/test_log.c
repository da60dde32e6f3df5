/* test_log.c - the request log line (log.h): exact fields and order of a
 * full line, the line of an answer the connection layer sent itself
 * (route null, no tenant, no tokens), JSON escaping of a client-sent path,
 * and that line's metrics slot (route "none" in llmgw_requests_total). */
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "metrics.h"
#include "test.h"

/* The line after its "ts" member ({"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ", the
 * clock's), or NULL. */
static const char *after_ts(const gw_buf_t *b)
{
    const char *p = b->ptr != NULL ? strstr(b->ptr, ",\"request_id\"") : NULL;
    return p != NULL && strncmp(b->ptr, "{\"ts\":\"", 7) == 0 && p - b->ptr == 32 ? p : NULL;
}

static void test_connection_line(void)
{
    gw_reqlog_t l = {.request_id = "req_1", .route = NULL, .status = 431, .prompt_tokens = -1,
                     .completion_tokens = -1, .client_ip = "10.0.0.7",
                     .error = "request header block exceeds max_header_bytes"};
    gw_buf_t b;
    gw_buf_init(&b, 4096);
    T_OK(gw_log_format_request(&l, &b) == GW_OK, "format");
    T_STREQ(after_ts(&b),
            ",\"request_id\":\"req_1\",\"tenant\":null,\"route\":null,\"model\":null,\"upstream_model\":null,"
            "\"provider\":null,\"attempts\":[],\"status\":431,\"latency_ms\":0.000,\"ttfb_ms\":null,"
            "\"prompt_tokens\":null,\"completion_tokens\":null,\"cost_usd\":0.000000000,\"stream\":false,"
            "\"client_ip\":\"10.0.0.7\",\"error\":\"request header block exceeds max_header_bytes\"}\n",
            "connection-level line: %s", b.ptr);
    gw_buf_free(&b);
}

static void test_full_line(void)
{
    gw_reqlog_t l = {.request_id = "req_2", .tenant = "acme", .route = "/v1/x\"y", .model = "gpt-4o-mini",
                     .model_len = 6, .status = 200, .latency_ms = 12.3456, .ttfb_ms = 1.5, .prompt_tokens = 9,
                     .completion_tokens = 3, .cost_nusd = 15000, .estimated = 1, .stream = 1,
                     .client_ip = "::1", .error = ""};
    gw_buf_t b;
    gw_buf_init(&b, 4096);
    T_OK(gw_log_format_request(&l, &b) == GW_OK, "format");
    T_STREQ(after_ts(&b),
            ",\"request_id\":\"req_2\",\"tenant\":\"acme\",\"route\":\"/v1/x\\\"y\",\"model\":\"gpt-4o\","
            "\"upstream_model\":null,\"provider\":null,\"attempts\":[],\"status\":200,\"latency_ms\":12.346,"
            "\"ttfb_ms\":1.500,\"prompt_tokens\":9,\"completion_tokens\":3,\"cost_usd\":0.000015000,"
            "\"estimated\":true,\"stream\":true,\"client_ip\":\"::1\",\"error\":null}\n",
            "full line: %s", b.ptr);
    gw_buf_t small;
    gw_buf_init(&small, 40);
    T_OK(gw_log_format_request(&l, &small) != GW_OK && small.len == 0, "a line that does not fit: nothing");
    gw_buf_free(&small);
    gw_buf_free(&b);
}

static void test_none_metric(void)
{
    T_STREQ(gw_metrics_route_name(GW_ROUTE_NONE), "none", "route slot name");
    T_STREQ(gw_metrics_route_name(GW_ROUTE_UNKNOWN), "unknown", "404/405 slot unchanged");
    gw_metrics_t *m = gw_calloc(1, sizeof(*m));
    gw_metrics_init(m);
    gw_metrics_add(&m->requests[GW_ROUTE_NONE][gw_metrics_status_slot(431)], 2);
    gw_metrics_add(&m->requests[GW_ROUTE_NONE][gw_metrics_status_slot(408)], 1);
    gw_buf_t b;
    gw_buf_init(&b, 1 << 20);
    T_OK(gw_metrics_render(m, NULL, 10, 1.0, &b) == GW_OK, "render");
    T_OK(strstr(b.ptr, "\nllmgw_requests_total{route=\"none\",status=\"431\",model=\"\"} 2\n") != NULL, "431 x2");
    T_OK(strstr(b.ptr, "\nllmgw_requests_total{route=\"none\",status=\"408\",model=\"\"} 1\n") != NULL, "408 x1");
    T_OK(strstr(b.ptr, "route=\"unknown\"") == NULL, "nothing else");
    gw_buf_free(&b);
    gw_free(m);
}

int main(void)
{
    test_connection_line();
    test_full_line();
    test_none_metric();
    return t_done("test_log");
}

/* test_metrics.c - the Prometheus exposition (metrics.h): every line is a
 * HELP/TYPE comment or a well-formed sample of a declared family,
 * histograms are cumulative with +Inf = _count, exact values for requests,
 * attempts, tokens and USD, and the tenant label bounded to K values
 * with the rest summed into "other": labels go to the top spenders and
 * stay, so no series (other included) ever goes down between scrapes. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "metrics.h"
#include "test.h"
#include "usage.h"

static const char yaml[] = "auth: {enabled: true}\n"
                           "providers:\n  - {name: p, kind: openai, base_url: http://127.0.0.1:9}\n"
                           "models:\n"
                           "  - {alias: a, provider: p, model: a, price: {input_per_mtok: 1, output_per_mtok: 2}}\n"
                           "  - {alias: b, provider: p, model: b, price: {input_per_mtok: 3, output_per_mtok: 15}}\n"
                           "tenants:\n  - {id: t1, budget_usd: 5}\n  - {id: t2}\n  - {id: t3}\n"
                           "ask: {engine: none}\n";

/* Checks one sample line: name{k="v",...} value. Returns the name length or 0. */
static size_t sample_ok(const char *l, size_t n)
{
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_' || l[i] == ':'))
        i++;
    size_t name = i;
    if (name == 0 || isdigit((unsigned char)l[0]))
        return 0;
    if (i < n && l[i] == '{') {
        for (i++; i < n && l[i] != '}';) {
            size_t k = i;
            while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_'))
                i++;
            if (i == k || i + 1 >= n || l[i] != '=' || l[i + 1] != '"')
                return 0;
            for (i += 2; i < n && l[i] != '"'; i++)
                if (l[i] == '\\')
                    i++;
            if (i >= n)
                return 0;
            i++;
            if (i < n && l[i] == ',')
                i++;
        }
        if (i >= n)
            return 0;
        i++;
    }
    if (i >= n || l[i] != ' ')
        return 0;
    char *end = NULL;
    char num[64];
    size_t vl = n - i - 1 < sizeof(num) - 1 ? n - i - 1 : sizeof(num) - 1;
    memcpy(num, l + i + 1, vl);
    num[vl] = '\0';
    strtod(num, &end);
    return end != num && *end == '\0' ? name : 0;
}

static int declared(const char *text, const char *name, size_t len)
{
    char want[160];
    snprintf(want, sizeof(want), "# TYPE %.*s ", (int)len, name);
    if (strstr(text, want) != NULL)
        return 1;
    for (const char *suf = "_bucket\0_sum\0_count\0"; *suf; suf += strlen(suf) + 1) {
        size_t sl = strlen(suf);
        if (len > sl && memcmp(name + len - sl, suf, sl) == 0) {
            snprintf(want, sizeof(want), "# TYPE %.*s histogram", (int)(len - sl), name);
            if (strstr(text, want) != NULL)
                return 1;
        }
    }
    return 0;
}

static void check_format(const char *text)
{
    int bad = 0, samples = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        T_OK(e != NULL, "every line ends in \\n");
        if (e == NULL)
            break;
        size_t n = (size_t)(e - p);
        if (n > 7 && (memcmp(p, "# HELP ", 7) == 0 || memcmp(p, "# TYPE ", 7) == 0)) {
            p = e + 1;
            continue;
        }
        size_t nl = sample_ok(p, n);
        if (nl == 0 || !declared(text, p, nl)) {
            if (bad++ < 5)
                fprintf(stderr, "bad line: %.*s\n", (int)n, p);
        }
        samples++;
        p = e + 1;
    }
    T_OK(bad == 0 && samples > 50, "%d bad lines of %d samples", bad, samples);
}

static void fill(gw_metrics_t *m, gw_usage_table_t *u)
{
    gw_metrics_init(m);
    gw_metrics_add(&u->models[1]->requests[GW_ROUTE_CHAT][gw_metrics_status_slot(200)], 3);
    gw_metrics_add(&m->requests[GW_ROUTE_HEALTH][gw_metrics_status_slot(200)], 2);
    gw_metrics_add(&m->requests[GW_ROUTE_UNKNOWN][gw_metrics_status_slot(418)], 1);
    gw_metrics_add(&m->attempts[gw_metrics_reason_slot("status_5xx")], 4);
    gw_metrics_add(&m->failovers[gw_metrics_reason_slot("connect_error")], 1);
    gw_metrics_add(&m->attempts[gw_metrics_reason_slot("something new")], 1);
    gw_metrics_add(&m->rejections[GW_REJECT_BUDGET], 7);
    gw_hist_observe(&m->latency, 0.5);   /* 0.0005 s: first bucket */
    gw_hist_observe(&m->latency, 30);    /* 0.03 s */
    gw_hist_observe(&m->latency, 1e6);   /* 1000 s: +Inf */
    gw_hist_observe(&m->overhead, 0.07); /* 70 us */
    gw_usage_totals_t tot;
    gw_usage_account_tokens(u, 1, 1, 1000, 100, 0, &tot); /* t1: 3000000 + 1500000 */
    gw_usage_account_tokens(u, 2, 0, 10, 10, 1, &tot);    /* t2: 10000 + 20000 (estimated) */
    gw_usage_account_tokens(u, 3, 0, 100, 0, 0, &tot);    /* t3: 100000 */
    gw_usage_account_tokens(u, 3, 1, 1, 0, 0, &tot);      /* t3: 3000 */
}

/* A tenant keeps its label when another outspends it, so "other" never
 * goes down; shrinking K takes labels back, growing it gives new ones. */
static void test_sticky_labels(void)
{
    char err[256] = "";
    gw_config_t *cfg = gw_config_parse(yaml, strlen(yaml), "m.yaml", err, sizeof err);
    gw_usage_table_t *u = cfg ? gw_usage_table_new(cfg, NULL) : NULL;
    gw_config_unref(cfg);
    gw_metrics_t *m = gw_calloc(1, sizeof(*m));
    T_OK(u != NULL && m != NULL, "table: %s", err);
    if (u == NULL || m == NULL)
        goto out;
    gw_metrics_init(m);
    gw_usage_totals_t tot;
    gw_buf_t b;
    gw_buf_init(&b, 1 << 22);
    gw_usage_account_tokens(u, 1, 1, 1000, 0, 0, &tot); /* t1: 3000 nano-USD on b */
    gw_usage_account_tokens(u, 2, 0, 2000, 0, 0, &tot); /* t2: 2000 nano-USD on a */
    T_OK(gw_metrics_render(m, u, 1, 1, &b) == GW_OK, "render 1");
    T_OK(strstr(b.ptr, "llmgw_tokens_total{tenant=\"t1\",model=\"b\",type=\"prompt\"} 1000\n") &&
             strstr(b.ptr, "llmgw_tokens_total{tenant=\"other\",model=\"a\",type=\"prompt\"} 2000\n"),
         "K=1: the top spender t1 gets the label, t2 is other: %s", b.ptr);
    gw_usage_account_tokens(u, 2, 0, 5000, 0, 0, &tot); /* t2 now spends more than t1 */
    gw_buf_reset(&b);
    T_OK(gw_metrics_render(m, u, 1, 1, &b) == GW_OK, "render 2");
    T_OK(strstr(b.ptr, "llmgw_tokens_total{tenant=\"t1\",model=\"b\",type=\"prompt\"} 1000\n") &&
             strstr(b.ptr, "llmgw_tokens_total{tenant=\"other\",model=\"a\",type=\"prompt\"} 7000\n") &&
             strstr(b.ptr, "tenant=\"t2\"") == NULL,
         "t1 keeps its label, other grows 2000 -> 7000 (it would have dropped to 0)");
    gw_buf_reset(&b);
    T_OK(gw_metrics_render(m, u, 0, 1, &b) == GW_OK && strstr(b.ptr, "tenant=\"t1\"") == NULL &&
             strstr(b.ptr, "llmgw_tokens_total{tenant=\"other\",model=\"b\",type=\"prompt\"} 1000\n"),
         "K shrunk to 0: the label is taken back");
    gw_buf_reset(&b);
    T_OK(gw_metrics_render(m, u, 2, 1, &b) == GW_OK && strstr(b.ptr, "tenant=\"t1\"") != NULL &&
             strstr(b.ptr, "llmgw_tokens_total{tenant=\"t2\",model=\"a\",type=\"prompt\"} 7000\n") &&
             strstr(b.ptr, "tenant=\"other\"") == NULL && strstr(b.ptr, "tenant=\"t3\"") == NULL,
         "K=2: both active tenants get labels, the idle t3 none");
    gw_buf_free(&b);
out:
    gw_free(m);
    gw_usage_table_free(u);
}

int main(void)
{
    char err[256] = "";
    gw_config_t *cfg = gw_config_parse(yaml, strlen(yaml), "m.yaml", err, sizeof err);
    T_OK(cfg != NULL, "config: %s", err);
    if (cfg == NULL)
        return t_done("test_metrics");
    gw_usage_table_t *u = gw_usage_table_new(cfg, NULL);
    gw_config_unref(cfg);
    gw_metrics_t *m = gw_calloc(1, sizeof(*m));
    fill(m, u);
    T_OK(strcmp(gw_metrics_status_name(gw_metrics_status_slot(418)), "4xx") == 0, "418 -> 4xx");
    T_OK(strcmp(gw_metrics_reason_name(gw_metrics_reason_slot(NULL)), "other") == 0, "pending -> other");
    gw_buf_t b;
    gw_buf_init(&b, 1 << 22);
    T_OK(gw_metrics_render(m, u, 2, 12.5, &b) == GW_OK, "render");
    check_format(b.ptr);
    static const char *const want[] = {
        "llmgw_requests_total{route=\"/v1/chat/completions\",status=\"200\",model=\"b\"} 3\n",
        "llmgw_requests_total{route=\"/healthz\",status=\"200\",model=\"\"} 2\n",
        "llmgw_requests_total{route=\"unknown\",status=\"4xx\",model=\"\"} 1\n",
        "llmgw_upstream_attempts_total{reason=\"status_5xx\"} 4\n",
        "llmgw_upstream_attempts_total{reason=\"other\"} 1\n",
        "llmgw_failovers_total{reason=\"connect_error\"} 1\n",
        "llmgw_rejections_total{reason=\"budget\"} 7\n",
        "llmgw_request_duration_seconds_bucket{le=\"0.001\"} 1\n",
        "llmgw_request_duration_seconds_bucket{le=\"0.05\"} 2\n",
        "llmgw_request_duration_seconds_bucket{le=\"120\"} 2\n",
        "llmgw_request_duration_seconds_bucket{le=\"+Inf\"} 3\n",
        "llmgw_request_duration_seconds_count 3\n",
        "llmgw_request_duration_seconds_sum 1000.030500000\n",
        "llmgw_gateway_overhead_seconds_bucket{le=\"0.0001\"} 1\n",
        "llmgw_gateway_overhead_seconds_bucket{le=\"5e-05\"} 0\n",
        /* top 2 by spend: t1 (4.5e-3), t3 (1.03e-4); t2 goes to other */
        "llmgw_cost_usd_total{tenant=\"t1\",model=\"b\"} 0.004500000\n",
        "llmgw_cost_usd_total{tenant=\"t3\",model=\"a\"} 0.000100000\n",
        "llmgw_cost_usd_total{tenant=\"t3\",model=\"b\"} 0.000003000\n",
        "llmgw_cost_usd_total{tenant=\"other\",model=\"a\"} 0.000030000\n",
        "llmgw_tokens_total{tenant=\"t1\",model=\"b\",type=\"prompt\"} 1000\n",
        "llmgw_tokens_total{tenant=\"other\",model=\"a\",type=\"completion\"} 10\n",
        "llmgw_estimated_tokens_total{tenant=\"other\",model=\"a\",type=\"prompt\"} 10\n",
        "llmgw_budget_remaining_usd{tenant=\"t1\"} 5.000000000\n",
        "llmgw_uptime_seconds 12.500\n",
        "# TYPE llmgw_cost_usd_total counter\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        T_OK(strstr(b.ptr, want[i]) != NULL, "missing: %s", want[i]);
    T_OK(strstr(b.ptr, "tenant=\"t2\"") == NULL, "t2 is folded into other");
    T_OK(strstr(b.ptr, "tenant=\"none\"") == NULL, "the idle anonymous row is not a label value");
    gw_buf_reset(&b);
    T_OK(gw_metrics_render(m, u, 0, 1, &b) == GW_OK && strstr(b.ptr, "tenant=\"t1\"") == NULL &&
             strstr(b.ptr, "llmgw_cost_usd_total{tenant=\"other\",model=\"b\"} 0.004503000\n") != NULL,
         "max 0 tenants: everything is other");
    gw_buf_t small;
    gw_buf_init(&small, 512);
    T_OK(gw_metrics_render(m, u, 2, 1, &small) == GW_ETOOBIG, "a bound too small is an error");
    gw_buf_free(&small);
    gw_buf_free(&b);
    gw_free(m);
    gw_usage_table_free(u);
    test_sticky_labels();
    return t_done("test_metrics");
}

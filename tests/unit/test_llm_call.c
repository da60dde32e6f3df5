/* test_llm_call.c - the LLM bridge (llm_call.h) on a private loop thread
 * against a tiny blocking HTTP server in this process: a whole answer
 * (text, usage, cost, attempts), a streamed answer (deltas in order on the
 * caller's thread, joined text), failover to a fallback after a 500, an
 * unknown alias, every model down, and the channel's totals.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "llm_call.h"
#include "test.h"

/* ---- a one-thread HTTP server: each connection gets the answer its
 * request's model names ("whole", "stream", "fail"). ---- */

typedef struct srv {
    int fd;
    int port;
    pthread_t th;
    int requests;
} srv_t;

static const char whole_body[] =
    "{\"id\":\"x\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"whole\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"sql\\\":\\\"SELECT 1\\\"}\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"total_tokens\":120}}";

static const char stream_body[] =
    "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
    "\"assistant\",\"content\":\"\"}}]}\n\n"
    "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"There are \"}}]}\n\n"
    "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"1,284 chairs \\u2713\"}}]}\n\n"
    "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,"
    "\"completion_tokens\":5,\"total_tokens\":12}}\n\n"
    "data: [DONE]\n\n";

static void answer(int c, const char *req)
{
    char head[256];
    const char *body = whole_body, *type = "application/json", *status = "200 OK";
    if (strstr(req, "\"model\":\"stream\"") != NULL) {
        body = stream_body;
        type = "text/event-stream";
    } else if (strstr(req, "\"model\":\"fail\"") != NULL) {
        body = "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
        status = "500 Internal Server Error";
    }
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, type, strlen(body));
    if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0)
        perror("write");
}

static void *srv_main(void *arg)
{
    srv_t *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char req[65536];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof req - 1 && (n = read(c, req + len, sizeof req - 1 - len)) > 0) {
            len += (size_t)n;
            req[len] = '\0';
            char *end = strstr(req, "\r\n\r\n");
            char *cl = strstr(req, "Content-Length: ");
            if (cl == NULL)
                cl = strstr(req, "content-length: ");
            if (end != NULL && cl != NULL && len >= (size_t)(end + 4 - req) + (size_t)strtol(cl + 16, NULL, 10))
                break;
        }
        req[len] = '\0';
        s->requests++;
        answer(c, req);
        close(c);
    }
}

static int srv_start(srv_t *s)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(srv_t *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->th, NULL);
}

/* ---- tests ---- */

typedef struct deltas {
    char text[256];
    size_t len;
    int calls;
    pthread_t thread;
    int other_thread;
} deltas_t;

static void on_delta(void *data, const char *t, size_t n)
{
    deltas_t *d = data;
    d->calls++;
    if (!pthread_equal(pthread_self(), d->thread))
        d->other_thread = 1;
    if (d->len + n < sizeof d->text) {
        memcpy(d->text + d->len, t, n);
        d->len += n;
        d->text[d->len] = '\0';
    }
}

static gw_err_t call(gw_llm_chan_t *c, const char *body, gw_llm_delta_cb cb, void *data, gw_llm_result_t *res)
{
    gw_llm_req_t req = {body, strlen(body), cb, data};
    return gw_llm_call(c, &req, res);
}

static void test_calls(gw_llm_chan_t *c)
{
    gw_llm_result_t r;
    gw_err_t rc = call(c, "{\"model\":\"whole\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", NULL, NULL, &r);
    T_OK(rc == GW_OK && r.ok, "whole answer: rc %d ok %d (%s)", rc, r.ok, r.error);
    T_STREQ(r.text, "{\"sql\":\"SELECT 1\"}", "the message content");
    T_OK(r.usage.prompt_tokens == 100 && r.usage.completion_tokens == 20, "usage %lld/%lld",
         (long long)r.usage.prompt_tokens, (long long)r.usage.completion_tokens);
    T_OK(r.cost_usd > 0.00029999 && r.cost_usd < 0.00030001, "cost 100*1 + 20*10 per Mtok: %.9f", r.cost_usd);
    T_STREQ(r.alias, "whole", "alias");
    T_STREQ(r.provider, "local", "provider");
    T_OK(r.n_attempts == 1 && r.status == 200, "attempts %zu status %d", r.n_attempts, r.status);
    gw_llm_result_free(&r);

    deltas_t d = {.thread = pthread_self()};
    rc = call(c, "{\"model\":\"stream\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
              on_delta, &d, &r);
    T_OK(rc == GW_OK && r.ok, "stream: rc %d ok %d (%s)", rc, r.ok, r.error);
    T_STREQ(r.text, "There are 1,284 chairs \xe2\x9c\x93", "joined stream text");
    T_STREQ(d.text, "There are 1,284 chairs \xe2\x9c\x93", "deltas in order");
    T_OK(d.calls >= 1 && !d.other_thread, "deltas on the caller's thread (%d calls)", d.calls);
    T_OK(r.usage.prompt_tokens == 7 && r.usage.completion_tokens == 5, "stream usage");
    gw_llm_result_free(&r);

    rc = call(c, "{\"model\":\"fail\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", NULL, NULL, &r);
    T_OK(rc == GW_OK && r.ok, "failover to the fallback: rc %d (%s)", rc, r.error);
    T_OK(r.n_attempts == 2 && strcmp(r.alias, "whole") == 0, "2 attempts, answered by whole: %zu %s", r.n_attempts,
         r.alias);
    gw_llm_result_free(&r);

    rc = call(c, "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", NULL, NULL, &r);
    T_OK(rc == GW_EINVAL && !r.ok && r.error[0] != '\0', "unknown alias: rc %d (%s)", rc, r.error);
    gw_llm_result_free(&r);

    rc = call(c, "{\"model\":\"down\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", NULL, NULL, &r);
    T_OK(rc == GW_EUPSTREAM && !r.ok && r.n_attempts == 1, "a closed port: rc %d attempts %zu (%s)", rc,
         r.n_attempts, r.error);
    gw_llm_result_free(&r);
}

int main(void)
{
    srv_t s = {0};
    char yaml[2048], err[512];
    T_OK(srv_start(&s) == 0, "server");
    snprintf(yaml, sizeof yaml,
             "limits: {upstream_timeout_ms: 5000, retry_budget: 2}\n"
             "providers:\n"
             "  - {name: local, kind: openai, base_url: \"http://127.0.0.1:%d\"}\n"
             "  - {name: closed, kind: openai, base_url: \"http://127.0.0.1:1\"}\n"
             "models:\n"
             "  - {alias: whole, provider: local, model: whole, price: {input_per_mtok: 1, output_per_mtok: 10}}\n"
             "  - {alias: stream, provider: local, model: stream, price: {input_per_mtok: 1, output_per_mtok: 10}}\n"
             "  - {alias: fail, provider: local, model: fail, price: {input_per_mtok: 1, output_per_mtok: 10}}\n"
             "  - {alias: down, provider: closed, model: down}\n"
             "fallbacks:\n"
             "  fail: [whole]\n",
             s.port);
    gw_config_t *cfg = gw_config_parse(yaml, strlen(yaml), "t.yaml", err, sizeof err);
    T_OK(cfg != NULL, "config: %s", err);
    gw_llm_thread_t *t = cfg != NULL ? gw_llm_thread_start(cfg, "acme", err, sizeof err) : NULL;
    T_OK(t != NULL, "loop thread: %s", err);
    if (t != NULL) {
        T_STREQ(gw_llm_chan_tenant(gw_llm_thread_chan(t)), "acme", "tenant");
        test_calls(gw_llm_thread_chan(t));
        gw_llm_totals_t tot;
        gw_llm_thread_totals(t, &tot);
        T_OK(tot.calls == 5, "5 calls counted: %zu", tot.calls);
        T_OK(tot.router.n_attempts == 5, "attempts of all calls: %zu", tot.router.n_attempts);
        T_OK(tot.prompt_tokens == 207 && tot.completion_tokens == 45, "token sums %lld/%lld",
             (long long)tot.prompt_tokens, (long long)tot.completion_tokens);
        T_OK(tot.n_each == 4, "per-call results: %zu", tot.n_each);
        gw_llm_thread_stop(t);
    }
    srv_stop(&s);
    if (cfg != NULL)
        gw_config_unref(cfg);
    return t_done("test_llm_call");
}

/* test_upstream.c - the plain-HTTP upstream client (upstream_plain.c)
 * against a scripted in-process server: keep-alive reuse, chunked bodies
 * fed byte by byte, interim 1xx heads, bodies read to EOF, malformed heads,
 * a server that closes idle connections, a reset before the answer (never
 * re-sent), timeouts, a cancel from inside a callback, Retry-After, and
 * a body too big for one write, copied or borrowed (GW_UP_F_BORROW). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "test.h"
#include "upstream.h"

typedef enum { A_SEND, A_SEND_DRIP, A_SEND_CLOSE, A_CLOSE, A_SLEEP_SEND, A_SEND_PAUSE } action_kind_t;

typedef struct action {
    action_kind_t kind;
    const char *bytes;
    int ms; /* A_SLEEP_SEND: delay before; A_SEND_PAUSE: pause after the first half */
} action_t;

typedef struct server {
    int lfd;
    uint16_t port;
    pthread_t th;
    pthread_mutex_t mu;
    const action_t *script;
    size_t n_script, next;
    int accepts, requests;
    size_t body_len;   /* of the last request */
    uint32_t body_sum; /* its FNV-1a hash */
    int stop;
} server_t;

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* FNV-1a over p[0..n), continuing from h (2166136261 to start): order
 * matters, so a tail sent from the wrong offset shows. */
static uint32_t fnv1a(uint32_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

/* Reads one request (head + Content-Length body, of any size; its length
 * and sum go to s); 0 at EOF. */
static int read_request(server_t *s, int fd)
{
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            return 0;
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    char *cl = strcasestr(buf, "content-length:");
    size_t body = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
    size_t have = len - (size_t)(end + 4 - buf);
    uint32_t sum = fnv1a(2166136261u, end + 4, have);
    while (have < body) {
        size_t want = body - have < sizeof(buf) ? body - have : sizeof(buf);
        ssize_t r = recv(fd, buf, want, 0);
        if (r <= 0)
            return 0;
        sum = fnv1a(sum, buf, (size_t)r);
        have += (size_t)r;
    }
    pthread_mutex_lock(&s->mu);
    s->body_len = body;
    s->body_sum = sum;
    pthread_mutex_unlock(&s->mu);
    return 1;
}

/* Runs one scripted action; returns 0 when the connection is to be closed. */
static int run_action(int fd, const action_t *a)
{
    size_t n = strlen(a->bytes);
    switch (a->kind) {
    case A_SEND: send_all(fd, a->bytes, n); return 1;
    case A_SEND_DRIP:
        for (size_t i = 0; i < n; i++) {
            send_all(fd, a->bytes + i, 1);
            usleep(200);
        }
        return 1;
    case A_SEND_CLOSE: send_all(fd, a->bytes, n); return 0;
    case A_CLOSE: return 0;
    case A_SLEEP_SEND: usleep((useconds_t)a->ms * 1000); send_all(fd, a->bytes, n); return 1;
    case A_SEND_PAUSE:
        send_all(fd, a->bytes, n / 2);
        usleep((useconds_t)a->ms * 1000);
        send_all(fd, a->bytes + n / 2, n - n / 2);
        return 1;
    }
    return 0;
}

static void *server_main(void *arg)
{
    server_t *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&s->mu);
        s->accepts++;
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) {
            close(fd);
            return NULL;
        }
        while (read_request(s, fd)) {
            pthread_mutex_lock(&s->mu);
            s->requests++;
            const action_t *a = s->next < s->n_script ? &s->script[s->next++] : NULL;
            pthread_mutex_unlock(&s->mu);
            if (a == NULL || !run_action(fd, a))
                break;
        }
        close(fd);
    }
}

static void server_start(server_t *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    bind(s->lfd, (struct sockaddr *)&a, sizeof(a));
    listen(s->lfd, 16);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, server_main, s);
}

static void server_script(server_t *s, const action_t *script, size_t n)
{
    pthread_mutex_lock(&s->mu);
    s->script = script;
    s->n_script = n;
    s->next = 0;
    pthread_mutex_unlock(&s->mu);
}

static int server_count(server_t *s, int *requests)
{
    pthread_mutex_lock(&s->mu);
    int a = s->accepts;
    if (requests != NULL)
        *requests = s->requests;
    pthread_mutex_unlock(&s->mu);
    return a;
}

/* ---- the client side ------------------------------------------------------------ */

typedef struct outcome {
    int status, done, heads, cancel_in_body;
    gw_up_result_t result;
    char body[4096];
    size_t body_len;
    char retry_after[32];
    gw_upstream_req_t *req;
} outcome_t;

static void on_head(void *data, int status, const char *ra, size_t ralen)
{
    outcome_t *o = data;
    o->status = status;
    o->heads++;
    if (ra != NULL && ralen < sizeof(o->retry_after)) {
        memcpy(o->retry_after, ra, ralen);
        o->retry_after[ralen] = '\0';
    }
}

static void on_body(void *data, const char *p, size_t n)
{
    outcome_t *o = data;
    if (o->body_len + n < sizeof(o->body)) {
        memcpy(o->body + o->body_len, p, n);
        o->body_len += n;
        o->body[o->body_len] = '\0';
    }
    if (o->cancel_in_body) {
        gw_upstream_cancel(o->req);
        o->done = 2; /* cancelled: no on_done may follow */
    }
}

static void on_done(void *data, gw_up_result_t r)
{
    outcome_t *o = data;
    o->result = r;
    o->done = 1;
}

static gw_upstream_ctx_t *ctx;
static gw_cfg_provider_t prov;

static void run_until_done(uv_loop_t *loop, outcome_t *o)
{
    while (!o->done)
        uv_run(loop, UV_RUN_ONCE);
}

static void on_wait(uv_timer_t *t) { *(int *)t->data = 1; }

static void wait_ms(uv_loop_t *loop, int ms)
{
    uv_timer_t t;
    int fired = 0;
    uv_timer_init(loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_wait, (uint64_t)ms, 0);
    while (!fired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static outcome_t *post(uv_loop_t *loop, outcome_t *o, uint32_t first_byte_ms, int cancel_in_body)
{
    memset(o, 0, sizeof(*o));
    o->cancel_in_body = cancel_in_body;
    gw_upstream_timeouts_t t = {.connect_ms = 1000, .first_byte_ms = first_byte_ms, .idle_ms = 1000};
    gw_upstream_cbs_t cbs = {on_head, on_body, on_done};
    o->req = gw_upstream_post(ctx, &prov, "/v1/x", NULL, "X-Test: 1\r\n", 11, "{\"a\":1}", 7, &t, &cbs, o);
    T_OK(o->req != NULL, "post");
    run_until_done(loop, o);
    return o;
}

#define CL_HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

static void test_keepalive_and_chunked(uv_loop_t *loop, server_t *s)
{
    static const action_t script[] = {
        {A_SEND, CL_HELLO, 0},
        {A_SEND_DRIP, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n", 0},
        {A_SEND, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nno", 0},
    };
    server_script(s, script, 3);
    int a0 = server_count(s, NULL);
    outcome_t o;
    post(loop, &o, 1000, 0);
    T_OK(o.done == 1 && o.result == GW_UP_OK && o.status == 200, "CL answer: result %d status %d", o.result, o.status);
    T_STREQ(o.body, "hello", "CL body");
    post(loop, &o, 1000, 0);
    T_OK(o.result == GW_UP_OK && o.status == 200, "chunked answer");
    T_STREQ(o.body, "abcdefg", "chunked body fed byte by byte, extension ignored");
    post(loop, &o, 1000, 0);
    T_OK(o.result == GW_UP_OK && o.status == 429 && o.heads == 1, "interim 100 skipped: %d heads", o.heads);
    T_STREQ(o.retry_after, "7", "Retry-After surfaced");
    T_STREQ(o.body, "no", "429 body");
    T_OK(server_count(s, NULL) - a0 == 1, "three answers on one kept-alive connection (%d)", server_count(s, NULL) - a0);
}

static void test_eof_and_close(uv_loop_t *loop, server_t *s)
{
    static const action_t script[] = {
        {A_SEND_CLOSE, "HTTP/1.1 200 OK\r\n\r\nto the end", 0},
        {A_SEND_CLOSE, CL_HELLO, 0}, /* answers, then the server closes the idle connection */
        {A_SEND, CL_HELLO "EXTRA", 0},
        {A_SEND, CL_HELLO, 0},
    };
    server_script(s, script, 4);
    int a0 = server_count(s, NULL);
    outcome_t o;
    post(loop, &o, 1000, 0);
    T_OK(o.result == GW_UP_OK && o.status == 200, "body to EOF: result %d", o.result);
    T_STREQ(o.body, "to the end", "body read to EOF");
    post(loop, &o, 1000, 0);
    T_OK(o.result == GW_UP_OK, "answer before the server closes");
    wait_ms(loop, 100); /* the close reaches the idle connection */
    post(loop, &o, 1000, 0);
    T_OK(o.result == GW_UP_OK && strcmp(o.body, "hello") == 0, "after an idle close: a fresh connection");
    post(loop, &o, 1000, 0); /* the previous answer had trailing bytes: not reused */
    T_OK(o.result == GW_UP_OK, "after trailing bytes");
    /* the first answer reuses the previous test's idle connection; then
     * EOF, the idle close and the trailing bytes each cost a new one */
    T_OK(server_count(s, NULL) - a0 == 3, "connections: EOF, idle close and trailing bytes never reused (%d)",
         server_count(s, NULL) - a0);
}

static void test_failures(uv_loop_t *loop, server_t *s)
{
    static const action_t script[] = {
        {A_SEND, CL_HELLO, 0},
        {A_CLOSE, "", 0}, /* reset before any byte, on a reused connection */
        {A_SEND, "HTTX/1.1 200 OK\r\n\r\n", 0},
        {A_SLEEP_SEND, CL_HELLO, 300},
        {A_SEND_PAUSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n", 100},
        {A_SEND, CL_HELLO, 0},
    };
    server_script(s, script, 6);
    int req0 = 0, req1 = 0;
    server_count(s, &req0);
    outcome_t o;
    post(loop, &o, 1000, 0);
    T_OK(o.result == GW_UP_OK, "warm connection");
    post(loop, &o, 1000, 0);
    server_count(s, &req1);
    T_OK(o.result == GW_UP_ERESET && o.heads == 0, "reset before the answer: %s", gw_up_result_name(o.result));
    T_OK(req1 - req0 == 2, "the request was not sent twice (%d requests)", req1 - req0);
    post(loop, &o, 1000, 0);
    T_OK(o.result == GW_UP_EPROTOCOL, "malformed status line: %s", gw_up_result_name(o.result));
    post(loop, &o, 100, 0);
    T_OK(o.result == GW_UP_ETIMEOUT_FIRST_BYTE, "first-byte timeout: %s", gw_up_result_name(o.result));
    wait_ms(loop, 300); /* the late answer lands on a closed connection */
    post(loop, &o, 1000, 1);
    T_OK(o.done == 2 && o.status == 200, "cancelled inside on_body, no on_done");
    wait_ms(loop, 200);
    post(loop, &o, 1000, 0);
    T_OK(o.result == GW_UP_OK && strcmp(o.body, "hello") == 0, "a cancelled exchange leaves the pool usable");
}

static void test_refused(uv_loop_t *loop)
{
    gw_cfg_provider_t p = prov;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd); /* a port nobody listens on */
    p.port = ntohs(a.sin_port);
    gw_cfg_provider_t saved = prov;
    prov = p;
    outcome_t o;
    post(loop, &o, 1000, 0);
    prov = saved;
    T_OK(o.result == GW_UP_ECONNECT && o.heads == 0, "refused: %s", gw_up_result_name(o.result));
}

/* A 16 MiB body cannot go in one write: the unsent tail goes by uv_write
 * (copied or borrowed alike), and the server gets every byte. */
static void test_big_body(uv_loop_t *loop, server_t *s)
{
    static const action_t script[] = {{A_SEND, CL_HELLO, 0}, {A_SEND, CL_HELLO, 0}};
    size_t n = 16u << 20;
    char *body = malloc(n);
    T_OK(body != NULL, "malloc");
    if (body == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        body[i] = (char)(i * 31 + i / 4096);
    uint32_t want = fnv1a(2166136261u, body, n);
    server_script(s, script, 2);
    gw_upstream_timeouts_t t = {.connect_ms = 1000, .first_byte_ms = 5000, .idle_ms = 1000};
    gw_upstream_cbs_t cbs = {on_head, on_body, on_done};
    for (int borrow = 0; borrow <= 1; borrow++) {
        outcome_t o;
        memset(&o, 0, sizeof(o));
        o.req = gw_upstream_post_ex(ctx, &prov, "/v1/x", "application/x-protobuf", "", 0, body, n, &t, &cbs, &o,
                                    borrow ? GW_UP_F_BORROW : 0);
        T_OK(o.req != NULL, "post");
        run_until_done(loop, &o);
        pthread_mutex_lock(&s->mu);
        size_t got = s->body_len;
        uint32_t sum = s->body_sum;
        pthread_mutex_unlock(&s->mu);
        T_OK(o.result == GW_UP_OK && o.status == 200 && strcmp(o.body, "hello") == 0, "big body (borrow %d): %s %d",
             borrow, gw_up_result_name(o.result), o.status);
        T_OK(got == n && sum == want, "big body (borrow %d): server got %zu bytes, hash %s", borrow, got,
             sum == want ? "equal" : "differs");
    }
    free(body);
}

int main(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    server_t s;
    server_start(&s);
    ctx = gw_upstream_ctx_new(&loop);
    prov.host = "127.0.0.1";
    prov.port = s.port;
    prov.is_tls = 0;
    test_keepalive_and_chunked(&loop, &s);
    test_eof_and_close(&loop, &s);
    test_failures(&loop, &s);
    test_refused(&loop);
    test_big_body(&loop, &s);
    gw_upstream_ctx_free(ctx);
    uv_run(&loop, UV_RUN_DEFAULT);
    T_OK(uv_loop_close(&loop) == 0, "every handle closed");
    pthread_mutex_lock(&s.mu);
    s.stop = 1;
    pthread_mutex_unlock(&s.mu);
    shutdown(s.lfd, SHUT_RDWR);
    close(s.lfd);
    pthread_join(s.th, NULL);
    return t_done("test_upstream");
}

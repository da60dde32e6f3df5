/* test_redis.c - the Redis client (src/redis.c): URL parsing; against a real
 * server: commands and replies, counters, a command timeout while the server
 * is paused (callback exactly once, with GW_ETIMEOUT, then recovery), the
 * synchronous wrapper, AUTH/SELECT from the URL, a unix socket, and a
 * reconnect after a private server is stopped and started again.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "redis.h"
#include "test_redis_util.h"

#define PRIVATE_PORT 16391

/* ---- URLs ---- */

static void test_urls(void)
{
    gw_redis_url_t u;
    char err[256];
    T_OK(gw_redis_url_parse("redis://127.0.0.1:16379", &u, err, sizeof err) == GW_OK &&
             strcmp(u.host, "127.0.0.1") == 0 && u.port == 16379 && u.db == 0 && u.password[0] == 0,
         "plain host:port");
    T_OK(gw_redis_url_parse("redis://cache.local", &u, err, sizeof err) == GW_OK && u.port == 6379 &&
             strcmp(u.host, "cache.local") == 0, "default port");
    T_OK(gw_redis_url_parse("redis://:s%40cret@h:1/3", &u, err, sizeof err) == GW_OK &&
             strcmp(u.password, "s@cret") == 0 && u.user[0] == 0 && u.db == 3 && u.port == 1,
         "password, percent escape, db");
    T_OK(gw_redis_url_parse("redis://bob:pw@h/", &u, err, sizeof err) == GW_OK && strcmp(u.user, "bob") == 0 &&
             strcmp(u.password, "pw") == 0 && u.db == 0, "user and password, trailing slash");
    T_OK(gw_redis_url_parse("redis://[::1]:7000/2", &u, err, sizeof err) == GW_OK && strcmp(u.host, "::1") == 0 &&
             u.port == 7000 && u.db == 2, "IPv6 literal");
    T_OK(gw_redis_url_parse("unix:///tmp/r.sock", &u, err, sizeof err) == GW_OK &&
             strcmp(u.unix_path, "/tmp/r.sock") == 0 && u.host[0] == 0 && u.db == 0, "unix socket");
    T_OK(gw_redis_url_parse("unix:///tmp/r.sock?db=5", &u, err, sizeof err) == GW_OK && u.db == 5, "unix db");
    gw_err_t rc = gw_redis_url_parse("rediss://:pw@h:6380", &u, err, sizeof err);
    T_OK(rc == GW_EUNSUPPORTED && strstr(err, "TLS") != NULL && strstr(err, "pw") == NULL,
         "rediss refused clearly: %s", err);
    static const char *bad[] = {"", "http://h:1", "redis://", "redis://h:0", "redis://h:65536", "redis://h:12x",
                                "redis://h/x", "redis://h/1/2", "redis://user@h", "redis://[::1", "redis://[::1]x",
                                "redis://:p%4@h", "redis://:p%00@h", "unix://relative.sock", "unix://",
                                "unix:///s?db=x", "redis://h?db=1", "redis://h:1:2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = gw_redis_url_parse(bad[i], &u, err, sizeof err);
        T_OK(rc == GW_EINVAL && strstr(err, "bad Redis URL") != NULL, "refused: '%s' (%d)", bad[i], (int)rc);
    }
    T_OK(gw_redis_url_parse("redis://:hunter2@h:x", &u, err, sizeof err) == GW_EINVAL &&
             strstr(err, "hunter2") == NULL, "the password never appears in the message");
}

/* ---- a command's outcome ---- */

typedef struct got {
    int calls;
    gw_err_t err;
    int type;
    long long integer;
    char str[128];
    size_t len;
} got_t;

static void on_got(gw_redis_t *r, gw_err_t err, const struct redisReply *reply, void *data)
{
    got_t *g = data;
    g->calls++;
    g->err = err;
    g->type = reply != NULL ? reply->type : -1;
    g->integer = reply != NULL ? reply->integer : 0;
    g->len = 0;
    g->str[0] = '\0';
    if (reply != NULL && reply->str != NULL) {
        g->len = reply->len < sizeof g->str ? reply->len : sizeof g->str - 1;
        memcpy(g->str, reply->str, g->len);
        g->str[g->len] = '\0';
    }
}

static gw_err_t send2(gw_redis_t *r, const char *a, const char *b, got_t *g)
{
    const char *argv[2] = {a, b};
    memset(g, 0, sizeof *g);
    return gw_redis_command(r, b != NULL ? 2 : 1, argv, NULL, on_got, g);
}

static int wait_up(uv_loop_t *loop, gw_redis_t *r, unsigned ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
    while (!gw_redis_up(r) && uv_hrtime() < end) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(500);
    }
    return gw_redis_up(r);
}

static void close_loop(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    T_OK(uv_loop_close(loop) == 0, "every handle closed (no leaked timer or poll)");
}

/* ---- live: commands ---- */

static void test_commands(const char *url)
{
    uv_loop_t loop;
    gw_redis_t *r = NULL;
    char err[256];
    got_t g;
    uv_loop_init(&loop);
    gw_redis_opts_t o = {.url = url, .timeout_ms = 1000};
    T_OK(gw_redis_new(&loop, &o, &r, err, sizeof err) == GW_OK, "new: %s", err);
    T_OK(wait_up(&loop, r, 2000), "connected to %s", url);
    T_OK(send2(r, "DEL", "gwtest:k", &g) == GW_OK && rt_run_until(&loop, &g.calls, 1000) && g.err == GW_OK,
         "DEL");
    const char *set[3] = {"SET", "gwtest:k", "a\0b"};
    size_t setl[3] = {3, 8, 3};
    memset(&g, 0, sizeof g);
    T_OK(gw_redis_command(r, 3, set, setl, on_got, &g) == GW_OK, "SET binary value sent");
    T_OK(g.calls == 0, "the callback is never called before gw_redis_command returns");
    rt_run_until(&loop, &g.calls, 1000);
    T_OK(g.calls == 1 && g.type == REDIS_REPLY_STATUS && strcmp(g.str, "OK") == 0, "SET -> +OK (%s)", g.str);
    T_OK(send2(r, "GET", "gwtest:k", &g) == GW_OK && rt_run_until(&loop, &g.calls, 1000), "GET");
    T_OK(g.type == REDIS_REPLY_STRING && g.len == 3 && memcmp(g.str, "a\0b", 3) == 0, "GET is binary-safe");
    T_OK(send2(r, "INCR", "gwtest:n", &g) == GW_OK && rt_run_until(&loop, &g.calls, 1000), "INCR");
    long long n0 = g.integer;
    T_OK(send2(r, "INCR", "gwtest:n", &g) == GW_OK && rt_run_until(&loop, &g.calls, 1000), "INCR 2");
    T_OK(g.type == REDIS_REPLY_INTEGER && g.integer == n0 + 1, "INCR counts: %lld -> %lld", n0, g.integer);
    T_OK(send2(r, "NOSUCHCOMMAND", NULL, &g) == GW_OK && rt_run_until(&loop, &g.calls, 1000), "bad command");
    T_OK(g.err == GW_OK && g.type == REDIS_REPLY_ERROR, "an error reply comes with GW_OK and type ERROR");
    gw_redis_stats_t st;
    gw_redis_stats(r, &st);
    T_OK(st.commands == 6 && st.errors == 1 && st.timeouts == 0 && st.reconnects == 0 && st.up == 1,
         "counters: commands %llu errors %llu timeouts %llu reconnects %llu", (unsigned long long)st.commands,
         (unsigned long long)st.errors, (unsigned long long)st.timeouts, (unsigned long long)st.reconnects);
    T_OK(gw_redis_command(r, 0, NULL, NULL, on_got, &g) == GW_EINVAL, "no argv: GW_EINVAL");
    /* pending at free: the callback still runs exactly once, with GW_EIO */
    T_OK(send2(r, "PING", NULL, &g) == GW_OK, "PING sent");
    gw_redis_free(r);
    T_OK(g.calls == 1 && g.err == GW_EIO, "a command pending at free fails with GW_EIO (calls %d)", g.calls);
    close_loop(&loop);
}

/* ---- live: timeout while the server is paused ---- */

static void test_timeout(const char *url)
{
    uv_loop_t loop;
    gw_redis_t *r = NULL, *admin = NULL;
    char err[256];
    got_t g, pause, later;
    uv_loop_init(&loop);
    gw_redis_opts_t o = {.url = url, .timeout_ms = 100, .backoff_min_ms = 20};
    gw_redis_opts_t ao = {.url = url, .timeout_ms = 2000};
    T_OK(gw_redis_new(&loop, &o, &r, err, sizeof err) == GW_OK && gw_redis_new(&loop, &ao, &admin, err, sizeof err) ==
             GW_OK, "two clients");
    T_OK(wait_up(&loop, r, 2000) && wait_up(&loop, admin, 2000), "both up");
    const char *pa[3] = {"CLIENT", "PAUSE", "700"};
    memset(&pause, 0, sizeof pause);
    T_OK(gw_redis_command(admin, 3, pa, NULL, on_got, &pause) == GW_OK && rt_run_until(&loop, &pause.calls, 1000) &&
             pause.type == REDIS_REPLY_STATUS, "CLIENT PAUSE 700: %s", pause.str);
    uint64_t t0 = uv_hrtime();
    T_OK(send2(r, "GET", "gwtest:k", &g) == GW_OK, "GET while paused");
    T_OK(send2(r, "PING", NULL, &later) == GW_OK, "a second command behind it");
    rt_run_until(&loop, &g.calls, 2000);
    double ms = (double)(uv_hrtime() - t0) / 1e6;
    T_OK(g.calls == 1 && g.err == GW_ETIMEOUT, "timed out with GW_ETIMEOUT (calls %d err %d)", g.calls, (int)g.err);
    T_OK(ms >= 95 && ms < 400, "after ~100 ms (%.1f)", ms);
    T_OK(later.calls == 1 && later.err == GW_EIO, "the command queued behind it fails too (connection reset)");
    rt_run_for(&loop, 900); /* the pause ends, the client reconnects */
    T_OK(g.calls == 1 && later.calls == 1, "callbacks called exactly once (%d, %d)", g.calls, later.calls);
    T_OK(wait_up(&loop, r, 2000), "up again after the pause");
    T_OK(send2(r, "PING", NULL, &g) == GW_OK && rt_run_until(&loop, &g.calls, 1000) && strcmp(g.str, "PONG") == 0,
         "PING after recovery");
    gw_redis_stats_t st;
    gw_redis_stats(r, &st);
    T_OK(st.timeouts == 1 && st.reconnects == 1 && st.errors == 1, "timeouts %llu reconnects %llu errors %llu",
         (unsigned long long)st.timeouts, (unsigned long long)st.reconnects, (unsigned long long)st.errors);
    gw_redis_free(r);
    gw_redis_free(admin);
    close_loop(&loop);
}

/* ---- live: the synchronous wrapper ---- */

static void test_sync(const char *url)
{
    gw_redis_sync_t *s = NULL;
    char err[256];
    got_t g = {0};
    gw_redis_opts_t o = {.url = url, .timeout_ms = 1000};
    T_OK(gw_redis_sync_new(&o, &s, err, sizeof err) == GW_OK && gw_redis_up(gw_redis_sync_client(s)),
         "sync client up: %s", err);
    const char *echo[2] = {"ECHO", "hello"};
    T_OK(gw_redis_sync_command(s, 2, echo, NULL, on_got, &g) == GW_OK && g.calls == 1 && strcmp(g.str, "hello") == 0,
         "ECHO returns inside the call");
    gw_redis_sync_free(s);
    gw_redis_opts_t dead = {.url = "redis://127.0.0.1:1", .timeout_ms = 100, .connect_timeout_ms = 200};
    T_OK(gw_redis_sync_new(&dead, &s, err, sizeof err) == GW_OK && !gw_redis_up(gw_redis_sync_client(s)),
         "a server that does not answer is not an error at creation");
    memset(&g, 0, sizeof g);
    T_OK(gw_redis_sync_command(s, 2, echo, NULL, on_got, &g) == GW_EIO && g.calls == 0,
         "a command while down: GW_EIO at once, no callback");
    gw_redis_sync_free(s);
    T_OK(gw_redis_sync_new(&(gw_redis_opts_t){.url = "rediss://h"}, &s, err, sizeof err) == GW_EUNSUPPORTED &&
             s == NULL, "rediss refused at creation");
}

/* ---- live: a private server stopped and started again ---- */

static void test_reconnect(int port)
{
    uv_loop_t loop;
    gw_redis_t *r = NULL;
    char url[128], err[256];
    got_t g;
    uv_loop_init(&loop);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    gw_redis_opts_t o = {.url = url, .timeout_ms = 500, .backoff_min_ms = 20, .backoff_max_ms = 200};
    T_OK(gw_redis_new(&loop, &o, &r, err, sizeof err) == GW_OK && wait_up(&loop, r, 2000), "up on %d", port);
    T_OK(send2(r, "SET", "gwtest:x", &g) == GW_OK && rt_run_until(&loop, &g.calls, 1000), "a command");
    rt_private_stop(port);
    uint64_t end = uv_hrtime() + 3000000000u;
    while (gw_redis_up(r) && uv_hrtime() < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    T_OK(!gw_redis_up(r), "down after the server stopped");
    gw_err_t rc = send2(r, "PING", NULL, &g);
    if (rc == GW_OK)
        rt_run_until(&loop, &g.calls, 1000);
    T_OK(rc == GW_EIO || (g.calls == 1 && g.err != GW_OK), "a command while down fails (rc %d)", (int)rc);
    rt_run_for(&loop, 300); /* a few failed attempts with backoff */
    T_OK(rt_private_start(port), "restarted");
    T_OK(wait_up(&loop, r, 3000), "reconnected by itself");
    T_OK(send2(r, "PING", NULL, &g) == GW_OK && rt_run_until(&loop, &g.calls, 1000) && strcmp(g.str, "PONG") == 0,
         "PING after the restart");
    gw_redis_stats_t st;
    gw_redis_stats(r, &st);
    T_OK(st.reconnects == 1, "one reconnect counted (%llu)", (unsigned long long)st.reconnects);
    gw_redis_free(r);
    close_loop(&loop);
}

/* AUTH and SELECT from the URL, and the unix socket, on the private server. */
static gw_err_t sync1(const char *url, int argc, const char **argv, got_t *g)
{
    gw_redis_sync_t *s = NULL;
    char err[256];
    gw_redis_opts_t o = {.url = url, .timeout_ms = 1000};
    memset(g, 0, sizeof *g);
    gw_err_t rc = gw_redis_sync_new(&o, &s, err, sizeof err);
    if (rc == GW_OK)
        rc = gw_redis_sync_command(s, argc, argv, NULL, on_got, g);
    gw_redis_sync_free(s);
    return rc;
}

static void test_auth_unix(int port)
{
    char plain[128], authed[128], wrong[128], unix_url[256];
    got_t g;
    snprintf(plain, sizeof plain, "redis://127.0.0.1:%d", port);
    snprintf(authed, sizeof authed, "redis://:pw%%3A1%%40x@127.0.0.1:%d/3", port);
    snprintf(wrong, sizeof wrong, "redis://:nope@127.0.0.1:%d/3", port);
    const char *need[4] = {"CONFIG", "SET", "requirepass", "pw:1@x"}, *none[4] = {"CONFIG", "SET", "requirepass", ""};
    const char *set[3] = {"SET", "gwtest:db3", "yes"}, *get[2] = {"GET", "gwtest:db3"};
    T_OK(sync1(plain, 4, need, &g) == GW_OK && g.type == REDIS_REPLY_STATUS, "requirepass set");
    T_OK(sync1(authed, 3, set, &g) == GW_OK && g.type == REDIS_REPLY_STATUS, "SET after AUTH (decoded password): %s",
         g.str);
    T_OK(sync1(wrong, 2, get, &g) != GW_OK || g.type == REDIS_REPLY_ERROR, "a wrong password does not get through");
    T_OK(sync1(authed, 4, none, &g) == GW_OK && g.type == REDIS_REPLY_STATUS, "requirepass cleared");
    T_OK(sync1(plain, 2, get, &g) == GW_OK && g.type == REDIS_REPLY_NIL, "the key went to db 3, not db 0");
    if (getenv("LLMGW_REDIS_DIR") != NULL)
        return; /* the socket is elsewhere */
    snprintf(unix_url, sizeof unix_url, "unix:///tmp/llmgw-redis-%u/%d/redis.sock?db=3", (unsigned)getuid(), port);
    T_OK(sync1(unix_url, 2, get, &g) == GW_OK && strcmp(g.str, "yes") == 0, "unix socket, db 3: '%s'", g.str);
}

int main(void)
{
    test_urls();
    const char *url = rt_server_url("test_redis");
    if (url != NULL) {
        test_commands(url);
        test_timeout(url);
        test_sync(url);
    }
    if (rt_private_start(PRIVATE_PORT)) {
        test_auth_unix(PRIVATE_PORT);
        test_reconnect(PRIVATE_PORT);
        rt_private_stop(PRIVATE_PORT);
    }
    return t_done("test_redis");
}

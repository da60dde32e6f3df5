/* redis.c - the asynchronous Redis client of redis.h: hiredis 0.14 attached
 * to a libuv loop with its own adapter, plus a timer per command, a
 * connect timeout, reconnection with exponential backoff, AUTH/SELECT from
 * the URL on every (re)connect, counters, and the synchronous wrapper that
 * runs the same client on a private loop. The loop adapter is hiredis's
 * adapters/libuv.h with one fix: 0.14 ignores a poll error (libuv reports
 * POLLERR as status UV_EBADF and stops the handle), so a refused connect or
 * a reset socket went unnoticed until a timeout; here an error is handed to
 * hiredis as the events it waited for, as later hiredis releases do.
 */
#include "redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

struct gw_redis {
    uv_loop_t *loop;
    gw_redis_url_t url;
    char name[48];
    uint32_t timeout_ms, connect_timeout_ms, backoff_min_ms, backoff_max_ms, backoff_ms;
    redisAsyncContext *ac; /* NULL while down */
    uv_timer_t timer;      /* connect timeout while connecting, backoff while down */
    int closing, ever_up, logged_down;
    atomic_int up;
    atomic_uint_least64_t commands, errors, timeouts, reconnects;
};

typedef struct cmd {
    gw_redis_t *r;
    gw_redis_cb cb;
    void *data;
    uv_timer_t timer;
    int done; /* the user callback was called */
} cmd_t;

static void start_connect(gw_redis_t *r);

/* ---- URLs ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Copies s[0..n) percent-decoded into dst (cap bytes with the NUL). */
static gw_err_t decode_into(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return GW_EINVAL;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return GW_EINVAL;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return GW_OK;
}

static int parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
    char tmp[16], *end;
    if (n == 0 || n >= sizeof tmp)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    long v = strtol(tmp, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

/* [user]:password before the '@' of the authority. */
static gw_err_t parse_userinfo(const char *s, size_t n, gw_redis_url_t *u)
{
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
        return GW_EINVAL;
    size_t ul = (size_t)(colon - s);
    gw_err_t rc = decode_into(u->user, sizeof u->user, s, ul);
    return rc == GW_OK ? decode_into(u->password, sizeof u->password, colon + 1, n - ul - 1) : rc;
}

/* host[:port] or [v6]:port */
static gw_err_t parse_hostport(const char *s, size_t n, gw_redis_url_t *u)
{
    const char *hs = s, *ps = NULL;
    size_t hl = n;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return GW_EINVAL;
        hs = s + 1;
        hl = (size_t)(close - hs);
        if (close + 1 < s + n) {
            if (close[1] != ':')
                return GW_EINVAL;
            ps = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon != NULL) {
            hl = (size_t)(colon - s);
            ps = colon + 1;
        }
    }
    if (hl == 0 || hl >= sizeof u->host || memchr(hs, '@', hl) != NULL)
        return GW_EINVAL;
    memcpy(u->host, hs, hl);
    u->host[hl] = '\0';
    if (ps != NULL && !parse_int(ps, (size_t)(s + n - ps), 1, 65535, &u->port))
        return GW_EINVAL;
    return GW_OK;
}

static gw_err_t parse_tcp(const char *rest, gw_redis_url_t *u)
{
    size_t alen = strcspn(rest, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (rest[i] == '@')
            at = rest + i;
    if (at != NULL && parse_userinfo(rest, (size_t)(at - rest), u) != GW_OK)
        return GW_EINVAL;
    const char *hp = at != NULL ? at + 1 : rest;
    if (parse_hostport(hp, (size_t)(rest + alen - hp), u) != GW_OK)
        return GW_EINVAL;
    const char *path = rest + alen;
    if (*path == '\0' || strcmp(path, "/") == 0)
        return GW_OK;
    if (*path != '/' || !parse_int(path + 1, strlen(path + 1), 0, 1000000, &u->db))
        return GW_EINVAL;
    return GW_OK;
}

static gw_err_t parse_unix(const char *rest, gw_redis_url_t *u)
{
    size_t plen = strcspn(rest, "?");
    if (plen == 0 || rest[0] != '/' || plen >= sizeof u->unix_path)
        return GW_EINVAL;
    memcpy(u->unix_path, rest, plen);
    u->unix_path[plen] = '\0';
    if (rest[plen] == '\0')
        return GW_OK;
    const char *q = rest + plen;
    if (strncmp(q, "?db=", 4) != 0 || !parse_int(q + 4, strlen(q + 4), 0, 1000000, &u->db))
        return GW_EINVAL;
    return GW_OK;
}

gw_err_t gw_redis_url_parse(const char *url, gw_redis_url_t *out, char *err, size_t errlen)
{
    gw_err_t rc = GW_EINVAL;
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (url == NULL)
        url = "";
    if (strncmp(url, "rediss://", 9) == 0) {
        snprintf(err, errlen, "rediss:// (TLS) is not supported: hiredis 0.14 has no TLS; use redis:// on a "
                              "trusted network or a local TLS tunnel (stunnel, spiped)");
        return GW_EUNSUPPORTED;
    }
    if (strncmp(url, "redis://", 8) == 0)
        rc = parse_tcp(url + 8, out);
    else if (strncmp(url, "unix://", 7) == 0)
        rc = parse_unix(url + 7, out);
    if (rc != GW_OK) {
        /* never echo the URL: it may hold a password */
        snprintf(err, errlen, "bad Redis URL: expected redis://[[user]:password@]host[:port][/db] or "
                              "unix:///path[?db=N]");
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* ---- the loop adapter (hiredis adapters/libuv.h, fixed) ---- */

typedef struct ev {
    redisAsyncContext *ac; /* NULL once hiredis cleaned up */
    uv_poll_t poll;
    int events;
} ev_t;

static void ev_on_poll(uv_poll_t *h, int status, int events)
{
    ev_t *e = h->data;
    int ev = status != 0 ? e->events : events; /* an error: let hiredis find it */
    if (e->ac != NULL && (ev & UV_READABLE))
        redisAsyncHandleRead(e->ac);
    if (e->ac != NULL && (ev & UV_WRITABLE))
        redisAsyncHandleWrite(e->ac);
}

static void ev_update(ev_t *e, int add, int del)
{
    e->events = (e->events | add) & ~del;
    if (e->events != 0)
        uv_poll_start(&e->poll, e->events, ev_on_poll);
    else
        uv_poll_stop(&e->poll);
}

static void ev_add_read(void *p) { ev_update(p, UV_READABLE, 0); }
static void ev_del_read(void *p) { ev_update(p, 0, UV_READABLE); }
static void ev_add_write(void *p) { ev_update(p, UV_WRITABLE, 0); }
static void ev_del_write(void *p) { ev_update(p, 0, UV_WRITABLE); }

static void ev_closed(uv_handle_t *h)
{
    gw_free(h->data);
}

static void ev_cleanup(void *p)
{
    ev_t *e = p;
    e->ac = NULL;
    uv_close((uv_handle_t *)&e->poll, ev_closed);
}

static int ev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    ev_t *e;
    if (ac->ev.data != NULL || (e = gw_calloc(1, sizeof *e)) == NULL)
        return REDIS_ERR;
    if (uv_poll_init(loop, &e->poll, ac->c.fd) != 0) {
        gw_free(e);
        return REDIS_ERR;
    }
    e->ac = ac;
    e->poll.data = e;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    ac->ev.data = e;
    return REDIS_OK;
}

/* ---- connection state ---- */

static const char *where(const gw_redis_t *r, char *buf, size_t cap)
{
    if (r->url.unix_path[0] != '\0')
        snprintf(buf, cap, "unix:%s", r->url.unix_path);
    else
        snprintf(buf, cap, "%s:%d", r->url.host, r->url.port);
    return buf;
}

/* One log line per change of state (down once, up once). */
static void note_down(gw_redis_t *r, const char *why)
{
    char w[GW_REDIS_HOST_MAX + 16];
    if (!r->logged_down && !r->closing)
        gw_log_msg("%s: Redis at %s is down (%s); retrying with backoff", r->name, where(r, w, sizeof w), why);
    r->logged_down = 1;
}

static void on_timer(uv_timer_t *t);

static void schedule_retry(gw_redis_t *r)
{
    if (r->closing)
        return;
    uv_update_time(r->loop);
    uv_timer_start(&r->timer, on_timer, r->backoff_ms, 0);
    r->backoff_ms = r->backoff_ms * 2 > r->backoff_max_ms ? r->backoff_max_ms : r->backoff_ms * 2;
}

/* Drops the connection we hold (timeouts, failed handshake): pending
 * commands fail with GW_EIO, then a reconnect is scheduled. */
static void reset(gw_redis_t *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    if (ac == NULL)
        return;
    r->ac = NULL;
    atomic_store(&r->up, 0);
    ac->data = NULL; /* our disconnect callback ignores it */
    note_down(r, why);
    redisAsyncFree(ac);
    uv_timer_stop(&r->timer);
    schedule_retry(r);
}

static void on_timer(uv_timer_t *t)
{
    gw_redis_t *r = t->data;
    if (r->ac == NULL)
        start_connect(r);
    else if (!atomic_load(&r->up))
        reset(r, "connect timeout");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    gw_redis_t *r = ac->data;
    char w[GW_REDIS_HOST_MAX + 16];
    if (r == NULL)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees ac after this returns */
        r->ac = NULL;
        uv_timer_stop(&r->timer);
        note_down(r, ac->errstr[0] ? ac->errstr : "connect failed");
        schedule_retry(r);
        return;
    }
    uv_timer_stop(&r->timer);
    atomic_store(&r->up, 1);
    if (r->ever_up)
        atomic_fetch_add(&r->reconnects, 1);
    if (r->logged_down || !r->ever_up)
        gw_log_msg("%s: connected to Redis at %s", r->name, where(r, w, sizeof w));
    r->ever_up = 1;
    r->logged_down = 0;
    r->backoff_ms = r->backoff_min_ms;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    gw_redis_t *r = ac->data;
    if (r == NULL)
        return; /* a context we dropped ourselves */
    r->ac = NULL;
    atomic_store(&r->up, 0);
    note_down(r, ac->errstr[0] ? ac->errstr : "connection closed");
    uv_timer_stop(&r->timer);
    schedule_retry(r);
}

/* AUTH and SELECT: a refusal drops the connection (and is logged). */
static void on_handshake(redisAsyncContext *ac, void *reply, void *privdata)
{
    gw_redis_t *r = ac->data;
    redisReply *rep = reply;
    if (r == NULL || rep == NULL || rep->type != REDIS_REPLY_ERROR)
        return;
    char why[160];
    snprintf(why, sizeof why, "%s refused: %.120s", (const char *)privdata, rep->str);
    r->logged_down = 0; /* a refusal is worth its own line */
    reset(r, why);
}

static void send_handshake(gw_redis_t *r, redisAsyncContext *ac)
{
    if (r->url.password[0] != '\0') {
        if (r->url.user[0] != '\0')
            redisAsyncCommand(ac, on_handshake, "AUTH", "AUTH %s %s", r->url.user, r->url.password);
        else
            redisAsyncCommand(ac, on_handshake, "AUTH", "AUTH %s", r->url.password);
    }
    if (r->url.db > 0)
        redisAsyncCommand(ac, on_handshake, "SELECT", "SELECT %d", r->url.db);
}

static void start_connect(gw_redis_t *r)
{
    redisAsyncContext *ac = r->url.unix_path[0] != '\0' ? redisAsyncConnectUnix(r->url.unix_path)
                                                        : redisAsyncConnect(r->url.host, r->url.port);
    if (ac == NULL || ac->err || ev_attach(ac, r->loop) != REDIS_OK) {
        note_down(r, ac != NULL && ac->errstr[0] ? ac->errstr : "cannot connect");
        if (ac != NULL)
            redisAsyncFree(ac);
        schedule_retry(r);
        return;
    }
    ac->data = r;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    send_handshake(r, ac);
    uv_update_time(r->loop);
    uv_timer_start(&r->timer, on_timer, r->connect_timeout_ms, 0);
}

/* ---- the client ---- */

gw_err_t gw_redis_new(uv_loop_t *loop, const gw_redis_opts_t *o, gw_redis_t **out, char *err, size_t errlen)
{
    gw_redis_t *r = NULL;
    gw_redis_url_t url;
    *out = NULL;
    gw_err_t rc = gw_redis_url_parse(o != NULL ? o->url : NULL, &url, err, errlen);
    if (rc != GW_OK)
        return rc;
    if ((r = gw_calloc(1, sizeof *r)) == NULL) {
        memset(&url, 0, sizeof url);
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    r->loop = loop;
    r->url = url;
    memset(&url, 0, sizeof url);
    snprintf(r->name, sizeof r->name, "%s", o->name != NULL ? o->name : "redis");
    r->timeout_ms = o->timeout_ms ? o->timeout_ms : 100;
    r->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : r->timeout_ms > 1000 ? r->timeout_ms : 1000;
    r->backoff_min_ms = o->backoff_min_ms ? o->backoff_min_ms : 50;
    r->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 5000;
    if (r->backoff_max_ms < r->backoff_min_ms)
        r->backoff_max_ms = r->backoff_min_ms;
    r->backoff_ms = r->backoff_min_ms;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    start_connect(r);
    *out = r;
    return GW_OK;
}

static void free_on_close(uv_handle_t *h)
{
    gw_free(h->data);
}

void gw_redis_free(gw_redis_t *r)
{
    if (r == NULL)
        return;
    r->closing = 1;
    memset(&r->url, 0, sizeof r->url); /* the password */
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    atomic_store(&r->up, 0);
    if (ac != NULL) {
        ac->data = NULL;
        redisAsyncFree(ac); /* pending commands: GW_EIO */
    }
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, free_on_close);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    cmd_t *c = privdata;
    gw_redis_t *r = c->r;
    redisReply *rep = reply;
    if (!c->done) {
        c->done = 1;
        uv_timer_stop(&c->timer);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
            atomic_fetch_add(&r->errors, 1);
        c->cb(r, rep != NULL ? GW_OK : GW_EIO, rep, c->data);
    }
    uv_close((uv_handle_t *)&c->timer, free_on_close);
}

static void on_cmd_timeout(uv_timer_t *t)
{
    cmd_t *c = t->data;
    gw_redis_t *r = c->r;
    if (c->done)
        return;
    c->done = 1;
    atomic_fetch_add(&r->timeouts, 1);
    /* replies come in order: a stalled server stalls everything behind this
     * command, so drop the connection (on_reply then closes this timer) */
    reset(r, "command timeout");
    c->cb(r, GW_ETIMEOUT, NULL, c->data);
}

gw_err_t gw_redis_command(gw_redis_t *r, int argc, const char **argv, const size_t *argvlen, gw_redis_cb cb,
                          void *data)
{
    if (r == NULL || argc < 1 || argv == NULL || cb == NULL)
        return GW_EINVAL;
    if (r->closing || r->ac == NULL)
        return GW_EIO;
    cmd_t *c = gw_calloc(1, sizeof *c);
    if (c == NULL)
        return GW_ENOMEM;
    c->r = r;
    c->cb = cb;
    c->data = data;
    uv_timer_init(r->loop, &c->timer);
    c->timer.data = c;
    if (redisAsyncCommandArgv(r->ac, on_reply, c, argc, argv, argvlen) != REDIS_OK) {
        uv_close((uv_handle_t *)&c->timer, free_on_close);
        return GW_EIO;
    }
    atomic_fetch_add(&r->commands, 1);
    uv_update_time(r->loop); /* the loop may have slept (sync wrapper) or be busy */
    uv_timer_start(&c->timer, on_cmd_timeout, r->timeout_ms, 0);
    return GW_OK;
}

int gw_redis_up(const gw_redis_t *r)
{
    return r != NULL && atomic_load(&((gw_redis_t *)r)->up);
}

void gw_redis_stats(const gw_redis_t *r, gw_redis_stats_t *out)
{
    gw_redis_t *m = (gw_redis_t *)r; /* atomics: loads only */
    memset(out, 0, sizeof *out);
    if (r == NULL)
        return;
    out->commands = atomic_load(&m->commands);
    out->errors = atomic_load(&m->errors);
    out->timeouts = atomic_load(&m->timeouts);
    out->reconnects = atomic_load(&m->reconnects);
    out->up = atomic_load(&m->up);
}

uv_loop_t *gw_redis_loop(const gw_redis_t *r)
{
    return r->loop;
}

/* ---- the synchronous wrapper ---- */

struct gw_redis_sync {
    uv_loop_t loop;
    gw_redis_t *r;
};

typedef struct sync_call {
    gw_redis_cb cb;
    void *data;
    gw_err_t err;
    int done;
} sync_call_t;

/* Runs the loop until the client is up or has given up this attempt. */
static void sync_wait_connect(gw_redis_sync_t *s)
{
    while (s->r->ac != NULL && !atomic_load(&s->r->up))
        uv_run(&s->loop, UV_RUN_ONCE);
}

gw_err_t gw_redis_sync_new(const gw_redis_opts_t *o, gw_redis_sync_t **out, char *err, size_t errlen)
{
    gw_redis_sync_t *s = gw_calloc(1, sizeof *s);
    *out = NULL;
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    if (uv_loop_init(&s->loop) != 0) {
        gw_free(s);
        snprintf(err, errlen, "uv_loop_init failed");
        return GW_EIO;
    }
    gw_err_t rc = gw_redis_new(&s->loop, o, &s->r, err, errlen);
    if (rc != GW_OK) {
        uv_loop_close(&s->loop);
        gw_free(s);
        return rc;
    }
    sync_wait_connect(s);
    *out = s;
    return GW_OK;
}

void gw_redis_sync_free(gw_redis_sync_t *s)
{
    if (s == NULL)
        return;
    gw_redis_free(s->r);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    gw_free(s);
}

static void sync_done(gw_redis_t *r, gw_err_t err, const struct redisReply *reply, void *data)
{
    sync_call_t *c = data;
    c->err = err;
    c->done = 1;
    c->cb(r, err, reply, c->data);
}

gw_err_t gw_redis_sync_command(gw_redis_sync_t *s, int argc, const char **argv, const size_t *argvlen,
                               gw_redis_cb cb, void *data)
{
    sync_call_t c = {cb, data, GW_OK, 0};
    if (s == NULL || cb == NULL)
        return GW_EINVAL;
    if (s->r->ac == NULL) {
        uv_run(&s->loop, UV_RUN_NOWAIT); /* a due reconnect starts here */
        sync_wait_connect(s);
    }
    gw_err_t rc = gw_redis_command(s->r, argc, argv, argvlen, sync_done, &c);
    if (rc != GW_OK)
        return rc;
    while (!c.done)
        uv_run(&s->loop, UV_RUN_ONCE);
    return c.err;
}

gw_redis_t *gw_redis_sync_client(gw_redis_sync_t *s)
{
    return s->r;
}

/* redis.h - an asynchronous Redis client on a libuv loop (hiredis 0.14 and
 * its libuv adapter), with what hiredis lacks: a timeout on connect and on
 * every command, reconnection with backoff after a drop, an up/down state
 * and counters for /metrics. A small synchronous wrapper (private loop)
 * serves threads that have no loop of their own.
 *
 * One gw_redis_t belongs to one loop and is used only on that loop's
 * thread (the counters may be read from any thread). Functions borrow
 * their arguments. A command's callback is called exactly once: with the
 * reply, or with an error (timeout, connection lost, client freed).
 */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"

struct redisReply; /* hiredis/read.h; valid only during a callback */

/* ---- URLs ---- */

#define GW_REDIS_HOST_MAX 256
#define GW_REDIS_SECRET_MAX 256
#define GW_REDIS_PATH_MAX 108

/* redis://[[user]:password@]host[:port][/db], host may be [v6addr];
 * unix://path[?db=N] (path absolute). rediss:// is refused: hiredis 0.14
 * has no TLS. Percent escapes are decoded in user and password. */
typedef struct gw_redis_url {
    char host[GW_REDIS_HOST_MAX];    /* "" for unix */
    int port;                        /* 6379 by default */
    char unix_path[GW_REDIS_PATH_MAX]; /* "" for tcp */
    char user[GW_REDIS_SECRET_MAX];  /* "" when none (AUTH password alone) */
    char password[GW_REDIS_SECRET_MAX]; /* "" when none */
    int db;                          /* SELECTed after connect when > 0 */
} gw_redis_url_t;

/* Parses url into *out. GW_OK; GW_EUNSUPPORTED for rediss:// (with a
 * sentence in err saying why); GW_EINVAL for anything malformed. err
 * never contains the password. */
gw_err_t gw_redis_url_parse(const char *url, gw_redis_url_t *out, char *err, size_t errlen);

/* ---- the asynchronous client ---- */

typedef struct gw_redis gw_redis_t;

/* err is GW_OK with a reply (which may be a Redis error reply: check
 * reply->type == REDIS_REPLY_ERROR), GW_ETIMEOUT when the command's timeout
 * passed first, GW_EIO when the connection was lost or the client freed
 * (reply NULL in both cases). */
typedef void (*gw_redis_cb)(gw_redis_t *r, gw_err_t err, const struct redisReply *reply, void *data);

typedef struct gw_redis_opts {
    const char *url;             /* required */
    uint32_t timeout_ms;         /* per command; 0: 100 (limits.redis_timeout_ms) */
    uint32_t connect_timeout_ms; /* 0: max(timeout_ms, 1000) */
    uint32_t backoff_min_ms;     /* first reconnect delay; 0: 50 */
    uint32_t backoff_max_ms;     /* doubled up to this; 0: 5000 */
    const char *name;            /* for log lines ("schema cache"); NULL: "redis" */
} gw_redis_opts_t;

typedef struct gw_redis_stats {
    uint64_t commands;   /* commands sent */
    uint64_t errors;     /* commands failed: error reply, connection lost */
    uint64_t timeouts;   /* commands whose timeout passed */
    uint64_t reconnects; /* connections established after the first */
    int up;
} gw_redis_stats_t;

/* Creates a client on loop and starts connecting (returns at once, except
 * that hiredis resolves a host name synchronously: use an IP address or a
 * unix socket on a busy loop). The URL is parsed here: GW_EINVAL /
 * GW_EUNSUPPORTED with a reason in err.
 * A server that does not answer is not an error: the client keeps trying
 * with backoff. *out is freed with gw_redis_free. */
gw_err_t gw_redis_new(uv_loop_t *loop, const gw_redis_opts_t *o, gw_redis_t **out, char *err, size_t errlen);
/* Fails every pending command (GW_EIO), closes the connection and the
 * timers. The loop must run afterwards until the handles are closed (they
 * free the rest). NULL is fine. Not from inside one of its callbacks. */
void gw_redis_free(gw_redis_t *r);

/* Sends one command (binary-safe argv). GW_OK: cb will be called exactly
 * once, never before this returns. GW_EIO: no connection right now (down,
 * waiting to reconnect) and GW_EINVAL for bad arguments; cb is then never
 * called. Commands issued while connecting are queued by hiredis. */
gw_err_t gw_redis_command(gw_redis_t *r, int argc, const char **argv, const size_t *argvlen, gw_redis_cb cb,
                          void *data);

/* 1 when the connection is established, 0 otherwise. */
int gw_redis_up(const gw_redis_t *r);
/* Copies the counters (any thread). */
void gw_redis_stats(const gw_redis_t *r, gw_redis_stats_t *out);
/* The loop the client runs on. */
uv_loop_t *gw_redis_loop(const gw_redis_t *r);

/* ---- the synchronous wrapper ---- */

typedef struct gw_redis_sync gw_redis_sync_t;

/* A client on its own private loop, for a thread without a loop. Connects
 * and waits up to the connect timeout; a server that does not answer is
 * not an error (commands then fail fast with GW_EIO until a reconnect
 * succeeds). One thread at a time. */
gw_err_t gw_redis_sync_new(const gw_redis_opts_t *o, gw_redis_sync_t **out, char *err, size_t errlen);
/* Closes the client and its loop. NULL is fine. */
void gw_redis_sync_free(gw_redis_sync_t *s);
/* Runs one command to completion: cb (required) is called exactly once
 * inside this call, as for gw_redis_command, and the same err is
 * returned. GW_EIO without calling cb when there is no connection. */
gw_err_t gw_redis_sync_command(gw_redis_sync_t *s, int argc, const char **argv, const size_t *argvlen,
                               gw_redis_cb cb, void *data);
/* The underlying client (for gw_redis_up / gw_redis_stats). */
gw_redis_t *gw_redis_sync_client(gw_redis_sync_t *s);

#endif

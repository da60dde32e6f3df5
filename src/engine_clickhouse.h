/* engine_clickhouse.h - the ClickHouse 18.16 engine of engine.h: read-only
 * queries over the HTTP interface (platform-clickhouse.md), on one node or
 * on the Distributed tables of a cluster.
 *
 * Every query is a POST of `SQL FORMAT JSONCompact` with wait_end_of_query=1,
 * a fresh query_id, readonly=1 and limits (max_execution_time,
 * max_rows_to_read, max_result_rows + result_overflow_mode=break,
 * max_memory_usage, distributed_product_mode=local): sent in the URL when the
 * user's profile allows it, or enforced by the profile when the user is
 * readonly=1 (ClickHouse then refuses any URL setting). See
 * engine_clickhouse.c for the type mapping.
 */
#ifndef GW_ENGINE_CLICKHOUSE_H
#define GW_ENGINE_CLICKHOUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef struct gw_clickhouse_opts {
    const char *url;      /* "http://127.0.0.1:8123" (userinfo allowed, no query string) */
    const char *database; /* NULL: "retail" */
    const char *user;     /* NULL: the URL's userinfo, else the server's default user */
    const char *password; /* with user; NULL: "" */
    const char *cluster;  /* NULL: one node; else a remote_servers name the server must know */
    uint32_t timeout_ms;  /* default per query when gw_query_opts_t.timeout_ms is 0; 0: 10000 */
    uint32_t connect_timeout_ms; /* 0: 2000 */
    uint64_t max_rows_to_read;   /* per query, when settable; 0: 100000000 */
    uint64_t max_memory_usage;   /* per query, when settable; 0: 2000000000 */
    size_t max_response_bytes;   /* largest response body kept; 0: 64 MiB */
    unsigned pool_size;          /* HTTP connections (queries at once); 0: 4 */
    bool stream;                 /* true: no wait_end_of_query (an error after the
                                    200 is still detected); false: the default */
    gw_engine_check_cb check;    /* the SQL guard; NULL: only the built-in check
                                    that the statement starts with SELECT or WITH */
    void *check_data;
} gw_clickhouse_opts_t;

/* Opens the engine: checks that the server answers, reads the user's
 * readonly level and limits from system.settings, that the database exists
 * and, with a cluster, that the server knows it. Refuses a user whose profile
 * is readonly=2 (it re-enables url()/file()/remote()). Returns GW_OK and
 * *out (closed with gw_engine_close); GW_EIO when the server can't be reached;
 * GW_ENOTFOUND when the database or the cluster is missing; GW_EDENIED for bad
 * credentials or a readonly=2 user; GW_EINVAL for bad options. err gets one
 * line. Borrows o (strings are copied). Thread-safe once open. */
gw_err_t gw_engine_clickhouse_open(const gw_clickhouse_opts_t *o, gw_engine_t **out, char *err, size_t errlen);

#endif

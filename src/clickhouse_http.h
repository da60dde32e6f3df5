/* clickhouse_http.h - the ClickHouse HTTP interface as the engine and the
 * loader use it (platform-clickhouse.md 3): query URLs, one blocking POST on
 * a libcurl easy handle (body in memory or streamed chunked), and the error
 * text ClickHouse sends (`Code: N, e.displayText() = DB::Exception: ...`),
 * whether it comes with a 4xx/5xx status or after a 200, glued to the output.
 */
#ifndef GW_CLICKHOUSE_HTTP_H
#define GW_CLICKHOUSE_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Server error codes this project reacts to (ClickHouse ErrorCodes.cpp). */
#define GW_CH_E_UNKNOWN_TABLE 60
#define GW_CH_E_UNKNOWN_DATABASE 81
#define GW_CH_E_TOO_MANY_ROWS 158
#define GW_CH_E_TIMEOUT_EXCEEDED 159
#define GW_CH_E_READONLY 164
#define GW_CH_E_WRONG_PASSWORD 193
#define GW_CH_E_REQUIRED_PASSWORD 194
#define GW_CH_E_UNKNOWN_USER 192
#define GW_CH_E_IP_NOT_ALLOWED 195
#define GW_CH_E_MEMORY_LIMIT 241
#define GW_CH_E_ACCESS_DENIED 291
#define GW_CH_E_QUERY_CANCELLED 394
#define GW_CH_E_TOO_MANY_RESULT_ROWS 396

/* Starts a query URL: base ("http://host:port", optional path and userinfo,
 * no query string) with one trailing '/', into url (reset first). GW_EINVAL
 * for a base that is not http(s):// or has a '?' or '#'. */
gw_err_t gw_ch_url_init(gw_buf_t *url, const char *base);
/* Writes url without its "user:password@" into dst[0..cap) (truncated,
 * NUL-terminated) and returns dst: what messages may show. */
const char *gw_ch_url_shown(const char *url, char *dst, size_t cap);
/* Appends "?key=value" or "&key=value", value percent-encoded. */
gw_err_t gw_ch_url_param(gw_buf_t *url, const char *key, const char *value);

/* Produces the next bytes of a streamed request body into dst[0..cap):
 * returns the count, 0 at the end, or GW_CH_READ_ABORT to fail the request. */
typedef size_t (*gw_ch_read_cb)(char *dst, size_t cap, void *data);
#define GW_CH_READ_ABORT ((size_t)-1)

typedef struct gw_ch_request {
    const char *url;      /* from gw_ch_url_init/param */
    const char *user;     /* NULL: none sent (URL userinfo or the server's default user) */
    const char *password; /* with user; NULL: "" */
    const char *body;     /* an in-memory body of body_len bytes, or */
    size_t body_len;
    gw_ch_read_cb read_cb; /* a streamed (chunked) body when not NULL */
    void *read_data;
    long timeout_ms;         /* whole request; 0: none */
    long connect_timeout_ms; /* 0: 2000 */
} gw_ch_request_t;

/* Sends one POST on the easy handle `curl` (a CURL *, reset first; the
 * connection is kept for the next request) and collects the response body
 * into resp (reset first; its max bounds the body). Returns GW_OK when a
 * response arrived, whatever its status (*status); GW_ETIMEOUT when
 * timeout_ms passed; GW_EIO when the server can't be reached; GW_ETOOBIG when
 * the body exceeds resp's max; GW_EUPSTREAM for a broken response; GW_EINVAL
 * when read_cb aborted. err gets a one-line reason on failure. */
gw_err_t gw_ch_post(void *curl, const gw_ch_request_t *rq, gw_buf_t *resp, long *status, char *err, size_t errlen);

/* Looks for ClickHouse's error text in body[0..len): at the start, or (after
 * a 200) the last "Code: N, e.displayText() = " at or after `from`. On a hit
 * returns 1, sets *code and copies the message (the text after
 * "DB::Exception: ", without the trailing ", e.what() = ...") into msg.
 * Returns 0 when there is none. */
int gw_ch_error_find(const char *body, size_t len, size_t from, int *code, char *msg, size_t msglen);

/* The gw_err_t for a server error code: GW_ETIMEOUT (159, 394), GW_EDENIED
 * (164, 158, 396, 241, 291, 192, 193, 195), else GW_EUPSTREAM. */
gw_err_t gw_ch_error_kind(int code);

#endif

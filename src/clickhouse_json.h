/* clickhouse_json.h - a strict parser for ClickHouse's `FORMAT JSONCompact`
 * response body (platform-clickhouse.md 3, exact 18.16 shape).
 *
 * The body is one JSON object {"meta":[{"name","type"}...],"data":[[...]...],
 * "rows":N, ...}. The parser hands the columns to meta_cb once and each row of
 * "data" to row_cb, then checks that "rows" equals the rows seen and that
 * nothing but whitespace follows the closing brace: an error that ClickHouse
 * appended after a 200 (`...]Code: 153, e.displayText() = ...`) makes the
 * parse fail at the byte where it starts. Values are handed over as typed
 * tokens (string unescaped, number literal text, null, bool, or the raw text
 * of an array/object); turning them into cells is the engine's job.
 */
#ifndef GW_CLICKHOUSE_JSON_H
#define GW_CLICKHOUSE_JSON_H

#include <stddef.h>

#include "err.h"

typedef enum gw_chjson_kind {
    GW_CHJSON_NULL = 0,
    GW_CHJSON_FALSE,
    GW_CHJSON_TRUE,
    GW_CHJSON_NUMBER, /* text: the literal as sent ("-5", "0.30000000000000004") */
    GW_CHJSON_STRING, /* text: the unescaped bytes (may hold NUL) */
    GW_CHJSON_RAW     /* text: an array or object, verbatim JSON */
} gw_chjson_kind_t;

typedef struct gw_chjson_val {
    gw_chjson_kind_t kind;
    const char *ptr; /* not NUL-terminated; NULL for null/true/false */
    size_t len;
} gw_chjson_val_t;

typedef struct gw_chjson_col {
    const char *name; /* NUL-terminated, unescaped */
    const char *type; /* ClickHouse type name: "UInt64", "Nullable(String)" */
} gw_chjson_col_t;

/* meta_cb is called once, before any row (also for an empty result); row_cb
 * once per row with exactly as many values as columns. The pointers are valid
 * only during the call. A non-GW_OK return stops the parse and is returned. */
typedef gw_err_t (*gw_chjson_meta_cb)(void *data, const gw_chjson_col_t *cols, size_t n);
typedef gw_err_t (*gw_chjson_row_cb)(void *data, const gw_chjson_val_t *vals, size_t n);

typedef struct gw_chjson_result {
    size_t rows;     /* rows handed to row_cb */
    size_t error_at; /* on GW_EINVAL: byte offset where the body stopped making sense */
    char message[128]; /* on GW_EINVAL: what was wrong */
} gw_chjson_result_t;

/* Parses body[0..len). Returns GW_OK; GW_EINVAL when the body is not a
 * complete JSONCompact document (res->error_at, res->message say where and
 * why; rows already handed over stay handed over); GW_ENOMEM; GW_ETOOBIG
 * when nesting exceeds 64 levels or a row exceeds 64 MiB of text; or the
 * callbacks' own error. Borrows everything; res is always filled. */
gw_err_t gw_chjson_parse(const char *body, size_t len, gw_chjson_meta_cb meta_cb, gw_chjson_row_cb row_cb,
                         void *data, gw_chjson_result_t *res);

#endif

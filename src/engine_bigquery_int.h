/* engine_bigquery_int.h - internals shared by the BigQuery engine's files:
 * engine_bigquery_http.c (one REST call with timeouts, a size bound,
 * retries and Google error bodies mapped to gw_err_t) and
 * engine_bigquery_cells.c (schema types and row values to gw_cell_t),
 * engine_bigquery_sql.c (the built-in one-SELECT check).
 * Not a public interface: only engine_bigquery*.c and their tests use it.
 */
#ifndef GW_ENGINE_BIGQUERY_INT_H
#define GW_ENGINE_BIGQUERY_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "engine.h"

/* ---- cells ---- */

typedef enum gw__bq_kind {
    GW__BQ_INT,       /* INT64 / INTEGER: a decimal string */
    GW__BQ_NUMERIC,   /* NUMERIC / BIGNUMERIC: an exact decimal string */
    GW__BQ_FLOAT,     /* FLOAT64 / FLOAT: a decimal string, "NaN", "Infinity" */
    GW__BQ_BOOL,      /* BOOL / BOOLEAN: "true" / "false" */
    GW__BQ_TEXT,      /* STRING, BYTES (base64), DATE, TIME, GEOGRAPHY, JSON, ...: as is */
    GW__BQ_DATETIME,  /* "YYYY-MM-DDTHH:MM:SS[.f]" -> the T becomes a space */
    GW__BQ_TIMESTAMP  /* epoch seconds as a float string ("1.7093088E9") */
} gw__bq_kind_t;

typedef struct gw__bq_col {
    gw__bq_kind_t kind;
    int scale;     /* NUMERIC(p,s): s; -1 when the schema gives none */
    char type[48]; /* GoogleSQL name: "INT64", "NUMERIC(10,2)", "STRING" */
} gw__bq_col_t;

/* Bytes of scratch gw__bq_cell may use per cell. */
#define GW__BQ_SCRATCH 64

/* Writes the GoogleSQL name of a REST type name (INTEGER -> INT64, FLOAT ->
 * FLOAT64, BOOLEAN -> BOOL, RECORD -> STRUCT; others unchanged) to out. */
void gw__bq_type_name(const char *rest_type, char *out, size_t cap);

/* Fills col from one TableFieldSchema {name, type, mode, scale?}. Returns
 * GW_OK; GW_EUNSUPPORTED (message in msg) for a REPEATED or RECORD column;
 * GW_EUPSTREAM for a field without name or type. */
gw_err_t gw__bq_col_init(gw__bq_col_t *col, const json_t *field, char *msg, size_t msglen);

/* Converts one row value (the "v" of a cell: a JSON string or null) into
 * *out. Text cells point into v's string or into scratch (GW__BQ_SCRATCH
 * bytes), so both must outlive *out. Returns GW_OK, or GW_EUPSTREAM with a
 * message for a value that does not parse as its column type. */
gw_err_t gw__bq_cell(const gw__bq_col_t *col, const json_t *v, char *scratch, gw_cell_t *out, char *msg,
                     size_t msglen);

/* Parses BigQuery's epoch-seconds text s[0..len) ("1.7093088E9", "-1.5E0",
 * "1709308800.123456") exactly, rounded to the microsecond, and writes
 * "YYYY-MM-DD HH:MM:SS" plus ".ffffff" when the microseconds are not 0 to
 * out. Returns the length written, or 0 when s is not a timestamp in years
 * 1..9999 (or cap is under 27). */
size_t gw__bq_format_timestamp(const char *s, size_t len, char *out, size_t cap);

/* ---- the built-in SQL check ---- */

/* The engine's own second wall (the SQL guard is the first): sql holds
 * valid UTF-8 without NUL bytes and exactly one statement that starts with
 * SELECT or WITH (after comments and opening parentheses); quotes, backtick
 * identifiers and comments are skipped as GoogleSQL's lexer does. Trailing
 * semicolons and what follows them (blanks, comments) are cut off sql.
 * Returns GW_OK, or GW_EDENIED with a sentence in msg. */
gw_err_t gw__bq_check_sql(gw_buf_t *sql, char *msg, size_t msglen);

/* ---- HTTP ---- */

typedef struct gw__bq_http {
    CURL *h;                  /* borrowed easy handle; reset before each attempt */
    struct curl_slist *hdrs;  /* Authorization, Content-Type, Accept, Expect */
    const char *token_env;    /* named in 401 messages */
    uint32_t call_timeout_ms; /* bound on one attempt */
    gw_buf_t body;            /* the last response body, bounded */
    bool too_big;
} gw__bq_http_t;

/* Why a call failed. */
typedef struct gw__bq_fail {
    long status;        /* HTTP status, 0 for transport errors and deadlines */
    char reason[48];    /* errors[0].reason of a Google error body: "invalidQuery" */
    char message[GW_ENGINE_MSG_MAX];
} gw__bq_fail_t;

typedef struct gw__bq_call {
    bool post;          /* POST (body may be NULL: empty) or GET */
    const char *url;
    const char *body;
    size_t body_len;
    double deadline;    /* gw__bq_now_ms() clock; the attempt's timeout never passes it */
    int retries;        /* extra attempts on 5xx, 429, rateLimitExceeded, broken connections */
} gw__bq_call_t;

/* Milliseconds on the monotonic clock. */
double gw__bq_now_ms(void);
/* Sleeps ms milliseconds. */
void gw__bq_sleep_ms(double ms);

/* Sets up hx over the easy handle h with the bearer token (copied into the
 * header list) and bounds. Returns GW_OK or GW_ENOMEM. */
gw_err_t gw__bq_http_init(gw__bq_http_t *hx, CURL *h, const char *token, const char *token_env,
                          uint32_t call_timeout_ms, size_t max_response);
/* Frees what gw__bq_http_init made (not the handle). */
void gw__bq_http_free(gw__bq_http_t *hx);

/* Performs c and parses a 2xx answer into a JSON object (*out, released
 * with json_decref). On failure *out is NULL and f says why: GW_ETIMEOUT
 * (the deadline or the call timeout passed), GW_EDENIED (bytesBilledLimitExceeded),
 * GW_ENOTFOUND (404), GW_ETOOBIG (response over the bound), GW_EUPSTREAM
 * (any other HTTP error, a transport error, a body that is not a JSON object). */
gw_err_t gw__bq_request(gw__bq_http_t *hx, const gw__bq_call_t *c, json_t **out, gw__bq_fail_t *f);

/* Appends s percent-encoded (everything but A-Z a-z 0-9 - . _ ~). */
gw_err_t gw__bq_add_escaped(gw_buf_t *b, const char *s);

#endif

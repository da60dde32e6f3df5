/* sql_guard_int.h - internals shared by the sql_guard*.c files (not public).
 *
 * sql_guard.c owns the public API and the dialect-independent checks;
 * sql_guard_duckdb.c the DuckDB backend (statement count, type, AST and
 * plan walks, LIMIT rewrite); sql_guard_walk.c the JSON walkers and the
 * DuckDB function deny-list; sql_guard_clickhouse.c the ClickHouse
 * tokenizer, rules and LIMIT rewrite; sql_guard_bigquery.c the same for
 * GoogleSQL.
 */
#ifndef GW_SQL_GUARD_INT_H
#define GW_SQL_GUARD_INT_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "sql_guard.h"

/* The catalog and schema names the guard's DuckDB uses for the four tables. */
#define GW__GUARD_CATALOG "retail"
#define GW__GUARD_SCHEMA "main"
/* Deepest JSON / parenthesis nesting the walkers accept. */
#define GW__GUARD_MAX_DEPTH 1000

/* Fills v with a refusal (printf-style message) and returns GW_EDENIED. */
gw_err_t gw__guard_refuse(gw_guard_verdict_t *v, gw_guard_reason_t r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fills v with an internal failure and returns err. */
gw_err_t gw__guard_fail(gw_guard_verdict_t *v, gw_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ASCII case-insensitive equality of a NUL-terminated a with b[0..n). */
int gw__guard_ieq(const char *a, const char *b, size_t n);

/* --- DuckDB backend (sql_guard_duckdb.c) --- */
typedef struct gw__gduck gw__gduck_t;
/* Opens the private catalog DB; NULL on failure with a message in err. */
gw__gduck_t *gw__gduck_new(char *err, size_t errlen);
void gw__gduck_free(gw__gduck_t *d);
/* Checks sql (NUL-terminated, len bytes, already free of NUL bytes and
 * valid UTF-8) and writes the SQL to run to out. Same contract as
 * gw_guard_check; the caller serializes calls. */
gw_err_t gw__gduck_check(gw__gduck_t *d, const char *sql, size_t len, int64_t row_cap,
                         gw_buf_t *out, gw_guard_verdict_t *v);

/* --- JSON walkers (sql_guard_walk.c) --- */
/* Walks a json_serialize_sql "statements" node tree: tables against the
 * catalog with CTE scoping, table functions, SHOW, parameters, deny-listed
 * and qualified functions. GW_OK or GW_EDENIED with v filled. */
gw_err_t gw__gwalk_ast(json_t *statements, gw_guard_verdict_t *v);
/* Walks a json_serialize_plan "plans" tree: operators against an allow-list,
 * every LOGICAL_GET a seq_scan of a catalog table in retail.main, bound
 * function names against the deny-list. GW_OK or GW_EDENIED. */
gw_err_t gw__gwalk_plan(json_t *plans, gw_guard_verdict_t *v);
/* 1 when a DuckDB function name (any case) is deny-listed. */
int gw__gwalk_fn_denied(const char *name);

/* --- BigQuery backend (sql_guard_bigquery.c) --- */
/* Checks sql[0..len) (free of NUL bytes, valid UTF-8) against the BigQuery
 * rules, tables limited to dataset (and project, when not NULL); same
 * contract as gw_guard_check. Stateless, so thread-safe without a lock. */
gw_err_t gw__gbq_check(const char *project, const char *dataset, const char *sql, size_t len, int64_t row_cap,
                       gw_buf_t *out, gw_guard_verdict_t *v);

/* --- ClickHouse backend (sql_guard_clickhouse.c) --- */
/* Checks sql[0..len) (free of NUL bytes, valid UTF-8); same contract as
 * gw_guard_check. Stateless, so thread-safe without a lock. */
gw_err_t gw__gch_check(const char *sql, size_t len, int64_t row_cap, gw_buf_t *out,
                       gw_guard_verdict_t *v);

#endif

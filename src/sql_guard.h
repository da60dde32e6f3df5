/* sql_guard.h - the SQL guard every query passes before an engine runs it.
 *
 * Planner SQL, POST /v1/sql and `llmgw sql` all go through gw_guard_check.
 * It accepts exactly one read-only SELECT over the four catalog tables
 * (catalog_schema.h) and returns the SQL to run, with a row cap applied.
 * DuckDB dialect: decided by DuckDB's own parser, binder and planner on a
 * private empty in-memory catalog (sql_guard_duckdb.c). ClickHouse 18.16
 * dialect: a tokenizer faithful to ClickHouse's lexer plus structural rules
 * (sql_guard_clickhouse.c). BigQuery (GoogleSQL): the same approach with
 * GoogleSQL's lexical rules (sql_guard_bigquery.c): no scripting, DML, DDL,
 * INFORMATION_SCHEMA, parameters, table functions or qualified calls, and
 * tables only from the configured dataset. Anything the guard cannot prove
 * safe is refused.
 * Engine-level read-only settings stay as a second wall.
 *
 * Table names accepted. DuckDB: skus, main.skus, retail.skus and
 * retail.main.skus (any case; the guard's catalog is named "retail", so an
 * engine that wants the qualified forms to run must attach its catalog as
 * "retail"; planners should emit unqualified names). CTE names shadow with
 * DuckDB's scoping (a CTE is visible to later CTEs and the body only).
 * ClickHouse: skus or retail.skus, exact case (ClickHouse names are case
 * sensitive), never system.*, never a table function.
 * BigQuery: skus, DATASET.skus or PROJECT.DATASET.skus for the configured
 * dataset and project, exact case, each part or the whole path in
 * backticks; a CTE name in scope; UNNEST(...); never INFORMATION_SCHEMA.
 * DuckDB limits (its optimizer is exponential in nested scalar subqueries
 * and fast-growing in joins): subqueries nested at most 10 deep, at most 64
 * SELECT blocks, at most 16 joins; a check then costs at most ~0.25 s.
 */
#ifndef GW_SQL_GUARD_H
#define GW_SQL_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Longest SQL text the guard looks at (bytes). */
#define GW_GUARD_MAX_SQL 65536

typedef enum gw_sql_dialect {
    GW_SQL_DUCKDB = 0,
    GW_SQL_CLICKHOUSE = 1,
    GW_SQL_BIGQUERY = 2
} gw_sql_dialect_t;

/* Why a query was refused; GW_GUARD_OK when it was accepted. */
typedef enum gw_guard_reason {
    GW_GUARD_OK = 0,
    GW_GUARD_EMPTY,          /* no statement at all */
    GW_GUARD_TOO_LONG,       /* longer than GW_GUARD_MAX_SQL, or nested too deep */
    GW_GUARD_BAD_TEXT,       /* NUL byte, invalid UTF-8, character the dialect cannot lex */
    GW_GUARD_SYNTAX,         /* does not parse */
    GW_GUARD_MULTI,          /* more than one statement */
    GW_GUARD_NOT_SELECT,     /* DDL, DML, PRAGMA, SET, ATTACH, COPY, EXPLAIN, CALL, ... */
    GW_GUARD_TABLE,          /* a table that is not one of the four catalog tables */
    GW_GUARD_SCHEMA,         /* qualified by a schema / catalog / database other than main or retail */
    GW_GUARD_TABLE_FUNCTION, /* FROM f(...): read_csv, url, numbers, query_table, ... */
    GW_GUARD_FUNCTION,       /* a deny-listed function anywhere: current_setting, file, ... */
    GW_GUARD_CLAUSE,         /* a refused clause: SETTINGS, FORMAT, INTO OUTFILE, parameters, ... */
    GW_GUARD_BIND,           /* DuckDB binder/catalog error: unknown column, type mismatch */
    GW_GUARD_UNSAFE,         /* a construct or plan operator the guard cannot prove safe */
    GW_GUARD_INTERNAL        /* the guard itself failed (out of memory, engine error) */
} gw_guard_reason_t;

#define GW_GUARD_MSG_MAX 256

typedef struct gw_guard_verdict {
    gw_guard_reason_t reason;          /* GW_GUARD_OK when accepted */
    char message[GW_GUARD_MSG_MAX];    /* human sentence, "" when accepted */
    int limit_added;                   /* 1 when out_sql differs from the input by a row cap */
    double ms;                         /* time spent in gw_guard_check */
} gw_guard_verdict_t;

typedef struct gw_guard gw_guard_t;

/* Creates a guard for one dialect. For GW_SQL_DUCKDB it opens a private
 * in-memory DuckDB whose catalog is named "retail", holding the four catalog
 * tables (empty), with autoinstall/autoload off, external access off and the
 * configuration locked; it is used only to parse, bind and plan, never to run
 * user SQL. Returns NULL on failure with a message in err (if err != NULL).
 * The caller frees the guard with gw_guard_free.
 * Thread safety: a guard may be shared by any number of threads; checks on
 * one guard are serialized by a mutex (one DuckDB connection per guard, about
 * 1 ms per check). Create several guards for more parallelism. */
gw_guard_t *gw_guard_new(gw_sql_dialect_t dialect, char *err, size_t errlen);

/* Creates a BigQuery guard for one dataset (NULL: "retail") and project
 * (NULL: the project.dataset.table form is refused). Names: letters, digits,
 * _ (a project may also hold - . :). gw_guard_new(GW_SQL_BIGQUERY) is
 * gw_guard_new_bigquery(NULL, NULL). NULL on bad names or OOM, with a
 * message in err (if not NULL). Free with gw_guard_free. Borrows its
 * arguments (copies them). */
gw_guard_t *gw_guard_new_bigquery(const char *project, const char *dataset, char *err, size_t errlen);

/* The dialect for an ask.engine name: "clickhouse", "bigquery", else
 * (duckdb, NULL) GW_SQL_DUCKDB. */
gw_sql_dialect_t gw_guard_dialect_for_engine(const char *engine);

struct gw_config;
/* The guard for the engine cfg names (ask.engine; cfg NULL: DuckDB), bound
 * for BigQuery to ask.bigquery.project / ask.bigquery.dataset. Same return
 * and ownership as gw_guard_new. Borrows cfg. */
gw_guard_t *gw_guard_new_for_config(const struct gw_config *cfg, char *err, size_t errlen);

/* Frees a guard (NULL is fine). No check may be running on it. */
void gw_guard_free(gw_guard_t *g);

/* Returns the dialect the guard was created for. */
gw_sql_dialect_t gw_guard_dialect(const gw_guard_t *g);

/* Checks sql[0..len) (need not be NUL-terminated).
 * Accepted: returns GW_OK, v->reason == GW_GUARD_OK, and out_sql (reset
 * first, then appended to) holds the SQL to run: the input without trailing
 * semicolons and comments, and, when row_cap > 0, with a LIMIT of at most
 * row_cap rows on the outermost query (an existing smaller LIMIT is kept, a
 * larger one lowered, ORDER BY semantics kept). row_cap <= 0 adds no limit.
 * For DuckDB the final text is checked again in full before it is returned.
 * Refused: returns GW_EDENIED, v->reason and v->message say why, out_sql is
 * empty. Other errors: GW_EINVAL (NULL arguments), GW_ENOMEM, GW_ETOOBIG
 * (out_sql's max too small), GW_EIO (the guard's engine failed), with
 * v->reason == GW_GUARD_INTERNAL. v is always filled. Borrows everything. */
gw_err_t gw_guard_check(gw_guard_t *g, const char *sql, size_t len, int64_t row_cap,
                        gw_buf_t *out_sql, gw_guard_verdict_t *v);

/* Returns a static snake_case name for a reason ("not_select", "table", ...). */
const char *gw_guard_reason_name(gw_guard_reason_t r);

/* The engine check hook (engine.h gw_engine_check_cb) that runs this
 * guard: data is a gw_guard_t; a refusal's sentence goes to why. */
gw_err_t gw_guard_engine_hook(void *data, const char *sql, size_t len, int64_t row_cap, gw_buf_t *out_sql, char *why,
                              size_t whylen);

#endif

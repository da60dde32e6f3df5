/* engine.h - the query engine interface of the ask pipeline (DuckDB,
 * ClickHouse, BigQuery behind one small vtable).
 *
 * An engine opens once, describes its schema (for the planners and the
 * schema cache) and runs read-only queries with a row cap and a timeout,
 * streaming typed cells to a sink or collecting them into a gw_result_t,
 * which serialises to the {columns, rows, row_count, truncated} JSON of
 * system.md 2. Engines are thread-safe: any number of threads may query
 * one engine at once. Functions borrow their arguments.
 */
#ifndef GW_ENGINE_H
#define GW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct gw_config;

/* ---- cells and results ---- */

typedef enum gw_cell_kind {
    GW_CELL_NULL = 0,
    GW_CELL_BOOL,    /* v.b */
    GW_CELL_INT,     /* v.i: integers that fit int64 (HUGEINT sums too) */
    GW_CELL_DOUBLE,  /* v.d; NaN and infinities serialise as null */
    GW_CELL_DECIMAL, /* v.dec: unscaled / 10^scale, printed with exactly `scale` decimals */
    GW_CELL_NUMBER,  /* v.text: an exact JSON number literal too big for int64 */
    GW_CELL_TEXT     /* v.text: VARCHAR, DATE "YYYY-MM-DD", TIMESTAMP "YYYY-MM-DD HH:MM:SS" ... */
} gw_cell_kind_t;

typedef struct gw_cell {
    gw_cell_kind_t kind;
    union {
        bool b;
        int64_t i;
        double d;
        struct {
            int64_t unscaled;
            uint8_t scale;
        } dec;
        struct {
            const char *ptr; /* not NUL-terminated */
            size_t len;
        } text;
    } v;
} gw_cell_t;

typedef struct gw_column {
    char *name;
    char *type; /* the engine's type name: "BIGINT", "DECIMAL(10,2)", "VARCHAR" */
} gw_column_t;

typedef struct gw_result_arena gw_result_arena_t;

/* A collected result. Cells are row-major: cells[row * n_columns + col];
 * their text points into the result's own arena. */
typedef struct gw_result {
    gw_column_t *columns;
    size_t n_columns;
    gw_cell_t *cells;
    size_t row_count;
    bool truncated; /* more rows existed than the cap allowed */
    gw_result_arena_t *arena;
} gw_result_t;

void gw_result_free(gw_result_t *r);
/* Appends {"columns":[{"name","type"}...],"rows":[[...]...],"row_count":N,
 * "truncated":B} to out. */
gw_err_t gw_result_to_json(const gw_result_t *r, gw_buf_t *out);
/* Appends one cell as a JSON value (null, true, 12, 12.50, "text"). */
gw_err_t gw_cell_to_json(const gw_cell_t *c, gw_buf_t *out);

/* ---- streaming ---- */

/* A row sink. columns_cb is called once, before any row; row_cb once per
 * row. The cells and columns are valid only during the call. A non-GW_OK
 * return stops the query, and gw_engine_query returns that error. */
typedef gw_err_t (*gw_columns_cb)(void *data, const gw_column_t *cols, size_t n);
typedef gw_err_t (*gw_row_cb)(void *data, const gw_cell_t *cells, size_t n);
typedef struct gw_row_sink {
    gw_columns_cb columns_cb;
    gw_row_cb row_cb;
    void *data;
} gw_row_sink_t;

typedef struct gw_query_opts {
    size_t max_rows;     /* row cap; 0 means no cap */
    uint32_t timeout_ms; /* 0 means none */
} gw_query_opts_t;

#define GW_ENGINE_MSG_MAX 512

/* What happened to one query. */
typedef struct gw_query_info {
    size_t rows;     /* rows delivered */
    bool truncated;  /* the cap stopped the query */
    double ms;       /* wall time */
    int engine_code; /* the engine's error category (DuckDB: duckdb_error_type), 0 if none */
    char message[GW_ENGINE_MSG_MAX]; /* why, when the call fails; "" otherwise */
} gw_query_info_t;

/* The SQL guard hook: checks sql[0..len) and writes the SQL to run into
 * out_sql (which it resets; it may add a LIMIT of row_cap). Returns GW_OK, or
 * GW_EDENIED with a sentence in why. */
typedef gw_err_t (*gw_engine_check_cb)(void *data, const char *sql, size_t len, int64_t row_cap,
                                       gw_buf_t *out_sql, char *why, size_t whylen);

/* ---- schema ---- */

typedef struct gw_schema_column {
    char *name;
    char *type;
    /* Distinct values of a string column that has at most max_values of
     * them, sorted; NULL (and n_values 0) for other columns. */
    char **values;
    size_t n_values;
    bool high_cardinality; /* a string column with more than max_values */
} gw_schema_column_t;

typedef struct gw_schema_table {
    char *name;
    uint64_t row_count;
    gw_schema_column_t *columns;
    size_t n_columns;
} gw_schema_table_t;

typedef struct gw_schema {
    char *engine; /* "duckdb" */
    gw_schema_table_t *tables;
    size_t n_tables;
} gw_schema_t;

void gw_schema_free(gw_schema_t *s);
/* Appends {"engine":..,"tables":[{"name","row_count","columns":[{"name",
 * "type","values"?:[..],"high_cardinality"?:true}]}]} to out. */
gw_err_t gw_schema_to_json(const gw_schema_t *s, gw_buf_t *out);

/* ---- the engine ---- */

typedef struct gw_engine gw_engine_t;

typedef struct gw_engine_ops {
    const char *name;
    gw_err_t (*describe)(gw_engine_t *e, size_t max_values, gw_schema_t **out, char *err, size_t errlen);
    gw_err_t (*query)(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                      const gw_row_sink_t *sink, gw_query_info_t *info);
    void (*close)(gw_engine_t *e);
} gw_engine_ops_t;

/* Every engine struct starts with this. */
struct gw_engine {
    const gw_engine_ops_t *ops;
};

/* Opens the engine the configuration names (ask.engine; "duckdb" reads
 * ask.duckdb_path), with an optional check hook (the SQL guard) that every
 * gw_engine_query passes first. GW_EUNSUPPORTED for an engine this build
 * lacks; GW_ENOTFOUND when the catalog file is missing. */
gw_err_t gw_engine_open(const struct gw_config *cfg, gw_engine_check_cb check, void *check_data, gw_engine_t **out,
                        char *err, size_t errlen);

typedef struct gw_duckdb_opts {
    const char *path;               /* the catalog file, opened read-only */
    unsigned threads;               /* 0: the number of cores */
    const char *memory_limit;       /* NULL: "2GB" */
    const char *temp_directory;     /* NULL: "<path>.tmp" (created only when spilling) */
    const char *max_temp_size;      /* NULL: "4GB" */
    gw_engine_check_cb check;       /* NULL: only the built-in one-SELECT check */
    void *check_data;
} gw_duckdb_opts_t;

/* Opens a DuckDB catalog file read-only, with no external access, no
 * extension loading and a locked configuration. One instance per file per
 * process: don't open the same file twice. */
gw_err_t gw_engine_duckdb_open(const gw_duckdb_opts_t *o, gw_engine_t **out, char *err, size_t errlen);

/* The schema: every table of the main schema with its columns, row count
 * and, for string columns, their distinct values up to max_values (0: 1000).
 * *out is freed with gw_schema_free. */
gw_err_t gw_engine_describe(gw_engine_t *e, size_t max_values, gw_schema_t **out, char *err, size_t errlen);
/* Runs one read-only SELECT and streams its rows to sink. Returns GW_OK;
 * GW_EDENIED when the statement is not exactly one SELECT or the check hook
 * refuses it; GW_ETIMEOUT when the timeout interrupted it; GW_EUPSTREAM for
 * an engine error (bad SQL, missing column); GW_EUNSUPPORTED for a result
 * column type that has no JSON form; the sink's own error. info (required)
 * says why in message. */
gw_err_t gw_engine_query(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                         const gw_row_sink_t *sink, gw_query_info_t *info);
/* The same, collected: *out (freed with gw_result_free) is set on GW_OK. */
gw_err_t gw_engine_query_result(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                                gw_result_t **out, gw_query_info_t *info);
/* Closes the engine; no query may be running. NULL is fine. */
void gw_engine_close(gw_engine_t *e);

#endif

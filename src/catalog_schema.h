/* catalog_schema.h - the four catalog tables of system.md 3 in one place.
 *
 * gw_catalog_ddl_duckdb is the DuckDB DDL (CREATE TABLE for categories,
 * skus, warehouses, inventory, in that order); gw_catalog_tables is the
 * column allow-list the SQL guard, the planners and the engines share, with
 * each column's type per engine. Everything here is constant data.
 */
#ifndef GW_CATALOG_SCHEMA_H
#define GW_CATALOG_SCHEMA_H

#include <stddef.h>

/* The database / schema / dataset name the catalog lives in on every engine. */
#define GW_CATALOG_DATASET "retail"

typedef struct gw_catalog_column {
    const char *name;            /* "price_usd" */
    const char *duckdb_type;     /* "DECIMAL(10,2)" */
    const char *clickhouse_type; /* "Float64" (ClickHouse 18.16, platform-clickhouse.md DDL) */
    const char *bigquery_type;   /* "NUMERIC" */
    int is_pk;                   /* 1 for the primary key column (documentary, not enforced) */
    int nullable;                /* 1 when NULL is a meaningful value (categories.parent_id) */
} gw_catalog_column_t;

typedef struct gw_catalog_table {
    const char *name; /* "skus" */
    const gw_catalog_column_t *columns;
    size_t n_columns;
} gw_catalog_table_t;

/* Four CREATE TABLE statements separated by ";\n", no constraints (bulk
 * appends stay fast; keys are unique by construction of the generator).
 * Run it with duckdb_query (it accepts several statements). */
extern const char gw_catalog_ddl_duckdb[];

/* The four tables, in DDL order; gw_catalog_n_tables == 4. */
extern const gw_catalog_table_t gw_catalog_tables[];
extern const size_t gw_catalog_n_tables;

/* Returns the table named name[0..len) (ASCII case-insensitive), or NULL. */
const gw_catalog_table_t *gw_catalog_find_table(const char *name, size_t len);
/* Returns the column of t named name[0..len) (ASCII case-insensitive), or NULL. */
const gw_catalog_column_t *gw_catalog_find_column(const gw_catalog_table_t *t, const char *name,
                                                  size_t len);

#endif

/* catalog_schema.c - constant description of the retail catalog (system.md 3):
 * DuckDB DDL and the per-table column allow-list with engine types.
 */
#include "catalog_schema.h"

#include <string.h>
#include <strings.h>

const char gw_catalog_ddl_duckdb[] =
    "CREATE TABLE categories (\n"
    "  category_id INTEGER,\n"
    "  parent_id INTEGER,\n"
    "  name VARCHAR,\n"
    "  path VARCHAR,\n"
    "  depth INTEGER\n"
    ");\n"
    "CREATE TABLE skus (\n"
    "  sku_id BIGINT,\n"
    "  title VARCHAR,\n"
    "  brand VARCHAR,\n"
    "  category_id INTEGER,\n"
    "  price_usd DECIMAL(10,2),\n"
    "  color VARCHAR,\n"
    "  material VARCHAR,\n"
    "  launched_on DATE,\n"
    "  is_active BOOLEAN\n"
    ");\n"
    "CREATE TABLE warehouses (\n"
    "  warehouse_id INTEGER,\n"
    "  code VARCHAR,\n"
    "  name VARCHAR,\n"
    "  city VARCHAR,\n"
    "  state CHAR(2),\n"
    "  region VARCHAR\n"
    ");\n"
    "CREATE TABLE inventory (\n"
    "  sku_id BIGINT,\n"
    "  warehouse_id INTEGER,\n"
    "  on_hand INTEGER,\n"
    "  reserved INTEGER,\n"
    "  reorder_point INTEGER,\n"
    "  updated_at TIMESTAMP\n"
    ");\n";

static const gw_catalog_column_t categories_cols[] = {
    {"category_id", "INTEGER", "UInt32", "INT64", 1, 0},
    {"parent_id", "INTEGER", "Nullable(UInt32)", "INT64", 0, 1},
    {"name", "VARCHAR", "String", "STRING", 0, 0},
    {"path", "VARCHAR", "String", "STRING", 0, 0},
    {"depth", "INTEGER", "UInt8", "INT64", 0, 0},
};

static const gw_catalog_column_t skus_cols[] = {
    {"sku_id", "BIGINT", "UInt64", "INT64", 1, 0},
    {"title", "VARCHAR", "String", "STRING", 0, 0},
    {"brand", "VARCHAR", "String", "STRING", 0, 0},
    {"category_id", "INTEGER", "UInt32", "INT64", 0, 0},
    {"price_usd", "DECIMAL(10,2)", "Float64", "NUMERIC", 0, 0},
    {"color", "VARCHAR", "String", "STRING", 0, 0},
    {"material", "VARCHAR", "String", "STRING", 0, 0},
    {"launched_on", "DATE", "Date", "DATE", 0, 0},
    {"is_active", "BOOLEAN", "UInt8", "BOOL", 0, 0},
};

static const gw_catalog_column_t warehouses_cols[] = {
    {"warehouse_id", "INTEGER", "UInt32", "INT64", 1, 0},
    {"code", "VARCHAR", "String", "STRING", 0, 0},
    {"name", "VARCHAR", "String", "STRING", 0, 0},
    {"city", "VARCHAR", "String", "STRING", 0, 0},
    {"state", "CHAR(2)", "String", "STRING", 0, 0},
    {"region", "VARCHAR", "String", "STRING", 0, 0},
};

static const gw_catalog_column_t inventory_cols[] = {
    {"sku_id", "BIGINT", "UInt64", "INT64", 0, 0},
    {"warehouse_id", "INTEGER", "UInt32", "INT64", 0, 0},
    {"on_hand", "INTEGER", "Int32", "INT64", 0, 0},
    {"reserved", "INTEGER", "Int32", "INT64", 0, 0},
    {"reorder_point", "INTEGER", "Int32", "INT64", 0, 0},
    {"updated_at", "TIMESTAMP", "DateTime", "TIMESTAMP", 0, 0},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

const gw_catalog_table_t gw_catalog_tables[] = {
    {"categories", categories_cols, N_OF(categories_cols)},
    {"skus", skus_cols, N_OF(skus_cols)},
    {"warehouses", warehouses_cols, N_OF(warehouses_cols)},
    {"inventory", inventory_cols, N_OF(inventory_cols)},
};

const size_t gw_catalog_n_tables = N_OF(gw_catalog_tables);

static int name_eq(const char *a, const char *b, size_t len)
{
    return strlen(a) == len && strncasecmp(a, b, len) == 0;
}

const gw_catalog_table_t *gw_catalog_find_table(const char *name, size_t len)
{
    for (size_t i = 0; i < gw_catalog_n_tables; i++)
        if (name_eq(gw_catalog_tables[i].name, name, len))
            return &gw_catalog_tables[i];
    return NULL;
}

const gw_catalog_column_t *gw_catalog_find_column(const gw_catalog_table_t *t, const char *name,
                                                  size_t len)
{
    for (size_t i = 0; t != NULL && i < t->n_columns; i++)
        if (name_eq(t->columns[i].name, name, len))
            return &t->columns[i];
    return NULL;
}

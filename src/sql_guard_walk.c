/* sql_guard_walk.c - the two JSON walks of the DuckDB guard and its
 * function deny-list.
 *
 * gw__gwalk_ast walks json_serialize_sql output (the parse tree) with the
 * ordered CTE scoping of platform-duckdb.md 5; gw__gwalk_plan walks
 * json_serialize_plan output (the bound, unoptimized plan), which is the
 * authoritative list of what the query reads. Both walk the JSON
 * generically (every member of every object), so new node kinds in later
 * DuckDB versions are still visited.
 */
#include <string.h>
#include <strings.h>

#include "catalog_schema.h"
#include "sql_guard_int.h"

/* Functions a query may never call, in any position (DuckDB 1.4 names from
 * duckdb_functions(), plus names other builds or the CLI have). */
static const char *const denied_fns[] = {
    "query", "query_table", "getenv", "current_setting", "getvariable", "setseed", "nextval",
    "currval", "write_log", "enable_logging", "disable_logging", "truncate_duckdb_logs",
    "parse_duckdb_log_message", "json_execute_serialized_sql", "json_serialize_sql",
    "json_serialize_plan", "json_deserialize_sql", "sql_auto_complete", "which_secret",
    "checkpoint", "force_checkpoint", "glob", "sniff_csv", "test_all_types", "test_vector_types",
    "arrow_scan", "arrow_scan_dumb", "seq_scan", "summary", "check_peg_parser",
    "icu_calendar_names", "current_database", "current_catalog", "current_schema",
    "current_schemas", "current_query", "current_query_id", "current_connection_id",
    "current_transaction_id", "txid_current", "current_user", "current_role", "session_user",
    "user", "in_search_path", "version", "get_block_size", "stats", "col_description",
    "obj_description", "shobj_description", "format_pg_type", "format_type", "map_to_pg_oid",
    "inet_client_addr", "inet_client_port", "inet_server_addr", "inet_server_port", "repeat_row",
    "iceberg_scan", "delta_scan", "sqlite_scan", "postgres_scan", "mysql_scan", "load_aws_credentials",
};

/* Name prefixes that are never allowed. */
static const char *const denied_prefixes[] = {
    "read_", "duckdb_", "pragma_", "parquet_", "pg_", "has_", "__", "icu_calendar",
    "sqlite_", "postgres_", "mysql_", "iceberg_", "delta_", "ducklake_", "http_",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

int gw__gwalk_fn_denied(const char *name)
{
    for (size_t i = 0; i < N_OF(denied_fns); i++)
        if (strcasecmp(name, denied_fns[i]) == 0)
            return 1;
    for (size_t i = 0; i < N_OF(denied_prefixes); i++)
        if (strncasecmp(name, denied_prefixes[i], strlen(denied_prefixes[i])) == 0)
            return 1;
    return 0;
}

/* The string member key of o, or "" when missing or not a string. */
static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s == NULL ? "" : s;
}

/* ---- parse tree ---- */

/* CTE names visible at a point of the tree; scope only flows downwards. */
typedef struct scope {
    const char *name;
    const struct scope *up;
} scope_t;

static int scope_has(const scope_t *s, const char *name)
{
    for (; s != NULL; s = s->up)
        if (strcasecmp(s->name, name) == 0)
            return 1;
    return 0;
}

static int looks_like_file(const char *name)
{
    return strpbrk(name, "./\\:*?") != NULL;
}

/* A BASE_TABLE ref: a visible CTE, or a catalog table with an allowed
 * qualifier: none, main, retail, retail.main. */
static gw_err_t check_base_table(const json_t *o, const scope_t *scope, gw_guard_verdict_t *v)
{
    const char *cat = jstr(o, "catalog_name"), *sch = jstr(o, "schema_name");
    const char *name = jstr(o, "table_name");
    int ok_qual;
    if (*cat == '\0' && *sch == '\0' && scope_has(scope, name))
        return GW_OK;
    if (*cat == '\0')
        ok_qual = *sch == '\0' || strcasecmp(sch, "main") == 0 || strcasecmp(sch, "retail") == 0;
    else
        ok_qual = strcasecmp(cat, "retail") == 0 && (*sch == '\0' || strcasecmp(sch, "main") == 0);
    if (!ok_qual)
        return gw__guard_refuse(v, GW_GUARD_SCHEMA,
                                "table '%s%s%s%s%s' is outside the catalog: only unqualified names "
                                "or main./retail. may be used",
                                cat, *cat ? "." : "", sch, *sch ? "." : "", name);
    if (looks_like_file(name))
        return gw__guard_refuse(v, GW_GUARD_TABLE, "reading files is not allowed ('%s')", name);
    if (gw_catalog_find_table(name, strlen(name)) == NULL)
        return gw__guard_refuse(v, GW_GUARD_TABLE, "table '%s' is not in the catalog", name);
    return GW_OK;
}

/* A function call expression: deny-list and qualification. */
static gw_err_t check_function(const json_t *o, gw_guard_verdict_t *v)
{
    const char *fn = jstr(o, "function_name");
    const char *cat = jstr(o, "catalog"), *sch = jstr(o, "schema");
    if (gw__gwalk_fn_denied(fn))
        return gw__guard_refuse(v, GW_GUARD_FUNCTION, "function %s is not allowed", fn);
    /* the parser itself qualifies some rewrites (extract -> main.date_part) */
    if (*cat != '\0' || (*sch != '\0' && strcasecmp(sch, "main") != 0))
        return gw__guard_refuse(v, GW_GUARD_SCHEMA, "qualified function name %s%s%s.%s is not allowed",
                                cat, *cat ? "." : "", sch, fn);
    return GW_OK;
}

/* The checks that depend on one node alone. */
static gw_err_t check_ast_node(const json_t *o, const char *t, const scope_t *scope,
                               gw_guard_verdict_t *v)
{
    const char *cls = jstr(o, "class");
    if (strcmp(t, "BASE_TABLE") == 0)
        return check_base_table(o, scope, v);
    if (strcmp(t, "TABLE_FUNCTION") == 0)
        return gw__guard_refuse(v, GW_GUARD_TABLE_FUNCTION, "table function %s is not allowed",
                                jstr(json_object_get(o, "function"), "function_name"));
    if (strcmp(t, "SHOW_REF") == 0)
        return gw__guard_refuse(v, GW_GUARD_NOT_SELECT,
                                "SHOW, DESCRIBE and SUMMARIZE are not allowed; only SELECT is allowed");
    if (strcmp(t, "COLUMN_DATA") == 0 || strcmp(t, "DELIM_GET") == 0 || strcmp(t, "INVALID") == 0)
        return gw__guard_refuse(v, GW_GUARD_UNSAFE, "table reference of type %s is not allowed", t);
    if (strcmp(cls, "PARAMETER") == 0)
        return gw__guard_refuse(v, GW_GUARD_CLAUSE, "query parameters are not allowed");
    if (json_is_string(json_object_get(o, "function_name")))
        return check_function(o, v);
    return GW_OK;
}

/* Limits that keep DuckDB's optimizer (run by prepare) polynomial: its time
 * roughly doubles per level of nested scalar subqueries and grows fast with
 * the number of joins (24 nested subqueries took 9 s to prepare, 50 joins
 * 5 s). Legitimate catalog questions stay far below these. */
#define MAX_QUERY_NESTING 10
#define MAX_QUERY_BLOCKS 64
#define MAX_JOINS 16

typedef struct walk {
    gw_guard_verdict_t *v;
    int blocks; /* query nodes seen */
    int joins;  /* JOIN table refs seen */
} walk_t;

static gw_err_t walk_ast(walk_t *w, json_t *j, const scope_t *scope, int depth, int qdepth);

static int is_query_node(const char *t)
{
    return strcmp(t, "SELECT_NODE") == 0 || strcmp(t, "SET_OPERATION_NODE") == 0 ||
           strcmp(t, "RECURSIVE_CTE_NODE") == 0 || strcmp(t, "CTE_NODE") == 0;
}

/* Counts query blocks, nesting and joins against the limits. */
static gw_err_t count_node(walk_t *w, const char *t, int *qdepth)
{
    if (is_query_node(t)) {
        if (++*qdepth > MAX_QUERY_NESTING)
            return gw__guard_refuse(w->v, GW_GUARD_TOO_LONG,
                                    "subqueries are nested more than %d deep", MAX_QUERY_NESTING);
        if (++w->blocks > MAX_QUERY_BLOCKS)
            return gw__guard_refuse(w->v, GW_GUARD_TOO_LONG,
                                    "the query has more than %d SELECT blocks", MAX_QUERY_BLOCKS);
    }
    if (strcmp(t, "JOIN") == 0 && ++w->joins > MAX_JOINS)
        return gw__guard_refuse(w->v, GW_GUARD_TOO_LONG, "the query has more than %d joins", MAX_JOINS);
    return GW_OK;
}

/* Walks every member of o except those in skip (NULL-terminated). */
static gw_err_t walk_members(walk_t *w, json_t *o, const scope_t *scope, int depth, int qdepth,
                             const char *const *skip)
{
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        int skipped = 0;
        for (size_t i = 0; skip != NULL && skip[i] != NULL; i++)
            skipped |= strcmp(key, skip[i]) == 0;
        if (!skipped && walk_ast(w, val, scope, depth + 1, qdepth) != GW_OK)
            return GW_EDENIED;
    }
    return GW_OK;
}

/* An object once its CTEs are in scope. */
static gw_err_t walk_ast_node(walk_t *w, json_t *o, const scope_t *scope, int depth, int qdepth)
{
    static const char *const skip_cte[] = {"cte_map", NULL};
    static const char *const skip_rec[] = {"cte_map", "left", "right", NULL};
    const char *t = json_string_value(json_object_get(o, "type"));
    if (t != NULL && check_ast_node(o, t, scope, w->v) != GW_OK)
        return GW_EDENIED;
    if (t != NULL && strcmp(t, "RECURSIVE_CTE_NODE") == 0) {
        /* the anchor (left) does not see the CTE itself, the recursive part does */
        scope_t self = {jstr(o, "cte_name"), scope};
        if (walk_ast(w, json_object_get(o, "left"), scope, depth + 1, qdepth) != GW_OK ||
            walk_ast(w, json_object_get(o, "right"), &self, depth + 1, qdepth) != GW_OK)
            return GW_EDENIED;
        return walk_members(w, o, scope, depth, qdepth, skip_rec);
    }
    return walk_members(w, o, scope, depth, qdepth, skip_cte);
}

/* CTE i of map is walked with the names of CTEs 0..i-1 in scope, then
 * becomes visible to the later CTEs and to the body. */
static gw_err_t walk_ctes(walk_t *w, json_t *o, json_t *map, size_t i, const scope_t *scope,
                          int depth, int qdepth)
{
    json_t *e;
    if (depth > GW__GUARD_MAX_DEPTH)
        return gw__guard_refuse(w->v, GW_GUARD_TOO_LONG, "the query is nested too deeply");
    if (i >= json_array_size(map))
        return walk_ast_node(w, o, scope, depth, qdepth);
    e = json_array_get(map, i);
    if (walk_ast(w, json_object_get(e, "value"), scope, depth + 1, qdepth) != GW_OK)
        return GW_EDENIED;
    scope_t s = {jstr(e, "key"), scope};
    return walk_ctes(w, o, map, i + 1, &s, depth + 1, qdepth);
}

static gw_err_t walk_ast(walk_t *w, json_t *j, const scope_t *scope, int depth, int qdepth)
{
    const char *t;
    if (depth > GW__GUARD_MAX_DEPTH)
        return gw__guard_refuse(w->v, GW_GUARD_TOO_LONG, "the query is nested too deeply");
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (walk_ast(w, json_array_get(j, i), scope, depth + 1, qdepth) != GW_OK)
                return GW_EDENIED;
        return GW_OK;
    }
    if (!json_is_object(j))
        return GW_OK;
    t = json_string_value(json_object_get(j, "type"));
    if (t != NULL && count_node(w, t, &qdepth) != GW_OK)
        return GW_EDENIED;
    return walk_ctes(w, j, json_object_get(json_object_get(j, "cte_map"), "map"), 0, scope, depth,
                     qdepth);
}

gw_err_t gw__gwalk_ast(json_t *statements, gw_guard_verdict_t *v)
{
    walk_t w = {v, 0, 0};
    if (!json_is_array(statements) || json_array_size(statements) != 1)
        return gw__guard_refuse(v, GW_GUARD_MULTI, "exactly one statement is allowed");
    return walk_ast(&w, statements, NULL, 0, 0);
}

/* ---- bound plan ---- */

/* Logical operators a read-only SELECT over catalog tables may contain. */
static const char *const allowed_ops[] = {
    "LOGICAL_PROJECTION", "LOGICAL_FILTER", "LOGICAL_AGGREGATE_AND_GROUP_BY", "LOGICAL_WINDOW",
    "LOGICAL_UNNEST", "LOGICAL_LIMIT", "LOGICAL_ORDER_BY", "LOGICAL_TOP_N", "LOGICAL_DISTINCT",
    "LOGICAL_SAMPLE", "LOGICAL_PIVOT", "LOGICAL_GET", "LOGICAL_DELIM_GET",
    "LOGICAL_EXPRESSION_GET", "LOGICAL_DUMMY_SCAN", "LOGICAL_EMPTY_RESULT", "LOGICAL_CTE_REF",
    "LOGICAL_COMPARISON_JOIN", "LOGICAL_ANY_JOIN", "LOGICAL_CROSS_PRODUCT",
    "LOGICAL_POSITIONAL_JOIN", "LOGICAL_ASOF_JOIN", "LOGICAL_DEPENDENT_JOIN", "LOGICAL_DELIM_JOIN",
    "LOGICAL_UNION", "LOGICAL_EXCEPT", "LOGICAL_INTERSECT", "LOGICAL_RECURSIVE_CTE",
    "LOGICAL_MATERIALIZED_CTE",
};

static int op_allowed(const char *t)
{
    for (size_t i = 0; i < N_OF(allowed_ops); i++)
        if (strcmp(t, allowed_ops[i]) == 0)
            return 1;
    return 0;
}

/* A scan: only seq_scan of a catalog table in retail.main. */
static gw_err_t check_get(const json_t *o, gw_guard_verdict_t *v)
{
    const char *name = jstr(o, "name");
    const json_t *fd = json_object_get(o, "function_data");
    const char *cat = jstr(fd, "catalog"), *sch = jstr(fd, "schema"), *tab = jstr(fd, "table");
    if (strcmp(name, "seq_scan") != 0)
        return gw__guard_refuse(v, GW_GUARD_TABLE_FUNCTION, "table function %s is not allowed",
                                *name ? name : "(unnamed)");
    if (strcmp(cat, GW__GUARD_CATALOG) != 0 || strcmp(sch, GW__GUARD_SCHEMA) != 0)
        return gw__guard_refuse(v, GW_GUARD_SCHEMA, "table '%s.%s.%s' is outside the catalog", cat,
                                sch, tab);
    if (gw_catalog_find_table(tab, strlen(tab)) == NULL)
        return gw__guard_refuse(v, GW_GUARD_TABLE, "table '%s' is not in the catalog", tab);
    return GW_OK;
}

static gw_err_t check_plan_node(const json_t *o, gw_guard_verdict_t *v)
{
    const char *t = json_string_value(json_object_get(o, "type"));
    const char *ec = json_string_value(json_object_get(o, "expression_class"));
    const char *name = json_string_value(json_object_get(o, "name"));
    if (ec != NULL && name != NULL && gw__gwalk_fn_denied(name))
        return gw__guard_refuse(v, GW_GUARD_FUNCTION, "function %s is not allowed", name);
    if (ec != NULL || t == NULL || strncmp(t, "LOGICAL_", 8) != 0)
        return GW_OK;
    if (!op_allowed(t))
        return gw__guard_refuse(v, GW_GUARD_UNSAFE, "plan operator %s is not allowed", t);
    if (strcmp(t, "LOGICAL_GET") == 0)
        return check_get(o, v);
    return GW_OK;
}

static gw_err_t walk_plan(json_t *j, int depth, gw_guard_verdict_t *v)
{
    const char *key;
    json_t *val;
    if (depth > GW__GUARD_MAX_DEPTH)
        return gw__guard_refuse(v, GW_GUARD_TOO_LONG, "the query plan is nested too deeply");
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (walk_plan(json_array_get(j, i), depth + 1, v) != GW_OK)
                return GW_EDENIED;
        return GW_OK;
    }
    if (!json_is_object(j))
        return GW_OK;
    if (check_plan_node(j, v) != GW_OK)
        return GW_EDENIED;
    json_object_foreach(j, key, val) {
        if (walk_plan(val, depth + 1, v) != GW_OK)
            return GW_EDENIED;
    }
    return GW_OK;
}

gw_err_t gw__gwalk_plan(json_t *plans, gw_guard_verdict_t *v)
{
    if (!json_is_array(plans) || json_array_size(plans) != 1)
        return gw__guard_refuse(v, GW_GUARD_UNSAFE, "the query plan could not be verified");
    return walk_plan(plans, 0, v);
}

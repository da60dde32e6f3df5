/* sql_guard_duckdb.c - the DuckDB dialect of the SQL guard.
 *
 * A private in-memory DuckDB (catalog "retail", the four tables, empty,
 * hardened like the engine) parses, binds and plans each query; nothing
 * user-written is ever executed here. Order of checks: statement count
 * (duckdb_extract_statements == 1), parse tree (json_serialize_sql: only
 * SELECT serializes; AST walk), bind (prepare: type SELECT, no parameters),
 * bound plan (json_serialize_plan, unoptimized: plan walk). Then the row cap
 * is applied as text (append or lower the outer LIMIT, or wrap) and the
 * final text is verified before it is handed out: its parse tree must be
 * the original's but for the outer LIMIT, or it must pass the full check.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "duckdb_dl.h"

#include "alloc.h"
#include "catalog_schema.h"
#include "sql_guard_int.h"

/* DuckDB 1.4.4 keeps ~600 bytes per execution of a reused prepared
 * statement until it is destroyed (measured: +30 MB over 50k runs), so a
 * serializer is prepared again after SER_REUSE runs. */
#define SER_REUSE 256

typedef struct serializer {
    const char *sql;
    duckdb_prepared_statement ps;
    unsigned uses;
} serializer_t;

struct gw__gduck {
    duckdb_database db;
    duckdb_connection con;
    serializer_t ser_sql;  /* json_serialize_sql($1) */
    serializer_t ser_plan; /* json_serialize_plan($1) */
};

static const char *const open_config[][2] = {
    {"autoinstall_known_extensions", "false"},
    {"autoload_known_extensions", "false"},
    {"allow_community_extensions", "false"},
    {"enable_external_access", "false"},
    {"threads", "1"},
    {"memory_limit", "256MB"},
};

static const char setup_sql[] = "ATTACH ':memory:' AS " GW__GUARD_CATALOG "; USE " GW__GUARD_CATALOG ";";
static const char lock_sql[] = "SET lock_configuration = true;";
static const char ser_sql_text[] =
    "SELECT json_serialize_sql($1::VARCHAR, skip_null := true, skip_empty := true, skip_default := true)";
static const char ser_plan_text[] =
    "SELECT json_serialize_plan($1::VARCHAR, skip_null := true, skip_empty := true)";

static gw_err_t ser_ready(duckdb_connection con, serializer_t *s);

static int run_setup(duckdb_connection con, const char *sql, char *err, size_t errlen)
{
    duckdb_result res;
    int ok = duckdb_query(con, sql, &res) == DuckDBSuccess;
    if (!ok && err != NULL && errlen > 0) {
        const char *e = duckdb_result_error(&res);
        snprintf(err, errlen, "guard setup failed: %s", e != NULL ? e : "unknown DuckDB error");
    }
    duckdb_destroy_result(&res);
    return ok;
}

static int open_db(gw__gduck_t *d, char *err, size_t errlen)
{
    duckdb_config cfg = NULL;
    char *oerr = NULL;
    int ok = 0;
    if (gw_duckdb_load(err, errlen) != GW_OK)
        return 0;
    if (duckdb_create_config(&cfg) != DuckDBSuccess) {
        snprintf(err, errlen, "guard: cannot create a DuckDB config");
        goto out;
    }
    for (size_t i = 0; i < sizeof(open_config) / sizeof(open_config[0]); i++)
        if (duckdb_set_config(cfg, open_config[i][0], open_config[i][1]) != DuckDBSuccess) {
            snprintf(err, errlen, "guard: DuckDB rejected option %s", open_config[i][0]);
            goto out;
        }
    if (duckdb_open_ext(NULL, &d->db, cfg, &oerr) != DuckDBSuccess) {
        snprintf(err, errlen, "guard: cannot open DuckDB: %s", oerr != NULL ? oerr : "?");
        goto out;
    }
    ok = duckdb_connect(d->db, &d->con) == DuckDBSuccess;
    if (!ok)
        snprintf(err, errlen, "guard: cannot connect to DuckDB");
out:
    if (oerr != NULL)
        duckdb_free(oerr);
    if (cfg != NULL)
        duckdb_destroy_config(&cfg);
    return ok;
}

gw__gduck_t *gw__gduck_new(char *err, size_t errlen)
{
    char dummy[8];
    gw__gduck_t *d = gw_calloc(1, sizeof(*d));
    if (err == NULL || errlen == 0)
        err = dummy, errlen = sizeof(dummy);
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!open_db(d, err, errlen) || !run_setup(d->con, setup_sql, err, errlen) ||
        !run_setup(d->con, gw_catalog_ddl_duckdb, err, errlen) ||
        !run_setup(d->con, lock_sql, err, errlen))
        goto fail;
    d->ser_sql.sql = ser_sql_text;
    d->ser_plan.sql = ser_plan_text;
    if (ser_ready(d->con, &d->ser_sql) != GW_OK || ser_ready(d->con, &d->ser_plan) != GW_OK) {
        snprintf(err, errlen, "guard: cannot prepare the serializers (json extension missing?)");
        goto fail;
    }
    return d;
fail:
    gw__gduck_free(d);
    return NULL;
}

void gw__gduck_free(gw__gduck_t *d)
{
    if (d == NULL)
        return;
    if (d->ser_sql.ps != NULL)
        duckdb_destroy_prepare(&d->ser_sql.ps);
    if (d->ser_plan.ps != NULL)
        duckdb_destroy_prepare(&d->ser_plan.ps);
    if (d->con != NULL)
        duckdb_disconnect(&d->con);
    if (d->db != NULL)
        duckdb_close(&d->db);
    gw_free(d);
}

/* ---- running the serializers ---- */

/* Makes s->ps usable, preparing it again after SER_REUSE runs. */
static gw_err_t ser_ready(duckdb_connection con, serializer_t *s)
{
    if (s->ps != NULL && s->uses < SER_REUSE)
        return GW_OK;
    if (s->ps != NULL)
        duckdb_destroy_prepare(&s->ps);
    s->uses = 0;
    if (duckdb_prepare(con, s->sql, &s->ps) == DuckDBSuccess)
        return GW_OK;
    duckdb_destroy_prepare(&s->ps);
    s->ps = NULL;
    return GW_EIO;
}

/* Runs the serializer with $1 = sql and parses its one VARCHAR cell as JSON
 * into *out. */
static gw_err_t run_json(gw__gduck_t *d, serializer_t *ser, const char *sql, size_t len, json_t **out,
                         gw_guard_verdict_t *v)
{
    duckdb_result res;
    duckdb_data_chunk chunk = NULL;
    gw_err_t rc = gw__guard_fail(v, GW_EIO, "the guard's DuckDB failed to serialize the query");
    json_error_t jerr;
    *out = NULL;
    if (ser_ready(d->con, ser) != GW_OK || duckdb_bind_varchar_length(ser->ps, 1, sql, len) != DuckDBSuccess)
        return rc;
    ser->uses++;
    if (duckdb_execute_prepared(ser->ps, &res) != DuckDBSuccess)
        goto out;
    chunk = duckdb_fetch_chunk(res);
    if (chunk == NULL || duckdb_data_chunk_get_size(chunk) != 1)
        goto out;
    duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, 0);
    uint64_t *valid = duckdb_vector_get_validity(vec);
    duckdb_string_t *s = duckdb_vector_get_data(vec);
    if (valid != NULL && !duckdb_validity_row_is_valid(valid, 0))
        goto out;
    *out = json_loadb(duckdb_string_t_data(&s[0]), duckdb_string_t_length(s[0]),
                      JSON_DECODE_INT_AS_REAL, &jerr);
    if (*out == NULL) { /* jansson's depth limit: refuse rather than fail */
        rc = gw__guard_refuse(v, GW_GUARD_TOO_LONG, "the query is too complex to verify");
        goto out;
    }
    rc = GW_OK;
out:
    if (chunk != NULL)
        duckdb_destroy_data_chunk(&chunk);
    duckdb_destroy_result(&res);
    return rc;
}

/* First line of a DuckDB error, without the "Xxx Error: " prefix. */
static const char *err_text(const char *e, int *n)
{
    const char *p;
    if (e == NULL)
        e = "unknown error";
    p = strstr(e, "Error: ");
    if (p != NULL && p - e < 40)
        e = p + 7;
    *n = (int)strcspn(e, "\n");
    if (*n > 180)
        *n = 180;
    return e;
}

/* Parses sql with json_serialize_sql; *ast gets the "statements" array owner. */
static gw_err_t parse_tree(gw__gduck_t *d, const char *sql, size_t len, json_t **ast,
                           gw_guard_verdict_t *v)
{
    int n;
    const char *msg;
    gw_err_t rc = run_json(d, &d->ser_sql, sql, len, ast, v);
    if (rc != GW_OK)
        return rc;
    if (json_is_false(json_object_get(*ast, "error")) &&
        json_is_array(json_object_get(*ast, "statements")))
        return GW_OK;
    msg = err_text(json_string_value(json_object_get(*ast, "error_message")), &n);
    if (strstr(msg, "Only SELECT") != NULL)
        rc = gw__guard_refuse(v, GW_GUARD_NOT_SELECT, "only SELECT is allowed");
    else if (json_string_value(json_object_get(*ast, "error_type")) != NULL &&
             strcmp(json_string_value(json_object_get(*ast, "error_type")), "parser") == 0)
        rc = gw__guard_refuse(v, GW_GUARD_SYNTAX, "syntax error: %.*s", n, msg);
    else
        rc = gw__guard_refuse(v, GW_GUARD_UNSAFE, "the query cannot be analysed: %.*s", n, msg);
    json_decref(*ast);
    *ast = NULL;
    return rc;
}

/* Maps a prepare (bind) error to a refusal. */
static gw_err_t bind_refusal(const char *e, gw_guard_verdict_t *v)
{
    int n;
    const char *msg = err_text(e, &n);
    gw_guard_reason_t r = GW_GUARD_BIND;
    if (e == NULL)
        r = GW_GUARD_BIND;
    else if (strncmp(e, "Parser Error", 12) == 0)
        r = GW_GUARD_SYNTAX;
    else if (strncmp(e, "Permission Error", 16) == 0)
        r = GW_GUARD_UNSAFE;
    else if (strstr(e, "Table Function with name") != NULL)
        r = GW_GUARD_TABLE_FUNCTION;
    else if (strstr(e, "Table with name") != NULL)
        r = GW_GUARD_TABLE;
    else if (strstr(e, "Function with name") != NULL)
        r = GW_GUARD_FUNCTION;
    return gw__guard_refuse(v, r, "the query does not bind: %.*s", n, msg);
}

/* Exactly one statement (duckdb_extract_statements), parsed into *ast. */
static gw_err_t parse_one(gw__gduck_t *d, const char *sql, size_t len, json_t **ast,
                          gw_guard_verdict_t *v)
{
    duckdb_extracted_statements ex = NULL;
    gw_err_t rc = GW_OK;
    idx_t n = duckdb_extract_statements(d->con, sql, &ex);
    *ast = NULL;
    if (n == 0) {
        const char *e = duckdb_extract_statements_error(ex);
        int k;
        const char *m = err_text(e, &k);
        rc = e != NULL ? gw__guard_refuse(v, GW_GUARD_SYNTAX, "syntax error: %.*s", k, m)
                       : gw__guard_refuse(v, GW_GUARD_EMPTY, "the SQL has no statement");
    } else if (n > 1) {
        rc = gw__guard_refuse(v, GW_GUARD_MULTI, "multiple statements are not allowed (found %llu)",
                              (unsigned long long)n);
    }
    duckdb_destroy_extracted(&ex);
    return rc == GW_OK ? parse_tree(d, sql, len, ast, v) : rc;
}

/* Binds sql (one statement): a SELECT without parameters. */
static gw_err_t check_bind(gw__gduck_t *d, const char *sql, gw_guard_verdict_t *v)
{
    duckdb_prepared_statement ps = NULL;
    gw_err_t rc = GW_OK;
    if (duckdb_prepare(d->con, sql, &ps) != DuckDBSuccess)
        rc = bind_refusal(duckdb_prepare_error(ps), v);
    else if (duckdb_prepared_statement_type(ps) != DUCKDB_STATEMENT_TYPE_SELECT)
        rc = gw__guard_refuse(v, GW_GUARD_NOT_SELECT, "only SELECT is allowed");
    else if (duckdb_nparams(ps) > 0)
        rc = gw__guard_refuse(v, GW_GUARD_CLAUSE, "query parameters are not allowed");
    duckdb_destroy_prepare(&ps);
    return rc;
}

/* The bound (unoptimized) plan reads only catalog tables. */
static gw_err_t check_plan(gw__gduck_t *d, const char *sql, size_t len, gw_guard_verdict_t *v)
{
    json_t *plan = NULL;
    gw_err_t rc = run_json(d, &d->ser_plan, sql, len, &plan, v);
    if (rc == GW_OK && !json_is_false(json_object_get(plan, "error"))) {
        int k;
        const char *m = err_text(json_string_value(json_object_get(plan, "error_message")), &k);
        rc = gw__guard_refuse(v, GW_GUARD_UNSAFE, "the query plan could not be verified: %.*s", k, m);
    }
    if (rc == GW_OK)
        rc = gw__gwalk_plan(json_object_get(plan, "plans"), v);
    json_decref(plan);
    return rc;
}

/* The full check: one statement, parse tree walk, bind, plan walk. On GW_OK
 * *ast holds the serialize_sql document (caller decrefs). */
static gw_err_t check_text(gw__gduck_t *d, const char *sql, size_t len, json_t **ast,
                           gw_guard_verdict_t *v)
{
    gw_err_t rc = parse_one(d, sql, len, ast, v);
    if (rc == GW_OK)
        rc = gw__gwalk_ast(json_object_get(*ast, "statements"), v);
    if (rc == GW_OK)
        rc = check_bind(d, sql, v);
    if (rc == GW_OK)
        rc = check_plan(d, sql, len, v);
    if (rc != GW_OK) {
        json_decref(*ast);
        *ast = NULL;
    }
    return rc;
}

/* ---- the row cap ---- */

/* Length of sql without trailing whitespace, semicolons and comments, by a
 * small DuckDB lexer (strings '' E'' "", dollar quotes, -- and nested
 * block comments). The caller verifies the cut by re-parsing. */
static size_t sig_end(const char *s, size_t n)
{
    size_t i = 0, end = 0;
    while (i < n) {
        char c = s[i];
        if (isspace((unsigned char)c) || c == ';') {
            i++;
        } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            int depth = 0;
            do {
                if (s[i] == '/' && i + 1 < n && s[i + 1] == '*')
                    depth++, i += 2;
                else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/')
                    depth--, i += 2;
                else
                    i++;
            } while (i < n && depth > 0);
        } else if (c == '\'' || c == '"') {
            int bs = c == '\'' && i > 0 && (s[i - 1] == 'e' || s[i - 1] == 'E') &&
                     (i < 2 || !(isalnum((unsigned char)s[i - 2]) || s[i - 2] == '_'));
            for (i++; i < n; i++) {
                if (bs && s[i] == '\\')
                    i++;
                else if (s[i] == c && i + 1 < n && s[i + 1] == c)
                    i++;
                else if (s[i] == c)
                    break;
            }
            end = i = i < n ? i + 1 : n;
        } else if (c == '$' && (i == 0 || !(isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))) {
            size_t t = i + 1;
            while (t < n && (isalnum((unsigned char)s[t]) || s[t] == '_'))
                t++;
            if (t < n && s[t] == '$' && !(t > i + 1 && isdigit((unsigned char)s[i + 1]))) {
                size_t tag = t + 1 - i;
                const char *close = NULL;
                for (size_t k = t + 1; k + tag <= n && close == NULL; k++)
                    if (memcmp(s + k, s + i, tag) == 0)
                        close = s + k;
                end = i = close != NULL ? (size_t)(close - s) + tag : n;
            } else {
                end = i = t;
            }
        } else {
            end = ++i;
        }
    }
    return end;
}

/* The outermost query node (CTE_NODE wrappers skipped). */
static json_t *top_node(json_t *ast)
{
    json_t *node = json_object_get(json_array_get(json_object_get(ast, "statements"), 0), "node");
    for (int i = 0; i < 64 && node != NULL; i++) {
        const char *t = json_string_value(json_object_get(node, "type"));
        if (t == NULL || strcmp(t, "CTE_NODE") != 0)
            break;
        node = json_object_get(node, "child");
    }
    return node;
}

/* Value of a LIMIT modifier's constant, -1 when not a constant integer,
 * -2 for a HUGEINT constant (always above any cap). */
static double limit_value(json_t *mod)
{
    json_t *lim = json_object_get(mod, "limit");
    json_t *val = json_object_get(json_object_get(lim, "value"), "value");
    const char *cls = json_string_value(json_object_get(lim, "class"));
    if (cls == NULL || strcmp(cls, "CONSTANT") != 0 ||
        json_is_true(json_object_get(json_object_get(lim, "value"), "is_null")))
        return -1;
    if (json_is_object(val) && json_is_number(json_object_get(val, "upper")))
        return json_number_value(json_object_get(val, "upper")) >= 0 ? -2 : -1;
    if (!json_is_number(val) || json_number_value(val) < 0 ||
        json_number_value(val) != (double)(int64_t)json_number_value(val))
        return -1;
    return json_number_value(val);
}

typedef enum { CAP_KEEP, CAP_CLAMP, CAP_APPEND, CAP_WRAP } cap_plan_t;

/* Decides how to cap; for CAP_CLAMP *loc is the LIMIT constant's offset. */
static cap_plan_t cap_plan(json_t *ast, int64_t cap, size_t *loc)
{
    json_t *mods = json_object_get(top_node(ast), "modifiers");
    size_t n = json_array_size(mods);
    int has_limit = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(mods, i);
        const char *t = json_string_value(json_object_get(m, "type"));
        double lv;
        if (t != NULL && strcmp(t, "LIMIT_PERCENT_MODIFIER") == 0)
            return CAP_WRAP;
        if (t == NULL || strcmp(t, "LIMIT_MODIFIER") != 0 || json_object_get(m, "limit") == NULL)
            continue;
        has_limit = 1;
        lv = limit_value(m);
        if (lv >= 0 && lv <= (double)cap)
            return CAP_KEEP;
        if (i + 1 == n && lv != -1 &&
            json_is_number(json_object_get(json_object_get(m, "limit"), "query_location"))) {
            *loc = (size_t)json_number_value(json_object_get(json_object_get(m, "limit"), "query_location"));
            return CAP_CLAMP;
        }
    }
    return has_limit ? CAP_WRAP : CAP_APPEND;
}

/* 1 when the outermost query of ast has a constant LIMIT <= cap. */
static int cap_holds(json_t *ast, int64_t cap)
{
    size_t loc;
    return cap_plan(ast, cap, &loc) == CAP_KEEP;
}

/* Writes sql[0..n) with the cap applied per plan to out. */
static gw_err_t cap_text(const char *sql, size_t n, cap_plan_t plan, size_t loc, int64_t cap,
                         gw_buf_t *out)
{
    gw_err_t rc = GW_OK;
    size_t k = loc;
    gw_buf_reset(out);
    switch (plan) {
    case CAP_KEEP:
        return gw_buf_add(out, sql, n);
    case CAP_APPEND:
        rc = gw_buf_add(out, sql, n);
        return rc != GW_OK ? rc : gw_buf_printf(out, "\nLIMIT %lld", (long long)cap);
    case CAP_CLAMP:
        while (k < n && (isdigit((unsigned char)sql[k]) || sql[k] == '_'))
            k++;
        if (k == loc || loc >= n || (k < n && (isalnum((unsigned char)sql[k]) || sql[k] == '.')))
            return GW_EINVAL;
        rc = gw_buf_add(out, sql, loc);
        if (rc == GW_OK)
            rc = gw_buf_printf(out, "%lld", (long long)cap);
        return rc != GW_OK ? rc : gw_buf_add(out, sql + k, n - k);
    case CAP_WRAP:
        rc = gw_buf_adds(out, "SELECT * FROM (\n");
        if (rc == GW_OK)
            rc = gw_buf_add(out, sql, n);
        return rc != GW_OK ? rc : gw_buf_printf(out, "\n) AS gw_capped LIMIT %lld", (long long)cap);
    }
    return GW_EINVAL;
}

/* Removes the "limit" of the outermost LIMIT modifiers of doc (and the
 * modifiers left empty), so two documents can be compared without it. */
static void strip_top_limit(json_t *doc)
{
    json_t *top = top_node(doc), *mods = json_object_get(top, "modifiers");
    for (size_t i = json_array_size(mods); i-- > 0;) {
        json_t *m = json_array_get(mods, i);
        const char *t = json_string_value(json_object_get(m, "type"));
        if (t == NULL || strcmp(t, "LIMIT_MODIFIER") != 0)
            continue;
        json_object_del(m, "limit");
        if (json_object_size(m) == 1)
            json_array_remove(mods, i);
    }
    if (mods != NULL && json_array_size(mods) == 0)
        json_object_del(top, "modifiers");
}

/* 1 when ast2 is ast except for the outermost LIMIT: the same statement,
 * so the same tables, functions and plan, only fewer rows. */
static int same_but_limit(const json_t *ast, const json_t *ast2)
{
    json_t *a = json_deep_copy(ast), *b = json_deep_copy(ast2);
    int eq = 0;
    if (a != NULL && b != NULL) {
        strip_top_limit(a);
        strip_top_limit(b);
        eq = json_equal(a, b);
    }
    json_decref(a);
    json_decref(b);
    return eq;
}

/* The capped text out[0..n) is safe and holds the cap: either its parse
 * tree is the original's but for the LIMIT, or it passes the full check. */
static gw_err_t verify_capped(gw__gduck_t *d, const char *sql, size_t n, json_t *ast, int64_t cap,
                              gw_guard_verdict_t *v)
{
    json_t *ast2 = NULL;
    gw_err_t rc = parse_one(d, sql, n, &ast2, v);
    int quick = rc == GW_OK && cap_holds(ast2, cap) && same_but_limit(ast, ast2);
    json_decref(ast2);
    ast2 = NULL;
    if (quick)
        return GW_OK;
    if (rc != GW_OK && rc != GW_EDENIED)
        return rc;
    rc = check_text(d, sql, n, &ast2, v);
    if (rc == GW_OK && !cap_holds(ast2, cap))
        rc = GW_EDENIED;
    json_decref(ast2);
    return rc;
}

/* Rewrites trimmed sql[0..n) (whose parse tree is ast) under the cap into
 * out; append or clamp first, wrap when that fails. */
static gw_err_t apply_cap(gw__gduck_t *d, const char *sql, size_t n, json_t *ast, int64_t cap,
                          gw_buf_t *out, gw_guard_verdict_t *v)
{
    size_t loc = 0;
    cap_plan_t plan = cap_plan(ast, cap, &loc);
    for (int attempt = 0; attempt < 2; attempt++) {
        gw_err_t rc = cap_text(sql, n, plan, loc, cap, out);
        if (rc == GW_ENOMEM || rc == GW_ETOOBIG)
            return gw__guard_fail(v, rc, "no room for the rewritten SQL");
        if (rc == GW_OK && plan == CAP_KEEP)
            return GW_OK;
        if (rc == GW_OK)
            rc = verify_capped(d, out->ptr, out->len, ast, cap, v);
        if (rc == GW_OK) {
            v->limit_added = 1;
            return GW_OK;
        }
        if (rc != GW_EDENIED && rc != GW_EINVAL)
            return rc;
        if (plan == CAP_WRAP)
            break;
        plan = CAP_WRAP;
    }
    gw_buf_reset(out);
    return gw__guard_refuse(v, GW_GUARD_UNSAFE, "the row cap could not be applied to this query");
}

gw_err_t gw__gduck_check(gw__gduck_t *d, const char *sql, size_t len, int64_t row_cap,
                         gw_buf_t *out, gw_guard_verdict_t *v)
{
    json_t *ast = NULL, *ast2 = NULL;
    size_t n;
    gw_err_t rc = check_text(d, sql, len, &ast, v);
    if (rc != GW_OK)
        return rc;
    n = sig_end(sql, len);
    if (n < len) {
        /* the cut must not change the parse tree (offsets are from the start) */
        rc = run_json(d, &d->ser_sql, sql, n, &ast2, v);
        if (rc == GW_OK && !json_equal(ast, ast2))
            rc = gw__guard_refuse(v, GW_GUARD_UNSAFE, "trailing text of the query could not be removed");
        json_decref(ast2);
        if (rc != GW_OK)
            goto out;
    }
    if (row_cap > 0)
        rc = apply_cap(d, sql, n, ast, row_cap, out, v);
    else if ((rc = gw_buf_add(out, sql, n)) != GW_OK)
        rc = gw__guard_fail(v, rc, "no room for the SQL");
out:
    json_decref(ast);
    return rc;
}

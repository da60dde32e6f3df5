/* sql_guard_clickhouse.c - the ClickHouse 18.16 dialect of the SQL guard.
 *
 * There is no ClickHouse parser in C here, so: a tokenizer that follows
 * ClickHouse 18.x's own lexer (dbms/src/Parsers/Lexer.cpp: '' "" `` with
 * doubled-quote and backslash escapes, -- and // line comments, non-nested
 * block comments, no # comments), then structural rules over the tokens:
 * one statement, SELECT (or WITH expr AS name ... SELECT) first, every
 * FROM/JOIN target a catalog table (optionally retail.) or a subquery, no
 * table functions, no system., no SETTINGS / FORMAT / INTO OUTFILE, no
 * deny-listed functions, no ORDER BY / GROUP BY positions. What the rules
 * cannot place is refused. Finally the outer LIMIT is added or lowered.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "catalog_schema.h"
#include "sql_guard_int.h"

typedef enum { T_WORD, T_QID, T_STR, T_NUM, T_OP } tok_kind_t;

typedef struct tok {
    tok_kind_t kind;
    size_t off, len; /* bytes of the token in the SQL, quotes included */
    int depth;       /* bracket depth before the token */
} tok_t;

typedef struct lex {
    const char *s;
    size_t n, pos;
    tok_t *toks;
    size_t ntoks, cap;
    gw_guard_verdict_t *v;
} lex_t;

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Table functions of ClickHouse (any version) and scalar functions that
 * read outside the query's tables, reveal the server, or stall it. */
static const char *const ch_denied_fns[] = {
    "file", "url", "remote", "remoteSecure", "cluster", "clusterAllReplicas", "mysql", "jdbc",
    "odbc", "hdfs", "s3", "s3Cluster", "input", "numbers", "numbers_mt", "zeros", "zeros_mt",
    "merge", "generateRandom", "values", "view", "dictionary", "executable", "postgresql",
    "sqlite", "mongodb", "redis", "azureBlobStorage", "iceberg", "deltaLake", "hudi", "loop",
    "joinGet", "joinGetOrNull", "hasColumnInTable", "sleep", "sleepEachRow", "modelEvaluate",
    "catboostEvaluate", "evalMLMethod", "hostName", "hostname", "FQDN", "fullHostName", "uptime",
    "version", "getMacro", "getSetting", "globalVariable", "getServerPort", "serverUUID",
    "tcpPort", "buildId", "queryID", "initialQueryID", "shardNum", "shardCount", "trap",
    "addressToLine", "addressToSymbol", "demangle", "throwIf", "transactionID", "blockSize",
    "rowNumberInBlock", "getClientHTTPHeader", "user", "revision", "notIn", "globalIn", "globalNotIn",
    "notInIgnoreSet", "globalInIgnoreSet", "globalNotInIgnoreSet", "inIgnoreSet",
};
static const char *const ch_denied_prefixes[] = {"dict", "filesystem", "current", "system"};

/* Words that start another statement or clause we never run. */
static const char *const ch_statement_words[] = {
    "INSERT", "CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "RENAME", "TRUNCATE", "OPTIMIZE",
    "KILL", "SET", "USE", "SHOW", "DESCRIBE", "GRANT", "REVOKE", "CHECK", "EXPLAIN", "EXCHANGE",
    "UNDROP", "DELETE", "UPDATE", "BACKUP", "RESTORE", "WATCH", "MOVE",
};

/* Words that may follow a table in FROM/JOIN (so they are not aliases). */
static const char *const ch_after_table[] = {
    "WHERE", "PREWHERE", "GROUP", "ORDER", "LIMIT", "HAVING", "JOIN", "INNER", "LEFT", "RIGHT",
    "FULL", "CROSS", "ANY", "ALL", "GLOBAL", "ARRAY", "UNION", "FINAL", "SAMPLE", "USING", "ON",
    "WITH", "FORMAT", "SETTINGS", "INTO", "ASOF", "SEMI", "ANTI", "OUTER", "LOCAL", "PASTE",
};

static int in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (gw__guard_ieq(list[i], s, len))
            return 1;
    return 0;
}

static int ch_fn_denied(const char *s, size_t len)
{
    if (in_list(ch_denied_fns, N_OF(ch_denied_fns), s, len))
        return 1;
    for (size_t i = 0; i < N_OF(ch_denied_prefixes); i++) {
        size_t k = strlen(ch_denied_prefixes[i]);
        if (len >= k && strncasecmp(s, ch_denied_prefixes[i], k) == 0)
            return 1;
    }
    return 0;
}

/* ---- tokenizer ---- */

static int wordc(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static gw_err_t push(lex_t *L, tok_kind_t k, size_t off)
{
    if (L->ntoks == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 64;
        tok_t *t = gw_realloc(L->toks, nc * sizeof(*t));
        if (t == NULL)
            return gw__guard_fail(L->v, GW_ENOMEM, "out of memory");
        L->toks = t, L->cap = nc;
    }
    L->toks[L->ntoks++] = (tok_t){k, off, L->pos - off, 0};
    return GW_OK;
}

/* A '' "" or `` token: doubled quote and backslash escape the quote. */
static gw_err_t lex_quoted(lex_t *L)
{
    char q = L->s[L->pos];
    size_t off = L->pos++;
    while (L->pos < L->n) {
        char c = L->s[L->pos++];
        if (c == '\\' && L->pos < L->n) {
            L->pos++;
        } else if (c == q) {
            if (L->pos < L->n && L->s[L->pos] == q) {
                L->pos++;
                continue;
            }
            return push(L, q == '\'' ? T_STR : T_QID, off);
        }
    }
    return gw__guard_refuse(L->v, GW_GUARD_SYNTAX, "unterminated %s at byte %zu",
                            q == '\'' ? "string" : "quoted identifier", off);
}

static int prev_is(const lex_t *L, tok_kind_t k, const char *op)
{
    const tok_t *t;
    if (L->ntoks == 0)
        return 0;
    t = &L->toks[L->ntoks - 1];
    return t->kind == k && (op == NULL || (t->len == strlen(op) && memcmp(L->s + t->off, op, t->len) == 0));
}

/* A number as ClickHouse's lexer skips it (0x / 0b, fraction, exponent). */
static gw_err_t lex_number(lex_t *L)
{
    const char *s = L->s;
    size_t off = L->pos, n = L->n;
    int hex = 0;
    if (prev_is(L, T_OP, ".")) {
        while (L->pos < n && isdigit((unsigned char)s[L->pos]))
            L->pos++;
    } else {
        if (L->pos + 2 < n && s[L->pos] == '0' && strchr("xXbB", s[L->pos + 1]) != NULL) {
            hex = s[L->pos + 1] == 'x' || s[L->pos + 1] == 'X';
            L->pos += 2;
        }
        while (L->pos < n && (hex ? isxdigit((unsigned char)s[L->pos]) : isdigit((unsigned char)s[L->pos])))
            L->pos++;
        if (L->pos < n && s[L->pos] == '.')
            for (L->pos++; L->pos < n && (hex ? isxdigit((unsigned char)s[L->pos]) : isdigit((unsigned char)s[L->pos]));)
                L->pos++;
        if (L->pos + 1 < n && strchr(hex ? "pP" : "eE", s[L->pos]) != NULL) {
            L->pos++;
            if (L->pos + 1 < n && (s[L->pos] == '-' || s[L->pos] == '+'))
                L->pos++;
            while (L->pos < n && isdigit((unsigned char)s[L->pos]))
                L->pos++;
        }
    }
    if (L->pos < n && wordc(s[L->pos]))
        return gw__guard_refuse(L->v, GW_GUARD_SYNTAX, "malformed number at byte %zu", off);
    return push(L, T_NUM, off);
}

/* Skips a comment starting at pos, if any: 1 skipped, 0 none, -1 refused. */
static int lex_comment(lex_t *L)
{
    const char *s = L->s;
    size_t p = L->pos, n = L->n;
    if (p + 1 < n && ((s[p] == '-' && s[p + 1] == '-') || (s[p] == '/' && s[p + 1] == '/'))) {
        while (L->pos < n && s[L->pos] != '\n')
            L->pos++;
        return 1;
    }
    if (p + 1 < n && s[p] == '/' && s[p + 1] == '*') {
        for (L->pos = p + 2; L->pos + 1 < n; L->pos++) {
            if (s[L->pos] == '/' && s[L->pos + 1] == '*') {
                gw__guard_refuse(L->v, GW_GUARD_SYNTAX, "nested comments are not allowed");
                return -1;
            }
            if (s[L->pos] == '*' && s[L->pos + 1] == '/') {
                L->pos += 2;
                return 1;
            }
        }
        gw__guard_refuse(L->v, GW_GUARD_SYNTAX, "unterminated comment at byte %zu", p);
        return -1;
    }
    return 0;
}

/* Operators ClickHouse 18.16 lexes; longest first. */
static const char *const ch_ops[] = {"->", "==", "!=", "<>", "<=", ">=", "||", "(", ")", "[", "]",
                                     ",", ";", "+", "-", "*", "/", "%", "=", "<", ">", "."};

static gw_err_t lex_op(lex_t *L)
{
    const char *s = L->s + L->pos;
    size_t left = L->n - L->pos, off = L->pos;
    if (*s == '.' && left > 1 && isdigit((unsigned char)s[1]) &&
        !(L->ntoks > 0 && (prev_is(L, T_OP, ")") || prev_is(L, T_OP, "]") || prev_is(L, T_WORD, NULL) ||
                           prev_is(L, T_QID, NULL) || prev_is(L, T_NUM, NULL))))
        return lex_number(L);
    for (size_t i = 0; i < N_OF(ch_ops); i++) {
        size_t k = strlen(ch_ops[i]);
        if (k <= left && memcmp(s, ch_ops[i], k) == 0) {
            L->pos += k;
            return push(L, T_OP, off);
        }
    }
    if (*s == '#')
        return gw__guard_refuse(L->v, GW_GUARD_BAD_TEXT, "'#' is not valid in ClickHouse 18.16 SQL");
    if (*s == '?' || *s == ':' || *s == '{' || *s == '}')
        return gw__guard_refuse(L->v, GW_GUARD_CLAUSE, "'%c' is not allowed (no parameters or ?: operator; use if())", *s);
    if ((unsigned char)*s >= 0x80)
        return gw__guard_refuse(L->v, GW_GUARD_BAD_TEXT,
                                "non-ASCII text outside quotes at byte %zu (identifiers must be ASCII)", off);
    return gw__guard_refuse(L->v, GW_GUARD_BAD_TEXT, "unexpected character '%c' at byte %zu", *s, off);
}

static gw_err_t tokenize(lex_t *L)
{
    gw_err_t rc = GW_OK;
    while (rc == GW_OK && L->pos < L->n) {
        char c = L->s[L->pos];
        int cm;
        if (strchr(" \t\n\r\f\v", c) != NULL) {
            L->pos++;
        } else if ((cm = lex_comment(L)) != 0) {
            rc = cm < 0 ? GW_EDENIED : GW_OK;
        } else if (c == '\'' || c == '"' || c == '`') {
            rc = lex_quoted(L);
        } else if (isdigit((unsigned char)c)) {
            rc = lex_number(L);
        } else if (wordc(c)) {
            size_t off = L->pos;
            while (L->pos < L->n && wordc(L->s[L->pos]))
                L->pos++;
            rc = push(L, T_WORD, off);
        } else {
            rc = lex_op(L);
        }
    }
    return rc;
}

/* ---- token helpers ---- */

typedef struct chk {
    const char *s;
    tok_t *t;
    size_t n; /* significant tokens, trailing ';' dropped */
    gw_guard_verdict_t *v;
} chk_t;

static int is_op(const chk_t *c, size_t i, const char *op)
{
    return i < c->n && c->t[i].kind == T_OP && c->t[i].len == strlen(op) &&
           memcmp(c->s + c->t[i].off, op, c->t[i].len) == 0;
}

static int is_kw(const chk_t *c, size_t i, const char *kw)
{
    return i < c->n && c->t[i].kind == T_WORD && gw__guard_ieq(kw, c->s + c->t[i].off, c->t[i].len);
}

static int is_name(const chk_t *c, size_t i)
{
    return i < c->n && (c->t[i].kind == T_WORD || c->t[i].kind == T_QID);
}

/* The name of a word or quoted identifier token (quotes stripped). */
static const char *name_of(const chk_t *c, size_t i, size_t *len)
{
    const tok_t *t = &c->t[i];
    if (t->kind == T_QID) {
        *len = t->len - 2;
        return c->s + t->off + 1;
    }
    *len = t->len;
    return c->s + t->off;
}

/* Assigns bracket depths; refuses unbalanced or too deep nesting. */
static gw_err_t set_depths(chk_t *c)
{
    char stack[GW__GUARD_MAX_DEPTH];
    int d = 0;
    for (size_t i = 0; i < c->n; i++) {
        c->t[i].depth = d;
        if (is_op(c, i, "(") || is_op(c, i, "[")) {
            if (d >= 200)
                return gw__guard_refuse(c->v, GW_GUARD_TOO_LONG, "the query is nested too deeply");
            stack[d++] = c->s[c->t[i].off];
        } else if (is_op(c, i, ")") || is_op(c, i, "]")) {
            char want = is_op(c, i, ")") ? '(' : '[';
            if (d == 0 || stack[d - 1] != want)
                return gw__guard_refuse(c->v, GW_GUARD_SYNTAX, "unbalanced brackets");
            c->t[i].depth = --d;
        }
    }
    if (d != 0)
        return gw__guard_refuse(c->v, GW_GUARD_SYNTAX, "unbalanced brackets");
    return GW_OK;
}

/* Index of the bracket that closes the one opened at i (tokens are balanced). */
static size_t close_of(const chk_t *c, size_t i)
{
    size_t j = i + 1;
    while (j < c->n && c->t[j].depth > c->t[i].depth)
        j++;
    return j;
}

/* Index of the innermost open '(' around token i, or SIZE_MAX. */
static size_t open_paren(const chk_t *c, size_t i)
{
    int d = c->t[i].depth;
    for (size_t j = i; j-- > 0;)
        if (c->t[j].depth < d)
            return is_op(c, j, "(") ? j : SIZE_MAX;
    return SIZE_MAX;
}

/* ---- rules ---- */

/* After a FROM or JOIN at i: a catalog table (optionally retail.) or a
 * subquery, an optional alias, and no comma join. */
static gw_err_t check_table_expr(const chk_t *c, size_t i)
{
    size_t j = i + 1, len, dlen;
    const char *name, *db;
    if (is_op(c, j, "(")) {
        if (!is_kw(c, j + 1, "SELECT") && !is_kw(c, j + 1, "WITH"))
            return gw__guard_refuse(c->v, GW_GUARD_UNSAFE, "FROM ( must start a subquery (SELECT ...)");
        j = close_of(c, j) + 1;
    } else if (is_name(c, j)) {
        name = name_of(c, j, &len);
        if (is_op(c, j + 1, "("))
            return gw__guard_refuse(c->v, GW_GUARD_TABLE_FUNCTION, "table function %.*s is not allowed",
                                    (int)len, name);
        if (is_op(c, j + 1, ".")) {
            db = name, dlen = len;
            if (!is_name(c, j + 2))
                return gw__guard_refuse(c->v, GW_GUARD_SYNTAX, "a table name must follow '%.*s.'", (int)dlen, db);
            name = name_of(c, j + 2, &len);
            if (dlen == 6 && strncasecmp(db, "system", 6) == 0)
                return gw__guard_refuse(c->v, GW_GUARD_SCHEMA, "system tables are not allowed");
            if (dlen != 6 || memcmp(db, GW_CATALOG_DATASET, 6) != 0)
                return gw__guard_refuse(c->v, GW_GUARD_SCHEMA, "database '%.*s' is not allowed; only %s is",
                                        (int)dlen, db, GW_CATALOG_DATASET);
            if (is_op(c, j + 3, ".") || is_op(c, j + 3, "("))
                return gw__guard_refuse(c->v, GW_GUARD_UNSAFE, "'%.*s.%.*s' is not a catalog table",
                                        (int)dlen, db, (int)len, name);
            j += 2;
        }
        const gw_catalog_table_t *t = gw_catalog_find_table(name, len);
        if (t == NULL || memcmp(t->name, name, len) != 0)
            return gw__guard_refuse(c->v, GW_GUARD_TABLE, "table '%.*s' is not in the catalog", (int)len, name);
        j++;
    } else {
        return gw__guard_refuse(c->v, GW_GUARD_UNSAFE, "FROM and JOIN must name a catalog table or a subquery");
    }
    if (is_kw(c, j, "FINAL"))
        j++;
    if (is_kw(c, j, "AS"))
        j += 2;
    else if (is_name(c, j) && !(c->t[j].kind == T_WORD &&
                                in_list(ch_after_table, N_OF(ch_after_table), c->s + c->t[j].off, c->t[j].len)))
        j++;
    if (is_op(c, j, ","))
        return gw__guard_refuse(c->v, GW_GUARD_UNSAFE, "comma joins are not supported; use JOIN ... USING");
    return GW_OK;
}

/* IN ( ... ) and in( ... ): ClickHouse reads a table when the last item is
 * a bare name (x IN (t), in(x, t)), so such a name must be a catalog table
 * (optionally retail.). Other items are expressions and subqueries. */
static gw_err_t check_in_list(const chk_t *c, size_t open)
{
    size_t close = close_of(c, open), last = open + 1, len, dlen;
    const char *name, *db;
    int d = c->t[open].depth + 1;
    for (size_t k = open + 1; k < close; k++)
        if (c->t[k].depth == d && is_op(c, k, ","))
            last = k + 1;
    if (!is_name(c, last))
        return GW_OK;
    name = name_of(c, last, &len);
    if (last + 1 == close) {
        db = NULL, dlen = 0;
    } else if (is_op(c, last + 1, ".") && is_name(c, last + 2) && last + 3 == close) {
        db = name, dlen = len;
        name = name_of(c, last + 2, &len);
    } else {
        return GW_OK; /* an expression that starts with a name */
    }
    const gw_catalog_table_t *t = gw_catalog_find_table(name, len);
    if ((db != NULL && (dlen != 6 || memcmp(db, GW_CATALOG_DATASET, 6) != 0)) || t == NULL ||
        memcmp(t->name, name, len) != 0)
        return gw__guard_refuse(c->v, GW_GUARD_UNSAFE,
                                "IN (name) reads a table: '%.*s%s%.*s' must be a catalog table or use IN (SELECT ...)",
                                (int)dlen, db != NULL ? db : "", db != NULL ? "." : "", (int)len, name);
    return GW_OK;
}

/* A FROM that belongs to EXTRACT(x FROM d), SUBSTRING(s FROM n), ... */
static int from_in_call(const chk_t *c, size_t i)
{
    static const char *const calls[] = {"EXTRACT", "SUBSTRING", "SUBSTR", "TRIM", "POSITION", "OVERLAY"};
    size_t p = open_paren(c, i);
    return p != SIZE_MAX && p > 0 && c->t[p - 1].kind == T_WORD &&
           in_list(calls, N_OF(calls), c->s + c->t[p - 1].off, c->t[p - 1].len);
}

/* Words that end an ORDER BY / GROUP BY item, and those that end the list. */
static const char *const ch_item_ends[] = {"ASC", "DESC", "ASCENDING", "DESCENDING", "NULLS", "COLLATE",
                                           "LIMIT", "WITH", "UNION", "HAVING", "ORDER", "SETTINGS", "FORMAT"};
static const char *const ch_list_ends[] = {"LIMIT", "WITH", "UNION", "HAVING", "ORDER", "SETTINGS", "FORMAT"};

static int word_in(const chk_t *c, size_t k, const char *const *list, size_t n)
{
    return k < c->n && c->t[k].kind == T_WORD && in_list(list, n, c->s + c->t[k].off, c->t[k].len);
}

/* 1 when token k ends an item of a list at depth d. */
static int item_end(const chk_t *c, size_t k, int d)
{
    return k >= c->n || c->t[k].depth < d ||
           (c->t[k].depth == d && (is_op(c, k, ",") || word_in(c, k, ch_item_ends, N_OF(ch_item_ends))));
}

/* ORDER BY / GROUP BY items that are bare numbers (positions): ClickHouse
 * 18.16 sorts by the constant instead (platform-clickhouse.md 4). */
static gw_err_t check_positions(const chk_t *c, size_t by, const char *what)
{
    int d = c->t[by].depth;
    size_t item = by + 1;
    for (size_t k = by + 1; k < c->n && c->t[k].depth >= d; k++) {
        if (c->t[k].depth > d)
            continue;
        if (k == item && c->t[k].kind == T_NUM && item_end(c, k + 1, d))
            return gw__guard_refuse(c->v, GW_GUARD_CLAUSE,
                                    "%s position is not supported by ClickHouse; use column names", what);
        if (is_op(c, k, ","))
            item = k + 1;
        else if (word_in(c, k, ch_list_ends, N_OF(ch_list_ends)))
            break;
    }
    return GW_OK;
}

/* Rules on one word token. */
static gw_err_t check_word(const chk_t *c, size_t i)
{
    const char *w = c->s + c->t[i].off;
    size_t len = c->t[i].len;
    if (in_list(ch_statement_words, N_OF(ch_statement_words), w, len))
        return gw__guard_refuse(c->v, GW_GUARD_NOT_SELECT, "only SELECT is allowed (found %.*s)", (int)len, w);
    if (gw__guard_ieq("SETTINGS", w, len))
        return gw__guard_refuse(c->v, GW_GUARD_CLAUSE, "SETTINGS is not allowed");
    if (gw__guard_ieq("INTO", w, len) || gw__guard_ieq("OUTFILE", w, len))
        return gw__guard_refuse(c->v, GW_GUARD_CLAUSE, "INTO OUTFILE is not allowed");
    if (gw__guard_ieq("FORMAT", w, len) && !is_op(c, i + 1, "("))
        return gw__guard_refuse(c->v, GW_GUARD_CLAUSE, "FORMAT is not allowed (the engine sets the output format)");
    if ((gw__guard_ieq("FROM", w, len) && !from_in_call(c, i)) ||
        (gw__guard_ieq("JOIN", w, len) && !(i > 0 && is_kw(c, i - 1, "ARRAY"))))
        return check_table_expr(c, i);
    if (gw__guard_ieq("IN", w, len) && !is_op(c, i + 1, "("))
        return gw__guard_refuse(c->v, GW_GUARD_UNSAFE, "IN must be followed by a list or a subquery in parentheses");
    if (gw__guard_ieq("IN", w, len))
        return check_in_list(c, i + 1);
    if (gw__guard_ieq("BY", w, len) && i > 0 && (is_kw(c, i - 1, "ORDER") || is_kw(c, i - 1, "GROUP")))
        return check_positions(c, i, is_kw(c, i - 1, "ORDER") ? "ORDER BY" : "GROUP BY");
    return GW_OK;
}

static gw_err_t check_tokens(const chk_t *c)
{
    size_t len;
    const char *name;
    if (!is_kw(c, 0, "SELECT") && !is_kw(c, 0, "WITH"))
        return gw__guard_refuse(c->v, GW_GUARD_NOT_SELECT, "only SELECT is allowed");
    if (is_kw(c, 0, "WITH") && is_name(c, 1) && is_kw(c, 2, "AS") && is_op(c, 3, "("))
        return gw__guard_refuse(c->v, GW_GUARD_CLAUSE,
                                "WITH name AS (subquery) is not supported by ClickHouse 18.16; inline the subquery");
    for (size_t i = 0; i < c->n; i++) {
        if (is_name(c, i) && is_op(c, i + 1, ".")) {
            name = name_of(c, i, &len);
            if (gw__guard_ieq("system", name, len) || gw__guard_ieq("information_schema", name, len))
                return gw__guard_refuse(c->v, GW_GUARD_SCHEMA, "system tables are not allowed");
        }
        if (is_name(c, i) && is_op(c, i + 1, "(")) {
            name = name_of(c, i, &len);
            if (ch_fn_denied(name, len))
                return gw__guard_refuse(c->v, GW_GUARD_FUNCTION, "function %.*s is not allowed", (int)len, name);
        }
        if (c->t[i].kind == T_OP && is_op(c, i, ";"))
            return gw__guard_refuse(c->v, GW_GUARD_MULTI, "multiple statements are not allowed");
        if (c->t[i].kind == T_WORD && check_word(c, i) != GW_OK)
            return GW_EDENIED;
    }
    return GW_OK;
}

/* ---- the row cap ---- */

/* Writes the SQL with the outermost LIMIT at most cap. */
static gw_err_t cap_sql(const chk_t *c, size_t end, int64_t cap, gw_buf_t *out)
{
    size_t count_tok = SIZE_MAX;
    int limited = 0;
    char num[24];
    snprintf(num, sizeof(num), "%lld", (long long)cap);
    for (size_t i = 0; i < c->n; i++) {
        if (c->t[i].depth != 0)
            continue;
        if (is_kw(c, i, "UNION")) /* each SELECT of a UNION ALL has its own LIMIT: wrap */
            return gw_buf_printf(out, "SELECT * FROM (\n%.*s\n) LIMIT %s", (int)end, c->s, num);
        if (!is_kw(c, i, "LIMIT"))
            continue;
        size_t a = i + 1, cnt = a;
        if (is_op(c, a + 1, ","))
            cnt = a + 2;
        size_t after = cnt + 1;
        if (is_kw(c, after, "OFFSET"))
            after += 2;
        if (cnt >= c->n || c->t[a].kind != T_NUM || c->t[cnt].kind != T_NUM ||
            (after - 2 > cnt && (after - 1 >= c->n || c->t[after - 1].kind != T_NUM)))
            return GW_EINVAL;
        if (is_kw(c, after, "BY"))
            continue; /* LIMIT n BY x is per group, not the row cap */
        if (limited)
            return GW_EUNSUPPORTED; /* a second row LIMIT */
        for (size_t k = 0; k < c->t[cnt].len; k++)
            if (!isdigit((unsigned char)c->s[c->t[cnt].off + k]))
                return GW_EINVAL; /* digits only, so replacing them keeps the tokens */
        count_tok = cnt;
        limited = 1;
    }
    if (!limited)
        return gw_buf_printf(out, "%.*s\nLIMIT %s", (int)end, c->s, num);
    const tok_t *t = &c->t[count_tok];
    size_t z = 0, nl = strlen(num);
    while (z + 1 < t->len && c->s[t->off + z] == '0') /* 0005 is 5 */
        z++;
    const char *digits = c->s + t->off + z;
    size_t dl = t->len - z;
    if (dl < nl || (dl == nl && memcmp(digits, num, nl) <= 0))
        return gw_buf_add(out, c->s, end);
    return gw_buf_printf(out, "%.*s%s%.*s", (int)t->off, c->s, num, (int)(end - t->off - t->len),
                         c->s + t->off + t->len);
}

static gw_err_t build_out(const chk_t *c, int64_t row_cap, gw_buf_t *out, gw_guard_verdict_t *v)
{
    const tok_t *last = &c->t[c->n - 1];
    size_t end = last->off + last->len;
    gw_err_t rc;
    if (row_cap <= 0)
        rc = gw_buf_add(out, c->s, end);
    else
        rc = cap_sql(c, end, row_cap, out);
    if (rc == GW_EINVAL)
        return gw__guard_refuse(v, GW_GUARD_CLAUSE, "LIMIT must be a plain number");
    if (rc == GW_EUNSUPPORTED)
        return gw__guard_refuse(v, GW_GUARD_CLAUSE, "only one LIMIT is allowed (besides LIMIT n BY)");
    if (rc != GW_OK)
        return gw__guard_fail(v, rc, "no room for the SQL");
    v->limit_added = out->len != end || memcmp(out->ptr, c->s, end) != 0;
    return GW_OK;
}

gw_err_t gw__gch_check(const char *sql, size_t len, int64_t row_cap, gw_buf_t *out,
                       gw_guard_verdict_t *v)
{
    lex_t L = {.s = sql, .n = len, .v = v};
    chk_t c = {.s = sql, .v = v};
    gw_err_t rc = tokenize(&L);
    if (rc != GW_OK)
        goto out;
    c.t = L.toks, c.n = L.ntoks;
    if (c.n > 0 && is_op(&c, c.n - 1, ";"))
        c.n--;
    if (c.n == 0) {
        rc = gw__guard_refuse(v, GW_GUARD_EMPTY, "the SQL has no statement");
        goto out;
    }
    rc = set_depths(&c);
    if (rc == GW_OK)
        rc = check_tokens(&c);
    if (rc == GW_OK)
        rc = build_out(&c, row_cap, out, v);
out:
    gw_free(L.toks);
    return rc;
}

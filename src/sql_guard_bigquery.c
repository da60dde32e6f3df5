/* sql_guard_bigquery.c - the BigQuery (GoogleSQL) dialect of the SQL guard.
 *
 * A tokenizer that follows GoogleSQL's lexical rules ('' "" ''' """ strings
 * with backslash escapes and b prefixes, `quoted identifiers`, # -- and
 * non-nested block comments), then structural rules over the tokens: one
 * statement, SELECT or WITH first, no scripting (DECLARE, SET, BEGIN, CALL,
 * EXECUTE IMMEDIATE, ...), DML or DDL words, no INFORMATION_SCHEMA, no
 * parameters or @@variables, no pipe syntax, every FROM/JOIN item a catalog
 * table of the configured dataset (table, dataset.table or
 * project.dataset.table, backticks allowed), a CTE in scope, UNNEST(...) or a
 * subquery; no table functions, no qualified function calls but SAFE.
 * Raw strings (r'...') are lexed like the others (a backslash keeps the
 * next byte inside, as in ZetaSQL's lexer) and refused when they hold a
 * backslash before their quote, where that reading could differ. Then the
 * outer LIMIT is checked and capped.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "catalog_schema.h"
#include "sql_guard_int.h"

typedef enum { B_WORD, B_QID, B_STR, B_NUM, B_OP } btok_kind_t;

typedef struct btok {
    btok_kind_t kind;
    size_t off, len; /* bytes in the SQL, quotes included */
    int depth;       /* bracket depth before the token */
} btok_t;

typedef struct cte {
    const char *name;
    size_t len, from, until; /* visible to tokens [from, until) */
} cte_t;

typedef struct bq {
    const char *s;
    size_t n, pos;
    btok_t *t;
    size_t nt, cap;
    cte_t *ctes;
    size_t nctes;
    const char *project, *dataset;
    gw_guard_verdict_t *v;
} bq_t;

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Words of other statements, scripting, DML and DDL: refused anywhere. */
static const char *const bq_statement_words[] = {
    "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "CREATE", "DROP", "ALTER", "UNDROP",
    "DECLARE", "SET", "BEGIN", "COMMIT", "ROLLBACK", "TRANSACTION", "CALL", "EXECUTE", "IMMEDIATE",
    "EXPORT", "LOAD", "GRANT", "REVOKE", "ASSERT", "RAISE", "RETURN", "LOOP", "WHILE", "REPEAT",
    "LEAVE", "BREAK", "CONTINUE", "ITERATE", "TABLE", "FUNCTION", "PROCEDURE", "MODEL", "CONNECTION",
    "DESCRIBE", "SHOW", "USE",
};

/* Clauses refused anywhere: OPTIONS(...), INTO, time travel (FOR
 * SYSTEM_TIME AS OF reads rows deleted on purpose). */
static const char *const bq_clause_words[] = {"OPTIONS", "INTO", "SYSTEM_TIME"};

/* Functions that reach outside the query's tables or reveal the caller. */
static const char *const bq_denied_fns[] = {
    "SESSION_USER", "EXTERNAL_QUERY", "EXTERNAL_OBJECT_TRANSFORM", "APPENDS", "CHANGES",
    "VECTOR_SEARCH", "GAP_FILL", "READ_FILE",
};

/* Words that may follow a FROM item (so they are not its alias). */
static const char *const bq_after_table[] = {
    "WHERE", "GROUP", "ORDER", "LIMIT", "HAVING", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS",
    "UNION", "INTERSECT", "EXCEPT", "USING", "ON", "WINDOW", "QUALIFY", "TABLESAMPLE", "PIVOT",
    "UNPIVOT", "WITH", "OUTER", "FOR",
};

/* Calls that own a FROM: EXTRACT(part FROM date) and friends. */
static const char *const bq_from_calls[] = {"EXTRACT", "SUBSTRING", "TRIM", "POSITION"};

/* Set operators at the top level: the row cap wraps the whole query. */
static const char *const bq_set_ops[] = {"UNION", "INTERSECT", "EXCEPT"};

static int in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (gw__guard_ieq(list[i], s, len))
            return 1;
    return 0;
}

/* ---- tokenizer ---- */

static int wordc(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static gw_err_t push(bq_t *b, btok_kind_t k, size_t off)
{
    if (b->nt == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        btok_t *t = gw_realloc(b->t, nc * sizeof(*t));
        if (t == NULL)
            return gw__guard_fail(b->v, GW_ENOMEM, "out of memory");
        b->t = t, b->cap = nc;
    }
    b->t[b->nt++] = (btok_t){k, off, b->pos - off, 0};
    return GW_OK;
}

/* A quoted token from b->pos (after any prefix that starts at off): '' ""
 * ''' """ strings or a `quoted identifier`; backslash escapes one byte. */
static gw_err_t lex_quoted(bq_t *b, size_t off)
{
    const char *s = b->s;
    char q = s[b->pos];
    int triple = q != '`' && b->pos + 2 < b->n && s[b->pos + 1] == q && s[b->pos + 2] == q;
    for (b->pos += triple ? 3 : 1; b->pos < b->n; b->pos++) {
        char c = s[b->pos];
        if (c == '\\') {
            b->pos++;
            continue;
        }
        if (c == '\n' && !triple)
            break; /* GoogleSQL: a one-line string or identifier cannot hold a newline */
        if (c == q && (!triple || (b->pos + 2 < b->n && s[b->pos + 1] == q && s[b->pos + 2] == q))) {
            b->pos += triple ? 3 : 1;
            return push(b, q == '`' ? B_QID : B_STR, off);
        }
    }
    return gw__guard_refuse(b->v, GW_GUARD_SYNTAX, "unterminated %s at byte %zu",
                            q == '`' ? "quoted identifier" : "string", off);
}

static gw_err_t lex_number(bq_t *b)
{
    const char *s = b->s;
    size_t off = b->pos, n = b->n;
    if (b->pos + 2 < n && s[b->pos] == '0' && (s[b->pos + 1] == 'x' || s[b->pos + 1] == 'X')) {
        for (b->pos += 2; b->pos < n && isxdigit((unsigned char)s[b->pos]);)
            b->pos++;
    } else {
        while (b->pos < n && isdigit((unsigned char)s[b->pos]))
            b->pos++;
        if (b->pos < n && s[b->pos] == '.')
            for (b->pos++; b->pos < n && isdigit((unsigned char)s[b->pos]);)
                b->pos++;
        size_t e = b->pos + 1; /* an exponent: e, an optional sign, digits */
        if (e < n && (s[e] == '-' || s[e] == '+'))
            e++;
        if (b->pos < n && (s[b->pos] == 'e' || s[b->pos] == 'E') && e < n && isdigit((unsigned char)s[e]))
            for (b->pos = e; b->pos < n && isdigit((unsigned char)s[b->pos]);)
                b->pos++;
    }
    if (b->pos < n && (wordc(s[b->pos]) || s[b->pos] == '.'))
        return gw__guard_refuse(b->v, GW_GUARD_SYNTAX, "malformed number at byte %zu", off);
    return push(b, B_NUM, off);
}

/* Skips a comment at pos: 1 skipped, 0 none, -1 refused. */
static int lex_comment(bq_t *b)
{
    const char *s = b->s;
    size_t p = b->pos, n = b->n;
    if (s[p] == '#' || (p + 1 < n && s[p] == '-' && s[p + 1] == '-')) {
        while (b->pos < n && s[b->pos] != '\n')
            b->pos++;
        return 1;
    }
    if (p + 1 < n && s[p] == '/' && s[p + 1] == '*') {
        for (b->pos = p + 2; b->pos + 1 < n; b->pos++) {
            if (s[b->pos] == '/' && s[b->pos + 1] == '*') {
                gw__guard_refuse(b->v, GW_GUARD_SYNTAX, "nested comments are not allowed");
                return -1;
            }
            if (s[b->pos] == '*' && s[b->pos + 1] == '/') {
                b->pos += 2;
                return 1;
            }
        }
        gw__guard_refuse(b->v, GW_GUARD_SYNTAX, "unterminated comment at byte %zu", p);
        return -1;
    }
    return 0;
}

/* GoogleSQL operators; longest first. */
static const char *const bq_ops[] = {"<<", ">>", "<=", ">=", "!=", "<>", "||", "=>", "(", ")", "[", "]", ",",
                                     ";", "+", "-", "*", "/", "%", "=", "<", ">", ".", "&", "|", "^", "~"};

static gw_err_t lex_op(bq_t *b)
{
    const char *s = b->s + b->pos;
    size_t left = b->n - b->pos, off = b->pos;
    if (left > 1 && s[0] == '|' && s[1] == '>')
        return gw__guard_refuse(b->v, GW_GUARD_CLAUSE, "pipe syntax (|>) is not allowed");
    if (s[0] == '.' && left > 1 && isdigit((unsigned char)s[1]) &&
        !(b->nt > 0 && b->t[b->nt - 1].kind != B_OP))
        return lex_number(b);
    for (size_t i = 0; i < N_OF(bq_ops); i++) {
        size_t k = strlen(bq_ops[i]);
        if (k <= left && memcmp(s, bq_ops[i], k) == 0) {
            b->pos += k;
            return push(b, B_OP, off);
        }
    }
    if (s[0] == '@' || s[0] == '?')
        return gw__guard_refuse(b->v, GW_GUARD_CLAUSE, "query parameters and @@system variables are not allowed");
    if ((unsigned char)s[0] >= 0x80)
        return gw__guard_refuse(b->v, GW_GUARD_BAD_TEXT,
                                "non-ASCII text outside quotes at byte %zu (identifiers must be ASCII)", off);
    return gw__guard_refuse(b->v, GW_GUARD_BAD_TEXT, "unexpected character '%c' at byte %zu", s[0], off);
}

/* A raw string at off (prefix included): refused when a backslash stands
 * before its quote character anywhere inside. */
static gw_err_t check_raw(bq_t *b, size_t off)
{
    const btok_t *t = &b->t[b->nt - 1];
    const char *s = b->s + t->off;
    size_t q = strspn(s, "rRbB");
    for (size_t i = q; i + 1 < t->len; i++)
        if (s[i] == '\\' && s[i + 1] == s[q])
            return gw__guard_refuse(b->v, GW_GUARD_BAD_TEXT,
                                    "a raw string may not hold a backslash before its quote (byte %zu)", off);
    return GW_OK;
}

/* A word, or a string with a b / r / rb / br prefix. */
static gw_err_t lex_word(bq_t *b)
{
    size_t off = b->pos;
    while (b->pos < b->n && wordc(b->s[b->pos]))
        b->pos++;
    size_t len = b->pos - off;
    if (b->pos < b->n && (b->s[b->pos] == '\'' || b->s[b->pos] == '"') && len <= 2 &&
        strspn(b->s + off, "rRbB") >= len && !(len == 2 && tolower((unsigned char)b->s[off]) ==
                                                              tolower((unsigned char)b->s[off + 1]))) {
        int raw = memchr(b->s + off, 'r', len) != NULL || memchr(b->s + off, 'R', len) != NULL;
        gw_err_t rc = lex_quoted(b, off);
        return rc == GW_OK && raw ? check_raw(b, off) : rc;
    }
    return push(b, B_WORD, off);
}

static gw_err_t tokenize(bq_t *b)
{
    gw_err_t rc = GW_OK;
    while (rc == GW_OK && b->pos < b->n) {
        char c = b->s[b->pos];
        int cm;
        if (strchr(" \t\n\r\f\v", c) != NULL)
            b->pos++;
        else if ((cm = lex_comment(b)) != 0)
            rc = cm < 0 ? GW_EDENIED : GW_OK;
        else if (c == '\'' || c == '"' || c == '`')
            rc = lex_quoted(b, b->pos);
        else if (isdigit((unsigned char)c))
            rc = lex_number(b);
        else if (wordc(c))
            rc = lex_word(b);
        else
            rc = lex_op(b);
    }
    return rc;
}

/* ---- token helpers ---- */

static int is_op(const bq_t *b, size_t i, const char *op)
{
    return i < b->nt && b->t[i].kind == B_OP && b->t[i].len == strlen(op) &&
           memcmp(b->s + b->t[i].off, op, b->t[i].len) == 0;
}

static int is_kw(const bq_t *b, size_t i, const char *kw)
{
    return i < b->nt && b->t[i].kind == B_WORD && gw__guard_ieq(kw, b->s + b->t[i].off, b->t[i].len);
}

static int word_in(const bq_t *b, size_t i, const char *const *list, size_t n)
{
    return i < b->nt && b->t[i].kind == B_WORD && in_list(list, n, b->s + b->t[i].off, b->t[i].len);
}

static int is_name(const bq_t *b, size_t i)
{
    return i < b->nt && (b->t[i].kind == B_WORD || b->t[i].kind == B_QID);
}

/* The text of a word or quoted identifier (backticks stripped). */
static const char *name_of(const bq_t *b, size_t i, size_t *len)
{
    const btok_t *t = &b->t[i];
    *len = t->kind == B_QID ? t->len - 2 : t->len;
    return b->s + t->off + (t->kind == B_QID);
}

static gw_err_t set_depths(bq_t *b)
{
    char stack[200];
    int d = 0;
    for (size_t i = 0; i < b->nt; i++) {
        b->t[i].depth = d;
        if (is_op(b, i, "(") || is_op(b, i, "[")) {
            if (d >= (int)sizeof(stack))
                return gw__guard_refuse(b->v, GW_GUARD_TOO_LONG, "the query is nested too deeply");
            stack[d++] = b->s[b->t[i].off];
        } else if (is_op(b, i, ")") || is_op(b, i, "]")) {
            if (d == 0 || stack[d - 1] != (is_op(b, i, ")") ? '(' : '['))
                return gw__guard_refuse(b->v, GW_GUARD_SYNTAX, "unbalanced brackets");
            b->t[i].depth = --d;
        }
    }
    return d == 0 ? GW_OK : gw__guard_refuse(b->v, GW_GUARD_SYNTAX, "unbalanced brackets");
}

/* Index of the bracket closing the one opened at i. */
static size_t close_of(const bq_t *b, size_t i)
{
    size_t j = i + 1;
    while (j < b->nt && b->t[j].depth > b->t[i].depth)
        j++;
    return j;
}

/* First index after i whose depth is below token i's (its scope's end). */
static size_t scope_end(const bq_t *b, size_t i)
{
    size_t j = i + 1;
    while (j < b->nt && b->t[j].depth >= b->t[i].depth)
        j++;
    return j;
}

/* ---- CTEs ---- */

/* WITH [RECURSIVE] name AS (...) [, name AS (...)]... at w: records each
 * name, visible after its body (from its name when RECURSIVE) up to the end
 * of the enclosing query. Other WITHs (WITH OFFSET) are left alone. */
static gw_err_t collect_ctes(bq_t *b, size_t w)
{
    size_t i = w + 1, end = scope_end(b, w);
    int rec = is_kw(b, i, "RECURSIVE");
    i += rec;
    while (is_name(b, i) && is_kw(b, i + 1, "AS") && is_op(b, i + 2, "(")) {
        size_t close = close_of(b, i + 2);
        cte_t *c = gw_realloc(b->ctes, (b->nctes + 1) * sizeof(*c));
        if (c == NULL)
            return gw__guard_fail(b->v, GW_ENOMEM, "out of memory");
        b->ctes = c;
        c = &b->ctes[b->nctes++];
        c->name = name_of(b, i, &c->len);
        c->from = rec ? i : close + 1;
        c->until = end;
        if (!is_op(b, close + 1, ","))
            break;
        i = close + 2;
    }
    return GW_OK;
}

static int cte_visible(const bq_t *b, const char *name, size_t len, size_t at)
{
    for (size_t k = 0; k < b->nctes; k++)
        if (b->ctes[k].len == len && strncasecmp(b->ctes[k].name, name, len) == 0 && at >= b->ctes[k].from &&
            at < b->ctes[k].until)
            return 1;
    return 0;
}

/* ---- FROM items ---- */

/* 1 when s[0..n) contains w (ASCII case-insensitive). */
static int contains_ci(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(s + i, w, k) == 0)
            return 1;
    return 0;
}


/* Joins the dotted name path from i ("a.`b.c`.d" -> "a.b.c.d") into path;
 * returns the index after it, or SIZE_MAX when it does not fit. */
static size_t read_path(const bq_t *b, size_t i, char *path, size_t cap, size_t *plen)
{
    size_t len, o = 0;
    for (;;) {
        const char *p = name_of(b, i, &len);
        if (o + len + 2 > cap)
            return SIZE_MAX;
        memcpy(path + o, p, len);
        o += len;
        if (!(is_op(b, i + 1, ".") && is_name(b, i + 2)))
            break;
        path[o++] = '.';
        i += 2;
    }
    path[o] = '\0';
    *plen = o;
    return i + 1;
}

/* 1 when path is T, D.T or P.D.T for a catalog table T, the configured
 * dataset D and project P (exact case, like BigQuery's table names). */
static int catalog_path(const bq_t *b, const char *path, size_t len)
{
    const char *dot2 = memrchr(path, '.', len), *t = dot2 ? dot2 + 1 : path;
    size_t tlen = len - (size_t)(t - path);
    const gw_catalog_table_t *tab = gw_catalog_find_table(t, tlen);
    if (tab == NULL || memcmp(tab->name, t, tlen) != 0)
        return 0;
    if (dot2 == NULL)
        return 1;
    size_t head = (size_t)(dot2 - path), dl = strlen(b->dataset), pl = b->project ? strlen(b->project) : 0;
    if (head == dl && memcmp(path, b->dataset, dl) == 0)
        return 1;
    return b->project != NULL && head == pl + 1 + dl && memcmp(path, b->project, pl) == 0 && path[pl] == '.' &&
           memcmp(path + pl + 1, b->dataset, dl) == 0;
}

/* One FROM/JOIN item at i: returns the index after it (alias included) or
 * SIZE_MAX with v filled. */
static size_t from_item(bq_t *b, size_t i)
{
    char path[1024];
    size_t plen, j;
    if (is_op(b, i, "(")) {
        if (!is_kw(b, i + 1, "SELECT") && !is_kw(b, i + 1, "WITH") && !is_op(b, i + 1, "("))
            return gw__guard_refuse(b->v, GW_GUARD_UNSAFE, "FROM ( must start a subquery (SELECT ...)"), SIZE_MAX;
        j = close_of(b, i) + 1;
    } else if (is_kw(b, i, "UNNEST") && is_op(b, i + 1, "(")) {
        j = close_of(b, i + 1) + 1;
    } else if (is_name(b, i)) {
        if ((j = read_path(b, i, path, sizeof path, &plen)) == SIZE_MAX)
            return gw__guard_refuse(b->v, GW_GUARD_TABLE, "table name too long"), SIZE_MAX;
        if (is_op(b, j, "("))
            return gw__guard_refuse(b->v, GW_GUARD_TABLE_FUNCTION, "table function %s is not allowed", path), SIZE_MAX;
        if (contains_ci(path, plen, "INFORMATION_SCHEMA"))
            return gw__guard_refuse(b->v, GW_GUARD_SCHEMA, "INFORMATION_SCHEMA is not allowed"), SIZE_MAX;
        int cte = j == i + 1 && cte_visible(b, path, plen, i);
        if (!cte && !catalog_path(b, path, plen))
            return gw__guard_refuse(b->v, strchr(path, '.') ? GW_GUARD_SCHEMA : GW_GUARD_TABLE,
                                    "table '%s' is not in the catalog (only %s%s%s.<table>)", path,
                                    b->project ? b->project : "", b->project ? "." : "", b->dataset),
                   SIZE_MAX;
    } else {
        return gw__guard_refuse(b->v, GW_GUARD_UNSAFE, "FROM and JOIN must name a catalog table or a subquery"),
               SIZE_MAX;
    }
    if (is_kw(b, j, "AS"))
        j += 2;
    else if (is_name(b, j) && !word_in(b, j, bq_after_table, N_OF(bq_after_table)))
        j++;
    return j;
}

/* FROM at i: its comma-separated items (a comma is a cross join). */
static gw_err_t check_from(bq_t *b, size_t i)
{
    size_t j = i + 1;
    for (;;) {
        if ((j = from_item(b, j)) == SIZE_MAX)
            return GW_EDENIED;
        if (!is_op(b, j, ",") || b->t[j].depth != b->t[i].depth)
            return GW_OK;
        j++;
    }
}

static int from_in_call(const bq_t *b, size_t i)
{
    int d = b->t[i].depth;
    for (size_t j = i; j-- > 0;)
        if (b->t[j].depth < d)
            return is_op(b, j, "(") && j > 0 && word_in(b, j - 1, bq_from_calls, N_OF(bq_from_calls));
    return 0;
}

/* ---- rules ---- */

/* Every name: no INFORMATION_SCHEMA in any part, no escapes in quoted
 * names; before '(' (a call): deny-list, no qualified or quoted names. */
static gw_err_t check_name(bq_t *b, size_t i)
{
    size_t len;
    const char *name = name_of(b, i, &len);
    if (contains_ci(name, len, "INFORMATION_SCHEMA"))
        return gw__guard_refuse(b->v, GW_GUARD_SCHEMA, "INFORMATION_SCHEMA is not allowed");
    if (b->t[i].kind == B_QID && (memchr(name, '\\', len) != NULL || len == 0))
        return gw__guard_refuse(b->v, GW_GUARD_BAD_TEXT, "escapes in quoted identifiers are not allowed");
    if (!is_op(b, i + 1, "("))
        return GW_OK;
    if (in_list(bq_denied_fns, N_OF(bq_denied_fns), name, len))
        return gw__guard_refuse(b->v, GW_GUARD_FUNCTION, "function %.*s is not allowed", (int)len, name);
    if (i >= 2 && is_op(b, i - 1, ".") && is_name(b, i - 2) && !is_kw(b, i - 2, "SAFE"))
        return gw__guard_refuse(b->v, GW_GUARD_FUNCTION, "qualified function calls (%.*s.%.*s) are not allowed",
                                (int)b->t[i - 2].len, b->s + b->t[i - 2].off, (int)len, name);
    if (b->t[i].kind == B_QID || memchr(name, '.', len) != NULL)
        return gw__guard_refuse(b->v, GW_GUARD_FUNCTION, "quoted function names are not allowed");
    return GW_OK;
}

static gw_err_t check_word(bq_t *b, size_t i)
{
    const char *w = b->s + b->t[i].off;
    size_t len = b->t[i].len;
    if (in_list(bq_statement_words, N_OF(bq_statement_words), w, len))
        return gw__guard_refuse(b->v, GW_GUARD_NOT_SELECT, "only one SELECT is allowed (found %.*s)", (int)len, w);
    if (in_list(bq_clause_words, N_OF(bq_clause_words), w, len))
        return gw__guard_refuse(b->v, GW_GUARD_CLAUSE, "%.*s is not allowed", (int)len, w);
    if (gw__guard_ieq("FROM", w, len) && i > 0 && is_kw(b, i - 1, "DISTINCT"))
        return GW_OK; /* a IS [NOT] DISTINCT FROM b */
    if ((gw__guard_ieq("FROM", w, len) && !from_in_call(b, i)) || gw__guard_ieq("JOIN", w, len))
        return gw__guard_ieq("JOIN", w, len) ? (from_item(b, i + 1) == SIZE_MAX ? GW_EDENIED : GW_OK)
                                             : check_from(b, i);
    return GW_OK;
}

static gw_err_t check_tokens(bq_t *b)
{
    size_t first = 0;
    while (is_op(b, first, "("))
        first++;
    if (!is_kw(b, first, "SELECT") && !is_kw(b, first, "WITH"))
        return gw__guard_refuse(b->v, GW_GUARD_NOT_SELECT, "only SELECT is allowed");
    /* CTEs first, so a FROM before a nested WITH's end sees every name */
    gw_err_t rc = GW_OK;
    for (size_t i = 0; rc == GW_OK && i < b->nt; i++)
        if (is_kw(b, i, "WITH"))
            rc = collect_ctes(b, i);
    for (size_t i = 0; rc == GW_OK && i < b->nt; i++) {
        if (is_op(b, i, ";"))
            return gw__guard_refuse(b->v, GW_GUARD_MULTI, "multiple statements are not allowed");
        if (is_name(b, i))
            rc = check_name(b, i);
        if (rc == GW_OK && b->t[i].kind == B_WORD)
            rc = check_word(b, i);
    }
    return rc;
}

/* ---- the row cap ---- */

static int all_digits(const bq_t *b, size_t i)
{
    if (i >= b->nt || b->t[i].kind != B_NUM)
        return 0;
    for (size_t k = 0; k < b->t[i].len; k++)
        if (!isdigit((unsigned char)b->s[b->t[i].off + k]))
            return 0;
    return 1;
}

/* The outer LIMIT: *cnt = its count token (SIZE_MAX: none), *set_op = 1
 * for a top-level UNION / INTERSECT / EXCEPT. GW_EINVAL unless every
 * top-level LIMIT is the last clause, "LIMIT digits [OFFSET digits]". */
static gw_err_t outer_limit(const bq_t *b, size_t *cnt, int *set_op)
{
    *cnt = SIZE_MAX, *set_op = 0;
    for (size_t i = 0; i < b->nt; i++) {
        if (b->t[i].depth != 0)
            continue;
        if (word_in(b, i, bq_set_ops, N_OF(bq_set_ops)) && (is_kw(b, i + 1, "ALL") || is_kw(b, i + 1, "DISTINCT")))
            *set_op = 1;
        if (!is_kw(b, i, "LIMIT"))
            continue;
        size_t after = i + 2;
        if (is_kw(b, after, "OFFSET"))
            after += all_digits(b, after + 1) ? 2 : 0;
        if (*cnt != SIZE_MAX || !all_digits(b, i + 1) || (after < b->nt && !is_op(b, after, ")")))
            return GW_EINVAL;
        *cnt = i + 1;
    }
    return GW_OK;
}

/* Writes the SQL with the outermost LIMIT at most cap: LIMIT n [OFFSET m]
 * lowered or appended; a top-level set operation is wrapped. */
static gw_err_t cap_sql(const bq_t *b, size_t end, int64_t cap, gw_buf_t *out)
{
    size_t cnt;
    int set_op;
    char num[24];
    snprintf(num, sizeof(num), "%lld", (long long)cap);
    if (outer_limit(b, &cnt, &set_op) != GW_OK)
        return GW_EINVAL;
    if (set_op)
        return gw_buf_printf(out, "SELECT * FROM (\n%.*s\n) LIMIT %s", (int)end, b->s, num);
    if (cnt == SIZE_MAX)
        return gw_buf_printf(out, "%.*s\nLIMIT %s", (int)end, b->s, num);
    const btok_t *t = &b->t[cnt];
    size_t z = 0, nl = strlen(num);
    while (z + 1 < t->len && b->s[t->off + z] == '0')
        z++;
    size_t dl = t->len - z;
    if (dl < nl || (dl == nl && memcmp(b->s + t->off + z, num, nl) <= 0))
        return gw_buf_add(out, b->s, end);
    return gw_buf_printf(out, "%.*s%s%.*s", (int)t->off, b->s, num, (int)(end - t->off - t->len),
                         b->s + t->off + t->len);
}

static gw_err_t build_out(const bq_t *b, int64_t row_cap, gw_buf_t *out, gw_guard_verdict_t *v)
{
    const btok_t *last = &b->t[b->nt - 1];
    size_t end = last->off + last->len;
    size_t cnt;
    int set_op;
    gw_err_t rc = outer_limit(b, &cnt, &set_op);
    if (rc == GW_OK)
        rc = row_cap <= 0 ? gw_buf_add(out, b->s, end) : cap_sql(b, end, row_cap, out);
    if (rc == GW_EINVAL)
        return gw__guard_refuse(v, GW_GUARD_CLAUSE, "only one outer LIMIT, a plain number, is allowed");
    if (rc != GW_OK)
        return gw__guard_fail(v, rc, "no room for the SQL");
    v->limit_added = out->len != end || memcmp(out->ptr, b->s, end) != 0;
    return GW_OK;
}

gw_err_t gw__gbq_check(const char *project, const char *dataset, const char *sql, size_t len, int64_t row_cap,
                       gw_buf_t *out, gw_guard_verdict_t *v)
{
    bq_t b = {.s = sql, .n = len, .project = project, .dataset = dataset, .v = v};
    gw_err_t rc = tokenize(&b);
    if (rc != GW_OK)
        goto out;
    if (b.nt > 0 && is_op(&b, b.nt - 1, ";"))
        b.nt--;
    if (b.nt == 0) {
        rc = gw__guard_refuse(v, GW_GUARD_EMPTY, "the SQL has no statement");
        goto out;
    }
    if ((rc = set_depths(&b)) == GW_OK && (rc = check_tokens(&b)) == GW_OK)
        rc = build_out(&b, row_cap, out, v);
out:
    gw_free(b.t);
    gw_free(b.ctes);
    return rc;
}

/* engine_bigquery_sql.c - the BigQuery engine's built-in SQL check: one
 * statement, starting with SELECT or WITH, valid UTF-8. It is a lexical
 * second wall behind the SQL guard (which owns the real rules), so it only
 * needs GoogleSQL's token boundaries: '..', "..", '''..''', """..""" (with
 * r/b prefixes, backslash escapes), `identifiers`, --, # and block comments.
 */
#include "engine_bigquery_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Skips blanks and comments from i; sets *bad on an unterminated comment. */
static size_t skip_blank(const char *s, size_t i, size_t n, int *bad)
{
    for (;;) {
        while (i < n && is_space(s[i]))
            i++;
        if (i < n && (s[i] == '#' || (s[i] == '-' && i + 1 < n && s[i + 1] == '-'))) {
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
            const char *e = memmem(s + i + 2, n - i - 2, "*/", 2);
            if (e == NULL) {
                *bad = 1;
                return n;
            }
            i = (size_t)(e - s) + 2;
            continue;
        }
        return i;
    }
}

/* Skips the quoted token starting at s[i]; returns the index after it, or
 * n + 1 when it is not terminated. */
static size_t skip_quoted(const char *s, size_t i, size_t n)
{
    char q = s[i];
    int triple = q != '`' && i + 2 < n && s[i + 1] == q && s[i + 2] == q;
    for (i += triple ? 3 : 1; i < n; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == q && !triple)
            return i + 1;
        if (s[i] == q && i + 2 < n && s[i + 1] == q && s[i + 2] == q)
            return i + 3;
    }
    return n + 1;
}

static int keyword_at(const char *s, size_t i, size_t n, const char *kw)
{
    size_t k = strlen(kw);
    return i + k <= n && strncasecmp(s + i, kw, k) == 0 && (i + k == n || !ident_char(s[i + k]));
}

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], need, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, min = 0x10000;
        else
            return 0;
        if (i + need >= n)
            return 0;
        unsigned cp = c & (0x3F >> need);
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

static gw_err_t deny(char *msg, size_t msglen, const char *why)
{
    snprintf(msg, msglen, "%s", why);
    return GW_EDENIED;
}

/* Scans for a top-level ';'. Returns GW_OK with *cut at it (or n). */
static gw_err_t find_end(const char *s, size_t n, size_t *cut, char *msg, size_t msglen)
{
    int bad = 0;
    for (size_t i = 0;;) {
        size_t j = skip_blank(s, i, n, &bad);
        if (bad)
            return deny(msg, msglen, "the query has an unterminated comment");
        if (j >= n) {
            *cut = n;
            return GW_OK;
        }
        if (s[j] == '\'' || s[j] == '"' || s[j] == '`') {
            if ((i = skip_quoted(s, j, n)) > n)
                return deny(msg, msglen, "the query has an unterminated quoted string or identifier");
            continue;
        }
        if (s[j] == ';') {
            size_t k = j;
            while ((k = skip_blank(s, k, n, &bad)) < n && s[k] == ';')
                k++;
            if (k < n || bad)
                return deny(msg, msglen, "only one statement may run on BigQuery; the query has more");
            *cut = j;
            return GW_OK;
        }
        i = j + 1;
    }
}

gw_err_t gw__bq_check_sql(gw_buf_t *sql, char *msg, size_t msglen)
{
    const char *s = sql->ptr != NULL ? sql->ptr : "";
    size_t n = sql->len, i, cut = 0;
    int bad = 0;
    if (memchr(s, '\0', n) != NULL)
        return deny(msg, msglen, "the query contains a NUL byte");
    if (!utf8_ok((const unsigned char *)s, n))
        return deny(msg, msglen, "the query is not valid UTF-8");
    i = skip_blank(s, 0, n, &bad);
    while (i < n && s[i] == '(')
        i = skip_blank(s, i + 1, n, &bad);
    if (i >= n)
        return deny(msg, msglen, "the query is empty");
    if (!keyword_at(s, i, n, "SELECT") && !keyword_at(s, i, n, "WITH"))
        return deny(msg, msglen, "only a read-only SELECT (or WITH ... SELECT) may run on BigQuery");
    gw_err_t rc = find_end(s, n, &cut, msg, msglen);
    if (rc == GW_OK && cut < n) {
        sql->len = cut;
        sql->ptr[cut] = '\0';
    }
    return rc;
}

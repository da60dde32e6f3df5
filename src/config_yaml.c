/* config_yaml.c - lets ${VAR} stand inside YAML flow collections.
 *
 * system.md 4 writes `{name: gemini, ..., api_key: ${GEMINI_API_KEY}}`, but
 * in YAML { and } are flow indicators, so a plain scalar inside {...} or
 * [...] cannot hold them and libfyaml rejects the line. Before parsing, a
 * small lexer finds each ${NAME} in a plain scalar of a flow collection and
 * rewrites it in place, at the same length, to $(NAME); offsets and lines
 * do not move. The loader turns exactly those offsets back into ${NAME}
 * before expanding, so a literal $(X) written by the user stays literal.
 * The same pass finds explicit keys ("? key"), which the loader refuses:
 * the schema has no use for them and libfyaml 0.7.12 crashes on some
 * ("? s:<TAB>:" is a double free in its scanner).
 */
#include <ctype.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "config_int.h"

typedef struct lexer {
    char *t;
    size_t len, i;
    size_t depth;      /* flow nesting */
    int tok_start;     /* the next non-blank character begins a token */
    size_t indent;     /* indentation of the current line */
    int block_skip;    /* inside a | or > block scalar */
    size_t block_indent;
    size_t *offs;
    size_t n, cap;
    size_t qmark;      /* offset of the first explicit-key '?', or len */
} lexer_t;

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static int is_break(char c) { return c == '\n' || c == '\r'; }
static int ends_word(const lexer_t *l, size_t j) { return j >= l->len || is_blank(l->t[j]) || is_break(l->t[j]); }

/* Skips to the end of the line (the newline stays). */
static void skip_line(lexer_t *l)
{
    while (l->i < l->len && l->t[l->i] != '\n')
        l->i++;
}

/* At a line start: measures the indentation and ends a block scalar when
 * the line is indented no deeper than its parent. */
static void line_start(lexer_t *l)
{
    size_t j = l->i;
    while (j < l->len && l->t[j] == ' ')
        j++;
    l->indent = j - l->i;
    if (l->block_skip) {
        int blank = j >= l->len || is_break(l->t[j]);
        if (blank || l->indent > l->block_indent) {
            l->i = j;
            skip_line(l);
            return;
        }
        l->block_skip = 0;
    }
    l->i = j;
    if (l->depth == 0)
        l->tok_start = 1;
}

static void skip_quoted(lexer_t *l)
{
    char q = l->t[l->i++];
    while (l->i < l->len) {
        char c = l->t[l->i];
        if (q == '"' && c == '\\') {
            l->i += 2;
        } else if (c == q && q == '\'' && l->i + 1 < l->len && l->t[l->i + 1] == '\'') {
            l->i += 2;
        } else if (c == q) {
            l->i++;
            break;
        } else {
            l->i++;
        }
    }
    if (l->i > l->len)
        l->i = l->len;
    l->tok_start = 0;
}

/* At "${": rewrites a well-formed ${NAME} and records its offset. */
static gw_err_t try_rewrite(lexer_t *l)
{
    size_t j = l->i + 2;
    if (j >= l->len || !(isalpha((unsigned char)l->t[j]) || l->t[j] == '_'))
        return GW_OK;
    while (j < l->len && (isalnum((unsigned char)l->t[j]) || l->t[j] == '_'))
        j++;
    if (j >= l->len || l->t[j] != '}')
        return GW_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        size_t *o = gw_realloc(l->offs, cap * sizeof *o);
        if (o == NULL)
            return GW_ENOMEM;
        l->offs = o;
        l->cap = cap;
    }
    l->offs[l->n++] = l->i;
    l->t[l->i + 1] = '(';
    l->t[j] = ')';
    l->i = j;
    return GW_OK;
}

/* A token start in block context: flow start, quote, block scalar,
 * sequence entry, anchor or tag. Returns 1 when it consumed something. */
static int block_token(lexer_t *l, char c)
{
    if (c == '|' || c == '>') {
        l->block_skip = 1;
        l->block_indent = l->indent;
        skip_line(l);
        return 1;
    }
    if ((c == '-' || c == '?') && ends_word(l, l->i + 1)) {
        if (c == '?' && l->qmark == l->len)
            l->qmark = l->i;
        l->i++;
        return 1; /* still at a token start */
    }
    if (c == '&' || c == '!') {
        while (!ends_word(l, l->i))
            l->i++;
        return 1;
    }
    return 0;
}

/* One character (not blank, not a newline, not a comment). */
static gw_err_t step(lexer_t *l, char c)
{
    char nx = l->i + 1 < l->len ? l->t[l->i + 1] : '\n';
    if (l->tok_start && (c == '"' || c == '\'')) {
        skip_quoted(l);
        return GW_OK;
    }
    if (l->tok_start && l->depth > 0 && c == '?' && (is_blank(nx) || is_break(nx)) && l->qmark == l->len)
        l->qmark = l->i;
    if ((l->tok_start || l->depth > 0) && (c == '{' || c == '[')) {
        l->depth++;
        l->tok_start = 1;
    } else if (l->tok_start && l->depth == 0 && block_token(l, c)) {
        return GW_OK;
    } else if (l->depth > 0 && (c == '}' || c == ']')) {
        l->depth--;
        l->tok_start = 0;
    } else if (l->depth > 0 && c == ',') {
        l->tok_start = 1;
    } else if (c == ':' && (is_blank(nx) || is_break(nx) || (l->depth > 0 && strchr(",[]{}\"'", nx) != NULL))) {
        l->tok_start = 1;
    } else {
        l->tok_start = 0;
        if (l->depth > 0 && c == '$' && nx == '{')
            return try_rewrite(l) == GW_OK ? (l->i++, GW_OK) : GW_ENOMEM;
    }
    l->i++;
    return GW_OK;
}

gw_err_t gw_config_flow_env_fixup(char *text, size_t len, size_t **offs, size_t *n)
{
    size_t qmark;
    return gw__cfg_lex(text, len, offs, n, &qmark);
}

gw_err_t gw__cfg_lex(char *text, size_t len, size_t **offs, size_t *n, size_t *qmark)
{
    lexer_t l = {.t = text, .len = len, .tok_start = 1, .qmark = len};
    gw_err_t rc = GW_OK;
    int at_line_start = 1;
    while (rc == GW_OK && l.i < l.len) {
        char c = l.t[l.i];
        if (at_line_start) {
            at_line_start = 0;
            line_start(&l);
        } else if (c == '\n') {
            at_line_start = 1;
            l.i++;
        } else if (is_blank(c) || c == '\r') {
            l.i++;
        } else if (c == '#' && (l.i == 0 || is_blank(l.t[l.i - 1]) || is_break(l.t[l.i - 1]))) {
            skip_line(&l);
        } else {
            rc = step(&l, c);
        }
    }
    *qmark = l.qmark;
    if (rc == GW_OK && offs != NULL) {
        *offs = l.offs;
        *n = l.n;
        l.offs = NULL;
    } else if (n != NULL) {
        *n = rc == GW_OK ? l.n : 0;
    }
    gw_free(l.offs);
    return rc;
}

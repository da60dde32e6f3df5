/* search_text.c - the text normaliser of the search index: the same steps
 * for documents and queries, so a query term meets the document term.
 *
 * Bytes -> tokens: ASCII letters lower-cased, digits kept; UTF-8 letters
 * of Latin-1 and Latin Extended-A folded to ASCII (é -> e, ß -> ss,
 * Œ -> oe); combining accents (U+0300..U+036F) dropped inside a word;
 * everything else (punctuation, other scripts, invalid UTF-8) separates
 * words. Tokens -> terms: stop words and one-letter words out, then the
 * plural stemmer (an S-stemmer after Harman 1991, with -ches/-shes/-sses/
 * -xes/-zzes -> drop "es", so boxes -> box and glasses -> glass).
 */
#include <string.h>

#include "search_int.h"

/* ASCII folds of U+00C0..U+017F; "" separates words (x and divide signs). */
static const char *const fold_tab[192] = {
    /* C0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* D0 */ "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
    /* E0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* F0 */ "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
    /* 100 */ "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    /* 110 */ "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    /* 120 */ "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    /* 130 */ "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    /* 140 */ "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    /* 150 */ "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    /* 160 */ "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    /* 170 */ "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};

/* Checked before stemming; none is longer than STOP_LEN_MAX. */
#define STOP_LEN_MAX 5
static const struct stop_word {
    const char *w;
    size_t n;
} stop_words[] = {
#define W(s) {s, sizeof(s) - 1}
    W("an"),   W("and"),  W("are"),   W("as"),    W("at"),    W("be"),    W("but"),  W("by"),    W("for"),
    W("from"), W("has"),  W("have"),  W("he"),    W("her"),   W("his"),   W("if"),   W("in"),    W("into"),
    W("is"),   W("it"),   W("its"),   W("me"),    W("my"),    W("no"),    W("not"),  W("of"),    W("on"),
    W("or"),   W("our"),  W("she"),   W("so"),    W("than"),  W("that"),  W("the"),  W("their"), W("them"),
    W("then"), W("there"), W("these"), W("they"), W("this"),  W("those"), W("to"),   W("too"),   W("us"),
    W("was"),  W("we"),   W("were"),  W("what"),  W("when"),  W("where"), W("which"), W("who"),  W("will"),
    W("with"), W("you"),  W("your"),
#undef W
};

long gw__search_utf8_decode(const unsigned char *s, size_t len, size_t *used)
{
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
    static const long min[5] = {0, 0, 0x80, 0x800, 0x10000};
    *used = 1;
    if (n == 1 || s[0] > 0xF4 || n > len)
        return -1;
    long cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *used = n;
    return cp;
}

/* What the character at lx->pos adds to a word: sets *add to its ASCII
 * form ("" for a combining accent) and returns true, or returns false for
 * a separator. Advances lx->pos. */
static bool lex_char(gw__search_lex_t *lx, char one[2], const char **add)
{
    unsigned char c = (unsigned char)lx->s[lx->pos];
    if (c < 0x80) {
        lx->pos++;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            one[0] = (char)c;
        } else if (c >= 'A' && c <= 'Z') {
            one[0] = (char)(c - 'A' + 'a');
        } else {
            return false;
        }
        one[1] = '\0';
        *add = one;
        return true;
    }
    size_t used;
    long cp = gw__search_utf8_decode((const unsigned char *)lx->s + lx->pos, lx->len - lx->pos, &used);
    lx->pos += used;
    if (cp >= 0x300 && cp <= 0x36F) {
        *add = "";
        return true;
    }
    if (cp < 0xC0 || cp > 0x17F || fold_tab[cp - 0xC0][0] == '\0')
        return false;
    *add = fold_tab[cp - 0xC0];
    return true;
}

bool gw__search_lex_next(gw__search_lex_t *lx, char tok[GW_SEARCH_TOKEN_MAX + 1], size_t *n, bool *at_end)
{
    char one[2];
    const char *add;
    size_t len = 0;
    bool in_word = false, sep = false;
    while (lx->pos < lx->len) {
        if (!lex_char(lx, one, &add)) {
            if (len > 0) {
                sep = true;
                break;
            }
            in_word = false;
            continue;
        }
        if (add[0] == '\0' && !in_word)
            continue; /* a combining accent with no letter before it */
        in_word = true;
        for (; *add != '\0'; add++)
            if (len < GW_SEARCH_TOKEN_MAX)
                tok[len++] = *add;
    }
    tok[len] = '\0';
    *n = len;
    *at_end = len > 0 && !sep;
    return len > 0;
}

#define ENDS(t, n, lit) ((n) >= sizeof(lit) - 1 && memcmp((t) + (n) - (sizeof(lit) - 1), lit, sizeof(lit) - 1) == 0)

size_t gw__search_stem(char *t, size_t n)
{
    if (n < 4)
        return n;
    for (size_t i = 0; i < n; i++)
        if (t[i] < 'a' || t[i] > 'z')
            return n; /* model numbers and the like stay as they are */
    if (ENDS(t, n, "ies") && !ENDS(t, n, "aies") && !ENDS(t, n, "eies")) {
        t[n - 3] = 'y';
        n -= 2;
    } else if (ENDS(t, n, "ches") || ENDS(t, n, "shes") || ENDS(t, n, "sses") || ENDS(t, n, "xes") ||
               ENDS(t, n, "zzes")) {
        n -= 2;
    } else if (ENDS(t, n, "s") && !ENDS(t, n, "ss") && !ENDS(t, n, "us") && !ENDS(t, n, "is")) {
        n -= 1;
    }
    t[n] = '\0';
    return n;
}

bool gw__search_is_stop(const char *t, size_t n)
{
    if (n <= 1)
        return n == 0 || (t[0] >= 'a' && t[0] <= 'z');
    if (n > STOP_LEN_MAX)
        return false;
    for (size_t i = 0; i < sizeof stop_words / sizeof stop_words[0]; i++)
        if (stop_words[i].n == n && stop_words[i].w[0] == t[0] && memcmp(stop_words[i].w, t, n) == 0)
            return true;
    return false;
}

size_t gw__search_term(char *t, size_t n)
{
    if (gw__search_is_stop(t, n))
        return 0;
    return gw__search_stem(t, n);
}

void gw__search_parse(const char *q, size_t qlen, gw__search_qtoks_t *out)
{
    gw__search_lex_t lx = {q, qlen, 0};
    size_t raw = 0;
    bool at_end = false;
    out->n = 0;
    out->prefix = false;
    while (raw < GW_SEARCH_TOKENS_MAX && gw__search_lex_next(&lx, out->tok[out->n], &out->len[out->n], &at_end)) {
        raw++;
        if (at_end) {
            out->prefix = true; /* the last token, still being typed: kept raw */
            out->n++;
            break;
        }
        if ((out->len[out->n] = gw__search_term(out->tok[out->n], out->len[out->n])) > 0)
            out->n++;
    }
}

/* The full terms, then the prefix token with '*'. */
gw_err_t gw_search_analyze(const char *q, size_t qlen, gw_buf_t *out)
{
    gw__search_qtoks_t qt;
    gw_err_t rc = GW_OK;
    gw__search_parse(q, qlen, &qt);
    for (size_t i = 0; i < qt.n && rc == GW_OK; i++) {
        if (i > 0)
            rc = gw_buf_add(out, " ", 1);
        if (rc == GW_OK)
            rc = gw_buf_add(out, qt.tok[i], qt.len[i]);
        if (rc == GW_OK && qt.prefix && i + 1 == qt.n)
            rc = gw_buf_add(out, "*", 1);
    }
    return rc;
}

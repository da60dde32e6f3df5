/* retriever_text.c - the text side of the retriever (retriever.h): UTF-8
 * folding to lower-case ASCII with byte offsets kept, tokenising (numbers,
 * money, quotes, capitals), the light Porter-style stemmer, the one-edit
 * test and the list of common words that are never typo-corrected.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "retriever_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- folding ---- */

/* U+00C0..U+00FF, lower-case ASCII; NULL: a separator (x and /). */
static const char *const latin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "y",
};
/* U+0100..U+017F, one base letter each (Œ œ are special-cased). */
static const char latin_ext_a[] = "aaaaaaccccccccdd"
                                  "ddeeeeeeeeeegggg"
                                  "gggghhhhiiiiiiii"
                                  "iiiijjkkklllllll"
                                  "lllnnnnnnnnnoooo"
                                  "oooorrrrrrssssss"
                                  "ssttttttuuuuuuuu"
                                  "uuuuwwyyyzzzzzzs";

/* Decodes one UTF-8 character at s[i]; returns its length (0 when
 * invalid) and the code point in *cp. */
static size_t utf8_next(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
    unsigned c = s[i];
    size_t k;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0)
        k = 1, v = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        k = 2, v = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        k = 3, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n - i <= k)
        return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((s[i + j] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i + j] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return k + 1;
}

int gw__rt_utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = utf8_next((const unsigned char *)s, len, i, &cp);
        if (k == 0 || cp == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* The ASCII text a code point folds to ("" drops it, " " separates); the
 * case of ASCII letters is kept (capitals matter for state codes). */
static const char *fold_cp(uint32_t cp, char one[2])
{
    if (cp < 0x80) {
        one[0] = (char)cp;
        one[1] = '\0';
        return one;
    }
    if (cp >= 0xC0 && cp <= 0xFF)
        return latin1[cp - 0xC0] != NULL ? latin1[cp - 0xC0] : " ";
    if (cp == 0x152 || cp == 0x153)
        return "oe";
    if (cp >= 0x100 && cp <= 0x17F) {
        one[0] = latin_ext_a[cp - 0x100];
        one[1] = '\0';
        return one;
    }
    if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC)
        return "'";
    if (cp == 0x201C || cp == 0x201D)
        return "\"";
    return " ";
}

/* The folded text of s with, for each folded byte, the byte span of the
 * source character it came from. Returns the folded length, or -1 for
 * invalid UTF-8 or a NUL byte. */
typedef struct folded {
    char *t;
    size_t *from, *to;
    size_t n;
} folded_t;

static int fold_text(const char *s, size_t len, folded_t *f, size_t cap)
{
    size_t i = 0;
    f->n = 0;
    while (i < len) {
        uint32_t cp = 0;
        char one[2];
        size_t k = utf8_next((const unsigned char *)s, len, i, &cp);
        if (k == 0 || cp == 0)
            return -1;
        const char *rep = fold_cp(cp, one);
        for (size_t j = 0; rep[j] != '\0' && f->n < cap; j++) {
            f->t[f->n] = rep[j];
            f->from[f->n] = i;
            f->to[f->n] = i + k;
            f->n++;
        }
        i += k;
    }
    return 0;
}

/* ---- tokenising ---- */

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

typedef struct tokst {
    const folded_t *f;
    gw_token_t *toks;
    size_t n, max;
    int dq, sq; /* inside "..." / '...' */
} tokst_t;

static gw_token_t *tok_push(tokst_t *st, size_t a, size_t b)
{
    if (st->n >= st->max)
        return NULL;
    gw_token_t *t = &st->toks[st->n++];
    memset(t, 0, sizeof *t);
    t->start = st->f->from[a];
    t->end = st->f->to[b - 1];
    t->link = -1;
    if (st->dq || st->sq)
        t->flags |= GW_TOK_QUOTED;
    return t;
}

/* A number at i (digits, thousands commas, one decimal point). Returns the
 * end; letters right after it make it a word instead (*word = 1). */
static size_t scan_number(const char *t, size_t n, size_t i, int *word, int *has_point)
{
    *word = 0;
    *has_point = 0;
    while (i < n) {
        if (is_digit(t[i])) {
            i++;
        } else if (t[i] == ',' && i + 3 < n && is_digit(t[i + 1]) && is_digit(t[i + 2]) && is_digit(t[i + 3]) &&
                   (i + 4 >= n || !is_digit(t[i + 4])) && !*has_point) {
            i += 4;
        } else if (t[i] == '.' && !*has_point && i + 1 < n && is_digit(t[i + 1])) {
            *has_point = 1;
            i++;
        } else {
            break;
        }
    }
    if (i < n && is_alpha(t[i])) {
        *word = 1;
        while (i < n && (is_alpha(t[i]) || is_digit(t[i])))
            i++;
    }
    return i;
}

static void number_token(tokst_t *st, size_t a, size_t b, int money)
{
    const char *t = st->f->t;
    char buf[64];
    size_t k = 0;
    for (size_t i = a; i < b && k + 1 < sizeof buf; i++)
        if (t[i] != ',')
            buf[k++] = t[i];
    buf[k] = '\0';
    gw_token_t *tok = tok_push(st, money ? a - 1 : a, b);
    if (tok == NULL)
        return;
    tok->start = st->f->from[money ? a - 1 : a];
    memcpy(tok->text, buf, k < GW_RT_TOKEN_MAX ? k + 1 : GW_RT_TOKEN_MAX - 1);
    tok->text[GW_RT_TOKEN_MAX - 1] = '\0';
    memcpy(tok->stem, tok->text, sizeof tok->stem);
    tok->flags |= GW_TOK_NUM | (money ? GW_TOK_MONEY : 0u) | (strchr(buf, '.') ? 0u : GW_TOK_INT);
    tok->num = strtod(buf, NULL);
    if (b < st->f->n && st->f->t[b] == '%')
        tok->flags |= GW_TOK_PERCENT;
}

/* A word: letters and digits, apostrophes inside dropped. */
static size_t word_token(tokst_t *st, size_t a)
{
    const char *t = st->f->t;
    size_t n = st->f->n, i = a, k = 0;
    int upper = 1, letters = 0;
    char buf[GW_RT_TOKEN_MAX];
    while (i < n) {
        if (is_alpha(t[i]) || is_digit(t[i])) {
            if (is_alpha(t[i])) {
                letters++;
                if (t[i] >= 'a' && t[i] <= 'z')
                    upper = 0;
            }
            if (k + 1 < sizeof buf)
                buf[k++] = lower(t[i]);
            i++;
        } else if (t[i] == '\'' && i + 1 < n && is_alpha(t[i + 1]) && i > a) {
            i++; /* levi's, l'oreal */
        } else {
            break;
        }
    }
    buf[k] = '\0';
    gw_token_t *tok = tok_push(st, a, i);
    if (tok != NULL) {
        memcpy(tok->text, buf, k + 1);
        gw_rt_stem(tok->text, tok->stem, sizeof tok->stem);
        if (upper && letters >= 2)
            tok->flags |= GW_TOK_UPPER;
        if (t[a] >= 'A' && t[a] <= 'Z')
            tok->flags |= GW_TOK_CAP;
    }
    return i;
}

/* Quotes: " toggles; ' opens before a letter after a non-letter and closes
 * after a letter before a non-letter. */
static void quote_mark(tokst_t *st, size_t i)
{
    const char *t = st->f->t;
    size_t n = st->f->n;
    if (t[i] == '"') {
        st->dq = !st->dq;
        return;
    }
    int before = i > 0 && (is_alpha(t[i - 1]) || is_digit(t[i - 1]));
    int after = i + 1 < n && (is_alpha(t[i + 1]) || is_digit(t[i + 1]));
    if (!st->sq && !before && after)
        st->sq = 1;
    else if (st->sq && before && !after)
        st->sq = 0;
}

static void tokenize_folded(tokst_t *st)
{
    const char *t = st->f->t;
    size_t n = st->f->n, i = 0;
    while (i < n && st->n < st->max) {
        char c = t[i];
        int word, point;
        if (c == '$' && i + 1 < n && is_digit(t[i + 1])) {
            size_t e = scan_number(t, n, i + 1, &word, &point);
            if (!word)
                number_token(st, i + 1, e, 1);
            i = word ? word_token(st, i + 1) : e;
        } else if (is_digit(c)) {
            size_t e = scan_number(t, n, i, &word, &point);
            if (word)
                i = word_token(st, i);
            else
                number_token(st, i, e, 0), i = e;
        } else if (is_alpha(c)) {
            i = word_token(st, i);
        } else if (c == '&') {
            gw_token_t *tok = tok_push(st, i, i + 1);
            if (tok != NULL)
                memcpy(tok->text, "and", 4), memcpy(tok->stem, "and", 4);
            i++;
        } else {
            if (c == '"' || c == '\'')
                quote_mark(st, i);
            i++;
        }
    }
}

size_t gw_rt_tokenize(const char *s, size_t len, gw_token_t *toks, size_t max)
{
    size_t cap = len * 2 + 1, n = 0;
    folded_t f = {0};
    tokst_t st = {0};
    if (len > GW_RT_MAX_QUESTION * 2)
        return 0;
    f.t = gw_malloc(cap);
    f.from = gw_malloc(cap * sizeof(size_t));
    f.to = gw_malloc(cap * sizeof(size_t));
    if (f.t == NULL || f.from == NULL || f.to == NULL || fold_text(s, len, &f, cap) != 0)
        goto out;
    st.f = &f;
    st.toks = toks;
    st.max = max;
    tokenize_folded(&st);
    n = st.n;
out:
    gw_free(f.t);
    gw_free(f.from);
    gw_free(f.to);
    return n;
}

/* ---- stemming ---- */

static const char *const irregular[][2] = {
    {"men", "man"},       {"women", "woman"},   {"children", "child"}, {"mice", "mouse"},
    {"feet", "foot"},     {"teeth", "tooth"},   {"geese", "goose"},    {"people", "person"},
    {"knives", "knife"},  {"shelves", "shelf"}, {"leaves", "leaf"},    {"scarves", "scarf"},
    {"halves", "half"},   {"wolves", "wolf"},   {"loaves", "loaf"},    {"lives", "life"},
    {"wives", "wife"},    {"lenses", "lens"},   {"dice", "die"},       {"indices", "index"},
    {"series", "series"}, {"news", "news"},     {"gas", "gas"},        {"bus", "bus"},
};

static int ends(const char *w, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(w + n - k, suf, k) == 0;
}

static int vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* Plural to singular on w[0..*n). */
static void strip_plural(char *w, size_t *n)
{
    if (*n > 4 && ends(w, *n, "ies")) {
        *n -= 3;
        w[(*n)++] = 'y';
    } else if (*n > 4 && (ends(w, *n, "sses") || ends(w, *n, "xes") || ends(w, *n, "ches") ||
                          ends(w, *n, "shes") || ends(w, *n, "zzes"))) {
        *n -= 2;
    } else if (*n > 3 && w[*n - 1] == 's' && !ends(w, *n, "ss") && !ends(w, *n, "us") &&
               !ends(w, *n, "is")) {
        *n -= 1;
    }
}

/* -ing / -ed, undoubling "runn" -> "run", "ied" -> "y". */
static void strip_verb(char *w, size_t *n)
{
    size_t k = 0;
    if (*n > 5 && ends(w, *n, "ing"))
        k = 3;
    else if (*n > 4 && ends(w, *n, "ied")) {
        *n -= 3;
        w[(*n)++] = 'y';
        return;
    } else if (*n > 4 && ends(w, *n, "ed") && !ends(w, *n, "eed"))
        k = 2;
    if (k == 0)
        return;
    int has_vowel = 0;
    for (size_t i = 0; i < *n - k; i++)
        has_vowel |= vowel(w[i]);
    if (!has_vowel)
        return;
    *n -= k;
    if (*n >= 3 && w[*n - 1] == w[*n - 2] && !vowel(w[*n - 1]) && strchr("lsz", w[*n - 1]) == NULL)
        (*n)--;
}

void gw_rt_stem(const char *word, char *out, size_t outlen)
{
    char w[GW_RT_TOKEN_MAX];
    size_t n = strlen(word);
    if (outlen == 0)
        return;
    if (n >= sizeof w)
        n = sizeof w - 1;
    memcpy(w, word, n);
    w[n] = '\0';
    for (size_t i = 0; i < N_OF(irregular); i++)
        if (strcmp(w, irregular[i][0]) == 0) {
            n = strlen(irregular[i][1]);
            memcpy(w, irregular[i][1], n + 1);
            break;
        }
    if (n > 3 && !is_digit(w[0])) {
        strip_plural(w, &n);
        strip_verb(w, &n);
        if (n >= 4 && w[n - 1] == 'e')
            n--;
    }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, w, n);
    out[n] = '\0';
}

/* ---- edit distance 1 ---- */

int gw_rt_edit1(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i = 0;
    if (la > lb + 1 || lb > la + 1)
        return 0;
    while (i < la && i < lb && a[i] == b[i])
        i++;
    if (i == la && i == lb)
        return 1;
    if (la == lb) {
        if (strcmp(a + i + 1, b + i + 1) == 0)
            return 1; /* substitution */
        return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && strcmp(a + i + 2, b + i + 2) == 0;
    }
    return la > lb ? strcmp(a + i + 1, b + i) == 0 : strcmp(a + i, b + i + 1) == 0;
}

/* ---- common words ---- */

/* Sorted (strcmp order): function words, question words and the planner's
 * cue words. They match only exactly (no stem or typo match), are never a
 * head noun, and make a single-word color or material "weak". */
static const char *const common[] = {
    "about", "above", "across", "active", "add", "added", "after", "again", "against", "all",
    "also", "amount", "an", "and", "answer", "any", "are", "arent", "around", "as", "ascending",
    "assorted", "at", "available", "average", "avg", "be", "been", "before", "being", "below",
    "beneath", "best", "better", "between", "bigger", "biggest", "both", "bottom", "breakdown",
    "bring", "brought", "but", "by", "can", "cant", "carried", "carries", "carry", "catalog",
    "catalogue", "cheap", "cheaper", "cheapest", "clear", "common", "compare", "compared",
    "comparing", "comparison", "cool", "could", "count", "counts", "current", "currently", "days",
    "deep", "descending", "did", "difference", "different", "distinct", "do", "does", "doesnt",
    "doing", "dont", "down", "during", "each", "earlier", "either", "else", "even", "ever", "every",
    "except", "excluding", "expensive", "fair", "few", "fewer", "fewest", "first", "following",
    "for", "fraction", "from", "give", "greater", "group", "grouped", "had", "has", "have",
    "having", "he", "held", "hello", "help", "her", "here", "heres", "higher", "highest", "his",
    "hold", "holding", "holds", "how", "hows", "if", "im", "in", "inactive", "include", "including",
    "into", "is", "isnt", "it", "items", "its", "ive", "just", "kinds", "largest", "last", "later",
    "latest", "least", "less", "lets", "light", "like", "liquid", "list", "lower", "lowest", "made",
    "many", "maximum", "me", "mean", "medium", "mine", "minimum", "minus", "month", "months",
    "more", "most", "much", "multi", "my", "natural", "need", "neutral", "never", "new", "newer",
    "newest", "no", "nor", "not", "number", "of", "off", "older", "oldest", "on", "once", "only",
    "onward", "onwards", "or", "order", "ordered", "organic", "other", "others", "our", "ours",
    "out", "over", "own", "pair", "pairs", "past", "per", "percent", "percentage", "please", "plus",
    "powder", "printed", "product", "products", "proportion", "range", "ranges", "rank", "ranked",
    "ranking", "ratio", "recent", "recently", "records", "rows", "sale", "sales", "same", "sell",
    "sells", "set", "share", "she", "show", "showing", "since", "smaller", "smallest", "so", "sold",
    "some", "sort", "sorted", "split", "still", "stock", "stocked", "such", "system", "than",
    "that", "thats", "their", "theirs", "them", "then", "there", "theres", "these", "they", "this",
    "those", "three", "through", "to", "today", "too", "top", "total", "totals", "under", "unique",
    "units", "until", "up", "us", "value", "versus", "very", "via", "want", "warm", "was", "we",
    "weeks", "were", "what", "whats", "when", "where", "wheres", "which", "while", "who", "whom",
    "whos", "whose", "why", "will", "with", "within", "without", "wont", "would", "year", "years",
    "yes", "you", "your", "youre", "yours",
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int gw_rt_common_word(const char *w)
{
    return bsearch(&w, common, N_OF(common), sizeof common[0], cmp_str) != NULL;
}

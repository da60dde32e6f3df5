/* tokest.c - bytes/4 token estimates and the content-bytes scanner (see tokest.h). */
#include "tokest.h"

#include <string.h>

#define PROMPT_OVERHEAD 4

int64_t gw_tokest_prompt(size_t prompt_chars) { return (int64_t)((prompt_chars + 3) / 4) + PROMPT_OVERHEAD; }

int64_t gw_tokest_completion(size_t content_bytes) { return (int64_t)((content_bytes + 3) / 4); }

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* p[i] is just after a key's closing quote: if a string value follows,
 * returns its text length and sets *end past it; else returns 0. */
static size_t value_len(const char *p, size_t n, size_t i, size_t *end)
{
    while (i < n && is_ws(p[i]))
        i++;
    if (i >= n || p[i] != ':')
        return 0;
    i++;
    while (i < n && is_ws(p[i]))
        i++;
    if (i >= n || p[i] != '"')
        return 0;
    size_t len = 0;
    for (i++; i < n && p[i] != '"'; i++, len++) {
        if (p[i] != '\\')
            continue;
        i++; /* the escaped char */
        if (i < n && p[i] == 'u')
            i += 4 < n - i ? 4 : n - i - 1;
    }
    *end = i;
    return len;
}

static int key_at(const char *p, size_t n, size_t i, size_t *after)
{
    static const struct {
        const char *s;
        size_t n;
    } keys[] = {{"content\"", 8}, {"text\"", 5}, {"arguments\"", 10}, {"partial_json\"", 13}, {"thinking\"", 9}};
    char c = p[i]; /* one byte decides most quotes: no compare at all */
    if (c != 'c' && c != 't' && c != 'a' && c != 'p')
        return 0;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        if (keys[k].s[0] == c && n - i >= keys[k].n && memcmp(p + i, keys[k].s, keys[k].n) == 0) {
            *after = i + keys[k].n;
            return 1;
        }
    }
    return 0;
}

size_t gw_tokest_scan(const char *p, size_t n)
{
    size_t total = 0, i = 0;
    while (i < n) {
        const char *q = memchr(p + i, '"', n - i);
        if (q == NULL)
            break;
        i = (size_t)(q - p) + 1;
        size_t after = 0, end = 0;
        if (i < n && key_at(p, n, i, &after)) {
            size_t len = value_len(p, n, after, &end);
            if (len > 0) {
                total += len;
                i = end + 1;
                continue;
            }
            i = after; /* skip the key's own closing quote */
        }
    }
    return total;
}

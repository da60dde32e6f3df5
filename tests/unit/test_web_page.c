/* test_web_page.c - the embedded web page (src/web_page.c) is byte for byte
 * web/index.html, its one source: this fails as soon as someone edits the
 * page and forgets scripts/embed_page.sh. Also checks what the server's CSP
 * relies on: one self-contained file that loads nothing from elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "test.h"
#include "web_page.h"

#define PAGE_MAX (4u << 20)

/* Reads a whole file into a new buffer (gw_free it); NULL on error. */
static char *read_file(const char *path, size_t *len)
{
    char *p = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    p = gw_malloc(PAGE_MAX + 1);
    if (p == NULL)
        goto out;
    *len = fread(p, 1, PAGE_MAX + 1, f);
    if (ferror(f) || *len > PAGE_MAX) {
        gw_free(p);
        p = NULL;
        goto out;
    }
    p[*len] = '\0';
out:
    fclose(f);
    return p;
}

/* The first byte offset where a and b differ (or the shorter length). */
static size_t first_diff(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

static void test_in_sync(void)
{
    size_t len = 0;
    char *src = read_file(GW_SOURCE_DIR "/web/index.html", &len);
    T_OK(src != NULL, "read %s/web/index.html", GW_SOURCE_DIR);
    if (src == NULL)
        return;
    size_t d = first_diff(src, len, gw_web_page, gw_web_page_len);
    T_OK(len == gw_web_page_len && d == len,
         "src/web_page.c is out of date with web/index.html (%zu vs %zu bytes, first difference at byte %zu): "
         "run scripts/embed_page.sh",
         gw_web_page_len, len, d);
    gw_free(src);
}

static void test_shape(void)
{
    const char *p = gw_web_page;
    T_OK(gw_web_page_len > 1000, "page has %zu bytes", gw_web_page_len);
    T_OK(strlen(p) == gw_web_page_len, "no NUL inside the page");
    T_OK(strncmp(p, "<!doctype html>\n", 16) == 0, "starts with the doctype");
    T_OK(strstr(p, "<html lang=\"en\">") != NULL, "declares its language");
    T_OK(strstr(p, "<meta name=\"viewport\"") != NULL, "has a viewport for phones");
    T_OK(strstr(p, "<link rel=\"icon\" href=\"/favicon.svg\"") != NULL, "links its icon (no /favicon.ico probe)");
    T_OK(strcmp(p + gw_web_page_len - 8, "</html>\n") == 0, "ends with </html>");
    size_t bad = 0;
    for (size_t i = 0; i < gw_web_page_len; i++) {
        unsigned char c = (unsigned char)p[i];
        bad += !(c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f));
    }
    T_OK(bad == 0, "%zu bytes outside printable ASCII", bad);
}

/* Self-contained: nothing the CSP (default-src 'self') would block, nothing
 * fetched from another origin. */
static void test_self_contained(void)
{
    static const char *const banned[] = {"http://", "https://", "src=\"//", "href=\"//", "<link rel=\"stylesheet\"",
                                         "<iframe", "@import", "url(", "eval(", "new Function", NULL};
    for (size_t i = 0; banned[i] != NULL; i++)
        T_OK(strstr(gw_web_page, banned[i]) == NULL, "page contains \"%s\"", banned[i]);
    static const char *const routes[] = {"'/v1/ask'", "'/v1/search?q='", "'/v1/chat/completions'", "'/v1/models'",
                                         "'/readyz'", "Authorization", "sessionStorage", "AbortController", NULL};
    for (size_t i = 0; routes[i] != NULL; i++)
        T_OK(strstr(gw_web_page, routes[i]) != NULL, "page uses %s", routes[i]);
    static const char *const stages[] = {"['cache'", "['retrieve'", "['plan'", "['guard'", "['execute'", "['format'",
                                         NULL};
    for (size_t i = 0; stages[i] != NULL; i++)
        T_OK(strstr(gw_web_page, stages[i]) != NULL, "pipeline stage %s", stages[i]);
}

int main(void)
{
    test_in_sync();
    test_shape();
    test_self_contained();
    return t_done("test_web_page");
}

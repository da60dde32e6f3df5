/* web_page.h - the web page at GET /: one self-contained HTML file (the
 * three faces: ask with its pipeline, search at keystroke time, the
 * gateway's chat) kept in web/index.html and embedded as a C string by
 * scripts/embed_page.sh into src/web_page.c; and its handlers (h_page.c).
 */
#ifndef GW_WEB_PAGE_H
#define GW_WEB_PAGE_H

#include <stddef.h>

struct gw_route_ctx;

/* The page's bytes, static storage, NUL-terminated; gw_web_page_len is
 * strlen(gw_web_page) (the page holds no NUL byte). */
extern const char gw_web_page[];
extern const size_t gw_web_page_len;

/* GET /: answers 200 text/html with the page, a Content-Security-Policy
 * that allows same-origin requests only (inline script and style: the page
 * is one file), X-Content-Type-Options: nosniff and Cache-Control: no-cache;
 * writes the request's log line (gw_route_log). Borrows ctx. */
void gw_h_page(struct gw_route_ctx *ctx);

/* GET /favicon.svg: the page's icon (image/svg+xml, cacheable for a day),
 * linked from the page so browsers do not ask for /favicon.ico; writes the
 * log line. Borrows ctx. */
void gw_h_favicon(struct gw_route_ctx *ctx);

#endif

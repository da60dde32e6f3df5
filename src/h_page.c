/* h_page.c - the routes GET / (the web page, web_page.h) and GET
 * /favicon.svg (its icon, so the browser asks for no /favicon.ico). The
 * page's headers keep it to its own origin: a Content-Security-Policy that
 * allows no external script, style, image, font or connection, and nosniff;
 * no-cache so an upgraded server's page is never shown stale.
 */
#include "routes.h"
#include "web_page.h"

#define PAGE_HEADERS                                                                                       \
    "Content-Security-Policy: default-src 'self'; style-src 'self' 'unsafe-inline'; "                      \
    "script-src 'self' 'unsafe-inline'; connect-src 'self'\r\n"                                            \
    "X-Content-Type-Options: nosniff\r\n"                                                                  \
    "Cache-Control: no-cache\r\n"

#define ICON_HEADERS                                                                                       \
    "Content-Security-Policy: default-src 'none'\r\n"                                                      \
    "X-Content-Type-Options: nosniff\r\n"                                                                  \
    "Cache-Control: public, max-age=86400\r\n"

/* Three pipeline nodes on a rounded square, in the page's accent colour. */
static const char icon_svg[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">"
    "<rect width=\"32\" height=\"32\" rx=\"7\" fill=\"#1d6b5f\"/>"
    "<path d=\"M8 16h16\" stroke=\"#e3f1ee\" stroke-width=\"2\"/>"
    "<circle cx=\"8\" cy=\"16\" r=\"3.5\" fill=\"#e3f1ee\"/><circle cx=\"16\" cy=\"16\" r=\"3.5\" fill=\"#e3f1ee\"/>"
    "<circle cx=\"24\" cy=\"16\" r=\"3.5\" fill=\"#fff\"/></svg>\n";

void gw_h_page(gw_route_ctx_t *ctx)
{
    gw_http_respond(ctx->req, 200, "text/html; charset=utf-8", PAGE_HEADERS, gw_web_page, gw_web_page_len);
    gw_reqlog_t l = {.status = 200, .prompt_tokens = -1, .completion_tokens = -1};
    gw_route_log(ctx, &l);
}

void gw_h_favicon(gw_route_ctx_t *ctx)
{
    gw_http_respond(ctx->req, 200, "image/svg+xml", ICON_HEADERS, icon_svg, sizeof(icon_svg) - 1);
    gw_reqlog_t l = {.status = 200, .prompt_tokens = -1, .completion_tokens = -1};
    gw_route_log(ctx, &l);
}

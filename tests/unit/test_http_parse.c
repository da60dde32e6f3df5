/* test_http_parse.c - request heads: limits, framing rules, statuses. */
#include <string.h>

#include "http_parse.h"
#include "test.h"

static gw_http_limits_in_t lim = {256, 4, 1000};

static int parse(const char *s, gw_http_head_t *h)
{
    static gw_http_hdr_t hs[5];
    return gw_http_parse_head(s, strlen(s), &lim, hs, 5, h);
}

int main(void)
{
    gw_http_head_t h;
    T_OK(parse("POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\nbody", &h) == 0, "simple");
    T_OK(h.content_length == 12 && h.keepalive == 1 && !h.chunked && h.num_headers == 2, "fields");
    T_OK(h.head_len == strlen("POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n"), "head_len");
    T_OK(h.method_len == 4 && memcmp(h.method, "POST", 4) == 0 && h.path_len == 5, "method, path");
    T_OK(parse("GET / HTTP/1.1\r\nHost: a\r\n", &h) == -2, "incomplete");
    T_OK(parse("GET / HTTP/1.0\r\n\r\n", &h) == 0 && h.keepalive == 0, "1.0 closes");
    T_OK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h) == 0 && h.keepalive == 1, "1.0 keep-alive");
    T_OK(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &h) == 0 && h.keepalive == 0, "close");
    T_OK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h) == 0 && h.chunked, "chunked");
    T_OK(parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &h) == 0 &&
             h.expect_continue, "expect");
    T_OK(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &h) == 400 &&
             strstr(h.error, "both") != NULL, "CL + TE: 400");
    T_OK(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &h) == 400, "two CLs: 400");
    T_OK(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &h) == 0, "same CL twice");
    T_OK(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &h) == 400, "negative CL");
    T_OK(parse("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &h) == 400, "junk CL");
    T_OK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &h) == 400, "other coding");
    T_OK(parse("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", &h) == 413, "CL over the limit: 413");
    T_OK(parse("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n", &h) == 0, "CL at the limit");
    T_OK(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", &h) == 431 &&
             strstr(h.error, "too many") != NULL, "5 headers over 4: 431");
    T_OK(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", &h) == 0, "4 headers ok");
    char big[400];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    big[sizeof(big) - 1] = '\0';
    T_OK(parse(big, &h) == 431, "incomplete head over max_header_bytes: 431");
    T_OK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n kee\r\n\r\n", &h) == 400 &&
             strstr(h.error, "folding") != NULL, "obs-fold: 400 (found by fuzz_http_head)");
    T_OK(parse(" ET@/v1/search?q=a HTTP/1.0\r\nConnection:alive\r\n\r\n", &h) == 400,
         "empty method: 400 (found by fuzz_http_head)");
    T_OK(parse("GARBAGE\r\n\r\n", &h) == 400 && strstr(h.error, "malformed") != NULL, "malformed: 400");
    return t_done("test_http_parse");
}

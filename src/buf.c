/* buf.c - bounded growable byte buffer. */
#include "buf.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"

void gw_buf_init(gw_buf_t *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void gw_buf_free(gw_buf_t *b)
{
    gw_free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void gw_buf_reset(gw_buf_t *b)
{
    b->len = 0;
    if (b->ptr != NULL)
        b->ptr[0] = '\0';
}

gw_err_t gw_buf_reserve(gw_buf_t *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return GW_ETOOBIG;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return GW_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = gw_realloc(b->ptr, cap);
    if (p == NULL)
        return GW_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return GW_OK;
}

gw_err_t gw_buf_add(gw_buf_t *b, const void *p, size_t n)
{
    gw_err_t rc = gw_buf_reserve(b, n);
    if (rc != GW_OK)
        return rc;
    if (n > 0)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return GW_OK;
}

gw_err_t gw_buf_adds(gw_buf_t *b, const char *s) { return gw_buf_add(b, s, strlen(s)); }

gw_err_t gw_buf_vprintf(gw_buf_t *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return GW_EINVAL;
    gw_err_t rc = gw_buf_reserve(b, (size_t)n);
    if (rc != GW_OK)
        return rc;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return GW_OK;
}

gw_err_t gw_buf_printf(gw_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_err_t rc = gw_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

gw_err_t gw_buf_add_json_str(gw_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        gw_err_t rc = gw_buf_add(b, s + start, i - start);
        if (rc != GW_OK)
            return rc;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        const char *e = esc;
        size_t el = 6;
        switch (c) {
        case '"': e = "\\\""; el = 2; break;
        case '\\': e = "\\\\"; el = 2; break;
        case '\n': e = "\\n"; el = 2; break;
        case '\r': e = "\\r"; el = 2; break;
        case '\t': e = "\\t"; el = 2; break;
        default: break;
        }
        if ((rc = gw_buf_add(b, e, el)) != GW_OK)
            return rc;
        start = i + 1;
    }
    return gw_buf_add(b, s + start, n - start);
}

void gw_buf_consume(gw_buf_t *b, size_t n)
{
    if (n >= b->len) {
        gw_buf_reset(b);
        return;
    }
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
    b->ptr[b->len] = '\0';
}

char *gw_buf_take(gw_buf_t *b, size_t *len)
{
    char *p = b->ptr;
    if (len != NULL)
        *len = b->len;
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

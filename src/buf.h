/* buf.h - bounded growable byte buffer (curl's dynbuf idea).
 *
 * A gw_buf_t owns its bytes. It grows on demand up to `max` bytes; going
 * past max is GW_ETOOBIG, never a silent realloc. The content is always
 * NUL-terminated (the NUL is not counted in len) so it can be used as a
 * C string when it holds text.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

typedef struct gw_buf {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max;
} gw_buf_t;

/* Initialises an empty buffer that may hold up to max bytes. No allocation. */
void gw_buf_init(gw_buf_t *b, size_t max);
/* Frees the bytes and leaves b empty (reusable, same max). */
void gw_buf_free(gw_buf_t *b);
/* Empties b, keeping its allocation. */
void gw_buf_reset(gw_buf_t *b);
/* Makes room for n more bytes. */
gw_err_t gw_buf_reserve(gw_buf_t *b, size_t n);
/* Appends n bytes. */
gw_err_t gw_buf_add(gw_buf_t *b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
gw_err_t gw_buf_adds(gw_buf_t *b, const char *s);
/* Appends printf-formatted text. */
gw_err_t gw_buf_printf(gw_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
gw_err_t gw_buf_vprintf(gw_buf_t *b, const char *fmt, va_list ap);
/* Appends s as the inside of a JSON string (no surrounding quotes). */
gw_err_t gw_buf_add_json_str(gw_buf_t *b, const char *s, size_t n);
/* Removes the first n bytes (n <= len). */
void gw_buf_consume(gw_buf_t *b, size_t n);
/* Hands the bytes to the caller (who frees them with gw_free); b is left empty. */
char *gw_buf_take(gw_buf_t *b, size_t *len);

#endif

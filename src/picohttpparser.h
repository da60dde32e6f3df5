/* picohttpparser.h - prototypes of picohttpparser (MIT, Kazuho Oku et al.)
 * as built into Debian's libh2o 2.2.5, which exports the phr_* symbols but
 * does not install the header. The layout below matches that version
 * (checked by tests/unit/test_http_parse.c).
 */
#ifndef GW_PICOHTTPPARSER_H
#define GW_PICOHTTPPARSER_H

#include <stddef.h>
#include <sys/types.h>

struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Returns bytes consumed on success, -1 on a parse error, -2 when the
 * request is incomplete. */
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len);

/* Same contract, for a response head (status line + headers). */
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg,
                       size_t *msg_len, struct phr_header *headers, size_t *num_headers, size_t last_len);

struct phr_chunked_decoder {
    size_t bytes_left_in_chunk;
    char consume_trailer;
    char _hex_count;
    char _state;
};

/* Decodes chunked data in place; *bufsz is updated to the decoded size.
 * Returns bytes left after the end (>= 0) when complete, -1 on error, -2
 * when more data is needed. */
ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

#endif

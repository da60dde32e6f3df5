/* fuzz_clickhouse_json.c - libFuzzer target for the ClickHouse response
 * readers: the JSONCompact parser (src/clickhouse_json.c) and the error-text
 * finder (src/clickhouse_http.c).
 *
 * Invariants checked: rows handed over equal res.rows; every row has as many
 * values as meta has columns; string values lie in readable memory (they are
 * hashed); a failed parse sets a message and an error_at inside the body; the
 * error finder's message is NUL-terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse_http.h"
#include "clickhouse_json.h"

typedef struct seen {
    size_t cols, rows;
    int meta_calls;
    unsigned hash;
} seen_t;

static gw_err_t on_meta(void *data, const gw_chjson_col_t *cols, size_t n)
{
    seen_t *s = data;
    s->meta_calls++;
    s->cols = n;
    for (size_t i = 0; i < n; i++)
        s->hash += (unsigned)strlen(cols[i].name) + (unsigned)strlen(cols[i].type);
    return GW_OK;
}

static gw_err_t on_row(void *data, const gw_chjson_val_t *v, size_t n)
{
    seen_t *s = data;
    if (n != s->cols || s->meta_calls != 1)
        abort();
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; v[i].ptr != NULL && k < v[i].len; k++)
            s->hash = s->hash * 31u + (unsigned char)v[i].ptr[k];
    s->rows++;
    return GW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen_t s = {0, 0, 0, 0};
    gw_chjson_result_t res;
    const char *body = (const char *)data;
    gw_err_t rc = gw_chjson_parse(body, size, on_meta, on_row, &s, &res);
    if (s.rows != res.rows)
        abort();
    if (rc != GW_OK && (res.message[0] == '\0' || res.error_at > size))
        abort();
    int code = 0;
    char msg[64];
    memset(msg, 'x', sizeof msg);
    if (gw_ch_error_find(body, size, rc == GW_OK ? 0 : res.error_at, &code, msg, sizeof msg) &&
        memchr(msg, '\0', sizeof msg) == NULL)
        abort();
    return 0;
}

/* fuzz_engine_bigquery.c - libFuzzer target for the BigQuery engine's
 * parsers: the built-in SQL check (an accepted text is never longer than
 * the input, still starts the same and holds no top-level NUL), the epoch
 * timestamp formatter (output is "YYYY-MM-DD HH:MM:SS[.ffffff]") and one
 * row value through every column kind (text cells stay in bounds).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "engine_bigquery_int.h"

static void check_sql(const char *s, size_t n)
{
    gw_buf_t b;
    char msg[256];
    gw_buf_init(&b, n + 1);
    if (gw_buf_add(&b, s, n) == GW_OK && gw__bq_check_sql(&b, msg, sizeof msg) == GW_OK) {
        if (b.len > n || (b.len > 0 && memcmp(b.ptr, s, b.len) != 0) || memchr(b.ptr, '\0', b.len) != NULL)
            abort();
    }
    gw_buf_free(&b);
}

static void check_timestamp(const char *s, size_t n)
{
    char out[64];
    size_t w = gw__bq_format_timestamp(s, n, out, sizeof out);
    if (w == 0)
        return;
    if ((w != 19 && w != 26) || out[4] != '-' || out[7] != '-' || out[10] != ' ' || out[13] != ':' || out[16] != ':')
        abort();
}

static void check_cells(const char *s, size_t n)
{
    static const char *const types[] = {"INTEGER", "NUMERIC", "BIGNUMERIC", "FLOAT", "BOOLEAN", "STRING",
                                        "DATE",    "DATETIME", "TIMESTAMP", "BYTES"};
    char scratch[GW__BQ_SCRATCH], msg[256];
    json_t *v = json_stringn(s, n);
    if (v == NULL)
        return; /* not UTF-8: jansson refuses it, so BigQuery's answer could not hold it either */
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        json_t *f = json_pack("{s:s, s:s, s:s}", "name", "c", "type", types[i], "scale", i == 1 ? "2" : "x");
        gw__bq_col_t col;
        gw_cell_t cell;
        if (f != NULL && gw__bq_col_init(&col, f, msg, sizeof msg) == GW_OK &&
            gw__bq_cell(&col, v, scratch, &cell, msg, sizeof msg) == GW_OK &&
            (cell.kind == GW_CELL_TEXT || cell.kind == GW_CELL_NUMBER)) {
            const char *p = cell.v.text.ptr;
            int in_v = p >= json_string_value(v) && p + cell.v.text.len <= json_string_value(v) + n;
            int in_scratch = p >= scratch && p + cell.v.text.len <= scratch + sizeof scratch;
            if (!in_v && !in_scratch)
                abort();
        }
        json_decref(f);
    }
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    check_sql(s, size);
    check_timestamp(s, size);
    check_cells(s, size);
    return 0;
}

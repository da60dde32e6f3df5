/* formatter_generic.c - the template sentence for any result
 * (formatter.h gw_format_generic): used when the LLM planner wrote the SQL,
 * so no plan says what the columns mean. Only cells and the row count are
 * written as numbers, so the sentence is grounded by construction.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formatter_int.h"

/* A cell for a sentence: numbers with thousands separators. */
static void cell_text(const gw_cell_t *c, char *out, size_t n)
{
    double v;
    if (c->kind != GW_CELL_TEXT && c->kind != GW_CELL_BOOL && gw__fmt_cell_num(c, &v))
        gw_fmt_num(v, out, n);
    else
        gw__fmt_cell_label(c, out, n);
}

/* "name: value" pairs of one row, or the values alone. */
static gw_err_t row_text(const gw_result_t *r, size_t row, int names, gw_buf_t *out)
{
    gw_err_t rc = GW_OK;
    for (size_t j = 0; j < r->n_columns && rc == GW_OK; j++) {
        char v[128];
        cell_text(gw__fmt_cell(r, row, j), v, sizeof v);
        if (names)
            rc = gw_buf_printf(out, "%s%s: %s", j ? ", " : "", r->columns[j].name, v);
        else
            rc = gw_buf_printf(out, "%s%s", j ? ", " : "", v);
    }
    return rc;
}

gw_err_t gw_format_generic(const gw_result_t *r, gw_buf_t *out)
{
    gw_err_t rc;
    if (r == NULL || out == NULL)
        return GW_EINVAL;
    if (r->row_count == 0)
        return gw_buf_adds(out, "No rows matched the question.");
    if (r->row_count == 1) {
        rc = row_text(r, 0, 1, out);
        return rc == GW_OK ? gw_buf_adds(out, ".") : rc;
    }
    char cnt[32];
    gw_fmt_int((int64_t)r->row_count, cnt, sizeof cnt);
    rc = gw_buf_printf(out, "%s rows%s", cnt, r->truncated ? " (at least)" : "");
    for (size_t j = 0; j < r->n_columns && rc == GW_OK; j++)
        rc = gw_buf_printf(out, "%s%s", j ? ", " : " (", r->columns[j].name);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, r->n_columns ? "): " : ": ");
    for (size_t i = 0; i < r->row_count && i < GW_FMT_LIST_SHOWN && rc == GW_OK; i++) {
        if (i > 0)
            rc = gw_buf_adds(out, "; ");
        if (rc == GW_OK)
            rc = row_text(r, i, 0, out);
    }
    if (rc == GW_OK)
        rc = gw_buf_adds(out, r->row_count > GW_FMT_LIST_SHOWN ? "; and more." : ".");
    return rc;
}

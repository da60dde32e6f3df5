/* formatter_ground.c - the grounding check of formatter.h: every number
 * written in an answer must be a value of the rows (or a number inside one
 * of their text cells), that value rounded to the answer's decimals, the
 * row count, or (gw_grounded_q) a number of the question.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formatter_int.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The next number of s from *i: digits with thousands commas and one
 * decimal point; *decimals gets its digits after the point. Returns 0 at
 * the end. */
static int next_number(const char *s, size_t *i, double *v, int *decimals)
{
    char buf[64];
    size_t k = 0;
    while (s[*i] != '\0' && !is_digit(s[*i]))
        (*i)++;
    if (s[*i] == '\0')
        return 0;
    *decimals = -1;
    while (s[*i] != '\0' && k + 1 < sizeof buf) {
        char c = s[*i];
        if (is_digit(c)) {
            buf[k++] = c;
            if (*decimals >= 0)
                (*decimals)++;
        } else if (c == ',' && *decimals < 0 && is_digit(s[*i + 1]) && is_digit(s[*i + 2]) && is_digit(s[*i + 3]) &&
                   !is_digit(s[*i + 4])) {
            /* a thousands separator: skip it */
        } else if (c == '.' && *decimals < 0 && is_digit(s[*i + 1])) {
            buf[k++] = c;
            *decimals = 0;
        } else {
            break;
        }
        (*i)++;
    }
    while (is_digit(s[*i])) /* absurdly long: swallow the rest */
        (*i)++;
    buf[k] = '\0';
    *v = strtod(buf, NULL);
    if (*decimals < 0)
        *decimals = 0;
    return 1;
}

static int same(double a, int decimals, double v)
{
    v = fabs(v);
    if (fabs(a - v) <= 1e-9 * (1 + fabs(v)))
        return 1;
    if (decimals > 2)
        return 0;
    double scale = pow(10.0, decimals);
    if (fabs(round(v * scale) / scale - a) <= 1e-9 * (1 + fabs(v)))
        return 1;
    return fabs(round(v * 100.0) / 100.0 - a) <= 1e-9 * (1 + fabs(v));
}

static int in_text(double a, int decimals, const char *s, size_t len)
{
    char buf[512];
    size_t i = 0;
    double v;
    int d;
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    while (next_number(buf, &i, &v, &d))
        if (same(a, decimals, v))
            return 1;
    return 0;
}

static int in_rows(double a, int decimals, const gw_result_t *r)
{
    if (r == NULL)
        return 0;
    if (same(a, decimals, (double)r->row_count))
        return 1;
    for (size_t i = 0; i < r->row_count * r->n_columns; i++) {
        const gw_cell_t *c = &r->cells[i];
        double v;
        if (c->kind == GW_CELL_TEXT) {
            if (in_text(a, decimals, c->v.text.ptr, c->v.text.len))
                return 1;
        } else if (gw__fmt_cell_num(c, &v) && same(a, decimals, v)) {
            return 1;
        }
    }
    return 0;
}

int gw_grounded_q(const char *answer, const gw_result_t *rows, const char *question)
{
    size_t i = 0;
    double a;
    int d;
    if (answer == NULL)
        return 0;
    while (next_number(answer, &i, &a, &d)) {
        if (in_rows(a, d, rows))
            continue;
        if (question != NULL && in_text(a, d, question, strlen(question)))
            continue;
        return 0;
    }
    return 1;
}

int gw_grounded(const char *answer, const gw_result_t *rows)
{
    return gw_grounded_q(answer, rows, NULL);
}

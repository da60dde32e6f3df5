/* formatter.h - the template formatter of the ask pipeline: one
 * deterministic English sentence (or a short list) per plan class, built
 * from the plan and the rows the engine returned, with thousands
 * separators and $1,234.56 money; and the grounding check that tells
 * whether every number in an answer (template- or LLM-written) comes from
 * the rows.
 */
#ifndef GW_FORMATTER_H
#define GW_FORMATTER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "engine.h"
#include "err.h"
#include "planner_rules.h"

/* Items a list answer shows before "N in all". */
#define GW_FMT_LIST_SHOWN 5

/* Appends the answer sentence for an OK plan and its result to out (not
 * reset). An empty result, or a total over no rows, says that nothing
 * matched. Numbers in the sentence come from the rows (or the row count),
 * except the question's own thresholds and dates, which it repeats.
 * Returns GW_OK, GW_EINVAL for a refused plan or NULL arguments,
 * GW_ETOOBIG when out is full. */
gw_err_t gw_format_answer(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out);

/* Appends a sentence for any result (SQL the LLM planner wrote, whose
 * plan the template does not know): "No rows matched.", "units: 1,284."
 * or "N rows: a, b; c, d; ..." with at most GW_FMT_LIST_SHOWN rows shown.
 * Every number in it is a cell or the row count (grounded by
 * construction). GW_EINVAL for NULL arguments, GW_ETOOBIG. */
gw_err_t gw_format_generic(const gw_result_t *r, gw_buf_t *out);

/* Returns 1 when every number written in answer (digits, with optional $,
 * thousands commas and decimals; signs ignored) equals a value of rows, a
 * number inside one of its text cells (codes, dates), the value rounded to
 * the answer's decimals (at most 2), or rows->row_count. Returns 0 otherwise
 * (and for NULL rows when the answer has a number). */
int gw_grounded(const char *answer, const gw_result_t *rows);
/* The same, also accepting numbers the question itself contains (a
 * threshold or a year the answer repeats: "priced under $500"). */
int gw_grounded_q(const char *answer, const gw_result_t *rows, const char *question);

/* "1,284" / "-12" into out (at least 32 bytes). */
void gw_fmt_int(int64_t v, char *out, size_t n);
/* "$1,234.56" into out (at least 40 bytes). */
void gw_fmt_money(double v, char *out, size_t n);
/* A plain number: thousands separators, at most 2 decimals, no trailing
 * zeros ("36.7", "1,284", "0.25"). */
void gw_fmt_num(double v, char *out, size_t n);

#endif

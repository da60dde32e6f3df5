/* formatter_int.h - internals shared by formatter.c (numbers, phrases,
 * entry point), formatter_text.c (the sentence of each plan class) and
 * formatter_ground.c (the grounding check). Not a public header.
 */
#ifndef GW_FORMATTER_INT_H
#define GW_FORMATTER_INT_H

#include "formatter.h"

/* A numeric cell's value (1), or 0 for text, booleans and NULL. */
int gw__fmt_cell_num(const gw_cell_t *c, double *v);
/* A cell as a label ("West", "2024", "active", a date). */
void gw__fmt_cell_label(const gw_cell_t *c, char *out, size_t n);
const gw_cell_t *gw__fmt_cell(const gw_result_t *r, size_t row, size_t col);

/* The plan's noun phrase ("black Samsung office chairs", "products"). */
void gw__fmt_subject(const gw_plan_t *p, gw_buf_t *b);
/* 1 when the subject is one plural category name alone. */
int gw__fmt_countable(const gw_plan_t *p);
/* Its qualifiers, each led by " in" or ", ": location, price, dates... */
void gw__fmt_quals(const gw_plan_t *p, gw_buf_t *b);
/* "under $500", "between 10 and 20 units", "more than 2 warehouses". */
void gw__fmt_cond(gw_buf_t *b, const gw_plan_num_t *n, int price, const char *unit);

/* The sentences (formatter_text.c). */
void gw__fmt_scalar(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out);
void gw__fmt_groups(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out);
void gw__fmt_difference(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out);
void gw__fmt_list(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out);
void gw__fmt_detail(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out);
void gw__fmt_stock(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out);
void gw__fmt_warehouses(const gw_plan_t *p, const gw_result_t *r, gw_buf_t *out);

#endif

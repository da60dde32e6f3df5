/* planner_sql_int.h - internals of the plan-to-SQL renderer, shared by
 * planner_sql.c (helpers, conditions, entry point), planner_sql_expr.c
 * (measures and dimensions), planner_sql_join.c (DuckDB, BigQuery) and
 * planner_sql_ch.c (ClickHouse 18.16). Not a public header.
 */
#ifndef GW_PLANNER_SQL_INT_H
#define GW_PLANNER_SQL_INT_H

#include "planner_rules.h"

#define GW_PLAN_SQL_MAX 65536

typedef struct gw__sq {
    const gw_plan_t *p;
    const gw_sql_target_t *t;
    int ch;        /* ClickHouse: unqualified names, one JOIN per SELECT */
    gw_buf_t *out;
    gw_err_t rc;   /* sticky: the first error */
    int w_is_t;    /* warehouse columns come from the derived table t */
    int dept_col;  /* categories c is a derived table with a department column */
} gw__sq_t;

/* A list of conditions joined by AND. */
typedef struct gw__conds {
    gw_buf_t b;
    size_t n;
} gw__conds_t;

static inline void gw__conds_init(gw__conds_t *c)
{
    gw_buf_init(&c->b, GW_PLAN_SQL_MAX);
    c->n = 0;
}

void gw__sq_put(gw__sq_t *q, gw_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void gw__sq_lit(gw__sq_t *q, gw_buf_t *b, const char *s);
void gw__sq_num(gw__sq_t *q, gw_buf_t *b, double v);
void gw__sq_date(gw__sq_t *q, gw_buf_t *b, int32_t days, int ts);
void gw__sq_col(gw__sq_t *q, gw_buf_t *b, char alias, const char *name);
void gw__sq_table(gw__sq_t *q, gw_buf_t *b, const char *name, char alias);
void gw__sq_and(gw__sq_t *q, gw__conds_t *c);
void gw__sq_num_expr(gw__sq_t *q, gw_buf_t *b, const char *expr, const gw_plan_num_t *n);
void gw__sq_num_cond(gw__sq_t *q, gw__conds_t *c, char alias, const char *column, const gw_plan_num_t *n);

/* Conditions of one table of the plan, appended to c. */
void gw__sq_cat_cond(gw__sq_t *q, gw__conds_t *c);
void gw__sq_s_conds(gw__sq_t *q, gw__conds_t *c);
void gw__sq_w_conds(gw__sq_t *q, gw__conds_t *c);
void gw__sq_i_conds(gw__sq_t *q, gw__conds_t *c);
void gw__sq_sku_ids(gw__sq_t *q, gw__conds_t *c, char alias);

int gw__sq_has_s(const gw_plan_t *p); /* filters on skus columns (categories apart) */
int gw__sq_has_w(const gw_plan_t *p);
int gw__sq_has_i(const gw_plan_t *p); /* filters on inventory rows, or a per-SKU condition */
char gw__sq_dim_table(gw_dim_t d);

/* ---- measures and dimensions (planner_sql_expr.c) ---- */

/* The fact table of an aggregate plan: 'i', 's' or 'w'. */
char gw__sq_fact(const gw_plan_t *p);
/* The select items of the plan's measure (with aliases). */
void gw__sq_measure(gw__sq_t *q, gw_buf_t *b, char fact);
/* The aggregate expression alone (for HAVING). */
void gw__sq_measure_expr(gw__sq_t *q, gw_buf_t *b, char fact);
/* The alias of the plan's (first) measure column. */
const char *gw__sq_measure_alias(const gw_plan_t *p);
/* The measure summed under a condition, for differences: cond is SQL. */
void gw__sq_measure_if(gw__sq_t *q, gw_buf_t *b, char fact, const char *cond);
/* The two-value comparison columns of a plan grouped by one dimension with
 * two values: measure if A AS a, measure if B AS b, a - b AS difference.
 * qualified: the dimension column carries its table (joined queries). */
void gw__sq_difference_select(gw__sq_t *q, gw_buf_t *b, char fact, int qualified);
/* The department of a categories row from its path (DuckDB, BigQuery). */
void gw__sq_dept_of_path(gw__sq_t *q, gw_buf_t *b);
/* Select items / group keys of a dimension. */
void gw__sq_dim_select(gw__sq_t *q, gw_buf_t *b, gw_dim_t d);
void gw__sq_dim_key(gw__sq_t *q, gw_buf_t *b, gw_dim_t d);
/* The plural name of a dimension ("brands"), for counting groups. */
const char *gw__sq_dim_plural(gw_dim_t d);
/* The filter set of the plan that holds the values of dimension d. */
const gw_plan_set_t *gw__sq_dim_set(const gw_plan_t *p, gw_dim_t d);
/* The column of a set dimension (region, brand...), or NULL. */
const char *gw__sq_dim_column(gw_dim_t d);
/* A column alias made of a value: "Midwest" -> "midwest". */
void gw__sq_slug(const char *v, char *out, size_t outlen);

/* 1 when the plan averages prices over locations: each SKU must count
 * once per location group, not once per inventory row. */
int gw__sq_price_by_location(const gw_plan_t *p);

void gw__sq_joined(gw__sq_t *q);     /* DuckDB and BigQuery */
void gw__sq_clickhouse(gw__sq_t *q); /* ClickHouse 18.16 */

#endif

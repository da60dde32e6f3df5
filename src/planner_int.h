/* planner_int.h - internals of the rules planner, shared by
 * planner_rules.c (entities, measure, grouping, order), planner_scope.c
 * (unsafe and out-of-scope questions) and planner_nums.c (numbers:
 * thresholds, dates, top-N, SKU ids). Not a public header.
 */
#ifndef GW_PLANNER_INT_H
#define GW_PLANNER_INT_H

#include <stddef.h>

#include "planner_rules.h"

/* The parse of one question. Token i is "raw" when no link covers it;
 * used[i] marks raw tokens a rule has consumed. */
typedef struct gw__pc {
    const gw_planner_ctx_t *ctx;
    const char *question;
    const gw_rquery_t *q;
    const gw_token_t *t;
    size_t n;
    gw_plan_t *p;
    unsigned char used[GW_RT_MAX_TOKENS];
    /* findings of planner_nums.c for the measure rules */
    int price_threshold;  /* a price condition was read */
    int unit_threshold;   /* a units condition was read (skucond or having) */
    int topn;             /* an explicit N ("top 5", "3 most") or 0 */
    int topn_at;          /* its token, or -1 */
    int date_cue;         /* a date condition was read */
    /* thresholds whose meaning depends on the measure and grouping */
    gw_plan_num_t cond_units; /* units on hand ("fewer than 10 units", "out of stock") */
    gw_plan_num_t cond_skus;  /* SKUs ("more than 40 SKUs") */
    gw_plan_num_t cond_wh;    /* warehouses ("in more than 2 warehouses") */
} gw__pc_t;

/* Token helpers (out of range: ""). */
const char *gw__pc_text(const gw__pc_t *c, size_t i);
int gw__pc_is(const gw__pc_t *c, size_t i, const char *word);
int gw__pc_is_any(const gw__pc_t *c, size_t i, const char *const *words); /* NULL-terminated */
int gw__pc_raw(const gw__pc_t *c, size_t i);
/* Tokens from i spell phrase ("how many"): returns their count, or 0. */
size_t gw__pc_seq(const gw__pc_t *c, size_t i, const char *phrase);
/* First i where phrase starts, or -1. */
int gw__pc_find(const gw__pc_t *c, const char *phrase);
/* The first link covering token i, or NULL. */
const gw_link_t *gw__pc_link(const gw__pc_t *c, size_t i);
/* The gw_col_t of a column link covering token i, or 0. */
int gw__pc_col(const gw__pc_t *c, size_t i);
/* The first token of a column link with id col, or -1. */
int gw__pc_col_at(const gw__pc_t *c, gw_col_t col);

/* A column link with id col whose first token no number rule consumed. */
int gw__pc_col_free(const gw__pc_t *c, gw_col_t col);
/* 1 + the index of the first raw token among words, or 0. */
int gw__pc_any_raw(const gw__pc_t *c, const char *const *words);

/* planner_decide.c: the title substring (and its token span [*a, *b)), and
 * every decision after the entities and numbers. */
void gw__plan_title(gw__pc_t *c, size_t *a, size_t *b);
void gw__plan_decide(gw__pc_t *c);

/* planner_scope.c: fill p with an unsafe / out-of-scope refusal and return
 * 1, or return 0. */
int gw__plan_unsafe(gw__pc_t *c);
int gw__plan_out_of_scope(gw__pc_t *c);

/* planner_nums.c: reads every number of the question (SKU ids, top N,
 * thresholds, years and dates) and the relative dates ("last 30 days"). */
void gw__plan_numbers(gw__pc_t *c);

/* Day arithmetic, days since 1970-01-01. */
int32_t gw__days_from_civil(int y, unsigned m, unsigned d);
void gw__civil_from_days(int32_t days, int *y, unsigned *m, unsigned *d);

#endif

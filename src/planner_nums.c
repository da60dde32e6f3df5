/* planner_nums.c - the numbers of a question for the rules planner: SKU
 * ids, top-N, thresholds ("under $50", "fewer than 10 units", "in more than
 * 2 warehouses", "between 100 and 200"), stock states ("out of stock",
 * "below reorder point"), calendar dates ("in 2025", "after March 2024",
 * "2026-10-01") and relative ones ("in the last 30 days", "this year"),
 * which count back from the planner's reference day (ctx->today).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "planner_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- calendar ---- */

int32_t gw__days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void gw__civil_from_days(int32_t days, int *y, unsigned *m, unsigned *d)
{
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

static int32_t month_start(int y, int m) /* m may be out of 1..12 */
{
    while (m < 1)
        m += 12, y--;
    while (m > 12)
        m -= 12, y++;
    return gw__days_from_civil(y, (unsigned)m, 1);
}

int gw_plan_parse_day(const char *s, size_t len, int32_t *days)
{
    int y = 0;
    unsigned m = 0, d = 0;
    if (s == NULL || len < 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (size_t i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *days = gw__days_from_civil(y, m, d);
    return 0;
}

/* A period [from, to) of days. */
typedef struct period {
    int32_t from, to;
} period_t;

/* ---- number words ---- */

static const char *const small_numbers[] = {"zero", "one", "two", "three", "four", "five", "six", "seven",
                                            "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
                                            "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"};

/* 1 and *v when token i is a number (digits or a word up to twenty) that
 * no link covers. */
static int num_at(const gw__pc_t *c, size_t i, double *v)
{
    if (i >= c->n || !gw__pc_raw(c, i))
        return 0;
    if (c->t[i].flags & GW_TOK_NUM) {
        *v = c->t[i].num;
        return 1;
    }
    for (size_t k = 1; k < N_OF(small_numbers); k++) /* "zero" is a stock state, not a count */
        if (strcmp(c->t[i].text, small_numbers[k]) == 0) {
            *v = (double)k;
            return 1;
        }
    if (gw__pc_is(c, i, "thirty") || gw__pc_is(c, i, "fifty") || gw__pc_is(c, i, "hundred")) {
        *v = gw__pc_is(c, i, "thirty") ? 30 : gw__pc_is(c, i, "fifty") ? 50 : 100;
        return 1;
    }
    return 0;
}

static int month_at(const gw__pc_t *c, size_t i)
{
    static const char *const months[][2] = {
        {"january", "jan"}, {"february", "feb"}, {"march", "mar"},     {"april", "apr"},
        {"may", "may"},     {"june", "jun"},     {"july", "jul"},      {"august", "aug"},
        {"september", "sep"}, {"october", "oct"}, {"november", "nov"}, {"december", "dec"},
    };
    for (int m = 0; m < 12; m++)
        if (gw__pc_is(c, i, months[m][0]) || gw__pc_is(c, i, months[m][1]) ||
            (m == 8 && gw__pc_is(c, i, "sept")))
            return m + 1;
    return 0;
}

static int is_year(double v, const gw_token_t *t)
{
    return (t->flags & GW_TOK_INT) && !(t->flags & GW_TOK_MONEY) && v >= 1990 && v <= 2100;
}

/* ---- which date column ---- */

/* updated_at when an "updated" word is nearer to the date than a launch
 * word; launch dates otherwise (relative windows default to updated_at). */
static gw_plan_days_t *date_target(gw__pc_t *c, size_t at, int relative)
{
    int up = -1, la = -1;
    for (size_t i = 0; i < c->n; i++) {
        int col = gw__pc_col(c, i);
        int d = (int)(i > at ? i - at : at - i);
        if (col == GW_COL_UPDATED && (up < 0 || d < up))
            up = d;
        if ((col == GW_COL_LAUNCHED || col == GW_COL_NEW) && (la < 0 || d < la))
            la = d;
    }
    if (up >= 0 && (la < 0 || up <= la))
        return &c->p->f.updated;
    if (la >= 0)
        return &c->p->f.launched;
    return relative ? &c->p->f.updated : &c->p->f.launched;
}

static void set_days(gw__pc_t *c, gw_plan_days_t *d, int32_t from, int32_t to)
{
    if (d->has) { /* a second bound narrows the first ("after 2020 and before 2023") */
        if (from != INT32_MIN && (d->from == INT32_MIN || from > d->from))
            d->from = from;
        if (to != INT32_MAX && (d->to == INT32_MAX || to < d->to))
            d->to = to;
    } else {
        d->has = 1;
        d->from = from;
        d->to = to;
    }
    c->date_cue = 1;
}

/* Applies the operator before token `at` ("after", "before", "since",
 * "in", "between P and Q") to period p. Returns the tokens of a second
 * period consumed (for "between" / "to"). */
/* "2025 or later", "and after", "onwards" right after a date at end. */
static int suffix_later(const gw__pc_t *c, size_t end)
{
    static const char *const w[] = {"later", "after", "newer", "since", NULL};
    return ((gw__pc_is(c, end + 1, "or") || gw__pc_is(c, end + 1, "and")) && gw__pc_is_any(c, end + 2, w)) ||
           gw__pc_is(c, end + 1, "onwards") || gw__pc_is(c, end + 1, "onward");
}

static int suffix_earlier(const gw__pc_t *c, size_t end)
{
    static const char *const w[] = {"earlier", "before", "older", "prior", NULL};
    return (gw__pc_is(c, end + 1, "or") || gw__pc_is(c, end + 1, "and")) && gw__pc_is_any(c, end + 2, w);
}

/* The question's words from token a to token e (inclusive) as a date's description. */
static void describe(const gw__pc_t *c, gw_plan_days_t *d, size_t a, size_t e)
{
    if (a >= c->n || e >= c->n || e < a)
        return;
    size_t s = c->t[a].start, len = c->t[e].end - s;
    if (len >= sizeof d->desc)
        len = sizeof d->desc - 1;
    memcpy(d->desc, c->question + s, len);
    d->desc[len] = '\0';
}

static void apply_period(gw__pc_t *c, size_t at, size_t end, period_t p, int relative)
{
    gw_plan_days_t *d = date_target(c, at, relative);
    size_t b = at;
    while (b > 0 && (gw__pc_is(c, b - 1, "the") || gw__pc_is(c, b - 1, "of") || gw__pc_is(c, b - 1, "year") ||
                     gw__pc_is(c, b - 1, "end") || gw__pc_is(c, b - 1, "start")))
        b--;
    const char *op = b > 0 ? gw__pc_text(c, b - 1) : "";
    int or_on = b >= 3 && gw__pc_is(c, b - 2, "or") && (gw__pc_is(c, b - 3, "on") || gw__pc_is(c, b - 3, "in"));
    int later = suffix_later(c, end), earlier = suffix_earlier(c, end);
    if (later || (strcmp(op, "after") == 0 && or_on)) /* "on or after X", "2025 or later" */
        set_days(c, d, p.from, INT32_MAX);
    else if (earlier || (strcmp(op, "before") == 0 && or_on)) /* "on or before X", "2016 or earlier" */
        set_days(c, d, INT32_MIN, p.to);
    else if (strcmp(op, "after") == 0 || (strcmp(op, "than") == 0 && gw__pc_is(c, b - 2, "later")))
        set_days(c, d, p.to, INT32_MAX);
    else if (strcmp(op, "since") == 0 || strcmp(op, "from") == 0 || strcmp(op, "starting") == 0)
        set_days(c, d, p.from, INT32_MAX);
    else if (strcmp(op, "before") == 0 || (strcmp(op, "to") == 0 && gw__pc_is(c, b - 2, "prior")) ||
             (strcmp(op, "than") == 0 && gw__pc_is(c, b - 2, "earlier")))
        set_days(c, d, INT32_MIN, p.from);
    else if (strcmp(op, "until") == 0 || strcmp(op, "through") == 0 || strcmp(op, "thru") == 0 ||
             (strcmp(op, "to") == 0 && gw__pc_is(c, b - 2, "up")) || strcmp(op, "by") == 0 ||
             strcmp(op, "to") == 0 || strcmp(op, "and") == 0)
        set_days(c, d, INT32_MIN, p.to);
    else
        set_days(c, d, p.from, p.to);
    static const char *const ops[] = {"after", "since", "from", "starting", "before", "until", "through", "thru",
                                      "by", "in", "during", "on", "than", "to", NULL};
    int has_op = b > 0 && gw__pc_is_any(c, b - 1, ops);
    size_t first = !has_op ? at : (gw__pc_is(c, b - 1, "than") || gw__pc_is(c, b - 1, "to")) && b >= 2 ? b - 2 : b - 1;
    if (or_on && has_op)
        first = b - 3;
    if (has_op)
        c->used[b - 1] = 1;
    if (later || earlier)
        c->used[end + 1] = c->used[end + 2] = 1;
    describe(c, d, first, later || earlier ? end + 2 : end);
}

/* ---- dates ---- */

/* "2026-10-01": y, m, d tokens written next to each other. */
static int iso_date(gw__pc_t *c, size_t i, period_t *p)
{
    double y, m, d;
    if (i + 2 >= c->n || !num_at(c, i, &y) || !num_at(c, i + 1, &m) || !num_at(c, i + 2, &d))
        return 0;
    if (!is_year(y, &c->t[i]) || m < 1 || m > 12 || d < 1 || d > 31 || c->t[i + 1].start != c->t[i].end + 1 ||
        c->t[i + 2].start != c->t[i + 1].end + 1)
        return 0;
    p->from = gw__days_from_civil((int)y, (unsigned)m, (unsigned)d);
    p->to = p->from + 1;
    c->used[i] = c->used[i + 1] = c->used[i + 2] = 1;
    return 3;
}

/* "March 2025", "in March" (the latest March up to today). */
static int month_period(gw__pc_t *c, size_t i, period_t *p)
{
    int m = month_at(c, i);
    double y;
    int ty;
    unsigned tm, td;
    if (m == 0 || !gw__pc_raw(c, i))
        return 0;
    gw__civil_from_days(c->ctx->today, &ty, &tm, &td);
    double day;
    if (num_at(c, i + 1, &day) && day >= 1 && day <= 31 && day == (double)(int)day && !is_year(day, &c->t[i + 1])) {
        /* "October 15, 2026", "Oct 15" (this year, or last when later than today) */
        int with_year = num_at(c, i + 2, &y) && is_year(y, &c->t[i + 2]);
        int yy = with_year ? (int)y : ((unsigned)m < tm || ((unsigned)m == tm && (unsigned)day <= td) ? ty : ty - 1);
        p->from = gw__days_from_civil(yy, (unsigned)m, (unsigned)day);
        p->to = p->from + 1;
        c->used[i] = c->used[i + 1] = 1;
        if (with_year)
            c->used[i + 2] = 1;
        return with_year ? 3 : 2;
    }
    if (num_at(c, i + 1, &y) && is_year(y, &c->t[i + 1])) {
        p->from = month_start((int)y, m);
        p->to = month_start((int)y, m + 1);
        c->used[i] = c->used[i + 1] = 1;
        return 2;
    }
    if (m == 5 || gw__pc_is(c, i, "mar")) /* "may" / "mar" alone are not months often enough */
        if (!gw__pc_is(c, i - 1, "in") && !gw__pc_is(c, i - 1, "since") && !gw__pc_is(c, i - 1, "during"))
            return 0;
    int yy = (unsigned)m <= tm ? ty : ty - 1;
    p->from = month_start(yy, m);
    p->to = month_start(yy, m + 1);
    c->used[i] = 1;
    return 1;
}

/* "last 30 days", "past 2 weeks", "the last month", "last 6 months". */
static int relative_window(gw__pc_t *c, size_t i, period_t *p)
{
    static const char *const lead[] = {"last", "past", "previous", "within", NULL};
    double n = 1;
    size_t k = i + 1;
    int dated = gw__pc_col_at(c, GW_COL_UPDATED) >= 0 || gw__pc_col_at(c, GW_COL_LAUNCHED) >= 0;
    if (!gw__pc_is_any(c, i, lead) && !((gw__pc_is(c, i, "in") || gw__pc_is(c, i, "for")) && dated))
        return 0; /* "not updated in 60 days" */
    if (num_at(c, k, &n))
        k++;
    else if (gw__pc_is(c, i, "in") || gw__pc_is(c, i, "for"))
        return 0;
    else if ((!gw__pc_is(c, i - 1, "the") && !gw__pc_is(c, i, "past")) || gw__pc_is(c, i, "within"))
        return 0; /* "last year" is the calendar year before this one */
    int32_t end = c->ctx->today + 1;
    int y;
    unsigned m, d;
    gw__civil_from_days(c->ctx->today, &y, &m, &d);
    (void)y, (void)m, (void)d;
    if (gw__pc_is(c, k, "day") || gw__pc_is(c, k, "days"))
        p->from = end - (int32_t)n;
    else if (gw__pc_is(c, k, "week") || gw__pc_is(c, k, "weeks"))
        p->from = end - 7 * (int32_t)n;
    else if (gw__pc_is(c, k, "month") || gw__pc_is(c, k, "months"))
        p->from = end - 30 * (int32_t)n; /* rolling windows: a month is 30 days */
    else if (gw__pc_is(c, k, "year") || gw__pc_is(c, k, "years"))
        p->from = end - 365 * (int32_t)n;
    else
        return 0;
    p->to = INT32_MAX;
    for (size_t j = i; j <= k; j++)
        c->used[j] = 1;
    return (int)(k - i + 1);
}

/* "this year", "last year", "this month", "last month", "today",
 * "yesterday", "recently". */
static int named_period(gw__pc_t *c, size_t i, period_t *p)
{
    int y;
    unsigned m, d;
    int32_t t = c->ctx->today;
    gw__civil_from_days(t, &y, &m, &d);
    int this = gw__pc_is(c, i, "this") || gw__pc_is(c, i, "current");
    int last = gw__pc_is(c, i, "last") || gw__pc_is(c, i, "previous");
    if ((this || last) && gw__pc_is(c, i + 1, "year")) {
        p->from = gw__days_from_civil(y - last, 1, 1);
        p->to = gw__days_from_civil(y - last + 1, 1, 1);
    } else if ((this || last) && gw__pc_is(c, i + 1, "month")) {
        p->from = month_start(y, (int)m - last);
        p->to = month_start(y, (int)m - last + 1);
    } else if ((this || last) && gw__pc_is(c, i + 1, "week")) {
        p->from = t - 6 - 7 * last;
        p->to = t + 1 - 7 * last;
    } else if (gw__pc_is(c, i, "today") || gw__pc_is(c, i, "yesterday")) {
        p->from = t - gw__pc_is(c, i, "yesterday");
        p->to = p->from + 1;
        c->used[i] = 1;
        return 1;
    } else if (gw__pc_is(c, i, "recently") || gw__pc_is(c, i, "recent")) {
        p->from = t + 1 - 30;
        p->to = INT32_MAX;
        c->used[i] = 1;
        return 1;
    } else {
        return 0;
    }
    c->used[i] = c->used[i + 1] = 1;
    return 2;
}

/* "not updated in the last 30 days": the window is negated. */
static void maybe_negate(gw__pc_t *c, size_t at, gw_plan_days_t *d)
{
    static const char *const neg[] = {"not", "havent", "hasnt", "no", "without", "never", "nt", NULL};
    for (size_t k = at > 5 ? at - 5 : 0; k < at; k++)
        if (gw__pc_is_any(c, k, neg) && d == &c->p->f.updated)
            d->negate = 1;
}

/* A 4-digit number is a year unless it reads as a quantity: after a
 * comparator ("more than 2000") or before a unit ("2000 units"). */
static int year_context(const gw__pc_t *c, size_t i)
{
    static const char *const qty_before[] = {"than", "over", "under", "above", "below", "least", "most", "exactly",
                                             "with", "top", "have", "has", NULL};
    static const char *const date_before[] = {"in", "during", "since", "after", "before", "from", "until",
                                              "through", "of", "by", "year", NULL};
    static const char *const range_before[] = {"between", "and", "to", NULL};
    int col = gw__pc_col(c, i + 1);
    if (gw__pc_is_any(c, i - 1, date_before))
        return 1;
    if (gw__pc_is_any(c, i - 1, range_before))
        return gw__pc_col_at(c, GW_COL_LAUNCHED) >= 0 || gw__pc_col_at(c, GW_COL_UPDATED) >= 0 ||
               gw__pc_col_at(c, GW_COL_NEW) >= 0;
    if (gw__pc_is_any(c, i - 1, qty_before))
        return 0;
    return !(col == GW_COL_ON_HAND || col == GW_COL_SKU || col == GW_COL_WAREHOUSE || col == GW_COL_PRICE ||
             col == GW_COL_RESERVED || gw__pc_is(c, i + 1, "dollars") || gw__pc_is(c, i + 1, "pieces"));
}

static int date_at(gw__pc_t *c, size_t i)
{
    period_t p;
    int k, relative = 0;
    double y;
    if ((k = iso_date(c, i, &p)) == 0 && (k = month_period(c, i, &p)) == 0) {
        if ((k = relative_window(c, i, &p)) != 0 || (k = named_period(c, i, &p)) != 0) {
            relative = 1;
        } else if (num_at(c, i, &y) && is_year(y, &c->t[i]) && year_context(c, i)) {
            p.from = gw__days_from_civil((int)y, 1, 1);
            p.to = gw__days_from_civil((int)y + 1, 1, 1);
            c->used[i] = 1;
            k = 1;
        } else {
            return 0;
        }
    }
    /* "between P and Q", "from P to Q": a second period closes the range */
    size_t j = i + (size_t)k;
    period_t q2;
    int k2 = 0;
    if ((gw__pc_is(c, j, "and") || gw__pc_is(c, j, "to")) && i > 0 &&
        (gw__pc_is(c, i - 1, "between") || gw__pc_is(c, i - 1, "from"))) {
        int m1 = k == 1 ? month_at(c, i) : 0, m2 = month_at(c, j + 1);
        double y2;
        if (m1 > 0 && m2 > 0 && num_at(c, j + 2, &y2) && is_year(y2, &c->t[j + 2])) {
            /* "between March and June 2023": the year is the second month's */
            p.from = month_start(m1 <= m2 ? (int)y2 : (int)y2 - 1, m1);
            p.to = month_start(m1 <= m2 ? (int)y2 : (int)y2 - 1, m1 + 1);
        }
        if ((k2 = iso_date(c, j + 1, &q2)) == 0 && (k2 = month_period(c, j + 1, &q2)) == 0 && num_at(c, j + 1, &y) &&
            is_year(y, &c->t[j + 1])) {
            q2.from = gw__days_from_civil((int)y, 1, 1);
            q2.to = gw__days_from_civil((int)y + 1, 1, 1);
            c->used[j + 1] = 1;
            k2 = 1;
        }
    }
    if (k2 > 0) {
        gw_plan_days_t *d = date_target(c, i, 0);
        c->used[j] = c->used[i - 1] = 1;
        set_days(c, d, p.from, q2.to);
        describe(c, d, i - 1, j + (size_t)k2);
        return k + 1 + k2;
    }
    apply_period(c, i, i + (size_t)k - 1, p, relative);
    maybe_negate(c, i, date_target(c, i, relative));
    return k;
}

/* ---- thresholds ---- */

typedef enum { TG_NONE, TG_PRICE, TG_UNITS, TG_SKUS, TG_WH, TG_RESERVED } target_t;

/* The comparator written before token i: op and how many tokens it takes. */
static gw_cmp_t cmp_before(const gw__pc_t *c, size_t i, size_t *len, int *loose)
{
    static const struct {
        const char *phrase;
        gw_cmp_t op;
        int loose; /* "over"/"under": a price unless told otherwise */
    } ops[] = {
        {"more than", GW_CMP_GT, 0},     {"greater than", GW_CMP_GT, 0}, {"higher than", GW_CMP_GT, 0},
        {"over", GW_CMP_GT, 1},          {"above", GW_CMP_GT, 1},        {"exceeding", GW_CMP_GT, 0},
        {"at least", GW_CMP_GE, 0},      {"no less than", GW_CMP_GE, 0}, {"no fewer than", GW_CMP_GE, 0},
        {"minimum of", GW_CMP_GE, 0},    {"less than", GW_CMP_LT, 0},    {"fewer than", GW_CMP_LT, 0},
        {"lower than", GW_CMP_LT, 0},    {"under", GW_CMP_LT, 1},        {"below", GW_CMP_LT, 1},
        {"at most", GW_CMP_LE, 0},       {"no more than", GW_CMP_LE, 0}, {"up to", GW_CMP_LE, 0},
        {"maximum of", GW_CMP_LE, 0},    {"exactly", GW_CMP_EQ, 0},      {"equal to", GW_CMP_EQ, 0},
        {"cheaper than", GW_CMP_LT, 1},  {"less expensive than", GW_CMP_LT, 1},
        {"more expensive than", GW_CMP_GT, 1}, {"only", GW_CMP_EQ, 0}, {"just", GW_CMP_EQ, 0},
    };
    for (size_t k = 0; k < N_OF(ops); k++) {
        size_t w = 1;
        for (const char *s = ops[k].phrase; *s; s++)
            w += *s == ' ';
        if (i < w || gw__pc_seq(c, i - w, ops[k].phrase) != w)
            continue;
        *len = w;
        *loose = ops[k].loose;
        return ops[k].op;
    }
    return GW_CMP_NONE;
}

/* "10 or more", "50+", "5 or fewer" after token i. */
static gw_cmp_t cmp_after(const gw__pc_t *c, size_t i, size_t *len)
{
    static const char *const more[] = {"more", "greater", "higher", "above", "over", NULL};
    static const char *const less[] = {"less", "fewer", "lower", "below", "under", NULL};
    if (gw__pc_is(c, i + 1, "or") && gw__pc_is_any(c, i + 2, more)) {
        *len = 2;
        return GW_CMP_GE;
    }
    if (gw__pc_is(c, i + 1, "or") && gw__pc_is_any(c, i + 2, less)) {
        *len = 2;
        return GW_CMP_LE;
    }
    if (c->question[c->t[i].end] == '+') {
        *len = 0;
        return GW_CMP_GE;
    }
    return GW_CMP_NONE;
}

static target_t target_of_col(int col)
{
    switch (col) {
    case GW_COL_PRICE:
    case GW_COL_CHEAP:
    case GW_COL_EXPENSIVE: return TG_PRICE;
    case GW_COL_ON_HAND: return TG_UNITS;
    case GW_COL_RESERVED: return TG_RESERVED;
    case GW_COL_SKU: return TG_SKUS;
    case GW_COL_WAREHOUSE: return TG_WH;
    default: return TG_NONE;
    }
}

/* What the number at i counts: the words after it, else before it. */
static target_t threshold_target(gw__pc_t *c, size_t i, size_t before, int loose, gw_cmp_t op)
{
    static const char *const money[] = {"dollars", "dollar", "usd", "bucks", NULL};
    if (c->t[i].flags & GW_TOK_MONEY) {
        for (size_t k = before; k > 0 && k + 4 > before; k--) /* "cost under $500": the price word is used */
            if (target_of_col(gw__pc_col(c, k - 1)) == TG_PRICE)
                c->used[k - 1] = 1;
        return TG_PRICE;
    }
    for (size_t k = i + 1; k < c->n && k <= i + 4; k++) {
        if (gw__pc_is_any(c, k, money))
            return TG_PRICE;
        if (gw__pc_is(c, k, "pieces"))
            return TG_UNITS;
        target_t t = target_of_col(gw__pc_col(c, k));
        if (t != TG_NONE)
            return t;
        const gw_link_t *l = gw__pc_link(c, k);
        if (!(l != NULL && (l->kind == GW_LINK_COLUMN || l->kind == GW_LINK_CATEGORY)) &&
            !gw__pc_is(c, k, "different") && !gw__pc_is(c, k, "distinct"))
            break;
    }
    for (size_t k = before; k > 0 && k + 5 > before; k--) {
        target_t t = target_of_col(gw__pc_col(c, k - 1));
        if (t == TG_PRICE) /* "priced under", "cost more than": the price word is the condition's */
            c->used[k - 1] = 1;
        if (t != TG_NONE)
            return t;
    }
    if (loose)
        return TG_PRICE;
    (void)op;
    return gw__pc_find(c, "fewer") >= 0 || gw__pc_col_at(c, GW_COL_ON_HAND) >= 0 ? TG_UNITS
           : gw__pc_col_at(c, GW_COL_PRICE) >= 0                               ? TG_PRICE
                                                                               : TG_UNITS;
}

static void put_cond(gw_plan_num_t *n, gw_cmp_t op, double v)
{
    int lower = op == GW_CMP_GT || op == GW_CMP_GE;
    if (n->op != GW_CMP_NONE && n->hi_op == GW_CMP_NONE && op != GW_CMP_EQ &&
        lower != (n->op == GW_CMP_GT || n->op == GW_CMP_GE)) {
        if (lower) { /* keep the lower bound first */
            n->hi_op = n->op;
            n->hi = n->value;
            n->op = op;
            n->value = v;
        } else {
            n->hi_op = op;
            n->hi = v;
        }
        return;
    }
    n->op = op;
    n->value = v;
    n->hi_op = GW_CMP_NONE;
}

static void set_threshold(gw__pc_t *c, target_t tg, gw_cmp_t op, double v)
{
    switch (tg) {
    case TG_PRICE:
        put_cond(&c->p->f.price, op, v);
        c->price_threshold = 1;
        break;
    case TG_SKUS: put_cond(&c->cond_skus, op, v); break;
    case TG_WH: put_cond(&c->cond_wh, op, v); break;
    case TG_RESERVED: put_cond(&c->p->f.reserved, op, v); break;
    default:
        put_cond(&c->cond_units, op, v);
        c->unit_threshold = 1;
    }
}

/* "between 100 and 200 dollars". */
static int between_at(gw__pc_t *c, size_t i)
{
    double a, b;
    if (i == 0 || !gw__pc_is(c, i - 1, "between") || !num_at(c, i, &a) || !gw__pc_is(c, i + 1, "and") ||
        !num_at(c, i + 2, &b))
        return 0;
    target_t tg = threshold_target(c, i + 2, i - 1, 1, GW_CMP_GE);
    if ((c->t[i].flags & GW_TOK_MONEY) || (c->t[i + 2].flags & GW_TOK_MONEY))
        tg = TG_PRICE;
    set_threshold(c, tg, GW_CMP_GE, a < b ? a : b);
    set_threshold(c, tg, GW_CMP_LE, a < b ? b : a);
    c->used[i - 1] = c->used[i] = c->used[i + 1] = c->used[i + 2] = 1;
    return 3;
}

static int threshold_at(gw__pc_t *c, size_t i)
{
    double v;
    size_t len = 0;
    int loose = 0;
    if (!num_at(c, i, &v))
        return 0;
    gw_cmp_t op = cmp_before(c, i, &len, &loose);
    size_t before = i - len;
    if (op == GW_CMP_NONE) {
        op = cmp_after(c, i, &len);
        before = i;
        if (op == GW_CMP_NONE) {
            if (!gw__pc_is(c, i - 1, "with") && !gw__pc_is(c, i - 1, "have") && !gw__pc_is(c, i - 1, "has") &&
                !gw__pc_is(c, i - 1, "having"))
                return 0;
            op = GW_CMP_EQ; /* "with 0 units" */
        }
    }
    set_threshold(c, threshold_target(c, i, before, loose, op), op, v);
    c->used[i] = 1;
    for (size_t k = before; k < i; k++)
        c->used[k] = 1;
    return 1;
}

/* ---- top N, SKU ids ---- */

static int topn_at(gw__pc_t *c, size_t i)
{
    static const char *const lead[] = {"top", "bottom", "first", "which", "what", "list", "show", "the", "name",
                                       "give", "find", "most", "least", "cheapest", "newest", "oldest", "latest",
                                       "biggest", "largest", "smallest", "highest", "lowest", "priciest", NULL};
    static const char *const sup[] = {"most", "least", "fewest", "biggest", "largest", "smallest", "highest",
                                      "lowest", "cheapest", "newest", "oldest", "latest", "priciest", "best",
                                      "top", "greatest", NULL};
    double v;
    if (!num_at(c, i, &v) || v < 1 || v > 1000 || (c->t[i].flags & GW_TOK_MONEY) || v != (double)(long)v)
        return 0;
    size_t nx = i + 1; /* "which 3 Midwest warehouses": past the place */
    while (nx < c->n && gw__pc_link(c, nx) != NULL && gw__pc_link(c, nx)->kind >= GW_LINK_REGION &&
           gw__pc_link(c, nx)->kind <= GW_LINK_WAREHOUSE)
        nx = gw__pc_link(c, nx)->tok_end;
    if (gw__pc_raw(c, nx) && !(c->t[nx].flags & GW_TOK_NUM) && gw__pc_link(c, nx + 1) != NULL &&
        !gw__pc_is_any(c, nx, (const char *const[]){"in", "of", "for", "with", "by", "at", "from", "and", "or",
                                                    "to", "on", "units", "more", "less", "fewer", NULL}))
        nx++; /* one describing word: "which 4 leaf categories" */
    const gw_link_t *next = gw__pc_link(c, nx);
    int col = gw__pc_col(c, nx);
    int lead_ok = i > 0 && gw__pc_is_any(c, i - 1, lead);
    int sup_next = gw__pc_is_any(c, i + 1, sup) || col == GW_COL_CHEAP || col == GW_COL_EXPENSIVE || col == GW_COL_NEW;
    int noun_next = next != NULL && (next->kind == GW_LINK_CATEGORY || next->kind == GW_LINK_COLUMN ||
                                     next->kind == GW_LINK_BRAND);
    if (!(sup_next || (lead_ok && noun_next) || (i > 0 && (gw__pc_is(c, i - 1, "top") || gw__pc_is(c, i - 1, "bottom")))))
        return 0;
    if (noun_next && col == GW_COL_ON_HAND)
        return 0; /* "the 5 units" is a quantity */
    c->topn = (int)v;
    c->topn_at = (int)i;
    c->used[i] = 1;
    return 1;
}

static int sku_id_at(gw__pc_t *c, size_t i)
{
    double v;
    if (!num_at(c, i, &v) || !(c->t[i].flags & GW_TOK_INT) || v < 100000000 || v > 9.0e15)
        return 0;
    if (c->p->f.n_sku_ids < GW_PLAN_MAX_VALUES)
        c->p->f.sku_ids[c->p->f.n_sku_ids++] = (int64_t)v;
    c->used[i] = 1;
    return 1;
}

/* ---- stock states ---- */

static void stock_states(gw__pc_t *c)
{
    static const char *const zero[] = {"out of stock", "sold out", "no stock", "zero stock", "no inventory",
                                       "not in stock", "zero units", "no units", "zero inventory", "0 stock",
                                       "none in stock", "stocked out", NULL};
    static const char *const low_lt[] = {"below reorder", "below the reorder", "below their reorder",
                                         "under reorder", "under the reorder", "under their reorder",
                                         "beneath the reorder", "low stock", "running low", "low on stock",
                                         "less than the reorder", "less than their reorder", NULL};
    static const char *const low_le[] = {"at or below", "need reordering", "needs reordering", "need to be reordered",
                                         "need restocking", "needs restocking", "need to be restocked",
                                         "due for reorder", "at or under", NULL};
    for (size_t k = 0; zero[k] != NULL; k++)
        if (gw__pc_find(c, zero[k]) >= 0) {
            put_cond(&c->cond_units, GW_CMP_EQ, 0);
            c->unit_threshold = 1;
        }
    for (size_t k = 0; low_le[k] != NULL && c->p->f.reorder == GW_CMP_NONE; k++)
        if (gw__pc_find(c, low_le[k]) >= 0 && (gw__pc_col_at(c, GW_COL_REORDER) >= 0 || k > 0))
            c->p->f.reorder = GW_CMP_LE;
    for (size_t k = 0; low_lt[k] != NULL && c->p->f.reorder == GW_CMP_NONE; k++)
        if (gw__pc_find(c, low_lt[k]) >= 0)
            c->p->f.reorder = GW_CMP_LT;
    if (c->p->f.reorder == GW_CMP_NONE && gw__pc_col_at(c, GW_COL_REORDER) >= 0 &&
        (gw__pc_find(c, "below") >= 0 || gw__pc_find(c, "under") >= 0))
        c->p->f.reorder = GW_CMP_LT;
}

void gw__plan_numbers(gw__pc_t *c)
{
    c->topn_at = -1;
    stock_states(c);
    for (size_t i = 0; i < c->n; i++) {
        int k;
        if (c->used[i] || !gw__pc_raw(c, i))
            continue;
        if (sku_id_at(c, i))
            continue;
        if ((k = date_at(c, i)) > 0) {
            i += (size_t)k - 1;
            continue;
        }
        if ((k = between_at(c, i)) > 0) {
            i += (size_t)k;
            continue;
        }
        if (c->topn == 0 && topn_at(c, i))
            continue;
        threshold_at(c, i);
    }
}

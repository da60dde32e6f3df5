/* ask.c - the ask pipeline (ask.h): build once (taxonomy, schema,
 * retriever, reference date, dialect), then per question: retrieve, plan,
 * render SQL, guard, execute, format, with timings and callbacks. The JSON
 * of an answer is in ask_json.c.
 */
#include "ask.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "alloc.h"
#include "config.h"
#include "formatter.h"
#include "formatter_llm.h"
#include "llm_call.h"
#include "planner_llm.h"
#include "planner_rules.h"
#include "retriever.h"
#include "schema_cache.h"
#include "taxonomy.h"

struct gw_ask {
    gw_engine_t *engine; /* borrowed */
    gw_guard_t *guard;   /* borrowed */
    gw_taxonomy_t *tax;
    gw_schema_t *schema; /* NULL when describe failed */
    gw_retriever_t *rt;
    gw_planner_ctx_t ctx;
    gw_sql_target_t target;  /* the engine's dialect */
    gw_sql_target_t guarded; /* the guard's dialect */
    char *project, *dataset;
    const char *engine_name;
    atomic_uint_least64_t guard_refusals;
    /* LLM planner and formatter (ask.planner, ask.formatter) */
    char *planner_model;   /* the alias, or NULL */
    int planner_llm;       /* mode llm, or auto with a configured alias */
    char *formatter_model; /* the alias, or NULL */
    int formatter_llm;     /* mode llm with an alias */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *gw_ask_reason_name(gw_ask_reason_t r)
{
    switch (r) {
    case GW_ASK_OUT_OF_SCOPE: return "out_of_scope";
    case GW_ASK_UNSAFE: return "unsafe";
    case GW_ASK_AMBIGUOUS: return "ambiguous";
    case GW_ASK_ENGINE_ERROR: return "engine_error";
    default: return NULL;
    }
}

int32_t gw_ask_today(const gw_ask_t *a)
{
    return a->ctx.today;
}

uint64_t gw_ask_guard_refusals(const gw_ask_t *a)
{
    return atomic_load(&a->guard_refusals);
}

/* ---- building ---- */

/* The catalog is a snapshot: relative dates count back from the day of its
 * latest inventory update, or from today (UTC) when that can't be read. */
static int32_t reference_day(gw_engine_t *e)
{
    static const char sql[] = "SELECT MAX(updated_at) AS latest FROM inventory";
    gw_result_t *r = NULL;
    gw_query_info_t info;
    gw_query_opts_t o = {1, GW_ASK_TIMEOUT_MS};
    int32_t day = (int32_t)(time(NULL) / 86400);
    if (e != NULL && gw_engine_query_result(e, sql, sizeof sql - 1, &o, &r, &info) == GW_OK && r->row_count == 1 &&
        r->n_columns == 1 && r->cells[0].kind == GW_CELL_TEXT)
        gw_plan_parse_day(r->cells[0].v.text.ptr, r->cells[0].v.text.len, &day);
    gw_result_free(r);
    return day;
}

static gw_err_t pick_dialects(gw_ask_t *a, const gw_config_t *cfg, char *err, size_t errlen)
{
    const char *name = a->engine != NULL ? a->engine->ops->name
                       : cfg != NULL && cfg->ask.engine != NULL ? cfg->ask.engine
                                                               : "duckdb";
    a->engine_name = strcmp(name, "clickhouse") == 0 ? "clickhouse" : strcmp(name, "bigquery") == 0 ? "bigquery" : "duckdb";
    a->target.dialect = strcmp(a->engine_name, "clickhouse") == 0 ? GW_DIALECT_CLICKHOUSE
                        : strcmp(a->engine_name, "bigquery") == 0 ? GW_DIALECT_BIGQUERY
                                                                  : GW_DIALECT_DUCKDB;
    if (a->target.dialect == GW_DIALECT_BIGQUERY) {
        const char *p = cfg != NULL ? cfg->ask.bigquery_project : NULL;
        const char *d = cfg != NULL && cfg->ask.bigquery_dataset != NULL ? cfg->ask.bigquery_dataset : "retail";
        if (p == NULL) {
            snprintf(err, errlen, "ask: the bigquery engine needs ask.bigquery.project in the configuration");
            return GW_ECONFIG;
        }
        if ((a->project = gw_strdup(p)) == NULL || (a->dataset = gw_strdup(d)) == NULL)
            return GW_ENOMEM;
        a->target.project = a->project;
        a->target.dataset = a->dataset;
    }
    gw_sql_dialect_t gd = gw_guard_dialect(a->guard);
    a->guarded.dialect = gd == GW_SQL_CLICKHOUSE ? GW_DIALECT_CLICKHOUSE
                         : gd == GW_SQL_BIGQUERY ? GW_DIALECT_BIGQUERY
                                                 : GW_DIALECT_DUCKDB;
    if (a->guarded.dialect == GW_DIALECT_BIGQUERY) { /* the guard checks the engine's own text */
        a->guarded.project = a->target.project;
        a->guarded.dataset = a->target.dataset;
    }
    return GW_OK;
}

static int alias_known(const gw_config_t *cfg, const char *alias)
{
    return cfg != NULL && alias != NULL && gw_config_model(cfg, alias, strlen(alias)) != NULL;
}

/* ask.planner.mode auto|llm|rules and ask.formatter.mode template|llm. */
static gw_err_t pick_llm(gw_ask_t *a, const gw_config_t *cfg)
{
    const gw_cfg_ask_t *c = cfg != NULL ? &cfg->ask : NULL;
    const char *pm = c != NULL && c->planner_mode != NULL ? c->planner_mode : "auto";
    const char *fm = c != NULL && c->formatter_mode != NULL ? c->formatter_mode : "template";
    const char *palias = c != NULL ? c->planner_model : NULL;
    const char *falias = c != NULL && c->formatter_model != NULL ? c->formatter_model : palias;
    if (strcmp(pm, "llm") == 0 || (strcmp(pm, "auto") == 0 && alias_known(cfg, palias)))
        a->planner_llm = 1;
    a->formatter_llm = strcmp(fm, "llm") == 0 && alias_known(cfg, falias);
    if (palias != NULL && (a->planner_model = gw_strdup(palias)) == NULL)
        return GW_ENOMEM;
    if (a->formatter_llm && (a->formatter_model = gw_strdup(falias)) == NULL)
        return GW_ENOMEM;
    return GW_OK;
}

int gw_ask_wants_llm(const gw_ask_t *a)
{
    return a != NULL && (a->planner_llm || a->formatter_llm);
}

int gw_ask_llm_planner_available(const gw_ask_t *a)
{
    return a != NULL && a->planner_model != NULL && a->target.dialect != GW_DIALECT_BIGQUERY;
}

gw_ask_t *gw_ask_new(const gw_config_t *cfg, gw_schema_cache_t *cache, gw_engine_t *engine, gw_guard_t *guard,
                     char *err, size_t errlen)
{
    gw_ask_t *a = NULL;
    char derr[512];
    if (guard == NULL) {
        snprintf(err, errlen, "ask: no SQL guard");
        return NULL;
    }
    if ((a = gw_calloc(1, sizeof *a)) == NULL)
        goto oom;
    a->engine = engine;
    a->guard = guard;
    atomic_init(&a->guard_refusals, 0);
    if ((a->tax = gw_taxonomy_load(NULL, err, errlen)) == NULL)
        goto fail;
    gw_err_t src = engine == NULL ? GW_EINVAL
                   : cache != NULL ? gw_schema_cache_get(cache, engine, 1000, &a->schema, derr, sizeof derr)
                                   : gw_schema_cache_describe(cfg, engine, 1000, &a->schema, derr, sizeof derr);
    if (src != GW_OK)
        a->schema = NULL; /* the taxonomy's values stand in */
    if ((a->rt = gw_retriever_new(a->tax, a->schema, err, errlen)) == NULL)
        goto fail;
    gw_err_t rc = pick_dialects(a, cfg, err, errlen);
    if (rc == GW_ENOMEM)
        goto oom;
    if (rc != GW_OK)
        goto fail;
    if (pick_llm(a, cfg) != GW_OK)
        goto oom;
    a->ctx.rt = a->rt;
    a->ctx.tax = a->tax;
    a->ctx.today = reference_day(engine);
    return a;
oom:
    snprintf(err, errlen, "ask: out of memory");
fail:
    gw_ask_free(a);
    return NULL;
}

void gw_ask_free(gw_ask_t *a)
{
    if (a == NULL)
        return;
    gw_retriever_free(a->rt);
    gw_schema_free(a->schema);
    gw_taxonomy_free(a->tax);
    gw_free(a->project);
    gw_free(a->dataset);
    gw_free(a->planner_model);
    gw_free(a->formatter_model);
    gw_free(a);
}

void gw_ask_answer_free(gw_ask_answer_t *ans)
{
    if (ans == NULL)
        return;
    gw_free(ans->question);
    gw_free(ans->answer);
    gw_free(ans->sql);
    gw_free(ans->planner_fallback);
    gw_result_free(ans->rows);
    memset(ans, 0, sizeof *ans);
}

/* ---- running ---- */

typedef struct run {
    gw_ask_t *a;
    const gw_ask_opts_t *o;
    gw_ask_answer_t *out;
    double t;     /* start of the current stage */
    double t0;    /* start of the run */
    gw_plan_t plan;
    double llm_guard_ms, llm_exec_ms; /* spent in the LLM planner's tries */
} run_t;

static void stage(run_t *r, const char *name, double *slot)
{
    double t = now_ms();
    *slot = t - r->t;
    r->t = t;
    if (r->o->on_stage != NULL)
        r->o->on_stage(r->o->cb_data, name, *slot);
}

/* Reports a stage whose duration was measured in pieces. */
static void stage_took(run_t *r, const char *name, double *slot, double ms)
{
    *slot = ms;
    if (r->o->on_stage != NULL)
        r->o->on_stage(r->o->cb_data, name, ms);
}

static void new_id(char id[32])
{
    unsigned char u[12];
    if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < sizeof u; i++)
            u[i] = (unsigned char)((uint64_t)ts.tv_nsec >> (i % 8 * 8)) ^ (unsigned char)(i * 37 + (uintptr_t)&ts);
    }
    memcpy(id, "ask_", 4);
    for (size_t i = 0; i < sizeof u; i++)
        snprintf(id + 4 + 2 * i, 3, "%02x", u[i]);
}

static gw_err_t set_text(char **dst, const char *s)
{
    gw_free(*dst);
    *dst = gw_strdup(s);
    return *dst != NULL ? GW_OK : GW_ENOMEM;
}

static gw_err_t refuse(run_t *r, gw_ask_reason_t reason, const char *sentence)
{
    r->out->refused = true;
    r->out->reason = reason;
    r->out->grounded = gw_grounded(sentence, r->out->rows) != 0;
    return set_text(&r->out->answer, sentence);
}

static gw_ask_reason_t reason_of(gw_plan_status_t s)
{
    return s == GW_PLAN_UNSAFE ? GW_ASK_UNSAFE : s == GW_PLAN_AMBIGUOUS ? GW_ASK_AMBIGUOUS : GW_ASK_OUT_OF_SCOPE;
}

/* Guard the plan (in the guard's dialect) and return the SQL to run in
 * exec. A refusal of a rules plan is a planner bug: counted, and the
 * question ends in engine_error. */
static gw_err_t guard_plan(run_t *r, const gw_buf_t *engine_sql, gw_buf_t *exec, int *refused)
{
    gw_ask_t *a = r->a;
    gw_buf_t gsql, gout;
    gw_guard_verdict_t v;
    gw_err_t rc;
    size_t cap = r->o->max_rows ? r->o->max_rows : GW_ASK_MAX_ROWS;
    gw_buf_init(&gsql, GW_GUARD_MAX_SQL);
    gw_buf_init(&gout, GW_GUARD_MAX_SQL + 64);
    *refused = 0;
    int same = a->guarded.dialect == a->target.dialect;
    rc = same ? gw_buf_add(&gsql, engine_sql->ptr, engine_sql->len) : gw_plan_sql(&r->plan, &a->guarded, &gsql);
    if (rc == GW_OK)
        rc = gw_guard_check(a->guard, gsql.ptr, gsql.len, (int64_t)cap, &gout, &v);
    if (rc == GW_EDENIED) {
        atomic_fetch_add(&a->guard_refusals, 1);
        *refused = 1;
        char msg[GW_GUARD_MSG_MAX + 96];
        snprintf(msg, sizeof msg, "I could not run the query for that question: the SQL guard refused it (%s).",
                 v.message);
        rc = refuse(r, GW_ASK_ENGINE_ERROR, msg);
    } else if (rc == GW_OK) {
        /* the engine runs its own dialect; the guard's text when they agree */
        rc = same ? gw_buf_add(exec, gout.ptr, gout.len) : gw_buf_add(exec, engine_sql->ptr, engine_sql->len);
    }
    gw_buf_free(&gsql);
    gw_buf_free(&gout);
    return rc;
}

static gw_err_t execute(run_t *r, const gw_buf_t *sql, int *failed)
{
    gw_query_info_t info;
    gw_query_opts_t qo = {r->o->max_rows ? r->o->max_rows : GW_ASK_MAX_ROWS,
                          r->o->timeout_ms ? r->o->timeout_ms : GW_ASK_TIMEOUT_MS};
    gw_err_t rc;
    *failed = 0;
    if (r->a->engine == NULL) {
        *failed = 1;
        return refuse(r, GW_ASK_ENGINE_ERROR, "I could not run the query: no catalog engine is available.");
    }
    rc = gw_engine_query_result(r->a->engine, sql->ptr, sql->len, &qo, &r->out->rows, &info);
    if (rc == GW_ENOMEM)
        return rc;
    if (rc != GW_OK) {
        char msg[GW_ENGINE_MSG_MAX + 96];
        snprintf(msg, sizeof msg, "I could not run the query: the catalog engine failed (%s).",
                 rc == GW_ETIMEOUT ? "it took too long" : info.message[0] ? info.message : gw_strerror(rc));
        *failed = 1;
        return refuse(r, GW_ASK_ENGINE_ERROR, msg);
    }
    r->out->row_count = r->out->rows->row_count;
    r->out->truncated = r->out->rows->truncated;
    return GW_OK;
}

/* ---- the answer sentence ---- */

static void on_delta(void *data, const char *text, size_t len)
{
    run_t *r = data;
    if (r->o->on_token != NULL)
        r->o->on_token(r->o->cb_data, text, len);
}

/* The LLM formatter's sentence in *text when it is grounded; else NULL
 * (out->replaced when it was written but not grounded). */
static gw_err_t llm_sentence(run_t *r, const char *question, char **text)
{
    gw_llm_result_t res;
    gw_err_t rc = gw_format_llm(r->o->llm, r->a->formatter_model, question, r->out->sql, r->out->rows, on_delta, r,
                                &res);
    *text = NULL;
    if (rc == GW_OK && res.ok && res.text_len > 0) {
        r->out->formatter = "llm";
        if (gw_grounded_q(res.text, r->out->rows, question)) {
            *text = res.text;
            res.text = NULL;
        } else {
            r->out->replaced = true;
        }
    }
    gw_llm_result_free(&res);
    return rc == GW_ENOMEM ? rc : GW_OK;
}

/* The answer: the LLM formatter's when configured and grounded, else the
 * template's (the plan's sentence, or the generic one for LLM SQL). */
static gw_err_t format(run_t *r, const char *question, int llm_plan)
{
    gw_buf_t b;
    char *llm = NULL;
    gw_err_t rc = GW_OK;
    if (r->a->formatter_llm && r->o->llm != NULL && (rc = llm_sentence(r, question, &llm)) != GW_OK)
        return rc;
    if (llm != NULL) {
        r->out->grounded = true;
        r->out->answer = llm;
        return GW_OK;
    }
    gw_buf_init(&b, 1u << 20);
    rc = llm_plan ? gw_format_generic(r->out->rows, &b) : gw_format_answer(&r->plan, r->out->rows, &b);
    if (rc == GW_OK) {
        r->out->grounded = !r->out->replaced && gw_grounded_q(b.ptr, r->out->rows, question) != 0;
        r->out->answer = gw_buf_take(&b, NULL);
        rc = r->out->answer != NULL ? GW_OK : GW_ENOMEM;
    }
    gw_buf_free(&b);
    return rc;
}

/* ---- the LLM planner's path ---- */

/* Guards and runs one SQL the LLM proposed (gw_llm_try_cb). */
static gw_err_t try_sql(void *data, const char *sql, int *rejected, char *why, size_t whylen)
{
    run_t *r = data;
    gw_ask_t *a = r->a;
    size_t cap = r->o->max_rows ? r->o->max_rows : GW_ASK_MAX_ROWS;
    gw_query_opts_t qo = {cap, r->o->timeout_ms ? r->o->timeout_ms : GW_ASK_TIMEOUT_MS};
    gw_guard_verdict_t v;
    gw_query_info_t info;
    gw_result_t *rows = NULL;
    gw_buf_t g;
    double t0 = now_ms(), t1;
    *rejected = 1;
    if (r->o->on_plan != NULL)
        r->o->on_plan(r->o->cb_data, sql, "llm");
    gw_buf_init(&g, GW_GUARD_MAX_SQL + 64);
    gw_err_t rc = gw_guard_check(a->guard, sql, strlen(sql), (int64_t)cap, &g, &v);
    r->llm_guard_ms += (t1 = now_ms()) - t0;
    if (rc != GW_OK && rc != GW_ENOMEM) {
        snprintf(why, whylen, "the SQL guard refused it (%s): %s", gw_guard_reason_name(v.reason), v.message);
        rc = GW_OK;
    } else if (rc == GW_OK && a->engine == NULL) {
        snprintf(why, whylen, "no catalog engine is available");
    } else if (rc == GW_OK) {
        rc = gw_engine_query_result(a->engine, g.ptr, g.len, &qo, &rows, &info);
        r->llm_exec_ms += now_ms() - t1;
        if (rc != GW_OK && rc != GW_ENOMEM) {
            snprintf(why, whylen, "the engine failed: %s",
                     rc == GW_ETIMEOUT ? "it took too long" : info.message[0] ? info.message : gw_strerror(rc));
            rc = GW_OK;
        } else if (rc == GW_OK) {
            *rejected = 0;
            gw_result_free(r->out->rows);
            r->out->rows = rows;
            r->out->row_count = rows->row_count;
            r->out->truncated = rows->truncated;
            rc = set_text(&r->out->sql, g.ptr);
        }
    }
    gw_buf_free(&g);
    return rc;
}

static const char *llm_refusal_sentence(gw_plan_status_t s)
{
    switch (s) {
    case GW_PLAN_UNSAFE: return "I can't do that: I only read the product catalog, and this asks for something else.";
    case GW_PLAN_AMBIGUOUS: return "That question is ambiguous for the catalog; please say more precisely what you mean.";
    default:
        return "I can only answer questions about the product catalog: products, categories, brands, prices, "
               "warehouses and stock.";
    }
}

/* Stages, rows and answer of a question the LLM planner handled. */
static gw_err_t llm_finish(run_t *r, const char *question, const gw_llm_plan_out_t *po)
{
    gw_ask_answer_t *out = r->out;
    double plan = now_ms() - r->t - r->llm_guard_ms - r->llm_exec_ms;
    out->planner = "llm";
    stage_took(r, "plan", &out->timings_ms.plan, plan > 0 ? plan : 0);
    r->t = now_ms();
    if (po->outcome == GW_LLM_REFUSED)
        return refuse(r, reason_of(po->refusal), llm_refusal_sentence(po->refusal));
    stage_took(r, "guard", &out->timings_ms.guard, r->llm_guard_ms);
    stage_took(r, "execute", &out->timings_ms.execute, r->llm_exec_ms);
    if (r->o->on_rows != NULL)
        r->o->on_rows(r->o->cb_data, out->rows);
    gw_err_t rc = format(r, question, 1);
    stage(r, "format", &out->timings_ms.format);
    return rc;
}

/* The LLM planner. *handled 0: the rules planner answers, and
 * out->planner_fallback says why. */
static gw_err_t llm_plan_and_run(run_t *r, const char *question, const gw_rquery_t *q, int *handled)
{
    gw_ask_t *a = r->a;
    gw_llm_prompt_in_t in = {question, q, a->schema, a->tax, a->target.dialect,
                             r->o->max_rows ? r->o->max_rows : GW_ASK_MAX_ROWS, a->ctx.today};
    gw_llm_plan_out_t po;
    char msg[400];
    *handled = 0;
    if (!gw_ask_llm_planner_available(a) || r->o->llm == NULL)
        return set_text(&r->out->planner_fallback, a->planner_model == NULL ? "no ask.planner.model is configured"
                                                   : r->o->llm == NULL   ? "no LLM bridge for this request"
                                                                         : "the LLM planner does not write BigQuery SQL");
    gw_err_t rc = gw_plan_llm(r->o->llm, a->planner_model, &in, try_sql, r, &po);
    if (rc != GW_OK)
        return rc;
    r->out->llm_rounds = po.rounds;
    if (po.outcome == GW_LLM_RAN || po.outcome == GW_LLM_REFUSED) {
        *handled = 1;
        rc = llm_finish(r, question, &po);
    } else {
        snprintf(msg, sizeof msg, "%s: %s",
                 po.outcome == GW_LLM_UNAVAILABLE ? "every LLM failed" : "no SQL the guard and engine accepted",
                 po.why);
        rc = set_text(&r->out->planner_fallback, msg);
    }
    gw_llm_plan_out_free(&po);
    return rc;
}

static int use_llm_planner(const run_t *r)
{
    return r->o->planner == GW_ASK_PLANNER_LLM || (r->o->planner == GW_ASK_PLANNER_CONFIG && r->a->planner_llm);
}

/* Plan -> SQL -> guard -> engine -> answer, after retrieval. */
static gw_err_t plan_and_run(run_t *r, const char *question, const gw_rquery_t *q)
{
    gw_ask_answer_t *out = r->out;
    gw_buf_t sql, exec;
    gw_err_t rc;
    int stop = 0;
    gw_plan_rules(&r->a->ctx, question, q, &r->plan);
    if (use_llm_planner(r) && r->plan.status != GW_PLAN_UNSAFE) { /* the rules spot injections first */
        int handled = 0;
        rc = llm_plan_and_run(r, question, q, &handled);
        if (rc != GW_OK || handled)
            return rc;
    }
    if (r->plan.status != GW_PLAN_OK) {
        stage(r, "plan", &out->timings_ms.plan);
        return refuse(r, reason_of(r->plan.status), r->plan.message);
    }
    gw_buf_init(&sql, GW_GUARD_MAX_SQL);
    gw_buf_init(&exec, GW_GUARD_MAX_SQL + 64);
    rc = gw_plan_sql(&r->plan, &r->a->target, &sql);
    stage(r, "plan", &out->timings_ms.plan);
    if (rc == GW_OK && r->o->on_plan != NULL)
        r->o->on_plan(r->o->cb_data, sql.ptr, "rules");
    if (rc == GW_OK)
        rc = guard_plan(r, &sql, &exec, &stop);
    if (rc == GW_OK)
        rc = set_text(&out->sql, stop ? sql.ptr : exec.ptr);
    stage(r, "guard", &out->timings_ms.guard);
    if (rc == GW_OK && !stop) {
        rc = execute(r, &exec, &stop);
        stage(r, "execute", &out->timings_ms.execute);
    }
    if (rc == GW_OK && !stop) {
        if (r->o->on_rows != NULL)
            r->o->on_rows(r->o->cb_data, out->rows);
        rc = format(r, question, 0);
        stage(r, "format", &out->timings_ms.format);
    }
    gw_buf_free(&sql);
    gw_buf_free(&exec);
    return rc;
}

gw_err_t gw_ask_run(gw_ask_t *a, const char *question, const gw_ask_opts_t *o, gw_ask_answer_t *out)
{
    static const gw_ask_opts_t none = {0};
    run_t r;
    gw_rquery_t q = {0};
    gw_err_t rc;
    if (out == NULL)
        return GW_EINVAL;
    memset(out, 0, sizeof *out);
    if (a == NULL || question == NULL)
        return GW_EINVAL;
    memset(&r, 0, sizeof r);
    r.a = a;
    r.o = o != NULL ? o : &none;
    r.out = out;
    r.t = r.t0 = now_ms();
    new_id(out->id);
    out->engine = a->engine_name;
    out->planner = "rules";
    if ((out->question = gw_strdup(question)) == NULL)
        return GW_ENOMEM;
    stage(&r, "cache", &out->timings_ms.cache); /* the schema and index were built at start */
    rc = gw_retriever_link(a->rt, question, strlen(question), &q);
    if (rc == GW_OK) {
        stage(&r, "retrieve", &out->timings_ms.retrieve);
        rc = plan_and_run(&r, question, &q);
    }
    gw_rquery_free(&q);
    out->timings_ms.total = now_ms() - r.t0;
    if (rc != GW_OK)
        gw_ask_answer_free(out);
    return rc;
}

/* ask.h - the ask pipeline: a catalog question in English -> retriever
 * links -> rules plan -> SQL (in the engine's dialect) -> SQL guard ->
 * engine -> template answer grounded in the rows, with the answer object
 * of system.md 2 and stage/plan/rows callbacks for SSE streaming.
 *
 * A gw_ask_t is built once (taxonomy, engine schema, retriever index, the
 * catalog's reference date) and is immutable afterwards: gw_ask_run may be
 * called from any number of threads at once. It borrows the engine and the
 * guard, which must outlive it.
 */
#ifndef GW_ASK_H
#define GW_ASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "engine.h"
#include "err.h"
#include "sql_guard.h"

struct gw_schema_cache;

struct gw_config;
struct gw_llm_chan;

#define GW_ASK_MAX_ROWS 1000     /* default row cap of an answer */
#define GW_ASK_TIMEOUT_MS 10000  /* default engine timeout */

typedef enum gw_ask_reason {
    GW_ASK_OK = 0,
    GW_ASK_OUT_OF_SCOPE,
    GW_ASK_UNSAFE,
    GW_ASK_AMBIGUOUS,
    GW_ASK_ENGINE_ERROR
} gw_ask_reason_t;

typedef struct gw_ask_timings {
    double cache, retrieve, plan, guard, execute, format, total; /* milliseconds */
} gw_ask_timings_t;

/* The answer object of system.md 2. Free its contents with
 * gw_ask_answer_free. */
typedef struct gw_ask_answer {
    char id[32];          /* "ask_" + 24 hex digits */
    char *question;
    char *answer;         /* the sentence; a refusal says why */
    char *sql;            /* the SQL that ran (or was refused); NULL when no plan was made */
    const char *engine;   /* "duckdb", "clickhouse", "bigquery" (static) */
    const char *planner;  /* "rules" or "llm" (static) */
    gw_result_t *rows;    /* NULL when nothing ran */
    size_t row_count;
    bool truncated;
    bool grounded;        /* every number of answer comes from rows (or the question) */
    bool refused;
    gw_ask_reason_t reason;
    gw_ask_timings_t timings_ms;
    /* LLM paths; the JSON carries these members only when an LLM was
     * asked (the rules + template default keeps system.md 2's shape). */
    const char *formatter;  /* "llm" when the LLM formatter ran, else NULL (static) */
    bool replaced;          /* the LLM's answer was not grounded: the template's replaced it */
    char *planner_fallback; /* why the rules planner answered instead of the LLM one, or NULL */
    int llm_rounds;         /* LLM planner calls made */
} gw_ask_answer_t;

/* Called once per stage, in order: "cache", "retrieve", "plan", "guard",
 * "execute", "format" (stages after a refusal are not reported). */
typedef void (*gw_ask_stage_cb)(void *data, const char *stage, double ms);
/* Called once with the SQL about to be guarded and run, before "guard". */
typedef void (*gw_ask_plan_cb)(void *data, const char *sql, const char *planner);
/* Called once with the rows, after "execute" and before "format". */
typedef void (*gw_ask_rows_cb)(void *data, const gw_result_t *result);
/* Called with the LLM formatter's text as it streams (pieces of valid
 * UTF-8, in order), before "format". */
typedef void (*gw_ask_token_cb)(void *data, const char *text, size_t len);

typedef enum gw_ask_planner_pick {
    GW_ASK_PLANNER_CONFIG = 0, /* ask.planner.mode */
    GW_ASK_PLANNER_RULES,
    GW_ASK_PLANNER_LLM
} gw_ask_planner_pick_t;

typedef struct gw_ask_opts {
    size_t max_rows;     /* 0: GW_ASK_MAX_ROWS */
    uint32_t timeout_ms; /* 0: GW_ASK_TIMEOUT_MS */
    gw_ask_stage_cb on_stage;
    gw_ask_plan_cb on_plan;
    gw_ask_rows_cb on_rows;
    gw_ask_token_cb on_token;
    void *cb_data;
    /* The LLM bridge of this request (its tenant, the router's loop), or
     * NULL: then the rules planner and the template formatter answer. */
    struct gw_llm_chan *llm;
    gw_ask_planner_pick_t planner; /* the request's choice */
} gw_ask_opts_t;

typedef struct gw_ask gw_ask_t;

/* Builds the pipeline: loads the taxonomy ($LLMGW_DATA_DIR or data/),
 * describes the engine's schema once (its low-cardinality values feed the
 * retriever), builds the retriever, reads the catalog's reference date
 * (max(inventory.updated_at); today's UTC date when that fails) and picks
 * the SQL dialect from the engine (BigQuery names come from cfg->ask).
 * engine may be NULL (plans only: every run then ends in engine_error);
 * guard must not be NULL. The schema comes through cache (borrowed; the
 * server's long-lived one, see schema_cache.h); cache NULL: a one-off
 * cache on cfg's ask.schema_cache.redis_url (gw_schema_cache_describe).
 * Returns NULL with a reason in err on failure. */
gw_ask_t *gw_ask_new(const struct gw_config *cfg, struct gw_schema_cache *cache, gw_engine_t *engine,
                     gw_guard_t *guard, char *err, size_t errlen);
/* Frees the pipeline (not the engine or guard). NULL is fine. */
void gw_ask_free(gw_ask_t *a);

/* Answers question (NUL-terminated UTF-8) synchronously into *out (whose
 * previous contents are not freed). With o->llm and an LLM planner
 * (ask.planner.mode llm, or auto with ask.planner.model set) the question
 * is planned by the LLM through the router (the rules planner still
 * refuses unsafe questions first; every SQL passes the guard; errors go
 * back to the model up to GW_LLM_PLAN_RETRIES times); when every LLM
 * fails or no SQL is accepted, the rules planner answers and
 * out->planner_fallback says why. ask.formatter.mode llm streams the
 * sentence through on_token; an answer with a number not grounded in the
 * rows is replaced by the template's (out->replaced, grounded false).
 * Refusals (out_of_scope, unsafe,
 * ambiguous) and engine failures (engine_error) are answers, returned with
 * GW_OK and out->refused. Errors: GW_EINVAL (NULL arguments, invalid
 * UTF-8 or NUL byte), GW_ETOOBIG (longer than GW_RT_MAX_QUESTION bytes),
 * GW_ENOMEM; *out is then empty. o may be NULL. Thread-safe. */
gw_err_t gw_ask_run(gw_ask_t *a, const char *question, const gw_ask_opts_t *o, gw_ask_answer_t *out);
/* Frees what an answer owns and zeroes it. NULL is fine. */
void gw_ask_answer_free(gw_ask_answer_t *ans);
/* Appends the answer object of system.md 2 to out. */
gw_err_t gw_ask_answer_to_json(const gw_ask_answer_t *ans, gw_buf_t *out);

/* "out_of_scope", "unsafe", "ambiguous", "engine_error"; NULL for GW_ASK_OK. */
const char *gw_ask_reason_name(gw_ask_reason_t r);
/* 1 when ask.planner or ask.formatter would call an LLM (a channel is
 * worth opening for gw_ask_opts_t.llm). */
int gw_ask_wants_llm(const gw_ask_t *a);
/* 1 when the LLM planner can be used (a model alias, an engine other than
 * BigQuery); pick GW_ASK_PLANNER_LLM is refused otherwise. */
int gw_ask_llm_planner_available(const gw_ask_t *a);
/* The reference day of relative dates (days since 1970-01-01). */
int32_t gw_ask_today(const gw_ask_t *a);
/* How many plans the SQL guard refused (a planner bug when > 0). */
uint64_t gw_ask_guard_refusals(const gw_ask_t *a);


#endif

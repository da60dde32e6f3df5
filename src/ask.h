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

struct gw_config;

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
    const char *planner;  /* "rules" (static) */
    gw_result_t *rows;    /* NULL when nothing ran */
    size_t row_count;
    bool truncated;
    bool grounded;        /* every number of answer comes from rows (or the question) */
    bool refused;
    gw_ask_reason_t reason;
    gw_ask_timings_t timings_ms;
} gw_ask_answer_t;

/* Called once per stage, in order: "cache", "retrieve", "plan", "guard",
 * "execute", "format" (stages after a refusal are not reported). */
typedef void (*gw_ask_stage_cb)(void *data, const char *stage, double ms);
/* Called once with the SQL about to be guarded and run, before "guard". */
typedef void (*gw_ask_plan_cb)(void *data, const char *sql, const char *planner);
/* Called once with the rows, after "execute" and before "format". */
typedef void (*gw_ask_rows_cb)(void *data, const gw_result_t *result);

typedef struct gw_ask_opts {
    size_t max_rows;     /* 0: GW_ASK_MAX_ROWS */
    uint32_t timeout_ms; /* 0: GW_ASK_TIMEOUT_MS */
    gw_ask_stage_cb on_stage;
    gw_ask_plan_cb on_plan;
    gw_ask_rows_cb on_rows;
    void *cb_data;
} gw_ask_opts_t;

typedef struct gw_ask gw_ask_t;

/* Builds the pipeline: loads the taxonomy ($LLMGW_DATA_DIR or data/),
 * describes the engine's schema once (its low-cardinality values feed the
 * retriever), builds the retriever, reads the catalog's reference date
 * (max(inventory.updated_at); today's UTC date when that fails) and picks
 * the SQL dialect from the engine (BigQuery names come from cfg->ask).
 * engine may be NULL (plans only: every run then ends in engine_error);
 * guard must not be NULL. Returns NULL with a reason in err on failure. */
gw_ask_t *gw_ask_new(const struct gw_config *cfg, gw_engine_t *engine, gw_guard_t *guard, char *err, size_t errlen);
/* Frees the pipeline (not the engine or guard). NULL is fine. */
void gw_ask_free(gw_ask_t *a);

/* Answers question (NUL-terminated UTF-8) synchronously into *out (whose
 * previous contents are not freed). Refusals (out_of_scope, unsafe,
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
/* The reference day of relative dates (days since 1970-01-01). */
int32_t gw_ask_today(const gw_ask_t *a);
/* How many plans the SQL guard refused (a planner bug when > 0). */
uint64_t gw_ask_guard_refusals(const gw_ask_t *a);


#endif

/* planner_llm.h - the LLM planner of the ask pipeline: a prompt built from
 * the cached schema and the retriever's links (only the relevant tables,
 * columns and values, with the engine's dialect rules), a structured-output
 * request (response_format json_schema) sent through the router
 * (llm_call.h), the answer parser ({"sql","explanation","refusal"}), and
 * the self-correction loop: a guard refusal or an engine error goes back to
 * the model with the error, up to GW_LLM_PLAN_RETRIES more rounds.
 *
 * The guard stays the wall: the loop only proposes SQL; the caller's try
 * callback guards and runs it. Strings passed in are borrowed.
 */
#ifndef GW_PLANNER_LLM_H
#define GW_PLANNER_LLM_H

#include <stddef.h>

#include "buf.h"
#include "engine.h"
#include "err.h"
#include "llm_call.h"
#include "planner_rules.h"
#include "retriever.h"
#include "taxonomy.h"

/* Self-correction rounds after the first answer. */
#define GW_LLM_PLAN_RETRIES 2
/* Longest SQL accepted from a model (the guard's limit). */
#define GW_LLM_SQL_MAX 65536
/* Output tokens asked for per planner call. */
#define GW_LLM_PLAN_MAX_TOKENS 800

/* What the prompt is built from. */
typedef struct gw_llm_prompt_in {
    const char *question;
    const gw_rquery_t *q;          /* the retriever's links (may be NULL) */
    const gw_schema_t *schema;     /* the cached schema; NULL: the catalog's fixed columns */
    const gw_taxonomy_t *tax;      /* for category paths (may be NULL) */
    gw_dialect_t dialect;          /* the SQL the engine runs */
    size_t max_rows;               /* the answer's row cap */
    int32_t today;                 /* the catalog's reference day (days since 1970-01-01) */
} gw_llm_prompt_in_t;

/* Appends the system and the user message texts (plain text, not JSON
 * escaped) to sys and user. GW_EINVAL for NULL arguments, GW_ETOOBIG. */
gw_err_t gw_llm_plan_prompt(const gw_llm_prompt_in_t *in, gw_buf_t *sys, gw_buf_t *user);

/* A conversation: the messages array of a chat request, as JSON text. */
typedef struct gw_llm_convo {
    gw_buf_t msgs; /* `{"role":..,"content":..},...` without the brackets */
} gw_llm_convo_t;

void gw_llm_convo_init(gw_llm_convo_t *c);
void gw_llm_convo_free(gw_llm_convo_t *c);
/* Appends one message (text is JSON-escaped here). */
gw_err_t gw_llm_convo_add(gw_llm_convo_t *c, const char *role, const char *text, size_t len);
/* Appends an OpenAI chat request body to out: model alias, the messages,
 * temperature 0, max_tokens, and when schema_name is not NULL the
 * planner's response_format {type: json_schema, json_schema: {name,
 * strict, schema}}; stream as given. */
gw_err_t gw_llm_chat_body(const char *alias, const gw_llm_convo_t *c, const char *schema_name, int max_tokens,
                          int stream, gw_buf_t *out);

/* ---- the answer ---- */

typedef enum gw_llm_plan_kind { GW_LLM_PLAN_SQL = 0, GW_LLM_PLAN_REFUSED } gw_llm_plan_kind_t;

typedef struct gw_llm_plan {
    gw_llm_plan_kind_t kind;
    gw_plan_status_t refusal; /* OUT_OF_SCOPE, UNSAFE or AMBIGUOUS when REFUSED */
    char *sql;                /* the SQL (owned); NULL when refused */
    char *explanation;        /* owned; "" when none */
} gw_llm_plan_t;

/* Parses a model's answer text: one JSON object {"sql": string|null,
 * "explanation": string, "refusal": "none"|"out_of_scope"|"unsafe"|
 * "ambiguous"|null}, optionally inside a ``` fence or after a few words.
 * GW_OK with *out filled (free with gw_llm_plan_free); GW_EINVAL with a
 * reason in err when it is not such an answer (no SQL and no refusal, SQL
 * empty, too long or with a NUL byte, wrong types); GW_ENOMEM. */
gw_err_t gw_llm_plan_parse(const char *text, size_t len, gw_llm_plan_t *out, char *err, size_t errlen);
void gw_llm_plan_free(gw_llm_plan_t *p);

/* ---- the loop ---- */

/* Guards and runs one proposed SQL. Returns GW_OK with *rejected 0 when it
 * ran (the callee keeps the rows), or *rejected 1 with the guard's or the
 * engine's message in why (the loop asks the model again); another error
 * stops the loop. */
typedef gw_err_t (*gw_llm_try_cb)(void *data, const char *sql, int *rejected, char *why, size_t whylen);

typedef enum gw_llm_outcome {
    GW_LLM_RAN = 0,        /* a proposed SQL ran */
    GW_LLM_REFUSED,        /* the model refused the question */
    GW_LLM_UNAVAILABLE,    /* every LLM failed (router error): fall back to rules */
    GW_LLM_GAVE_UP         /* no acceptable SQL after every round */
} gw_llm_outcome_t;

typedef struct gw_llm_plan_out {
    gw_llm_outcome_t outcome;
    gw_plan_status_t refusal; /* with GW_LLM_REFUSED */
    char *sql;                /* the SQL that ran (owned), or the last one tried */
    char *explanation;        /* owned or NULL */
    int rounds;               /* model calls made */
    char why[320];            /* the last error (router, parse, guard or engine) */
} gw_llm_plan_out_t;

/* Runs the planner: builds the prompt from in, asks the model alias
 * through chan, tries each proposed SQL, feeds errors back. GW_OK with
 * *out filled (free with gw_llm_plan_out_free), GW_ENOMEM or the try
 * callback's own error. */
gw_err_t gw_plan_llm(gw_llm_chan_t *chan, const char *alias, const gw_llm_prompt_in_t *in, gw_llm_try_cb try_sql,
                     void *try_data, gw_llm_plan_out_t *out);
void gw_llm_plan_out_free(gw_llm_plan_out_t *o);

#endif

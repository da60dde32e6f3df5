/* formatter_llm.h - the LLM formatter of the ask pipeline
 * (ask.formatter.mode: llm): a prompt with the question, the SQL that ran
 * and its rows (capped), sent through the router (llm_call.h) as a stream;
 * the text comes back in pieces as it is written. The caller runs the
 * grounding check (formatter.h) on the whole text and falls back to the
 * template answer when a number is not in the rows.
 */
#ifndef GW_FORMATTER_LLM_H
#define GW_FORMATTER_LLM_H

#include <stddef.h>

#include "buf.h"
#include "engine.h"
#include "err.h"
#include "llm_call.h"

/* Rows put in the prompt, at most. */
#define GW_FMT_LLM_ROWS 20
/* Output tokens asked for. */
#define GW_FMT_LLM_MAX_TOKENS 300

/* Appends the streaming chat request body (model alias, system rules,
 * the question, the SQL, columns and at most GW_FMT_LLM_ROWS rows as JSON)
 * to out. rows may be NULL (no rows). GW_EINVAL, GW_ETOOBIG, GW_ENOMEM. */
gw_err_t gw_format_llm_body(const char *alias, const char *question, const char *sql, const gw_result_t *rows,
                            gw_buf_t *out);

/* Runs the formatter call through chan and waits for it; on_delta gets
 * the text as it streams (on this thread). res is filled in every case
 * (free it with gw_llm_result_free); returns gw_llm_call's code. */
gw_err_t gw_format_llm(gw_llm_chan_t *chan, const char *alias, const char *question, const char *sql,
                       const gw_result_t *rows, gw_llm_delta_cb on_delta, void *data, gw_llm_result_t *res);

#endif

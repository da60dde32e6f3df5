/* fuzz_planner_llm.c - libFuzzer target for the LLM planner's answer
 * parser (src/planner_llm.h gw_llm_plan_parse): any model text either
 * parses into exactly one of SQL (non-empty, no NUL, within the limit) or
 * a refusal with a known reason, or fails with a reason; a failure leaves
 * nothing allocated. Also feeds the text to the conversation builder,
 * whose request body must stay valid JSON.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "planner_llm.h"

static void check_plan(const gw_llm_plan_t *p)
{
    if (p->explanation == NULL)
        abort();
    if (p->kind == GW_LLM_PLAN_SQL) {
        size_t n = p->sql != NULL ? strlen(p->sql) : 0;
        if (n == 0 || n > GW_LLM_SQL_MAX || p->sql[0] == ' ' || p->sql[0] == '\n')
            abort();
    } else if (p->kind != GW_LLM_PLAN_REFUSED || p->sql != NULL ||
               (p->refusal != GW_PLAN_OUT_OF_SCOPE && p->refusal != GW_PLAN_UNSAFE && p->refusal != GW_PLAN_AMBIGUOUS)) {
        abort();
    }
}

/* The text (when it is UTF-8, as a model's decoded answer always is) as a
 * message of a request body: the body must parse. */
static void check_body(const char *text, size_t len)
{
    gw_llm_convo_t c;
    gw_buf_t b;
    json_error_t e;
    json_t *valid = json_stringn(text, len);
    if (valid == NULL)
        return;
    json_decref(valid);
    gw_llm_convo_init(&c);
    gw_buf_init(&b, 4u << 20);
    if (gw_llm_convo_add(&c, "assistant", text, len) == GW_OK &&
        gw_llm_chat_body("m", &c, "sql_plan", 10, 0, &b) == GW_OK) {
        json_t *j = json_loadb(b.ptr, b.len, JSON_ALLOW_NUL, &e);
        if (j == NULL)
            abort();
        json_decref(j);
    }
    gw_buf_free(&b);
    gw_llm_convo_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_llm_plan_t p;
    char err[256];
    const char *text = (const char *)data;
    gw_err_t rc = gw_llm_plan_parse(text, size, &p, err, sizeof err);
    if (rc == GW_OK)
        check_plan(&p);
    else if (p.sql != NULL || p.explanation != NULL || err[0] == '\0')
        abort();
    gw_llm_plan_free(&p);
    check_body(text, size);
    return 0;
}

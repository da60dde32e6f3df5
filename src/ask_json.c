/* ask_json.c - the JSON answer object of system.md 2 (ask.h):
 * {"id","question","answer","sql","engine","planner","columns","rows",
 *  "row_count","truncated","grounded","refused","reason","timings_ms"},
 * plus the LLM members when an LLM was asked.
 */
#include <string.h>

#include "ask.h"

static gw_err_t str_member(gw_buf_t *b, const char *name, const char *v, int comma)
{
    gw_err_t rc = gw_buf_printf(b, "%s\"%s\":", comma ? "," : "", name);
    if (rc == GW_OK && v == NULL)
        return gw_buf_adds(b, "null");
    if (rc == GW_OK)
        rc = gw_buf_adds(b, "\"");
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(b, v, strlen(v));
    if (rc == GW_OK)
        rc = gw_buf_adds(b, "\"");
    return rc;
}

/* "columns":[..],"rows":[..],"row_count":N,"truncated":B without the braces
 * of gw_result_to_json. */
static gw_err_t rows_members(gw_buf_t *b, const gw_ask_answer_t *a)
{
    gw_buf_t r;
    gw_err_t rc;
    if (a->rows == NULL)
        return gw_buf_printf(b, ",\"columns\":[],\"rows\":[],\"row_count\":0,\"truncated\":false");
    gw_buf_init(&r, b->max);
    rc = gw_result_to_json(a->rows, &r);
    if (rc == GW_OK && (r.len < 2 || r.ptr[0] != '{' || r.ptr[r.len - 1] != '}'))
        rc = GW_EINVAL;
    if (rc == GW_OK)
        rc = gw_buf_adds(b, ",");
    if (rc == GW_OK)
        rc = gw_buf_add(b, r.ptr + 1, r.len - 2);
    gw_buf_free(&r);
    return rc;
}

/* Only when an LLM was asked: "formatter", "replaced", "planner_fallback",
 * "llm_rounds" (the rules + template default keeps system.md 2's shape). */
static gw_err_t llm_members(gw_buf_t *b, const gw_ask_answer_t *a)
{
    gw_err_t rc = GW_OK;
    if (a->formatter != NULL)
        rc = gw_buf_printf(b, ",\"formatter\":\"%s\",\"replaced\":%s", a->formatter, a->replaced ? "true" : "false");
    if (rc == GW_OK && a->planner_fallback != NULL)
        rc = str_member(b, "planner_fallback", a->planner_fallback, 1);
    if (rc == GW_OK && a->llm_rounds > 0)
        rc = gw_buf_printf(b, ",\"llm_rounds\":%d", a->llm_rounds);
    return rc;
}

gw_err_t gw_ask_answer_to_json(const gw_ask_answer_t *a, gw_buf_t *b)
{
    const gw_ask_timings_t *t = &a->timings_ms;
    gw_err_t rc = gw_buf_adds(b, "{");
    if (rc == GW_OK)
        rc = str_member(b, "id", a->id, 0);
    if (rc == GW_OK)
        rc = str_member(b, "question", a->question, 1);
    if (rc == GW_OK)
        rc = str_member(b, "answer", a->answer, 1);
    if (rc == GW_OK)
        rc = str_member(b, "sql", a->sql, 1);
    if (rc == GW_OK)
        rc = str_member(b, "engine", a->engine, 1);
    if (rc == GW_OK)
        rc = str_member(b, "planner", a->planner, 1);
    if (rc == GW_OK)
        rc = rows_members(b, a);
    if (rc == GW_OK)
        rc = gw_buf_printf(b, ",\"grounded\":%s,\"refused\":%s", a->grounded ? "true" : "false",
                           a->refused ? "true" : "false");
    if (rc == GW_OK)
        rc = str_member(b, "reason", a->refused ? gw_ask_reason_name(a->reason) : NULL, 1);
    if (rc == GW_OK)
        rc = llm_members(b, a);
    if (rc == GW_OK)
        rc = gw_buf_printf(b,
                           ",\"timings_ms\":{\"cache\":%.3f,\"retrieve\":%.3f,\"plan\":%.3f,\"guard\":%.3f,"
                           "\"execute\":%.3f,\"format\":%.3f,\"total\":%.3f}}",
                           t->cache, t->retrieve, t->plan, t->guard, t->execute, t->format, t->total);
    return rc;
}

/* planner_llm.c - the LLM planner's answer parser and its self-correction
 * loop (planner_llm.h). The prompt and request body are in
 * planner_llm_prompt.c; the call goes through llm_call.h.
 */
#include "planner_llm.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

/* ---- the answer parser ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The JSON object of a model's text: from the first '{' to the last '}'
 * (fences and chatter around it are dropped). */
static int object_span(const char *t, size_t len, size_t *from, size_t *to)
{
    const char *a = memchr(t, '{', len);
    size_t end = len;
    while (end > 0 && t[end - 1] != '}')
        end--;
    if (a == NULL || end == 0 || (size_t)(a - t) >= end)
        return 0;
    *from = (size_t)(a - t);
    *to = end;
    return 1;
}

static int refusal_of(const char *s, gw_plan_status_t *st)
{
    if (s == NULL || s[0] == '\0' || strcmp(s, "none") == 0)
        return 0;
    *st = strcmp(s, "unsafe") == 0 ? GW_PLAN_UNSAFE : strcmp(s, "ambiguous") == 0 ? GW_PLAN_AMBIGUOUS
                                                                                    : GW_PLAN_OUT_OF_SCOPE;
    return 1;
}

/* Type checks of the three members; 0 with err set when one is wrong. */
static int members_ok(json_t *o, char *err, size_t errlen)
{
    json_t *sql = json_object_get(o, "sql"), *ex = json_object_get(o, "explanation");
    json_t *rf = json_object_get(o, "refusal");
    if (sql != NULL && !json_is_string(sql) && !json_is_null(sql))
        snprintf(err, errlen, "\"sql\" must be a string");
    else if (ex != NULL && !json_is_string(ex) && !json_is_null(ex))
        snprintf(err, errlen, "\"explanation\" must be a string");
    else if (rf != NULL && !json_is_string(rf) && !json_is_null(rf))
        snprintf(err, errlen, "\"refusal\" must be a string");
    else if (json_is_string(rf) && strcmp(json_string_value(rf), "none") != 0 && json_string_length(rf) > 0 &&
             strcmp(json_string_value(rf), "out_of_scope") != 0 && strcmp(json_string_value(rf), "unsafe") != 0 &&
             strcmp(json_string_value(rf), "ambiguous") != 0)
        snprintf(err, errlen, "\"refusal\" must be none, out_of_scope, unsafe or ambiguous");
    else
        return 1;
    return 0;
}

static gw_err_t fill_sql(gw_llm_plan_t *out, json_t *sql, char *err, size_t errlen)
{
    size_t n = json_string_length(sql);
    const char *s = json_string_value(sql);
    size_t i = 0;
    while (s != NULL && i < n && is_space(s[i]))
        i++;
    if (s == NULL || i == n) {
        snprintf(err, errlen, "the answer has neither SQL nor a refusal");
        return GW_EINVAL;
    }
    if (n > GW_LLM_SQL_MAX || memchr(s, '\0', n) != NULL) {
        snprintf(err, errlen, n > GW_LLM_SQL_MAX ? "the SQL is too long" : "the SQL contains a NUL byte");
        return GW_EINVAL;
    }
    out->kind = GW_LLM_PLAN_SQL;
    out->sql = gw_strndup(s + i, n - i);
    return out->sql != NULL ? GW_OK : GW_ENOMEM;
}

gw_err_t gw_llm_plan_parse(const char *text, size_t len, gw_llm_plan_t *out, char *err, size_t errlen)
{
    size_t from, to;
    json_error_t je;
    gw_err_t rc = GW_EINVAL;
    memset(out, 0, sizeof *out);
    if (text == NULL || !object_span(text, len, &from, &to)) {
        snprintf(err, errlen, "the answer is not a JSON object");
        return GW_EINVAL;
    }
    json_t *o = json_loadb(text + from, to - from, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL || !json_is_object(o)) {
        snprintf(err, errlen, "the answer is not a JSON object (%.120s)", o == NULL ? je.text : "not an object");
        goto out;
    }
    if (!members_ok(o, err, errlen))
        goto out;
    const char *ex = json_string_value(json_object_get(o, "explanation"));
    if ((out->explanation = gw_strdup(ex != NULL ? ex : "")) == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    if (refusal_of(json_string_value(json_object_get(o, "refusal")), &out->refusal)) {
        out->kind = GW_LLM_PLAN_REFUSED;
        rc = GW_OK;
        goto out;
    }
    rc = fill_sql(out, json_object_get(o, "sql"), err, errlen);
out:
    json_decref(o);
    if (rc != GW_OK)
        gw_llm_plan_free(out);
    return rc;
}

void gw_llm_plan_free(gw_llm_plan_t *p)
{
    if (p == NULL)
        return;
    gw_free(p->sql);
    gw_free(p->explanation);
    memset(p, 0, sizeof *p);
}

void gw_llm_plan_out_free(gw_llm_plan_out_t *o)
{
    if (o == NULL)
        return;
    gw_free(o->sql);
    gw_free(o->explanation);
    memset(o, 0, sizeof *o);
}

/* ---- the loop ---- */

/* One model call: the answer text in res. GW_EUPSTREAM (and the like) when
 * the router could not get one. */
static gw_err_t ask_model(gw_llm_chan_t *chan, const char *alias, const gw_llm_convo_t *c, gw_llm_result_t *res)
{
    gw_buf_t body;
    gw_buf_init(&body, 4u << 20);
    gw_err_t rc = gw_llm_chat_body(alias, c, "sql_plan", GW_LLM_PLAN_MAX_TOKENS, 0, &body);
    if (rc == GW_OK) {
        gw_llm_req_t req = {body.ptr, body.len, NULL, NULL};
        rc = gw_llm_call(chan, &req, res);
    } else {
        memset(res, 0, sizeof *res);
    }
    gw_buf_free(&body);
    return rc;
}

static gw_err_t set_owned(char **dst, const char *s)
{
    gw_free(*dst);
    *dst = s != NULL ? gw_strdup(s) : NULL;
    return s != NULL && *dst == NULL ? GW_ENOMEM : GW_OK;
}

/* Adds the model's answer and the error it caused, for the next round. */
static gw_err_t feed_back(gw_llm_convo_t *c, const gw_llm_result_t *res, const char *what, const char *why)
{
    char msg[600];
    int n = snprintf(msg, sizeof msg,
                     "%s: %s\nAnswer again with one corrected JSON object (same format, same rules).", what, why);
    gw_err_t rc = gw_llm_convo_add(c, "assistant", res->text, res->text_len);
    return rc == GW_OK ? gw_llm_convo_add(c, "user", msg, n > 0 && (size_t)n < sizeof msg ? (size_t)n : strlen(msg))
                       : rc;
}

/* One round's answer: done (1), next round (0) or an error. */
static gw_err_t handle_answer(const gw_llm_result_t *res, gw_llm_convo_t *c, gw_llm_try_cb try_sql, void *try_data,
                              gw_llm_plan_out_t *out, int *done)
{
    gw_llm_plan_t p;
    char why[GW_ENGINE_MSG_MAX];
    int rejected = 0;
    gw_err_t rc = gw_llm_plan_parse(res->text, res->text_len, &p, why, sizeof why);
    *done = 0;
    if (rc == GW_EINVAL) {
        snprintf(out->why, sizeof out->why, "unusable answer: %.280s", why);
        return feed_back(c, res, "Your answer could not be used", why);
    }
    if (rc != GW_OK)
        return rc;
    if ((rc = set_owned(&out->explanation, p.explanation)) == GW_OK && p.kind == GW_LLM_PLAN_REFUSED) {
        out->outcome = GW_LLM_REFUSED;
        out->refusal = p.refusal;
        *done = 1;
    } else if (rc == GW_OK && (rc = set_owned(&out->sql, p.sql)) == GW_OK) {
        why[0] = '\0';
        rc = try_sql(try_data, p.sql, &rejected, why, sizeof why);
        if (rc == GW_OK && !rejected) {
            out->outcome = GW_LLM_RAN;
            *done = 1;
        } else if (rc == GW_OK) {
            snprintf(out->why, sizeof out->why, "%.300s", why);
            rc = feed_back(c, res, "That SQL was rejected", why);
        }
    }
    gw_llm_plan_free(&p);
    return rc;
}

static gw_err_t start_convo(const gw_llm_prompt_in_t *in, gw_llm_convo_t *c)
{
    gw_buf_t sys, user;
    gw_buf_init(&sys, 64u << 10);
    gw_buf_init(&user, 256u << 10);
    gw_err_t rc = gw_llm_plan_prompt(in, &sys, &user);
    if (rc == GW_OK)
        rc = gw_llm_convo_add(c, "system", sys.ptr, sys.len);
    if (rc == GW_OK)
        rc = gw_llm_convo_add(c, "user", user.ptr, user.len);
    gw_buf_free(&sys);
    gw_buf_free(&user);
    return rc;
}

gw_err_t gw_plan_llm(gw_llm_chan_t *chan, const char *alias, const gw_llm_prompt_in_t *in, gw_llm_try_cb try_sql,
                     void *try_data, gw_llm_plan_out_t *out)
{
    gw_llm_convo_t c;
    int done = 0;
    memset(out, 0, sizeof *out);
    out->outcome = GW_LLM_GAVE_UP;
    if (chan == NULL || alias == NULL || in == NULL || try_sql == NULL)
        return GW_EINVAL;
    gw_llm_convo_init(&c);
    gw_err_t rc = start_convo(in, &c);
    for (int round = 0; rc == GW_OK && !done && round <= GW_LLM_PLAN_RETRIES; round++) {
        gw_llm_result_t res;
        gw_err_t crc = ask_model(chan, alias, &c, &res);
        out->rounds++;
        if (crc == GW_ENOMEM) {
            rc = crc;
        } else if (crc != GW_OK) { /* the router: every model failed, or cancelled */
            snprintf(out->why, sizeof out->why, "%s", res.error[0] ? res.error : gw_strerror(crc));
            out->outcome = GW_LLM_UNAVAILABLE;
            done = 1;
        } else {
            rc = handle_answer(&res, &c, try_sql, try_data, out, &done);
        }
        gw_llm_result_free(&res);
    }
    gw_llm_convo_free(&c);
    if (rc != GW_OK)
        gw_llm_plan_out_free(out);
    return rc;
}

/* prov_anthropic.c - the Anthropic Messages adapter (wire-formats 2, 5):
 * an OpenAI chat request rebuilt with jansson into a Messages request
 * (system hoisted, tool calls and results as blocks, max_tokens always
 * set, temperature clamped to [0, 1]), Message answers and errors turned
 * back into OpenAI's, and the event stream translated chunk by chunk.
 */
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "prov_internal.h"

#define ANT_VERSION "2023-06-01"
#define ANT_DEFAULT_MAX_TOKENS 4096
#define ANT_MAX_BLOCKS 65536

typedef struct {
    json_t *turns;   /* [{role, content:[blocks]}] */
    gw_buf_t system; /* system / developer text, "\n\n" between messages */
    gw_prov_errmsg_t *msg;
} ant_ctx_t;

static gw_err_t bad(ant_ctx_t *c, const char *param, const char *what)
{
    gw__errmsg(c->msg, param, "%s", what);
    return GW_EINVAL;
}

/* Appends block (taken) to the last turn if it has this role, else to a new turn. */
static gw_err_t add_block(ant_ctx_t *c, const char *role, json_t *block)
{
    return gw__append_turn(c->turns, role, "content", block);
}

static gw_err_t add_text(ant_ctx_t *c, const char *role, const json_t *text)
{
    if (json_string_length(text) == 0)
        return GW_OK; /* Anthropic rejects empty text blocks */
    return add_block(c, role, json_pack("{ss,sO}", "type", "text", "text", text));
}

static json_t *image_block(const json_t *part)
{
    const char *url = gw__jstr_get(json_object_get(part, "image_url"), "url");
    const char *mime, *data;
    size_t mime_len;
    if (url == NULL)
        return NULL;
    if (gw__data_uri(url, &mime, &mime_len, &data))
        return json_pack("{ss,s{ss,ss%,ss}}", "type", "image", "source", "type", "base64", "media_type", mime,
                         mime_len, "data", data);
    return json_pack("{ss,s{ss,ss}}", "type", "image", "source", "type", "url", "url", url);
}

static gw_err_t user_msg(ant_ctx_t *c, const json_t *content)
{
    if (json_is_string(content))
        return add_text(c, "user", content);
    if (!json_is_array(content))
        return bad(c, "messages", "A user message's content must be a string or an array of parts.");
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        const char *type = gw__jstr_get(part, "type");
        gw_err_t rc;
        if (type != NULL && strcmp(type, "text") == 0 && json_is_string(json_object_get(part, "text"))) {
            rc = add_text(c, "user", json_object_get(part, "text"));
        } else if (type != NULL && strcmp(type, "image_url") == 0) {
            json_t *b = image_block(part);
            rc = b != NULL ? add_block(c, "user", b) : bad(c, "messages", "An image_url part needs image_url.url.");
        } else {
            gw__errmsg(c->msg, "messages", "Content part type '%s' is not supported for this model.",
                       type != NULL ? type : "?");
            rc = GW_EINVAL;
        }
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

static gw_err_t tool_use_blocks(ant_ctx_t *c, const json_t *calls)
{
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) {
        json_t *fn = json_object_get(tc, "function");
        const char *id = gw__jstr_get(tc, "id"), *name = gw__jstr_get(fn, "name");
        if (id == NULL || name == NULL)
            return bad(c, "messages", "A tool call needs an id and function.name.");
        json_t *input = gw__tool_args(json_object_get(fn, "arguments"));
        if (input == NULL)
            return bad(c, "messages", "A tool call's function.arguments must be a JSON object.");
        gw_err_t rc = add_block(c, "assistant",
                                json_pack("{ss,ss,ss,so}", "type", "tool_use", "id", id, "name", name, "input", input));
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

static gw_err_t assistant_msg(ant_ctx_t *c, const json_t *m)
{
    int b = 0;
    json_t *text = gw__content_text(json_object_get(m, "content"), "", &b);
    if (text == NULL)
        return b ? bad(c, "messages", "An assistant message's content must be text.") : GW_ENOMEM;
    gw_err_t rc = add_text(c, "assistant", text);
    json_decref(text);
    json_t *calls = json_object_get(m, "tool_calls");
    if (rc == GW_OK && json_is_array(calls))
        rc = tool_use_blocks(c, calls);
    return rc;
}

static gw_err_t tool_msg(ant_ctx_t *c, const json_t *m)
{
    const char *id = gw__jstr_get(m, "tool_call_id");
    int b = 0;
    if (id == NULL)
        return bad(c, "messages", "A tool message needs a tool_call_id.");
    json_t *text = gw__content_text(json_object_get(m, "content"), "\n", &b);
    if (text == NULL)
        return b ? bad(c, "messages", "A tool message's content must be text.") : GW_ENOMEM;
    return add_block(c, "user", json_pack("{ss,ss,so}", "type", "tool_result", "tool_use_id", id, "content", text));
}

static gw_err_t system_msg(ant_ctx_t *c, const json_t *m)
{
    int b = 0;
    json_t *text = gw__content_text(json_object_get(m, "content"), "\n", &b);
    if (text == NULL)
        return b ? bad(c, "messages", "A system message's content must be text.") : GW_ENOMEM;
    gw_err_t rc = GW_OK;
    if (json_string_length(text) > 0) {
        if (c->system.len > 0)
            rc = gw_buf_adds(&c->system, "\n\n");
        if (rc == GW_OK)
            rc = gw_buf_add(&c->system, json_string_value(text), json_string_length(text));
    }
    json_decref(text);
    return rc;
}

static gw_err_t convert_messages(ant_ctx_t *c, const json_t *messages)
{
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        const char *role = gw__jstr_get(m, "role");
        gw_err_t rc;
        if (role == NULL)
            rc = bad(c, "messages", "Every message needs a role.");
        else if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
            rc = system_msg(c, m);
        else if (strcmp(role, "user") == 0)
            rc = user_msg(c, json_object_get(m, "content"));
        else if (strcmp(role, "assistant") == 0)
            rc = assistant_msg(c, m);
        else if (strcmp(role, "tool") == 0)
            rc = tool_msg(c, m);
        else {
            gw__errmsg(c->msg, "messages", "Message role '%s' is not supported for this model.", role);
            rc = GW_EINVAL;
        }
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

/* A turn holding one plain text block is sent as a plain string. */
static void simplify_turns(json_t *turns)
{
    size_t i;
    json_t *t;
    json_array_foreach(turns, i, t) {
        json_t *blocks = json_object_get(t, "content");
        json_t *b0 = json_array_get(blocks, 0);
        const char *type = gw__jstr_get(b0, "type");
        if (json_array_size(blocks) == 1 && json_object_size(b0) == 2 && type != NULL && strcmp(type, "text") == 0)
            json_object_set(t, "content", json_object_get(b0, "text"));
    }
}

static json_t *convert_tools(ant_ctx_t *c, const json_t *tools, gw_err_t *rc)
{
    json_t *res = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        const char *type = gw__jstr_get(t, "type"), *name = gw__jstr_get(fn, "name");
        if ((type != NULL && strcmp(type, "function") != 0) || name == NULL) {
            *rc = bad(c, "tools", "Only function tools with a name are supported for this model.");
            json_decref(res);
            return NULL;
        }
        json_t *schema = json_object_get(fn, "parameters");
        json_t *desc = json_object_get(fn, "description");
        json_t *tool = json_pack("{ss}", "name", name);
        if (json_is_string(desc))
            json_object_set(tool, "description", desc);
        json_object_set_new(tool, "input_schema",
                            json_is_object(schema) ? json_incref(schema)
                                                   : json_pack("{ss,s{}}", "type", "object", "properties"));
        if (json_object_get(tool, "input_schema") == NULL) {
            json_decref(tool);
            tool = NULL;
        }
        if (json_array_append_new(res, tool) != 0) {
            *rc = GW_ENOMEM;
            json_decref(res);
            return NULL;
        }
    }
    return res;
}

static json_t *convert_tool_choice(ant_ctx_t *c, const json_t *tc, const json_t *parallel, gw_err_t *rc)
{
    json_t *res = NULL;
    const char *s = json_string_value(tc);
    const char *name = gw__jstr_get(json_object_get(tc, "function"), "name");
    if (tc == NULL || json_is_null(tc))
        res = json_is_false(parallel) ? json_pack("{ss}", "type", "auto") : NULL;
    else if (s != NULL && (strcmp(s, "auto") == 0 || strcmp(s, "none") == 0))
        res = json_pack("{ss}", "type", s);
    else if (s != NULL && strcmp(s, "required") == 0)
        res = json_pack("{ss}", "type", "any");
    else if (json_is_object(tc) && name != NULL)
        res = json_pack("{ss,ss}", "type", "tool", "name", name);
    else
        *rc = bad(c, "tool_choice", "Unsupported tool_choice for this model.");
    if (res != NULL && json_is_false(parallel) && strcmp(gw__jstr_get(res, "type"), "none") != 0)
        json_object_set_new(res, "disable_parallel_tool_use", json_true());
    return res;
}

/* tools, tool_choice, output_config. */
static gw_err_t add_tool_params(ant_ctx_t *c, json_t *req, const json_t *in)
{
    gw_err_t rc = GW_OK;
    json_t *tools = json_object_get(in, "tools");
    if (json_is_array(tools) && json_array_size(tools) > 0) {
        json_t *t = convert_tools(c, tools, &rc);
        if (t == NULL || json_object_set_new(req, "tools", t) != 0)
            return rc != GW_OK ? rc : GW_ENOMEM;
        t = convert_tool_choice(c, json_object_get(in, "tool_choice"), json_object_get(in, "parallel_tool_calls"), &rc);
        if (rc != GW_OK || (t != NULL && json_object_set_new(req, "tool_choice", t) != 0))
            return rc != GW_OK ? rc : GW_ENOMEM;
    }
    json_t *rf = json_object_get(in, "response_format");
    const char *rtype = gw__jstr_get(rf, "type");
    if (rtype != NULL && strcmp(rtype, "json_schema") == 0) {
        json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
        if (!json_is_object(schema))
            return bad(c, "response_format", "response_format.json_schema.schema must be an object.");
        json_t *oc = json_pack("{s{ss,sO}}", "format", "type", "json_schema", "schema", schema);
        if (oc == NULL || json_object_set_new(req, "output_config", oc) != 0)
            return GW_ENOMEM;
    }
    return GW_OK;
}

/* stop_sequences, temperature, top_p, metadata. */
static gw_err_t add_sampling(ant_ctx_t *c, json_t *req, const json_t *in)
{
    int b = 0;
    json_t *v = json_object_get(in, "stop");
    if (v != NULL && !json_is_null(v)) {
        json_t *stop = gw__stop_array(v, &b);
        if (stop == NULL)
            return b ? bad(c, "stop", "'stop' must be a string or an array of strings.") : GW_ENOMEM;
        if (json_object_set_new(req, "stop_sequences", stop) != 0)
            return GW_ENOMEM;
    }
    if (json_is_number(v = json_object_get(in, "temperature"))) {
        double t = json_number_value(v);
        t = isnan(t) || t < 0 ? 0 : t > 1 ? 1 : t;
        if (json_object_set_new(req, "temperature", json_real(t)) != 0)
            return GW_ENOMEM;
    }
    if (json_is_number(v = json_object_get(in, "top_p")) && json_object_set(req, "top_p", v) != 0)
        return GW_ENOMEM;
    v = json_object_get(in, "user");
    if (!json_is_string(v))
        v = json_object_get(in, "safety_identifier");
    if (json_is_string(v) && json_object_set_new(req, "metadata", json_pack("{sO}", "user_id", v)) != 0)
        return GW_ENOMEM;
    return GW_OK;
}

static gw_err_t build_body(ant_ctx_t *c, const json_t *in, const gw_chat_info_t *info, const char *model,
                           json_t *req)
{
    json_t *n = json_object_get(in, "n");
    if (json_is_integer(n) && json_integer_value(n) > 1)
        return bad(c, "n", "n > 1 is not supported for this model.");
    gw_err_t rc = convert_messages(c, json_object_get(in, "messages"));
    if (rc != GW_OK)
        return rc;
    simplify_turns(c->turns);
    int64_t mt = info->max_tokens >= 0 ? info->max_tokens : ANT_DEFAULT_MAX_TOKENS;
    if (json_object_set_new(req, "model", json_string(model)) != 0 ||
        json_object_set_new(req, "max_tokens", json_integer((json_int_t)mt)) != 0)
        return GW_ENOMEM;
    if (c->system.len > 0 &&
        json_object_set_new(req, "system", json_stringn(c->system.ptr, c->system.len)) != 0)
        return GW_ENOMEM;
    if (json_object_set(req, "messages", c->turns) != 0)
        return GW_ENOMEM;
    if ((rc = add_sampling(c, req, in)) != GW_OK || (rc = add_tool_params(c, req, in)) != GW_OK)
        return rc;
    if (info->stream && json_object_set_new(req, "stream", json_true()) != 0)
        return GW_ENOMEM;
    return GW_OK;
}

gw_err_t gw__anthropic_build(const char *body, size_t len, const gw_chat_info_t *info, const char *base_path,
                             const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                             gw_prov_errmsg_t *msg)
{
    ant_ctx_t c = {json_array(), {0}, msg};
    gw_buf_init(&c.system, (size_t)1 << 30);
    json_t *in = gw__json_load(body, len);
    json_t *req = json_object();
    gw_err_t rc = GW_ENOMEM;
    if (in == NULL || !json_is_object(in)) {
        rc = bad(&c, "", "We could not parse the JSON body of your request.");
        goto out;
    }
    if (c.turns == NULL || req == NULL || (rc = build_body(&c, in, info, upstream_model, req)) != GW_OK)
        goto out;
    if (api_key != NULL && api_key[0] != '\0' && (rc = gw__hdr_add(&out->headers, "x-api-key", api_key)) != GW_OK) {
        bad(&c, "", "The provider's API key holds a line break.");
        goto out;
    }
    if ((rc = gw__hdr_add(&out->headers, "anthropic-version", ANT_VERSION)) != GW_OK ||
        (rc = gw__path_join(&out->path, base_path, "v1", "/messages")) != GW_OK)
        goto out;
    rc = gw__json_append(&out->body, req);
out:
    json_decref(in);
    json_decref(req);
    json_decref(c.turns);
    gw_buf_free(&c.system);
    return rc;
}

/* ---- answers ---- */

const char *gw__anthropic_finish(const char *stop_reason)
{
    if (stop_reason == NULL)
        return "stop";
    if (strcmp(stop_reason, "max_tokens") == 0 || strcmp(stop_reason, "model_context_window_exceeded") == 0)
        return "length";
    if (strcmp(stop_reason, "tool_use") == 0)
        return "tool_calls";
    if (strcmp(stop_reason, "refusal") == 0)
        return "content_filter";
    return "stop"; /* end_turn, stop_sequence, pause_turn, unknown */
}

/* Walks content blocks: text joined into *text, tool_use into calls. */
static gw_err_t read_blocks(const json_t *content, gw_buf_t *text, json_t *calls)
{
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        const char *type = gw__jstr_get(b, "type");
        json_t *t = json_object_get(b, "text");
        if (type != NULL && strcmp(type, "text") == 0 && json_is_string(t)) {
            if (gw_buf_add(text, json_string_value(t), json_string_length(t)) != GW_OK)
                return GW_ENOMEM;
        } else if (type != NULL && strcmp(type, "tool_use") == 0) {
            const char *id = gw__jstr_get(b, "id"), *name = gw__jstr_get(b, "name");
            json_t *input = json_object_get(b, "input");
            if (id == NULL || name == NULL)
                return GW_EUPSTREAM;
            json_t *args = input != NULL ? json_incref(input) : json_object();
            json_t *call = gw__tool_call_json(id, name, args);
            json_decref(args);
            if (call == NULL || json_array_append_new(calls, call) != 0)
                return GW_ENOMEM;
        }
    }
    return GW_OK;
}

static json_t *usage_json(const json_t *u, gw_usage_t *usage)
{
    int64_t p = gw__jint_get(u, "input_tokens") + gw__jint_get(u, "cache_creation_input_tokens") +
                gw__jint_get(u, "cache_read_input_tokens");
    int64_t c = gw__jint_get(u, "output_tokens");
    json_t *cr = json_object_get(u, "cache_read_input_tokens");
    usage->prompt_tokens = p;
    usage->completion_tokens = c;
    return gw__usage_json(p, c, p + c, json_is_integer(cr) ? gw__jint_get(u, "cache_read_input_tokens") : -1, -1);
}

static json_t *message_json(const gw_buf_t *text, json_t *calls, const char *finish)
{
    json_t *m = json_pack("{ss}", "role", "assistant");
    json_t *t = json_stringn(text->ptr != NULL ? text->ptr : "", text->len);
    int refusal = strcmp(finish, "content_filter") == 0;
    if (refusal || (text->len == 0 && json_array_size(calls) > 0))
        json_object_set_new(m, "content", json_null());
    else
        json_object_set(m, "content", t);
    json_object_set_new(m, "refusal", refusal ? json_incref(t) : json_null());
    if (json_array_size(calls) > 0)
        json_object_set(m, "tool_calls", calls);
    json_decref(t);
    if (m != NULL && (t == NULL || json_object_size(m) < 3)) {
        json_decref(m);
        return NULL;
    }
    return m;
}

gw_err_t gw__anthropic_response(const char *body, size_t len, const char *upstream_model, gw_buf_t *out,
                                gw_usage_t *usage)
{
    json_t *j = gw__json_load(body, len), *calls = json_array(), *res = NULL;
    gw_buf_t text;
    gw_buf_init(&text, (size_t)1 << 30);
    gw_err_t rc = GW_EUPSTREAM;
    json_t *content = json_object_get(j, "content");
    if (!json_is_array(content))
        goto out;
    if (calls == NULL || (rc = read_blocks(content, &text, calls)) != GW_OK)
        goto out;
    const char *finish = gw__anthropic_finish(gw__jstr_get(j, "stop_reason"));
    char synth[40] = "chatcmpl-";
    gw__rand_hex(synth + 9, 12);
    const char *id = gw__jstr_get(j, "id"), *model = gw__jstr_get(j, "model");
    json_t *message = message_json(&text, calls, finish);
    json_t *choices = message == NULL ? NULL
                                      : json_pack("[{sI,so,sn,ss}]", "index", (json_int_t)0, "message", message,
                                                  "logprobs", "finish_reason", finish);
    res = gw__completion_json(id != NULL ? id : synth, model != NULL ? model : upstream_model, choices,
                              usage_json(json_object_get(j, "usage"), usage));
    rc = res != NULL ? gw__json_append(out, res) : GW_ENOMEM;
out:
    json_decref(j);
    json_decref(calls);
    json_decref(res);
    gw_buf_free(&text);
    return rc;
}

int gw__anthropic_error(int status, const char *body, size_t len, gw_buf_t *out)
{
    json_t *j = gw__json_load(body, len);
    const char *m = gw__jstr_get(json_object_get(j, "error"), "message");
    int cs = gw__error_default(status, m, body, len, out);
    json_decref(j);
    return cs;
}

/* ---- streams ---- */

static gw_err_t map_block(gw_xlat_t *x, json_int_t index, int k)
{
    if (index < 0 || index >= ANT_MAX_BLOCKS)
        return GW_EUPSTREAM;
    size_t need = (size_t)index + 1;
    if (need > x->blk_cap) {
        size_t cap = x->blk_cap ? x->blk_cap : 8;
        while (cap < need)
            cap *= 2;
        int *p = gw_realloc(x->blk_tool, cap * sizeof *p);
        if (p == NULL)
            return GW_ENOMEM;
        for (size_t i = x->blk_cap; i < cap; i++)
            p[i] = -1;
        x->blk_tool = p;
        x->blk_cap = cap;
    }
    x->blk_tool[index] = k;
    return GW_OK;
}

static int block_tool(const gw_xlat_t *x, const json_t *ev)
{
    json_t *iv = json_object_get(ev, "index");
    json_int_t i = json_is_integer(iv) ? json_integer_value(iv) : -1;
    return i >= 0 && (size_t)i < x->blk_cap ? x->blk_tool[i] : -1;
}

/* Input, cache and output counts; a missing or null field keeps its value. */
static void stream_usage(gw_xlat_t *x, const json_t *u)
{
    static const char *const keys[] = {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                       "output_tokens"};
    int64_t *slot[] = {&x->ant_input, &x->ant_cache_write, &x->cached, &x->usage.completion_tokens};
    if (!json_is_object(u))
        return;
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(u, keys[k]);
        if (json_is_integer(v))
            *slot[k] = gw__tokens(json_integer_value(v));
    }
    if (x->ant_input >= 0 || x->ant_cache_write >= 0 || x->cached >= 0)
        x->usage.prompt_tokens = (x->ant_input > 0 ? x->ant_input : 0) +
                                 (x->ant_cache_write > 0 ? x->ant_cache_write : 0) + (x->cached > 0 ? x->cached : 0);
}

static gw_err_t block_start(gw_xlat_t *x, const json_t *ev, gw_buf_t *out, gw_xlat_info_t *info)
{
    json_t *cb = json_object_get(ev, "content_block");
    const char *type = gw__jstr_get(cb, "type");
    json_t *iv = json_object_get(ev, "index");
    if (type != NULL && strcmp(type, "tool_use") == 0) {
        const char *id = gw__jstr_get(cb, "id"), *name = gw__jstr_get(cb, "name");
        if (id == NULL || name == NULL || !json_is_integer(iv))
            return GW_EUPSTREAM;
        int k = x->ntools++;
        gw_err_t rc = map_block(x, json_integer_value(iv), k);
        info->content = 1;
        return rc == GW_OK ? gw__chunk_tool_start(x, out, k, id, name, "", 0) : rc;
    }
    json_t *t = json_object_get(cb, "text");
    if (type != NULL && strcmp(type, "text") == 0 && json_string_length(t) > 0) {
        info->content = 1;
        return gw__chunk_text(x, out, json_string_value(t), json_string_length(t));
    }
    return GW_OK;
}

static gw_err_t block_delta(gw_xlat_t *x, const json_t *ev, gw_buf_t *out, gw_xlat_info_t *info)
{
    json_t *d = json_object_get(ev, "delta");
    const char *type = gw__jstr_get(d, "type");
    if (type == NULL)
        return GW_OK;
    json_t *t = json_object_get(d, "text");
    if (strcmp(type, "text_delta") == 0 && json_string_length(t) > 0) {
        info->content = 1;
        return gw__chunk_text(x, out, json_string_value(t), json_string_length(t));
    }
    t = json_object_get(d, "partial_json");
    int k = block_tool(x, ev);
    if (strcmp(type, "input_json_delta") == 0 && k >= 0 && json_string_length(t) > 0) {
        info->content = 1;
        return gw__chunk_tool_args(x, out, k, json_string_value(t), json_string_length(t));
    }
    return GW_OK; /* thinking, signature, citations: not shown */
}

static gw_err_t message_delta(gw_xlat_t *x, const json_t *ev, gw_buf_t *out, gw_xlat_info_t *info)
{
    stream_usage(x, json_object_get(ev, "usage"));
    const char *sr = gw__jstr_get(json_object_get(ev, "delta"), "stop_reason");
    if (sr == NULL)
        return GW_OK;
    const char *finish = gw__anthropic_finish(sr);
    info->content = strcmp(finish, "content_filter") == 0; /* a refusal is an answer */
    return gw__chunk_finish(x, out, finish);
}

static void stream_error(const json_t *ev, gw_xlat_info_t *info)
{
    json_t *e = json_object_get(ev, "error");
    const char *type = gw__jstr_get(e, "type");
    const char *code = NULL;
    if (type != NULL && strcmp(type, "overloaded_error") == 0)
        code = "overloaded";
    else if (type != NULL && strcmp(type, "rate_limit_error") == 0)
        code = "rate_limit_exceeded";
    gw__xlat_set_error(info, gw__jstr_get(e, "message"), type != NULL ? type : "server_error", code);
}

static gw_err_t dispatch(gw_xlat_t *x, const char *type, const json_t *ev, gw_buf_t *out, gw_xlat_info_t *info)
{
    if (strcmp(type, "message_start") == 0) {
        json_t *m = json_object_get(ev, "message");
        const char *id = gw__jstr_get(m, "id");
        if (id != NULL)
            gw__xlat_set_id(x, id, strlen(id));
        stream_usage(x, json_object_get(m, "usage"));
        return x->role_sent ? GW_OK : gw__chunk_role(x, out);
    }
    if (strcmp(type, "content_block_start") == 0)
        return block_start(x, ev, out, info);
    if (strcmp(type, "content_block_delta") == 0)
        return block_delta(x, ev, out, info);
    if (strcmp(type, "message_delta") == 0)
        return message_delta(x, ev, out, info);
    if (strcmp(type, "message_stop") == 0)
        info->done = 1;
    else if (strcmp(type, "error") == 0)
        stream_error(ev, info);
    return GW_OK; /* ping, content_block_stop, unknown events */
}

gw_err_t gw__anthropic_event(gw_xlat_t *x, const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info)
{
    if (ev->data_len == 0)
        return GW_OK;
    json_t *j = gw__json_load(ev->data, ev->data_len);
    gw_err_t rc = GW_EUPSTREAM;
    const char *type = gw__jstr_get(j, "type");
    char name[64];
    if (type == NULL && ev->event_len > 0 && ev->event_len < sizeof name) {
        memcpy(name, ev->event, ev->event_len);
        name[ev->event_len] = '\0';
        type = name;
    }
    if (json_is_object(j) && type != NULL)
        rc = dispatch(x, type, j, out, info);
    json_decref(j);
    return rc;
}

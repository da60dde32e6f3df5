/* prov_gemini.c - the Gemini generateContent adapter (wire-formats 3, 5):
 * an OpenAI chat request rebuilt with jansson into contents /
 * systemInstruction / tools / toolConfig / generationConfig, the model in
 * the URL path, answers and errors turned back into OpenAI's, and the
 * ?alt=sse stream translated chunk by chunk.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prov_internal.h"

typedef struct {
    json_t *contents;   /* [{role, parts:[...]}] */
    json_t *sys_parts;  /* [{text}] */
    json_t *call_names; /* tool call id -> function name, for tool results */
    gw_prov_errmsg_t *msg;
} gem_ctx_t;

static gw_err_t bad(gem_ctx_t *c, const char *param, const char *what)
{
    gw__errmsg(c->msg, param, "%s", what);
    return GW_EINVAL;
}

/* Appends part (taken) to the last content if it has this role, else to a new one. */
static gw_err_t add_part(gem_ctx_t *c, const char *role, json_t *part)
{
    return gw__append_turn(c->contents, role, "parts", part);
}

static gw_err_t add_text(gem_ctx_t *c, const char *role, const json_t *text)
{
    if (json_string_length(text) == 0)
        return GW_OK;
    return add_part(c, role, json_pack("{sO}", "text", text));
}

static const char *guess_mime(const char *url)
{
    static const char *const map[][2] = {{".png", "image/png"},   {".gif", "image/gif"}, {".webp", "image/webp"},
                                         {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"}, {".pdf", "application/pdf"}};
    size_t n = strcspn(url, "?#");
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
        size_t el = strlen(map[k][0]);
        if (n >= el && strncasecmp(url + n - el, map[k][0], el) == 0)
            return map[k][1];
    }
    return "image/jpeg";
}

static json_t *media_part(const json_t *part, const char *type)
{
    const char *mime, *data;
    size_t mime_len;
    if (strcmp(type, "input_audio") == 0) {
        json_t *a = json_object_get(part, "input_audio");
        const char *fmt = gw__jstr_get(a, "format"), *b64 = gw__jstr_get(a, "data");
        if (fmt == NULL || b64 == NULL)
            return NULL;
        return json_pack("{s{ss+ss}}", "inlineData", "mimeType", "audio/", fmt, "data", b64);
    }
    const char *url = gw__jstr_get(json_object_get(part, "image_url"), "url");
    if (url == NULL)
        return NULL;
    if (gw__data_uri(url, &mime, &mime_len, &data))
        return json_pack("{s{ss%ss}}", "inlineData", "mimeType", mime, mime_len, "data", data);
    return json_pack("{s{ssss}}", "fileData", "mimeType", guess_mime(url), "fileUri", url);
}

static gw_err_t user_msg(gem_ctx_t *c, const json_t *content)
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
        } else if (type != NULL && (strcmp(type, "image_url") == 0 || strcmp(type, "input_audio") == 0)) {
            json_t *p = media_part(part, type);
            rc = p != NULL ? add_part(c, "user", p) : bad(c, "messages", "An image or audio part lacks its data.");
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

static gw_err_t function_calls(gem_ctx_t *c, const json_t *calls)
{
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) {
        json_t *fn = json_object_get(tc, "function");
        const char *id = gw__jstr_get(tc, "id"), *name = gw__jstr_get(fn, "name");
        if (name == NULL)
            return bad(c, "messages", "A tool call needs function.name.");
        json_t *args = gw__tool_args(json_object_get(fn, "arguments"));
        if (args == NULL)
            return bad(c, "messages", "A tool call's function.arguments must be a JSON object.");
        if (id != NULL && json_object_set_new(c->call_names, id, json_string(name)) != 0) {
            json_decref(args);
            return GW_ENOMEM;
        }
        gw_err_t rc = add_part(c, "model", json_pack("{s{ss,so}}", "functionCall", "name", name, "args", args));
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

static gw_err_t assistant_msg(gem_ctx_t *c, const json_t *m)
{
    int b = 0;
    json_t *text = gw__content_text(json_object_get(m, "content"), "", &b);
    if (text == NULL)
        return b ? bad(c, "messages", "An assistant message's content must be text.") : GW_ENOMEM;
    gw_err_t rc = add_text(c, "model", text);
    json_decref(text);
    json_t *calls = json_object_get(m, "tool_calls");
    if (rc == GW_OK && json_is_array(calls))
        rc = function_calls(c, calls);
    return rc;
}

static gw_err_t tool_msg(gem_ctx_t *c, const json_t *m)
{
    const char *id = gw__jstr_get(m, "tool_call_id");
    const char *name = id != NULL ? gw__jstr_get(c->call_names, id) : NULL;
    int b = 0;
    if (name == NULL)
        return bad(c, "messages", "A tool message's tool_call_id matches no earlier assistant tool call.");
    json_t *text = gw__content_text(json_object_get(m, "content"), "\n", &b);
    if (text == NULL)
        return b ? bad(c, "messages", "A tool message's content must be text.") : GW_ENOMEM;
    return add_part(c, "user",
                    json_pack("{s{ss,s{so}}}", "functionResponse", "name", name, "response", "result", text));
}

static gw_err_t system_msg(gem_ctx_t *c, const json_t *m)
{
    int b = 0;
    json_t *text = gw__content_text(json_object_get(m, "content"), "\n", &b);
    if (text == NULL)
        return b ? bad(c, "messages", "A system message's content must be text.") : GW_ENOMEM;
    if (json_string_length(text) == 0) {
        json_decref(text);
        return GW_OK;
    }
    return json_array_append_new(c->sys_parts, json_pack("{so}", "text", text)) == 0 ? GW_OK : GW_ENOMEM;
}

static gw_err_t convert_messages(gem_ctx_t *c, const json_t *messages)
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

/* Copies in[from] to cfg[to] when it is a number (integer if want_int). */
static int copy_num(json_t *cfg, const char *to, const json_t *in, const char *from, int want_int)
{
    json_t *v = json_object_get(in, from);
    if (want_int ? !json_is_integer(v) : !json_is_number(v))
        return 0;
    return json_object_set(cfg, to, v);
}

static gw_err_t response_format(gem_ctx_t *c, json_t *cfg, const json_t *rf)
{
    const char *type = gw__jstr_get(rf, "type");
    if (type == NULL || strcmp(type, "text") == 0)
        return GW_OK;
    if (json_object_set_new(cfg, "responseMimeType", json_string("application/json")) != 0)
        return GW_ENOMEM;
    if (strcmp(type, "json_schema") != 0)
        return GW_OK;
    json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
    if (!json_is_object(schema))
        return bad(c, "response_format", "response_format.json_schema.schema must be an object.");
    return json_object_set(cfg, "responseJsonSchema", schema) == 0 ? GW_OK : GW_ENOMEM;
}

static gw_err_t generation_config(gem_ctx_t *c, const json_t *in, const gw_chat_info_t *info, json_t *cfg)
{
    int b = 0;
    if (info->max_tokens >= 0 &&
        json_object_set_new(cfg, "maxOutputTokens", json_integer((json_int_t)info->max_tokens)) != 0)
        return GW_ENOMEM;
    if (copy_num(cfg, "temperature", in, "temperature", 0) || copy_num(cfg, "topP", in, "top_p", 0))
        return GW_ENOMEM;
    json_t *v = json_object_get(in, "stop");
    if (v != NULL && !json_is_null(v)) {
        json_t *stop = gw__stop_array(v, &b);
        if (stop == NULL)
            return b ? bad(c, "stop", "'stop' must be a string or an array of strings.") : GW_ENOMEM;
        if (json_object_set_new(cfg, "stopSequences", stop) != 0)
            return GW_ENOMEM;
    }
    v = json_object_get(in, "n");
    if (json_is_integer(v) && json_integer_value(v) > 1) {
        if (info->stream)
            return bad(c, "n", "n > 1 is not supported with stream for this model.");
        if (json_object_set(cfg, "candidateCount", v) != 0)
            return GW_ENOMEM;
    }
    if (copy_num(cfg, "seed", in, "seed", 1) || copy_num(cfg, "presencePenalty", in, "presence_penalty", 0) ||
        copy_num(cfg, "frequencyPenalty", in, "frequency_penalty", 0))
        return GW_ENOMEM;
    return response_format(c, cfg, json_object_get(in, "response_format"));
}

static json_t *convert_tools(gem_ctx_t *c, const json_t *tools, gw_err_t *rc)
{
    json_t *decls = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        const char *type = gw__jstr_get(t, "type"), *name = gw__jstr_get(fn, "name");
        if ((type != NULL && strcmp(type, "function") != 0) || name == NULL) {
            *rc = bad(c, "tools", "Only function tools with a name are supported for this model.");
            json_decref(decls);
            return NULL;
        }
        json_t *d = json_pack("{ss}", "name", name);
        json_t *desc = json_object_get(fn, "description"), *params = json_object_get(fn, "parameters");
        if (json_is_string(desc))
            json_object_set(d, "description", desc);
        if (json_is_object(params))
            json_object_set(d, "parametersJsonSchema", params);
        if (json_array_append_new(decls, d) != 0) {
            *rc = GW_ENOMEM;
            json_decref(decls);
            return NULL;
        }
    }
    json_t *res = json_pack("[{so}]", "functionDeclarations", decls);
    if (res == NULL)
        *rc = GW_ENOMEM;
    return res;
}

static json_t *convert_tool_choice(gem_ctx_t *c, const json_t *tc, gw_err_t *rc)
{
    const char *s = json_string_value(tc);
    const char *name = gw__jstr_get(json_object_get(tc, "function"), "name");
    const char *mode = NULL;
    if (tc == NULL || json_is_null(tc))
        return NULL;
    if (s != NULL && strcmp(s, "auto") == 0)
        mode = "AUTO";
    else if (s != NULL && strcmp(s, "required") == 0)
        mode = "ANY";
    else if (s != NULL && strcmp(s, "none") == 0)
        mode = "NONE";
    else if (json_is_object(tc) && name != NULL)
        return json_pack("{s{sss[s]}}", "functionCallingConfig", "mode", "ANY", "allowedFunctionNames", name);
    if (mode == NULL) {
        *rc = bad(c, "tool_choice", "Unsupported tool_choice for this model.");
        return NULL;
    }
    return json_pack("{s{ss}}", "functionCallingConfig", "mode", mode);
}

static gw_err_t add_tools(gem_ctx_t *c, json_t *req, const json_t *in)
{
    gw_err_t rc = GW_OK;
    json_t *tools = json_object_get(in, "tools");
    if (!json_is_array(tools) || json_array_size(tools) == 0)
        return GW_OK;
    json_t *t = convert_tools(c, tools, &rc);
    if (t == NULL || json_object_set_new(req, "tools", t) != 0)
        return rc != GW_OK ? rc : GW_ENOMEM;
    t = convert_tool_choice(c, json_object_get(in, "tool_choice"), &rc);
    if (rc != GW_OK || (t != NULL && json_object_set_new(req, "toolConfig", t) != 0))
        return rc != GW_OK ? rc : GW_ENOMEM;
    return GW_OK;
}

static gw_err_t build_body(gem_ctx_t *c, const json_t *in, const gw_chat_info_t *info, json_t *req)
{
    gw_err_t rc = convert_messages(c, json_object_get(in, "messages"));
    if (rc != GW_OK)
        return rc;
    if (json_array_size(c->sys_parts) > 0 &&
        json_object_set_new(req, "systemInstruction", json_pack("{sO}", "parts", c->sys_parts)) != 0)
        return GW_ENOMEM;
    if (json_object_set(req, "contents", c->contents) != 0)
        return GW_ENOMEM;
    if ((rc = add_tools(c, req, in)) != GW_OK)
        return rc;
    json_t *cfg = json_object();
    if (cfg == NULL)
        return GW_ENOMEM;
    if ((rc = generation_config(c, in, info, cfg)) != GW_OK || json_object_size(cfg) == 0) {
        json_decref(cfg);
        return rc;
    }
    return json_object_set_new(req, "generationConfig", cfg) == 0 ? GW_OK : GW_ENOMEM;
}

/* /v1beta/models/{model}:generateContent, the model percent-encoded. */
static gw_err_t gem_path(gw_buf_t *p, const char *base_path, const char *model, int stream)
{
    static const char hex[] = "0123456789ABCDEF";
    gw_err_t rc = gw__path_join(p, base_path, "v1beta", "/models/");
    if (strncmp(model, "models/", 7) == 0)
        model += 7;
    for (const unsigned char *s = (const unsigned char *)model; rc == GW_OK && *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("-._~", *s))
            rc = gw_buf_add(p, s, 1);
        else
            rc = gw_buf_printf(p, "%%%c%c", hex[*s >> 4], hex[*s & 15]);
    }
    if (rc == GW_OK)
        rc = gw_buf_adds(p, stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    return rc;
}

gw_err_t gw__gemini_build(const char *body, size_t len, const gw_chat_info_t *info, const char *base_path,
                          const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                          gw_prov_errmsg_t *msg)
{
    gem_ctx_t c = {json_array(), json_array(), json_object(), msg};
    json_t *in = gw__json_load(body, len);
    json_t *req = json_object();
    gw_err_t rc = GW_ENOMEM;
    if (in == NULL || !json_is_object(in)) {
        rc = bad(&c, "", "We could not parse the JSON body of your request.");
        goto out;
    }
    if (c.contents == NULL || c.sys_parts == NULL || c.call_names == NULL || req == NULL ||
        (rc = build_body(&c, in, info, req)) != GW_OK)
        goto out;
    if (api_key != NULL && api_key[0] != '\0' &&
        (rc = gw__hdr_add(&out->headers, "x-goog-api-key", api_key)) != GW_OK) {
        bad(&c, "", "The provider's API key holds a line break.");
        goto out;
    }
    if ((rc = gem_path(&out->path, base_path, upstream_model, info->stream)) != GW_OK)
        goto out;
    rc = gw__json_append(&out->body, req);
out:
    json_decref(in);
    json_decref(req);
    json_decref(c.contents);
    json_decref(c.sys_parts);
    json_decref(c.call_names);
    return rc;
}

/* ---- answers ---- */

const char *gw__gemini_finish(const char *reason, int has_tool_calls)
{
    static const char *const filtered[] = {"SAFETY",       "RECITATION",       "BLOCKLIST",
                                           "PROHIBITED_CONTENT", "SPII",       "IMAGE_SAFETY",
                                           "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "LANGUAGE"};
    if (reason == NULL || strcmp(reason, "STOP") == 0)
        return has_tool_calls ? "tool_calls" : "stop";
    if (strcmp(reason, "MAX_TOKENS") == 0)
        return "length";
    for (size_t k = 0; k < sizeof filtered / sizeof filtered[0]; k++)
        if (strcmp(reason, filtered[k]) == 0)
            return "content_filter";
    return "stop"; /* OTHER, MALFORMED_FUNCTION_CALL, unknown ... */
}

/* Text (thought parts left out) into text, functionCall parts into calls. */
static gw_err_t read_parts(const json_t *parts, gw_buf_t *text, json_t *calls)
{
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        json_t *t = json_object_get(p, "text"), *fc = json_object_get(p, "functionCall");
        if (json_is_string(t) && !json_is_true(json_object_get(p, "thought"))) {
            if (gw_buf_add(text, json_string_value(t), json_string_length(t)) != GW_OK)
                return GW_ENOMEM;
        } else if (json_is_object(fc)) {
            const char *name = gw__jstr_get(fc, "name"), *id = gw__jstr_get(fc, "id");
            char synth[40] = "call_";
            if (name == NULL)
                return GW_EUPSTREAM;
            gw__rand_hex(synth + 5, 12);
            json_t *args = json_object_get(fc, "args");
            args = args != NULL ? json_incref(args) : json_object();
            json_t *call = gw__tool_call_json(id != NULL ? id : synth, name, args);
            json_decref(args);
            if (call == NULL || json_array_append_new(calls, call) != 0)
                return GW_ENOMEM;
        }
    }
    return GW_OK;
}

static json_t *candidate_choice(const json_t *cand, size_t i, gw_err_t *rc)
{
    gw_buf_t text;
    gw_buf_init(&text, (size_t)1 << 30);
    json_t *calls = json_array(), *choice = NULL;
    json_t *idx = json_object_get(cand, "index");
    *rc = calls == NULL ? GW_ENOMEM : read_parts(json_object_get(json_object_get(cand, "content"), "parts"), &text, calls);
    if (*rc != GW_OK)
        goto out;
    const char *finish = gw__gemini_finish(gw__jstr_get(cand, "finishReason"), json_array_size(calls) > 0);
    json_t *content = text.len == 0 && json_array_size(calls) > 0 ? json_null()
                                                                   : json_stringn(text.ptr != NULL ? text.ptr : "", text.len);
    json_t *m = json_pack("{ss,so,sn}", "role", "assistant", "content", content, "refusal");
    if (m != NULL && json_array_size(calls) > 0)
        json_object_set(m, "tool_calls", calls);
    choice = m == NULL ? NULL
                       : json_pack("{sI,so,sn,ss}", "index", json_is_integer(idx) ? json_integer_value(idx) : (json_int_t)i,
                                   "message", m, "logprobs", "finish_reason", finish);
    *rc = choice != NULL ? GW_OK : GW_ENOMEM;
out:
    json_decref(calls);
    gw_buf_free(&text);
    return choice;
}

static json_t *choices_json(const json_t *j, gw_err_t *rc)
{
    json_t *cands = json_object_get(j, "candidates");
    json_t *res = json_array();
    *rc = res != NULL ? GW_OK : GW_ENOMEM;
    size_t i;
    json_t *cand;
    json_array_foreach(cands, i, cand) {
        if (*rc != GW_OK)
            break;
        json_t *ch = candidate_choice(cand, i, rc);
        if (ch != NULL && json_array_append_new(res, ch) != 0)
            *rc = GW_ENOMEM;
    }
    if (*rc == GW_OK && json_array_size(res) == 0) {
        /* No candidate: a blocked prompt is a content_filter answer. */
        if (gw__jstr_get(json_object_get(j, "promptFeedback"), "blockReason") == NULL)
            *rc = GW_EUPSTREAM;
        else if (json_array_append_new(res, json_pack("{sI,s{ss,ss,sn},sn,ss}", "index", (json_int_t)0, "message",
                                                      "role", "assistant", "content", "", "refusal", "logprobs",
                                                      "finish_reason", "content_filter")) != 0)
            *rc = GW_ENOMEM;
    }
    if (*rc != GW_OK) {
        json_decref(res);
        return NULL;
    }
    return res;
}

/* Reads usageMetadata (5.4) into u; returns the OpenAI usage object. */
static json_t *usage_json(const json_t *um, gw_usage_t *u, int64_t *cached, int64_t *reasoning)
{
    json_t *tot = json_object_get(um, "totalTokenCount"), *cc = json_object_get(um, "cachedContentTokenCount");
    json_t *th = json_object_get(um, "thoughtsTokenCount");
    u->prompt_tokens = gw__jint_get(um, "promptTokenCount") + gw__jint_get(um, "toolUsePromptTokenCount");
    u->completion_tokens = gw__jint_get(um, "candidatesTokenCount") + gw__jint_get(um, "thoughtsTokenCount");
    *cached = json_is_integer(cc) ? gw__jint_get(um, "cachedContentTokenCount") : -1;
    *reasoning = json_is_integer(th) ? gw__jint_get(um, "thoughtsTokenCount") : -1;
    int64_t total = json_is_integer(tot) ? gw__jint_get(um, "totalTokenCount") : u->prompt_tokens + u->completion_tokens;
    return gw__usage_json(u->prompt_tokens, u->completion_tokens, total, *cached, *reasoning);
}

gw_err_t gw__gemini_response(const char *body, size_t len, const char *upstream_model, gw_buf_t *out,
                             gw_usage_t *usage)
{
    json_t *j = gw__json_load(body, len), *res = NULL;
    gw_err_t rc = GW_EUPSTREAM;
    if (!json_is_object(j))
        goto out;
    json_t *choices = choices_json(j, &rc);
    if (choices == NULL)
        goto out;
    char synth[40] = "chatcmpl-";
    gw__rand_hex(synth + 9, 12);
    const char *id = gw__jstr_get(j, "responseId"), *model = gw__jstr_get(j, "modelVersion");
    int64_t cached, reasoning;
    json_t *um = json_object_get(j, "usageMetadata");
    json_t *uj = um != NULL ? usage_json(um, usage, &cached, &reasoning) : NULL;
    res = gw__completion_json(id != NULL ? id : synth, model != NULL ? model : upstream_model, choices, uj);
    rc = res != NULL ? gw__json_append(out, res) : GW_ENOMEM;
out:
    json_decref(j);
    json_decref(res);
    return rc;
}

/* The error object of a Gemini error body (Vertex may wrap it in [ ]). */
static json_t *error_obj(const json_t *j)
{
    if (json_is_array(j))
        j = json_array_get(j, 0);
    return json_object_get(j, "error");
}

static int api_key_invalid(const json_t *e)
{
    size_t i;
    json_t *d;
    const char *m = gw__jstr_get(e, "message");
    json_array_foreach(json_object_get(e, "details"), i, d) {
        const char *r = gw__jstr_get(d, "reason");
        if (r != NULL && strcmp(r, "API_KEY_INVALID") == 0)
            return 1;
    }
    return m != NULL && strstr(m, "API key not valid") != NULL;
}

int gw__gemini_error(int status, const char *body, size_t len, gw_buf_t *out)
{
    json_t *j = gw__json_load(body, len);
    json_t *e = error_obj(j);
    const char *m = gw__jstr_get(e, "message"), *rpc = gw__jstr_get(e, "status");
    int cs = gw__client_status(status);
    if (m == NULL) {
        json_decref(j);
        return gw__error_default(status, NULL, body, len, out);
    }
    if (cs == 400 && api_key_invalid(e))
        cs = 401;
    char code[64] = "";
    const char *c = gw__status_code(cs);
    if (cs == 400 && rpc != NULL) {
        size_t k = 0;
        for (; rpc[k] != '\0' && k + 1 < sizeof code; k++)
            code[k] = (char)(rpc[k] >= 'A' && rpc[k] <= 'Z' ? rpc[k] - 'A' + 'a' : rpc[k]);
        code[k] = '\0';
        c = code;
    }
    if (gw_openai_error(out, m, gw__status_type(cs), NULL, c) != GW_OK)
        cs = 500;
    json_decref(j);
    return cs;
}

int gw__gemini_retry_after(const char *body, size_t len)
{
    json_t *j = gw__json_load(body, len);
    int secs = -1;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(error_obj(j), "details"), i, d) {
        const char *type = gw__jstr_get(d, "@type"), *delay = gw__jstr_get(d, "retryDelay");
        size_t tl = type != NULL ? strlen(type) : 0;
        if (delay == NULL || tl < 9 || strcmp(type + tl - 9, "RetryInfo") != 0)
            continue;
        char *end;
        double v = strtod(delay, &end);
        if (end != delay && (*end == 's' || *end == '\0') && v >= 0 && v < 86400 * 365)
            secs = (int)ceil(v);
        break;
    }
    json_decref(j);
    return secs;
}

/* ---- streams ---- */

static void stream_usage(gw_xlat_t *x, const json_t *um)
{
    if (!json_is_object(um))
        return;
    gw_usage_t u;
    json_decref(usage_json(um, &u, &x->cached, &x->reasoning));
    x->usage = u;
}

static void stream_error(const json_t *e, gw_xlat_info_t *info)
{
    json_t *code = json_object_get(e, "code");
    int cs = gw__client_status(json_is_integer(code) ? (int)json_integer_value(code) : 500);
    const char *m = gw__jstr_get(e, "message");
    gw__xlat_set_error(info, m != NULL ? m : gw__jstr_get(e, "status"), gw__status_type(cs), gw__status_code(cs));
}

static gw_err_t stream_parts(gw_xlat_t *x, const json_t *parts, gw_buf_t *out, gw_xlat_info_t *info)
{
    gw_buf_t text;
    gw_buf_init(&text, (size_t)1 << 30);
    json_t *calls = json_array();
    gw_err_t rc = calls == NULL ? GW_ENOMEM : read_parts(parts, &text, calls);
    if (rc == GW_OK && text.len > 0) {
        info->content = 1;
        rc = gw__chunk_text(x, out, text.ptr, text.len);
    }
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) {
        json_t *fn = json_object_get(c, "function");
        json_t *a = json_object_get(fn, "arguments");
        if (rc != GW_OK)
            break;
        info->content = 1;
        x->saw_tool = 1;
        rc = gw__chunk_tool_start(x, out, x->ntools++, gw__jstr_get(c, "id"), gw__jstr_get(fn, "name"),
                                  json_string_value(a), json_string_length(a));
    }
    gw_buf_free(&text);
    json_decref(calls);
    return rc;
}

static gw_err_t stream_chunk(gw_xlat_t *x, const json_t *j, gw_buf_t *out, gw_xlat_info_t *info)
{
    const char *rid = gw__jstr_get(j, "responseId");
    if (rid != NULL)
        gw__xlat_set_id(x, rid, strlen(rid));
    x->id_fixed = 1; /* the first chunk decides the id */
    stream_usage(x, json_object_get(j, "usageMetadata"));
    json_t *cand = json_array_get(json_object_get(j, "candidates"), 0);
    if (cand == NULL) {
        if (gw__jstr_get(json_object_get(j, "promptFeedback"), "blockReason") == NULL)
            return GW_OK;
        info->content = 1;
        info->done = 1;
        return gw__chunk_finish(x, out, "content_filter");
    }
    gw_err_t rc = stream_parts(x, json_object_get(json_object_get(cand, "content"), "parts"), out, info);
    const char *fr = gw__jstr_get(cand, "finishReason");
    if (rc != GW_OK || fr == NULL)
        return rc;
    const char *finish = gw__gemini_finish(fr, x->saw_tool);
    info->done = 1;
    if (strcmp(finish, "content_filter") == 0)
        info->content = 1;
    return gw__chunk_finish(x, out, finish);
}

gw_err_t gw__gemini_event(gw_xlat_t *x, const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info)
{
    if (ev->data_len == 0)
        return GW_OK;
    json_t *j = gw__json_load(ev->data, ev->data_len);
    json_t *o = json_is_array(j) ? json_array_get(j, 0) : j;
    gw_err_t rc = GW_EUPSTREAM;
    if (json_is_object(o)) {
        json_t *e = json_object_get(o, "error");
        if (json_is_object(e)) {
            stream_error(e, info);
            rc = GW_OK;
        } else {
            rc = stream_chunk(x, o, out, info);
        }
    }
    json_decref(j);
    return rc;
}

/* prov_common.c - the provider-neutral half of provider.h: kind names, the
 * one-pass jsmn inspection of a client's chat request, request buffers,
 * OpenAI error objects and status tables (wire-formats 5.5), the dispatch
 * to each adapter, and the streaming translator's lifecycle and OpenAI
 * chunk writers shared by the anthropic and gemini translators.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "prov_internal.h"

gw_err_t gw_prov_kind_parse(const char *s, gw_prov_kind_t *out)
{
    static const char *const names[] = {"openai", "anthropic", "gemini"};
    for (int k = 0; s != NULL && k < 3; k++) {
        if (strcmp(s, names[k]) == 0) {
            *out = (gw_prov_kind_t)k;
            return GW_OK;
        }
    }
    return GW_EINVAL;
}

const char *gw_prov_kind_name(gw_prov_kind_t k)
{
    switch (k) {
    case GW_PROV_OPENAI: return "openai";
    case GW_PROV_ANTHROPIC: return "anthropic";
    case GW_PROV_GEMINI: return "gemini";
    }
    return "unknown";
}

/* ---- gw_chat_inspect ---- */

enum { K_MODEL, K_MESSAGES, K_STREAM, K_STREAM_OPTIONS, K_MAX_TOKENS, K_MAX_COMPLETION_TOKENS, K_COUNT };
static const char *const inspect_keys[K_COUNT] = {"model",          "messages",   "stream",
                                                  "stream_options", "max_tokens", "max_completion_tokens"};

#define BAD_JSON "We could not parse the JSON body of your request. (HINT: it must be one valid JSON object.)"

/* Finds the value token of each inspected top-level key (-1 if absent);
 * rejects a key given twice and a malformed member. */
static gw_err_t collect_keys(const gw__jdoc_t *d, int val[K_COUNT], gw_prov_errmsg_t *msg)
{
    for (int k = 0; k < K_COUNT; k++)
        val[k] = -1;
    int t = 1;
    for (int m = 0; m < d->tok[0].size; m++) {
        if (t + 1 >= d->n || d->tok[t].type != JSMN_STRING || d->tok[t].size != 1) {
            gw__errmsg(msg, "", BAD_JSON);
            return GW_EINVAL;
        }
        for (int k = 0; k < K_COUNT; k++) {
            if (!gw__jkeyeq(d, t, inspect_keys[k]))
                continue;
            if (val[k] >= 0) {
                gw__errmsg(msg, inspect_keys[k], "Duplicate key '%s' in the request body.", inspect_keys[k]);
                return GW_EINVAL;
            }
            val[k] = t + 1;
        }
        t = gw__jnext(d, t + 1);
    }
    return GW_OK;
}

/* Bytes of content text in one message: a string, or text parts. */
static size_t message_chars(const gw__jdoc_t *d, int m)
{
    int c = gw__jget(d, m, "content");
    if (c < 0)
        return 0;
    if (d->tok[c].type == JSMN_STRING)
        return (size_t)(d->tok[c].end - d->tok[c].start);
    if (d->tok[c].type != JSMN_ARRAY)
        return 0;
    size_t n = 0;
    int p = c + 1;
    for (int i = 0; i < d->tok[c].size && p < d->n; i++) {
        int text = gw__jget(d, p, "text");
        if (text >= 0 && d->tok[text].type == JSMN_STRING)
            n += (size_t)(d->tok[text].end - d->tok[text].start);
        p = gw__jnext(d, p);
    }
    return n;
}

static gw_err_t check_messages(const gw__jdoc_t *d, int v, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    if (v < 0) {
        gw__errmsg(msg, "messages", "'messages' is a required property");
        return GW_EINVAL;
    }
    if (d->tok[v].type != JSMN_ARRAY || d->tok[v].size == 0) {
        gw__errmsg(msg, "messages", "'messages' must be a non-empty array");
        return GW_EINVAL;
    }
    int m = v + 1;
    for (int i = 0; i < d->tok[v].size && m < d->n; i++) {
        if (d->tok[m].type != JSMN_OBJECT) {
            gw__errmsg(msg, "messages", "Invalid type for 'messages[%d]': expected an object.", i);
            return GW_EINVAL;
        }
        info->prompt_chars += message_chars(d, m);
        m = gw__jnext(d, m);
    }
    return GW_OK;
}

/* 1 true, 0 false or null, -1 anything else. */
static int bool_or_null(const gw__jdoc_t *d, int v)
{
    if (gw__jlit(d, v, "true"))
        return 1;
    return gw__jlit(d, v, "false") || gw__jlit(d, v, "null") ? 0 : -1;
}

static gw_err_t check_stream_options(const gw__jdoc_t *d, int v, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    info->splice.so_at = (size_t)d->tok[v].start;
    info->splice.so_end = (size_t)d->tok[v].end;
    if (gw__jlit(d, v, "null"))
        return GW_OK;
    if (d->tok[v].type != JSMN_OBJECT) {
        gw__errmsg(msg, "stream_options", "Invalid type for 'stream_options': expected an object or null.");
        return GW_EINVAL;
    }
    int t = v + 1, iu = -1;
    for (int m = 0; m < d->tok[v].size; m++) {
        if (t + 1 >= d->n || d->tok[t].type != JSMN_STRING || d->tok[t].size != 1) {
            gw__errmsg(msg, "", BAD_JSON);
            return GW_EINVAL;
        }
        if (gw__jkeyeq(d, t, "include_usage")) {
            if (iu >= 0) {
                gw__errmsg(msg, "stream_options.include_usage", "Duplicate key 'include_usage' in 'stream_options'.");
                return GW_EINVAL;
            }
            iu = t + 1;
        }
        t = gw__jnext(d, t + 1);
    }
    if (iu < 0)
        return GW_OK;
    int b = bool_or_null(d, iu);
    if (b < 0) {
        gw__errmsg(msg, "stream_options.include_usage",
                   "Invalid type for 'stream_options.include_usage': expected a boolean.");
        return GW_EINVAL;
    }
    info->include_usage = b;
    info->splice.iu_at = (size_t)d->tok[iu].start;
    info->splice.iu_end = (size_t)d->tok[iu].end;
    return GW_OK;
}

static gw_err_t check_max_tokens(const gw__jdoc_t *d, int v, const char *name, int64_t *out, gw_prov_errmsg_t *msg)
{
    int64_t n;
    if (v < 0 || gw__jlit(d, v, "null"))
        return GW_OK;
    if (gw__jint(d, v, &n) != GW_OK || n < 0) {
        gw__errmsg(msg, name, "Invalid value for '%s': expected a non-negative integer.", name);
        return GW_EINVAL;
    }
    *out = n;
    return GW_OK;
}

static gw_err_t check_scalars(const gw__jdoc_t *d, const int val[K_COUNT], gw_chat_info_t *info,
                              gw_prov_errmsg_t *msg)
{
    int v = val[K_MODEL];
    if (v < 0) {
        gw__errmsg(msg, "model", "'model' is a required property");
        return GW_EINVAL;
    }
    if (d->tok[v].type != JSMN_STRING || d->tok[v].end == d->tok[v].start) {
        gw__errmsg(msg, "model", "'model' must be a non-empty string");
        return GW_EINVAL;
    }
    info->model = d->js + d->tok[v].start;
    info->model_len = (size_t)(d->tok[v].end - d->tok[v].start);
    info->splice.model_at = (size_t)d->tok[v].start - 1;
    info->splice.model_end = (size_t)d->tok[v].end + 1;
    if ((v = val[K_STREAM]) >= 0 && (info->stream = bool_or_null(d, v)) < 0) {
        info->stream = 0;
        gw__errmsg(msg, "stream", "Invalid type for 'stream': expected a boolean.");
        return GW_EINVAL;
    }
    gw_err_t rc = GW_OK;
    if (val[K_STREAM_OPTIONS] >= 0)
        rc = check_stream_options(d, val[K_STREAM_OPTIONS], info, msg);
    int64_t mt = -1, mct = -1;
    if (rc == GW_OK)
        rc = check_max_tokens(d, val[K_MAX_TOKENS], "max_tokens", &mt, msg);
    if (rc == GW_OK)
        rc = check_max_tokens(d, val[K_MAX_COMPLETION_TOKENS], "max_completion_tokens", &mct, msg);
    info->max_tokens = mct >= 0 ? mct : mt;
    return rc;
}

gw_err_t gw_chat_inspect(const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    gw__jdoc_t d;
    int val[K_COUNT];
    memset(info, 0, sizeof *info);
    info->max_tokens = -1;
    gw_err_t rc = gw__jdoc_parse(&d, body, len);
    if (rc == GW_ENOMEM)
        goto out;
    if (rc != GW_OK) {
        gw__errmsg(msg, "", BAD_JSON);
        rc = GW_EINVAL;
        goto out;
    }
    if (d.tok[0].type != JSMN_OBJECT) {
        gw__errmsg(msg, "", "The request body must be a JSON object.");
        rc = GW_EINVAL;
        goto out;
    }
    if ((rc = collect_keys(&d, val, msg)) != GW_OK || (rc = check_scalars(&d, val, info, msg)) != GW_OK ||
        (rc = check_messages(&d, val[K_MESSAGES], info, msg)) != GW_OK)
        goto out;
    info->splice.body = body;
    info->splice.body_len = len;
    info->splice.obj_end = (size_t)d.tok[0].end - 1;
out:
    gw__jdoc_free(&d);
    return rc;
}

/* ---- requests, statuses, errors ---- */

void gw_prov_req_init(gw_prov_req_t *r, size_t max_body)
{
    gw_buf_init(&r->path, 8192);
    gw_buf_init(&r->headers, 16384);
    gw_buf_init(&r->body, max_body);
}

void gw_prov_req_free(gw_prov_req_t *r)
{
    gw_buf_free(&r->path);
    gw_buf_free(&r->headers);
    gw_buf_free(&r->body);
}

gw_err_t gw_prov_build_chat(gw_prov_kind_t kind, const char *body, size_t len, const gw_chat_info_t *info,
                            const char *base_path, const char *upstream_model, const char *api_key,
                            gw_prov_req_t *out, gw_prov_errmsg_t *msg)
{
    gw_chat_info_t local;
    if (info == NULL || info->splice.body != body || info->splice.body_len != len) {
        gw_err_t rc = gw_chat_inspect(body, len, &local, msg);
        if (rc != GW_OK)
            return rc;
        info = &local;
    }
    if (upstream_model == NULL || upstream_model[0] == '\0') {
        gw__errmsg(msg, "model", "No upstream model name is configured.");
        return GW_EINVAL;
    }
    switch (kind) {
    case GW_PROV_OPENAI: return gw__openai_build(body, len, info, base_path, upstream_model, api_key, out, msg);
    case GW_PROV_ANTHROPIC:
        return gw__anthropic_build(body, len, info, base_path, upstream_model, api_key, out, msg);
    case GW_PROV_GEMINI: return gw__gemini_build(body, len, info, base_path, upstream_model, api_key, out, msg);
    }
    return GW_EINVAL;
}

gw_err_t gw_prov_translate_response(gw_prov_kind_t kind, const char *body, size_t len,
                                    const char *upstream_model, gw_buf_t *out, gw_usage_t *usage)
{
    gw_usage_t dummy;
    if (usage == NULL)
        usage = &dummy;
    usage->prompt_tokens = -1;
    usage->completion_tokens = -1;
    const char *model = upstream_model != NULL ? upstream_model : "";
    size_t mark = out->len;
    gw_err_t rc = GW_EINVAL;
    switch (kind) {
    case GW_PROV_OPENAI: rc = gw__openai_response(body, len, out, usage); break;
    case GW_PROV_ANTHROPIC: rc = gw__anthropic_response(body, len, model, out, usage); break;
    case GW_PROV_GEMINI: rc = gw__gemini_response(body, len, model, out, usage); break;
    }
    if (rc != GW_OK && out->ptr != NULL) {
        out->len = mark;
        out->ptr[mark] = '\0';
    }
    return rc;
}

int gw_prov_translate_error(gw_prov_kind_t kind, int status, const char *body, size_t len, gw_buf_t *out)
{
    switch (kind) {
    case GW_PROV_OPENAI: return gw__openai_error(status, body, len, out);
    case GW_PROV_ANTHROPIC: return gw__anthropic_error(status, body, len, out);
    case GW_PROV_GEMINI: return gw__gemini_error(status, body, len, out);
    }
    return gw__openai_error(status, body, len, out);
}

int gw_prov_error_retry_after(gw_prov_kind_t kind, const char *body, size_t len)
{
    return kind == GW_PROV_GEMINI ? gw__gemini_retry_after(body, len) : -1;
}

int gw_prov_status_retryable(int status) { return status == 429 || status >= 500; }

int gw__client_status(int status)
{
    if (status == 529)
        return 503;
    if (status < 400 || status > 599)
        return 502;
    return status;
}

const char *gw__status_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 408:
    case 504: return "timeout_error";
    case 429: return "rate_limit_error";
    default: return status < 500 ? "invalid_request_error" : "server_error";
    }
}

const char *gw__status_code(int status)
{
    switch (status) {
    case 401: return "invalid_api_key";
    case 402: return "insufficient_quota";
    case 404: return "model_not_found";
    case 413: return "request_too_large";
    case 429: return "rate_limit_exceeded";
    case 503: return "overloaded";
    default: return NULL;
    }
}

int gw__error_default(int status, const char *message, const char *body, size_t len, gw_buf_t *out)
{
    int cs = gw__client_status(status);
    char text[256];
    if (message == NULL) {
        /* Keep a short, printable excerpt of what the upstream said. */
        int n = snprintf(text, sizeof text, "Upstream returned HTTP %d", status);
        size_t k = 0;
        while (k < len && k < 160 && (unsigned char)body[k] >= 0x20)
            k++;
        if (k > 0)
            snprintf(text + n, sizeof text - (size_t)n, ": %.*s", (int)k, body);
        gw__utf8_trim(text);
        message = text;
    }
    if (gw_openai_error(out, message, gw__status_type(cs), NULL, gw__status_code(cs)) != GW_OK)
        return 500;
    return cs;
}

static gw_err_t add_str_or_null(gw_buf_t *out, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return gw_buf_adds(out, "null");
    gw_err_t rc = gw_buf_add(out, "\"", 1);
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(out, s, strlen(s));
    return rc == GW_OK ? gw_buf_add(out, "\"", 1) : rc;
}

gw_err_t gw_openai_error(gw_buf_t *out, const char *message, const char *type, const char *param, const char *code)
{
    size_t mark = out->len;
    const char *m = message != NULL ? message : "";
    gw_err_t rc = gw_buf_adds(out, "{\"error\":{\"message\":\"");
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(out, m, strlen(m));
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "\",\"type\":");
    if (rc == GW_OK)
        rc = add_str_or_null(out, type);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, ",\"param\":");
    if (rc == GW_OK)
        rc = add_str_or_null(out, param);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, ",\"code\":");
    if (rc == GW_OK)
        rc = add_str_or_null(out, code);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "}}");
    if (rc != GW_OK && out->ptr != NULL) {
        out->len = mark;
        out->ptr[mark] = '\0';
    }
    return rc;
}

gw_err_t gw_xlat_error_frame(gw_buf_t *out, const char *message, const char *type, const char *code)
{
    size_t mark = out->len;
    gw_err_t rc = gw_buf_adds(out, "data: ");
    if (rc == GW_OK)
        rc = gw_openai_error(out, message, type, NULL, code);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "\n\n");
    if (rc != GW_OK && out->ptr != NULL) {
        out->len = mark;
        out->ptr[mark] = '\0';
    }
    return rc;
}

/* ---- streaming translator ---- */

gw_xlat_t *gw_xlat_new(gw_prov_kind_t kind, int include_usage, const char *upstream_model)
{
    const char *m = upstream_model != NULL ? upstream_model : "";
    gw_xlat_t *x = gw_calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    gw_buf_t b;
    gw_buf_init(&b, (size_t)1 << 20);
    if (gw_buf_add_json_str(&b, m, strlen(m)) != GW_OK || (x->model = gw_buf_take(&b, NULL)) == NULL) {
        gw_buf_free(&b);
        gw_free(x);
        return NULL;
    }
    x->kind = kind;
    x->include_usage = include_usage != 0;
    memcpy(x->id, "chatcmpl-", 9);
    gw__rand_hex(x->id + 9, 12);
    x->created = (int64_t)time(NULL);
    x->usage.prompt_tokens = -1;
    x->usage.completion_tokens = -1;
    x->cached = -1;
    x->reasoning = -1;
    x->ant_input = -1;
    x->ant_cache_write = -1;
    return x;
}

void gw_xlat_free(gw_xlat_t *x)
{
    if (x == NULL)
        return;
    gw_free(x->model);
    gw_free(x->blk_tool);
    gw_free(x);
}

gw_err_t gw_xlat_event(gw_xlat_t *x, const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info)
{
    info->content = info->done = info->error = 0; /* the message buffers only when error is set */
    info->content_bytes = 0;
    info->error_message[0] = info->error_type[0] = info->error_code[0] = '\0';
    size_t k = 0;
    while (k < ev->data_len && strchr(" \t\r\n", ev->data[k]) != NULL && ev->data[k] != '\0')
        k++;
    if (k == ev->data_len)
        return GW_OK; /* no data (a keep-alive): nothing to translate */
    size_t mark = out->len;
    gw_err_t rc = GW_EINVAL;
    switch (x->kind) {
    case GW_PROV_OPENAI: rc = gw__openai_event(x, ev, out, info); break;
    case GW_PROV_ANTHROPIC: rc = gw__anthropic_event(x, ev, out, info); break;
    case GW_PROV_GEMINI: rc = gw__gemini_event(x, ev, out, info); break;
    }
    if (rc != GW_OK && out->ptr != NULL) {
        out->len = mark; /* never leave half a frame behind */
        out->ptr[mark] = '\0';
    }
    return rc;
}

gw_err_t gw_xlat_finish(gw_xlat_t *x, gw_buf_t *out)
{
    size_t mark = out->len;
    gw_err_t rc = GW_OK;
    if (x->kind != GW_PROV_OPENAI && x->include_usage)
        rc = gw__chunk_usage(x, out);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "data: [DONE]\n\n");
    if (rc != GW_OK && out->ptr != NULL) {
        out->len = mark;
        out->ptr[mark] = '\0';
    }
    return rc;
}

gw_usage_t gw_xlat_usage(const gw_xlat_t *x) { return x->usage; }

void gw__xlat_set_id(gw_xlat_t *x, const char *s, size_t n)
{
    if (x->id_fixed || n == 0)
        return;
    gw_buf_t b;
    gw_buf_init(&b, sizeof x->id - 1);
    if (gw_buf_add_json_str(&b, s, n) == GW_OK) {
        memcpy(x->id, b.ptr, b.len + 1);
        x->id_fixed = 1;
    }
    gw_buf_free(&b);
}

void gw__xlat_set_error(gw_xlat_info_t *info, const char *message, const char *type, const char *code)
{
    info->error = 1;
    snprintf(info->error_message, sizeof info->error_message, "%s",
             message != NULL && message[0] != '\0' ? message : "Upstream error");
    gw__utf8_trim(info->error_message);
    snprintf(info->error_type, sizeof info->error_type, "%s", type != NULL ? type : "");
    gw__utf8_trim(info->error_type);
    snprintf(info->error_code, sizeof info->error_code, "%s", code != NULL ? code : "");
    gw__utf8_trim(info->error_code);
}

/* Opens a chunk frame up to and including '{' of choices[0] or ']' when
 * there is no choice (usage chunk). */
static gw_err_t chunk_open(gw_xlat_t *x, gw_buf_t *out, int with_choice)
{
    return gw_buf_printf(out,
                         "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"created\":%lld,"
                         "\"model\":\"%s\",\"choices\":[%s",
                         x->id, (long long)x->created, x->model, with_choice ? "{\"index\":0,\"delta\":" : "]");
}

static gw_err_t chunk_close(gw_buf_t *out, const char *finish)
{
    if (finish == NULL)
        return gw_buf_adds(out, ",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    return gw_buf_printf(out, ",\"logprobs\":null,\"finish_reason\":\"%s\"}]}\n\n", finish);
}

static gw_err_t add_json_string(gw_buf_t *out, const char *s, size_t n)
{
    gw_err_t rc = gw_buf_add(out, "\"", 1);
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(out, s, n);
    return rc == GW_OK ? gw_buf_add(out, "\"", 1) : rc;
}

gw_err_t gw__chunk_role(gw_xlat_t *x, gw_buf_t *out)
{
    gw_err_t rc = chunk_open(x, out, 1);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "{\"role\":\"assistant\",\"content\":\"\"}");
    if (rc == GW_OK)
        rc = chunk_close(out, NULL);
    if (rc == GW_OK)
        x->role_sent = 1;
    return rc;
}

static gw_err_t ensure_role(gw_xlat_t *x, gw_buf_t *out)
{
    return x->role_sent ? GW_OK : gw__chunk_role(x, out);
}

gw_err_t gw__chunk_text(gw_xlat_t *x, gw_buf_t *out, const char *text, size_t len)
{
    gw_err_t rc = ensure_role(x, out);
    if (rc == GW_OK)
        rc = chunk_open(x, out, 1);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "{\"content\":");
    if (rc == GW_OK)
        rc = add_json_string(out, text, len);
    if (rc == GW_OK)
        rc = gw_buf_add(out, "}", 1);
    return rc == GW_OK ? chunk_close(out, NULL) : rc;
}

gw_err_t gw__chunk_tool_start(gw_xlat_t *x, gw_buf_t *out, int k, const char *id, const char *name,
                              const char *args, size_t args_len)
{
    gw_err_t rc = ensure_role(x, out);
    if (rc == GW_OK)
        rc = chunk_open(x, out, 1);
    if (rc == GW_OK)
        rc = gw_buf_printf(out, "{\"tool_calls\":[{\"index\":%d,\"id\":", k);
    if (rc == GW_OK)
        rc = add_json_string(out, id, strlen(id));
    if (rc == GW_OK)
        rc = gw_buf_adds(out, ",\"type\":\"function\",\"function\":{\"name\":");
    if (rc == GW_OK)
        rc = add_json_string(out, name, strlen(name));
    if (rc == GW_OK)
        rc = gw_buf_adds(out, ",\"arguments\":");
    if (rc == GW_OK)
        rc = add_json_string(out, args, args_len);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "}}]}");
    return rc == GW_OK ? chunk_close(out, NULL) : rc;
}

gw_err_t gw__chunk_tool_args(gw_xlat_t *x, gw_buf_t *out, int k, const char *args, size_t len)
{
    gw_err_t rc = ensure_role(x, out);
    if (rc == GW_OK)
        rc = chunk_open(x, out, 1);
    if (rc == GW_OK)
        rc = gw_buf_printf(out, "{\"tool_calls\":[{\"index\":%d,\"function\":{\"arguments\":", k);
    if (rc == GW_OK)
        rc = add_json_string(out, args, len);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "}}]}");
    return rc == GW_OK ? chunk_close(out, NULL) : rc;
}

gw_err_t gw__chunk_finish(gw_xlat_t *x, gw_buf_t *out, const char *reason)
{
    gw_err_t rc = ensure_role(x, out);
    if (rc == GW_OK)
        rc = chunk_open(x, out, 1);
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "{}");
    return rc == GW_OK ? chunk_close(out, reason) : rc;
}

gw_err_t gw__chunk_usage(gw_xlat_t *x, gw_buf_t *out)
{
    long long p = x->usage.prompt_tokens > 0 ? x->usage.prompt_tokens : 0;
    long long c = x->usage.completion_tokens > 0 ? x->usage.completion_tokens : 0;
    gw_err_t rc = chunk_open(x, out, 0);
    if (rc == GW_OK)
        rc = gw_buf_printf(out, ",\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"total_tokens\":%lld", p,
                           c, p + c);
    if (rc == GW_OK && x->cached >= 0)
        rc = gw_buf_printf(out, ",\"prompt_tokens_details\":{\"cached_tokens\":%lld}", (long long)x->cached);
    if (rc == GW_OK && x->reasoning >= 0)
        rc = gw_buf_printf(out, ",\"completion_tokens_details\":{\"reasoning_tokens\":%lld}", (long long)x->reasoning);
    return rc == GW_OK ? gw_buf_adds(out, "}}\n\n") : rc;
}

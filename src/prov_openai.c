/* prov_openai.c - the OpenAI-compatible adapter, the hot path: the client's
 * request bytes go upstream as they are, with only the "model" value
 * replaced and, for streams, "stream_options":{"include_usage":true}
 * ensured (splice points come from gw_chat_inspect's one jsmn pass).
 * Answers and stream chunks pass back verbatim; usage is read with jsmn.
 */
#include <string.h>

#include "prov_internal.h"

/* One replacement of body[at, end) (at == end: an insertion). */
typedef enum { E_MODEL, E_SO_ADD, E_SO_SET, E_IU_SET, E_IU_ADD } edit_kind_t;
typedef struct {
    size_t at, end;
    edit_kind_t kind;
} edit_t;

static gw_err_t put_edit(gw_buf_t *b, const edit_t *e, const char *model, int so_empty)
{
    gw_err_t rc;
    switch (e->kind) {
    case E_MODEL:
        rc = gw_buf_add(b, "\"", 1);
        if (rc == GW_OK)
            rc = gw_buf_add_json_str(b, model, strlen(model));
        return rc == GW_OK ? gw_buf_add(b, "\"", 1) : rc;
    case E_SO_ADD: return gw_buf_adds(b, ",\"stream_options\":{\"include_usage\":true}");
    case E_SO_SET: return gw_buf_adds(b, "{\"include_usage\":true}");
    case E_IU_SET: return gw_buf_adds(b, "true");
    case E_IU_ADD: return gw_buf_adds(b, so_empty ? "\"include_usage\":true" : "\"include_usage\":true,");
    }
    return GW_EINVAL;
}

/* 1 if the stream_options object at [at, end) has no member. */
static int object_empty(const char *body, size_t at, size_t end)
{
    for (size_t i = at + 1; i + 1 < end; i++)
        if (body[i] != ' ' && body[i] != '\t' && body[i] != '\n' && body[i] != '\r')
            return 0;
    return 1;
}

/* Plans the stream_options edit (at most one); returns how many. */
static int plan_stream_options(const char *body, const gw_chat_info_t *info, edit_t *e)
{
    const size_t so_at = info->splice.so_at, so_end = info->splice.so_end;
    if (!info->stream || info->include_usage)
        return 0;
    if (so_end == 0) {
        *e = (edit_t){info->splice.obj_end, info->splice.obj_end, E_SO_ADD};
    } else if (body[so_at] != '{') {
        *e = (edit_t){so_at, so_end, E_SO_SET}; /* it was null */
    } else if (info->splice.iu_end != 0) {
        *e = (edit_t){info->splice.iu_at, info->splice.iu_end, E_IU_SET};
    } else {
        *e = (edit_t){so_at + 1, so_at + 1, E_IU_ADD};
    }
    return 1;
}

static gw_err_t splice_body(const char *body, size_t len, const gw_chat_info_t *info, const char *model,
                            gw_buf_t *out)
{
    edit_t ed[2];
    int n = 1;
    ed[0] = (edit_t){info->splice.model_at, info->splice.model_end, E_MODEL};
    n += plan_stream_options(body, info, &ed[1]);
    if (n == 2 && ed[1].at < ed[0].at) {
        edit_t t = ed[0];
        ed[0] = ed[1];
        ed[1] = t;
    }
    int so_empty = info->splice.so_end != 0 && object_empty(body, info->splice.so_at, info->splice.so_end);
    gw_err_t rc = gw_buf_reserve(out, len + 64 + 6 * strlen(model));
    size_t pos = 0;
    for (int i = 0; i < n && rc == GW_OK; i++) {
        rc = gw_buf_add(out, body + pos, ed[i].at - pos);
        if (rc == GW_OK)
            rc = put_edit(out, &ed[i], model, so_empty);
        pos = ed[i].end;
    }
    return rc == GW_OK ? gw_buf_add(out, body + pos, len - pos) : rc;
}

gw_err_t gw__openai_build(const char *body, size_t len, const gw_chat_info_t *info, const char *base_path,
                          const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                          gw_prov_errmsg_t *msg)
{
    if (api_key != NULL && strpbrk(api_key, "\r\n") != NULL) {
        gw__errmsg(msg, "", "The provider's API key holds a line break.");
        return GW_EINVAL;
    }
    gw_err_t rc = gw__path_join(&out->path, base_path, "v1", "/chat/completions");
    if (rc == GW_OK && api_key != NULL && api_key[0] != '\0')
        rc = gw_buf_printf(&out->headers, "Authorization: Bearer %s\r\n", api_key);
    if (rc == GW_OK)
        rc = splice_body(body, len, info, upstream_model, &out->body);
    return rc;
}

/* Reads {prompt_tokens, completion_tokens} of a usage object token. */
static void read_usage(const gw__jdoc_t *d, int u, gw_usage_t *usage, int64_t *cached)
{
    int64_t v;
    int t = gw__jget(d, u, "prompt_tokens");
    if (t >= 0 && gw__jint(d, t, &v) == GW_OK)
        usage->prompt_tokens = gw__tokens(v);
    t = gw__jget(d, u, "completion_tokens");
    if (t >= 0 && gw__jint(d, t, &v) == GW_OK)
        usage->completion_tokens = gw__tokens(v);
    t = gw__jget(d, gw__jget(d, u, "prompt_tokens_details"), "cached_tokens");
    if (cached != NULL && t >= 0 && gw__jint(d, t, &v) == GW_OK)
        *cached = gw__tokens(v);
}

gw_err_t gw__openai_response(const char *body, size_t len, gw_buf_t *out, gw_usage_t *usage)
{
    gw__jdoc_t d;
    gw_err_t rc = gw__jdoc_parse(&d, body, len);
    if (rc == GW_OK && d.tok[0].type != JSMN_OBJECT)
        rc = GW_EUPSTREAM;
    if (rc == GW_EINVAL)
        rc = GW_EUPSTREAM;
    if (rc == GW_OK) {
        read_usage(&d, gw__jget(&d, 0, "usage"), usage, NULL);
        rc = gw_buf_add(out, body, len);
    }
    gw__jdoc_free(&d);
    return rc;
}

int gw__openai_error(int status, const char *body, size_t len, gw_buf_t *out)
{
    gw__jdoc_t d;
    gw_err_t rc = gw__jdoc_parse(&d, body, len);
    int is_json = rc == GW_OK && (d.tok[0].type == JSMN_OBJECT || d.tok[0].type == JSMN_ARRAY);
    gw__jdoc_free(&d);
    if (!is_json)
        return gw__error_default(status, NULL, body, len, out);
    if (gw_buf_add(out, body, len) != GW_OK)
        return 500;
    return gw__client_status(status);
}

/* In-band {"error":{...}}: read its fields with jansson (rare path). */
static void stream_error(const char *data, size_t len, gw_xlat_info_t *info)
{
    json_t *j = gw__json_load(data, len);
    json_t *e = json_object_get(j, "error");
    const char *m = json_is_object(e) ? gw__jstr_get(e, "message") : json_string_value(e);
    gw__xlat_set_error(info, m, gw__jstr_get(e, "type"), gw__jstr_get(e, "code"));
    json_decref(j);
}

/* 1 if token t is a string with at least one byte. */
static int nonempty_str(const gw__jdoc_t *d, int t)
{
    return t >= 0 && d->tok[t].type == JSMN_STRING && d->tok[t].end > d->tok[t].start;
}

/* 1 if any choice's delta carries content, a refusal or tool calls. */
static int has_content(const gw__jdoc_t *d, int choices)
{
    int c = choices + 1;
    for (int i = 0; i < d->tok[choices].size && c < d->n; i++) {
        int delta = gw__jget(d, c, "delta");
        int tc = gw__jget(d, delta, "tool_calls");
        if (nonempty_str(d, gw__jget(d, delta, "content")) || nonempty_str(d, gw__jget(d, delta, "refusal")) ||
            (tc >= 0 && d->tok[tc].type == JSMN_ARRAY && d->tok[tc].size > 0))
            return 1;
        c = gw__jnext(d, c);
    }
    return 0;
}

/* Appends "data: <data>\n\n", keeping the JSON on one line. */
static gw_err_t reframe(const char *data, size_t len, gw_buf_t *out)
{
    gw_err_t rc = gw_buf_reserve(out, len + 8);
    if (rc != GW_OK)
        return rc;
    size_t at = out->len + 6;
    rc = gw_buf_adds(out, "data: ");
    if (rc == GW_OK)
        rc = gw_buf_add(out, data, len);
    for (char *nl = rc == GW_OK ? memchr(out->ptr + at, '\n', out->len - at) : NULL; nl != NULL;
         nl = memchr(nl, '\n', (size_t)(out->ptr + out->len - nl)))
        *nl++ = ' '; /* a newline in valid JSON is whitespace */
    return rc == GW_OK ? gw_buf_adds(out, "\n\n") : rc;
}

static int is_done(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n'))
        s++, n--;
    return n >= 6 && memcmp(s, "[DONE]", 6) == 0;
}

/* The length of the JSON string body starting at p[0] (just after its
 * opening quote), or -1 when it does not end inside p[0..n). */
static long str_body_len(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *q = memchr(p + i, '"', n - i);
        if (q == NULL)
            return -1;
        size_t at = (size_t)(q - p), bs = 0;
        while (bs < at && p[at - 1 - bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            return (long)at;
        i = at;
    }
    return -1;
}

/* Characters of the JSON string body c[0..len), an escape counted as one
 * (as tokest.c counts them). */
static size_t text_chars(const char *c, size_t len)
{
    size_t text = len;
    for (const char *e = memchr(c, '\\', len); e != NULL; e = memchr(e, '\\', (size_t)(c + len - e))) {
        size_t skip = e + 1 < c + len && e[1] == 'u' ? 6 : 2, left = (size_t)(c + len - e);
        if (skip > left)
            skip = left; /* a malformed escape at the end */
        text -= skip - 1;
        e += skip;
        if (e >= c + len)
            break;
    }
    return text;
}

/* The delta object starting at v (just after `"delta":{`), in the three
 * layouts OpenAI sends: `}` (the finish chunk), `"content":"..."}` and
 * `"role":"assistant","content":"..."}` (the first chunk). Sets *tail past
 * it and *text to the content's characters. 0 for anything else (tool
 * calls, refusals, other members): the full parse decides those. */
static int fast_delta(const char *v, const char *end, const char **tail, size_t *text)
{
    static const char role[] = "\"role\":\"assistant\",", ckey[] = "\"content\":\"";
    *text = 0;
    if (v < end && *v == '}') {
        *tail = v + 1;
        return 1;
    }
    if ((size_t)(end - v) > sizeof(role) - 1 && memcmp(v, role, sizeof(role) - 1) == 0)
        v += sizeof(role) - 1;
    if ((size_t)(end - v) < sizeof(ckey) - 1 || memcmp(v, ckey, sizeof(ckey) - 1) != 0)
        return 0;
    v += sizeof(ckey) - 1;
    long len = str_body_len(v, (size_t)(end - v));
    if (len < 0 || v + len + 1 >= end || v[len + 1] != '}')
        return 0;
    *text = text_chars(v, (size_t)len);
    *tail = v + len + 2;
    return 1;
}

/* The common chunks, decided without tokenising them: OpenAI's compact
 * serialisation ({"id":"...",...,"delta":{...}...}) of a first, content or
 * finish chunk, with no "usage" object and no content_filter finish.
 * Anything else (usage, errors, tool calls, refusals, other layouts) takes
 * the full parse. Returns 1 when the event was handled. The bytes are
 * passed through as they came, like any proxy does with a body it does not
 * need to read. */
static int fast_content_event(const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info, gw_err_t *rc)
{
    const char *d = ev->data, *end = ev->data + ev->data_len, *tail = NULL;
    size_t n = ev->data_len, text = 0;
    if (n < 32 || memcmp(d, "{\"id\":\"", 7) != 0 || d[n - 1] != '}' || memchr(d, '\n', n) != NULL)
        return 0;
    static const char key[] = "\"delta\":{";
    const char *dl = memmem(d, n, key, sizeof(key) - 1);
    if (dl == NULL || !fast_delta(dl + sizeof(key) - 1, end, &tail, &text))
        return 0;
    /* An in-band error never starts with "id"; usage and the finish
     * reason follow the delta: look only there. */
    size_t rest = (size_t)(end - tail);
    if (memmem(tail, rest, "\"usage\":{", 9) != NULL || memmem(tail, rest, "content_filter", 14) != NULL)
        return 0;
    info->content = text > 0;
    info->content_bytes = text;
    *rc = gw_buf_reserve(out, n + 8); /* "data: " + the event + a blank line; no newline inside (checked) */
    if (*rc == GW_OK) {
        memcpy(out->ptr + out->len, "data: ", 6);
        memcpy(out->ptr + out->len + 6, d, n);
        memcpy(out->ptr + out->len + 6 + n, "\n\n", 3);
        out->len += n + 8;
    }
    return 1;
}

gw_err_t gw__openai_event(gw_xlat_t *x, const gw_sse_event_t *ev, gw_buf_t *out, gw_xlat_info_t *info)
{
    if (ev->data_len == 0)
        return GW_OK;
    if (is_done(ev->data, ev->data_len)) {
        info->done = 1;
        return GW_OK;
    }
    gw_err_t frc = GW_OK;
    if (fast_content_event(ev, out, info, &frc))
        return frc;
    gw__jdoc_t d;
    gw_err_t rc = gw__jdoc_parse(&d, ev->data, ev->data_len);
    if (rc != GW_OK || d.tok[0].type != JSMN_OBJECT) {
        rc = rc == GW_ENOMEM ? rc : GW_EUPSTREAM;
        goto out;
    }
    if (gw__jget(&d, 0, "error") >= 0) {
        stream_error(ev->data, ev->data_len, info);
        goto out;
    }
    int usage = gw__jget(&d, 0, "usage");
    if (usage >= 0 && d.tok[usage].type == JSMN_OBJECT)
        read_usage(&d, usage, &x->usage, &x->cached);
    int choices = gw__jget(&d, 0, "choices");
    int is_array = choices >= 0 && d.tok[choices].type == JSMN_ARRAY;
    if (is_array && d.tok[choices].size == 0 && usage >= 0 && d.tok[usage].type == JSMN_OBJECT && !x->include_usage)
        goto out; /* the usage-only chunk the client did not ask for */
    info->content = is_array && has_content(&d, choices);
    rc = reframe(ev->data, ev->data_len, out);
out:
    gw__jdoc_free(&d);
    return rc;
}

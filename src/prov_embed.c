/* prov_embed.c - embeddings (wire-formats 1.9, 3.6): checks a client's
 * OpenAI embeddings request, builds the upstream request (openai: the
 * model spliced into the client's bytes; gemini: batchEmbedContents;
 * anthropic has none) and turns the answer into OpenAI's list shape, with
 * floats or, when the client asked encoding_format "base64", base64 of
 * little-endian float32 (what the OpenAI SDK decodes, its default).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "prov_internal.h"

enum { E_MODEL, E_INPUT, E_FORMAT, E_DIMS, E_USER, E_COUNT };
static const char *const embed_keys[E_COUNT] = {"model", "input", "encoding_format", "dimensions", "user"};

/* A token id counts as this many bytes of text in prompt_chars, so that
 * the usual bytes/4 estimate gives the token count back. */
#define TOKEN_CHARS 4

#define BAD_INPUT                                                                                                   \
    "Invalid type for 'input': expected a string, an array of strings, an array of token ids or an array of "      \
    "token id arrays."

/* ---- inspect ---- */

/* Checks token list arr (non-empty, non-negative integers); where names it. */
static gw_err_t check_tokens(const gw__jdoc_t *d, int arr, const char *where, size_t *chars, gw_prov_errmsg_t *msg)
{
    if (d->tok[arr].size == 0) {
        gw__errmsg(msg, "input", "Invalid value for '%s': expected a non-empty array of token ids.", where);
        return GW_EINVAL;
    }
    int t = arr + 1;
    for (int i = 0; i < d->tok[arr].size && t < d->n; i++, t++) {
        int64_t v;
        if (gw__jint(d, t, &v) != GW_OK || v < 0) {
            gw__errmsg(msg, "input", "Invalid value for '%s[%d]': expected a non-negative integer token id.", where, i);
            return GW_EINVAL;
        }
    }
    *chars += (size_t)d->tok[arr].size * TOKEN_CHARS;
    return GW_OK;
}

/* One item of an input array, which must have the type of item 0. */
static gw_err_t check_item(const gw__jdoc_t *d, int t, int i, jsmntype_t want, size_t *chars, gw_prov_errmsg_t *msg)
{
    char where[32];
    snprintf(where, sizeof where, "input[%d]", i);
    if (d->tok[t].type != want) {
        gw__errmsg(msg, "input", "Invalid type for '%s': every item must have the type of 'input[0]'.", where);
        return GW_EINVAL;
    }
    if (want == JSMN_ARRAY)
        return check_tokens(d, t, where, chars, msg);
    if (d->tok[t].end == d->tok[t].start) {
        gw__errmsg(msg, "input", "Invalid value for '%s': expected a non-empty string.", where);
        return GW_EINVAL;
    }
    *chars += (size_t)(d->tok[t].end - d->tok[t].start);
    return GW_OK;
}

static gw_err_t check_input(const gw__jdoc_t *d, int v, size_t *chars, gw_prov_errmsg_t *msg)
{
    if (v < 0) {
        gw__errmsg(msg, "input", "'input' is a required property");
        return GW_EINVAL;
    }
    const jsmntok_t *tk = &d->tok[v];
    if (tk->type == JSMN_STRING) {
        if (tk->end == tk->start) {
            gw__errmsg(msg, "input", "'input' must not be an empty string");
            return GW_EINVAL;
        }
        *chars += (size_t)(tk->end - tk->start);
        return GW_OK;
    }
    if (tk->type != JSMN_ARRAY) {
        gw__errmsg(msg, "input", BAD_INPUT);
        return GW_EINVAL;
    }
    if (tk->size == 0) {
        gw__errmsg(msg, "input", "'input' must not be an empty array");
        return GW_EINVAL;
    }
    jsmntype_t want = d->tok[v + 1].type;
    if (want == JSMN_PRIMITIVE)
        return check_tokens(d, v, "input", chars, msg);
    if (want != JSMN_STRING && want != JSMN_ARRAY) {
        gw__errmsg(msg, "input", BAD_INPUT);
        return GW_EINVAL;
    }
    int t = v + 1;
    for (int i = 0; i < tk->size && t < d->n; i++, t = gw__jnext(d, t)) {
        gw_err_t rc = check_item(d, t, i, want, chars, msg);
        if (rc != GW_OK)
            return rc;
    }
    return GW_OK;
}

static gw_err_t check_options(const gw__jdoc_t *d, const int val[E_COUNT], gw_prov_errmsg_t *msg)
{
    int v = val[E_FORMAT];
    if (v >= 0 && !gw__jlit(d, v, "null") && !gw__jkeyeq(d, v, "float") && !gw__jkeyeq(d, v, "base64")) {
        gw__errmsg(msg, "encoding_format", "Invalid value for 'encoding_format': expected 'float' or 'base64'.");
        return GW_EINVAL;
    }
    int64_t n;
    v = val[E_DIMS];
    if (v >= 0 && !gw__jlit(d, v, "null") && (gw__jint(d, v, &n) != GW_OK || n <= 0)) {
        gw__errmsg(msg, "dimensions", "Invalid value for 'dimensions': expected a positive integer.");
        return GW_EINVAL;
    }
    v = val[E_USER];
    if (v >= 0 && !gw__jlit(d, v, "null") && d->tok[v].type != JSMN_STRING) {
        gw__errmsg(msg, "user", "Invalid type for 'user': expected a string.");
        return GW_EINVAL;
    }
    return GW_OK;
}

gw_err_t gw__embed_inspect(const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    gw__jdoc_t d;
    int val[E_COUNT];
    gw_err_t rc = gw__op_parse(&d, body, len, info, msg);
    if (rc == GW_OK)
        rc = gw__op_keys(&d, embed_keys, NULL, E_COUNT, val, msg);
    if (rc == GW_OK)
        rc = gw__op_model(&d, val[E_MODEL], body, len, info, msg);
    if (rc == GW_OK)
        rc = check_input(&d, val[E_INPUT], &info->prompt_chars, msg);
    if (rc == GW_OK)
        rc = check_options(&d, val, msg);
    gw__jdoc_free(&d);
    return rc;
}

/* ---- build ---- */

/* One batchEmbedContents request for text t. */
static json_t *gem_request(const char *name, json_t *text, const json_t *dims)
{
    json_t *r = json_pack("{ss s{s[{sO}]}}", "model", name, "content", "parts", "text", text);
    if (r != NULL && json_is_integer(dims) && json_object_set(r, "outputDimensionality", (json_t *)dims) != 0) {
        json_decref(r);
        r = NULL;
    }
    return r;
}

/* {"requests":[...]} for the texts of client body in. */
static gw_err_t gem_body(const json_t *in, const char *name, gw_buf_t *out, gw_prov_errmsg_t *msg)
{
    json_t *input = json_object_get(in, "input"), *dims = json_object_get(in, "dimensions");
    json_t *reqs = json_array(), *root = NULL;
    gw_err_t rc = GW_ENOMEM;
    if (reqs == NULL)
        goto out;
    if (json_is_string(input)) {
        if (json_array_append_new(reqs, gem_request(name, input, dims)) != 0)
            goto out;
    } else {
        size_t i;
        json_t *t;
        json_array_foreach(input, i, t) {
            if (!json_is_string(t)) {
                gw__errmsg(msg, "input", "provider 'gemini' cannot embed token ids; send the input as text");
                rc = GW_EINVAL;
                goto out;
            }
            if (json_array_append_new(reqs, gem_request(name, t, dims)) != 0)
                goto out;
        }
    }
    root = json_pack("{sO}", "requests", reqs);
    if (root != NULL)
        rc = gw__json_append(out, root);
out:
    json_decref(reqs);
    json_decref(root);
    return rc;
}

static gw_err_t gemini_build(const char *body, size_t len, const char *base_path, const char *model,
                             const char *api_key, gw_prov_req_t *out, gw_prov_errmsg_t *msg)
{
    json_t *in = gw__json_load(body, len);
    char *name = NULL;
    gw_err_t rc = GW_ENOMEM;
    if (in == NULL || !json_is_object(in)) {
        gw__errmsg(msg, "", "We could not parse the JSON body of your request.");
        rc = GW_EINVAL;
        goto out;
    }
    const char *bare = strncmp(model, "models/", 7) == 0 ? model + 7 : model;
    size_t n = strlen(bare) + 8;
    if ((name = gw_malloc(n)) == NULL)
        goto out;
    snprintf(name, n, "models/%s", bare);
    if ((rc = gem_body(in, name, &out->body, msg)) != GW_OK)
        goto out;
    if (api_key != NULL && api_key[0] != '\0' &&
        (rc = gw__hdr_add(&out->headers, "x-goog-api-key", api_key)) != GW_OK) {
        gw__errmsg(msg, "", "The provider's API key holds a line break.");
        goto out;
    }
    rc = gw__gemini_model_path(&out->path, base_path, model, ":batchEmbedContents");
out:
    json_decref(in);
    gw_free(name);
    return rc;
}

gw_err_t gw__embed_build(gw_prov_kind_t kind, const char *body, size_t len, const gw_chat_info_t *info,
                         const char *base_path, const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                         gw_prov_errmsg_t *msg)
{
    gw_err_t rc;
    switch (kind) {
    case GW_PROV_OPENAI:
        rc = gw__bearer(&out->headers, api_key, msg);
        if (rc == GW_OK)
            rc = gw__path_join(&out->path, base_path, "v1", "/embeddings");
        return rc == GW_OK ? gw__splice_model(body, len, info, upstream_model, &out->body) : rc;
    case GW_PROV_GEMINI: return gemini_build(body, len, base_path, upstream_model, api_key, out, msg);
    case GW_PROV_ANTHROPIC: break;
    }
    gw__errmsg(msg, "model", "provider '%s' has no embeddings API", gw_prov_kind_name(kind));
    return GW_EINVAL;
}

/* ---- answers ---- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* 1 if p[0..n) is a JSON number (RFC 8259 grammar). */
static int json_number(const char *p, size_t n)
{
    size_t i = 0, s;
    i += i < n && p[i] == '-';
    if (i < n && p[i] == '0')
        i++;
    else if (i < n && p[i] >= '1' && p[i] <= '9')
        while (i < n && is_digit(p[i]))
            i++;
    else
        return 0;
    if (i < n && p[i] == '.') {
        for (s = ++i; i < n && is_digit(p[i]); i++) {
        }
        if (i == s)
            return 0;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        i += i < n && (p[i] == '+' || p[i] == '-');
        for (s = i; i < n && is_digit(p[i]); i++) {
        }
        if (i == s)
            return 0;
    }
    return i == n;
}

/* The value of number token t (NaN-free: JSON has none). */
static gw_err_t num_value(const gw__jdoc_t *d, int t, double *v)
{
    size_t n = (size_t)(d->tok[t].end - d->tok[t].start);
    char tmp[64];
    char *s = n < sizeof tmp ? tmp : gw_strndup(d->js + d->tok[t].start, n);
    if (s == NULL)
        return GW_ENOMEM;
    if (s == tmp) {
        memcpy(tmp, d->js + d->tok[t].start, n);
        tmp[n] = '\0';
    }
    *v = strtod(s, NULL);
    if (s != tmp)
        gw_free(s);
    return GW_OK;
}

/* 1 if number token t is finite as a double: only an exponent or a very
 * long number can overflow (1e999 would reach clients as Infinity). */
static int num_finite(const gw__jdoc_t *d, int t)
{
    const char *p = d->js + d->tok[t].start;
    size_t n = (size_t)(d->tok[t].end - d->tok[t].start);
    double v;
    if (n < 300 && memchr(p, 'e', n) == NULL && memchr(p, 'E', n) == NULL)
        return 1;
    return num_value(d, t, &v) == GW_OK && isfinite(v);
}

/* Appends the 4 little-endian bytes of the float32 nearest to number t;
 * GW_EUPSTREAM when it is outside float32's range. */
static gw_err_t put_f32(const gw__jdoc_t *d, int t, gw_buf_t *bytes)
{
    double v;
    gw_err_t rc = num_value(d, t, &v);
    if (rc != GW_OK)
        return rc;
    float f = (float)v;
    if (!isfinite(f))
        return GW_EUPSTREAM;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                           (unsigned char)(u >> 24)};
    return gw_buf_add(bytes, le, 4);
}

/* Appends standard base64 (with '=' padding) of p[0..n). */
static gw_err_t put_base64(gw_buf_t *out, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    gw_err_t rc = gw_buf_reserve(out, (n + 2) / 3 * 4);
    for (size_t i = 0; rc == GW_OK && i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        rc = gw_buf_add(out, q, 4);
    }
    return rc;
}

/* Appends array token arr of numbers as JSON: [n,...] with the upstream's
 * number bytes, or a base64 string. GW_EUPSTREAM if it is not that. */
static gw_err_t put_vector(const gw__jdoc_t *d, int arr, int b64, gw_buf_t *out)
{
    if (d->tok[arr].type != JSMN_ARRAY)
        return GW_EUPSTREAM;
    gw_buf_t bytes;
    gw_buf_init(&bytes, (size_t)d->tok[arr].size * 4 + 1);
    gw_err_t rc = gw_buf_add(out, b64 ? "\"" : "[", 1);
    int t = arr + 1;
    for (int i = 0; rc == GW_OK && i < d->tok[arr].size; i++, t++) {
        if (t >= d->n || d->tok[t].type != JSMN_PRIMITIVE) {
            rc = GW_EUPSTREAM; /* tokens after a non-number are not items */
            break;
        }
        const char *p = d->js + d->tok[t].start;
        size_t n = (size_t)(d->tok[t].end - d->tok[t].start);
        if (!json_number(p, n))
            rc = GW_EUPSTREAM;
        else if (b64)
            rc = put_f32(d, t, &bytes);
        else if (!num_finite(d, t))
            rc = GW_EUPSTREAM;
        else if ((rc = gw_buf_add(out, ",", i > 0)) == GW_OK)
            rc = gw_buf_add(out, p, n);
    }
    if (rc == GW_OK && b64)
        rc = put_base64(out, (const unsigned char *)bytes.ptr, bytes.len);
    if (rc == GW_OK)
        rc = gw_buf_add(out, b64 ? "\"" : "]", 1);
    gw_buf_free(&bytes);
    return rc;
}

/* What the client asked that shapes the answer: base64, and the number of
 * inputs (-1 without info). */
static void client_wants(const gw_chat_info_t *info, int *b64, int *ninputs)
{
    *b64 = 0;
    *ninputs = -1;
    if (info == NULL)
        return;
    gw__jdoc_t d;
    if (gw__jdoc_parse(&d, info->splice.body, info->splice.body_len) == GW_OK && d.tok[0].type == JSMN_OBJECT) {
        int fmt = gw__jget(&d, 0, "encoding_format");
        *b64 = fmt >= 0 && gw__jkeyeq(&d, fmt, "base64");
        int in = gw__jget(&d, 0, "input");
        if (in >= 0 && d.tok[in].type == JSMN_ARRAY && d.tok[in].size > 0)
            *ninputs = d.tok[in + 1].type != JSMN_PRIMITIVE ? d.tok[in].size : 1;
        else if (in >= 0)
            *ninputs = 1;
    }
    gw__jdoc_free(&d);
}

static gw_err_t gemini_answer(const gw__jdoc_t *d, int b64, int ninputs, const char *model, gw_buf_t *out)
{
    int emb = gw__jget(d, 0, "embeddings");
    if (emb < 0 || d->tok[emb].type != JSMN_ARRAY || (ninputs >= 0 && d->tok[emb].size != ninputs))
        return GW_EUPSTREAM;
    gw_err_t rc = gw_buf_adds(out, "{\"object\":\"list\",\"data\":[");
    int e = emb + 1;
    for (int i = 0; rc == GW_OK && i < d->tok[emb].size; i++, e = gw__jnext(d, e)) {
        int values = gw__jget(d, e, "values");
        if (values < 0)
            return GW_EUPSTREAM;
        rc = gw_buf_printf(out, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i > 0 ? "," : "", i);
        if (rc == GW_OK)
            rc = put_vector(d, values, b64, out);
        if (rc == GW_OK)
            rc = gw_buf_add(out, "}", 1);
    }
    if (rc == GW_OK)
        rc = gw_buf_adds(out, "],\"model\":\"");
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(out, model, strlen(model));
    return rc == GW_OK ? gw_buf_adds(out, "\",\"usage\":{\"prompt_tokens\":0,\"total_tokens\":0}}") : rc;
}

/* The openai answer as it is, or with each float array turned into base64
 * when the client asked base64 and the upstream sent floats anyway. */
static gw_err_t openai_answer(const gw__jdoc_t *d, const char *body, size_t len, int b64, gw_buf_t *out,
                              gw_usage_t *usage)
{
    int data = gw__jget(d, 0, "data");
    if (data < 0 || d->tok[data].type != JSMN_ARRAY)
        return GW_EUPSTREAM;
    int64_t v;
    int pt = gw__jget(d, gw__jget(d, 0, "usage"), "prompt_tokens");
    if (pt >= 0 && gw__jint(d, pt, &v) == GW_OK)
        usage->prompt_tokens = gw__tokens(v);
    size_t pos = 0;
    gw_err_t rc = GW_OK;
    int e = data + 1;
    for (int i = 0; rc == GW_OK && i < d->tok[data].size; i++, e = gw__jnext(d, e)) {
        if (d->tok[e].type != JSMN_OBJECT)
            return GW_EUPSTREAM;
        int vec = gw__jget(d, e, "embedding");
        if (!b64 || vec < 0 || d->tok[vec].type != JSMN_ARRAY)
            continue;
        rc = gw_buf_add(out, body + pos, (size_t)d->tok[vec].start - pos);
        if (rc == GW_OK)
            rc = put_vector(d, vec, 1, out);
        pos = (size_t)d->tok[vec].end;
    }
    return rc == GW_OK ? gw_buf_add(out, body + pos, len - pos) : rc;
}

gw_err_t gw__embed_response(gw_prov_kind_t kind, const gw_chat_info_t *info, const char *body, size_t len,
                            const char *upstream_model, gw_buf_t *out, gw_usage_t *usage)
{
    int b64, ninputs;
    client_wants(info, &b64, &ninputs);
    gw__jdoc_t d;
    gw_err_t rc = gw__jdoc_parse(&d, body, len);
    if (rc == GW_OK && d.tok[0].type != JSMN_OBJECT)
        rc = GW_EUPSTREAM;
    if (rc == GW_EINVAL)
        rc = GW_EUPSTREAM;
    if (rc == GW_OK) {
        if (kind == GW_PROV_OPENAI)
            rc = openai_answer(&d, body, len, b64, out, usage);
        else if (kind == GW_PROV_GEMINI)
            rc = gemini_answer(&d, b64, ninputs, upstream_model, out);
        else
            rc = GW_EUPSTREAM;
    }
    gw__jdoc_free(&d);
    return rc;
}

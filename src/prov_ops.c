/* prov_ops.c - the dispatchers for operations other than chat (provider.h
 * gw_op_inspect / gw_prov_build / gw_prov_translate, prov_ops.h
 * gw_prov_translate_req) and what the embeddings and rerank adapters
 * share: the first jsmn pass over a request, duplicate-key checks, the
 * model splice for openai upstreams, the Bearer header, Gemini model paths.
 */
#include <string.h>

#include "prov_internal.h"
#include "prov_ops.h"

#define BAD_JSON "We could not parse the JSON body of your request. (HINT: it must be one valid JSON object.)"

/* ---- shared helpers ---- */

gw_err_t gw__op_parse(gw__jdoc_t *d, const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    memset(info, 0, sizeof *info);
    info->max_tokens = -1;
    gw_err_t rc = gw__jdoc_parse(d, body, len);
    if (rc == GW_ENOMEM)
        return rc;
    if (rc != GW_OK) {
        gw__errmsg(msg, "", BAD_JSON);
        return GW_EINVAL;
    }
    if (d->tok[0].type != JSMN_OBJECT) {
        gw__errmsg(msg, "", "The request body must be a JSON object.");
        return GW_EINVAL;
    }
    return GW_OK;
}

gw_err_t gw__op_keys(const gw__jdoc_t *d, const char *const *keys, const int *slot, int nkeys, int *val,
                     gw_prov_errmsg_t *msg)
{
    for (int k = 0; k < nkeys; k++)
        val[k] = -1;
    int t = 1;
    for (int m = 0; m < d->tok[0].size; m++) {
        if (t + 1 >= d->n || d->tok[t].type != JSMN_STRING || d->tok[t].size != 1) {
            gw__errmsg(msg, "", BAD_JSON);
            return GW_EINVAL;
        }
        for (int k = 0; k < nkeys; k++) {
            if (!gw__jkeyeq(d, t, keys[k]))
                continue;
            int s = slot != NULL ? slot[k] : k;
            if (val[s] >= 0) {
                gw__errmsg(msg, keys[s], "Duplicate key '%s' in the request body.", keys[k]);
                return GW_EINVAL;
            }
            val[s] = t + 1;
        }
        t = gw__jnext(d, t + 1);
    }
    return GW_OK;
}

gw_err_t gw__op_model(const gw__jdoc_t *d, int v, const char *body, size_t len, gw_chat_info_t *info,
                      gw_prov_errmsg_t *msg)
{
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
    info->splice.body = body;
    info->splice.body_len = len;
    info->splice.model_at = (size_t)d->tok[v].start - 1;
    info->splice.model_end = (size_t)d->tok[v].end + 1;
    info->splice.obj_end = (size_t)d->tok[0].end - 1;
    return GW_OK;
}

int gw__jbool(const gw__jdoc_t *d, int v)
{
    if (v < 0)
        return 0;
    if (gw__jlit(d, v, "true"))
        return 1;
    return gw__jlit(d, v, "false") || gw__jlit(d, v, "null") ? 0 : -1;
}

gw_err_t gw__splice_model(const char *body, size_t len, const gw_chat_info_t *info, const char *model,
                          gw_buf_t *out)
{
    size_t at = info->splice.model_at, end = info->splice.model_end;
    if (at >= end || end > len)
        return GW_EINVAL;
    gw_err_t rc = gw_buf_reserve(out, len + 8 + 6 * strlen(model));
    if (rc == GW_OK)
        rc = gw_buf_add(out, body, at);
    if (rc == GW_OK)
        rc = gw_buf_add(out, "\"", 1);
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(out, model, strlen(model));
    if (rc == GW_OK)
        rc = gw_buf_add(out, "\"", 1);
    return rc == GW_OK ? gw_buf_add(out, body + end, len - end) : rc;
}

gw_err_t gw__bearer(gw_buf_t *headers, const char *api_key, gw_prov_errmsg_t *msg)
{
    if (api_key == NULL || api_key[0] == '\0')
        return GW_OK;
    if (strpbrk(api_key, "\r\n") != NULL) {
        gw__errmsg(msg, "", "The provider's API key holds a line break.");
        return GW_EINVAL;
    }
    return gw_buf_printf(headers, "Authorization: Bearer %s\r\n", api_key);
}

gw_err_t gw__gemini_model_path(gw_buf_t *p, const char *base_path, const char *model, const char *suffix)
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
    return rc == GW_OK ? gw_buf_adds(p, suffix) : rc;
}

/* ---- dispatchers ---- */

gw_err_t gw_op_inspect(gw_op_t op, const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    switch (op) {
    case GW_OP_CHAT: return gw_chat_inspect(body, len, info, msg);
    case GW_OP_EMBEDDINGS: return gw__embed_inspect(body, len, info, msg);
    case GW_OP_RERANK: return gw__rerank_inspect(body, len, info, msg);
    }
    memset(info, 0, sizeof *info);
    info->max_tokens = -1;
    gw__errmsg(msg, "", "Unknown operation.");
    return GW_EINVAL;
}

gw_err_t gw_prov_build(gw_op_t op, gw_prov_kind_t kind, const char *body, size_t len, const gw_chat_info_t *info,
                       const char *base_path, const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                       gw_prov_errmsg_t *msg)
{
    if (op == GW_OP_CHAT)
        return gw_prov_build_chat(kind, body, len, info, base_path, upstream_model, api_key, out, msg);
    gw_chat_info_t local;
    if (info == NULL || info->splice.body != body || info->splice.body_len != len) {
        gw_err_t rc = gw_op_inspect(op, body, len, &local, msg);
        if (rc != GW_OK)
            return rc;
        info = &local;
    }
    if (upstream_model == NULL || upstream_model[0] == '\0') {
        gw__errmsg(msg, "model", "No upstream model name is configured.");
        return GW_EINVAL;
    }
    if (op == GW_OP_EMBEDDINGS)
        return gw__embed_build(kind, body, len, info, base_path, upstream_model, api_key, out, msg);
    if (op == GW_OP_RERANK)
        return gw__rerank_build(kind, body, len, info, base_path, upstream_model, api_key, out, msg);
    gw__errmsg(msg, "", "Unknown operation.");
    return GW_EINVAL;
}

gw_err_t gw_prov_translate_req(gw_op_t op, gw_prov_kind_t kind, const gw_chat_info_t *info, const char *body,
                               size_t len, const char *upstream_model, gw_buf_t *out, gw_usage_t *usage)
{
    if (op == GW_OP_CHAT)
        return gw_prov_translate_response(kind, body, len, upstream_model, out, usage);
    gw_usage_t dummy;
    if (usage == NULL)
        usage = &dummy;
    usage->prompt_tokens = -1;
    usage->completion_tokens = 0;
    if (info != NULL && info->splice.body == NULL)
        info = NULL;
    const char *model = upstream_model != NULL ? upstream_model : "";
    size_t mark = out->len;
    gw_err_t rc = GW_EINVAL;
    if (op == GW_OP_EMBEDDINGS)
        rc = gw__embed_response(kind, info, body, len, model, out, usage);
    else if (op == GW_OP_RERANK)
        rc = gw__rerank_response(kind, info, body, len, model, out, usage);
    if (rc != GW_OK) {
        if (out->ptr != NULL) {
            out->len = mark;
            out->ptr[mark] = '\0';
        }
        usage->prompt_tokens = -1;
    }
    return rc;
}

gw_err_t gw_prov_translate(gw_op_t op, gw_prov_kind_t kind, const char *body, size_t len,
                           const char *upstream_model, gw_buf_t *out, gw_usage_t *usage)
{
    return gw_prov_translate_req(op, kind, NULL, body, len, upstream_model, out, usage);
}

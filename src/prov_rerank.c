/* prov_rerank.c - rerank (wire-formats 4): checks the gateway's client
 * shape {model, query, documents (strings or {text}; alias texts), top_n
 * (alias top_k), return_documents}, sends it to an OpenAI-compatible
 * server's Cohere/Jina-shaped /v1/rerank (vLLM, LiteLLM, Jina ...) and
 * turns Cohere/Jina/vLLM "results", Voyage "data" or TEI's bare array into
 * {id, model, results:[{index, relevance_score, document?}], usage?, meta?}
 * sorted by descending score (4.7). Anthropic and Gemini have no rerank.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "prov_internal.h"

enum { R_MODEL, R_QUERY, R_DOCS, R_TOP_N, R_RETURN_DOCS, R_TEXTS, R_TOP_K, R_COUNT };
static const char *const rerank_keys[R_COUNT] = {"model",            "query", "documents", "top_n",
                                                 "return_documents", "texts", "top_k"};
/* texts is documents, top_k is top_n */
static const int rerank_slot[R_COUNT] = {R_MODEL, R_QUERY, R_DOCS, R_TOP_N, R_RETURN_DOCS, R_DOCS, R_TOP_N};

#define BAD_JSON "We could not parse the JSON body of your request. (HINT: it must be one valid JSON object.)"

/* ---- inspect ---- */

/* Bytes of text of document t (a string or {text}); -1 if it is neither. */
static long doc_chars(const gw__jdoc_t *d, int t)
{
    if (d->tok[t].type == JSMN_OBJECT)
        t = gw__jget(d, t, "text");
    if (t < 0 || d->tok[t].type != JSMN_STRING)
        return -1;
    return d->tok[t].end - d->tok[t].start;
}

static gw_err_t check_documents(const gw__jdoc_t *d, int v, size_t query_len, size_t *chars, gw_prov_errmsg_t *msg)
{
    if (v < 0) {
        gw__errmsg(msg, "documents", "'documents' is a required property");
        return GW_EINVAL;
    }
    if (d->tok[v].type != JSMN_ARRAY || d->tok[v].size == 0) {
        gw__errmsg(msg, "documents", "'documents' must be a non-empty array");
        return GW_EINVAL;
    }
    int t = v + 1;
    for (int i = 0; i < d->tok[v].size && t < d->n; i++, t = gw__jnext(d, t)) {
        long n = doc_chars(d, t);
        if (n < 0) {
            gw__errmsg(msg, "documents",
                       "Invalid type for 'documents[%d]': expected a string or an object with a string 'text'.", i);
            return GW_EINVAL;
        }
        *chars += (size_t)n + query_len; /* each document is scored with the query */
    }
    return GW_OK;
}

static gw_err_t check_fields(const gw__jdoc_t *d, const int *val, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    int q = val[R_QUERY];
    if (q < 0) {
        gw__errmsg(msg, "query", "'query' is a required property");
        return GW_EINVAL;
    }
    if (d->tok[q].type != JSMN_STRING || d->tok[q].end == d->tok[q].start) {
        gw__errmsg(msg, "query", "'query' must be a non-empty string");
        return GW_EINVAL;
    }
    gw_err_t rc = check_documents(d, val[R_DOCS], (size_t)(d->tok[q].end - d->tok[q].start), &info->prompt_chars, msg);
    if (rc != GW_OK)
        return rc;
    int64_t n;
    int v = val[R_TOP_N];
    if (v >= 0 && !gw__jlit(d, v, "null") && (gw__jint(d, v, &n) != GW_OK || n <= 0)) {
        gw__errmsg(msg, "top_n", "Invalid value for 'top_n': expected a positive integer.");
        return GW_EINVAL;
    }
    if (gw__jbool(d, val[R_RETURN_DOCS]) < 0) {
        gw__errmsg(msg, "return_documents", "Invalid type for 'return_documents': expected a boolean.");
        return GW_EINVAL;
    }
    return GW_OK;
}

gw_err_t gw__rerank_inspect(const char *body, size_t len, gw_chat_info_t *info, gw_prov_errmsg_t *msg)
{
    gw__jdoc_t d;
    int val[R_COUNT];
    gw_err_t rc = gw__op_parse(&d, body, len, info, msg);
    if (rc == GW_OK)
        rc = gw__op_keys(&d, rerank_keys, rerank_slot, R_COUNT, val, msg);
    if (rc == GW_OK)
        rc = gw__op_model(&d, val[R_MODEL], body, len, info, msg);
    if (rc == GW_OK)
        rc = check_fields(&d, val, info, msg);
    if (rc == GW_OK && gw__jbool(&d, val[R_RETURN_DOCS]) == 1) {
        /* the answer quotes the documents: they must be strings jansson reads */
        json_t *j = gw__json_load(body, len);
        if (j == NULL) {
            gw__errmsg(msg, "", BAD_JSON);
            rc = GW_EINVAL;
        }
        json_decref(j);
    }
    gw__jdoc_free(&d);
    return rc;
}

/* ---- build ---- */

/* 1 if the body uses an alias or a {text} document, which the Cohere
 * shape upstreams expect as top_n and plain strings. */
static int needs_rewrite(const char *body, size_t len)
{
    gw__jdoc_t d;
    int r = 0;
    if (gw__jdoc_parse(&d, body, len) == GW_OK) {
        int docs = gw__jget(&d, 0, "documents");
        r = gw__jget(&d, 0, "texts") >= 0 || gw__jget(&d, 0, "top_k") >= 0;
        int t = docs + 1;
        for (int i = 0; !r && docs >= 0 && i < d.tok[docs].size && t < d.n; i++, t = gw__jnext(&d, t))
            r = d.tok[t].type != JSMN_STRING;
    }
    gw__jdoc_free(&d);
    return r;
}

/* Moves in[from] to in[to] (to keeps its place if it exists). */
static int rename_key(json_t *in, const char *from, const char *to)
{
    json_t *v = json_object_get(in, from);
    if (v == NULL)
        return 0;
    json_incref(v);
    json_object_del(in, from);
    return json_object_set_new(in, to, v);
}

/* The client body with model set, aliases renamed and {text} documents
 * made strings; other members kept. */
static gw_err_t normalized(const char *body, size_t len, const char *model, gw_buf_t *out, gw_prov_errmsg_t *msg)
{
    json_t *in = gw__json_load(body, len), *docs = json_array();
    gw_err_t rc = GW_ENOMEM;
    if (in == NULL || !json_is_object(in)) {
        gw__errmsg(msg, "", "We could not parse the JSON body of your request.");
        rc = GW_EINVAL;
        goto out;
    }
    if (docs == NULL || rename_key(in, "texts", "documents") != 0 || rename_key(in, "top_k", "top_n") != 0 ||
        json_object_set_new(in, "model", json_string(model)) != 0)
        goto out;
    size_t i;
    json_t *doc;
    json_array_foreach(json_object_get(in, "documents"), i, doc) {
        json_t *text = json_is_object(doc) ? json_object_get(doc, "text") : doc;
        if (json_array_append(docs, text) != 0)
            goto out;
    }
    if (json_object_set(in, "documents", docs) != 0)
        goto out;
    rc = gw__json_append(out, in);
out:
    json_decref(in);
    json_decref(docs);
    return rc;
}

gw_err_t gw__rerank_build(gw_prov_kind_t kind, const char *body, size_t len, const gw_chat_info_t *info,
                          const char *base_path, const char *upstream_model, const char *api_key, gw_prov_req_t *out,
                          gw_prov_errmsg_t *msg)
{
    if (kind != GW_PROV_OPENAI) {
        gw__errmsg(msg, "model", "provider '%s' has no rerank API", gw_prov_kind_name(kind));
        return GW_EINVAL;
    }
    gw_err_t rc = gw__bearer(&out->headers, api_key, msg);
    if (rc == GW_OK)
        rc = gw__path_join(&out->path, base_path, "v1", "/rerank");
    if (rc != GW_OK)
        return rc;
    if (needs_rewrite(body, len))
        return normalized(body, len, upstream_model, &out->body, msg);
    return gw__splice_model(body, len, info, upstream_model, &out->body);
}

/* ---- answers ---- */

typedef struct {
    int64_t index;
    double score;
    json_t *score_v; /* borrowed from the upstream answer */
    json_t *text;    /* document text the upstream echoed, borrowed; NULL if none */
} hit_t;

/* What the client asked that shapes the answer. */
typedef struct {
    int64_t top_n;   /* 0: all */
    int return_docs; /* 1 true, 0 false, -1 unknown (no info) */
    int64_t ndocs;   /* -1 unknown */
    json_t *client;  /* the client body, loaded when its documents are quoted */
    json_t *docs;    /* borrowed from client */
} wants_t;

static void client_wants(const gw_chat_info_t *info, wants_t *w)
{
    memset(w, 0, sizeof *w);
    w->return_docs = -1;
    w->ndocs = -1;
    if (info == NULL)
        return;
    gw__jdoc_t d;
    if (gw__jdoc_parse(&d, info->splice.body, info->splice.body_len) == GW_OK && d.tok[0].type == JSMN_OBJECT) {
        int docs = gw__jget(&d, 0, "documents"), top = gw__jget(&d, 0, "top_n");
        docs = docs >= 0 ? docs : gw__jget(&d, 0, "texts");
        top = top >= 0 ? top : gw__jget(&d, 0, "top_k");
        if (top >= 0 && gw__jint(&d, top, &w->top_n) != GW_OK)
            w->top_n = 0;
        w->return_docs = gw__jbool(&d, gw__jget(&d, 0, "return_documents")) == 1;
        if (docs >= 0 && d.tok[docs].type == JSMN_ARRAY)
            w->ndocs = d.tok[docs].size;
    }
    gw__jdoc_free(&d);
    if (w->return_docs == 1 && (w->client = gw__json_load(info->splice.body, info->splice.body_len)) != NULL) {
        w->docs = json_object_get(w->client, "documents");
        if (w->docs == NULL)
            w->docs = json_object_get(w->client, "texts");
    }
}

/* The text of a document: a string, or an object's "text"; NULL if none. */
static json_t *doc_text(json_t *doc)
{
    json_t *t = json_is_object(doc) ? json_object_get(doc, "text") : doc;
    return json_is_string(t) ? t : NULL;
}

static gw_err_t read_hit(json_t *item, int64_t ndocs, hit_t *h)
{
    json_t *idx = json_object_get(item, "index"), *s = json_object_get(item, "relevance_score");
    if (s == NULL)
        s = json_object_get(item, "score"); /* TEI */
    if (!json_is_integer(idx) || json_integer_value(idx) < 0 || !json_is_number(s))
        return GW_EUPSTREAM;
    h->index = (int64_t)json_integer_value(idx);
    if (ndocs >= 0 && h->index >= ndocs)
        return GW_EUPSTREAM;
    h->score = json_number_value(s);
    h->score_v = s;
    h->text = doc_text(json_object_get(item, "document"));
    if (h->text == NULL)
        h->text = doc_text(json_object_get(item, "text")); /* TEI return_text */
    return GW_OK;
}

static int hit_cmp(const void *a, const void *b)
{
    const hit_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* The upstream's results: "results" (Cohere, Jina, vLLM), "data" (Voyage)
 * or the answer itself (TEI); NULL if none is an array. */
static json_t *results_of(json_t *j)
{
    if (json_is_array(j))
        return j;
    json_t *r = json_object_get(j, "results");
    return json_is_array(r) ? r : json_is_array(json_object_get(j, "data")) ? json_object_get(j, "data") : NULL;
}

/* Tokens the upstream reports: usage.prompt_tokens (vLLM), usage.total_tokens
 * (Jina, Voyage), meta.tokens.input_tokens (Cohere), meta.billed_units.total_tokens
 * (LiteLLM); -1 if none. Cohere's search_units are not tokens. */
static int64_t upstream_tokens(const json_t *j)
{
    const json_t *u = json_object_get(j, "usage"), *meta = json_object_get(j, "meta");
    const json_t *c[] = {json_object_get(u, "prompt_tokens"), json_object_get(u, "total_tokens"),
                         json_object_get(json_object_get(meta, "tokens"), "input_tokens"),
                         json_object_get(json_object_get(meta, "billed_units"), "total_tokens")};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
        if (json_is_integer(c[k]))
            return gw__tokens((int64_t)json_integer_value(c[k]));
    return -1;
}

/* One client result for hit h. */
static json_t *result_json(const hit_t *h, const wants_t *w)
{
    json_t *r = json_pack("{sIsO}", "index", (json_int_t)h->index, "relevance_score", h->score_v);
    json_t *text = NULL;
    if (w->return_docs == 1 && w->docs != NULL)
        text = doc_text(json_array_get(w->docs, (size_t)h->index));
    else if (w->return_docs != 0)
        text = h->text;
    if (r != NULL && text != NULL && json_object_set_new(r, "document", json_pack("{sO}", "text", text)) != 0) {
        json_decref(r);
        r = NULL;
    }
    return r;
}

/* {id, model, results, usage?, meta?} around the sorted hits. */
static json_t *answer_json(json_t *up, const hit_t *hits, size_t n, const wants_t *w, const char *model,
                           int64_t tokens)
{
    char id[40] = "rerank-";
    const char *uid = json_string_value(json_object_get(up, "id"));
    const char *umodel = json_string_value(json_object_get(up, "model"));
    if (uid == NULL)
        gw__rand_hex(id + 7, 12);
    json_t *results = json_array();
    json_t *o = json_pack("{ssss}", "id", uid != NULL ? uid : id, "model", umodel != NULL ? umodel : model);
    int bad = o == NULL || results == NULL || json_object_set(o, "results", results) != 0;
    size_t keep = w->top_n > 0 && (uint64_t)w->top_n < n ? (size_t)w->top_n : n;
    for (size_t k = 0; !bad && k < keep; k++)
        bad = json_array_append_new(results, result_json(&hits[k], w)) != 0;
    if (!bad && tokens >= 0)
        bad = json_object_set_new(o, "usage", json_pack("{sIsI}", "prompt_tokens", (json_int_t)tokens,
                                                        "total_tokens", (json_int_t)tokens)) != 0;
    json_t *meta = json_object_get(up, "meta");
    if (!bad && json_is_object(meta))
        bad = json_object_set(o, "meta", meta) != 0;
    json_decref(results);
    if (bad) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

gw_err_t gw__rerank_response(gw_prov_kind_t kind, const gw_chat_info_t *info, const char *body, size_t len,
                             const char *upstream_model, gw_buf_t *out, gw_usage_t *usage)
{
    wants_t w;
    json_t *up = kind == GW_PROV_OPENAI ? gw__json_load(body, len) : NULL, *res = NULL;
    json_t *arr = results_of(up);
    hit_t *hits = NULL;
    gw_err_t rc = GW_EUPSTREAM;
    client_wants(info, &w);
    if (arr == NULL)
        goto out;
    size_t n = json_array_size(arr);
    rc = GW_ENOMEM;
    if ((hits = gw_calloc(n + 1, sizeof *hits)) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((rc = read_hit(json_array_get(arr, i), w.ndocs, &hits[i])) != GW_OK)
            goto out;
    qsort(hits, n, sizeof *hits, hit_cmp);
    int64_t tokens = upstream_tokens(up);
    rc = GW_ENOMEM;
    if ((res = answer_json(up, hits, n, &w, upstream_model, tokens)) == NULL)
        goto out;
    if ((rc = gw__json_append(out, res)) == GW_OK)
        usage->prompt_tokens = tokens;
out:
    gw_free(hits);
    json_decref(res);
    json_decref(up);
    json_decref(w.client);
    return rc;
}

/* engine_bigquery.c - the BigQuery engine (engine_bigquery.h): the query
 * flow (checks -> dry run against the byte budget -> jobs.query -> polling
 * getQueryResults -> paging with pageToken up to the row cap, jobs.cancel on
 * timeout), describe() from tables.get plus one DISTINCT query per STRING
 * column, and a small pool of libcurl easy handles so queries reuse
 * connections. The REST call itself is engine_bigquery_http.c; values are
 * engine_bigquery_cells.c.
 */
#include "engine_bigquery.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "alloc.h"
#include "catalog_schema.h"
#include "engine_bigquery_int.h"

#define DEFAULT_BASE_URL "https://bigquery.googleapis.com"
#define DEFAULT_MAX_BYTES 10000000000LL
#define DEFAULT_TIMEOUT_MS 60000u
#define DEFAULT_PAGE_ROWS 10000u
#define DEFAULT_MAX_RESPONSE ((size_t)32 << 20)
#define SERVER_WAIT_MAX_MS 10000.0 /* timeoutMs of one jobs.query / getQueryResults long poll */
#define CANCEL_TIMEOUT_MS 5000.0
#define RETRIES 2
#define SQL_MAX ((size_t)1 << 20) /* BigQuery's limit on a query text */
#define POOL_MAX 8

typedef struct bq {
    gw_engine_t base;
    char *base_url, *project, *dataset, *location, *token, *token_env;
    int64_t max_bytes;
    uint32_t timeout_ms, page_rows;
    size_t max_response;
    gw_engine_check_cb check;
    void *check_data;
    pthread_mutex_t mu; /* guards idle */
    CURL *idle[POOL_MAX];
    size_t n_idle;
} bq_t;

/* One operation (a query, or one tables.get) and its scratch. */
typedef struct run {
    bq_t *b;
    CURL *h;
    gw__bq_http_t hx;
    double deadline;
    uint32_t timeout_ms;
    gw_buf_t url, req;
    char job_id[1040];
    char location[64];
    gw__bq_fail_t fail;
} run_t;

/* ---- handles and runs ---- */

static CURL *handle_take(bq_t *b)
{
    CURL *h = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->n_idle > 0)
        h = b->idle[--b->n_idle];
    pthread_mutex_unlock(&b->mu);
    return h != NULL ? h : curl_easy_init();
}

static void handle_give(bq_t *b, CURL *h)
{
    if (h == NULL)
        return;
    curl_easy_reset(h);
    pthread_mutex_lock(&b->mu);
    if (b->n_idle < POOL_MAX) {
        b->idle[b->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&b->mu);
    if (h != NULL)
        curl_easy_cleanup(h);
}

static gw_err_t run_init(run_t *r, bq_t *b, uint32_t timeout_ms)
{
    memset(r, 0, sizeof *r);
    r->b = b;
    r->timeout_ms = timeout_ms;
    r->deadline = gw__bq_now_ms() + timeout_ms;
    gw_buf_init(&r->url, 16384);
    gw_buf_init(&r->req, SQL_MAX * 6 + 4096); /* the SQL, JSON-escaped, plus the fields */
    if ((r->h = handle_take(b)) == NULL)
        return GW_ENOMEM;
    return gw__bq_http_init(&r->hx, r->h, b->token, b->token_env, b->timeout_ms, b->max_response);
}

static void run_free(run_t *r)
{
    gw__bq_http_free(&r->hx);
    handle_give(r->b, r->h);
    r->h = NULL;
    gw_buf_free(&r->url);
    gw_buf_free(&r->req);
}

static gw_err_t fail_msg(gw_query_info_t *info, gw_err_t rc, int code, const char *msg)
{
    info->engine_code = code;
    snprintf(info->message, sizeof info->message, "%s", msg);
    return rc;
}

static gw_err_t failed(gw_query_info_t *info, gw_err_t rc, const gw__bq_fail_t *f)
{
    return fail_msg(info, rc, (int)f->status, f->message[0] ? f->message : gw_strerror(rc));
}

static gw_err_t call(run_t *r, bool post, int retries, json_t **out)
{
    gw__bq_call_t c = {post, r->url.ptr, post ? r->req.ptr : NULL, post ? r->req.len : 0, r->deadline, retries};
    return gw__bq_request(&r->hx, &c, out, &r->fail);
}

/* ---- URLs and request bodies ---- */

/* r->url = <base>/bigquery/v2/projects/<project><tail> */
static gw_err_t url_project(run_t *r, const char *tail)
{
    gw_buf_reset(&r->url);
    gw_err_t rc = gw_buf_printf(&r->url, "%s/bigquery/v2/projects/", r->b->base_url);
    if (rc == GW_OK)
        rc = gw__bq_add_escaped(&r->url, r->b->project);
    return rc == GW_OK ? gw_buf_adds(&r->url, tail) : rc;
}

/* Appends "&name=<escaped value>" (or '?' first). */
static gw_err_t add_param(gw_buf_t *u, const char *name, const char *value)
{
    gw_err_t rc = gw_buf_printf(u, "%c%s=", strchr(u->ptr, '?') != NULL ? '&' : '?', name);
    return rc == GW_OK ? gw__bq_add_escaped(u, value) : rc;
}

/* The jobs.getQueryResults URL for the current job. */
static gw_err_t results_url(run_t *r, const char *page_token, uint32_t max_results, uint32_t wait_ms)
{
    char n[24];
    gw_err_t rc = url_project(r, "/queries/");
    if (rc == GW_OK)
        rc = gw__bq_add_escaped(&r->url, r->job_id);
    snprintf(n, sizeof n, "%" PRIu32, max_results);
    if (rc == GW_OK)
        rc = add_param(&r->url, "maxResults", n);
    snprintf(n, sizeof n, "%" PRIu32, wait_ms);
    if (rc == GW_OK)
        rc = add_param(&r->url, "timeoutMs", n);
    if (rc == GW_OK && r->location[0] != '\0')
        rc = add_param(&r->url, "location", r->location);
    if (rc == GW_OK && page_token != NULL)
        rc = add_param(&r->url, "pageToken", page_token);
    return rc;
}

/* How long BigQuery may hold one long poll: what is left of the deadline
 * (and of one call's timeout) minus a margin for the answer to travel, at
 * most 10 s. */
static uint32_t server_wait(const run_t *r)
{
    double left = r->deadline - gw__bq_now_ms();
    if (left > (double)r->b->timeout_ms)
        left = (double)r->b->timeout_ms;
    double margin = left / 4 < 2000 ? left / 4 : 2000;
    double w = left - margin;
    return w <= 0 ? 0 : (uint32_t)(w < SERVER_WAIT_MAX_MS ? w : SERVER_WAIT_MAX_MS);
}

static void request_id(char *out, size_t cap)
{
    unsigned char u[16] = {0};
    if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u) { /* no entropy: time and stack address */
        uint64_t t = (uint64_t)(gw__bq_now_ms() * 1000), a = (uint64_t)(uintptr_t)out;
        memcpy(u, &t, sizeof t);
        memcpy(u + 8, &a, sizeof a);
    }
    u[6] = (unsigned char)((u[6] & 0x0F) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3F) | 0x80);
    snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
             u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static gw_err_t add_json_field(gw_buf_t *q, const char *key, const char *s, size_t n)
{
    gw_err_t rc = gw_buf_printf(q, ",\"%s\":\"", key);
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(q, s, n);
    return rc == GW_OK ? gw_buf_add(q, "\"", 1) : rc;
}

/* The QueryRequest of the dry run (dry) or of the real query. */
static gw_err_t query_body(run_t *r, const char *sql, size_t len, bool dry, uint32_t max_results)
{
    const bq_t *b = r->b;
    gw_buf_t *q = &r->req;
    char id[40];
    gw_buf_reset(q);
    gw_err_t rc = gw_buf_adds(q, "{\"useLegacySql\":false");
    if (rc == GW_OK)
        rc = add_json_field(q, "query", sql, len);
    if (rc == GW_OK)
        rc = gw_buf_adds(q, ",\"defaultDataset\":{\"datasetId\":\"");
    if (rc == GW_OK)
        rc = gw_buf_add_json_str(q, b->dataset, strlen(b->dataset));
    if (rc == GW_OK)
        rc = gw_buf_add(q, "\"", 1);
    if (rc == GW_OK)
        rc = add_json_field(q, "projectId", b->project, strlen(b->project));
    if (rc == GW_OK)
        rc = gw_buf_adds(q, "}");
    if (rc == GW_OK && b->location != NULL)
        rc = add_json_field(q, "location", b->location, strlen(b->location));
    if (rc == GW_OK && dry)
        rc = gw_buf_adds(q, ",\"dryRun\":true");
    request_id(id, sizeof id);
    /* jobTimeoutMs: BigQuery stops the job itself even if our cancel never arrives */
    double left = r->deadline - gw__bq_now_ms();
    if (rc == GW_OK && !dry)
        rc = gw_buf_printf(q,
                           ",\"maximumBytesBilled\":\"%" PRId64 "\",\"timeoutMs\":%" PRIu32 ",\"maxResults\":%" PRIu32
                           ",\"jobTimeoutMs\":\"%" PRIu64 "\"",
                           b->max_bytes, server_wait(r), max_results, (uint64_t)(left > 1 ? left : 1));
    if (rc == GW_OK && !dry)
        rc = add_json_field(q, "requestId", id, strlen(id));
    return rc == GW_OK ? gw_buf_adds(q, "}") : rc;
}

/* ---- the query flow ---- */

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    *v = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* "12.3 GB", "10 GB", "512 bytes" (decimal units, as BigQuery bills). */
static void human_bytes(char *s, size_t cap, uint64_t n)
{
    static const char *const units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
    double v = (double)n;
    unsigned u = 0;
    while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    if (u == 0) {
        snprintf(s, cap, "%" PRIu64 " bytes", n);
        return;
    }
    int len = snprintf(s, cap, "%.1f", v);
    if (len >= 2 && (size_t)len < cap && strcmp(s + len - 2, ".0") == 0)
        s[len - 2] = '\0';
    size_t at = strlen(s);
    snprintf(s + at, cap - at, " %s", units[u]);
}

static gw_err_t dry_run(run_t *r, const char *sql, size_t len, gw_query_info_t *info)
{
    json_t *resp = NULL;
    uint64_t bytes = 0;
    char a[32], m[32], msg[128];
    gw_err_t rc = query_body(r, sql, len, true, 0);
    if (rc == GW_OK)
        rc = url_project(r, "/queries");
    if (rc != GW_OK)
        return fail_msg(info, rc, 0, "the query is too long to send");
    if ((rc = call(r, true, RETRIES, &resp)) != GW_OK)
        return failed(info, rc, &r->fail);
    if (parse_u64(json_string_value(json_object_get(resp, "totalBytesProcessed")), &bytes) != 0) {
        rc = fail_msg(info, GW_EUPSTREAM, 200, "BigQuery's dry run gave no totalBytesProcessed");
    } else if (bytes > (uint64_t)r->b->max_bytes) {
        human_bytes(a, sizeof a, bytes);
        human_bytes(m, sizeof m, (uint64_t)r->b->max_bytes);
        snprintf(msg, sizeof msg, "query would scan %s, over max_bytes_billed %s", a, m);
        rc = fail_msg(info, GW_EDENIED, 0, msg);
    }
    json_decref(resp);
    return rc;
}

static void remember_job(run_t *r, const json_t *resp)
{
    const json_t *ref = json_object_get(resp, "jobReference");
    const char *id = json_string_value(json_object_get(ref, "jobId"));
    const char *loc = json_string_value(json_object_get(ref, "location"));
    if (id != NULL && strlen(id) < sizeof r->job_id)
        snprintf(r->job_id, sizeof r->job_id, "%s", id);
    if (loc != NULL && strlen(loc) < sizeof r->location)
        snprintf(r->location, sizeof r->location, "%s", loc);
    else if (r->b->location != NULL)
        snprintf(r->location, sizeof r->location, "%s", r->b->location);
}

/* The deadline passed: cancel the job when there is one; GW_ETIMEOUT. */
static gw_err_t timed_out(run_t *r, gw_query_info_t *info)
{
    json_t *resp = NULL;
    char msg[GW_ENGINE_MSG_MAX];
    int n = snprintf(msg, sizeof msg, "query timed out after %" PRIu32 " ms", r->timeout_ms);
    if (r->job_id[0] != '\0' && url_project(r, "/jobs/") == GW_OK && gw__bq_add_escaped(&r->url, r->job_id) == GW_OK &&
        gw_buf_adds(&r->url, "/cancel") == GW_OK &&
        (r->location[0] == '\0' || add_param(&r->url, "location", r->location) == GW_OK)) {
        gw__bq_call_t c = {true, r->url.ptr, NULL, 0, gw__bq_now_ms() + CANCEL_TIMEOUT_MS, 0};
        gw__bq_fail_t f;
        if (gw__bq_request(&r->hx, &c, &resp, &f) == GW_OK)
            snprintf(msg + n, sizeof msg - (size_t)n, "; BigQuery job %.200s: cancel requested", r->job_id);
        else
            snprintf(msg + n, sizeof msg - (size_t)n, "; cancelling BigQuery job %.200s failed: %.200s", r->job_id,
                     f.message);
        json_decref(resp);
    }
    return fail_msg(info, GW_ETIMEOUT, 0, msg);
}

static gw_err_t start_query(run_t *r, const char *sql, size_t len, uint32_t page, json_t **resp,
                            gw_query_info_t *info)
{
    gw_err_t rc = query_body(r, sql, len, false, page);
    if (rc == GW_OK)
        rc = url_project(r, "/queries");
    if (rc != GW_OK)
        return fail_msg(info, rc, 0, "the query is too long to send");
    rc = call(r, true, RETRIES, resp);
    if (rc == GW_ETIMEOUT && gw__bq_now_ms() >= r->deadline - 1)
        return timed_out(r, info);
    if (rc != GW_OK)
        return failed(info, rc, &r->fail);
    remember_job(r, *resp);
    return GW_OK;
}

/* Polls getQueryResults until jobComplete (its answer then holds the first
 * page), or cancels the job when the deadline passes. */
static gw_err_t wait_complete(run_t *r, uint32_t page, json_t **resp, gw_query_info_t *info)
{
    double backoff = 50;
    while (!json_is_true(json_object_get(*resp, "jobComplete"))) {
        if (r->job_id[0] == '\0')
            return fail_msg(info, GW_EUPSTREAM, 200, "BigQuery gave no jobReference for an incomplete query");
        if (gw__bq_now_ms() >= r->deadline)
            return timed_out(r, info);
        double t0 = gw__bq_now_ms();
        json_decref(*resp);
        *resp = NULL;
        gw_err_t rc = results_url(r, NULL, page, server_wait(r));
        if (rc == GW_OK)
            rc = call(r, false, RETRIES, resp);
        if (rc == GW_ETIMEOUT)
            return timed_out(r, info);
        if (rc != GW_OK)
            return failed(info, rc, &r->fail);
        double now = gw__bq_now_ms();
        if (!json_is_true(json_object_get(*resp, "jobComplete")) && now - t0 < 100) {
            gw__bq_sleep_ms(backoff < r->deadline - now ? backoff : r->deadline - now);
            backoff = backoff * 2 < 1000 ? backoff * 2 : 1000;
        }
    }
    return GW_OK;
}

typedef struct cols {
    gw__bq_col_t *bq;
    gw_column_t *cols;
    gw_cell_t *cells;
    char *scratch;
    size_t n;
} cols_t;

static void cols_free(cols_t *c)
{
    gw_free(c->bq);
    gw_free(c->cols);
    gw_free(c->cells);
    gw_free(c->scratch);
}

/* Reads the result schema and hands the columns to the sink. */
static gw_err_t send_columns(const json_t *resp, cols_t *c, const gw_row_sink_t *sink, gw_query_info_t *info)
{
    const json_t *fields = json_object_get(json_object_get(resp, "schema"), "fields");
    if (!json_is_array(fields))
        return fail_msg(info, GW_EUPSTREAM, 200, "BigQuery sent no result schema");
    c->n = json_array_size(fields);
    c->bq = gw_calloc(c->n + 1, sizeof *c->bq);
    c->cols = gw_calloc(c->n + 1, sizeof *c->cols);
    c->cells = gw_calloc(c->n + 1, sizeof *c->cells);
    c->scratch = gw_malloc((c->n + 1) * GW__BQ_SCRATCH);
    if (c->bq == NULL || c->cols == NULL || c->cells == NULL || c->scratch == NULL)
        return fail_msg(info, GW_ENOMEM, 0, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        const json_t *f = json_array_get(fields, i);
        gw_err_t rc = gw__bq_col_init(&c->bq[i], f, info->message, sizeof info->message);
        if (rc != GW_OK)
            return rc;
        c->cols[i].name = (char *)json_string_value(json_object_get(f, "name"));
        c->cols[i].type = c->bq[i].type;
    }
    gw_err_t rc = sink->columns_cb(sink->data, c->cols, c->n);
    if (rc != GW_OK && info->message[0] == '\0')
        snprintf(info->message, sizeof info->message, "the row sink refused the columns: %s", gw_strerror(rc));
    return rc;
}

/* Sends the rows of one page until the cap; *capped when rows were left. */
static gw_err_t send_rows(const json_t *resp, cols_t *c, const gw_query_opts_t *o, const gw_row_sink_t *sink,
                          gw_query_info_t *info, bool *capped)
{
    const json_t *rows = json_object_get(resp, "rows");
    size_t n = json_array_size(rows);
    for (size_t i = 0; i < n; i++) {
        if (o->max_rows != 0 && info->rows == o->max_rows) {
            *capped = true;
            return GW_OK;
        }
        const json_t *f = json_object_get(json_array_get(rows, i), "f");
        if (!json_is_array(f) || json_array_size(f) != c->n)
            return fail_msg(info, GW_EUPSTREAM, 200, "BigQuery sent a row that does not match its schema");
        for (size_t k = 0; k < c->n; k++) {
            const json_t *v = json_object_get(json_array_get(f, k), "v");
            gw_err_t rc = gw__bq_cell(&c->bq[k], v, c->scratch + k * GW__BQ_SCRATCH, &c->cells[k], info->message,
                                      sizeof info->message);
            if (rc != GW_OK)
                return rc;
        }
        gw_err_t rc = sink->row_cb(sink->data, c->cells, c->n);
        if (rc != GW_OK) {
            if (info->message[0] == '\0')
                snprintf(info->message, sizeof info->message, "the row sink stopped the query: %s", gw_strerror(rc));
            return rc;
        }
        info->rows++;
    }
    return GW_OK;
}

static uint64_t total_rows(const json_t *resp)
{
    uint64_t n = 0;
    return parse_u64(json_string_value(json_object_get(resp, "totalRows")), &n) == 0 ? n : 0;
}

/* Fetches the page after *resp (its pageToken), asking for at most want rows. */
static gw_err_t next_page(run_t *r, json_t **resp, uint32_t want, gw_query_info_t *info)
{
    char *tok = gw_strdup(json_string_value(json_object_get(*resp, "pageToken")));
    gw_err_t rc = tok != NULL ? results_url(r, tok, want, server_wait(r)) : GW_ENOMEM;
    gw_free(tok);
    json_decref(*resp);
    *resp = NULL;
    if (rc == GW_OK)
        rc = call(r, false, RETRIES, resp);
    if (rc == GW_ETIMEOUT)
        return timed_out(r, info);
    return rc == GW_OK ? GW_OK : failed(info, rc, &r->fail);
}

/* Columns, then rows page by page; stops fetching at the cap. */
static gw_err_t stream(run_t *r, json_t **resp, uint32_t page, const gw_query_opts_t *o, const gw_row_sink_t *sink,
                       gw_query_info_t *info)
{
    cols_t c = {0};
    gw_err_t rc = send_columns(*resp, &c, sink, info);
    while (rc == GW_OK) {
        bool capped = false;
        if ((rc = send_rows(*resp, &c, o, sink, info, &capped)) != GW_OK)
            break;
        const char *tok = json_string_value(json_object_get(*resp, "pageToken"));
        bool more = tok != NULL && tok[0] != '\0';
        if (capped || (o->max_rows != 0 && info->rows == o->max_rows)) {
            info->truncated = capped || more || total_rows(*resp) > info->rows;
            break;
        }
        if (!more)
            break;
        size_t left = o->max_rows != 0 ? o->max_rows - info->rows : page;
        rc = next_page(r, resp, (uint32_t)(left < page ? left : page), info);
    }
    cols_free(&c);
    return rc;
}

/* The text to run: the check hook's output (or the query), then the
 * built-in check. */
static gw_err_t sql_text(bq_t *b, gw_engine_check_cb check, const char *sql, size_t len, const gw_query_opts_t *o,
                         gw_buf_t *out, gw_query_info_t *info)
{
    gw_err_t rc;
    if (check != NULL) {
        rc = check(b->check_data, sql, len, o->max_rows ? (int64_t)o->max_rows + 1 : 0, out, info->message,
                   sizeof info->message);
        if (rc != GW_OK && info->message[0] == '\0')
            snprintf(info->message, sizeof info->message, "refused by the SQL guard");
        if (rc != GW_OK)
            return rc;
    } else if ((rc = gw_buf_add(out, sql, len)) != GW_OK) {
        return fail_msg(info, GW_EDENIED, 0, "the query is longer than BigQuery's 1 MB limit");
    }
    return gw__bq_check_sql(out, info->message, sizeof info->message);
}

static gw_err_t run_query(bq_t *b, gw_engine_check_cb check, const char *sql, size_t len, const gw_query_opts_t *o,
                          const gw_row_sink_t *sink, gw_query_info_t *info)
{
    double t0 = gw__bq_now_ms();
    run_t r;
    gw_buf_t text;
    json_t *resp = NULL;
    uint32_t page = o->max_rows != 0 && o->max_rows < b->page_rows ? (uint32_t)o->max_rows : b->page_rows;
    memset(&r, 0, sizeof r);
    gw_buf_init(&text, SQL_MAX);
    gw_err_t rc = sql_text(b, check, sql, len, o, &text, info);
    if (rc == GW_OK && (rc = run_init(&r, b, o->timeout_ms ? o->timeout_ms : b->timeout_ms)) != GW_OK)
        fail_msg(info, rc, 0, "out of memory");
    if (rc == GW_OK)
        rc = dry_run(&r, text.ptr, text.len, info);
    if (rc == GW_OK)
        rc = start_query(&r, text.ptr, text.len, page, &resp, info);
    if (rc == GW_OK)
        rc = wait_complete(&r, page, &resp, info);
    if (rc == GW_OK)
        rc = stream(&r, &resp, page, o, sink, info);
    json_decref(resp);
    if (r.b != NULL)
        run_free(&r);
    gw_buf_free(&text);
    info->ms = gw__bq_now_ms() - t0;
    return rc;
}

static gw_err_t bq_query(gw_engine_t *e, const char *sql, size_t len, const gw_query_opts_t *o,
                         const gw_row_sink_t *sink, gw_query_info_t *info)
{
    bq_t *b = (bq_t *)e;
    return run_query(b, b->check, sql, len, o, sink, info);
}

/* ---- describe ---- */

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist_t;

static void strlist_free(strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        gw_free(l->v[i]);
    gw_free(l->v);
    memset(l, 0, sizeof *l);
}

static gw_err_t values_columns(void *data, const gw_column_t *cols, size_t n)
{
    return GW_OK;
}

static gw_err_t values_row(void *data, const gw_cell_t *cells, size_t n)
{
    strlist_t *l = data;
    if (n < 1 || cells[0].kind != GW_CELL_TEXT)
        return GW_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **p = gw_realloc(l->v, cap * sizeof *p);
        if (p == NULL)
            return GW_ENOMEM;
        l->v = p;
        l->cap = cap;
    }
    if ((l->v[l->n] = gw_strndup(cells[0].v.text.ptr, cells[0].v.text.len)) == NULL)
        return GW_ENOMEM;
    l->n++;
    return GW_OK;
}

static int plain_ident(const char *s)
{
    if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* The distinct values of one STRING column, through the dry-run-checked
 * query path; a scan the budget refuses leaves the column high_cardinality. */
static gw_err_t describe_values(bq_t *b, const char *table, gw_schema_column_t *c, size_t max, char *err,
                                size_t errlen)
{
    strlist_t l = {0};
    gw_row_sink_t sink = {values_columns, values_row, &l};
    gw_query_opts_t o = {max + 1, 0};
    gw_query_info_t info;
    gw_buf_t sql;
    memset(&info, 0, sizeof info);
    gw_buf_init(&sql, 4096);
    gw_err_t rc = gw_buf_printf(&sql,
                                "SELECT DISTINCT `%s` AS v FROM `%s.%s.%s` WHERE `%s` IS NOT NULL ORDER BY v LIMIT %zu",
                                c->name, b->project, b->dataset, table, c->name, max + 1);
    if (rc == GW_OK)
        rc = run_query(b, NULL, sql.ptr, sql.len, &o, &sink, &info);
    if (rc == GW_EDENIED) { /* over the byte budget: values unknown */
        c->high_cardinality = true;
        rc = GW_OK;
    } else if (rc != GW_OK) {
        snprintf(err, errlen, "describe %s.%s: %s", table, c->name, info.message[0] ? info.message : gw_strerror(rc));
    } else if (l.n > max || info.truncated) {
        c->high_cardinality = true;
    } else {
        c->values = l.v;
        c->n_values = l.n;
        memset(&l, 0, sizeof l);
    }
    strlist_free(&l);
    gw_buf_free(&sql);
    return rc;
}

/* tables.get: the column names and types, and numRows. */
static gw_err_t get_table(bq_t *b, const char *table, json_t **out, char *err, size_t errlen)
{
    run_t r;
    gw_err_t rc = run_init(&r, b, b->timeout_ms);
    if (rc == GW_OK)
        rc = url_project(&r, "/datasets/");
    if (rc == GW_OK)
        rc = gw__bq_add_escaped(&r.url, b->dataset);
    if (rc == GW_OK)
        rc = gw_buf_adds(&r.url, "/tables/");
    if (rc == GW_OK)
        rc = gw__bq_add_escaped(&r.url, table);
    if (rc == GW_OK && (rc = call(&r, false, RETRIES, out)) != GW_OK)
        snprintf(err, errlen, "describe %s.%s: %s", b->dataset, table, r.fail.message);
    else if (rc != GW_OK)
        snprintf(err, errlen, "out of memory");
    run_free(&r);
    return rc;
}

static gw_err_t describe_table(bq_t *b, gw_schema_table_t *t, size_t max, char *err, size_t errlen)
{
    json_t *resp = NULL;
    gw_err_t rc = get_table(b, t->name, &resp, err, errlen);
    const json_t *fields = json_object_get(json_object_get(resp, "schema"), "fields");
    size_t n = json_array_size(fields);
    if (rc == GW_OK && (t->columns = gw_calloc(n + 1, sizeof *t->columns)) == NULL)
        rc = GW_ENOMEM;
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        const json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        char tn[40];
        gw_schema_column_t *c = &t->columns[t->n_columns];
        gw__bq_type_name(type != NULL ? type : "UNKNOWN", tn, sizeof tn);
        if ((c->name = gw_strdup(name != NULL ? name : "")) == NULL || (c->type = gw_strdup(tn)) == NULL) {
            gw_free(c->name);
            rc = GW_ENOMEM;
            break;
        }
        t->n_columns++;
        if (strcmp(tn, "STRING") == 0 && plain_ident(name))
            rc = describe_values(b, t->name, c, max, err, errlen);
    }
    if (rc == GW_OK && parse_u64(json_string_value(json_object_get(resp, "numRows")), &t->row_count) != 0)
        t->row_count = 0;
    if (rc == GW_ENOMEM)
        snprintf(err, errlen, "out of memory");
    json_decref(resp);
    return rc;
}

static gw_err_t bq_describe(gw_engine_t *e, size_t max, gw_schema_t **out, char *err, size_t errlen)
{
    bq_t *b = (bq_t *)e;
    gw_err_t rc = GW_ENOMEM;
    gw_schema_t *s = gw_calloc(1, sizeof *s);
    if (s == NULL || (s->engine = gw_strdup("bigquery")) == NULL ||
        (s->tables = gw_calloc(gw_catalog_n_tables, sizeof *s->tables)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = GW_OK;
    for (size_t i = 0; rc == GW_OK && i < gw_catalog_n_tables; i++) {
        gw_schema_table_t *t = &s->tables[s->n_tables];
        if ((t->name = gw_strdup(gw_catalog_tables[i].name)) == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = GW_ENOMEM;
            break;
        }
        s->n_tables++;
        rc = describe_table(b, t, max, err, errlen);
    }
    if (rc == GW_OK) {
        *out = s;
        s = NULL;
    }
out:
    gw_schema_free(s);
    return rc;
}

/* ---- open / close ---- */

static void bq_close(gw_engine_t *e)
{
    bq_t *b = (bq_t *)e;
    for (size_t i = 0; i < b->n_idle; i++)
        curl_easy_cleanup(b->idle[i]);
    pthread_mutex_destroy(&b->mu);
    if (b->token != NULL)
        memset(b->token, 0, strlen(b->token));
    gw_free(b->base_url);
    gw_free(b->project);
    gw_free(b->dataset);
    gw_free(b->location);
    gw_free(b->token);
    gw_free(b->token_env);
    gw_free(b);
    curl_global_cleanup();
}

static const gw_engine_ops_t bq_ops = {"bigquery", bq_describe, bq_query, bq_close};

/* 1 when s is non-empty, at most max bytes, and only has bytes from allowed. */
static int only_chars(const char *s, const char *allowed, size_t max)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')) &&
            strchr(allowed, *s) == NULL)
            return 0;
    return 1;
}

static gw_err_t check_opts(const gw_bigquery_opts_t *o, const char *base, const char *dataset, char *err,
                           size_t errlen)
{
    if (!only_chars(o->project, "-_.:", 128)) {
        snprintf(err, errlen, "bigquery: project must be a BigQuery project id (letters, digits, - _ . :)");
        return GW_ECONFIG;
    }
    if (!only_chars(dataset, "_", 1024)) {
        snprintf(err, errlen, "bigquery: dataset must be letters, digits and _");
        return GW_ECONFIG;
    }
    if (o->location != NULL && !only_chars(o->location, "-", 63)) {
        snprintf(err, errlen, "bigquery: location must be a BigQuery location such as US or europe-west1");
        return GW_ECONFIG;
    }
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
        snprintf(err, errlen, "bigquery: base_url must start with http:// or https://");
        return GW_ECONFIG;
    }
    if (o->max_bytes_billed < 0) {
        snprintf(err, errlen, "bigquery: max_bytes_billed must not be negative");
        return GW_ECONFIG;
    }
    return GW_OK;
}

/* The OAuth token from the environment; *env_used names the variable. */
static const char *token_of(const gw_bigquery_opts_t *o, const char **env_used, char *err, size_t errlen)
{
    const char *env = o->token_env != NULL ? o->token_env : "BIGQUERY_TOKEN";
    const char *t = getenv(env);
    if ((t == NULL || *t == '\0') && o->token_env == NULL && (t = getenv("GOOGLE_OAUTH_ACCESS_TOKEN")) != NULL &&
        *t != '\0')
        env = "GOOGLE_OAUTH_ACCESS_TOKEN";
    *env_used = env;
    if (t == NULL || *t == '\0') {
        snprintf(err, errlen, "bigquery: no OAuth access token: set $%s%s", env,
                 o->token_env == NULL ? " (or $GOOGLE_OAUTH_ACCESS_TOKEN)" : "");
        return NULL;
    }
    if (strpbrk(t, "\r\n") != NULL) {
        snprintf(err, errlen, "bigquery: the token in $%s contains a line break", env);
        return NULL;
    }
    return t;
}

gw_err_t gw_engine_bigquery_open(const gw_bigquery_opts_t *o, gw_engine_t **out, char *err, size_t errlen)
{
    const char *base = o->base_url != NULL ? o->base_url : DEFAULT_BASE_URL;
    const char *dataset = o->dataset != NULL ? o->dataset : GW_CATALOG_DATASET;
    const char *env = NULL, *token;
    size_t blen = strlen(base);
    *out = NULL;
    gw_err_t rc = check_opts(o, base, dataset, err, errlen);
    if (rc != GW_OK)
        return rc;
    if ((token = token_of(o, &env, err, errlen)) == NULL)
        return GW_ECONFIG;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "bigquery: libcurl failed to initialise");
        return GW_EIO;
    }
    bq_t *b = gw_calloc(1, sizeof *b);
    if (b == NULL) {
        curl_global_cleanup();
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->base.ops = &bq_ops;
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    b->base_url = gw_strndup(base, blen);
    b->project = gw_strdup(o->project);
    b->dataset = gw_strdup(dataset);
    b->location = o->location != NULL ? gw_strdup(o->location) : NULL;
    b->token = gw_strdup(token);
    b->token_env = gw_strdup(env);
    b->max_bytes = o->max_bytes_billed ? o->max_bytes_billed : DEFAULT_MAX_BYTES;
    b->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    b->page_rows = o->page_rows ? o->page_rows : DEFAULT_PAGE_ROWS;
    b->max_response = o->max_response_bytes ? o->max_response_bytes : DEFAULT_MAX_RESPONSE;
    b->check = o->check;
    b->check_data = o->check_data;
    if (b->base_url == NULL || b->project == NULL || b->dataset == NULL || b->token == NULL || b->token_env == NULL ||
        (o->location != NULL && b->location == NULL)) {
        bq_close(&b->base);
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    *out = &b->base;
    return GW_OK;
}

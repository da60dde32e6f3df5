/* engine_bigquery.h - the BigQuery engine: the engine.h vtable over the
 * BigQuery v2 REST API (jobs.query, jobs.getQueryResults, jobs.cancel,
 * tables.get), with a dry run and a byte budget in front of every query.
 *
 * A query is: check hook (the SQL guard) and a lexical one-SELECT check ->
 * dry run (refused with GW_EDENIED when it would scan more than
 * max_bytes_billed) -> jobs.query with maximumBytesBilled and jobTimeoutMs -> polling
 * getQueryResults while jobComplete is false (jobs.cancel when the deadline
 * passes) -> pages fetched with pageToken only until the row cap. Blocking
 * libcurl calls: run queries on a worker thread, never on an event loop.
 */
#ifndef GW_ENGINE_BIGQUERY_H
#define GW_ENGINE_BIGQUERY_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef struct gw_bigquery_opts {
    const char *base_url;       /* NULL: https://bigquery.googleapis.com (tests: the fake) */
    const char *project;        /* required: the project jobs run (and are billed) in */
    const char *dataset;        /* NULL: "retail"; the defaultDataset of every query */
    int64_t max_bytes_billed;   /* byte budget per query; 0: 10000000000 (10 GB) */
    const char *location;       /* NULL: none (BigQuery picks the dataset's location) */
    const char *token_env;      /* environment variable holding the OAuth access token;
                                   NULL: BIGQUERY_TOKEN, then GOOGLE_OAUTH_ACCESS_TOKEN */
    uint32_t timeout_ms;        /* bound on each HTTP call, and the deadline of a query
                                   whose gw_query_opts_t gives none; 0: 60000 */
    uint32_t page_rows;         /* maxResults: rows per page; 0: 10000 */
    size_t max_response_bytes;  /* bound on one response body; 0: 32 MiB */
    gw_engine_check_cb check;   /* NULL: only the built-in one-SELECT check */
    void *check_data;
} gw_bigquery_opts_t;

/* Opens the engine. Reads the OAuth bearer token from the environment once,
 * here (it is never logged nor put in a message). Nothing is sent to
 * BigQuery until the first query or describe. Returns GW_OK and *out (close
 * it with gw_engine_close); GW_ECONFIG with a sentence in err for a missing
 * project or token, a bad base_url, project or dataset; GW_ENOMEM.
 *
 * On the engine's queries, gw_query_info_t.engine_code is the HTTP status of
 * the BigQuery call that failed (400, 401, 403, 404, 5xx), or 0. Errors:
 * GW_EDENIED for the budget (dry run over max_bytes_billed, or BigQuery's own
 * bytesBilledLimitExceeded) and for SQL that is not one SELECT; GW_EUPSTREAM
 * for BigQuery errors (invalidQuery, auth, 5xx after two retries) with
 * BigQuery's message; GW_ETIMEOUT when the deadline passed (a running job is
 * cancelled); GW_ETOOBIG when a response exceeds max_response_bytes;
 * GW_EUNSUPPORTED for a REPEATED or RECORD result column.
 *
 * describe() reads the four catalog tables (catalog_schema.h) with
 * tables.get and, for each STRING column, its distinct values with one
 * dry-run-checked query; a column whose scan the budget refuses is reported
 * high_cardinality (values unknown). Types are GoogleSQL names: INT64,
 * FLOAT64, BOOL, NUMERIC, STRING, DATE, TIMESTAMP ... */
gw_err_t gw_engine_bigquery_open(const gw_bigquery_opts_t *o, gw_engine_t **out, char *err, size_t errlen);

#endif

/* otel_export.h - the OTLP/HTTP trace exporter: a bounded queue filled by
 * the workers and one background thread that batches finished traces
 * (by span count or by time), encodes them (otlp.h) and POSTs them to
 * <endpoint>/v1/traces with libcurl (application/x-protobuf), retrying
 * 429/5xx and transport errors with exponential backoff.
 *
 * Submitting never blocks the worker loop on I/O: it takes one short mutex
 * to store a pointer; when the queue is full the trace is dropped and
 * counted. Stopping flushes what is queued within a deadline. One exporter
 * per process; all functions are thread-safe.
 */
#ifndef GW_OTEL_EXPORT_H
#define GW_OTEL_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

typedef struct gw_otel_opts {
    const char *endpoint;     /* base URL (telemetry.otlp_endpoint); "/v1/traces" is appended
                                 unless it already ends so */
    const char *service_name; /* resource service.name (telemetry.service_name) */
    size_t queue_traces;      /* queue bound, in traces */
    size_t batch_spans;       /* export as soon as this many spans wait ... */
    uint32_t flush_ms;        /* ... or when the oldest batch is this old */
    uint32_t timeout_ms;      /* whole POST, connect included */
    uint32_t connect_timeout_ms;
    uint32_t max_retries;     /* extra tries of one batch on 429/5xx/transport errors */
    uint32_t backoff_ms;      /* first backoff, doubled per retry, capped at 5 s */
    size_t max_body_bytes;    /* bound of one encoded request */
} gw_otel_opts_t;

/* Counters, in spans (monotonic since start). queued counts accepted spans;
 * every one of them ends in exactly one of exported, failed (the receiver
 * refused it or retries ran out) or dropped; dropped also counts spans
 * refused at submit because the queue was full, and spans still queued
 * when the stop deadline passed. */
typedef struct gw_otel_stats {
    uint64_t spans_queued;
    uint64_t spans_exported;
    uint64_t spans_dropped;
    uint64_t spans_failed;
    uint64_t requests; /* POSTs made, retries included */
    uint64_t retries;
} gw_otel_stats_t;

typedef struct gw_otel_exporter gw_otel_exporter_t;

/* Defaults: queue 2048 traces, batch 64 spans (short bursts: the export shares cores with the workers), flush 1000 ms, timeout
 * 10000 ms, connect 2000 ms, 3 retries, backoff 100 ms, body 8 MiB;
 * endpoint NULL, service_name "llmgw". */
void gw_otel_opts_default(gw_otel_opts_t *o);
/* Starts the exporter thread (opts are copied). NULL on a bad endpoint,
 * OOM or thread failure, with a reason in err (may be NULL). */
gw_otel_exporter_t *gw_otel_exporter_start(const gw_otel_opts_t *o, char *err, size_t errlen);
/* Hands a finished trace (gw_trace_end called) to the exporter, which owns
 * it from now on whatever the outcome. Returns 1 when queued, 0 when it
 * was dropped (queue full, or stopping) or not sampled. e == NULL frees t. */
int gw_otel_submit(gw_otel_exporter_t *e, gw_trace_t *t);
/* A consistent-enough snapshot of the counters (each read atomically). */
void gw_otel_stats(const gw_otel_exporter_t *e, gw_otel_stats_t *out);
/* Stops: exports what is queued for at most deadline_ms (queued traces left
 * then are counted dropped), joins the thread, writes the final counters
 * into *final (may be NULL) and frees e. Accepts e == NULL (*final zeroed). */
void gw_otel_exporter_stop(gw_otel_exporter_t *e, uint32_t deadline_ms, gw_otel_stats_t *final);

#endif

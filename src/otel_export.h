/* otel_export.h - the OTLP/HTTP trace exporter, on the workers' own loops.
 *
 * Two parts. gw_otel_exporter_t is process-wide and read-only once made:
 * the options, the endpoint, and the counters (atomics). gw_otel_local_t
 * belongs to one loop (one per worker): a finished trace is encoded at
 * once into the loop's pending bytes (protobuf Span entries, otlp.h) and
 * freed on the thread that made it; when batch_spans spans wait, or the
 * oldest has waited flush_ms, the pending bytes go out as one
 * ExportTraceServiceRequest (POST <endpoint>/v1/traces, application/
 * x-protobuf) through the loop's upstream context (keep-alive, TLS).
 * One POST in flight per loop; 429, 5xx and transport errors are retried
 * with exponential backoff (Retry-After honoured) while new spans keep
 * collecting, up to queue_spans and max_body_bytes: past those a trace is
 * dropped and counted. No thread, no lock, no hand-off: the cost is a
 * short encode per request and one write per batch, so nothing competes
 * with the worker for its core (docs/BENCHMARKS.md §1).
 */
#ifndef GW_OTEL_EXPORT_H
#define GW_OTEL_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "trace.h"

struct gw_upstream_ctx;

typedef struct gw_otel_opts {
    const char *endpoint;     /* base URL (telemetry.otlp_endpoint); "/v1/traces" is appended
                                 unless it already ends so */
    const char *service_name; /* resource service.name (telemetry.service_name) */
    size_t queue_spans;       /* per loop: spans held, in flight included */
    size_t batch_spans;       /* export as soon as this many spans wait ... */
    uint32_t flush_ms;        /* ... or when the oldest waiting span is this old */
    uint32_t timeout_ms;      /* first-byte and idle timeout of one POST */
    uint32_t connect_timeout_ms;
    uint32_t max_retries;     /* extra tries of one batch on 429/5xx/transport errors */
    uint32_t backoff_ms;      /* first backoff, doubled per retry, capped at 5 s */
    size_t max_body_bytes;    /* bound of one encoded request (a loop's waiting bytes) */
    double sample_ratio;      /* share of new traces sampled (telemetry.sample_ratio), 0..1 */
} gw_otel_opts_t;

/* Counters, in spans (monotonic since start, summed over the loops).
 * queued counts accepted spans; every one of them ends in exactly one of
 * exported, failed (the receiver refused it, retries ran out, or the close
 * deadline cut its POST) or dropped; dropped also counts spans refused at
 * submit (queue or body bound reached) and spans still waiting when the
 * close deadline passed. */
typedef struct gw_otel_stats {
    uint64_t spans_queued;
    uint64_t spans_exported;
    uint64_t spans_dropped;
    uint64_t spans_failed;
    uint64_t requests; /* POSTs made, retries included */
    uint64_t retries;
} gw_otel_stats_t;

typedef struct gw_otel_exporter gw_otel_exporter_t;
typedef struct gw_otel_local gw_otel_local_t;

/* Defaults: sample_ratio 1, queue 4096 spans, batch 64 spans (~25 KB:
 * one short write per ~32 requests, measured best for p99 on a shared
 * core, docs/BENCHMARKS.md §1), flush 1000 ms, timeout 10000 ms, connect
 * 2000 ms, 3 retries, backoff 100 ms, body 8 MiB; endpoint NULL,
 * service_name "llmgw". */
void gw_otel_opts_default(gw_otel_opts_t *o);
/* Head sampling of a new trace (no client traceparent), OTel's
 * TraceIdRatioBased: 1 when the last 8 bytes of trace_id, read as a
 * big-endian integer, are below sample_ratio x 2^64 (always at 1, never
 * at 0), so every service that samples by ratio decides alike. 1 when e
 * is NULL. */
int gw_otel_sample(const gw_otel_exporter_t *e, const uint8_t trace_id[GW_TRACE_ID_LEN]);
/* Checks and copies the options. NULL on a bad endpoint or size, or OOM,
 * with a reason in err (may be NULL). */
gw_otel_exporter_t *gw_otel_exporter_new(const gw_otel_opts_t *o, char *err, size_t errlen);
/* Frees e; every local made from it must be closed. Accepts NULL. */
void gw_otel_exporter_free(gw_otel_exporter_t *e);
/* A consistent-enough snapshot of the counters (each read atomically);
 * zeroes when e is NULL. Any thread. */
void gw_otel_stats(const gw_otel_exporter_t *e, gw_otel_stats_t *out);

/* The part of e that runs on loop, posting through up (which must outlive
 * it). NULL when e is NULL or on OOM. */
gw_otel_local_t *gw_otel_local_new(gw_otel_exporter_t *e, uv_loop_t *loop, struct gw_upstream_ctx *up);
/* Takes a finished trace (gw_trace_end called), which it frees whatever
 * the outcome. Returns 1 when its spans were queued, 0 when dropped (a
 * bound reached), not sampled, or l is NULL. Call on l's loop. */
int gw_otel_submit(gw_otel_local_t *l, gw_trace_t *t);
/* Sends what waits and ends the POST in flight within deadline_ms (what
 * is left then is counted dropped or failed), frees l and calls done(data)
 * on the loop. l == NULL calls done(data) at once. */
void gw_otel_local_close(gw_otel_local_t *l, uint32_t deadline_ms, void (*done)(void *), void *data);

#endif

/* otlp.h - OTLP protobuf encoding of finished request traces.
 *
 * gw_otlp_encode writes one opentelemetry.proto.collector.trace.v1
 * ExportTraceServiceRequest (the body of an OTLP/HTTP POST /v1/traces with
 * Content-Type application/x-protobuf): one ResourceSpans whose resource
 * carries service.name, one ScopeSpans (scope "llmgw"), and every span of
 * every trace given. Hand-written wire encoding, no protobuf library; field
 * numbers are quoted from opentelemetry-proto in otlp.c.
 */
#ifndef GW_OTLP_H
#define GW_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "trace.h"

/* Appends the encoded request for traces[0..n) to out (which it does not
 * reset). service_name is the resource's service.name (NULL: "llmgw").
 * GW_ETOOBIG when out's bound is reached, GW_ENOMEM; out then holds a
 * partial message (truncate it to its old length to discard). Traces are
 * borrowed. */
gw_err_t gw_otlp_encode(const gw_trace_t *const *traces, size_t n, const char *service_name, gw_buf_t *out);

/* The request in two parts, for a sender that encodes each trace as it
 * ends: gw_otlp_encode_spans appends t's spans as ScopeSpans.spans entries
 * (on failure out keeps its old length); gw_otlp_head appends the bytes
 * that go in front of spans_len bytes of such entries to make one whole
 * request (resource_spans, resource, scope_spans, scope). head + spans is
 * byte for byte what gw_otlp_encode writes. */
gw_err_t gw_otlp_encode_spans(const gw_trace_t *t, gw_buf_t *out);
gw_err_t gw_otlp_head(const char *service_name, size_t spans_len, gw_buf_t *out);
/* The resource and scope entries of a head, encoded once for a sender of
 * many batches: gw_otlp_head_from(p, ...) writes what gw_otlp_head(
 * service_name, ...) writes. */
typedef struct gw_otlp_prefix {
    gw_buf_t res, scope;
} gw_otlp_prefix_t;
gw_err_t gw_otlp_prefix_init(gw_otlp_prefix_t *p, const char *service_name);
void gw_otlp_prefix_free(gw_otlp_prefix_t *p);
gw_err_t gw_otlp_head_from(const gw_otlp_prefix_t *p, size_t spans_len, gw_buf_t *out);

/* Reads an ExportTraceServiceResponse body: *rejected = partial_success
 * .rejected_spans (0 when absent). GW_EINVAL on malformed bytes. */
gw_err_t gw_otlp_parse_response(const uint8_t *p, size_t n, int64_t *rejected);

/* Protobuf wire helpers, shared with the tests' decoder. */
/* Appends v as a base-128 varint. */
gw_err_t gw_pb_varint(gw_buf_t *b, uint64_t v);
/* Reads a varint at *p (< end); advances *p. 0 on truncation/overlong. */
int gw_pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

#endif

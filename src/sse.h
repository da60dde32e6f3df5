/* sse.h - incremental Server-Sent Events parser (WHATWG HTML 9.2.5-9.2.6).
 *
 * Feed it bytes as they arrive, split anywhere (inside a line, inside a
 * CRLF, inside a UTF-8 sequence); it calls back once per complete event.
 * Lines end in CR, LF or CRLF. "data" lines are joined with "\n"; "event"
 * sets the type; comments (":") and "id"/"retry" are consumed. An event
 * with no data line is not dispatched (per the spec). A leading UTF-8 BOM
 * is skipped. Every event is bounded by max_event_bytes (GW_ETOOBIG).
 */
#ifndef GW_SSE_H
#define GW_SSE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

typedef struct gw_sse_event {
    const char *event; /* "" when no event: field was given ("message" by spec) */
    size_t event_len;
    const char *data; /* joined data lines, no trailing newline; NUL-terminated */
    size_t data_len;
} gw_sse_event_t;

/* Called per event; the pointers are valid only during the call.
 * Return 0 to go on, non-zero to stop parsing (feed returns GW_EDENIED). */
typedef int (*gw_sse_event_cb)(const gw_sse_event_t *ev, void *data);

typedef struct gw_sse_parser {
    gw_buf_t line;   /* the current, incomplete line */
    gw_buf_t event;  /* event type of the event being built */
    gw_buf_t data;   /* data of the event being built */
    int has_data;    /* a data: field was seen for this event */
    int last_cr;     /* the previous chunk ended in CR (a following LF is part of it) */
    int bom_checked; /* the start of the stream was inspected for a BOM */
    size_t max_event_bytes;
    gw_buf_t last_id;   /* last-event-ID buffer (survives dispatch) */
    long long retry_ms; /* last valid "retry:" value, -1 when none was seen */
    gw_err_t err;       /* sticky: once a feed failed, every later feed returns it */
} gw_sse_parser_t;

/* Initialises p; no allocation until bytes arrive. */
void gw_sse_init(gw_sse_parser_t *p, size_t max_event_bytes);
/* Frees p's buffers. */
void gw_sse_free(gw_sse_parser_t *p);
/* Parses n more bytes, calling cb per complete event. GW_OK, GW_ETOOBIG
 * (an event or line over the limit), GW_EDENIED (cb asked to stop),
 * GW_ENOMEM. Limits: every line (without its end), the joined data and the
 * event type are each at most max_event_bytes. Invalid UTF-8 in values is
 * replaced by U+FFFD (maximal subparts, as the WHATWG decoder does). The
 * result never depends on how the stream was split. After a non-GW_OK
 * return the parser is dead: later feeds return the same code. */
gw_err_t gw_sse_feed(gw_sse_parser_t *p, const char *bytes, size_t n, gw_sse_event_cb cb, void *data);
/* Returns 1 if bytes of an unfinished event are pending (used to tell a
 * stream cut mid-event from a clean end): an unfinished line, data or an
 * event type not yet dispatched. Always 1 after a failed feed, except
 * GW_EDENIED (the callback's own stop). */
int gw_sse_pending(const gw_sse_parser_t *p);
/* Returns the last-event-ID buffer ("" when none; borrowed from p, valid
 * until the next feed) and its length in *len (may be NULL). */
const char *gw_sse_last_id(const gw_sse_parser_t *p, size_t *len);
/* Returns the last valid "retry:" value in milliseconds, -1 if none. */
long long gw_sse_retry_ms(const gw_sse_parser_t *p);

#endif

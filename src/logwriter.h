/* logwriter.h - the request log's writer thread.
 *
 * Workers hand over whole lines (a loop turn's batch at a time) into one
 * bounded queue; a dedicated thread writes them to the log fd, so a slow
 * stdout pipe or disk never blocks an event loop. When the queue is full
 * the batch is dropped whole (never half a line) and its lines are
 * counted, for /metrics. The same thread calls a tick callback every
 * interval_s seconds (the periodic usage summary line). A reopened file
 * (log rotation) is taken at the writer's next batch.
 */
#ifndef GW_LOGWRITER_H
#define GW_LOGWRITER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct gw_logwriter gw_logwriter_t;

/* Called on the writer thread every interval: append whole lines to out. */
typedef void (*gw_logwriter_tick_cb)(void *data, gw_buf_t *out);

/* Starts the writer thread for fd; owned: w closes fd when it is done with
 * it (on free or after a reopen), else fd is borrowed. queue_max: bytes the
 * queue holds at most. interval_s 0 or cb NULL: no tick. NULL on failure
 * (no thread left running, fd not closed). */
gw_logwriter_t *gw_logwriter_new(int fd, int owned, size_t queue_max, uint32_t interval_s, gw_logwriter_tick_cb cb,
                                 void *data);

/* Hands w a new fd, which w owns from now on (log rotation: the same path
 * opened again). The writer switches at its next batch (at once when it
 * is idle), so every line queued from now on goes to fd; the previous fd
 * is closed then if w owned it. A fd handed earlier and not yet taken is
 * closed. Thread-safe. */
void gw_logwriter_reopen(gw_logwriter_t *w, int fd);

/* Queues p[0..n) (whole lines) without waiting for I/O; takes the queue
 * lock only for the copy. Returns the number of lines dropped (0 when
 * queued). Thread-safe. */
size_t gw_logwriter_push(gw_logwriter_t *w, const char *p, size_t n);

/* Total lines dropped so far. */
uint64_t gw_logwriter_dropped(gw_logwriter_t *w);

/* Writes everything queued, stops and joins the thread, closes the fd if
 * owned, frees w. NULL is fine. */
void gw_logwriter_free(gw_logwriter_t *w);

#endif

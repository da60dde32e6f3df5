/* logwriter.c - bounded queue + writer thread for request log lines (see logwriter.h). */
#include "logwriter.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"

/* The writer gathers lines for up to BATCH_MS after the first one (or
 * until WAKE_BYTES are queued) before it writes: a wake-up per loop turn
 * would cost a futex call and a context switch per request or two on the
 * workers' cores. */
#define BATCH_MS 20
#define WAKE_BYTES (256 * 1024)

struct gw_logwriter {
    int fd;         /* used by the thread only */
    int owned;      /* fd is closed by w */
    int next_fd;    /* a reopened file waiting to be taken (under lock), -1 when none */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    gw_buf_t queue; /* filled by workers under lock */
    gw_buf_t spare; /* written by the thread outside the lock */
    gw_buf_t tick;  /* the tick callback's lines */
    int stop;
    uint32_t interval_s;
    gw_logwriter_tick_cb cb;
    void *data;
    _Atomic uint64_t dropped;
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to write: lines are lost, the gateway goes on */
        p += w;
        n -= (size_t)w;
    }
}

static void deadline_after(struct timespec *ts, uint32_t s)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += s;
}

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* ts = now + ms on the monotonic clock, capped at cap. */
static void deadline_ms(struct timespec *ts, uint32_t ms, const struct timespec *cap)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
    if (cap != NULL && before(cap, ts))
        *ts = *cap;
}

/* Waits (lock held) until there is a batch to write, the tick is due or
 * stop; returns with the lock held. */
static void writer_wait(gw_logwriter_t *w, const struct timespec *next)
{
    int ticking = w->cb != NULL && w->interval_s > 0;
    while (w->queue.len == 0 && !w->stop && w->next_fd < 0) { /* idle: sleep until a line, a reopen or the tick */
        if (!ticking) {
            pthread_cond_wait(&w->cond, &w->lock);
            continue;
        }
        if (pthread_cond_timedwait(&w->cond, &w->lock, next) == ETIMEDOUT)
            return;
    }
    struct timespec until;
    deadline_ms(&until, BATCH_MS, ticking ? next : NULL);
    while (w->queue.len < WAKE_BYTES && !w->stop) /* gather more lines for a while */
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT)
            break;
}

static void *writer_main(void *arg)
{
    gw_logwriter_t *w = arg;
    struct timespec next, now;
    deadline_after(&next, w->interval_s);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        writer_wait(w, &next);
        gw_buf_t tmp = w->queue; /* swap: workers fill the other buffer meanwhile */
        w->queue = w->spare;
        w->spare = tmp;
        int stop = w->stop, old = -1;
        if (w->next_fd >= 0) { /* a reopened file: this batch goes there */
            old = w->owned ? w->fd : -1;
            w->fd = w->next_fd;
            w->owned = 1;
            w->next_fd = -1;
        }
        pthread_mutex_unlock(&w->lock);
        if (old >= 0)
            close(old);
        clock_gettime(CLOCK_MONOTONIC, &now);
        write_all(w->fd, w->spare.ptr, w->spare.len);
        gw_buf_reset(&w->spare);
        if (w->cb != NULL && w->interval_s > 0 && !before(&now, &next)) {
            w->cb(w->data, &w->tick);
            write_all(w->fd, w->tick.ptr, w->tick.len);
            gw_buf_reset(&w->tick);
            deadline_after(&next, w->interval_s);
        }
        pthread_mutex_lock(&w->lock);
        if (stop && w->queue.len == 0)
            break;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

gw_logwriter_t *gw_logwriter_new(int fd, int owned, size_t queue_max, uint32_t interval_s, gw_logwriter_tick_cb cb,
                                 void *data)
{
    gw_logwriter_t *w = gw_calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->fd = fd;
    w->owned = owned;
    w->next_fd = -1;
    w->interval_s = interval_s;
    w->cb = cb;
    w->data = data;
    gw_buf_init(&w->queue, queue_max);
    gw_buf_init(&w->spare, queue_max);
    gw_buf_init(&w->tick, 64u << 20);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        gw_free(w);
        return NULL;
    }
    return w;
}

static size_t count_lines(const char *p, size_t n)
{
    size_t c = 0;
    for (const char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p))) != NULL; q++)
        c++;
    return c ? c : 1;
}

size_t gw_logwriter_push(gw_logwriter_t *w, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    pthread_mutex_lock(&w->lock);
    size_t had = w->queue.len;
    gw_err_t rc = had + n <= w->queue.max ? gw_buf_add(&w->queue, p, n) : GW_ETOOBIG;
    /* wake the writer for the first line (it starts its batch window) and
     * when the batch gets big; not for every push */
    if (rc == GW_OK && (had == 0 || (had < WAKE_BYTES && w->queue.len >= WAKE_BYTES)))
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (rc == GW_OK)
        return 0;
    size_t lines = count_lines(p, n);
    atomic_fetch_add_explicit(&w->dropped, lines, memory_order_relaxed);
    return lines;
}

uint64_t gw_logwriter_dropped(gw_logwriter_t *w) { return atomic_load_explicit(&w->dropped, memory_order_relaxed); }

void gw_logwriter_reopen(gw_logwriter_t *w, int fd)
{
    pthread_mutex_lock(&w->lock);
    int untaken = w->next_fd;
    w->next_fd = fd;
    pthread_cond_signal(&w->cond); /* an idle writer takes it now and lets the old file go */
    pthread_mutex_unlock(&w->lock);
    if (untaken >= 0)
        close(untaken);
}

void gw_logwriter_free(gw_logwriter_t *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (w->owned)
        close(w->fd);
    if (w->next_fd >= 0)
        close(w->next_fd);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    gw_buf_free(&w->queue);
    gw_buf_free(&w->spare);
    gw_buf_free(&w->tick);
    gw_free(w);
}

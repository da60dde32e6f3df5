/* test_logwriter.c - the log writer thread (logwriter.h): lines arrive
 * whole and in order, a push never waits for a blocked reader (the batch
 * is dropped and its lines counted instead), everything queued is written
 * on free, and the tick callback adds its summary line every interval. */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "logwriter.h"
#include "test.h"

typedef struct reader {
    int fd;
    gw_buf_t got;
} reader_t;

static void *read_all(void *arg)
{
    reader_t *r = arg;
    char tmp[65536];
    ssize_t n;
    while ((n = read(r->fd, tmp, sizeof(tmp))) > 0)
        gw_buf_add(&r->got, tmp, (size_t)n);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_order_and_flush(void)
{
    int p[2];
    T_OK(pipe(p) == 0, "pipe");
    reader_t r = {.fd = p[0]};
    gw_buf_init(&r.got, 1 << 24);
    pthread_t th;
    pthread_create(&th, NULL, read_all, &r);
    gw_logwriter_t *w = gw_logwriter_new(p[1], 1 << 20, 0, NULL, NULL);
    T_OK(w != NULL, "writer");
    size_t dropped = 0;
    char line[64];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(line, sizeof(line), "{\"n\":%d}\n", i);
        dropped += gw_logwriter_push(w, line, (size_t)n);
    }
    gw_logwriter_free(w); /* writes what is queued */
    close(p[1]);
    pthread_join(th, NULL);
    close(p[0]);
    T_OK(dropped == 0, "a reading consumer: nothing dropped (%zu)", dropped);
    int ok = 1, count = 0;
    for (const char *s = r.got.ptr; s != NULL && *s; count++) {
        int n = snprintf(line, sizeof(line), "{\"n\":%d}\n", count);
        if (strncmp(s, line, (size_t)n) != 0) {
            ok = 0;
            break;
        }
        s += n;
    }
    T_OK(ok && count == 10000, "10000 lines, whole and in order (%d)", count);
    gw_buf_free(&r.got);
}

static void test_drop_when_blocked(void)
{
    int p[2];
    T_OK(pipe(p) == 0, "pipe");
    gw_logwriter_t *w = gw_logwriter_new(p[1], 64 * 1024, 0, NULL, NULL);
    char batch[4096];
    memset(batch, 'x', sizeof(batch));
    for (size_t i = 63; i < sizeof(batch); i += 64)
        batch[i] = '\n'; /* 64 lines of 64 bytes */
    double t0 = now_s();
    size_t dropped = 0;
    for (int i = 0; i < 200; i++) /* 800 KiB into a 64 KiB pipe nobody reads + a 64 KiB queue */
        dropped += gw_logwriter_push(w, batch, sizeof(batch));
    double took = now_s() - t0;
    T_OK(took < 0.5, "pushes never wait for the blocked pipe (%.3f s)", took);
    T_OK(dropped > 0 && dropped % 64 == 0, "whole batches dropped, lines counted: %zu", dropped);
    T_OK(gw_logwriter_dropped(w) == dropped, "counter = returned drops");
    /* now drain the pipe so free can finish */
    reader_t r = {.fd = p[0]};
    gw_buf_init(&r.got, 1 << 24);
    pthread_t th;
    pthread_create(&th, NULL, read_all, &r);
    gw_logwriter_free(w);
    close(p[1]);
    pthread_join(th, NULL);
    close(p[0]);
    T_OK(r.got.len + dropped * 64 == 200 * sizeof(batch), "written + dropped = pushed (%zu + %zu)", r.got.len,
         dropped * 64);
    gw_buf_free(&r.got);
}

static void tick(void *data, gw_buf_t *out)
{
    int *n = data;
    gw_buf_printf(out, "{\"tick\":%d}\n", ++*n);
}

static void test_tick(void)
{
    int p[2];
    T_OK(pipe(p) == 0, "pipe");
    int ticks = 0;
    gw_logwriter_t *w = gw_logwriter_new(p[1], 1 << 16, 1, tick, &ticks);
    gw_logwriter_push(w, "{\"a\":1}\n", 8);
    usleep(2300 * 1000);
    gw_logwriter_free(w);
    close(p[1]);
    char got[512] = "";
    ssize_t n = read(p[0], got, sizeof(got) - 1);
    close(p[0]);
    T_OK(n > 0 && strncmp(got, "{\"a\":1}\n", 8) == 0, "the line first: %s", got);
    T_OK(ticks == 2 && strstr(got, "{\"tick\":1}\n{\"tick\":2}\n") != NULL, "two ticks in 2.3 s (%d): %s", ticks, got);
}

int main(void)
{
    test_order_and_flush();
    test_drop_when_blocked();
    test_tick();
    return t_done("test_logwriter");
}

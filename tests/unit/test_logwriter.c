/* test_logwriter.c - the log writer thread (logwriter.h): lines arrive
 * whole and in order, a push never waits for a blocked reader (the batch
 * is dropped and its lines counted instead), everything queued is written
 * on free, the tick callback adds its summary line every interval, and a
 * reopened file takes the lines queued after the reopen. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
    gw_logwriter_t *w = gw_logwriter_new(p[1], 0, 1 << 20, 0, NULL, NULL);
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
    gw_logwriter_t *w = gw_logwriter_new(p[1], 0, 64 * 1024, 0, NULL, NULL);
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
    gw_logwriter_t *w = gw_logwriter_new(p[1], 0, 1 << 16, 1, tick, &ticks);
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

/* The whole content of file f ("" when missing). */
static void slurp(const char *f, char *out, size_t cap)
{
    out[0] = '\0';
    int fd = open(f, O_RDONLY);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
}

static int open_append(const char *f) { return open(f, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644); }

static void test_reopen(void)
{
    char dir[] = "/tmp/llmgw-logw-XXXXXX", a[64], b[64], c[64], d[64], got[256];
    T_OK(mkdtemp(dir) != NULL, "temp dir");
    snprintf(a, sizeof(a), "%s/a", dir), snprintf(b, sizeof(b), "%s/b", dir);
    snprintf(c, sizeof(c), "%s/c", dir), snprintf(d, sizeof(d), "%s/d", dir);
    int fa = open_append(a);
    gw_logwriter_t *w = gw_logwriter_new(fa, 1, 1 << 16, 0, NULL, NULL);
    gw_logwriter_push(w, "a1\n", 3);
    for (double end = now_s() + 5; (slurp(a, got, sizeof(got)), got[0] == '\0') && now_s() < end;)
        usleep(2000);
    T_STREQ(got, "a1\n", "the first line in the first file");
    int fb = open_append(b), fc = open_append(c), fd = open_append(d);
    gw_logwriter_reopen(w, fb);
    for (double end = now_s() + 2; fcntl(fa, F_GETFD) != -1 && now_s() < end;)
        usleep(2000);
    T_OK(fcntl(fa, F_GETFD) == -1 && errno == EBADF, "an idle writer takes the new file at once and closes the old");
    gw_logwriter_push(w, "b1\n", 3);
    for (double end = now_s() + 5; (slurp(b, got, sizeof(got)), got[0] == '\0') && now_s() < end;)
        usleep(2000);
    T_STREQ(got, "b1\n", "a line after the reopen goes to the new file");
    gw_logwriter_reopen(w, fc);
    gw_logwriter_reopen(w, fd); /* c was never taken: closed at once */
    T_OK(fcntl(fc, F_GETFD) == -1 && errno == EBADF, "a reopened fd replaced before it was taken is closed");
    gw_logwriter_push(w, "d1\n", 3);
    gw_logwriter_free(w);
    T_OK(fcntl(fd, F_GETFD) == -1 && errno == EBADF && fcntl(fb, F_GETFD) == -1, "free closes the owned fds");
    slurp(a, got, sizeof(got));
    T_STREQ(got, "a1\n", "a: only its line");
    slurp(b, got, sizeof(got));
    T_STREQ(got, "b1\n", "b: only its line");
    slurp(c, got, sizeof(got));
    T_STREQ(got, "", "c: nothing");
    slurp(d, got, sizeof(got));
    T_STREQ(got, "d1\n", "d: the line queued after its reopen");
    unlink(a), unlink(b), unlink(c), unlink(d), rmdir(dir);
}

int main(void)
{
    test_order_and_flush();
    test_drop_when_blocked();
    test_tick();
    test_reopen();
    return t_done("test_logwriter");
}

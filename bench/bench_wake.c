/* bench_wake.c - what it costs the sender to wake a reader, on this CPU or
 * on another one (bench/wake.sh builds and runs it).
 *
 * An OTLP exporter hands every batch to a collector process: the write that
 * carries it wakes the collector. This measures that write on its own, with
 * no llmgw in the way: the sender is pinned to CPU 0 and a reader process
 * to CPU 0 (same CPU) or CPU 1 (another one), and it prints the median and
 * p90 time of the write() that wakes the reader, and of the whole round trip
 * (write, the reader's answer, read), for a one-byte pipe message and for
 * 800 B, 25 KB and 200 KB over TCP on 127.0.0.1 (the sizes of one trace, a
 * 64-span batch and a 512-span batch).
 *   bench_wake [iterations]        (default 2000 per case)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return sched_setaffinity(0, sizeof(s), &s);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, int cpu, double *w, double *rt, int n)
{
    qsort(w, (size_t)n, sizeof(*w), cmp);
    qsort(rt, (size_t)n, sizeof(*rt), cmp);
    printf("| %s | CPU %d%s | %.1f / %.1f | %.1f / %.1f |\n", what, cpu, cpu == 0 ? " (same)" : " (other)",
           w[n / 2], w[n * 9 / 10], rt[n / 2], rt[n * 9 / 10]);
}

static int read_full(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The pipe case: the reader answers each byte with one byte. */
static void pipe_case(int cpu, int n, double *w, double *rt)
{
    int a[2], b[2];
    char x = 0;
    if (pipe(a) != 0 || pipe(b) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        pin(cpu);
        for (int i = 0; i < n; i++)
            if (read(a[0], &x, 1) != 1 || write(b[1], &x, 1) != 1)
                _exit(1);
        _exit(0);
    }
    usleep(20000);
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (write(a[1], &x, 1) != 1)
            exit(1);
        double t1 = now_us();
        if (read(b[0], &x, 1) != 1)
            exit(1);
        w[i] = t1 - t0;
        rt[i] = now_us() - t0;
    }
    waitpid(pid, NULL, 0);
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
    report("pipe, 1 B", cpu, w, rt, n);
}

/* The TCP case: the reader takes size bytes, then answers one byte. */
static void tcp_case(int cpu, size_t size, int n, double *w, double *rt)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
        perror("listen");
        exit(1);
    }
    char *buf = calloc(1, size);
    pid_t pid = fork();
    if (pid == 0) {
        pin(cpu);
        int c = accept(ls, NULL, NULL);
        for (int i = 0; i < n; i++)
            if (read_full(c, buf, size) != 0 || write(c, buf, 1) != 1)
                _exit(1);
        _exit(0);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (buf == NULL || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    usleep(20000);
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (write(fd, buf, size) != (ssize_t)size) /* blocking: all of it */
            exit(1);
        double t1 = now_us();
        if (read_full(fd, buf, 1) != 0)
            exit(1);
        w[i] = t1 - t0;
        rt[i] = now_us() - t0;
    }
    waitpid(pid, NULL, 0);
    close(fd), close(ls);
    free(buf);
    char what[64];
    snprintf(what, sizeof(what), "TCP 127.0.0.1, %zu B", size);
    report(what, cpu, w, rt, n);
}

int main(int argc, char **argv)
{
    long v = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
    int n = (int)(v < 10 ? 10 : v > 1000000 ? 1000000 : v);
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || pin(0) != 0) {
        fprintf(stderr, "bench_wake: needs CPUs 0 and 1\n");
        return 1;
    }
    double *w = calloc((size_t)n, sizeof(double)), *rt = calloc((size_t)n, sizeof(double));
    if (w == NULL || rt == NULL)
        return 1;
    static const size_t sizes[] = {800, 25600, 204800};
    printf("sender on CPU 0, %d messages per case; times in µs (median / p90)\n\n", n);
    printf("| message | reader on | write() that wakes the reader | round trip |\n|---|---|---:|---:|\n");
    for (int cpu = 0; cpu <= 1; cpu++)
        pipe_case(cpu, n, w, rt);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int cpu = 0; cpu <= 1; cpu++)
            tcp_case(cpu, sizes[s], n, w, rt);
    free(w);
    free(rt);
    return 0;
}

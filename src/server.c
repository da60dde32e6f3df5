/* server.c - `llmgw serve`: the process, its worker threads and signals.
 *
 * Each worker thread runs its own libuv loop with its own listening socket
 * bound with SO_REUSEPORT to the same address: the kernel spreads new
 * connections across workers with no shared accept lock and no hand-off
 * between threads (nginx's reuseport, h2o's per-thread listeners). The
 * sockets are bound in the main thread first, so a bad address fails the
 * start with a clear message. The main thread keeps a small loop for
 * signals: SIGHUP reloads the config (a bad file keeps the old one) and
 * reopens telemetry.log, SIGUSR1 only reopens it (log rotation), SIGTERM/
 * SIGINT drain: stop accepting, finish in-flight requests and
 * streams until drain_timeout_ms, then close what is left and exit 0.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "h2o.h"
#include "http_internal.h"
#include "log.h"
#include "redis_shared.h"
#include "services.h"
#include "trace_req.h"
#include "upstream.h"
#include "usage.h"
#include "worker.h"

typedef struct serve_main {
    gw_app_t app;
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
    uv_timer_t poll;
    const char *config_path;
    uint64_t generation;
    atomic_int workers_done;
    int drain_requested;
    gw_runtime_t *services_rt; /* the config the catalog side was opened with */
    int services_started;
} serve_main_t;

/* ---- runtime ------------------------------------------------------------ */

/* A bucket needs room for one request: burst defaults to max(1, rps). */
static double burst_or_default(double rps, double burst)
{
    if (burst >= 1)
        return burst;
    return rps > 1 ? rps : 1;
}

uint64_t gw_now_ns(void) { return uv_hrtime(); }

gw_runtime_t *gw_runtime_new(gw_config_t *cfg, uint64_t generation, const gw_runtime_t *prev, char *err,
                             size_t errlen)
{
    gw_runtime_t *rt = gw_calloc(1, sizeof(*rt));
    if (rt == NULL)
        goto oom;
    atomic_init(&rt->refcnt, 1);
    rt->cfg = cfg;
    rt->generation = generation;
    rt->auth = gw_auth_table_new();
    rt->tenants = gw_calloc(cfg->tenants_len ? cfg->tenants_len : 1, sizeof(*rt->tenants));
    rt->usage = gw_usage_table_new(cfg, prev != NULL ? prev->usage : NULL);
    if (rt->auth == NULL || rt->tenants == NULL || rt->usage == NULL)
        goto oom;
    uint64_t now = gw_now_ns();
    for (size_t i = 0; i < cfg->tenants_len; i++) {
        const gw_cfg_tenant_t *t = &cfg->tenants[i];
        for (size_t k = 0; k < t->keys_len; k++)
            if (gw_auth_table_add(rt->auth, t->keys[k], i) != GW_OK) {
                snprintf(err, errlen, "tenant '%s': bad key hash", t->id);
                goto fail;
            }
        pthread_mutex_init(&rt->tenants[i].lock, NULL);
        gw_bucket_t b;
        gw_bucket_init(&b, t->rate.rps, burst_or_default(t->rate.rps, t->rate.burst), now);
        for (size_t j = 0; prev != NULL && j < prev->cfg->tenants_len; j++)
            if (strcmp(prev->cfg->tenants[j].id, t->id) == 0 && prev->tenants[j].rps.tokens < b.tokens)
                b.tokens = prev->tenants[j].rps.tokens; /* a reload does not refill buckets */
        rt->tenants[i].rps = b;
    }
    return rt;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (rt != NULL) {
        rt->cfg = NULL;
        gw_usage_table_free(rt->usage);
        gw_auth_table_free(rt->auth);
        gw_free(rt->tenants);
        gw_free(rt);
    }
    return NULL;
}

static void runtime_free(gw_runtime_t *rt)
{
    for (size_t i = 0; i < rt->cfg->tenants_len; i++)
        pthread_mutex_destroy(&rt->tenants[i].lock);
    gw_free(rt->tenants);
    gw_usage_table_free(rt->usage);
    gw_auth_table_free(rt->auth);
    gw_config_unref(rt->cfg);
    gw_free(rt);
}

gw_runtime_t *gw_runtime_acquire(gw_worker_t *w)
{
    atomic_fetch_add_explicit(&w->rt->refcnt, 1, memory_order_relaxed);
    return w->rt;
}

void gw_runtime_release(gw_runtime_t *rt)
{
    if (rt != NULL && atomic_fetch_sub_explicit(&rt->refcnt, 1, memory_order_acq_rel) == 1)
        runtime_free(rt);
}

/* Publishes a new runtime; the app's reference moves to it. */
static void app_publish(gw_app_t *app, gw_runtime_t *rt)
{
    pthread_mutex_lock(&app->rt_lock);
    gw_runtime_t *old = atomic_exchange(&app->rt, rt);
    pthread_mutex_unlock(&app->rt_lock);
    gw_runtime_release(old);
}

/* A worker's own reference to the current runtime (taken on its loop). */
static void worker_refresh_rt(gw_worker_t *w)
{
    gw_app_t *app = w->app;
    pthread_mutex_lock(&app->rt_lock);
    gw_runtime_t *cur = atomic_load(&app->rt);
    if (cur != w->rt) {
        atomic_fetch_add(&cur->refcnt, 1);
        gw_runtime_t *old = w->rt;
        w->rt = cur;
        pthread_mutex_unlock(&app->rt_lock);
        gw_runtime_release(old);
        return;
    }
    pthread_mutex_unlock(&app->rt_lock);
}

/* ---- workers ------------------------------------------------------------ */

#define LOGBUF_FLUSH (64 * 1024)

static void worker_log_flush(gw_worker_t *w)
{
    if (w->logbuf.len == 0)
        return;
    size_t dropped = gw_logwriter_push(w->app->logw, w->logbuf.ptr, w->logbuf.len);
    if (dropped > 0)
        gw_metrics_add(&w->app->metrics.log_dropped, dropped);
    gw_buf_reset(&w->logbuf);
}

static void worker_on_log_check(uv_check_t *h) { worker_log_flush(h->data); }

void gw_worker_log(gw_worker_t *w, const gw_reqlog_t *l)
{
    if (gw_log_format_request(l, &w->logbuf) != GW_OK) { /* full: write what we have, retry once */
        worker_log_flush(w);
        gw_log_format_request(l, &w->logbuf);
    }
    if (w->logbuf.len >= LOGBUF_FLUSH || w->stopping)
        worker_log_flush(w);
}

static void worker_on_closed_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* The rest of the stop, once the shared-limits client has sent its last settles. */
static void worker_stop_rest(void *data)
{
    gw_worker_t *w = data;
    w->shared = NULL;
    gw_upstream_ctx_free(w->up);
    w->up = NULL;
    uv_walk(&w->loop, worker_on_closed_walk, NULL);
}

/* Once the last traces are sent: the shared-limits client's last settles. */
static void worker_stop_shared(void *data)
{
    gw_worker_t *w = data;
    w->otel = NULL;
    gw_shared_close(w->shared, worker_stop_rest, w);
}

static void worker_stop(gw_worker_t *w)
{
    if (w->stopping)
        return;
    w->stopping = 1;
    gw_otel_local_close(w->otel, GW_TRACE_STOP_MS, worker_stop_shared, w);
}

void gw_worker_conn_gone(gw_worker_t *w)
{
    if (w->drain_started && w->n_conns == 0)
        worker_stop(w);
}

static void worker_on_drain_deadline(uv_timer_t *t)
{
    gw_worker_t *w = t->data;
    gw_http_conns_close_all(w);
}

static void worker_start_drain(gw_worker_t *w)
{
    if (w->drain_started)
        return;
    w->drain_started = 1;
    if (w->listening) {
        uv_close((uv_handle_t *)&w->listener, NULL);
        w->listening = 0;
    }
    gw_http_conns_drain(w);
    if (w->n_conns == 0) {
        worker_stop(w);
        return;
    }
    uv_timer_start(&w->drain_timer, worker_on_drain_deadline, w->rt->cfg->limits.drain_timeout_ms, 0);
}

static void worker_on_wakeup(uv_async_t *a)
{
    gw_worker_t *w = a->data;
    worker_refresh_rt(w);
    if (atomic_load(&w->app->draining))
        worker_start_drain(w);
}

static void worker_on_connection(uv_stream_t *server, int status)
{
    gw_worker_t *w = server->data;
    if (status != 0)
        return;
    gw_http_accept(w, server, &w->rt->cfg->limits);
}

/* Frees the socket buffers libh2o keeps for reuse in this thread. */
static void worker_free_h2o_recycle(void)
{
    h2o_mem_recycle_t *a = &h2o_socket_buffer_prototype.allocator;
    while (a->cnt > 0)
        gw_free(h2o_mem_alloc_recycle(a, 1));
}

static void worker_main(void *arg)
{
    gw_worker_t *w = arg;
    serve_main_t *m = (serve_main_t *)w->app; /* app is the first member */
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    worker_log_flush(w);
    gw_buf_free(&w->logbuf);
    worker_free_h2o_recycle();
    gw_runtime_release(w->rt);
    w->rt = NULL;
    atomic_fetch_add(&m->workers_done, 1);
}

/* Creates the worker's listening socket (SO_REUSEPORT) and loop. */
static int worker_init(gw_worker_t *w, gw_app_t *app, size_t index, const struct sockaddr *sa, char *err,
                       size_t errlen)
{
    w->app = app;
    w->index = index;
    uv_loop_init(&w->loop);
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) != 0 ||
        listen(fd, 4096) != 0) {
        snprintf(err, errlen, "cannot listen: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    uv_tcp_open(&w->listener, fd);
    w->listening = 1;
    uv_listen((uv_stream_t *)&w->listener, 4096, worker_on_connection);
    uv_async_init(&w->loop, &w->wakeup, worker_on_wakeup);
    w->wakeup.data = w;
    uv_timer_init(&w->loop, &w->drain_timer);
    w->drain_timer.data = w;
    gw_buf_init(&w->logbuf, 4 * LOGBUF_FLUSH);
    uv_check_init(&w->loop, &w->log_check);
    w->log_check.data = w;
    uv_check_start(&w->log_check, worker_on_log_check);
    w->up = gw_upstream_ctx_new(&w->loop);
    if (w->up != NULL && app->otel != NULL && (w->otel = gw_otel_local_new(app->otel, &w->loop, w->up)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const gw_config_t *cfg = atomic_load(&app->rt)->cfg;
    if (cfg->redis_url != NULL && gw_shared_new(&w->loop, cfg->redis_url, cfg->limits.redis_timeout_ms, index,
                                                &w->shared, err, errlen) != GW_OK)
        return -1;
    if (gw_idgen_init(&w->ids) != GW_OK) {
        snprintf(err, errlen, "cannot seed the trace id generator");
        return -1;
    }
    w->rt = atomic_load(&app->rt);
    atomic_fetch_add(&w->rt->refcnt, 1);
    return w->up != NULL ? 0 : -1;
}

/* ---- the catalog side (background) ------------------------------------------ */

static void services_main(void *arg)
{
    serve_main_t *m = arg;
    const gw_config_t *cfg = m->services_rt->cfg;
    if (cfg->ask.engine != NULL && strcmp(cfg->ask.engine, "none") == 0) {
        atomic_store(&m->app.services_state, GW_SVC_DISABLED);
        return;
    }
    char err[256] = "";
    gw_services_t *s = gw_services_open(cfg, m->config_path == NULL, err, sizeof(err));
    if (s == NULL) {
        snprintf(m->app.services_error, sizeof(m->app.services_error), "catalog unavailable: %.200s", err);
        gw_log_msg("%s (gateway routes keep working)", m->app.services_error);
        atomic_store(&m->app.services_state, GW_SVC_FAILED);
        return;
    }
    atomic_store(&m->app.services, s);
    atomic_store(&m->app.services_state, GW_SVC_READY);
}

static void services_start(serve_main_t *m)
{
    m->services_rt = atomic_load(&m->app.rt);
    atomic_fetch_add(&m->services_rt->refcnt, 1);
    m->services_started = uv_thread_create(&m->app.services_thread, services_main, m) == 0;
}

static void services_stop(serve_main_t *m)
{
    if (m->services_started)
        uv_thread_join(&m->app.services_thread);
    gw_services_free(atomic_load(&m->app.services));
    gw_runtime_release(m->services_rt);
}

/* ---- the main thread ---------------------------------------------------- */

static void wake_workers(gw_app_t *app)
{
    for (size_t i = 0; i < app->n_workers; i++)
        uv_async_send(&app->workers[i].wakeup);
}

static void reload(serve_main_t *m)
{
    char err[512] = "";
    if (m->config_path == NULL) {
        gw_log_msg("SIGHUP: running on the embedded default, no file to reload");
        return;
    }
    gw_config_t *cfg = gw_config_load(m->config_path, err, sizeof(err));
    if (cfg == NULL) {
        gw_log_msg("reload failed, keeping the previous config: %s", err);
        return;
    }
    gw_runtime_t *cur = atomic_load(&m->app.rt);
    gw_runtime_t *rt = gw_runtime_new(cfg, ++m->generation, cur, err, sizeof(err));
    if (rt == NULL) {
        gw_config_unref(cfg);
        gw_log_msg("reload failed, keeping the previous config: %s", err);
        return;
    }
    if (m->app.per_ip != NULL)
        gw_ratelimit_set(m->app.per_ip, cfg->per_ip.rps, burst_or_default(cfg->per_ip.rps, cfg->per_ip.burst));
    app_publish(&m->app, rt);
    wake_workers(&m->app);
    gw_log_msg("reloaded %s (generation %llu, %zu models)", m->config_path, (unsigned long long)m->generation,
               cfg->models_len);
}

static void on_poll(uv_timer_t *t)
{
    serve_main_t *m = t->data;
    if ((size_t)atomic_load(&m->workers_done) < m->app.n_workers)
        return;
    uv_close((uv_handle_t *)&m->poll, NULL);
    uv_close((uv_handle_t *)&m->sig_term, NULL);
    uv_close((uv_handle_t *)&m->sig_int, NULL);
    uv_close((uv_handle_t *)&m->sig_hup, NULL);
    uv_close((uv_handle_t *)&m->sig_usr1, NULL);
}

static void on_terminate(uv_signal_t *s, int signum)
{
    serve_main_t *m = s->data;
    if (m->drain_requested) {
        gw_log_msg("second signal: exiting now");
        _exit(1);
    }
    m->drain_requested = 1;
    gw_log_msg("%s: draining (up to %u ms)", signum == SIGTERM ? "SIGTERM" : "SIGINT",
               atomic_load(&m->app.rt)->cfg->limits.drain_timeout_ms);
    atomic_store(&m->app.draining, 1);
    wake_workers(&m->app);
    uv_timer_start(&m->poll, on_poll, 20, 20);
}

static int resolve_listen(const gw_config_t *cfg, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    if (uv_ip4_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    if (strcmp(cfg->listen_host, "localhost") == 0)
        return uv_ip4_addr("127.0.0.1", cfg->listen_port, (struct sockaddr_in *)ss);
    snprintf(err, errlen, "listen: '%s' is not an IP address", cfg->listen_host);
    return -1;
}

#define LOG_QUEUE_MAX (8u << 20)

/* The writer thread's tick: one usage summary line of the current runtime. */
static void on_log_tick(void *data, gw_buf_t *out)
{
    gw_app_t *app = data;
    pthread_mutex_lock(&app->rt_lock);
    gw_runtime_t *rt = atomic_load(&app->rt);
    atomic_fetch_add(&rt->refcnt, 1);
    pthread_mutex_unlock(&app->rt_lock);
    gw_log_format_summary(rt->usage, out);
    gw_runtime_release(rt);
}

/* telemetry.log's file, appended to (opened at start and on a reopen). */
static int log_file_open(const char *path) { return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644); }

/* telemetry.log: stdout (default), stderr or a file (appended), handed to
 * the log writer thread (which closes a file when done with it). */
static int log_open(gw_app_t *app, const gw_config_t *cfg, char *err, size_t errlen)
{
    const char *dest = cfg->telemetry.log;
    int fd = STDOUT_FILENO, owned = 0;
    if (dest != NULL && strcmp(dest, "stderr") == 0) {
        fd = STDERR_FILENO;
    } else if (dest != NULL && strcmp(dest, "stdout") != 0 && dest[0] != '\0') {
        if ((app->log_path = gw_strdup(dest)) == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        fd = log_file_open(dest);
        if (fd < 0) {
            snprintf(err, errlen, "telemetry.log: cannot open '%s': %s", dest, strerror(errno));
            return -1;
        }
        owned = 1;
    }
    app->logw = gw_logwriter_new(fd, owned, LOG_QUEUE_MAX, cfg->telemetry.flush_interval_s, on_log_tick, app);
    if (app->logw == NULL) {
        if (owned)
            close(fd);
        snprintf(err, errlen, "cannot start the log writer thread");
        return -1;
    }
    return 0;
}

/* SIGUSR1, and SIGHUP after its reload: telemetry.log opened again at the
 * same path, for log rotation (the old file was moved away); the lines
 * queued from then on go to the new file. stdout and stderr stay. */
static void log_reopen(gw_app_t *app)
{
    if (app->log_path == NULL || app->logw == NULL)
        return;
    int fd = log_file_open(app->log_path);
    if (fd < 0) {
        gw_log_msg("telemetry.log: cannot reopen '%s': %s (still writing to the file open before)", app->log_path,
                   strerror(errno));
        return;
    }
    gw_logwriter_reopen(app->logw, fd);
    gw_log_msg("telemetry.log: reopened %s", app->log_path);
}

static void on_reload(uv_signal_t *s, int signum)
{
    (void)signum;
    serve_main_t *m = s->data;
    reload(m);
    log_reopen(&m->app);
}

static void on_reopen(uv_signal_t *s, int signum)
{
    (void)signum;
    log_reopen(&((serve_main_t *)s->data)->app);
}

static void log_close(gw_app_t *app)
{
    gw_logwriter_free(app->logw); /* writes what is queued, closes the file */
    app->logw = NULL;
    gw_free(app->log_path);
    app->log_path = NULL;
}

static int app_init(serve_main_t *m, gw_config_t *cfg, char *err, size_t errlen)
{
    gw_app_t *app = &m->app;
    pthread_mutex_init(&app->rt_lock, NULL);
    gw_metrics_init(&app->metrics);
    app->start_ns = gw_now_ns();
    gw_runtime_t *rt = gw_runtime_new(cfg, ++m->generation, NULL, err, errlen);
    if (rt == NULL)
        return -1;
    atomic_init(&app->rt, rt);
    if (log_open(app, cfg, err, errlen) != 0)
        return -1;
    if (gw_trace_req_exporter(cfg, &app->otel, err, errlen) != GW_OK)
        return -1;
    app->metrics.otel = app->otel; /* read by /metrics; set before the workers start */
    app->per_ip = gw_ratelimit_new(64, cfg->per_ip.rps, burst_or_default(cfg->per_ip.rps, cfg->per_ip.burst), 1024);
    if (app->per_ip == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = cfg->workers;
    if (n == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (size_t)cores : 1;
    }
    app->workers = gw_calloc(n, sizeof(*app->workers));
    app->n_workers = n;
    return app->workers != NULL ? 0 : -1;
}

static void signals_init(serve_main_t *m)
{
    uv_loop_init(&m->loop);
    uv_signal_t *sigs[] = {&m->sig_term, &m->sig_int, &m->sig_hup, &m->sig_usr1};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        uv_signal_init(&m->loop, sigs[i]);
        sigs[i]->data = m;
    }
    uv_signal_start(&m->sig_term, on_terminate, SIGTERM);
    uv_signal_start(&m->sig_int, on_terminate, SIGINT);
    uv_signal_start(&m->sig_hup, on_reload, SIGHUP);
    uv_signal_start(&m->sig_usr1, on_reopen, SIGUSR1);
    uv_timer_init(&m->loop, &m->poll);
    m->poll.data = m;
}

int gw_serve(gw_config_t *cfg, const char *config_path)
{
    serve_main_t *m = gw_calloc(1, sizeof(*m));
    char err[512] = "";
    struct sockaddr_storage ss;
    int rc = 1;
    if (m == NULL)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    m->config_path = config_path;
    if (resolve_listen(cfg, &ss, err, sizeof(err)) != 0 || app_init(m, cfg, err, sizeof(err)) != 0)
        goto out;
    cfg = NULL; /* owned by the runtime now */
    signals_init(m);
    for (size_t i = 0; i < m->app.n_workers; i++)
        if (worker_init(&m->app.workers[i], &m->app, i, (struct sockaddr *)&ss, err, sizeof(err)) != 0)
            goto out;
    for (size_t i = 0; i < m->app.n_workers; i++)
        uv_thread_create(&m->app.workers[i].thread, worker_main, &m->app.workers[i]);
    services_start(m);
    gw_runtime_t *rt = atomic_load(&m->app.rt);
    gw_log_msg("listening on %s:%u (%zu workers, %zu models, auth %s)", rt->cfg->listen_host,
               (unsigned)rt->cfg->listen_port, m->app.n_workers, rt->cfg->models_len,
               rt->cfg->auth_enabled ? "on" : "off");
    uv_run(&m->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < m->app.n_workers; i++)
        uv_thread_join(&m->app.workers[i].thread);
    services_stop(m);
    uv_loop_close(&m->loop);
    gw_log_msg("stopped");
    rc = 0;
out:
    if (rc != 0)
        gw_log_msg("cannot start: %s", err);
    if (cfg != NULL)
        gw_config_unref(cfg);
    gw_otel_exporter_free(m->app.otel); /* the workers sent their last traces before their loops ended */
    log_close(&m->app);
    gw_runtime_t *last = atomic_load(&m->app.rt);
    gw_runtime_release(last);
    gw_ratelimit_free(m->app.per_ip);
    gw_free(m->app.workers);
    gw_free(m);
    return rc;
}

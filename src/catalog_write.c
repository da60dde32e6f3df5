/* catalog_write.c - writes the generated catalog into DuckDB, Parquet or CSV.
 *
 * Two C table functions, gw_gen_skus(first, end) and gw_gen_inventory(first,
 * end), fill DuckDB data chunks straight from gw_catgen_sku/gw_catgen_stock.
 * DuckDB runs them on `threads` threads (each thread claims blocks of 2048
 * SKUs) and does the storage work in parallel: `INSERT INTO t SELECT * FROM
 * gw_gen_t(...)` into a fresh file for DuckDB, `COPY (SELECT ...) TO` from an
 * in-memory instance for Parquet and CSV. With preserve_insertion_order off,
 * the physical row order follows thread scheduling; the rows themselves
 * are pure functions of (seed, index), so table contents don't depend on
 * the thread count. Output goes to a temporary name, renamed at the end.
 */
#include "catalog_gen.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "catalog_schema.h"
#include "duckdb_dl.h"

#define BLOCK 2048 /* SKUs a generator thread claims at a time */

/* Shared by every call of the table functions of one run. */
typedef struct gen_ctx {
    const gw_catgen_t *g;
    unsigned threads;
    atomic_uint_fast64_t done; /* SKUs finished, summed over both big tables */
} gen_ctx_t;

typedef struct gen_range {
    uint64_t first, end;
} gen_range_t;

typedef struct gen_global {
    atomic_uint_fast64_t next;
    uint64_t end;
} gen_global_t;

/* Per thread: the claimed block and, for inventory, the rows of the SKU
 * that didn't fit into the previous chunk. */
typedef struct gen_local {
    uint64_t cur, end;
    gw_cat_stock_t stock[GW_CATALOG_MAX_STOCK];
    size_t n_stock, next_stock;
} gen_local_t;

/* ---- table functions ---- */

static void add_col(duckdb_bind_info info, const char *name, duckdb_type type)
{
    duckdb_logical_type t =
        type == DUCKDB_TYPE_DECIMAL ? duckdb_create_decimal_type(10, 2) : duckdb_create_logical_type(type);
    duckdb_bind_add_result_column(info, name, t);
    duckdb_destroy_logical_type(&t);
}

static void bind_range(duckdb_bind_info info)
{
    duckdb_value a = duckdb_bind_get_parameter(info, 0), b = duckdb_bind_get_parameter(info, 1);
    int64_t first = duckdb_get_int64(a), end = duckdb_get_int64(b);
    duckdb_destroy_value(&a);
    duckdb_destroy_value(&b);
    gen_range_t *r = gw_malloc(sizeof *r);
    if (r == NULL || first < 0 || end < first) {
        gw_free(r);
        duckdb_bind_set_error(info, r == NULL ? "out of memory" : "bad SKU range");
        return;
    }
    r->first = (uint64_t)first;
    r->end = (uint64_t)end;
    duckdb_bind_set_bind_data(info, r, gw_free);
    duckdb_bind_set_cardinality(info, (idx_t)(end - first), false);
}

static void bind_skus(duckdb_bind_info info)
{
    add_col(info, "sku_id", DUCKDB_TYPE_BIGINT);
    add_col(info, "title", DUCKDB_TYPE_VARCHAR);
    add_col(info, "brand", DUCKDB_TYPE_VARCHAR);
    add_col(info, "category_id", DUCKDB_TYPE_INTEGER);
    add_col(info, "price_usd", DUCKDB_TYPE_DECIMAL);
    add_col(info, "color", DUCKDB_TYPE_VARCHAR);
    add_col(info, "material", DUCKDB_TYPE_VARCHAR);
    add_col(info, "launched_on", DUCKDB_TYPE_DATE);
    add_col(info, "is_active", DUCKDB_TYPE_BOOLEAN);
    bind_range(info);
}

static void bind_inventory(duckdb_bind_info info)
{
    add_col(info, "sku_id", DUCKDB_TYPE_BIGINT);
    add_col(info, "warehouse_id", DUCKDB_TYPE_INTEGER);
    add_col(info, "on_hand", DUCKDB_TYPE_INTEGER);
    add_col(info, "reserved", DUCKDB_TYPE_INTEGER);
    add_col(info, "reorder_point", DUCKDB_TYPE_INTEGER);
    add_col(info, "updated_at", DUCKDB_TYPE_TIMESTAMP);
    bind_range(info);
}

static void init_global(duckdb_init_info info)
{
    const gen_range_t *r = duckdb_init_get_bind_data(info);
    const gen_ctx_t *ctx = duckdb_init_get_extra_info(info);
    gen_global_t *gs = gw_malloc(sizeof *gs);
    if (gs == NULL) {
        duckdb_init_set_error(info, "out of memory");
        return;
    }
    atomic_init(&gs->next, r->first);
    gs->end = r->end;
    duckdb_init_set_init_data(info, gs, gw_free);
    duckdb_init_set_max_threads(info, ctx->threads);
}

static void init_local(duckdb_init_info info)
{
    gen_local_t *ls = gw_calloc(1, sizeof *ls);
    if (ls == NULL) {
        duckdb_init_set_error(info, "out of memory");
        return;
    }
    duckdb_init_set_init_data(info, ls, gw_free);
}

/* Claims the next block of SKUs into ls; 0 when none is left. */
static int claim(gen_global_t *gs, gen_local_t *ls)
{
    uint64_t s = atomic_fetch_add(&gs->next, BLOCK);
    if (s >= gs->end)
        return 0;
    ls->cur = s;
    ls->end = gs->end - s < BLOCK ? gs->end : s + BLOCK;
    return 1;
}

static void *col(duckdb_data_chunk c, idx_t i)
{
    return duckdb_vector_get_data(duckdb_data_chunk_get_vector(c, i));
}

/* Sets element i of a VARCHAR vector. Strings of up to 12 bytes are
 * written inline into the duckdb_string_t (its documented layout), which
 * skips the vector's string heap; longer ones are copied by DuckDB. */
static void put_str(duckdb_vector v, duckdb_string_t *d, idx_t i, const char *s, size_t n)
{
    if (n > sizeof d->value.inlined.inlined) {
        duckdb_vector_assign_string_element_len(v, i, s, n);
        return;
    }
    duckdb_string_t x;
    memset(&x, 0, sizeof x);
    x.value.inlined.length = (uint32_t)n;
    memcpy(x.value.inlined.inlined, s, n);
    d[i] = x;
}

static void fill_skus(duckdb_function_info info, duckdb_data_chunk out)
{
    gen_ctx_t *ctx = duckdb_function_get_extra_info(info);
    gen_global_t *gs = duckdb_function_get_init_data(info);
    gen_local_t *ls = duckdb_function_get_local_init_data(info);
    if (!claim(gs, ls)) {
        duckdb_data_chunk_set_size(out, 0);
        return;
    }
    int64_t *id = col(out, 0), *price = col(out, 4);
    int32_t *cat = col(out, 3);
    duckdb_date *day = col(out, 7);
    bool *active = col(out, 8);
    duckdb_vector title = duckdb_data_chunk_get_vector(out, 1), brand = duckdb_data_chunk_get_vector(out, 2),
                  color = duckdb_data_chunk_get_vector(out, 5), material = duckdb_data_chunk_get_vector(out, 6);
    duckdb_string_t *brand_s = duckdb_vector_get_data(brand), *color_s = duckdb_vector_get_data(color),
                    *material_s = duckdb_vector_get_data(material);
    gw_cat_sku_t s;
    idx_t n = (idx_t)(ls->end - ls->cur);
    for (idx_t i = 0; i < n; i++) {
        gw_catgen_sku(ctx->g, ls->cur + i, &s);
        id[i] = s.sku_id;
        duckdb_vector_assign_string_element_len(title, i, s.title, s.title_len);
        put_str(brand, brand_s, i, s.brand, strlen(s.brand));
        cat[i] = s.category_id;
        price[i] = s.price_cents;
        put_str(color, color_s, i, s.color, strlen(s.color));
        put_str(material, material_s, i, s.material, strlen(s.material));
        day[i].days = s.launched_on;
        active[i] = s.is_active;
    }
    duckdb_data_chunk_set_size(out, n);
    atomic_fetch_add(&ctx->done, n);
}

static void fill_inventory(duckdb_function_info info, duckdb_data_chunk out)
{
    gen_ctx_t *ctx = duckdb_function_get_extra_info(info);
    gen_global_t *gs = duckdb_function_get_init_data(info);
    gen_local_t *ls = duckdb_function_get_local_init_data(info);
    int64_t *id = col(out, 0);
    int32_t *wh = col(out, 1), *on_hand = col(out, 2), *reserved = col(out, 3), *reorder = col(out, 4);
    duckdb_timestamp *updated = col(out, 5);
    idx_t n = 0, cap = duckdb_vector_size();
    uint64_t skus_done = 0;
    while (n < cap) {
        if (ls->next_stock == ls->n_stock) {
            if (ls->cur == ls->end && !claim(gs, ls))
                break;
            ls->n_stock = gw_catgen_stock(ctx->g, ls->cur, ls->stock);
            ls->next_stock = 0;
            ls->cur++;
            skus_done++;
        }
        const gw_cat_stock_t *k = &ls->stock[ls->next_stock++];
        id[n] = GW_CATALOG_SKU_ID_BASE + (int64_t)(ls->cur - 1);
        wh[n] = k->warehouse_id;
        on_hand[n] = k->on_hand;
        reserved[n] = k->reserved;
        reorder[n] = k->reorder_point;
        updated[n].micros = k->updated_at;
        n++;
    }
    duckdb_data_chunk_set_size(out, n);
    atomic_fetch_add(&ctx->done, skus_done);
}

static gw_err_t register_fn(duckdb_connection con, gen_ctx_t *ctx, const char *name,
                            duckdb_table_function_bind_t bind, duckdb_table_function_t fn)
{
    duckdb_table_function tf = duckdb_create_table_function();
    duckdb_logical_type big = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_table_function_set_name(tf, name);
    duckdb_table_function_add_parameter(tf, big);
    duckdb_table_function_add_parameter(tf, big);
    duckdb_table_function_set_extra_info(tf, ctx, NULL);
    duckdb_table_function_set_bind(tf, bind);
    duckdb_table_function_set_init(tf, init_global);
    duckdb_table_function_set_local_init(tf, init_local);
    duckdb_table_function_set_function(tf, fn);
    duckdb_state st = duckdb_register_table_function(con, tf);
    duckdb_destroy_logical_type(&big);
    duckdb_destroy_table_function(&tf);
    return st == DuckDBSuccess ? GW_OK : GW_EIO;
}

/* ---- helpers ---- */

static gw_err_t run_sql(duckdb_connection con, const char *sql, int64_t *rows, char *err, size_t errlen)
{
    duckdb_result res;
    if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
        const char *e = duckdb_result_error(&res);
        snprintf(err, errlen, "duckdb: %s", e != NULL ? e : "query failed");
        duckdb_destroy_result(&res);
        return GW_EIO;
    }
    if (rows != NULL)
        *rows = (int64_t)duckdb_rows_changed(&res);
    duckdb_destroy_result(&res);
    return GW_OK;
}

/* Appends 'path' as a SQL string literal. */
static gw_err_t add_sql_str(gw_buf_t *b, const char *s)
{
    gw_err_t rc = gw_buf_add(b, "'", 1);
    for (const char *p = s; rc == GW_OK && *p != '\0'; p++)
        rc = *p == '\'' ? gw_buf_add(b, "''", 2) : gw_buf_add(b, p, 1);
    return rc == GW_OK ? gw_buf_add(b, "'", 1) : rc;
}

/* mkdir -p of the directory part of path (when `whole`, of path itself). */
static gw_err_t make_dirs(const char *path, int whole, char *err, size_t errlen)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp) {
        snprintf(err, errlen, "path too long: %s", path);
        return GW_EINVAL;
    }
    memcpy(tmp, path, n + 1);
    if (!whole) {
        char *slash = strrchr(tmp, '/');
        if (slash == NULL)
            return GW_OK;
        *slash = '\0';
    }
    for (char *p = tmp + 1;; p++) {
        char c = *p;
        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (tmp[0] != '\0' && mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", tmp, strerror(errno));
            return GW_EIO;
        }
        *p = c;
        if (c == '\0')
            return GW_OK;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the small tables ---- */

static gw_err_t appender_fail(duckdb_appender app, const char *table, char *err, size_t errlen)
{
    duckdb_error_data e = duckdb_appender_error_data(app);
    const char *m = e != NULL ? duckdb_error_data_message(e) : NULL;
    snprintf(err, errlen, "duckdb: appending to %s: %s", table, m != NULL ? m : "failed");
    duckdb_destroy_error_data(&e);
    return GW_EIO;
}

static duckdb_state append_str(duckdb_appender app, const char *s)
{
    return duckdb_append_varchar(app, s);
}

static gw_err_t write_categories(duckdb_connection con, const gw_taxonomy_t *t, char *err, size_t errlen)
{
    duckdb_appender app = NULL;
    gw_err_t rc = GW_OK;
    if (duckdb_appender_create(con, NULL, "categories", &app) != DuckDBSuccess)
        return appender_fail(app, "categories", err, errlen);
    for (size_t i = 0; i < t->n_nodes; i++) {
        const gw_tax_node_t *n = &t->nodes[i];
        duckdb_state st = duckdb_append_int32(app, n->id);
        st |= n->parent_id == 0 ? duckdb_append_null(app) : duckdb_append_int32(app, n->parent_id);
        st |= append_str(app, n->name);
        st |= append_str(app, n->path);
        st |= duckdb_append_int32(app, n->depth);
        st |= duckdb_appender_end_row(app);
        if (st != DuckDBSuccess)
            break;
    }
    if (duckdb_appender_close(app) != DuckDBSuccess)
        rc = appender_fail(app, "categories", err, errlen);
    duckdb_appender_destroy(&app);
    return rc;
}

static gw_err_t write_warehouses(duckdb_connection con, const gw_taxonomy_t *t, char *err, size_t errlen)
{
    duckdb_appender app = NULL;
    gw_err_t rc = GW_OK;
    if (duckdb_appender_create(con, NULL, "warehouses", &app) != DuckDBSuccess)
        return appender_fail(app, "warehouses", err, errlen);
    for (size_t i = 0; i < t->n_warehouses; i++) {
        const gw_tax_warehouse_t *w = &t->warehouses[i];
        duckdb_state st = duckdb_append_int32(app, w->id);
        st |= append_str(app, w->code);
        st |= append_str(app, w->name);
        st |= append_str(app, w->city);
        st |= append_str(app, w->state);
        st |= append_str(app, w->region);
        st |= duckdb_appender_end_row(app);
        if (st != DuckDBSuccess)
            break;
    }
    if (duckdb_appender_close(app) != DuckDBSuccess)
        rc = appender_fail(app, "warehouses", err, errlen);
    duckdb_appender_destroy(&app);
    return rc;
}

/* ---- progress ---- */

typedef struct progress {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, running;
    pthread_t th;
    const gen_ctx_t *ctx;
    uint64_t total;
    gw_catalog_progress_cb cb;
    void *data;
} progress_t;

static void *progress_main(void *arg)
{
    progress_t *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        if (!p->stop)
            p->cb(atomic_load(&p->ctx->done), p->total, p->data);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void progress_start(progress_t *p, const gen_ctx_t *ctx, uint64_t total, const gw_catalog_opts_t *o)
{
    pthread_condattr_t ca;
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    p->total = total;
    p->cb = o->progress;
    p->data = o->progress_data;
    if (p->cb == NULL)
        return;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->running = pthread_create(&p->th, NULL, progress_main, p) == 0;
    p->cb(0, total, p->data);
}

static void progress_stop(progress_t *p, int finished)
{
    if (p->cb == NULL)
        return;
    if (p->running) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->th, NULL);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    if (finished)
        p->cb(p->total, p->total, p->data);
}

/* ---- one run ---- */

typedef struct writer {
    const gw_catalog_opts_t *o;
    gw_taxonomy_t *tax;
    gw_catgen_t *g;
    gen_ctx_t ctx;
    uint64_t first, end;
    duckdb_database db;
    duckdb_connection con;
    char tmp[4200]; /* duckdb format: the file being written */
    gw_catalog_stats_t st;
} writer_t;

static gw_err_t set_cfg(duckdb_config cfg, const char *name, const char *value, char *err, size_t errlen)
{
    if (duckdb_set_config(cfg, name, value) == DuckDBSuccess)
        return GW_OK;
    snprintf(err, errlen, "duckdb: bad setting %s=%s", name, value);
    return GW_EIO;
}

static gw_err_t open_db(writer_t *w, const char *path, char *err, size_t errlen)
{
    duckdb_config cfg = NULL;
    char threads[16], *open_err = NULL;
    gw_err_t rc = GW_EIO;
    snprintf(threads, sizeof threads, "%u", w->ctx.threads);
    if ((rc = gw_duckdb_load(err, errlen)) != GW_OK)
        return rc;
    if (duckdb_create_config(&cfg) != DuckDBSuccess) {
        snprintf(err, errlen, "duckdb: cannot create config");
        return GW_ENOMEM;
    }
    if ((rc = set_cfg(cfg, "threads", threads, err, errlen)) != GW_OK ||
        (rc = set_cfg(cfg, "autoinstall_known_extensions", "false", err, errlen)) != GW_OK ||
        (rc = set_cfg(cfg, "autoload_known_extensions", "false", err, errlen)) != GW_OK ||
        (rc = set_cfg(cfg, "preserve_insertion_order", "false", err, errlen)) != GW_OK)
        goto out;
    rc = GW_EIO;
    if (duckdb_open_ext(path, &w->db, cfg, &open_err) != DuckDBSuccess) {
        snprintf(err, errlen, "duckdb: open %s: %s", path, open_err != NULL ? open_err : "failed");
        goto out;
    }
    if (duckdb_connect(w->db, &w->con) != DuckDBSuccess) {
        snprintf(err, errlen, "duckdb: connect failed");
        goto out;
    }
    if (register_fn(w->con, &w->ctx, "gw_gen_skus", bind_skus, fill_skus) != GW_OK ||
        register_fn(w->con, &w->ctx, "gw_gen_inventory", bind_inventory, fill_inventory) != GW_OK) {
        snprintf(err, errlen, "duckdb: cannot register the generator functions");
        goto out;
    }
    rc = GW_OK;
out:
    if (open_err != NULL)
        duckdb_free(open_err);
    duckdb_destroy_config(&cfg);
    return rc;
}

static gw_err_t write_small(writer_t *w, char *err, size_t errlen)
{
    gw_err_t rc = run_sql(w->con, gw_catalog_ddl_duckdb, NULL, err, errlen);
    if (rc == GW_OK)
        rc = write_categories(w->con, w->tax, err, errlen);
    if (rc == GW_OK)
        rc = write_warehouses(w->con, w->tax, err, errlen);
    w->st.categories = w->tax->n_nodes;
    w->st.warehouses = w->tax->n_warehouses;
    return rc;
}

/* INSERT (duckdb) or COPY (parquet, csv) of one big table. */
static gw_err_t write_big(writer_t *w, const char *table, const char *target, int64_t *rows, char *err,
                          size_t errlen)
{
    gw_buf_t sql;
    gw_err_t rc;
    gw_buf_init(&sql, 8192);
    if (target == NULL) {
        rc = gw_buf_printf(&sql, "INSERT INTO %s SELECT * FROM gw_gen_%s(%llu, %llu)", table, table,
                           (unsigned long long)w->first, (unsigned long long)w->end);
    } else {
        rc = gw_buf_printf(&sql, "COPY (SELECT * FROM gw_gen_%s(%llu, %llu)) TO ", table,
                           (unsigned long long)w->first, (unsigned long long)w->end);
        if (rc == GW_OK)
            rc = add_sql_str(&sql, target);
        if (rc == GW_OK)
            rc = gw_buf_adds(&sql, w->o->format == GW_CATALOG_PARQUET ? " (FORMAT parquet)"
                                                                       : " (FORMAT csv, HEADER true)");
    }
    if (rc == GW_OK)
        rc = run_sql(w->con, sql.ptr, rows, err, errlen);
    else
        snprintf(err, errlen, "path too long");
    gw_buf_free(&sql);
    return rc;
}

static gw_err_t write_duckdb(writer_t *w, char *err, size_t errlen)
{
    int64_t n = 0;
    gw_err_t rc = write_big(w, "skus", NULL, &n, err, errlen);
    w->st.skus = (uint64_t)n;
    if (rc == GW_OK)
        rc = write_big(w, "inventory", NULL, &n, err, errlen);
    w->st.inventory = (uint64_t)n;
    if (rc == GW_OK)
        rc = run_sql(w->con, "CHECKPOINT", NULL, err, errlen);
    return rc;
}

/* COPY one table (small: from the instance; big: from its generator) to
 * out/<table>.<ext> through a temporary name. */
static gw_err_t copy_table(writer_t *w, const char *table, int big, uint64_t *count, char *err, size_t errlen)
{
    const char *ext = w->o->format == GW_CATALOG_PARQUET ? "parquet" : "csv";
    char final[4200], tmp[4300];
    int64_t n = 0;
    gw_err_t rc;
    snprintf(final, sizeof final, "%s/%s.%s", w->o->out, table, ext);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", final, (long)getpid());
    if (big) {
        rc = write_big(w, table, tmp, &n, err, errlen);
    } else {
        gw_buf_t sql;
        gw_buf_init(&sql, 8192);
        rc = gw_buf_printf(&sql, "COPY %s TO ", table);
        if (rc == GW_OK && (rc = add_sql_str(&sql, tmp)) == GW_OK)
            rc = gw_buf_adds(&sql, w->o->format == GW_CATALOG_PARQUET ? " (FORMAT parquet)"
                                                                       : " (FORMAT csv, HEADER true)");
        rc = rc == GW_OK ? run_sql(w->con, sql.ptr, &n, err, errlen) : rc;
        gw_buf_free(&sql);
    }
    if (rc == GW_OK && rename(tmp, final) != 0) {
        snprintf(err, errlen, "rename %s: %s", final, strerror(errno));
        rc = GW_EIO;
    }
    if (rc != GW_OK)
        unlink(tmp);
    *count = (uint64_t)n;
    return rc;
}

static gw_err_t write_files(writer_t *w, char *err, size_t errlen)
{
    uint64_t n;
    gw_err_t rc = copy_table(w, "categories", 0, &n, err, errlen);
    if (rc == GW_OK)
        rc = copy_table(w, "warehouses", 0, &n, err, errlen);
    if (rc == GW_OK)
        rc = copy_table(w, "skus", 1, &w->st.skus, err, errlen);
    if (rc == GW_OK)
        rc = copy_table(w, "inventory", 1, &w->st.inventory, err, errlen);
    return rc;
}

static gw_err_t check_opts(const gw_catalog_opts_t *o, char *err, size_t errlen)
{
    if (o->out == NULL || o->out[0] == '\0')
        snprintf(err, errlen, "no output path");
    else if (o->skus == 0 || o->skus > (uint64_t)1 << 40)
        snprintf(err, errlen, "--skus must be 1..2^40");
    else if (o->threads < 1 || o->threads > 64)
        snprintf(err, errlen, "--threads must be 1..64");
    else if (o->shard_count < 1 || o->shard_index >= o->shard_count)
        snprintf(err, errlen, "--shard i/n needs 0 <= i < n");
    else if (o->format != GW_CATALOG_DUCKDB && o->format != GW_CATALOG_PARQUET && o->format != GW_CATALOG_CSV)
        snprintf(err, errlen, "unknown format");
    else
        return GW_OK;
    return GW_EINVAL;
}

static void close_db(writer_t *w)
{
    if (w->con != NULL)
        duckdb_disconnect(&w->con);
    if (w->db != NULL)
        duckdb_close(&w->db);
}

static void remove_db_files(const char *path)
{
    char wal[4300];
    snprintf(wal, sizeof wal, "%s.wal", path);
    unlink(path);
    unlink(wal);
}

/* Closes the finished file and moves it over the target. A stale WAL of
 * an old target would be replayed onto the new file, so it goes first. */
static gw_err_t publish_duckdb(writer_t *w, char *err, size_t errlen)
{
    char wal[4300];
    close_db(w);
    snprintf(wal, sizeof wal, "%s.wal", w->o->out);
    if (unlink(wal) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "unlink %s: %s", wal, strerror(errno));
        return GW_EIO;
    }
    if (rename(w->tmp, w->o->out) != 0) {
        snprintf(err, errlen, "rename to %s: %s", w->o->out, strerror(errno));
        return GW_EIO;
    }
    w->tmp[0] = '\0';
    return GW_OK;
}

static gw_err_t prepare(writer_t *w, char *err, size_t errlen)
{
    const gw_catalog_opts_t *o = w->o;
    const char *dir = o->data_dir != NULL ? o->data_dir : gw_taxonomy_default_dir();
    gw_err_t rc;
    if ((w->tax = gw_taxonomy_load(dir, err, errlen)) == NULL)
        return GW_EINVAL;
    if ((rc = gw_catgen_new(w->tax, o->seed, &w->g, err, errlen)) != GW_OK)
        return rc;
    w->ctx.g = w->g;
    w->ctx.threads = o->threads;
    atomic_init(&w->ctx.done, 0);
    gw_catalog_shard_range(o->skus, o->shard_index, o->shard_count, &w->first, &w->end);
    if (o->format != GW_CATALOG_DUCKDB)
        return make_dirs(o->out, 1, err, errlen);
    if ((rc = make_dirs(o->out, 0, err, errlen)) != GW_OK)
        return rc;
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp-%ld", o->out, (long)getpid());
    remove_db_files(w->tmp);
    return GW_OK;
}

gw_err_t gw_catalog_generate(const gw_catalog_opts_t *o, gw_catalog_stats_t *stats, char *err, size_t errlen)
{
    writer_t w;
    progress_t prog;
    int prog_on = 0;
    double t0 = now_s();
    gw_err_t rc = check_opts(o, err, errlen);
    memset(&w, 0, sizeof w);
    w.o = o;
    if (rc != GW_OK || (rc = prepare(&w, err, errlen)) != GW_OK)
        goto out;
    int to_file = o->format == GW_CATALOG_DUCKDB;
    if ((rc = open_db(&w, to_file ? w.tmp : ":memory:", err, errlen)) != GW_OK)
        goto out;
    if ((rc = write_small(&w, err, errlen)) != GW_OK)
        goto out;
    progress_start(&prog, &w.ctx, 2 * (w.end - w.first), o);
    prog_on = 1;
    rc = to_file ? write_duckdb(&w, err, errlen) : write_files(&w, err, errlen);
    progress_stop(&prog, rc == GW_OK);
    prog_on = 0;
    if (rc == GW_OK && to_file)
        rc = publish_duckdb(&w, err, errlen);
    if (rc == GW_OK && stats != NULL) {
        *stats = w.st;
        stats->seconds = now_s() - t0;
    }
out:
    if (prog_on)
        progress_stop(&prog, 0);
    close_db(&w);
    if (w.tmp[0] != '\0')
        remove_db_files(w.tmp);
    gw_catgen_free(w.g);
    gw_taxonomy_free(w.tax);
    return rc;
}

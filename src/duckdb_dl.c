/* duckdb_dl.c - loads libduckdb.so with dlopen on first use and resolves the
 * project's DuckDB C API into one table of function pointers.
 *
 * "libduckdb.so" is looked up by dlopen (LD_LIBRARY_PATH, the caller's
 * RUNPATH, system dirs) and then, by hand, in each directory of the
 * executable's own search list (dlinfo RTLD_DI_SERINFO): a sanitizer's
 * dlopen interceptor makes libasan the caller, whose RUNPATH is not ours.
 *
 * The table and the load outcome are the only process-wide state: written
 * once under pthread_once, read-only afterwards. The library is never closed.
 */
#include "duckdb_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define DEFAULT_LIB "libduckdb.so"

typedef struct loader {
    pthread_once_t once;
    gw_err_t rc;
    const char *lib;
    char why[512];
    gw_duckdb_api_t api;
} loader_t;

static loader_t g_loader = {.once = PTHREAD_ONCE_INIT, .rc = GW_ENOTFOUND};

static const char *lib_path(void)
{
    const char *env = getenv("LLMGW_DUCKDB_LIB");
    return env != NULL && env[0] != '\0' ? env : DEFAULT_LIB;
}

/* dlsym into *slot; false (and the reason in why) when missing */
static int resolve(void *h, const char *name, void **slot, char *why, size_t n)
{
    dlerror();
    *slot = dlsym(h, name);
    if (*slot != NULL)
        return 1;
    snprintf(why, n, "symbol %s missing in %s", name, g_loader.lib);
    return 0;
}

/* DEFAULT_LIB in each directory the executable's own lookups search. */
static void *open_in_search_dirs(void)
{
    void *self = dlopen(NULL, RTLD_NOW), *h = NULL;
    Dl_serinfo size;
    Dl_serinfo *info = NULL;
    char path[4200];
    if (self == NULL || dlinfo(self, RTLD_DI_SERINFOSIZE, &size) != 0 || (info = gw_malloc(size.dls_size)) == NULL)
        goto out;
    *info = size;
    if (dlinfo(self, RTLD_DI_SERINFO, info) != 0)
        goto out;
    for (unsigned i = 0; h == NULL && i < info->dls_cnt; i++)
        if ((size_t)snprintf(path, sizeof path, "%s/%s", info->dls_serpath[i].dls_name, DEFAULT_LIB) < sizeof path)
            h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
out:
    gw_free(info);
    if (self != NULL)
        dlclose(self);
    return h;
}

static void load_once(void)
{
    loader_t *l = &g_loader;
    l->lib = lib_path();
    void *h = dlopen(l->lib, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        snprintf(l->why, sizeof(l->why), "cannot load DuckDB (%s): %s; set LLMGW_DUCKDB_LIB to the "
                 "path of libduckdb.so", l->lib, e != NULL ? e : "unknown error");
        if (strcmp(l->lib, DEFAULT_LIB) == 0)
            h = open_in_search_dirs();
        if (h == NULL)
            return;
    }
    int ok = 1;
    /* a function pointer is stored through a void * slot: POSIX guarantees
     * dlsym's object pointer converts back to the function's type */
#define GW_DUCKDB_RESOLVE_(fn) \
    ok = ok && resolve(h, #fn, (void **)&l->api.fn, l->why, sizeof(l->why));
    GW_DUCKDB_FUNCS(GW_DUCKDB_RESOLVE_)
#undef GW_DUCKDB_RESOLVE_
    if (ok)
        l->rc = GW_OK;
}

gw_err_t gw_duckdb_load(char *err, size_t errlen)
{
    pthread_once(&g_loader.once, load_once);
    if (g_loader.rc != GW_OK && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", g_loader.why);
    return g_loader.rc;
}

const gw_duckdb_api_t *gw_duckdb_api(void)
{
    pthread_once(&g_loader.once, load_once);
    if (g_loader.rc != GW_OK) {
        fprintf(stderr, "llmgw: DuckDB call without a loaded library: %s\n", g_loader.why);
        abort();
    }
    return &g_loader.api;
}

const char *gw_duckdb_lib_name(void)
{
    return lib_path();
}

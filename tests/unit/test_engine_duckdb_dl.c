/* test_engine_duckdb_dl.c - libduckdb.so is loaded on demand: not mapped
 * before the first use, found through the executable's RUNPATH, overridable
 * with LLMGW_DUCKDB_LIB, and a missing library gives a clear error from every
 * entry point (engine, guard, generator) instead of a crash.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog_gen.h"
#include "duckdb_dl.h"
#include "engine.h"
#include "sql_guard.h"
#include "test.h"

/* 1 when a libduckdb mapping is in /proc/self/maps */
static int duckdb_mapped(void)
{
    char line[1024];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, "libduckdb.so") != NULL;
    fclose(f);
    return found;
}

/* In a child: with LLMGW_DUCKDB_LIB pointing nowhere, every entry point
 * refuses with the path and the hint; exit status = number of failed checks. */
static int missing_library_child(void)
{
    char err[512] = "";
    int bad = 0;
    gw_engine_t *e = NULL;
    gw_duckdb_opts_t o = {.path = "/tmp/none.duckdb", .threads = 1, .memory_limit = "64MB"};
    setenv("LLMGW_DUCKDB_LIB", "/nonexistent/libduckdb.so", 1);
    bad += gw_engine_duckdb_open(&o, &e, err, sizeof err) != GW_ENOTFOUND || e != NULL;
    bad += strstr(err, "/nonexistent/libduckdb.so") == NULL || strstr(err, "LLMGW_DUCKDB_LIB") == NULL;
    fprintf(stderr, "engine: %s\n", err);
    err[0] = '\0';
    gw_guard_t *g = gw_guard_new(GW_SQL_DUCKDB, err, sizeof err);
    bad += g != NULL || strstr(err, "/nonexistent/libduckdb.so") == NULL;
    gw_guard_free(g);
    gw_catalog_opts_t go = {.skus = 100, .seed = 1, .out = "/tmp/h5-never.duckdb",
                            .format = GW_CATALOG_DUCKDB, .threads = 1, .shard_count = 1};
    err[0] = '\0';
    bad += gw_catalog_generate(&go, NULL, err, sizeof err) == GW_OK || strstr(err, "LLMGW_DUCKDB_LIB") == NULL;
    bad += access("/tmp/h5-never.duckdb", F_OK) == 0;
    bad += gw_duckdb_load(NULL, 0) != GW_ENOTFOUND; /* the outcome is sticky */
    bad += duckdb_mapped() != 0;
    return bad;
}

static int run_child(int (*fn)(void))
{
    pid_t pid = fork();
    int st = 0;
    if (pid == 0)
        _exit(fn());
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* In a child: an explicit LLMGW_DUCKDB_LIB that exists is used. */
static int explicit_path_child(void)
{
    setenv("LLMGW_DUCKDB_LIB", GW_SOURCE_DIR "/third_party/duckdb/libduckdb.so", 1);
    if (gw_duckdb_load(NULL, 0) != GW_OK)
        return 1;
    return strcmp(duckdb_library_version(), "v1.4.4") == 0 ? 0 : 2;
}

int main(void)
{
    char err[512] = "";
    Dl_info info;
    unsetenv("LLMGW_DUCKDB_LIB");
    T_OK(duckdb_mapped() == 0, "libduckdb.so is not mapped before the first use");
    T_OK(run_child(missing_library_child) == 0, "a missing library is refused cleanly by every entry point");
    T_OK(run_child(explicit_path_child) == 0, "LLMGW_DUCKDB_LIB with a real path loads it");
    T_OK(gw_duckdb_load(err, sizeof err) == GW_OK, "loads through RUNPATH: %s", err);
    T_STREQ(gw_duckdb_lib_name(), "libduckdb.so", "default name");
    T_OK(duckdb_mapped() == 1, "mapped after the load");
    T_OK(dladdr((void *)gw_duckdb_api()->duckdb_open, &info) != 0 && info.dli_fname != NULL &&
             strcmp(info.dli_fname, GW_SOURCE_DIR "/third_party/duckdb/libduckdb.so") == 0,
         "resolved from third_party/duckdb (RUNPATH): %s", info.dli_fname ? info.dli_fname : "?");
    T_OK(gw_duckdb_load(NULL, 0) == GW_OK && gw_duckdb_api() == gw_duckdb_api(), "loads once");
    duckdb_database db = NULL;
    duckdb_connection con = NULL;
    duckdb_result res;
    T_OK(duckdb_open(NULL, &db) == DuckDBSuccess && duckdb_connect(db, &con) == DuckDBSuccess, "open in memory");
    T_OK(duckdb_query(con, "SELECT 40 + 2", &res) == DuckDBSuccess && duckdb_value_int64(&res, 0, 0) == 42,
         "a query through the table");
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return t_done("test_engine_duckdb_dl");
}

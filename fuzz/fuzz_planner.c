/* fuzz_planner.c - libFuzzer target for the rules planner
 * (src/planner_rules.h): any text is linked and planned; an OK plan must
 * render in the three dialects, and its DuckDB SQL must pass the DuckDB
 * guard and its ClickHouse SQL the ClickHouse guard (a refusal is a planner
 * bug: we abort); a refused plan must say why and render nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "planner_rules.h"
#include "retriever.h"
#include "sql_guard.h"
#include "taxonomy.h"

static gw_taxonomy_t *tax;
static gw_retriever_t *rt;
static gw_guard_t *gduck, *gch;
static gw_planner_ctx_t ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    (void)argc, (void)argv;
    tax = gw_taxonomy_load(GW_SOURCE_DIR "/data", err, sizeof err);
    rt = tax != NULL ? gw_retriever_new(tax, NULL, err, sizeof err) : NULL;
    gduck = gw_guard_new(GW_SQL_DUCKDB, err, sizeof err);
    gch = gw_guard_new(GW_SQL_CLICKHOUSE, err, sizeof err);
    if (rt == NULL || gduck == NULL || gch == NULL || gw_plan_parse_day("2026-10-31", 10, &ctx.today) != 0)
        abort();
    ctx.rt = rt;
    ctx.tax = tax;
    return 0;
}

static void render(const gw_plan_t *p, gw_dialect_t d, gw_guard_t *g)
{
    gw_buf_t b, out;
    gw_sql_target_t t = {d, "proj", "retail"};
    gw_guard_verdict_t v;
    gw_buf_init(&b, 65536);
    gw_buf_init(&out, 65536 + 64);
    if (gw_plan_sql(p, &t, &b) != GW_OK || b.len == 0)
        abort();
    if (g != NULL && gw_guard_check(g, b.ptr, b.len, 1000, &out, &v) != GW_OK)
        abort();
    gw_buf_free(&b);
    gw_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char q[GW_RT_MAX_QUESTION + 1];
    gw_rquery_t rq;
    gw_plan_t p;
    if (size > GW_RT_MAX_QUESTION || memchr(data, '\0', size) != NULL)
        return 0;
    memcpy(q, data, size);
    q[size] = '\0';
    if (gw_retriever_link(rt, q, size, &rq) != GW_OK)
        return 0;
    if (gw_plan_rules(&ctx, q, &rq, &p) != GW_OK)
        abort();
    if (p.status == GW_PLAN_OK) {
        render(&p, GW_DIALECT_DUCKDB, gduck);
        render(&p, GW_DIALECT_CLICKHOUSE, gch);
        render(&p, GW_DIALECT_BIGQUERY, NULL);
    } else if (p.message[0] == '\0') {
        abort();
    }
    gw_rquery_free(&rq);
    return 0;
}

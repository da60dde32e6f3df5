/* ask_cli.c - `llmgw ask "QUESTION"` (ask_cli.h): options, the engine and
 * SQL guard as `llmgw sql` opens them, one gw_ask_run, and the answer on
 * stdout (the sentence, or the JSON object with --json). When the config
 * asks for the LLM planner or formatter, a private loop thread runs the
 * router (llm_call.h) and the formatter's text streams to the terminal.
 */
#include "ask_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "ask.h"
#include "buf.h"
#include "config.h"
#include "engine.h"
#include "llm_call.h"
#include "sql_guard.h"

static const char usage[] = "usage: llmgw ask [--json] [--engine duckdb|clickhouse|bigquery] [--config FILE]\n"
                            "         [--db PATH] [--max-rows N] [--timeout-ms MS] \"QUESTION\"\n";

typedef struct ask_args {
    const char *config, *db, *engine, *question;
    int json;
    unsigned long max_rows, timeout_ms;
} ask_args_t;

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int ask_option(ask_args_t *a, int argc, char **argv, int *i)
{
    const char *v = NULL;
    int r;
    if (strcmp(argv[*i], "--json") == 0)
        return a->json = 1;
    if ((r = gw_cli_opt_value(argc, argv, i, "--config", &v)) != 0)
        return r < 0 ? -1 : (a->config = v, 1);
    if ((r = gw_cli_opt_value(argc, argv, i, "--db", &v)) != 0)
        return r < 0 ? -1 : (a->db = v, 1);
    if ((r = gw_cli_opt_value(argc, argv, i, "--engine", &v)) != 0) {
        if (r < 0 || (strcmp(v, "duckdb") != 0 && strcmp(v, "clickhouse") != 0 && strcmp(v, "bigquery") != 0))
            return -1;
        a->engine = v;
        return 1;
    }
    if ((r = gw_cli_opt_value(argc, argv, i, "--max-rows", &v)) != 0)
        return r < 0 || parse_ulong(v, 1000000, &a->max_rows) != 0 ? -1 : 1;
    if ((r = gw_cli_opt_value(argc, argv, i, "--timeout-ms", &v)) != 0)
        return r < 0 || parse_ulong(v, 3600000, &a->timeout_ms) != 0 ? -1 : 1;
    if (argv[*i][0] == '-' && argv[*i][1] != '\0')
        return 0;
    if (a->question != NULL)
        return -1;
    a->question = argv[*i];
    return 1;
}

static int ask_parse(ask_args_t *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        int r = ask_option(a, argc, argv, &i);
        if (r <= 0) {
            fprintf(stderr, "llmgw ask: %s '%s'\n%s", r < 0 ? "bad or extra argument" : "unknown option", argv[i],
                    usage);
            return -1;
        }
    }
    if (a->question == NULL) {
        fprintf(stderr, "llmgw ask: no question\n%s", usage);
        return -1;
    }
    if (a->db != NULL && a->engine != NULL && strcmp(a->engine, "duckdb") != 0) {
        fprintf(stderr, "llmgw ask: --db is a DuckDB file; it can't go with --engine %s\n", a->engine);
        return -1;
    }
    return 0;
}

/* A runtime failure: the message on stderr, and with --json the OpenAI
 * error object on stdout. */
static void fail(const ask_args_t *a, const char *code, const char *message)
{
    fprintf(stderr, "llmgw ask: %s\n", message);
    if (!a->json)
        return;
    gw_buf_t b;
    gw_buf_init(&b, 1u << 16);
    if (gw_buf_adds(&b, "{\"error\":{\"message\":\"") == GW_OK &&
        gw_buf_add_json_str(&b, message, strlen(message)) == GW_OK &&
        gw_buf_printf(&b, "\",\"type\":\"server_error\",\"param\":null,\"code\":\"%s\"}}\n", code) == GW_OK)
        fputs(b.ptr, stdout);
    gw_buf_free(&b);
}

static gw_config_t *ask_load_config(const ask_args_t *a, char *err, size_t errlen)
{
    gw_config_t *cfg = gw_cli_load_config(a->config, err, errlen);
    if (cfg == NULL && err[0] == '\0')
        snprintf(err, errlen, "out of memory");
    if (cfg != NULL && a->engine != NULL) { /* --engine overrides ask.engine */
        char *e = gw_strdup(a->engine);
        if (e == NULL) {
            gw_config_unref(cfg);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        gw_free(cfg->ask.engine);
        cfg->ask.engine = e;
    }
    return cfg;
}

/* The engine, guarded like `llmgw sql`. BigQuery names tables
 * `project.dataset.table`, which the DuckDB-dialect guard refuses, so its
 * engine keeps only its own checks: gw_ask_run guards the DuckDB form of
 * the same plan before the BigQuery text runs. */
static gw_err_t open_engine(const ask_args_t *a, const gw_config_t *cfg, gw_guard_t *guard, gw_engine_t **e,
                            char *err, size_t errlen)
{
    if (a->db != NULL) {
        gw_duckdb_opts_t o = {0};
        o.path = a->db;
        o.check = gw_guard_engine_hook;
        o.check_data = guard;
        return gw_engine_duckdb_open(&o, e, err, errlen);
    }
    int bq = cfg->ask.engine != NULL && strcmp(cfg->ask.engine, "bigquery") == 0;
    return gw_engine_open(cfg, bq ? NULL : gw_guard_engine_hook, bq ? NULL : guard, e, err, errlen);
}

/* The LLM formatter's text as it comes (sentence mode only). */
typedef struct streamed {
    gw_buf_t text;
} streamed_t;

static void on_token(void *data, const char *text, size_t len)
{
    streamed_t *s = data;
    gw_buf_add(&s->text, text, len);
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

static int print_answer(const ask_args_t *a, const gw_ask_answer_t *ans, const streamed_t *st)
{
    gw_buf_t b;
    gw_err_t rc = GW_OK;
    const char *text = ans->answer != NULL ? ans->answer : "";
    if (!a->json && st->text.len > 0 && strcmp(st->text.ptr, text) == 0) {
        printf("\n");
        return 0;
    }
    if (!a->json) {
        printf("%s%s%s\n", st->text.len > 0 ? "\n" : "",
               ans->replaced ? "(the LLM's answer had a number not in the rows; the checked answer:)\n" : "", text);
        return 0;
    }
    gw_buf_init(&b, 1u << 30);
    rc = gw_ask_answer_to_json(ans, &b);
    if (rc == GW_OK)
        rc = gw_buf_add(&b, "\n", 1);
    if (rc == GW_OK)
        fwrite(b.ptr, 1, b.len, stdout);
    gw_buf_free(&b);
    if (rc != GW_OK)
        fail(a, "internal_error", "the answer is too large to print");
    return rc == GW_OK ? 0 : 1;
}

int gw_ask_cmd(int argc, char **argv)
{
    ask_args_t a;
    gw_config_t *cfg = NULL;
    gw_guard_t *guard = NULL;
    gw_engine_t *e = NULL;
    gw_ask_t *ask = NULL;
    gw_ask_answer_t ans = {0};
    gw_llm_thread_t *llm = NULL;
    streamed_t st;
    char err[1024] = "";
    int code = 1;
    if (ask_parse(&a, argc, argv) != 0)
        return 2;
    gw_buf_init(&st.text, 1u << 20);
    if ((cfg = ask_load_config(&a, err, sizeof err)) == NULL) {
        fail(&a, "config_error", err);
        goto out;
    }
    /* --db is a DuckDB file whatever the config says; else the configured engine's own dialect */
    guard = a.db != NULL ? gw_guard_new(GW_SQL_DUCKDB, err, sizeof err) : gw_guard_new_for_config(cfg, err, sizeof err);
    if (guard == NULL) {
        fail(&a, "internal_error", err);
        goto out;
    }
    gw_err_t rc = open_engine(&a, cfg, guard, &e, err, sizeof err);
    if (rc != GW_OK) {
        fail(&a, rc == GW_ENOTFOUND ? "catalog_not_found" : "engine_error", err);
        goto out;
    }
    if ((ask = gw_ask_new(cfg, NULL, e, guard, err, sizeof err)) == NULL) {
        fail(&a, "internal_error", err);
        goto out;
    }
    gw_ask_opts_t o = {0};
    o.max_rows = a.max_rows;
    o.timeout_ms = (uint32_t)a.timeout_ms;
    if (gw_ask_wants_llm(ask) && (llm = gw_llm_thread_start(cfg, NULL, err, sizeof err)) == NULL) {
        fail(&a, "internal_error", err);
        goto out;
    }
    o.llm = llm != NULL ? gw_llm_thread_chan(llm) : NULL;
    if (!a.json) {
        o.on_token = on_token;
        o.cb_data = &st;
    }
    rc = gw_ask_run(ask, a.question, &o, &ans);
    if (rc == GW_EINVAL || rc == GW_ETOOBIG) {
        fprintf(stderr, "llmgw ask: %s\n", rc == GW_ETOOBIG ? "the question is too long" : "the question is not valid UTF-8 text");
        code = 2;
        goto out;
    }
    if (rc != GW_OK) {
        fail(&a, "internal_error", gw_strerror(rc));
        goto out;
    }
    code = print_answer(&a, &ans, &st);
out:
    fflush(stdout);
    gw_llm_thread_stop(llm);
    gw_buf_free(&st.text);
    gw_ask_answer_free(&ans);
    gw_ask_free(ask);
    gw_engine_close(e);
    gw_guard_free(guard);
    if (cfg != NULL)
        gw_config_unref(cfg);
    return code;
}

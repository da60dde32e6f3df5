/* test_keys.c - `llmgw keys create`: the YAML text edit (flow and block
 * tenants lists, missing or null tenants, existing tenants with flow,
 * block, empty, null or missing keys), the atomic file update (mode,
 * symlink, comments kept, refusal leaves the file untouched) and the
 * command's output and exit codes.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "keys.h"
#include "test.h"

#define H1 "blake2b:1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "blake2b:2222222222222222222222222222222222222222222222222222222222222222"
#define HN "blake2b:3333333333333333333333333333333333333333333333333333333333333333"

/* Edits in and compares with want (exactly); the result must also load. */
static void expect_edit(const char *in, const char *tenant, int admin, const char *want)
{
    gw_buf_t out;
    char err[256] = "";
    gw_buf_init(&out, 1 << 20);
    gw_err_t rc = gw_keys_add_hash(in, strlen(in), tenant, admin, HN, &out, err, sizeof err);
    T_OK(rc == GW_OK, "edit ok (%s): %s", err, in);
    T_STREQ(out.ptr, want, "edit of [%s]\ngot:\n%s\nwant:\n%s", in, out.ptr ? out.ptr : "(null)", want);
    gw_config_t *c = gw_config_parse(out.ptr, out.len, "edited", err, sizeof err);
    const gw_cfg_tenant_t *t = gw_config_tenant(c, tenant);
    T_OK(t != NULL && t->keys_len > 0 && strcmp(t->keys[t->keys_len - 1], HN) == 0 && t->admin == admin,
         "edited text loads with the new key last: %s", err);
    gw_config_unref(c);
    gw_buf_free(&out);
}

static void test_edit_flow(void)
{
    expect_edit("tenants: [{id: acme, keys: [\"" H1 "\"]}]\n", "acme", 0,
                "tenants: [{id: acme, keys: [\"" H1 "\", \"" HN "\"]}]\n");
    expect_edit("tenants: [{id: acme, keys: [\"" H1 "\"]}]  # the only one\n", "beta", 0,
                "tenants: [{id: acme, keys: [\"" H1 "\"]}, {id: beta, keys: [\"" HN "\"]}]  # the only one\n");
    expect_edit("tenants: []\n", "ops", 1, "tenants: [{id: ops, keys: [\"" HN "\"], admin: true}]\n");
    expect_edit("tenants: [{id: a, keys: []}]\n", "a", 0, "tenants: [{id: a, keys: [\"" HN "\"]}]\n");
    expect_edit("tenants: [{id: a, budget_usd: 5, rate: {rps: 1}}]\n", "a", 0,
                "tenants: [{id: a, budget_usd: 5, rate: {rps: 1}, keys: [\"" HN "\"]}]\n");
    expect_edit("tenants: [{id: a, keys: null}]\n", "a", 0, "tenants: [{id: a, keys: [\"" HN "\"]}]\n");
    expect_edit("tenants: [{id: a, keys: }]\n", "a", 0, "tenants: [{id: a, keys: [\"" HN "\"] }]\n");
    expect_edit("tenants: [{id: a, keys}]\n", "a", 0, "tenants: [{id: a, keys: [\"" HN "\"]}]\n");
    expect_edit("{tenants}", "a", 0, "{tenants: [{id: a, keys: [\"" HN "\"]}]}");
    expect_edit("tenants: [\n  {id: a,\n   keys: [\"" H1 "\",\n          \"" H2 "\"]  # two\n  }\n  ]\n", "a", 0,
                "tenants: [\n  {id: a,\n   keys: [\"" H1 "\",\n          \"" H2 "\", \"" HN "\"]  # two\n  }\n  ]\n");
    expect_edit("tenants: [{id: 'it''s', keys: ['" H1 "']}]\n", "it's", 0,
                "tenants: [{id: 'it''s', keys: ['" H1 "', \"" HN "\"]}]\n");
    expect_edit("{listen: \"127.0.0.1:8080\"}\n", "x", 0,
                "{listen: \"127.0.0.1:8080\", tenants: [{id: x, keys: [\"" HN "\"]}]}\n");
    expect_edit("tenants: [{id: \"true\"}]\n", "true", 0, "tenants: [{id: \"true\", keys: [\"" HN "\"]}]\n");
    expect_edit("tenants: []\n", "null", 0, "tenants: [{id: \"null\", keys: [\"" HN "\"]}]\n");
    expect_edit("tenants: []\n", "a${B}\"c", 0, "tenants: [{id: \"a$${B}\\\"c\", keys: [\"" HN "\"]}]\n");
    expect_edit("tenants:\n  - id: x$${y}\n", "x${y}", 0, "tenants:\n  - id: x$${y}\n    keys: [\"" HN "\"]\n");
    expect_edit("tenants: []\n", "acme corp", 0, "tenants: [{id: \"acme corp\", keys: [\"" HN "\"]}]\n");
}

static void test_edit_block(void)
{
    static const char block[] = "# gateway config\n"
                                "tenants:\n"
                                "  - id: beta   # comment\n"
                                "    keys:\n"
                                "      - " H1 "\n"
                                "      - \"" H2 "\" # trailing\n"
                                "\n"
                                "    admin: true\n"
                                "  - id: gamma\n"
                                "    budget_usd: 3\n"
                                "# tail comment\n"
                                "ask: {engine: duckdb}\n";
    expect_edit(block, "beta", 1,
                "# gateway config\ntenants:\n  - id: beta   # comment\n    keys:\n      - " H1 "\n"
                "      - \"" H2 "\" # trailing\n      - \"" HN "\"\n\n    admin: true\n  - id: gamma\n"
                "    budget_usd: 3\n# tail comment\nask: {engine: duckdb}\n");
    expect_edit(block, "gamma", 0,
                "# gateway config\ntenants:\n  - id: beta   # comment\n    keys:\n      - " H1 "\n"
                "      - \"" H2 "\" # trailing\n\n    admin: true\n  - id: gamma\n    budget_usd: 3\n"
                "    keys: [\"" HN "\"]\n# tail comment\nask: {engine: duckdb}\n");
    expect_edit(block, "delta", 0,
                "# gateway config\ntenants:\n  - id: beta   # comment\n    keys:\n      - " H1 "\n"
                "      - \"" H2 "\" # trailing\n\n    admin: true\n  - id: gamma\n    budget_usd: 3\n"
                "  - {id: delta, keys: [\"" HN "\"]}\n# tail comment\nask: {engine: duckdb}\n");
    expect_edit("tenants:\n- id: a\n  keys:\n  - " H1, "a", 0, "tenants:\n- id: a\n  keys:\n  - " H1 "\n  - \"" HN "\"\n");
    expect_edit("tenants:\n  - id: a\n    keys:\n", "a", 0, "tenants:\n  - id: a\n    keys: [\"" HN "\"]\n");
    expect_edit("tenants: ~   # none yet\nlimits: {retry_budget: 1}\n", "a", 0,
                "tenants: [{id: a, keys: [\"" HN "\"]}]   # none yet\nlimits: {retry_budget: 1}\n");
    expect_edit("listen: \"127.0.0.1:4000\"\nauth:\n  enabled: true\nworkers: 2\ntenants:\n  - id: \"acme\"\n    keys: []\n"
                "  - id: \"beta\"\n    keys: []\ntelemetry:\n  log: \"stdout\"\n",
                "beta", 0,
                "listen: \"127.0.0.1:4000\"\nauth:\n  enabled: true\nworkers: 2\ntenants:\n  - id: \"acme\"\n    keys: []\n"
                "  - id: \"beta\"\n    keys: [\"" HN "\"]\ntelemetry:\n  log: \"stdout\"\n");
    expect_edit("tenants:\r\n  - id: a\r\n    keys: []\r\n", "a", 0,
                "tenants:\r\n  - id: a\r\n    keys: [\"" HN "\"]\r\n");
    expect_edit("tenants:\nlimits: {retry_budget: 1}\n", "a", 0,
                "tenants: [{id: a, keys: [\"" HN "\"]}]\nlimits: {retry_budget: 1}\n");
}

static void test_edit_no_tenants(void)
{
    expect_edit("", "a", 0, "tenants:\n  - {id: a, keys: [\"" HN "\"]}\n");
    expect_edit("# only a comment", "a", 0, "# only a comment\ntenants:\n  - {id: a, keys: [\"" HN "\"]}\n");
    expect_edit("listen: 127.0.0.1:9000  # local\n\n# end\n", "a", 1,
                "listen: 127.0.0.1:9000  # local\ntenants:\n  - {id: a, keys: [\"" HN "\"], admin: true}\n\n# end\n");
    expect_edit("listen: 127.0.0.1:9000", "a", 0, "listen: 127.0.0.1:9000\ntenants:\n  - {id: a, keys: [\"" HN "\"]}\n");
    expect_edit("ask:\n  engine: duckdb\n", "a", 0, "ask:\n  engine: duckdb\ntenants:\n  - {id: a, keys: [\"" HN "\"]}\n");

    gw_buf_t out;
    char err[256] = "";
    gw_buf_init(&out, 1 << 20);
    T_OK(gw_keys_add_hash("tenants: {a: 1}\n", 16, "a", 0, HN, &out, err, sizeof err) == GW_EINVAL &&
             strcmp(err, "tenants is not a list") == 0,
         "tenants not a list: %s", err);
    T_OK(gw_keys_add_hash("- a\n", 4, "a", 0, HN, &out, err, sizeof err) == GW_EINVAL &&
             strcmp(err, "the top level of the file is not a mapping") == 0,
         "top not a mapping: %s", err);
    T_OK(gw_keys_add_hash("a: [\n", 5, "a", 0, HN, &out, err, sizeof err) == GW_EINVAL &&
             strcmp(err, "not valid YAML") == 0,
         "bad YAML: %s", err);
    T_OK(gw_keys_add_hash("", 0, "a\nb", 0, HN, &out, err, sizeof err) == GW_EINVAL, "control char in tenant id");
    T_OK(gw_keys_add_hash("", 0, "a", 0, "blake2b:\"x", &out, err, sizeof err) == GW_EINVAL, "unsafe hash");
    T_OK(gw_keys_add_hash("tenants: &t []\n", 15, "a", 0, HN, &out, err, sizeof err) == GW_EINVAL &&
             strstr(err, "anchor or tag") != NULL,
         "anchored tenants refused: %s", err);
    T_OK(gw_keys_add_hash("tenants:\n  - !x {id: a}\n", 24, "a", 0, HN, &out, err, sizeof err) == GW_EINVAL &&
             strstr(err, "anchor or tag") != NULL,
         "tagged tenant refused: %s", err);
    T_OK(gw_keys_add_hash("a: 1\rtenants:\r", 15, "a", 0, HN, &out, err, sizeof err) == GW_EINVAL &&
             strstr(err, "bare CR") != NULL,
         "bare CR refused: %s", err);
    T_OK(out.len == 0, "nothing written on errors");
    gw_buf_free(&out);
}

/* The system.md example itself: ${VAR} in flow maps, comments kept. */
static void test_edit_full_example(void)
{
    char text[8192], want[8192];
    FILE *f = fopen(GW_SOURCE_DIR "/tests/data/config/full.yaml", "r");
    size_t n = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    text[n] = '\0';
    setenv("GEMINI_API_KEY", "g", 1);
    setenv("OPENAI_API_KEY", "o", 1);
    setenv("ANTHROPIC_API_KEY", "a", 1);
    const char *old = "\"blake2b:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"]";
    char *p = strstr(text, old);
    T_OK(p != NULL, "full example has the acme key");
    if (p == NULL)
        return;
    size_t at = (size_t)(p - text) + strlen(old) - 1;
    snprintf(want, sizeof want, "%.*s, \"%s\"%s", (int)at, text, HN, text + at);
    expect_edit(text, "acme", 0, want);
}

/* ---- files ---- */

static char dir[64];

static char *slurp(const char *path)
{
    gw_buf_t b;
    char chunk[4096];
    size_t n;
    gw_buf_init(&b, 1 << 20);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        gw_buf_add(&b, chunk, n);
    fclose(f);
    if (b.ptr == NULL)
        gw_buf_add(&b, "", 0);
    return gw_buf_take(&b, &n);
}

static void spit(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

static int dir_entries(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq", dir);
    for (int n = 0; n < 10; n++) {
        char c2[160];
        snprintf(c2, sizeof c2, "%s %d", cmd, n);
        if (system(c2) == 0)
            return n;
    }
    return -1;
}

static void test_store(void)
{
    char path[128], link[128], err[768];
    struct stat st;
    snprintf(path, sizeof path, "%s/llmgw.yaml", dir);
    snprintf(link, sizeof link, "%s/link.yaml", dir);
    static const char orig[] = "# my gateway\nlisten: 127.0.0.1:8080   # keep me\ntenants:\n  - id: acme\n"
                               "    keys: [\"" H1 "\"]\n";
    spit(path, orig, 0640);
    T_OK(symlink("llmgw.yaml", link) == 0, "symlink");
    T_OK(gw_keys_store(link, "acme", 0, HN, err, sizeof err) == GW_OK, "store: %s", err);
    char *now = slurp(path);
    T_STREQ(now, "# my gateway\nlisten: 127.0.0.1:8080   # keep me\ntenants:\n  - id: acme\n"
                 "    keys: [\"" H1 "\", \"" HN "\"]\n",
            "stored through the symlink, comments kept: %s", now ? now : "");
    gw_free(now);
    T_OK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "symlink still a symlink");
    T_OK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640, "mode kept");
    T_OK(dir_entries() == 2, "no temporary file left");

    /* refusals leave the file untouched */
    char *before = slurp(path);
    T_OK(gw_keys_store(path, "acme", 1, H2, err, sizeof err) == GW_EDENIED, "admin for a non-admin tenant");
    T_OK(strstr(err, "tenant 'acme' exists and is not an admin") != NULL, "admin refusal says why: %s", err);
    T_OK(gw_keys_store(path, "acme", 0, "blake2b:zz", err, sizeof err) == GW_ECONFIG, "bad hash refused");
    T_OK(strstr(err, "would not load, left unchanged") != NULL && strstr(err, "must look like") != NULL,
         "refusal names the load error: %s", err);
    T_OK(gw_keys_store(path, "acme", 0, H1, err, sizeof err) == GW_ECONFIG, "duplicate hash refused: %s", err);
    now = slurp(path);
    T_STREQ(now, before, "file untouched after refusals");
    gw_free(now);
    gw_free(before);

    spit(path, "limits: {bogus: 1}\n", 0644);
    T_OK(gw_keys_store(path, "acme", 0, HN, err, sizeof err) == GW_ECONFIG, "invalid original refused");
    T_OK(strstr(err, "unknown key 'bogus' in limits") != NULL, "says why: %s", err);
    now = slurp(path);
    T_STREQ(now, "limits: {bogus: 1}\n", "invalid original untouched");
    gw_free(now);
    T_OK(dir_entries() == 2, "still no temporary file");
    unlink(link);
    unlink(path);

    T_OK(gw_keys_store(path, "new", 1, HN, err, sizeof err) == GW_OK, "creates a missing file: %s", err);
    now = slurp(path);
    T_STREQ(now, "tenants:\n  - {id: new, keys: [\"" HN "\"], admin: true}\n", "new file content");
    gw_free(now);
    T_OK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "new file is 0600");
    unlink(path);
}

/* Runs the command with stdout and stderr captured into out/errtext. */
static int run_cmd(int argc, char **argv, char **out, char **errtext)
{
    char o[128], e[128];
    snprintf(o, sizeof o, "%s/stdout", dir);
    snprintf(e, sizeof e, "%s/stderr", dir);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    int code = gw_keys_create_cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    *out = slurp(o);
    *errtext = slurp(e);
    unlink(o);
    unlink(e);
    return code;
}

static void test_cmd(void)
{
    char path[128], *out = NULL, *er = NULL, hash[GW_AUTH_HASH_LEN + 1], err[512];
    snprintf(path, sizeof path, "%s/gw.yaml", dir);
    spit(path, "listen: 127.0.0.1:8080\n", 0600);

    char *ok_argv[] = {"create", "--tenant", "acme", "--config", path};
    T_OK(run_cmd(5, ok_argv, &out, &er) == 0, "create exits 0: %s", er ? er : "");
    size_t klen = out != NULL ? strcspn(out, "\n") : 0;
    T_OK(out != NULL && klen == GW_AUTH_KEY_LEN && strncmp(out, "llmgw-", 6) == 0 && out[klen] == '\n' &&
             out[klen + 1] == '\0',
         "stdout is exactly the key: [%s]", out ? out : "");
    T_OK(er != NULL && strstr(er, "it will not be shown again") != NULL && strchr(er, '\n') == er + strlen(er) - 1,
         "one-line note on stderr: %s", er ? er : "");
    if (out != NULL && klen == GW_AUTH_KEY_LEN) {
        gw_auth_hash(out, klen, hash, sizeof hash);
        gw_config_t *c = gw_config_load(path, err, sizeof err);
        const gw_cfg_tenant_t *t = gw_config_tenant(c, "acme");
        T_OK(t != NULL && t->keys_len == 1 && strcmp(t->keys[0], hash) == 0 && !t->admin,
             "the file holds the key's hash: %s", err);
        T_OK(er != NULL && strstr(er, hash) != NULL, "note names the stored hash");
        gw_config_unref(c);
    }
    gw_free(out);
    gw_free(er);

    char *admin_argv[] = {"keys", "create", "--tenant=root", "--admin", "--config", path};
    T_OK(run_cmd(6, admin_argv, &out, &er) == 0, "as main passes it, --tenant= form, --admin: %s", er ? er : "");
    gw_free(out);
    gw_free(er);
    gw_config_t *c = gw_config_load(path, err, sizeof err);
    T_OK(c != NULL && c->tenants_len == 2 && gw_config_tenant(c, "root") != NULL && gw_config_tenant(c, "root")->admin,
         "admin tenant added");
    gw_config_unref(c);

    char *no_tenant[] = {"create", "--config", path};
    T_OK(run_cmd(3, no_tenant, &out, &er) == 2 && out[0] == '\0' && strstr(er, "--tenant is required") != NULL,
         "missing --tenant: usage error");
    gw_free(out);
    gw_free(er);
    char *bad_opt[] = {"create", "--tenant", "a", "--color"};
    T_OK(run_cmd(4, bad_opt, &out, &er) == 2 && strstr(er, "unexpected argument '--color'") != NULL, "unknown option");
    gw_free(out);
    gw_free(er);
    char *no_value[] = {"create", "--tenant"};
    T_OK(run_cmd(2, no_value, &out, &er) == 2 && strstr(er, "missing value for '--tenant'") != NULL, "missing value");
    gw_free(out);
    gw_free(er);
    char *sub[] = {"keys", "list"};
    T_OK(run_cmd(2, sub, &out, &er) == 2 && strstr(er, "unknown subcommand 'list'") != NULL, "unknown subcommand");
    gw_free(out);
    gw_free(er);
    char *help[] = {"create", "--help"};
    T_OK(run_cmd(2, help, &out, &er) == 0 && strncmp(out, "usage: llmgw keys create", 24) == 0, "--help");
    gw_free(out);
    gw_free(er);

    spit(path, "listen: 0.0.0.0:8080\nauth: {enabled: false}\n", 0600);
    T_OK(run_cmd(5, ok_argv, &out, &er) == 1 && out[0] == '\0' && strstr(er, "refusing to listen") != NULL,
         "a config that does not load: runtime error, no key printed");
    gw_free(out);
    gw_free(er);
    unlink(path);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/llmgw-keys-XXXXXX");
    if (mkdtemp(dir) == NULL || gw_auth_init() != GW_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    test_edit_flow();
    test_edit_block();
    test_edit_no_tenants();
    test_edit_full_example();
    test_store();
    test_cmd();
    rmdir(dir);
    return t_done("test_keys");
}

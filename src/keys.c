/* keys.c - `llmgw keys create`: a new API key for a tenant, its hash stored
 * in the configuration file by a targeted text edit.
 *
 * The file is parsed with libfyaml's event API into a small index of node
 * positions (flow brackets, block columns, the end of each node's last
 * content); the hash (or a new tenant) is inserted at one place and the
 * rest of the text, comments included, is kept byte for byte.
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "auth.h"
#include "config.h"

#define KEYS_MAX_FILE_BYTES (4u << 20)
#define KEYS_MAX_DEPTH 64

/* ---- an index of node positions, from parser events ---- */

typedef struct ynode {
    char type;      /* 'm' mapping, 's' sequence, 'v' scalar */
    int flow;       /* {...} or [...] */
    int parent;     /* index, -1 for the root */
    int key;        /* for a mapping value: index of its key, else -1 */
    int is_key;
    int empty;      /* a scalar with no text at all (an empty value) */
    int plain_null; /* plain "", "~" or "null" */
    int props;      /* carries an anchor or a tag: not edited */
    int count;      /* children (keys and values both count in mappings) */
    int last_child;
    size_t start;   /* flow: the opening bracket; block: the first token */
    size_t end;     /* just after the node (after the closing bracket) */
    size_t inner;   /* just after the last content inside (0 when none) */
    size_t col;
    char *text;     /* scalars */
} ynode_t;

typedef struct yindex {
    ynode_t *n;
    size_t len, cap;
    int stack[KEYS_MAX_DEPTH];
    int sp;
} yindex_t;

static void index_free(yindex_t *ix)
{
    for (size_t i = 0; i < ix->len; i++)
        gw_free(ix->n[i].text);
    gw_free(ix->n);
}

/* Everything still open now ends no earlier than pos. */
static void bump_open(yindex_t *ix, size_t pos)
{
    for (int i = 0; i < ix->sp; i++)
        if (ix->n[ix->stack[i]].inner < pos)
            ix->n[ix->stack[i]].inner = pos;
}

static int is_null_text(const char *t, size_t l)
{
    return l == 0 || (l == 1 && t[0] == '~') || (l == 4 && (!memcmp(t, "null", 4) || !memcmp(t, "Null", 4) ||
                                                            !memcmp(t, "NULL", 4)));
}

/* Fills the scalar parts of node y from event ev. */
static gw_err_t scalar_info(ynode_t *y, struct fy_event *ev)
{
    struct fy_token *t = fy_event_get_token(ev);
    const struct fy_mark *s = fy_event_start_mark(ev), *e = fy_event_end_mark(ev);
    size_t l = 0;
    const char *txt = t != NULL ? fy_token_get_text(t, &l) : NULL;
    enum fy_scalar_style st = t != NULL ? fy_token_scalar_style(t) : FYSS_PLAIN;
    int quoted = st == FYSS_SINGLE_QUOTED || st == FYSS_DOUBLE_QUOTED;
    y->empty = s == NULL || s->line < 0;
    if (!y->empty) { /* the marks of a quoted scalar leave its quotes out */
        y->start = s->input_pos - (quoted && s->input_pos > 0);
        y->end = (e != NULL ? e->input_pos : s->input_pos) + quoted;
        y->col = (size_t)s->column;
    }
    y->plain_null = y->empty || (ev->type == FYET_SCALAR && st == FYSS_PLAIN &&
                                 is_null_text(txt != NULL ? txt : "", l));
    y->text = gw_strndup(txt != NULL ? txt : "", txt != NULL ? l : 0);
    return y->text != NULL ? GW_OK : GW_ENOMEM;
}

static gw_err_t add_node(yindex_t *ix, char type, struct fy_event *ev, const char *text)
{
    if (ix->len == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        ynode_t *n = gw_realloc(ix->n, cap * sizeof *n);
        if (n == NULL)
            return GW_ENOMEM;
        ix->n = n;
        ix->cap = cap;
    }
    int idx = (int)ix->len++, p = ix->sp > 0 ? ix->stack[ix->sp - 1] : -1;
    ynode_t *y = &ix->n[idx];
    memset(y, 0, sizeof *y);
    y->type = type;
    y->parent = p;
    y->key = -1;
    if (p >= 0 && ix->n[p].type == 'm') {
        y->is_key = ix->n[p].count % 2 == 0;
        y->key = y->is_key ? -1 : ix->n[p].last_child;
    }
    if (p >= 0) {
        ix->n[p].count++;
        ix->n[p].last_child = idx;
    }
    y->props = fy_event_get_anchor_token(ev) != NULL || fy_event_get_tag_token(ev) != NULL;
    if (type == 'v') {
        gw_err_t rc = scalar_info(y, ev);
        if (rc == GW_OK && !y->empty)
            bump_open(ix, y->end);
        return rc;
    }
    const struct fy_mark *s = fy_event_start_mark(ev);
    y->start = s != NULL ? s->input_pos : 0;
    y->col = s != NULL && s->column >= 0 ? (size_t)s->column : 0;
    y->flow = text[y->start] == '{' || text[y->start] == '[';
    if (ix->sp == KEYS_MAX_DEPTH)
        return GW_ETOOBIG;
    ix->stack[ix->sp++] = idx;
    return GW_OK;
}

static void close_node(yindex_t *ix, struct fy_event *ev)
{
    if (ix->sp == 0)
        return;
    ynode_t *y = &ix->n[ix->stack[--ix->sp]];
    const struct fy_mark *e = fy_event_end_mark(ev);
    y->end = y->flow && e != NULL ? e->input_pos : y->inner;
    if (y->flow)
        bump_open(ix, y->end);
}

/* Indexes the first document of text (already through the flow fixup). */
static gw_err_t index_build(const char *text, size_t len, yindex_t *ix)
{
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = NULL;
    struct fy_diag *diag = fy_diag_create(&dc); /* collects, so nothing is printed */
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DISABLE_RECYCLING, .diag = diag};
    struct fy_parser *p = NULL;
    struct fy_event *ev;
    gw_err_t rc = GW_ENOMEM;
    int docs = 0;
    if (diag == NULL)
        goto out;
    fy_diag_set_collect_errors(diag, true);
    if ((p = fy_parser_create(&cfg)) == NULL || (len > 0 && fy_parser_set_string(p, text, len) != 0))
        goto out;
    rc = GW_OK;
    while (rc == GW_OK && len > 0 && (ev = fy_parser_parse(p)) != NULL) {
        if (ev->type == FYET_DOCUMENT_START && ++docs > 1) {
            fy_parser_event_free(p, ev);
            break;
        }
        if (ev->type == FYET_SCALAR || ev->type == FYET_ALIAS)
            rc = add_node(ix, 'v', ev, text);
        else if (ev->type == FYET_MAPPING_START || ev->type == FYET_SEQUENCE_START)
            rc = add_node(ix, ev->type == FYET_MAPPING_START ? 'm' : 's', ev, text);
        else if (ev->type == FYET_MAPPING_END || ev->type == FYET_SEQUENCE_END)
            close_node(ix, ev);
        fy_parser_event_free(p, ev);
    }
    if (rc == GW_OK && len > 0 && fy_parser_get_stream_error(p))
        rc = GW_EINVAL;
out:
    if (p != NULL)
        fy_parser_destroy(p);
    if (diag != NULL)
        fy_diag_destroy(diag);
    return rc;
}

/* The value of key in mapping m, -1 when absent. */
static int map_get(const yindex_t *ix, int m, const char *key)
{
    for (size_t i = (size_t)m + 1; i < ix->len; i++) {
        const ynode_t *y = &ix->n[i];
        if (y->parent == m && !y->is_key && y->key >= 0 && ix->n[y->key].type == 'v' &&
            strcmp(ix->n[y->key].text, key) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- the edit: replace [at, at + del) by ins ---- */

typedef struct edit {
    size_t at, del;
    char ins[1024];
    size_t len;
    int overflow;
} edit_t;

static void app(edit_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void app(edit_t *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->ins + e->len, sizeof e->ins - e->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof e->ins - e->len)
        e->overflow = 1;
    else
        e->len += (size_t)n;
}

static void add_spaces(edit_t *e, size_t n) { app(e, "%*s", (int)(n < 200 ? n : 200), ""); }

/* Where a new line after the one holding pos starts; a newline is added
 * first when the file does not end with one. */
static void at_next_line(edit_t *e, const char *t, size_t len, size_t pos)
{
    const char *nl = pos < len ? memchr(t + pos, '\n', len - pos) : NULL;
    e->at = nl != NULL ? (size_t)(nl - t) + 1 : len;
    if (nl == NULL && len > 0)
        app(e, "\n");
}

/* Adds item to the end of flow or block collection c. */
static void add_item(edit_t *e, const yindex_t *ix, int c, const char *t, size_t len, const char *item)
{
    const ynode_t *y = &ix->n[c];
    if (y->flow) {
        e->at = y->count == 0 ? y->start + 1 : y->inner;
        app(e, "%s%s", y->count == 0 ? "" : ", ", item);
        return;
    }
    at_next_line(e, t, len, y->inner);
    add_spaces(e, y->col);
    app(e, "%s%s\n", y->type == 's' ? "- " : "", item);
}

/* Gives the null value v (of key k) the text val. */
static void set_null(edit_t *e, const yindex_t *ix, int v, const char *t, size_t len, const char *val)
{
    const ynode_t *y = &ix->n[v], *k = &ix->n[ix->n[v].key];
    if (!y->empty) {
        e->at = y->start;
        e->del = y->end - y->start;
        app(e, "%s", val);
        return;
    }
    size_t i = k->end;
    while (i < len && (t[i] == ' ' || t[i] == '\t'))
        i++;
    if (i < len && t[i] == ':') {
        e->at = i + 1;
        app(e, " %s", val);
    } else { /* a key with no ':' at all, as in {tenants} */
        e->at = k->end;
        app(e, ": %s", val);
    }
}

/* A tenant id as YAML into out: plain when unambiguous, else quoted (cap
 * must be > 3 * strlen(id) + 2). */
static void yaml_id(char *out, size_t cap, const char *id)
{
    static const char *const words[] = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", NULL};
    int plain = (id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= 'a' && id[0] <= 'z') || id[0] == '_';
    for (const char *p = id; plain && *p != '\0'; p++)
        plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                *p == '-' || *p == '.';
    for (size_t i = 0; plain && words[i] != NULL; i++)
        plain = strcasecmp(id, words[i]) != 0;
    if (plain) {
        snprintf(out, cap, "%s", id);
        return;
    }
    size_t n = 0;
    out[n++] = '"';
    for (const char *p = id; *p != '\0' && n + 5 < cap; p++) {
        if (*p == '"' || *p == '\\')
            out[n++] = '\\';
        if (p[0] == '$' && p[1] == '{')
            out[n++] = '$'; /* $${ reads back as a literal ${ */
        out[n++] = *p;
    }
    out[n++] = '"';
    out[n] = '\0';
}

/* Index of the tenant mapping in list tv whose id is tenant, -1 if none. */
static int find_tenant(const yindex_t *ix, int tv, const char *tenant)
{
    for (size_t i = (size_t)tv + 1; i < ix->len; i++) {
        if (ix->n[i].parent != tv || ix->n[i].type != 'm')
            continue;
        int id = map_get(ix, (int)i, "id");
        char *val = NULL, name[128];
        if (id < 0 || ix->n[id].type != 'v' ||
            gw_config_expand_env(ix->n[id].text, strlen(ix->n[id].text), &val, name, sizeof name) != GW_OK)
            continue; /* the loader reads ids with ${VAR} expanded */
        int same = strcmp(val, tenant) == 0;
        gw_free(val);
        if (same)
            return (int)i;
    }
    return -1;
}

/* The hash into an existing tenant mapping m. */
static gw_err_t edit_tenant(edit_t *e, const yindex_t *ix, int m, const char *t, size_t len, const char *hq,
                            char *err, size_t errlen)
{
    char pair[160];
    int kv = map_get(ix, m, "keys");
    if (ix->n[m].props || (kv >= 0 && ix->n[kv].props)) {
        snprintf(err, errlen, "the tenant carries a YAML anchor or tag: add the key by hand");
        return GW_EINVAL;
    }
    snprintf(pair, sizeof pair, "keys: [%s]", hq);
    if (kv < 0) {
        add_item(e, ix, m, t, len, pair);
    } else if (ix->n[kv].type == 'v' && ix->n[kv].plain_null) {
        char val[128];
        snprintf(val, sizeof val, "[%s]", hq);
        set_null(e, ix, kv, t, len, val);
    } else if (ix->n[kv].type == 's') {
        add_item(e, ix, kv, t, len, hq);
    } else {
        snprintf(err, errlen, "the tenant's keys is not a list");
        return GW_EINVAL;
    }
    return GW_OK;
}

/* Plans the edit on the indexed text. */
static gw_err_t plan(edit_t *e, const yindex_t *ix, const char *t, size_t len, const char *tenant, const char *item,
                     const char *hq, char *err, size_t errlen)
{
    if (ix->len == 0) { /* no document: empty or only comments */
        at_next_line(e, t, len, len);
        app(e, "tenants:\n  - %s\n", item);
        return GW_OK;
    }
    if (ix->n[0].type != 'm') {
        snprintf(err, errlen, "the top level of the file is not a mapping");
        return GW_EINVAL;
    }
    int tv = map_get(ix, 0, "tenants");
    if (ix->n[0].props || (tv >= 0 && ix->n[tv].props)) {
        snprintf(err, errlen, "tenants (or the top level) carries a YAML anchor or tag: add the key by hand");
        return GW_EINVAL;
    }
    if (tv >= 0 && ix->n[tv].type == 's') {
        int m = find_tenant(ix, tv, tenant);
        if (m >= 0)
            return edit_tenant(e, ix, m, t, len, hq, err, errlen);
        add_item(e, ix, tv, t, len, item);
    } else if (tv >= 0 && ix->n[tv].type == 'v' && ix->n[tv].plain_null) {
        char val[600];
        snprintf(val, sizeof val, "[%s]", item);
        set_null(e, ix, tv, t, len, val);
    } else if (tv >= 0) {
        snprintf(err, errlen, "tenants is not a list");
        return GW_EINVAL;
    } else if (ix->n[0].flow) {
        char pair[600];
        snprintf(pair, sizeof pair, "tenants: [%s]", item);
        add_item(e, ix, 0, t, len, pair);
    } else {
        at_next_line(e, t, len, ix->n[0].inner);
        add_spaces(e, ix->n[0].col);
        app(e, "tenants:\n");
        add_spaces(e, ix->n[0].col);
        app(e, "  - %s\n", item);
    }
    return GW_OK;
}

static int hash_safe(const char *h)
{
    size_t n = strlen(h);
    return n > 0 && n < 100 && strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:") == n;
}

static int tenant_ok(const char *t)
{
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
            return 0;
    return n > 0 && n <= 128;
}

gw_err_t gw_keys_add_hash(const char *yaml, size_t len, const char *tenant, int admin, const char *hash,
                          gw_buf_t *out, char *err, size_t errlen)
{
    gw_err_t rc = GW_EINVAL;
    yindex_t ix = {0};
    edit_t e = {0};
    char hq[112], id[300], item[512];
    char *copy = NULL;
    if (!hash_safe(hash) || !tenant_ok(tenant)) {
        snprintf(err, errlen, "bad tenant id or key hash");
        goto out;
    }
    rc = GW_ENOMEM;
    copy = gw_strndup(len > 0 ? yaml : "", len);
    if (copy == NULL || gw_config_flow_env_fixup(copy, len, NULL, NULL) != GW_OK)
        goto out;
    for (size_t i = 0; i < len; i++) {
        if (copy[i] == '\r' && (i + 1 == len || copy[i + 1] != '\n')) {
            snprintf(err, errlen, "the file uses bare CR line breaks: add the key by hand");
            rc = GW_EINVAL;
            goto out;
        }
    }
    if ((rc = index_build(copy, len, &ix)) != GW_OK) {
        snprintf(err, errlen, "%s", rc == GW_EINVAL ? "not valid YAML" : "cannot index the YAML");
        goto out;
    }
    snprintf(hq, sizeof hq, "\"%s\"", hash);
    yaml_id(id, sizeof id, tenant);
    snprintf(item, sizeof item, "{id: %s, keys: [%s]%s}", id, hq, admin ? ", admin: true" : "");
    if ((rc = plan(&e, &ix, yaml, len, tenant, item, hq, err, errlen)) != GW_OK)
        goto out;
    rc = GW_ETOOBIG;
    if (e.overflow || e.at + e.del > len)
        goto out;
    if ((rc = gw_buf_add(out, yaml, e.at)) == GW_OK && (rc = gw_buf_add(out, e.ins, e.len)) == GW_OK)
        rc = gw_buf_add(out, yaml + e.at + e.del, len - e.at - e.del);
out:
    if (rc == GW_ENOMEM || rc == GW_ETOOBIG)
        snprintf(err, errlen, "%s", rc == GW_ENOMEM ? "out of memory" : "the edited text is too large");
    index_free(&ix);
    gw_free(copy);
    return rc;
}

/* ---- the file ---- */

static gw_err_t read_text(const char *path, gw_buf_t *b, char *err, size_t errlen)
{
    char chunk[8192];
    size_t n;
    FILE *f = fopen(path, "rb");
    gw_err_t rc = GW_OK;
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return GW_EIO;
    }
    while (rc == GW_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = gw_buf_add(b, chunk, n);
    if (rc == GW_OK && ferror(f))
        rc = GW_EIO;
    if (rc != GW_OK)
        snprintf(err, errlen, "%s: %s", path, rc == GW_EIO ? "read error" : "too large or out of memory");
    fclose(f);
    return rc;
}

/* 1 when tenant's keys in c list hash (and it is an admin if asked). */
static int config_has(const gw_config_t *c, const char *tenant, int admin, const char *hash)
{
    const gw_cfg_tenant_t *t = c != NULL ? gw_config_tenant(c, tenant) : NULL;
    for (size_t i = 0; t != NULL && i < t->keys_len; i++)
        if (strcasecmp(t->keys[i], hash) == 0)
            return !admin || t->admin;
    return 0;
}

static gw_err_t write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return GW_EIO;
        p += w;
        n -= (size_t)w;
    }
    return GW_OK;
}

static void sync_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

typedef struct target {
    const char *path;
    int exists;
    struct stat st;
} target_t;

/* Writes text to a temporary file beside t->path (same mode and owner),
 * proves it loads and holds the hash, then renames it over t->path. */
static gw_err_t write_atomic(const target_t *t, const gw_buf_t *text, const char *tenant, int admin,
                             const char *hash, char *err, size_t errlen)
{
    char tmp[PATH_MAX], cerr[512];
    gw_err_t rc = GW_EIO;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", t->path) >= sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", t->path);
        return GW_EINVAL;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file: %s", tmp, strerror(errno));
        return GW_EIO;
    }
    if (t->exists && fchown(fd, t->st.st_uid, t->st.st_gid) != 0) {
        /* keeping the owner is best effort: we may not be root */
    }
    if (fchmod(fd, t->exists ? t->st.st_mode & 07777 : 0600) != 0 || write_all(fd, text->ptr, text->len) != GW_OK ||
        fsync(fd) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
        close(fd);
        goto out;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
        goto out;
    }
    gw_config_t *c = gw_config_load(tmp, cerr, sizeof cerr);
    int ok = config_has(c, tenant, admin, hash);
    gw_config_unref(c);
    rc = GW_ECONFIG;
    if (!ok) {
        snprintf(err, errlen, "the written file does not load back (left %s unchanged): %s", t->path, cerr);
        goto out;
    }
    rc = GW_EIO;
    if (rename(tmp, t->path) != 0) {
        snprintf(err, errlen, "%s: cannot replace: %s", t->path, strerror(errno));
        goto out;
    }
    sync_dir(t->path);
    return GW_OK;
out:
    unlink(tmp);
    return rc;
}

/* Loads the current file and refuses what cannot work. */
static gw_err_t check_current(const target_t *t, const char *tenant, int admin, char *err, size_t errlen)
{
    char cerr[512];
    if (!t->exists)
        return GW_OK;
    gw_config_t *c = gw_config_load(t->path, cerr, sizeof cerr);
    if (c == NULL) {
        snprintf(err, errlen, "%s", cerr);
        return GW_ECONFIG;
    }
    const gw_cfg_tenant_t *tn = gw_config_tenant(c, tenant);
    gw_err_t rc = GW_OK;
    if (admin && tn != NULL && !tn->admin) {
        snprintf(err, errlen, "tenant '%.128s' exists and is not an admin: add 'admin: true' to it in %s first",
                 tenant, t->path);
        rc = GW_EDENIED;
    }
    gw_config_unref(c);
    return rc;
}

gw_err_t gw_keys_store(const char *path, const char *tenant, int admin, const char *hash, char *err,
                       size_t errlen)
{
    char real[PATH_MAX], cerr[512];
    gw_buf_t old, edited;
    target_t t = {.path = realpath(path, real) != NULL ? real : path};
    gw_err_t rc;
    gw_buf_init(&old, KEYS_MAX_FILE_BYTES);
    gw_buf_init(&edited, KEYS_MAX_FILE_BYTES + 4096);
    t.exists = stat(t.path, &t.st) == 0;
    if ((rc = check_current(&t, tenant, admin, err, errlen)) != GW_OK)
        goto out;
    if (t.exists && (rc = read_text(t.path, &old, err, errlen)) != GW_OK)
        goto out;
    if ((rc = gw_keys_add_hash(old.ptr != NULL ? old.ptr : "", old.len, tenant, admin, hash, &edited, err,
                               errlen)) != GW_OK)
        goto out;
    gw_config_t *c = gw_config_parse(edited.ptr, edited.len, path, cerr, sizeof cerr);
    int loaded = c != NULL, ok = config_has(c, tenant, admin, hash);
    gw_config_unref(c);
    if (!ok) {
        snprintf(err, errlen, "the edited file would not load, left unchanged: %s",
                 loaded ? "the key did not land in the tenant" : cerr);
        rc = GW_ECONFIG;
        goto out;
    }
    rc = write_atomic(&t, &edited, tenant, admin, hash, err, errlen);
out:
    gw_buf_free(&old);
    gw_buf_free(&edited);
    return rc;
}

/* ---- the command ---- */

typedef struct opts {
    const char *tenant;
    const char *config;
    int admin;
    int help;
} opts_t;

static const char usage[] = "usage: llmgw keys create --tenant T [--admin] [--config FILE]\n";

/* Value of option name at argv[*i] ("--name V" or "--name=V"), else NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    int i = 0;
    if (i < argc && strcmp(argv[i], "keys") == 0)
        i++;
    if (i < argc && strcmp(argv[i], "create") == 0)
        i++;
    else if (i < argc && argv[i][0] != '-') {
        fprintf(stderr, "llmgw keys: unknown subcommand '%s'\n%s", argv[i], usage);
        return 0;
    }
    for (; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (strcmp(argv[i], "--admin") == 0) {
            o->admin = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            o->help = 1;
        } else if ((v = opt_value(argc, argv, &i, "--tenant", &missing)) != NULL) {
            o->tenant = v;
        } else if ((v = opt_value(argc, argv, &i, "--config", &missing)) != NULL) {
            o->config = v;
        } else {
            fprintf(stderr, "llmgw keys: %s '%s'\n%s", missing ? "missing value for" : "unexpected argument",
                    argv[i], usage);
            return 0;
        }
    }
    return 1;
}

int gw_keys_create_cmd(int argc, char **argv)
{
    opts_t o = {.config = "llmgw.yaml"};
    char key[GW_AUTH_KEY_LEN + 8], hash[GW_AUTH_HASH_LEN + 8], err[768];
    struct stat st;
    if (!parse_opts(argc, argv, &o))
        return 2;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (o.tenant == NULL || !tenant_ok(o.tenant) || o.config[0] == '\0') {
        fprintf(stderr, "llmgw keys: %s\n%s",
                o.tenant == NULL ? "--tenant is required" : "bad --tenant or --config value", usage);
        return 2;
    }
    int existed = stat(o.config, &st) == 0;
    if (gw_auth_init() != GW_OK || gw_auth_key_new(key, sizeof key, hash, sizeof hash) != GW_OK) {
        fprintf(stderr, "llmgw keys: cannot generate a key (libsodium)\n");
        return 1;
    }
    gw_err_t rc = gw_keys_store(o.config, o.tenant, o.admin, hash, err, sizeof err);
    if (rc != GW_OK) {
        sodium_memzero(key, sizeof key);
        fprintf(stderr, "llmgw keys: %s\n", err);
        return 1;
    }
    int ok = printf("%s\n", key) > 0 && fflush(stdout) == 0;
    sodium_memzero(key, sizeof key);
    if (!ok) {
        fprintf(stderr, "llmgw keys: could not print the key (stored as %s in %s)\n", hash, o.config);
        return 1;
    }
    fprintf(stderr, "llmgw keys: %s%s: key for tenant '%s'%s stored as %s; it will not be shown again\n",
            existed ? "" : "created ", o.config, o.tenant, o.admin ? " (admin)" : "", hash);
    return 0;
}

/* taxonomy.c - loads and checks the retail taxonomy, the brands per
 * department and the warehouses (data/taxonomy.tsv, brands.tsv and
 * warehouses.tsv) into an immutable gw_taxonomy_t. Each file is read whole and split into tab-separated
 * records by a small reader that skips comments and blank lines and
 * rejects bad UTF-8; every error names the file and the line.
 */
#include "taxonomy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "err.h"

#ifndef GW_SOURCE_DIR
#define GW_SOURCE_DIR "."
#endif

#define TAX_MAX_FILE (64u << 20) /* bytes per data file */
#define TAX_MAX_LINE 8192        /* bytes per line, so spans print with %.*s */
#define TAX_MAX_COLS 8
#define TAX_MAX_LIST 64          /* items in a synonyms/colors/materials list */
#define TAX_NONE SIZE_MAX

typedef struct {
    const char *p;
    size_t n;
} span_t;

#define SPAN_FMT "%.*s"
#define SPAN_ARG(s) (int)(s).n, (s).p

/* ---- tab-separated reader ------------------------------------------------ */

typedef struct {
    const char *file; /* "taxonomy.tsv", for messages */
    const char *p, *end;
    int line; /* line number of the last record read */
    char *err;
    size_t errlen;
} tsv_t;

static void tsv_init(tsv_t *r, const char *file, const char *data, size_t len, char *err,
                     size_t errlen)
{
    r->file = file;
    r->p = data;
    r->end = data + len;
    r->line = 0;
    r->err = err;
    r->errlen = errlen;
}

/* Writes "file:line: message" (or "file: message" for line 0) into err. */
__attribute__((format(printf, 3, 4))) static void fail(const tsv_t *r, int line,
                                                       const char *fmt, ...)
{
    if (r->err == NULL || r->errlen == 0)
        return;
    int n = line > 0 ? snprintf(r->err, r->errlen, "%s:%d: ", r->file, line)
                     : snprintf(r->err, r->errlen, "%s: ", r->file);
    if (n < 0 || (size_t)n >= r->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i];
        size_t len;
        uint32_t min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + k] & 0x3Fu);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* A line is blank when it holds nothing but spaces and tabs. */
static int is_blank(const char *s, const char *e)
{
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

static int line_ok(const tsv_t *r, const char *s, const char *e)
{
    if (e - s > TAX_MAX_LINE) {
        fail(r, r->line, "line is longer than %d bytes", TAX_MAX_LINE);
        return 0;
    }
    for (const char *q = s; q < e; q++) {
        unsigned char b = (unsigned char)*q;
        if ((b < 0x20 && b != '\t') || b == 0x7F) {
            fail(r, r->line, "control character 0x%02x in line", b);
            return 0;
        }
    }
    if (!utf8_valid((const unsigned char *)s, (size_t)(e - s))) {
        fail(r, r->line, "invalid UTF-8");
        return 0;
    }
    return 1;
}

/* Splits [s, e) on tabs into f[0..max); *nf counts every field, kept or not. */
static void split_fields(const char *s, const char *e, span_t *f, size_t max, size_t *nf)
{
    size_t n = 0;
    for (;;) {
        const char *tab = memchr(s, '\t', (size_t)(e - s));
        const char *fe = tab != NULL ? tab : e;
        if (n < max)
            f[n] = (span_t){s, (size_t)(fe - s)};
        n++;
        if (tab == NULL)
            break;
        s = tab + 1;
    }
    *nf = n;
}

/* Reads the next record, skipping comment and blank lines.
 * Returns 1 for a record, 0 at the end of the data, -1 on a bad line. */
static int tsv_next(tsv_t *r, span_t *f, size_t max, size_t *nf)
{
    while (r->p < r->end) {
        const char *s = r->p;
        const char *nl = memchr(s, '\n', (size_t)(r->end - s));
        const char *e = nl != NULL ? nl : r->end;
        r->p = nl != NULL ? nl + 1 : r->end;
        r->line++;
        if (e > s && e[-1] == '\r')
            e--;
        if (is_blank(s, e) || *s == '#')
            continue;
        if (!line_ok(r, s, e))
            return -1;
        split_fields(s, e, f, max, nf);
        return 1;
    }
    return 0;
}

static int span_is(span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Reads and checks the header line: exactly the columns cols[0..ncols). */
static int tsv_header(tsv_t *r, const char *const *cols, size_t ncols)
{
    span_t f[TAX_MAX_COLS];
    size_t nf = 0;
    int rc = tsv_next(r, f, TAX_MAX_COLS, &nf);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        fail(r, 0, "missing header line");
        return -1;
    }
    int ok = nf == ncols;
    for (size_t i = 0; ok && i < ncols; i++)
        ok = span_is(f[i], cols[i]);
    if (ok)
        return 0;
    char want[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < ncols && used < sizeof want; i++) {
        int w = snprintf(want + used, sizeof want - used, "%s%s", i ? ", " : "", cols[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    fail(r, r->line, "header must be the tab-separated columns: %s", want);
    return -1;
}

/* Reads the next data record: exactly ncols fields, none padded with spaces.
 * Returns 1, 0 at the end, -1 on error. */
static int tsv_row(tsv_t *r, span_t *f, const char *const *cols, size_t ncols)
{
    size_t nf = 0;
    int rc = tsv_next(r, f, ncols, &nf);
    if (rc != 1)
        return rc;
    if (nf != ncols) {
        fail(r, r->line, "expected %zu columns, got %zu", ncols, nf);
        return -1;
    }
    for (size_t i = 0; i < ncols; i++) {
        if (f[i].n > 0 && (f[i].p[0] == ' ' || f[i].p[f[i].n - 1] == ' ')) {
            fail(r, r->line, "column '%s' has leading or trailing spaces", cols[i]);
            return -1;
        }
    }
    return 1;
}

/* ---- string map (open addressing, FNV-1a) -------------------------------- */

typedef struct {
    const char *k; /* borrowed; NULL marks an empty slot */
    size_t n;
    size_t tag; /* part of the key: lets one map hold (department, brand) */
    size_t val;
} ment_t;

typedef struct {
    ment_t *e;
    size_t cap; /* a power of two, or 0 */
    size_t len;
    int icase; /* ASCII case-insensitive keys */
} map_t;

static unsigned char lc(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

static int ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
            return 0;
    return 1;
}

static uint64_t map_hash(const map_t *m, const char *k, size_t n, size_t tag)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)tag;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = m->icase ? lc((unsigned char)k[i]) : (unsigned char)k[i];
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

/* The slot holding the key, or the empty slot where it would go. */
static ment_t *map_slot(const map_t *m, const char *k, size_t n, size_t tag)
{
    size_t i = (size_t)map_hash(m, k, n, tag) & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        ment_t *e = &m->e[i];
        if (e->k == NULL)
            return e;
        if (e->n == n && e->tag == tag &&
            (m->icase ? ascii_ieq(e->k, k, n) : memcmp(e->k, k, n) == 0))
            return e;
    }
}

static gw_err_t map_grow(map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    ment_t *old = m->e;
    size_t old_cap = m->cap;
    m->e = gw_calloc(cap, sizeof *m->e);
    if (m->e == NULL) {
        m->e = old;
        return GW_ENOMEM;
    }
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].k != NULL)
            *map_slot(m, old[i].k, old[i].n, old[i].tag) = old[i];
    gw_free(old);
    return GW_OK;
}

/* Adds key -> val unless the key is there. *old gets the value already
 * stored, or TAX_NONE when this call inserted it. The key is borrowed. */
static gw_err_t map_put(map_t *m, const char *k, size_t n, size_t tag, size_t val, size_t *old)
{
    if ((m->len + 1) * 2 > m->cap && map_grow(m) != GW_OK)
        return GW_ENOMEM;
    ment_t *e = map_slot(m, k, n, tag);
    if (e->k != NULL) {
        *old = e->val;
        return GW_OK;
    }
    *e = (ment_t){k, n, tag, val};
    m->len++;
    *old = TAX_NONE;
    return GW_OK;
}

/* The value stored for the key, or TAX_NONE. */
static size_t map_get(const map_t *m, const char *k, size_t n, size_t tag)
{
    if (m->cap == 0)
        return TAX_NONE;
    const ment_t *e = map_slot(m, k, n, tag);
    return e->k != NULL ? e->val : TAX_NONE;
}

static void map_free(map_t *m)
{
    gw_free(m->e);
    m->e = NULL;
    m->cap = m->len = 0;
}

/* ---- loader state ---------------------------------------------------------- */

typedef struct {
    int line;       /* where the node is defined */
    int child_line; /* where its first child is defined; 0 for a leaf */
    int has_attrs;  /* price/colors/materials given */
} node_aux_t;

typedef struct {
    gw_taxonomy_t *t;
    tsv_t r;
    node_aux_t *aux; /* parallel to t->nodes */
    size_t cap_nodes, cap_aux, cap_deps, cap_dep_aux, cap_wh;
    size_t *cap_brands; /* parallel to t->departments: capacity of brands */
    map_t paths;        /* node path -> node index */
    map_t phrases;      /* node name or synonym (any case) -> node index */
    map_t keys;         /* per-file uniqueness: brands, warehouse codes */
    map_t keys2;        /* warehouse names */
} ctx_t;

static int oom(ctx_t *c)
{
    fail(&c->r, 0, "out of memory");
    return -1;
}

/* Grows *arr (of elem-sized items) so that it holds at least need items. */
static gw_err_t grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return GW_OK;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = gw_realloc(*arr, n * elem);
    if (p == NULL)
        return GW_ENOMEM;
    *arr = p;
    *cap = n;
    return GW_OK;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gw_free(v[i]);
    gw_free(v);
}

/* Splits a "|" list into new strings. what names the item in messages
 * ("synonym"); lower asks for lower-case items. */
static int parse_list(ctx_t *c, span_t s, const char *what, int lower, char ***out, size_t *nout)
{
    char **v = NULL;
    size_t n = 0;
    *out = NULL;
    *nout = 0;
    if (s.n == 0)
        return 0;
    v = gw_calloc(TAX_MAX_LIST, sizeof *v);
    if (v == NULL)
        return oom(c);
    for (const char *p = s.p, *end = s.p + s.n;; p++) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        span_t it = {p, (size_t)((bar != NULL ? bar : end) - p)};
        if (it.n == 0 || it.p[0] == ' ' || it.p[it.n - 1] == ' ') {
            fail(&c->r, c->r.line, "empty or space-padded %s in '" SPAN_FMT "'", what, SPAN_ARG(s));
            goto bad;
        }
        for (size_t i = 0; lower && i < it.n; i++) {
            if (it.p[i] >= 'A' && it.p[i] <= 'Z') {
                fail(&c->r, c->r.line, "%s '" SPAN_FMT "' must be lower-case", what, SPAN_ARG(it));
                goto bad;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (strlen(v[i]) == it.n && memcmp(v[i], it.p, it.n) == 0) {
                fail(&c->r, c->r.line, "%s '" SPAN_FMT "' listed twice", what, SPAN_ARG(it));
                goto bad;
            }
        }
        if (n == TAX_MAX_LIST) {
            fail(&c->r, c->r.line, "more than %d items in a %s list", TAX_MAX_LIST, what);
            goto bad;
        }
        if ((v[n] = gw_strndup(it.p, it.n)) == NULL) {
            oom(c);
            goto bad;
        }
        n++;
        if (bar == NULL)
            break;
        p = bar;
    }
    *out = v;
    *nout = n;
    return 0;
bad:
    free_list(v, n);
    return -1;
}

/* A price: 1-7 digits, optionally "." and 1-2 digits, above zero. */
static int parse_price(ctx_t *c, span_t s, const char *col, double *out)
{
    size_t i = 0, int_digits = 0, frac_digits = 0;
    int dot = 0;
    while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
        i++, int_digits++;
    if (i < s.n && s.p[i] == '.') {
        dot = 1;
        for (i++; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++)
            frac_digits++;
    }
    if (i != s.n || int_digits == 0 || int_digits > 7 || frac_digits > 2 ||
        (dot && frac_digits == 0)) {
        fail(&c->r, c->r.line, "%s '" SPAN_FMT "' is not a price like 19.99", col, SPAN_ARG(s));
        return -1;
    }
    char tmp[16];
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    *out = strtod(tmp, NULL);
    if (*out <= 0) {
        fail(&c->r, c->r.line, "%s must be above 0", col);
        return -1;
    }
    return 0;
}

/* ---- taxonomy.tsv ------------------------------------------------------------ */

static const char *const TAX_COLS[] = {"path", "synonyms", "price_min", "price_max", "colors",
                                       "materials"};
#define TAX_NCOLS 6

/* Checks each " > " level of a path: not empty, no padding, no '>' or '|'.
 * Sets *depth and *last (the start of the last level). */
static int check_path(ctx_t *c, span_t path, int *depth, size_t *last)
{
    const char *p = path.p, *end = path.p + path.n;
    *depth = 0;
    for (;;) {
        const char *sep = NULL;
        for (const char *q = p; q + 3 <= end && sep == NULL; q++)
            if (q[0] == ' ' && q[1] == '>' && q[2] == ' ')
                sep = q;
        span_t lv = {p, (size_t)((sep != NULL ? sep : end) - p)};
        if (lv.n == 0 || lv.p[0] == ' ' || lv.p[lv.n - 1] == ' ' || memchr(lv.p, '>', lv.n) ||
            memchr(lv.p, '|', lv.n)) {
            fail(&c->r, c->r.line, "path '" SPAN_FMT "' has an empty or malformed level",
                 SPAN_ARG(path));
            return -1;
        }
        ++*depth;
        *last = (size_t)(p - path.p);
        if (sep == NULL)
            return 0;
        p = sep + 3;
    }
}

/* Appends a zeroed node (and its aux record); returns its index. */
static int new_node(ctx_t *c, size_t *idx)
{
    gw_taxonomy_t *t = c->t;
    if (grow((void **)&t->nodes, &c->cap_nodes, t->n_nodes + 1, sizeof *t->nodes) != GW_OK ||
        grow((void **)&c->aux, &c->cap_aux, t->n_nodes + 1, sizeof *c->aux) != GW_OK)
        return oom(c);
    *idx = t->n_nodes++;
    memset(&t->nodes[*idx], 0, sizeof t->nodes[*idx]);
    c->aux[*idx] = (node_aux_t){.line = c->r.line};
    return 0;
}

/* Registers a name or synonym: one phrase may name only one node. */
static int add_phrase(ctx_t *c, size_t idx, const char *ph, int is_name)
{
    const gw_tax_node_t *nd = &c->t->nodes[idx];
    size_t old, n = strlen(ph);
    if (map_put(&c->phrases, ph, n, 0, idx, &old) != GW_OK)
        return oom(c);
    if (old == TAX_NONE || old == idx)
        return 0;
    const gw_tax_node_t *o = &c->t->nodes[old];
    int o_line = c->aux[old].line;
    int same_name = strlen(o->name) == n && ascii_ieq(o->name, ph, n);
    if (is_name && same_name)
        fail(&c->r, c->r.line, "duplicate category name '%s' (first on line %d)", ph, o_line);
    else if (is_name)
        fail(&c->r, c->r.line, "name '%s' is already a synonym of '%s' (line %d)", ph, o->name,
             o_line);
    else if (same_name)
        fail(&c->r, c->r.line, "synonym '%s' of '%s' is the name of the category on line %d", ph,
             nd->name, o_line);
    else
        fail(&c->r, c->r.line, "synonym '%s' of '%s' is already used by '%s' (line %d)", ph,
             nd->name, o->name, o_line);
    return -1;
}

static int add_department(ctx_t *c, size_t idx)
{
    gw_taxonomy_t *t = c->t;
    size_t n = t->n_departments;
    if (grow((void **)&t->departments, &c->cap_deps, n + 1, sizeof *t->departments) != GW_OK ||
        grow((void **)&c->cap_brands, &c->cap_dep_aux, n + 1, sizeof *c->cap_brands) != GW_OK)
        return oom(c);
    t->departments[n] = (gw_tax_department_t){.node = idx};
    c->cap_brands[n] = 0;
    t->nodes[idx].department = n;
    t->n_departments++;
    return 0;
}

/* Links node idx to its parent (or makes it a department). */
static int link_parent(ctx_t *c, size_t idx, span_t path, size_t last)
{
    gw_taxonomy_t *t = c->t;
    gw_tax_node_t *nd = &t->nodes[idx];
    if (nd->depth == 1)
        return add_department(c, idx);
    span_t parent = {path.p, last - 3};
    size_t p = map_get(&c->paths, parent.p, parent.n, 0);
    if (p == TAX_NONE) {
        fail(&c->r, c->r.line, "parent '" SPAN_FMT "' not defined", SPAN_ARG(parent));
        return -1;
    }
    nd->parent_id = t->nodes[p].id;
    nd->department = t->nodes[p].department;
    t->nodes[p].is_leaf = 0;
    if (c->aux[p].child_line == 0)
        c->aux[p].child_line = c->r.line;
    return 0;
}

/* The last four columns: all empty, or a valid price range and lists. */
static int parse_attrs(ctx_t *c, size_t idx, const span_t *f)
{
    gw_tax_node_t *nd = &c->t->nodes[idx];
    int set = (f[0].n > 0) + (f[1].n > 0) + (f[2].n > 0) + (f[3].n > 0);
    if (set == 0)
        return 0;
    if (set != 4) {
        fail(&c->r, c->r.line,
             "price_min, price_max, colors and materials must be all set or all empty");
        return -1;
    }
    if (parse_price(c, f[0], "price_min", &nd->price_min) != 0 ||
        parse_price(c, f[1], "price_max", &nd->price_max) != 0)
        return -1;
    if (!(nd->price_min < nd->price_max)) {
        fail(&c->r, c->r.line, "price_min " SPAN_FMT " must be below price_max " SPAN_FMT,
             SPAN_ARG(f[0]), SPAN_ARG(f[1]));
        return -1;
    }
    if (parse_list(c, f[2], "color", 0, &nd->colors, &nd->n_colors) != 0 ||
        parse_list(c, f[3], "material", 0, &nd->materials, &nd->n_materials) != 0)
        return -1;
    c->aux[idx].has_attrs = 1;
    return 0;
}

static int tax_line(ctx_t *c, const span_t *f)
{
    span_t path = f[0];
    int depth;
    size_t last, idx, old;
    if (path.n == 0) {
        fail(&c->r, c->r.line, "column 'path' is empty");
        return -1;
    }
    if (check_path(c, path, &depth, &last) != 0 || new_node(c, &idx) != 0)
        return -1;
    gw_tax_node_t *nd = &c->t->nodes[idx];
    nd->id = (int)idx + 1;
    nd->depth = depth;
    nd->is_leaf = 1;
    nd->path = gw_strndup(path.p, path.n);
    nd->name = gw_strndup(path.p + last, path.n - last);
    if (nd->path == NULL || nd->name == NULL)
        return oom(c);
    if (map_put(&c->paths, nd->path, path.n, 0, idx, &old) != GW_OK)
        return oom(c);
    if (old != TAX_NONE) {
        fail(&c->r, c->r.line, "duplicate path '%s' (first on line %d)", nd->path,
             c->aux[old].line);
        return -1;
    }
    if (link_parent(c, idx, path, last) != 0 || add_phrase(c, idx, nd->name, 1) != 0)
        return -1;
    if (parse_list(c, f[1], "synonym", 1, &nd->synonyms, &nd->n_synonyms) != 0)
        return -1;
    for (size_t i = 0; i < nd->n_synonyms; i++)
        if (add_phrase(c, idx, nd->synonyms[i], 0) != 0)
            return -1;
    return parse_attrs(c, idx, f + 2);
}

/* After the last line: leaves need attributes, inner nodes must not have them. */
static int tax_finish(ctx_t *c)
{
    gw_taxonomy_t *t = c->t;
    if (t->n_nodes == 0) {
        fail(&c->r, 0, "no categories");
        return -1;
    }
    for (size_t i = 0; i < t->n_nodes; i++) {
        const gw_tax_node_t *nd = &t->nodes[i];
        const node_aux_t *a = &c->aux[i];
        if (nd->is_leaf && !a->has_attrs) {
            fail(&c->r, a->line, "leaf '%s' needs price_min, price_max, colors and materials",
                 nd->name);
            return -1;
        }
        if (!nd->is_leaf && a->has_attrs) {
            fail(&c->r, a->line,
                 "'%s' has children (first on line %d), so price_min, price_max, colors and "
                 "materials must be empty",
                 nd->name, a->child_line);
            return -1;
        }
        t->n_leaves += (size_t)nd->is_leaf;
    }
    t->leaves = gw_calloc(t->n_leaves, sizeof *t->leaves);
    if (t->leaves == NULL)
        return oom(c);
    for (size_t i = 0, k = 0; i < t->n_nodes; i++)
        if (t->nodes[i].is_leaf)
            t->leaves[k++] = i;
    return 0;
}

static int parse_taxonomy(ctx_t *c, const char *data, size_t len, char *err, size_t errlen)
{
    span_t f[TAX_NCOLS];
    int rc;
    tsv_init(&c->r, "taxonomy.tsv", data, len, err, errlen);
    if (tsv_header(&c->r, TAX_COLS, TAX_NCOLS) != 0)
        return -1;
    while ((rc = tsv_row(&c->r, f, TAX_COLS, TAX_NCOLS)) == 1)
        if (tax_line(c, f) != 0)
            return -1;
    return rc < 0 ? -1 : tax_finish(c);
}

/* ---- brands.tsv -------------------------------------------------------------- */

static const char *const BRAND_COLS[] = {"department", "brand"};

static int brand_line(ctx_t *c, const span_t *f, const map_t *deps)
{
    gw_taxonomy_t *t = c->t;
    size_t old;
    for (size_t i = 0; i < 2; i++) {
        if (f[i].n == 0) {
            fail(&c->r, c->r.line, "column '%s' is empty", BRAND_COLS[i]);
            return -1;
        }
    }
    size_t d = map_get(deps, f[0].p, f[0].n, 0);
    if (d == TAX_NONE) {
        fail(&c->r, c->r.line, "department '" SPAN_FMT "' is not a department of taxonomy.tsv",
             SPAN_ARG(f[0]));
        return -1;
    }
    if (map_put(&c->keys, f[1].p, f[1].n, d, (size_t)c->r.line, &old) != GW_OK)
        return oom(c);
    if (old != TAX_NONE) {
        fail(&c->r, c->r.line, "brand '" SPAN_FMT "' listed twice for '" SPAN_FMT
             "' (first on line %zu)", SPAN_ARG(f[1]), SPAN_ARG(f[0]), old);
        return -1;
    }
    gw_tax_department_t *dep = &t->departments[d];
    if (grow((void **)&dep->brands, &c->cap_brands[d], dep->n_brands + 1, sizeof *dep->brands))
        return oom(c);
    if ((dep->brands[dep->n_brands] = gw_strndup(f[1].p, f[1].n)) == NULL)
        return oom(c);
    dep->n_brands++;
    return 0;
}

static int parse_brands(ctx_t *c, const char *data, size_t len, char *err, size_t errlen)
{
    gw_taxonomy_t *t = c->t;
    map_t deps = {0};
    span_t f[2];
    size_t old;
    int rc = -1;
    tsv_init(&c->r, "brands.tsv", data, len, err, errlen);
    for (size_t d = 0; d < t->n_departments; d++) {
        const char *name = t->nodes[t->departments[d].node].name;
        if (map_put(&deps, name, strlen(name), 0, d, &old) != GW_OK) {
            oom(c);
            goto out;
        }
    }
    if (tsv_header(&c->r, BRAND_COLS, 2) != 0)
        goto out;
    while ((rc = tsv_row(&c->r, f, BRAND_COLS, 2)) == 1)
        if ((rc = brand_line(c, f, &deps)) != 0)
            goto out;
    if (rc < 0)
        goto out;
    for (size_t d = 0; d < t->n_departments; d++) {
        if (t->departments[d].n_brands == 0) {
            fail(&c->r, 0, "department '%s' has no brands", t->nodes[t->departments[d].node].name);
            rc = -1;
            goto out;
        }
    }
    rc = 0;
out:
    map_free(&deps);
    map_free(&c->keys);
    return rc;
}

/* ---- warehouses.tsv ---------------------------------------------------------- */

static const char *const WH_COLS[] = {"code", "name", "city", "state", "region"};
static const char *const REGIONS[] = {"West", "Southwest", "Midwest", "Southeast", "Northeast"};
static const char USPS[] = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI "
                           "MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT "
                           "VA WA WV WI WY";

/* "WH-" + 3 upper-case letters + "-" + 2 digits. */
static int code_ok(span_t s)
{
    if (s.n != 9 || memcmp(s.p, "WH-", 3) != 0 || s.p[6] != '-')
        return 0;
    for (size_t i = 3; i < 6; i++)
        if (s.p[i] < 'A' || s.p[i] > 'Z')
            return 0;
    return s.p[7] >= '0' && s.p[7] <= '9' && s.p[8] >= '0' && s.p[8] <= '9';
}

static int state_ok(span_t s)
{
    if (s.n != 2 || s.p[0] < 'A' || s.p[0] > 'Z' || s.p[1] < 'A' || s.p[1] > 'Z')
        return 0;
    for (size_t i = 0; i + 1 < sizeof USPS; i += 3)
        if (USPS[i] == s.p[0] && USPS[i + 1] == s.p[1])
            return 1;
    return 0;
}

static int wh_check(ctx_t *c, const span_t *f)
{
    for (size_t i = 0; i < 5; i++) {
        if (f[i].n == 0) {
            fail(&c->r, c->r.line, "column '%s' is empty", WH_COLS[i]);
            return -1;
        }
    }
    if (!code_ok(f[0])) {
        fail(&c->r, c->r.line, "code '" SPAN_FMT "' must look like WH-SEA-01", SPAN_ARG(f[0]));
        return -1;
    }
    if (!state_ok(f[3])) {
        fail(&c->r, c->r.line, "state '" SPAN_FMT "' is not a 2-letter USPS state code",
             SPAN_ARG(f[3]));
        return -1;
    }
    for (size_t i = 0; i < sizeof REGIONS / sizeof *REGIONS; i++)
        if (span_is(f[4], REGIONS[i]))
            return 0;
    fail(&c->r, c->r.line,
         "region '" SPAN_FMT "' must be one of West, Southwest, Midwest, Southeast, Northeast",
         SPAN_ARG(f[4]));
    return -1;
}

static int wh_unique(ctx_t *c, map_t *m, span_t s, const char *what)
{
    size_t old;
    if (map_put(m, s.p, s.n, 0, (size_t)c->r.line, &old) != GW_OK)
        return oom(c);
    if (old == TAX_NONE)
        return 0;
    fail(&c->r, c->r.line, "duplicate %s '" SPAN_FMT "' (first on line %zu)", what, SPAN_ARG(s),
         old);
    return -1;
}

static int wh_line(ctx_t *c, const span_t *f)
{
    gw_taxonomy_t *t = c->t;
    if (wh_check(c, f) != 0 || wh_unique(c, &c->keys, f[0], "code") != 0 ||
        wh_unique(c, &c->keys2, f[1], "name") != 0)
        return -1;
    if (grow((void **)&t->warehouses, &c->cap_wh, t->n_warehouses + 1, sizeof *t->warehouses))
        return oom(c);
    gw_tax_warehouse_t *w = &t->warehouses[t->n_warehouses];
    memset(w, 0, sizeof *w);
    w->id = (int)t->n_warehouses + 1;
    t->n_warehouses++;
    char **dst[5] = {&w->code, &w->name, &w->city, &w->state, &w->region};
    for (size_t i = 0; i < 5; i++)
        if ((*dst[i] = gw_strndup(f[i].p, f[i].n)) == NULL)
            return oom(c);
    return 0;
}

static int parse_warehouses(ctx_t *c, const char *data, size_t len, char *err, size_t errlen)
{
    span_t f[5];
    int rc = -1;
    tsv_init(&c->r, "warehouses.tsv", data, len, err, errlen);
    if (tsv_header(&c->r, WH_COLS, 5) != 0)
        goto out;
    while ((rc = tsv_row(&c->r, f, WH_COLS, 5)) == 1)
        if ((rc = wh_line(c, f)) != 0)
            goto out;
    if (rc == 0 && c->t->n_warehouses == 0) {
        fail(&c->r, 0, "no warehouses");
        rc = -1;
    }
out:
    map_free(&c->keys);
    map_free(&c->keys2);
    return rc;
}

/* ---- public API -------------------------------------------------------------- */

void gw_taxonomy_free(gw_taxonomy_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_nodes; i++) {
        gw_tax_node_t *nd = &t->nodes[i];
        gw_free(nd->name);
        gw_free(nd->path);
        free_list(nd->synonyms, nd->n_synonyms);
        free_list(nd->colors, nd->n_colors);
        free_list(nd->materials, nd->n_materials);
    }
    for (size_t i = 0; i < t->n_departments; i++)
        free_list(t->departments[i].brands, t->departments[i].n_brands);
    for (size_t i = 0; i < t->n_warehouses; i++) {
        gw_tax_warehouse_t *w = &t->warehouses[i];
        gw_free(w->code);
        gw_free(w->name);
        gw_free(w->city);
        gw_free(w->state);
        gw_free(w->region);
    }
    gw_free(t->nodes);
    gw_free(t->leaves);
    gw_free(t->departments);
    gw_free(t->warehouses);
    gw_free(t);
}

gw_taxonomy_t *gw_taxonomy_parse_mem(const char *taxonomy, size_t taxonomy_len,
                                     const char *brands, size_t brands_len,
                                     const char *warehouses, size_t warehouses_len, char *err,
                                     size_t errlen)
{
    ctx_t c = {.phrases = {.icase = 1}, .keys2 = {.icase = 1}};
    gw_taxonomy_t *res = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    tsv_init(&c.r, "taxonomy.tsv", taxonomy, taxonomy_len, err, errlen);
    if ((c.t = gw_calloc(1, sizeof *c.t)) == NULL) {
        oom(&c);
        goto out;
    }
    if (parse_taxonomy(&c, taxonomy, taxonomy_len, err, errlen) != 0 ||
        parse_brands(&c, brands, brands_len, err, errlen) != 0 ||
        parse_warehouses(&c, warehouses, warehouses_len, err, errlen) != 0)
        goto out;
    res = c.t;
    c.t = NULL;
out:
    gw_taxonomy_free(c.t);
    gw_free(c.aux);
    gw_free(c.cap_brands);
    map_free(&c.paths);
    map_free(&c.phrases);
    map_free(&c.keys);
    map_free(&c.keys2);
    return res;
}

/* Reads dir/name whole into a new buffer (caller frees). */
static gw_err_t read_file(const char *dir, const char *name, char **out, size_t *len,
                          char *err, size_t errlen)
{
    char path[4096];
    gw_err_t rc = GW_EIO;
    FILE *fp = NULL;
    char *buf = NULL;
    long size;
    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        snprintf(err, errlen, "%s: data directory path too long", name);
        return GW_EINVAL;
    }
    if ((fp = fopen(path, "rb")) == NULL) {
        snprintf(err, errlen, "%s: cannot open %s: %s", name, path, strerror(errno));
        goto out;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0 ||
        (unsigned long)size > TAX_MAX_FILE) {
        snprintf(err, errlen, "%s: cannot read %s (unreadable or over %u bytes)", name, path,
                 TAX_MAX_FILE);
        goto out;
    }
    if ((buf = gw_malloc((size_t)size + 1)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        rc = GW_ENOMEM;
        goto out;
    }
    if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
        snprintf(err, errlen, "%s: cannot read %s: %s", name, path, strerror(errno));
        goto out;
    }
    *out = buf;
    *len = (size_t)size;
    buf = NULL;
    rc = GW_OK;
out:
    gw_free(buf);
    if (fp != NULL)
        fclose(fp);
    return rc;
}

gw_taxonomy_t *gw_taxonomy_load(const char *dir, char *err, size_t errlen)
{
    static const char *const files[3] = {"taxonomy.tsv", "brands.tsv", "warehouses.tsv"};
    char *data[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    char scratch[8];
    gw_taxonomy_t *t = NULL;
    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    if (dir == NULL)
        dir = gw_taxonomy_default_dir();
    for (size_t i = 0; i < 3; i++)
        if (read_file(dir, files[i], &data[i], &len[i], err, errlen) != GW_OK)
            goto out;
    t = gw_taxonomy_parse_mem(data[0], len[0], data[1], len[1], data[2], len[2], err, errlen);
out:
    for (size_t i = 0; i < 3; i++)
        gw_free(data[i]);
    return t;
}

const gw_tax_node_t *gw_taxonomy_node(const gw_taxonomy_t *t, int id)
{
    if (t == NULL || id < 1 || (size_t)id > t->n_nodes)
        return NULL;
    return &t->nodes[id - 1];
}

const gw_tax_node_t *gw_taxonomy_find(const gw_taxonomy_t *t, const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    for (size_t i = 0; t != NULL && name != NULL && i < t->n_nodes; i++)
        if (strlen(t->nodes[i].name) == n && ascii_ieq(t->nodes[i].name, name, n))
            return &t->nodes[i];
    return NULL;
}

const char *gw_taxonomy_default_dir(void)
{
    const char *d = getenv("LLMGW_DATA_DIR");
    return d != NULL && d[0] != '\0' ? d : GW_SOURCE_DIR "/data";
}

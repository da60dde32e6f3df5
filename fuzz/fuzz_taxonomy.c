/* fuzz_taxonomy.c - libFuzzer target for the taxonomy loader's parsers
 * (gw_taxonomy_parse_mem in src/taxonomy.c).
 *
 * The first input byte picks what the rest stands for: 0 taxonomy.tsv,
 * 1 brands.tsv, 2 warehouses.tsv (the other two files are small valid
 * ones), 3 all three separated by NUL bytes. A failure must come with a
 * message; a success must keep the invariants the header promises, or we
 * abort.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taxonomy.h"

static const char TAX[] = "path\tsynonyms\tprice_min\tprice_max\tcolors\tmaterials\n"
                          "Furniture\tfurniture\t\t\t\t\n"
                          "Furniture > Office Furniture\toffice furniture\t\t\t\t\n"
                          "Furniture > Office Furniture > Standing Desks\tstanding desk|sit stand "
                          "desk\t149.99\t1999\tBlack|White\tSteel|Bamboo\n";
static const char BR[] = "department\tbrand\nFurniture\tSauder\nFurniture\tZinus\n";
static const char WH[] = "code\tname\tcity\tstate\tregion\n"
                         "WH-SEA-01\tSeattle Fulfillment Center\tSeattle\tWA\tWest\n";

static int node_ok(const gw_taxonomy_t *t, size_t i)
{
    const gw_tax_node_t *n = &t->nodes[i];
    if (n->id != (int)i + 1 || n->name == NULL || n->path == NULL || n->depth < 1 ||
        n->department >= t->n_departments)
        return 0;
    if (n->is_leaf && !(n->price_min > 0 && n->price_min < n->price_max && n->n_colors > 0 &&
                        n->n_materials > 0))
        return 0;
    if (!n->is_leaf && (n->n_colors != 0 || n->n_materials != 0))
        return 0;
    if (n->depth == 1)
        return n->parent_id == 0 && strcmp(n->name, n->path) == 0;
    const gw_tax_node_t *p = gw_taxonomy_node(t, n->parent_id);
    size_t pl = p != NULL ? strlen(p->path) : 0;
    return p != NULL && p->id < n->id && p->depth == n->depth - 1 && !p->is_leaf &&
           strncmp(n->path, p->path, pl) == 0 && strcmp(n->path + pl + 3, n->name) == 0;
}

static void check(const gw_taxonomy_t *t)
{
    size_t leaves = 0;
    for (size_t i = 0; i < t->n_nodes; i++) {
        if (!node_ok(t, i))
            abort();
        leaves += (size_t)t->nodes[i].is_leaf;
    }
    if (leaves != t->n_leaves || t->n_warehouses == 0)
        abort();
    for (size_t d = 0; d < t->n_departments; d++)
        if (t->departments[d].n_brands == 0 || t->nodes[t->departments[d].node].depth != 1)
            abort();
    for (size_t i = 0; i < t->n_warehouses; i++)
        if (t->warehouses[i].id != (int)i + 1 || strlen(t->warehouses[i].state) != 2)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *part[3] = {TAX, BR, WH};
    size_t len[3] = {sizeof TAX - 1, sizeof BR - 1, sizeof WH - 1};
    char err[256];
    if (size == 0)
        return 0;
    const char *in = (const char *)data + 1, *end = (const char *)data + size;
    unsigned mode = data[0] % 4;
    if (mode < 3) {
        part[mode] = in;
        len[mode] = (size_t)(end - in);
    } else {
        for (int k = 0; k < 3; k++) {
            const char *nul = k < 2 ? memchr(in, '\0', (size_t)(end - in)) : NULL;
            const char *e = nul != NULL ? nul : end;
            part[k] = in;
            len[k] = (size_t)(e - in);
            in = nul != NULL ? nul + 1 : end;
        }
    }
    gw_taxonomy_t *t =
        gw_taxonomy_parse_mem(part[0], len[0], part[1], len[1], part[2], len[2], err, sizeof err);
    if (t != NULL)
        check(t);
    else if (err[0] == '\0')
        abort();
    gw_taxonomy_free(t);
    return 0;
}

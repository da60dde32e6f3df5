/* taxonomy.h - the retail taxonomy, brands and warehouses that the catalog
 * generator, the retriever and the planners share, loaded from the data
 * files in data/ (taxonomy.tsv, brands.tsv, warehouses.tsv; formats in
 * data/README.md).
 *
 * Category ids are assigned in file order starting at 1, so they are
 * stable for a given file. A loaded taxonomy is immutable; free it with
 * gw_taxonomy_free.
 */
#ifndef GW_TAXONOMY_H
#define GW_TAXONOMY_H

#include <stddef.h>

typedef struct gw_tax_node {
    int id;          /* category_id, 1-based, file order */
    int parent_id;   /* 0 for a department (NULL in SQL) */
    int depth;       /* 1 = department */
    char *name;      /* "Ergonomic Office Chairs" */
    char *path;      /* "Furniture > Office Furniture > Office Chairs > Ergonomic Office Chairs" */
    char **synonyms; /* lower-case phrases: "ergonomic chair", "task chair" */
    size_t n_synonyms;
    int is_leaf;
    size_t department;   /* index into gw_taxonomy_t.departments */
    double price_min;    /* leaves only */
    double price_max;
    char **colors;       /* leaves only, at least one */
    size_t n_colors;
    char **materials;    /* leaves only, at least one */
    size_t n_materials;
} gw_tax_node_t;

typedef struct gw_tax_department {
    size_t node;   /* index of the department's node in nodes */
    char **brands; /* in Zipf rank order: the first is the most common */
    size_t n_brands;
} gw_tax_department_t;

typedef struct gw_tax_warehouse {
    int id;       /* warehouse_id, 1-based, file order */
    char *code;   /* "WH-SEA-01" */
    char *name;   /* "Seattle Fulfillment Center 1" */
    char *city;
    char *state;  /* two letters */
    char *region; /* West | Southwest | Midwest | Southeast | Northeast */
} gw_tax_warehouse_t;

typedef struct gw_taxonomy {
    gw_tax_node_t *nodes; /* nodes[i].id == i + 1 */
    size_t n_nodes;
    size_t *leaves;       /* indexes into nodes of the leaf categories */
    size_t n_leaves;
    gw_tax_department_t *departments;
    size_t n_departments;
    gw_tax_warehouse_t *warehouses;
    size_t n_warehouses;
} gw_taxonomy_t;

/* Loads dir/taxonomy.tsv, dir/brands.tsv and dir/warehouses.tsv (dir NULL:
 * gw_taxonomy_default_dir()). Returns a new taxonomy (free it with
 * gw_taxonomy_free), or NULL and a reason ("taxonomy.tsv:12: parent 'X' not
 * defined") in err on failure; err may be NULL. */
gw_taxonomy_t *gw_taxonomy_load(const char *dir, char *err, size_t errlen);
/* Frees t and everything it owns; NULL is a no-op. */
void gw_taxonomy_free(gw_taxonomy_t *t);
/* The node with this category id, or NULL. */
const gw_tax_node_t *gw_taxonomy_node(const gw_taxonomy_t *t, int id);
/* The default data directory: $LLMGW_DATA_DIR or the source tree's data/. */
const char *gw_taxonomy_default_dir(void);

/* Builds a taxonomy from the contents of the three files held in memory,
 * with the same checks and messages as gw_taxonomy_load (which calls it);
 * tests and fuzz/fuzz_taxonomy.c use it directly. Borrows the buffers,
 * which need not be NUL-terminated. Returns a new taxonomy (free it with
 * gw_taxonomy_free) or NULL and a reason in err. */
gw_taxonomy_t *gw_taxonomy_parse_mem(const char *taxonomy, size_t taxonomy_len,
                                     const char *brands, size_t brands_len,
                                     const char *warehouses, size_t warehouses_len,
                                     char *err, size_t errlen);
/* The node named `name` (ASCII case-insensitive; names are unique), or
 * NULL. The result is borrowed from t. */
const gw_tax_node_t *gw_taxonomy_find(const gw_taxonomy_t *t, const char *name);

#endif

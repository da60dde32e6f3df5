/* retriever_int.h - internals shared by retriever.c (linking) and
 * retriever_index.c (building the index). Not a public header.
 */
#ifndef GW_RETRIEVER_INT_H
#define GW_RETRIEVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "retriever.h"

/* Entry flags. */
#define GW__E_UPPER 1u /* matches only a token written in capitals ("TX", "LAX") */
#define GW__E_WEAK 2u  /* a common word ("light", "down"): needs a color/material context */
#define GW__E_HEAD 4u  /* the head noun of a longer category name */
#define GW__E_WEAKB 8u /* a brand that is also a common word ("On", "Head"): needs a capital or context */

/* A multimap from strings to int lists (open addressing). */
typedef struct gw__slot {
    char *key; /* owned */
    uint32_t hash;
    int *vals;
    size_t n, cap;
} gw__slot_t;

typedef struct gw__map {
    gw__slot_t *slots;
    size_t cap, used;
} gw__map_t;

typedef struct gw__word {
    char *text; /* borrowed from the words map key */
    char stem[GW_RT_TOKEN_MAX];
    double idf;
    size_t df;
} gw__word_t;

typedef struct gw__entry {
    gw_link_kind_t kind;
    int id;
    char *value; /* owned */
    unsigned flags;
    double prior;
} gw__entry_t;

typedef struct gw__phrase {
    int *words; /* word ids */
    size_t n;
    int entry;
    double weight;
} gw__phrase_t;

struct gw_retriever {
    const gw_taxonomy_t *tax;
    gw__map_t words;   /* text -> word id (one value) */
    gw__map_t stems;   /* stem -> word ids */
    gw__map_t dels;    /* deletion variant -> word ids (words of 5+ letters) */
    gw__map_t first;   /* word id (as decimal text) -> phrase ids starting with it */
    gw__word_t *wv;
    size_t n_words, cap_words;
    gw__entry_t *ev;
    size_t n_entries, cap_entries;
    gw__phrase_t *pv;
    size_t n_phrases, cap_phrases;
};

/* Multimap helpers. gw__map_get returns the slot of key or NULL. */
gw__slot_t *gw__map_get(const gw__map_t *m, const char *key);
gw_err_t gw__map_add(gw__map_t *m, const char *key, int val, int unique);
void gw__map_free(gw__map_t *m);

/* 1 when s[0..len) is valid UTF-8 without NUL bytes (retriever_text.c). */
int gw__rt_utf8_valid(const char *s, size_t len);

/* Builds everything in r from the taxonomy and schema (retriever_index.c). */
gw_err_t gw__rt_build(gw_retriever_t *r, const gw_schema_t *schema, char *err, size_t errlen);

#endif

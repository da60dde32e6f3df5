/* search_scratch.c - the per-call scratch of search queries and the pool
 * of idle ones each index keeps, so that a result made per request does
 * not allocate and zero two accumulators per document every time.
 *
 * The pool is a mutex-guarded free list (at most POOL_MAX kept); a result
 * that is reused keeps its scratch and never touches the lock.
 */
#include <pthread.h>

#include "alloc.h"
#include "search_int.h"

#define POOL_MAX 16 /* idle scratches kept: about one per thread that queries */

struct gw__search_pool {
    pthread_mutex_t mu;
    gw_search_scratch_t *free;
    size_t n_free;
};

static void scratch_free(gw_search_scratch_t *sc)
{
    if (sc == NULL)
        return;
    gw_free(sc->acc);
    gw_free(sc->slot);
    gw_free(sc->touched);
    gw_free(sc->cand);
    gw_free(sc);
}

gw_err_t gw__search_pool_new(gw__search_pool_t **out)
{
    gw__search_pool_t *p = gw_calloc(1, sizeof *p);
    *out = NULL;
    if (p == NULL)
        return GW_ENOMEM;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        gw_free(p);
        return GW_ENOMEM;
    }
    *out = p;
    return GW_OK;
}

void gw__search_pool_free(gw__search_pool_t *p)
{
    if (p == NULL)
        return;
    while (p->free != NULL) {
        gw_search_scratch_t *sc = p->free;
        p->free = sc->next;
        scratch_free(sc);
    }
    pthread_mutex_destroy(&p->mu);
    gw_free(p);
}

static gw_search_scratch_t *scratch_new(const gw_search_t *s)
{
    gw_search_scratch_t *sc = gw_calloc(1, sizeof *sc);
    if (sc == NULL)
        return NULL;
    sc->pool = s->pool;
    sc->n_docs = s->n_docs;
    sc->n_terms = s->n_terms;
    sc->acc = gw_calloc(s->n_docs ? s->n_docs : 1, sizeof *sc->acc);
    sc->slot = gw_calloc(s->n_terms ? s->n_terms : 1, 1);
    if (sc->acc == NULL || sc->slot == NULL) {
        scratch_free(sc);
        return NULL;
    }
    return sc;
}

gw_err_t gw__search_scratch_get(const gw_search_t *s, gw_search_scratch_t **io)
{
    gw_search_scratch_t *sc = *io;
    if (sc != NULL && sc->pool == s->pool && sc->n_docs == s->n_docs && sc->n_terms == s->n_terms)
        return GW_OK;
    gw__search_scratch_release(sc);
    *io = NULL;
    pthread_mutex_lock(&s->pool->mu);
    if ((sc = s->pool->free) != NULL) {
        s->pool->free = sc->next;
        s->pool->n_free--;
    }
    pthread_mutex_unlock(&s->pool->mu);
    if (sc == NULL && (sc = scratch_new(s)) == NULL)
        return GW_ENOMEM;
    sc->next = NULL;
    *io = sc;
    return GW_OK;
}

void gw__search_scratch_release(gw_search_scratch_t *sc)
{
    if (sc == NULL)
        return;
    gw__search_pool_t *p = sc->pool;
    pthread_mutex_lock(&p->mu);
    if (p->n_free < POOL_MAX) {
        sc->next = p->free;
        p->free = sc;
        p->n_free++;
        sc = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    scratch_free(sc);
}

gw_err_t gw__search_scratch_reserve(gw_search_scratch_t *sc, size_t n)
{
    if (n <= sc->cap_touched)
        return GW_OK;
    size_t cap = sc->cap_touched * 2 < sc->n_docs ? sc->cap_touched * 2 : sc->n_docs;
    cap = cap > n ? cap : n;
    uint32_t *t = gw_realloc(sc->touched, cap * sizeof *t);
    if (t == NULL)
        return GW_ENOMEM;
    sc->touched = t;
    gw__search_ub_t *c = gw_realloc(sc->cand, cap * sizeof *c);
    if (c == NULL)
        return GW_ENOMEM;
    sc->cand = c;
    sc->cap_touched = cap;
    return GW_OK;
}

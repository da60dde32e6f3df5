/* fuzz_retriever.c - libFuzzer target for the retriever (src/retriever.h)
 * built once on the project taxonomy: any bytes are linked, and the result
 * must keep the header's promises (or we abort): token and link spans
 * inside the question and ordered, links sorted by position, tie groups
 * sharing one span, every token's link index valid and covering it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "retriever.h"
#include "taxonomy.h"

static gw_taxonomy_t *tax;
static gw_retriever_t *rt;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    (void)argc, (void)argv;
    tax = gw_taxonomy_load(GW_SOURCE_DIR "/data", err, sizeof err);
    rt = tax != NULL ? gw_retriever_new(tax, NULL, err, sizeof err) : NULL;
    if (rt == NULL)
        abort();
    return 0;
}

static void check(const gw_rquery_t *q, size_t len)
{
    for (size_t i = 0; i < q->n_toks; i++) {
        const gw_token_t *t = &q->toks[i];
        if (t->start >= t->end || t->end > len || (i > 0 && t->start < q->toks[i - 1].end) ||
            strlen(t->text) >= GW_RT_TOKEN_MAX || (t->link >= 0 && (size_t)t->link >= q->n_links))
            abort();
        if (t->link >= 0 && (q->links[t->link].tok_first > i || q->links[t->link].tok_end <= i))
            abort();
    }
    for (size_t i = 0; i < q->n_links; i++) {
        const gw_link_t *l = &q->links[i];
        if (l->tok_first >= l->tok_end || l->tok_end > q->n_toks || l->value == NULL || l->start >= l->end ||
            l->end > len || l->score <= 0)
            abort();
        if (i > 0) {
            const gw_link_t *p = &q->links[i - 1];
            if (p->tok_first > l->tok_first || (p->group == l->group && (p->tok_first != l->tok_first ||
                                                                         p->tok_end != l->tok_end)))
                abort();
            if (p->group != l->group && p->tok_end > l->tok_first)
                abort(); /* overlapping spans were resolved */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_rquery_t q;
    gw_err_t rc = gw_retriever_link(rt, (const char *)data, size, &q);
    if (rc == GW_OK)
        check(&q, size);
    else if (rc != GW_EINVAL && rc != GW_ETOOBIG)
        abort();
    gw_rquery_free(&q);
    return 0;
}

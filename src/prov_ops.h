/* prov_ops.h - the one call the router needs for embeddings and rerank
 * beyond provider.h: translating an upstream answer with the client's
 * request at hand (its encoding_format, top_n, return_documents and
 * documents shape the answer; gw_prov_translate has no way to know them).
 * gw_op_inspect, gw_prov_build and gw_prov_translate are in provider.h.
 */
#ifndef GW_PROV_OPS_H
#define GW_PROV_OPS_H

#include "provider.h"

/* As gw_prov_translate, for the client request info describes (the result
 * of gw_op_inspect for op; its body must still be valid). NULL info (or
 * one with no body) gives gw_prov_translate's behaviour:
 *  embeddings: vectors come back as the client asked (encoding_format
 *    "base64": little-endian float32, base64, also when the upstream sent
 *    floats); without info, as the upstream sent them (gemini: floats).
 *    gemini: the number of vectors must match the inputs (else GW_EUPSTREAM).
 *  rerank: results cut at the client's top_n (also top_k); with
 *    return_documents true each result carries {"text"} of the client's
 *    document; without info every result the upstream gave is kept, with
 *    the document text the upstream echoed, if any; an index outside the
 *    client's documents is GW_EUPSTREAM.
 * Appends to out (left as it was on failure); usage: prompt_tokens from the
 * upstream or -1 (the body then says 0 where the shape needs a number),
 * completion_tokens 0. GW_OP_CHAT is gw_prov_translate_response. */
gw_err_t gw_prov_translate_req(gw_op_t op, gw_prov_kind_t kind, const gw_chat_info_t *info, const char *body,
                               size_t len, const char *upstream_model, gw_buf_t *out, gw_usage_t *usage);

#endif

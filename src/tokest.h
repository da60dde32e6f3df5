/* tokest.h - token estimates for when an upstream reports no usage.
 *
 * Rule (documented in the README): about 4 bytes of UTF-8 text per token,
 * rounded up. The prompt estimate is ceil(prompt_chars / 4) + 4 (a small
 * per-request framing allowance, as chat templates add role tokens); the
 * completion estimate is ceil(content_bytes / 4) over the text the upstream
 * produced (message content, reasoning text, tool-call arguments), which
 * gw_tokest_scan measures in any of the three wire formats.
 */
#ifndef GW_TOKEST_H
#define GW_TOKEST_H

#include <stddef.h>
#include <stdint.h>

/* Estimated prompt tokens for prompt_chars bytes of message text (>= 4). */
int64_t gw_tokest_prompt(size_t prompt_chars);

/* Estimated completion tokens for content_bytes bytes of produced text (0 for 0). */
int64_t gw_tokest_completion(size_t content_bytes);

/* Returns the number of text bytes inside the JSON string values of the
 * keys "content", "text", "arguments", "partial_json" and "thinking" in
 * p[0..n) (an OpenAI, Anthropic or Gemini answer or stream event). An
 * escape sequence counts as one byte. Pure, no allocation, never reads
 * past n. */
size_t gw_tokest_scan(const char *p, size_t n);

#endif

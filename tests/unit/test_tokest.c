/* test_tokest.c - the bytes/4 token estimates and the content-bytes scanner
 * over answers and stream events of the three wire formats. */
#include <string.h>

#include "test.h"
#include "tokest.h"

static size_t scan(const char *s) { return gw_tokest_scan(s, strlen(s)); }

int main(void)
{
    T_OK(gw_tokest_prompt(0) == 4, "empty prompt: the framing allowance 4");
    T_OK(gw_tokest_prompt(1) == 5 && gw_tokest_prompt(4) == 5 && gw_tokest_prompt(5) == 6, "ceil(chars/4) + 4");
    T_OK(gw_tokest_prompt(4000) == 1004, "4000 chars -> 1004, got %lld", (long long)gw_tokest_prompt(4000));
    T_OK(gw_tokest_completion(0) == 0 && gw_tokest_completion(1) == 1 && gw_tokest_completion(8) == 2 &&
             gw_tokest_completion(9) == 3, "completion ceil(bytes/4)");

    /* OpenAI non-stream answer: only message content counts, not role/ids */
    T_OK(scan("{\"id\":\"chatcmpl-1\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"echo: hi\"}}]}") ==
             8, "openai content 8 bytes, got %zu", scan("{\"message\":{\"content\":\"echo: hi\"}}"));
    T_OK(scan("{\"choices\":[{\"delta\":{\"content\":\"abc\"}}]}") == 3, "openai delta");
    T_OK(scan("{\"choices\":[{\"delta\":{\"content\":null}}]}") == 0, "null content: 0");
    T_OK(scan("{\"choices\":[{\"delta\":{\"content\":\"\"}}]}") == 0, "empty content: 0");
    /* Anthropic: type "text" is a value, not a key; the text key counts */
    T_OK(scan("{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}") == 5,
         "anthropic text_delta 5, got %zu",
         scan("{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}"));
    T_OK(scan("{\"content\":[{\"type\":\"text\",\"text\":\"ab\"},{\"type\":\"text\",\"text\":\"cd\"}]}") == 4,
         "anthropic two blocks");
    T_OK(scan("{\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}") == 7,
         "partial_json with escapes: 7, got %zu",
         scan("{\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}"));
    /* Gemini parts, whitespace around the colon */
    T_OK(scan("{\"candidates\":[{\"content\":{\"parts\":[{\"text\" : \"xyz\"}]}}]}") == 3, "gemini parts");
    /* tool-call arguments */
    T_OK(scan("{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}") == 15,
         "arguments 15, got %zu", scan("{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}"));
    /* \\u escapes count once */
    T_OK(scan("{\"text\":\"\\u00e9t\\u00e9\"}") == 3, "unicode escapes: 3, got %zu", scan("{\"text\":\"\\u00e9t\\u00e9\"}"));
    /* a key-like string inside content is text, and truncated input is safe */
    T_OK(scan("{\"content\":\"say \\\"text\\\": \\\"x\\\"\"}") == 15, "quoted key inside text counts as text: %zu",
         scan("{\"content\":\"say \\\"text\\\": \\\"x\\\"\"}"));
    T_OK(scan("{\"content\":\"abc") == 3, "unterminated: the bytes seen");
    T_OK(scan("{\"text\":\"\\u00") == 1, "cut escape: no overread");
    T_OK(gw_tokest_scan("\"content\":\"x\"", 5) == 0, "length bound respected");
    T_OK(scan("no quotes at all") == 0 && gw_tokest_scan("", 0) == 0, "nothing");
    return t_done("test_tokest");
}

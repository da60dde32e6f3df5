/* test_sse.c - unit tests for the SSE parser (src/sse.c).
 *
 * Every case of wire-formats.md 7 "SSE parser unit cases" and more. Each
 * input is parsed whole, split at every 2-way cut, at every 3-way cut
 * (short inputs) and byte by byte: all must give the same events, return
 * code, pending flag, last event ID and retry value.
 */
#include "alloc.h"
#include "sse.h"
#include "test.h"

typedef struct outcome {
    gw_buf_t ev; /* events as "[type|data]", control bytes escaped */
    gw_err_t rc;
    int pending;
    char id[64];
    long long retry;
} outcome_t;

typedef struct recorder {
    gw_buf_t *out;
    int stop_after; /* > 0: ask the parser to stop after this many events */
    int count;
} recorder_t;

static void put_escaped(gw_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            gw_buf_adds(b, "\\n");
        else if (s[i] == '\r')
            gw_buf_adds(b, "\\r");
        else if (s[i] == '\0')
            gw_buf_adds(b, "\\0");
        else
            gw_buf_add(b, s + i, 1);
    }
}

static int on_event(const gw_sse_event_t *ev, void *data)
{
    recorder_t *r = data;
    gw_buf_adds(r->out, "[");
    put_escaped(r->out, ev->event, ev->event_len);
    gw_buf_adds(r->out, "|");
    put_escaped(r->out, ev->data, ev->data_len);
    if (ev->data[ev->data_len] != '\0' || ev->event[ev->event_len] != '\0')
        gw_buf_adds(r->out, "!unterminated");
    gw_buf_adds(r->out, "]");
    r->count++;
    return r->stop_after > 0 && r->count >= r->stop_after;
}

/* Parses in[0..len) fed as the pieces between the sorted cut offsets. */
static void run(const char *in, size_t len, size_t max, const size_t *cuts, size_t ncuts,
                int stop_after, outcome_t *o)
{
    gw_sse_parser_t p;
    gw_buf_init(&o->ev, 1 << 20);
    recorder_t r = {.out = &o->ev, .stop_after = stop_after};
    gw_sse_init(&p, max);
    size_t at = 0;
    o->rc = GW_OK;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        o->rc = gw_sse_feed(&p, in + at, to - at, on_event, &r);
        at = to;
    }
    o->pending = gw_sse_pending(&p);
    size_t id_len;
    const char *id = gw_sse_last_id(&p, &id_len);
    snprintf(o->id, sizeof o->id, "%.*s", (int)id_len, id);
    o->retry = gw_sse_retry_ms(&p);
    gw_sse_free(&p);
}

static int same(const outcome_t *a, const outcome_t *b)
{
    return a->ev.len == b->ev.len && (a->ev.len == 0 || memcmp(a->ev.ptr, b->ev.ptr, a->ev.len) == 0) &&
           a->rc == b->rc && a->pending == b->pending && strcmp(a->id, b->id) == 0 &&
           a->retry == b->retry;
}

/* Compares every 2-way, 3-way (short inputs) and byte-by-byte split with w. */
static size_t split_mismatches(const char *in, size_t len, size_t max, int stop, const outcome_t *w)
{
    size_t bad = 0, cuts[2];
    outcome_t o;
    for (size_t i = 0; i <= len; i++) {
        cuts[0] = i;
        run(in, len, max, cuts, 1, stop, &o);
        bad += !same(w, &o);
        gw_buf_free(&o.ev);
        for (size_t j = i; len <= 48 && j <= len; j++) {
            cuts[1] = j;
            run(in, len, max, cuts, 2, stop, &o);
            bad += !same(w, &o);
            gw_buf_free(&o.ev);
        }
    }
    size_t *every = gw_calloc(len + 1, sizeof *every);
    for (size_t i = 0; i < len; i++)
        every[i] = i + 1;
    run(in, len, max, every, len, stop, &o);
    bad += !same(w, &o);
    gw_buf_free(&o.ev);
    gw_free(every);
    return bad;
}

typedef struct want {
    const char *events;
    gw_err_t rc;
    int pending;
    const char *id; /* NULL: "" */
    long long retry; /* only checked when has_retry */
    int has_retry;
    size_t max;      /* 0: 4096 */
    int stop_after;
} want_t;

static void check_n(const char *name, const char *in, size_t len, want_t w)
{
    outcome_t o;
    size_t max = w.max ? w.max : 4096;
    run(in, len, max, NULL, 0, w.stop_after, &o);
    const char *got = o.ev.ptr != NULL ? o.ev.ptr : "";
    T_STREQ(got, w.events, "%s: events '%s', want '%s'", name, got, w.events);
    T_OK(o.rc == w.rc, "%s: rc %s, want %s", name, gw_strerror(o.rc), gw_strerror(w.rc));
    T_OK(o.pending == w.pending, "%s: pending %d, want %d", name, o.pending, w.pending);
    T_STREQ(o.id, w.id ? w.id : "", "%s: last id '%s'", name, o.id);
    long long want_retry = w.has_retry ? w.retry : -1;
    T_OK(o.retry == want_retry, "%s: retry %lld, want %lld", name, o.retry, want_retry);
    size_t bad = split_mismatches(in, len, max, w.stop_after, &o);
    T_OK(bad == 0, "%s: %zu split(s) differ from whole-buffer parsing", name, bad);
    gw_buf_free(&o.ev);
}

#define CHECK(name, in, ...) check_n(name, in, sizeof(in) - 1, (want_t){__VA_ARGS__})

static void test_line_ends(void)
{
    CHECK("crlf", "data: a\r\ndata: b\r\n\r\n", .events = "[|a\\nb]");
    CHECK("lone cr", "data: a\rdata: b\r\revent: x\rdata: c\r\r", .events = "[|a\\nb][x|c]");
    CHECK("lone lf", "data: a\ndata: b\n\n", .events = "[|a\\nb]");
    CHECK("mixed", "data: 1\n\ndata: 2\r\r\ndata: 3\r\n\n", .events = "[|1][|2][|3]");
    CHECK("cr cr is blank", "data: a\r\rdata: b\r\n\r\n", .events = "[|a][|b]");
    CHECK("lf cr is blank", "data: a\n\rdata: b\n\n", .events = "[|a][|b]");
    CHECK("many blank lines", "data: a\n\n\n\n\r\n\r\r", .events = "[|a]");
}

/* The CRLF split across two reads, spelled out (the split loop covers it too). */
static void test_crlf_across_reads(void)
{
    gw_sse_parser_t p;
    gw_buf_t out;
    gw_buf_init(&out, 4096);
    recorder_t r = {.out = &out};
    gw_sse_init(&p, 4096);
    T_OK(gw_sse_feed(&p, "data: a\r", 8, on_event, &r) == GW_OK, "crlf split: feed 1");
    T_OK(r.count == 0 && p.last_cr == 1, "crlf split: CR at the end is pending");
    T_OK(gw_sse_feed(&p, "\ndata: b\r", 9, on_event, &r) == GW_OK, "crlf split: feed 2");
    T_OK(r.count == 0, "crlf split: the LF after CR is not a blank line");
    T_OK(gw_sse_feed(&p, "\n", 1, on_event, &r) == GW_OK && r.count == 0, "crlf split: feed 3");
    T_OK(gw_sse_feed(&p, "", 0, on_event, &r) == GW_OK && r.count == 0, "crlf split: empty feed");
    T_OK(gw_sse_feed(&p, "\r", 1, on_event, &r) == GW_OK && r.count == 1, "crlf split: dispatch on CR");
    T_OK(gw_sse_feed(&p, "\n", 1, on_event, &r) == GW_OK && r.count == 1, "crlf split: no 2nd dispatch");
    T_STREQ(out.ptr, "[|a\\nb]", "crlf split: events '%s'", out.ptr);
    T_OK(!gw_sse_pending(&p), "crlf split: nothing pending");
    gw_sse_free(&p);
    gw_buf_free(&out);
}

static void test_fields(void)
{
    CHECK("no space", "data:x\n\n", .events = "[|x]");
    CHECK("one space stripped", "data:  x \n\n", .events = "[| x ]");
    CHECK("empty value", "data: \n\n", .events = "[|]");
    CHECK("two data lines", "data: {\"a\":\ndata: 1}\n\n", .events = "[|{\"a\":\\n1}]");
    CHECK("colon in value", "data: a: b:c\n\n", .events = "[|a: b:c]");
    CHECK("bare data", "data\n\n", .events = "[|]");
    CHECK("bare data twice", "data\ndata\n\n", .events = "[|\\n]");
    CHECK("bare event", "event\ndata\n\n", .events = "[|]");
    CHECK("case sensitive", "Data: x\n\nDATA: y\n\nEvent: e\ndata: z\n\n", .events = "[|z]");
    CHECK("unknown field", "foo: bar\ndatax: 1\ndat: 2\ndata: z\n\n", .events = "[|z]");
    CHECK("event type", "event: delta\ndata: {}\n\n", .events = "[delta|{}]");
    CHECK("last event wins", "event: a\nevent: b\ndata: x\n\n", .events = "[b|x]");
    CHECK("empty event", "event: a\nevent:\ndata: x\n\n", .events = "[|x]");
    CHECK("type reset", "event: a\ndata: 1\n\ndata: 2\n\n", .events = "[a|1][|2]");
    CHECK("nul in data", "data: a\0b\n\n", .events = "[|a\\0b]");
    CHECK("cr inside is a line end", "data: a\rb\n\n", .events = "[|a]");
}

static void test_comments_and_dispatch(void)
{
    CHECK("comments", ": ping\n\n: PROCESSING\ndata: a\n: x\n\n", .events = "[|a]");
    CHECK("colon data is a comment", ":data: x\n\n", .events = "");
    CHECK("event without data", "event: foo\n\n", .events = "");
    CHECK("event without data resets", "event: foo\n\ndata: y\n\n", .events = "[|y]");
    CHECK("trailing event discarded", "data: a\n\ndata: b\n", .events = "[|a]", .pending = 1);
    CHECK("trailing partial line", "data: a\n\ndata: b", .events = "[|a]", .pending = 1);
    CHECK("trailing event type", "data: a\n\nevent: x\n", .events = "[|a]", .pending = 1);
    CHECK("trailing cr", "data: a\r", .events = "", .pending = 1);
    CHECK("clean end", "data: a\n\n", .events = "[|a]");
    CHECK("clean end comment", "data: a\n\n: bye\n", .events = "[|a]");
    CHECK("empty stream", "", .events = "");
}

static void test_bom(void)
{
    CHECK("bom", "\xEF\xBB\xBF" "data: a\n\n", .events = "[|a]");
    CHECK("bom crlf", "\xEF\xBB\xBF\r\ndata: x\r\n\r\n", .events = "[|x]");
    CHECK("second bom kept", "\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\ndata: b\n\n", .events = "[|b]");
    CHECK("bom only at start", "data: a\n\n\xEF\xBB\xBF" "data: b\n\n", .events = "[|a]");
    CHECK("partial bom", "\xEF\xBB" "data: a\n\ndata: b\n\n", .events = "[|b]");
    CHECK("partial bom pending", "\xEF\xBB", .events = "", .pending = 1);
    CHECK("bom alone", "\xEF\xBB\xBF", .events = "");
    CHECK("bom prefix then lf", "\xEF\n" "data: c\n\n", .events = "[|c]");
}

static void test_id_retry(void)
{
    CHECK("retry abc", "retry: abc\ndata: a\n\n", .events = "[|a]");
    CHECK("retry digits", "retry:250\n", .events = "", .retry = 250, .has_retry = 1);
    CHECK("retry invalid kept", "retry: 3000\nretry: abc\nretry: 12a\nretry:\nretry: -1\nretry: 1.5\n"
          "retry: 99999999999999999999999\nretry:  5\n",
          .events = "", .retry = 3000, .has_retry = 1);
    CHECK("id", "id: 1\ndata: a\n\n", .events = "[|a]", .id = "1");
    CHECK("id with nul ignored", "id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n", .events = "[|a][|b]", .id = "1");
    CHECK("id survives dispatch", "id: 7\ndata: a\n\ndata: b\n\n", .events = "[|a][|b]", .id = "7");
    CHECK("empty id resets", "id: 7\nid\n", .events = "", .id = "");
    CHECK("id alone not pending", "id: 9\n", .events = "", .id = "9");
}

static void test_utf8(void)
{
    CHECK("split check mark", "data: \xE2\x9C\x93 done\n\n", .events = "[|\xE2\x9C\x93 done]");
    CHECK("long ascii then utf8", "data: abcdefghijklmnop\xE2\x9C\x93qrstuvwxyz0123\n\n",
          .events = "[|abcdefghijklmnop\xE2\x9C\x93qrstuvwxyz0123]");
    CHECK("4-byte", "event: \xF0\x9F\x98\x80\ndata: \xC3\xA9\n\n", .events = "[\xF0\x9F\x98\x80|\xC3\xA9]");
    CHECK("invalid byte", "data: \xFF\n\n", .events = "[|\xEF\xBF\xBD]");
    CHECK("truncated seq", "data: \xE2\x9C\n\n", .events = "[|\xEF\xBF\xBD]");
    CHECK("bad second byte", "data: \xF0\x80x\n\n", .events = "[|\xEF\xBF\xBD\xEF\xBF\xBDx]");
    CHECK("surrogate", "data: \xED\xA0\x80\n\n", .events = "[|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD]");
    CHECK("overlong 3-byte", "data: \xE0\x80\xAF\n\n", .events = "[|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD]");
    CHECK("min 3-byte", "data: \xE0\xA0\x80\n\n", .events = "[|\xE0\xA0\x80]");
    CHECK("above U+10FFFF", "data: \xF4\x90\x80\x80\n\n",
          .events = "[|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD]");
    CHECK("max code point", "data: \xF4\x8F\xBF\xBF\n\n", .events = "[|\xF4\x8F\xBF\xBF]");
    CHECK("overlong", "event: \xC0\xAF\ndata: y\n\n", .events = "[\xEF\xBF\xBD\xEF\xBF\xBD|y]");
}

static void test_limits(void)
{
    CHECK("line at limit", "data: 0123456789\n\n", .max = 16, .events = "[|0123456789]");
    CHECK("line over limit", "data: 01234567890\n\n", .max = 16, .events = "", .rc = GW_ETOOBIG, .pending = 1);
    CHECK("comment over limit", ": 0123456789abcdef\n", .max = 16, .events = "", .rc = GW_ETOOBIG, .pending = 1);
    CHECK("data at limit", "data: 0123456\ndata: 01234567\n\n", .max = 16,
          .events = "[|0123456\\n01234567]");
    CHECK("data over limit", "data: 01234567\ndata: 01234567\n\n", .max = 16, .events = "",
          .rc = GW_ETOOBIG, .pending = 1);
    CHECK("events before the error", "data: a\n\ndata: 0123456789abcdefgh\n\ndata: b\n\n", .max = 16,
          .events = "[|a]", .rc = GW_ETOOBIG, .pending = 1);
    CHECK("unfinished line over limit", "data: a\n\n0123456789abcdefgh", .max = 16, .events = "[|a]",
          .rc = GW_ETOOBIG, .pending = 1);
    CHECK("replacement at limit", "data: \xFF\xFF\xFF\xFF\xFF\n\n", .max = 16,
          .events = "[|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD]");
    CHECK("replacement over limit", "data: \xFF\xFF\xFF\xFF\xFF\xFF\n\n", .max = 16, .events = "",
          .rc = GW_ETOOBIG, .pending = 1);
    CHECK("stop", "data: a\n\ndata: b\n\n", .stop_after = 1, .events = "[|a]", .rc = GW_EDENIED);
}

static void test_sticky_and_oom(void)
{
    gw_sse_parser_t p;
    gw_buf_t out;
    gw_buf_init(&out, 4096);
    recorder_t r = {.out = &out};
    gw_sse_init(&p, 8);
    T_OK(gw_sse_feed(&p, "data: 0123456789\n", 17, on_event, &r) == GW_ETOOBIG, "limit: ETOOBIG");
    T_OK(gw_sse_feed(&p, "data: a\n\n", 9, on_event, &r) == GW_ETOOBIG && r.count == 0, "limit: sticky");
    gw_sse_free(&p);

    gw_sse_init(&p, 4096);
    gw_alloc_fail_after(0);
    gw_err_t rc = gw_sse_feed(&p, "data: a\n\n", 9, on_event, &r);
    gw_alloc_fail_after(-1);
    T_OK(rc == GW_ENOMEM && r.count == 0, "oom: ENOMEM, got %s", gw_strerror(rc));
    gw_sse_free(&p);

    gw_sse_init(&p, 4096);
    T_OK(gw_sse_feed(&p, "data: a\n\n", 9, NULL, NULL) == GW_OK && !gw_sse_pending(&p), "NULL cb");
    gw_sse_free(&p);
    gw_buf_free(&out);
}

int main(void)
{
    test_line_ends();
    test_crlf_across_reads();
    test_fields();
    test_comments_and_dispatch();
    test_bom();
    test_id_retry();
    test_utf8();
    test_limits();
    test_sticky_and_oom();
    return t_done("test_sse");
}

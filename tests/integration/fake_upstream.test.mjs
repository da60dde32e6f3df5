// fake_upstream.test.mjs - self-test of tests/fake/fake-upstream.mjs: every
// scenario on every wire format behaves as its header documents, the control
// API works, and the CLI prints LISTENING and stops on SIGTERM.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { API_KEY, USAGE, answerText, errorResponse, fakeEmbedding, startFake, startFakeProcess } from './lib/fake.mjs';
import { json, parseSSE, request, sseData } from './lib/http.mjs';

let fake;
before(async () => { fake = await startFake(null); });
after(async () => { await fake.close(); });
beforeEach(async () => { await fake.reset(); });

const OAI_H = { authorization: `Bearer ${API_KEY}` };
const ANT_H = { 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01' };
const GEM_H = { 'x-goog-api-key': API_KEY };

// One call per wire: the same logical chat request in each provider's shape.
function call(wire, model, { stream = false, text = 'hello fake', includeUsage = false, timeoutMs, headers } = {}) {
  if (wire === 'openai') {
    const body = { model, messages: [{ role: 'system', content: 'be terse' }, { role: 'user', content: text }] };
    if (stream) body.stream = true;
    if (includeUsage) body.stream_options = { include_usage: true };
    return request(fake.url, '/v1/chat/completions', { body, headers: headers ?? OAI_H, timeoutMs });
  }
  if (wire === 'anthropic') {
    const body = { model, max_tokens: 64, system: 'be terse', messages: [{ role: 'user', content: text }] };
    if (stream) body.stream = true;
    return request(fake.url, '/v1/messages', { body, headers: headers ?? ANT_H, timeoutMs });
  }
  const body = { systemInstruction: { parts: [{ text: 'be terse' }] }, contents: [{ role: 'user', parts: [{ text }] }] };
  const p = stream ? `/v1beta/models/${model}:streamGenerateContent?alt=sse` : `/v1beta/models/${model}:generateContent`;
  return request(fake.url, p, { body, headers: headers ?? GEM_H, timeoutMs });
}

// Text carried by a stream, per wire; also whether the terminal event came.
function streamText(wire, body) {
  const { events } = parseSSE(body);
  let text = '';
  let terminal = false;
  for (const e of events) {
    if (wire === 'openai') {
      if (e.data === '[DONE]') { terminal = true; continue; }
      const d = json(e.data);
      text += d.choices?.[0]?.delta?.content ?? '';
    } else if (wire === 'anthropic') {
      const d = json(e.data);
      assert.equal(d.type, e.event, 'anthropic event name repeats data.type');
      if (d.type === 'content_block_delta' && d.delta.type === 'text_delta') text += d.delta.text;
      if (d.type === 'message_stop') terminal = true;
    } else {
      const d = json(e.data);
      text += (d.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join('');
      if (d.candidates?.[0]?.finishReason) terminal = true;
    }
  }
  return { text, terminal, events };
}

const WIRES = ['openai', 'anthropic', 'gemini'];

describe('auth and validation', () => {
  test('a missing or wrong key gives 401 in each wire shape', async () => {
    for (const wire of WIRES) {
      for (const headers of [{}, wire === 'openai' ? { authorization: 'Bearer nope' }
        : wire === 'anthropic' ? { 'x-api-key': 'nope', 'anthropic-version': '2023-06-01' } : { 'x-goog-api-key': 'nope' }]) {
        const r = await call(wire, 'ok', { headers });
        if (wire === 'gemini') {
          assert.equal(r.status, 400, `${wire} bad key`);
          assert.equal(json(r.body).error.details[0].reason, 'API_KEY_INVALID');
        } else {
          assert.equal(r.status, 401, `${wire} bad key`);
        }
      }
    }
    const o = json((await call('openai', 'ok', { headers: {} })).body);
    assert.equal(o.error.code, 'invalid_api_key');
    const a = json((await call('anthropic', 'ok', { headers: { 'x-api-key': 'nope', 'anthropic-version': '2023-06-01' } })).body);
    assert.equal(a.error.type, 'authentication_error');
  });

  test('gemini accepts ?key=', async () => {
    const r = await request(fake.url, `/v1beta/models/ok:generateContent?key=${API_KEY}`,
      { body: { contents: [{ role: 'user', parts: [{ text: 'q' }] }] } });
    assert.equal(r.status, 200);
  });

  test('anthropic needs anthropic-version and max_tokens', async () => {
    let r = await call('anthropic', 'ok', { headers: { 'x-api-key': API_KEY } });
    assert.equal(r.status, 400);
    r = await request(fake.url, '/v1/messages', { headers: ANT_H, body: { model: 'ok', messages: [{ role: 'user', content: 'x' }] } });
    assert.equal(r.status, 400);
    assert.deepEqual(json(r.body), { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' }, request_id: 'req_fake_400' });
  });
});

describe('ok', () => {
  test('openai non-stream', async () => {
    const r = await call('openai', 'ok');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/json/);
    const b = json(r.body);
    assert.equal(b.object, 'chat.completion');
    assert.equal(b.model, 'ok');
    assert.equal(b.choices[0].message.content, 'echo: hello fake');
    assert.equal(b.choices[0].finish_reason, 'stop');
    assert.deepEqual(b.usage, { ...USAGE.openai, prompt_tokens_details: { cached_tokens: 0 } });
  });

  test('anthropic non-stream', async () => {
    const b = json((await call('anthropic', 'ok')).body);
    assert.equal(b.type, 'message');
    assert.deepEqual(b.content, [{ type: 'text', text: 'echo: hello fake' }]);
    assert.equal(b.stop_reason, 'end_turn');
    assert.equal(b.usage.input_tokens, USAGE.anthropic.input_tokens);
    assert.equal(b.usage.output_tokens, USAGE.anthropic.output_tokens);
  });

  test('gemini non-stream', async () => {
    const r = await call('gemini', 'ok');
    assert.equal(r.status, 200);
    const b = json(r.body);
    assert.deepEqual(b.candidates[0].content, { role: 'model', parts: [{ text: 'echo: hello fake' }] });
    assert.equal(b.candidates[0].finishReason, 'STOP');
    assert.deepEqual(b.usageMetadata, USAGE.gemini);
  });

  test('openai stream with and without include_usage', async () => {
    let r = await call('openai', 'ok', { stream: true, includeUsage: true });
    assert.match(r.headers['content-type'], /^text\/event-stream/);
    let d = sseData(r.body);
    assert.equal(d.length, 7, 'role, 3 content, finish, usage, [DONE]');
    assert.deepEqual(d[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.equal(d.slice(1, 4).map((c) => c.choices[0].delta.content).join(''), 'echo: hello fake');
    assert.equal(d[4].choices[0].finish_reason, 'stop');
    assert.deepEqual(d[5].choices, []);
    assert.equal(d[5].usage.total_tokens, USAGE.openai.total_tokens);
    assert.equal(d[6], '[DONE]');
    assert.ok(d.slice(0, 5).every((c) => c.usage === null));
    assert.ok(r.body.endsWith('data: [DONE]\n\n'));
    r = await call('openai', 'ok', { stream: true });
    d = sseData(r.body);
    assert.equal(d.length, 6);
    assert.ok(d.slice(0, 5).every((c) => !('usage' in c)), 'no usage field when not asked');
  });

  test('anthropic stream: exact event order', async () => {
    const r = await call('anthropic', 'ok', { stream: true });
    const { text, terminal, events } = streamText('anthropic', r.body);
    assert.deepEqual(events.map((e) => e.event), ['message_start', 'content_block_start', 'ping',
      'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    assert.equal(text, 'echo: hello fake');
    assert.ok(terminal);
    assert.equal(json(events[0].data).message.usage.input_tokens, USAGE.anthropic.input_tokens);
    assert.deepEqual(json(events[7].data), { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: USAGE.anthropic.output_tokens } });
    assert.ok(!/\r/.test(r.body), 'anthropic uses LF framing');
  });

  test('gemini stream: CRLF framing, finishReason on the last chunk', async () => {
    const r = await call('gemini', 'ok', { stream: true });
    assert.equal(r.status, 200);
    assert.ok(r.body.endsWith('\r\n\r\n'));
    assert.equal(r.body.split('\r\n\r\n').length - 1, 4, 'three content chunks and a final one, each ending CRLF CRLF');
    assert.ok(!/[^\r]\n/.test(r.body), 'no bare LF');
    const { text, terminal, events } = streamText('gemini', r.body);
    assert.equal(text, 'echo: hello fake');
    assert.ok(terminal);
    assert.deepEqual(json(events.at(-1).data).usageMetadata, USAGE.gemini);
  });

  test('the ~tag is ignored for behaviour and kept in the log', async () => {
    const r = await call('openai', 'status-503~b');
    assert.equal(r.status, 503);
    assert.deepEqual(fake.models(), ['status-503~b']);
  });
});

describe('errors', () => {
  test('status-N on each wire', async () => {
    for (const wire of WIRES) {
      for (const st of [400, 429, 500, 529]) {
        const r = await call(wire, `status-${st}`);
        assert.equal(r.status, st, `${wire} ${st}`);
        assert.deepEqual(json(r.body), errorResponse(wire, st).body);
      }
    }
    let r = await call('openai', 'status-429');
    assert.equal(r.headers['retry-after'], '2');
    assert.equal(r.headers['x-ratelimit-remaining-requests'], '0');
    assert.deepEqual(json(r.body).error, { message: 'fake upstream: status 429', type: 'requests', param: null, code: 'rate_limit_exceeded' });
    r = await call('anthropic', 'status-529');
    assert.equal(r.headers['retry-after'], '3');
    assert.deepEqual(json(r.body), { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_fake_529' });
    r = await call('gemini', 'status-429');
    assert.equal(json(r.body).error.details[0].retryDelay, '7s');
  });

  test('error-event mid-stream', async () => {
    let r = await call('anthropic', 'error-event', { stream: true });
    let s = streamText('anthropic', r.body);
    assert.equal(r.error, undefined);
    assert.equal(s.text, 'echo: hello f'.slice(0, s.text.length));
    assert.equal(s.events.filter((e) => e.event === 'content_block_delta').length, 2);
    assert.deepEqual(s.events.at(-1), { event: 'error', data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    r = await call('openai', 'error-event', { stream: true });
    const d = sseData(r.body);
    assert.deepEqual(d.at(-1), { error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded' } });
    assert.ok(!d.includes('[DONE]'));
    r = await call('gemini', 'error-event', { stream: true });
    const g = sseData(r.body);
    assert.equal(g.length, 3);
    assert.equal(g.at(-1).error.code, 503);
    r = await call('anthropic', 'error-event');
    assert.equal(r.status, 529);
    r = await call('openai', 'error-event');
    assert.equal(r.status, 503);
  });
});

describe('timing scenarios', () => {
  test('slow-headers-300 delays the head', async () => {
    for (const wire of WIRES) {
      const r = await call(wire, 'slow-headers-300');
      assert.equal(r.status, 200);
      assert.ok(r.ttfbMs >= 290, `${wire} ttfb ${r.ttfbMs}`);
    }
  });

  test('slow-body-150: head at once, events 150 ms apart', async () => {
    const r = await call('openai', 'slow-body-150', { stream: true });
    assert.ok(r.ttfbMs < 140, `head at once (${r.ttfbMs})`);
    assert.equal(sseData(r.body).at(-1), '[DONE]');
    assert.ok(r.ms >= 5 * 150 - 20, `6 events, 5 gaps: ${r.ms}`);
    const n = await call('anthropic', 'slow-body-150');
    assert.equal(json(n.body).content[0].text, 'echo: hello fake');
    assert.ok(n.ms >= 140);
  });

  test('hang never answers', async () => {
    const r = await call('openai', 'hang', { timeoutMs: 400 });
    assert.equal(r.error, 'timeout');
    assert.equal(r.status, undefined);
    assert.equal(fake.seen().length, 1, 'the request was still recorded');
  });

  test('drip writes byte by byte, splitting CRLF and UTF-8', async () => {
    for (const wire of WIRES) {
      const r = await call(wire, 'drip', { stream: true, text: 'd' });
      const bytes = Buffer.byteLength(r.body);
      assert.ok(r.chunks.length > bytes / 4, `${wire}: ${r.chunks.length} reads for ${bytes} bytes`);
      const s = streamText(wire, r.body);
      assert.equal(s.text, answerText('d', true));
      assert.ok(s.text.endsWith('✓'));
      assert.ok(s.terminal);
    }
    const r = await call('anthropic', 'drip', { text: 'd' });
    assert.ok(r.chunks.length > Buffer.byteLength(r.body) / 4, 'non-stream bodies drip too');
    assert.equal(json(r.body).content[0].text, answerText('d', true));
  });
});

describe('broken streams', () => {
  test('reset-before closes before any byte', async () => {
    for (const wire of WIRES) {
      for (const stream of [false, true]) {
        const r = await call(wire, 'reset-before', { stream });
        assert.equal(r.status, undefined, `${wire} stream=${stream}`);
        assert.equal(r.error, 'reset');
      }
    }
  });

  test('reset-after-first: head and one content event, then the socket closes', async () => {
    for (const wire of WIRES) {
      const r = await call(wire, 'reset-after-first', { stream: true });
      assert.equal(r.status, 200);
      assert.equal(r.error, 'aborted', wire);
      const s = streamText(wire, r.body);
      assert.equal(s.text, 'echo: ', wire);
      assert.equal(s.terminal, false);
    }
    const r = await call('openai', 'reset-after-first');
    assert.equal(r.status, 200);
    assert.equal(r.error, 'aborted');
  });

  test('cut-mid: 3 content events, clean end, no terminal event', async () => {
    for (const wire of WIRES) {
      const r = await call(wire, 'cut-mid', { stream: true });
      assert.equal(r.error, undefined, `${wire} ends cleanly`);
      const s = streamText(wire, r.body);
      assert.equal(s.text, 'echo: hello fake');
      assert.equal(s.terminal, false, `${wire} has no terminal event`);
      if (wire === 'openai') assert.ok(s.events.every((e) => e.data === '[DONE]' || json(e.data).choices[0].finish_reason === null));
      if (wire === 'anthropic') assert.equal(s.events.at(-1).event, 'content_block_delta');
    }
    const r = await call('gemini', 'cut-mid');
    assert.equal(r.status, 200);
    assert.throws(() => JSON.parse(r.body));
  });

  test('malformed-chunk: one event is not JSON', async () => {
    for (const wire of WIRES) {
      const r = await call(wire, 'malformed-chunk', { stream: true });
      const { events } = parseSSE(r.body);
      const bad = events.filter((e) => { try { JSON.parse(e.data); return false; } catch { return e.data !== '[DONE]'; } });
      assert.equal(bad.length, 1, wire);
      assert.equal(events.indexOf(bad[0]), wire === 'openai' ? 2 : wire === 'anthropic' ? 4 : 1);
    }
    const r = await call('openai', 'malformed-chunk');
    assert.equal(r.status, 200);
    assert.throws(() => JSON.parse(r.body));
  });

  test('no-usage leaves usage out everywhere', async () => {
    let b = json((await call('openai', 'no-usage')).body);
    assert.ok(!('usage' in b));
    const d = sseData((await call('openai', 'no-usage', { stream: true, includeUsage: true })).body);
    assert.ok(d.every((c) => c === '[DONE]' || (!('usage' in c) && c.choices.length === 1)));
    b = json((await call('anthropic', 'no-usage')).body);
    assert.ok(!('usage' in b));
    const a = parseSSE((await call('anthropic', 'no-usage', { stream: true })).body).events;
    assert.ok(a.every((e) => { const d = json(e.data); return !('usage' in d) && !('usage' in (d.message ?? {})); }));
    b = json((await call('gemini', 'no-usage')).body);
    assert.ok(!('usageMetadata' in b));
  });
});

describe('other shapes', () => {
  test('tool calls on each wire', async () => {
    let b = json((await call('openai', 'tool')).body);
    assert.equal(b.choices[0].finish_reason, 'tool_calls');
    assert.equal(b.choices[0].message.tool_calls[0].function.arguments, '{"city":"Oslo"}');
    const d = sseData((await call('openai', 'tool', { stream: true })).body);
    assert.equal(d.slice(0, -1).map((c) => c.choices[0].delta.tool_calls?.[0]?.function?.arguments ?? '').join(''), '{"city":"Oslo"}');
    b = json((await call('anthropic', 'tool')).body);
    assert.deepEqual(b.content[1], { type: 'tool_use', id: 'toolu_01abc', name: 'get_weather', input: { city: 'Oslo' } });
    const a = parseSSE((await call('anthropic', 'tool', { stream: true })).body).events.map((e) => json(e.data));
    assert.equal(a.filter((e) => e.delta?.type === 'input_json_delta').map((e) => e.delta.partial_json).join(''), '{"city":"Oslo"}');
    b = json((await call('gemini', 'tool')).body);
    assert.deepEqual(b.candidates[0].content.parts[0], { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } });
  });

  test('gemini blocked prompt', async () => {
    const b = json((await call('gemini', 'blocked')).body);
    assert.deepEqual(b, { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } });
  });

  test('models list and embeddings', async () => {
    const m = json((await request(fake.url, '/v1/models', { headers: OAI_H })).body);
    assert.equal(m.object, 'list');
    assert.ok(m.data.every((x) => x.object === 'model'));
    let e = json((await request(fake.url, '/v1/embeddings', { headers: OAI_H,
      body: { model: 'ok', input: ['alpha', 'beta'], encoding_format: 'float', dimensions: 4 } })).body);
    assert.deepEqual(e.data.map((x) => x.embedding), [fakeEmbedding('alpha'), fakeEmbedding('beta')]);
    assert.deepEqual(e.usage, { prompt_tokens: 2, total_tokens: 2 });
    e = json((await request(fake.url, '/v1/embeddings', { headers: OAI_H, body: { model: 'ok', input: 'alpha', encoding_format: 'base64' } })).body);
    const buf = Buffer.from(e.data[0].embedding, 'base64');
    const floats = Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4));
    assert.deepEqual(floats.map((v) => Math.round(v * 1000) / 1000), fakeEmbedding('alpha'));
    const g = json((await request(fake.url, '/v1beta/models/embed:batchEmbedContents', { headers: GEM_H,
      body: { requests: [{ model: 'models/embed', content: { parts: [{ text: 'alpha' }] }, outputDimensionality: 3 }] } })).body);
    assert.deepEqual(g, { embeddings: [{ values: fakeEmbedding('alpha', 3) }] });
  });
});

describe('control API', () => {
  test('/__requests records method, path, headers, parsed body; DELETE clears', async () => {
    await call('gemini', 'ok~x', { stream: true });
    const list = json((await request(fake.url, '/__requests')).body);
    assert.equal(list.length, 1);
    assert.equal(list[0].method, 'POST');
    assert.equal(list[0].path, '/v1beta/models/ok~x:streamGenerateContent');
    assert.deepEqual(list[0].query, { alt: 'sse' });
    assert.equal(list[0].headers['x-goog-api-key'], API_KEY);
    assert.equal(list[0].body.contents[0].parts[0].text, 'hello fake');
    assert.equal(list[0].wire, 'gemini');
    assert.equal(list[0].model, 'ok~x');
    assert.equal(list[0].stream, true);
    await request(fake.url, '/__requests', { method: 'DELETE' });
    assert.deepEqual(json((await request(fake.url, '/__requests')).body), []);
  });

  test('/__script queues one-off behaviours per model', async () => {
    const s = await request(fake.url, '/__script', { body: { model: 'ok~s', responses: [
      { status: 429, headers: { 'retry-after': '1' } }, { scenario: 'status-500' }] } });
    assert.equal(s.status, 200);
    let r = await call('openai', 'ok~s');
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(json(r.body).error.code, 'rate_limit_exceeded');
    r = await call('openai', 'ok~s');
    assert.equal(r.status, 500);
    r = await call('openai', 'ok~s');
    assert.equal(r.status, 200);
    await request(fake.url, '/__script', { body: { model: 'ok', responses: [{ status: 418, body: 'teapot' }] } });
    r = await call('anthropic', 'ok');
    assert.equal(r.status, 418);
    assert.equal(r.body, 'teapot');
  });
});

test('CLI: prints LISTENING <port>, answers, exits 0 on SIGTERM', async (t) => {
  const p = await startFakeProcess(t);
  assert.ok(p.port > 0);
  const r = await request(p.url, '/v1/chat/completions', { headers: OAI_H,
    body: { model: 'ok', messages: [{ role: 'user', content: 'cli' }] } });
  assert.equal(json(r.body).choices[0].message.content, 'echo: cli');
  assert.equal(await p.stop(), 0);
});

// chat.test.mjs - POST /v1/chat/completions through every adapter (openai,
// anthropic, gemini), non-stream and stream: what the upstream received
// (translated body, model replaced, auth headers, paths) and what the client
// got (OpenAI shapes, chunk sequence, usage chunk only on request, [DONE]);
// GET /v1/models; request errors (404, 400, 503 no_providers_configured);
// the per-request log line.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { API_KEY, answerText, startFake } from './lib/fake.mjs';
import { chat, chatBody, gatewayConfig, logFor, model, startGateway } from './lib/gateway.mjs';
import { assertOpenAIError, json, request, sseData } from './lib/http.mjs';

const ALIASES = ['o-ok', 'a-ok', 'g-ok', 'o-tool', 'a-tool', 'g-tool', 'o-drip', 'a-drip', 'g-drip', 'o-slow', 'a-slow', 'g-slow'];

let fake;
let gw;
before(async () => {
  fake = await startFake(null);
  gw = await startGateway(null, { config: gatewayConfig(fake, { models: [
    model('o-ok', 'oai', 'ok~o'), model('a-ok', 'ant', 'ok~a'), model('g-ok', 'gem', 'ok~g'),
    model('o-tool', 'oai', 'tool~o'), model('a-tool', 'ant', 'tool~a'), model('g-tool', 'gem', 'tool~g'),
    model('o-drip', 'oai', 'drip~o'), model('a-drip', 'ant', 'drip~a'), model('g-drip', 'gem', 'drip~g'),
    model('o-slow', 'oai', 'slow-body-200~o'), model('a-slow', 'ant', 'slow-body-200~a'), model('g-slow', 'gem', 'slow-body-200~g'),
  ] }) });
});
after(async () => {
  try {
    if (gw) await gw.stop();
  } finally {
    await fake?.close();
  }
});
beforeEach(async () => { await fake.reset(); });

// Usage the client must see, per upstream kind (wire-formats 5.4).
const CLIENT_USAGE = {
  openai: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
  anthropic: { prompt_tokens: 18, completion_tokens: 5, total_tokens: 23 },
  gemini: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
};

const MESSAGES = (text) => [{ role: 'system', content: 'be terse' }, { role: 'user', content: text }];

function only(reqs) {
  assert.equal(reqs.length, 1, `exactly one upstream request (got ${reqs.map((r) => r.model).join(', ')})`);
  return reqs[0];
}

function assertCompletion(res, text, usage, finish = 'stop') {
  assert.equal(res.status, 200, res.body);
  assert.match(res.headers['content-type'], /^application\/json/);
  const b = json(res.body);
  assert.equal(b.object, 'chat.completion');
  assert.equal(typeof b.id, 'string');
  assert.ok(b.id.length > 0);
  assert.ok(Number.isInteger(b.created), 'created is an integer');
  assert.equal(typeof b.model, 'string');
  assert.equal(b.choices.length, 1);
  assert.equal(b.choices[0].index, 0);
  assert.equal(b.choices[0].message.role, 'assistant');
  if (text !== undefined) assert.equal(b.choices[0].message.content, text);
  assert.equal(b.choices[0].finish_reason, finish);
  if (usage) {
    assert.equal(b.usage.prompt_tokens, usage.prompt_tokens);
    assert.equal(b.usage.completion_tokens, usage.completion_tokens);
    assert.equal(b.usage.total_tokens, usage.total_tokens);
  }
  return b;
}

/**
 * Checks an OpenAI chat.completion.chunk stream and returns {text, chunks, usageChunk, toolArgs}.
 * Exactly one finish_reason (the given one), on the last choice chunk; a usage chunk
 * (choices []) right before [DONE] iff includeUsage; [DONE] last and once.
 */
function assertChunkStream(res, { finish = 'stop', includeUsage = false, usage } = {}) {
  assert.equal(res.status, 200, res.body);
  assert.equal(res.error, undefined, 'stream completed');
  assert.match(res.headers['content-type'], /^text\/event-stream/);
  assert.equal(res.headers['content-length'], undefined, 'no content-length on a stream');
  assert.ok(res.body.endsWith('data: [DONE]\n\n'), `ends with [DONE]: ${JSON.stringify(res.body.slice(-80))}`);
  const all = sseData(res.body);
  assert.equal(all.filter((d) => d === '[DONE]').length, 1, 'one [DONE]');
  const chunks = all.slice(0, -1);
  assert.ok(chunks.length >= 2);
  for (const c of chunks) {
    assert.ok(!('error' in c), `no error event: ${JSON.stringify(c)}`);
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, chunks[0].id, 'same id in every chunk');
    assert.equal(c.created, chunks[0].created, 'same created in every chunk');
  }
  const usageChunks = chunks.filter((c) => c.choices.length === 0);
  let usageChunk = null;
  if (includeUsage) {
    assert.equal(usageChunks.length, 1, 'one usage chunk');
    usageChunk = chunks.at(-1);
    assert.deepEqual(usageChunk.choices, [], 'the usage chunk is the last before [DONE]');
    if (usage) {
      assert.equal(usageChunk.usage.prompt_tokens, usage.prompt_tokens);
      assert.equal(usageChunk.usage.completion_tokens, usage.completion_tokens);
      assert.equal(usageChunk.usage.total_tokens, usage.total_tokens);
    }
  } else {
    assert.equal(usageChunks.length, 0, 'no usage chunk when the client did not ask');
    assert.ok(chunks.every((c) => c.usage === undefined || c.usage === null), 'no usage values');
  }
  const choiceChunks = chunks.filter((c) => c.choices.length > 0);
  const finishes = choiceChunks.map((c) => c.choices[0].finish_reason).filter((f) => f !== null && f !== undefined);
  assert.deepEqual(finishes, [finish], 'one finish_reason');
  assert.equal(choiceChunks.at(-1).choices[0].finish_reason, finish, 'finish_reason on the last choice chunk');
  assert.equal(choiceChunks[0].choices[0].delta.role, 'assistant', 'first chunk carries the role');
  const text = choiceChunks.map((c) => c.choices[0].delta.content ?? '').join('');
  const toolArgs = choiceChunks.map((c) => c.choices[0].delta.tool_calls?.[0]?.function?.arguments ?? '').join('');
  return { text, chunks, usageChunk, toolArgs };
}

// Anthropic system and message content may be a string or text blocks.
const textOf = (c) => (typeof c === 'string' ? c : c.map((b) => b.text).join(''));

describe('GET /v1/models', () => {
  test('lists the aliases in the OpenAI list shape', async () => {
    const r = await request(gw.url, '/v1/models');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/json/);
    const b = json(r.body);
    assert.equal(b.object, 'list');
    assert.deepEqual(b.data.map((m) => m.id).sort(), [...ALIASES].sort());
    for (const m of b.data) {
      assert.equal(m.object, 'model');
      assert.ok(Number.isInteger(m.created));
      assert.equal(typeof m.owned_by, 'string');
    }
    assert.equal(fake.seen().length, 0, 'no upstream call for the model list');
  });
});

describe('openai adapter', () => {
  test('non-stream: model replaced, body passed on, provider key used', async () => {
    const body = { model: 'o-ok', messages: MESSAGES('hello openai'), max_completion_tokens: 20, temperature: 0.5 };
    const r = await chat(gw, body, { headers: { authorization: 'Bearer client-secret' } });
    assertCompletion(r, 'echo: hello openai', CLIENT_USAGE.openai);
    const up = only(fake.seen());
    assert.equal(up.method, 'POST');
    assert.equal(up.path, '/v1/chat/completions');
    assert.equal(up.headers.authorization, `Bearer ${API_KEY}`, 'the provider key, not the client header');
    assert.deepEqual(up.body, { ...body, model: 'ok~o' });
  });

  test('stream without include_usage: no usage chunk, [DONE] last', async () => {
    const r = await chat(gw, { model: 'o-ok', messages: MESSAGES('stream openai'), stream: true });
    const s = assertChunkStream(r, { includeUsage: false });
    assert.equal(s.text, 'echo: stream openai');
    const up = only(fake.seen());
    assert.equal(up.body.model, 'ok~o');
    assert.equal(up.body.stream, true);
  });

  test('stream with include_usage: usage chunk before [DONE]', async () => {
    const r = await chat(gw, { model: 'o-ok', messages: MESSAGES('usage openai'), stream: true,
      stream_options: { include_usage: true } });
    const s = assertChunkStream(r, { includeUsage: true, usage: CLIENT_USAGE.openai });
    assert.equal(s.text, 'echo: usage openai');
    assert.equal(only(fake.seen()).body.stream_options.include_usage, true);
  });
});

describe('anthropic adapter', () => {
  test('non-stream: Messages request built, answer translated', async () => {
    const r = await chat(gw, { model: 'a-ok', messages: MESSAGES('hello anthropic'), stop: ['\n\n'] },
      { headers: { authorization: 'Bearer client-secret' } });
    assertCompletion(r, 'echo: hello anthropic', CLIENT_USAGE.anthropic);
    const up = only(fake.seen());
    assert.equal(up.path, '/v1/messages');
    assert.equal(up.headers['x-api-key'], API_KEY);
    assert.match(up.headers['anthropic-version'], /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(up.headers.authorization, undefined, 'no client Authorization forwarded');
    assert.equal(up.body.model, 'ok~a');
    assert.ok(Number.isInteger(up.body.max_tokens) && up.body.max_tokens > 0, `default max_tokens: ${up.body.max_tokens}`);
    assert.equal(textOf(up.body.system), 'be terse', 'system message moved to top-level system');
    assert.equal(up.body.messages.length, 1);
    assert.equal(up.body.messages[0].role, 'user');
    assert.equal(textOf(up.body.messages[0].content), 'hello anthropic');
    assert.deepEqual(up.body.stop_sequences, ['\n\n']);
    assert.ok(!up.body.stream, 'not a stream');
  });

  test('max_completion_tokens becomes max_tokens', async () => {
    const r = await chat(gw, { model: 'a-ok', messages: MESSAGES('mt'), max_completion_tokens: 33 });
    assert.equal(r.status, 200);
    assert.equal(only(fake.seen()).body.max_tokens, 33);
  });

  test('stream without include_usage', async () => {
    const r = await chat(gw, { model: 'a-ok', messages: MESSAGES('stream anthropic'), stream: true });
    const s = assertChunkStream(r, { includeUsage: false });
    assert.equal(s.text, 'echo: stream anthropic');
    const up = only(fake.seen());
    assert.equal(up.body.stream, true);
    assert.equal(up.body.model, 'ok~a');
  });

  test('stream with include_usage: usage from message_start + message_delta', async () => {
    const r = await chat(gw, { model: 'a-ok', messages: MESSAGES('usage anthropic'), stream: true,
      stream_options: { include_usage: true } });
    const s = assertChunkStream(r, { includeUsage: true, usage: CLIENT_USAGE.anthropic });
    assert.equal(s.text, 'echo: usage anthropic');
    assert.ok(!('stream_options' in only(fake.seen()).body), 'no OpenAI-only fields sent to Anthropic');
  });

  test('tool_use answers become tool_calls (non-stream and stream)', async () => {
    let r = await chat(gw, chatBody('a-tool', 'weather?'));
    const b = assertCompletion(r, undefined, undefined, 'tool_calls');
    assert.deepEqual(b.choices[0].message.tool_calls, [{ id: 'toolu_01abc', type: 'function',
      function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }]);
    r = await chat(gw, chatBody('a-tool', 'weather?', { stream: true }));
    const s = assertChunkStream(r, { finish: 'tool_calls' });
    assert.equal(s.toolArgs, '{"city":"Oslo"}');
    const first = s.chunks.find((c) => c.choices[0]?.delta.tool_calls);
    assert.deepEqual(first.choices[0].delta.tool_calls[0], { index: 0, id: 'toolu_01abc', type: 'function',
      function: { name: 'get_weather', arguments: '' } });
  });
});

describe('gemini adapter', () => {
  test('non-stream: generateContent request built, answer translated', async () => {
    const r = await chat(gw, { model: 'g-ok', messages: MESSAGES('hello gemini'), max_completion_tokens: 20,
      temperature: 0.5, stop: ['\n\n'] }, { headers: { authorization: 'Bearer client-secret' } });
    assertCompletion(r, 'echo: hello gemini', CLIENT_USAGE.gemini);
    const up = only(fake.seen());
    assert.equal(up.path, '/v1beta/models/ok~g:generateContent');
    assert.equal(up.headers['x-goog-api-key'], API_KEY);
    assert.equal(up.headers.authorization, undefined, 'no client Authorization forwarded');
    assert.ok(!('model' in up.body), 'the model is in the path');
    assert.deepEqual(up.body.contents, [{ role: 'user', parts: [{ text: 'hello gemini' }] }]);
    assert.deepEqual(up.body.systemInstruction.parts, [{ text: 'be terse' }]);
    assert.equal(up.body.generationConfig.maxOutputTokens, 20);
    assert.equal(up.body.generationConfig.temperature, 0.5);
    assert.deepEqual(up.body.generationConfig.stopSequences, ['\n\n']);
  });

  test('stream: streamGenerateContent?alt=sse, chunks translated', async () => {
    const r = await chat(gw, { model: 'g-ok', messages: MESSAGES('stream gemini'), stream: true });
    const s = assertChunkStream(r, { includeUsage: false });
    assert.equal(s.text, 'echo: stream gemini');
    const up = only(fake.seen());
    assert.equal(up.path, '/v1beta/models/ok~g:streamGenerateContent');
    assert.equal(up.query.alt, 'sse');
  });

  test('stream with include_usage: usage from the last chunk', async () => {
    const r = await chat(gw, { model: 'g-ok', messages: MESSAGES('usage gemini'), stream: true,
      stream_options: { include_usage: true } });
    const s = assertChunkStream(r, { includeUsage: true, usage: CLIENT_USAGE.gemini });
    assert.equal(s.text, 'echo: usage gemini');
  });

  test('functionCall parts become tool_calls', async () => {
    const r = await chat(gw, chatBody('g-tool', 'weather?'));
    const b = assertCompletion(r, undefined, undefined, 'tool_calls');
    const tc = b.choices[0].message.tool_calls;
    assert.equal(tc.length, 1);
    assert.equal(tc[0].type, 'function');
    assert.equal(tc[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(tc[0].function.arguments), { city: 'Oslo' });
    assert.equal(typeof tc[0].id, 'string');
    assert.ok(tc[0].id.length > 0, 'a synthesized tool call id');
  });
});

describe('stream framing', () => {
  for (const kind of ['o', 'a', 'g']) {
    test(`${kind}: an upstream that drips byte by byte (split CRLF, split UTF-8) is reassembled`, async () => {
      const r = await chat(gw, chatBody(`${kind}-drip`, 'drip me', { stream: true, stream_options: { include_usage: true } }));
      const s = assertChunkStream(r, { includeUsage: true });
      assert.equal(s.text, answerText('drip me', true));
      assert.ok(s.text.endsWith('✓'));
    });

    test(`${kind}: events are flushed to the client as they arrive`, async () => {
      const r = await chat(gw, chatBody(`${kind}-slow`, 'slowly', { stream: true }));
      const s = assertChunkStream(r);
      assert.equal(s.text, 'echo: slowly');
      const contentAt = [];
      let seen = '';
      // when did each content piece reach the client? (chunk arrival times vs body offsets)
      let offset = 0;
      for (const c of r.chunks) {
        offset += c.bytes;
        const upto = Buffer.from(r.body, 'utf8').subarray(0, offset).toString('utf8');
        const text = sseTextOf(upto);
        if (text !== seen) { contentAt.push(c.ms); seen = text; }
      }
      assert.ok(contentAt.length >= 3, `content arrived in ${contentAt.length} reads`);
      assert.ok(contentAt.at(-1) - contentAt[0] >= 300, `content spread over time, not buffered: ${contentAt.map(Math.round)}`);
    });
  }
});

// Text of the complete OpenAI chunks in a (possibly partial) stream body.
function sseTextOf(body) {
  const end = body.lastIndexOf('\n\n');
  if (end < 0) return '';
  return sseData(body.slice(0, end + 2)).filter((d) => d !== '[DONE]' && d.choices?.length)
    .map((d) => d.choices[0].delta.content ?? '').join('');
}

describe('request errors', () => {
  test('unknown alias: 404 model_not_found, no upstream call', async () => {
    const r = await chat(gw, chatBody('no-such-model'));
    assertOpenAIError(r, 404, { type: 'invalid_request_error', code: 'model_not_found' });
    assert.equal(fake.seen().length, 0);
  });

  test('bad JSON: 400', async () => {
    const r = await request(gw.url, '/v1/chat/completions', { body: '{"model":"o-ok","messages":[', headers: { 'content-type': 'application/json' } });
    assertOpenAIError(r, 400, { type: 'invalid_request_error' });
    assert.equal(fake.seen().length, 0);
  });

  test('missing or empty messages: 400 naming messages', async () => {
    let r = await chat(gw, { model: 'o-ok' });
    assertOpenAIError(r, 400, { type: 'invalid_request_error', param: 'messages' });
    r = await chat(gw, { model: 'o-ok', messages: [] });
    assertOpenAIError(r, 400, { type: 'invalid_request_error', param: 'messages' });
    r = await chat(gw, { messages: MESSAGES('x') });
    assertOpenAIError(r, 400, { type: 'invalid_request_error', param: 'model' });
    assert.equal(fake.seen().length, 0);
  });

  test('a JSON body that is not an object: 400', async () => {
    const r = await request(gw.url, '/v1/chat/completions', { body: '[1,2]', headers: { 'content-type': 'application/json' } });
    assertOpenAIError(r, 400, { type: 'invalid_request_error' });
  });

  test('unknown route: 404 OpenAI error', async () => {
    const r = await request(gw.url, '/v1/nope');
    assertOpenAIError(r, 404);
  });
});

describe('log line', () => {
  test('one JSON line per request with alias, upstream, attempts, tokens, cost; no key, no prompt', async () => {
    const mark = gw.logs().length;
    const r = await chat(gw, { model: 'a-ok', messages: MESSAGES('secret prompt words') });
    assert.equal(r.status, 200);
    const line = await logFor(gw, r, mark);
    assert.equal(line.route, '/v1/chat/completions');
    assert.equal(line.model, 'a-ok');
    assert.equal(line.upstream_model, 'ok~a');
    assert.equal(line.provider, 'ant');
    assert.equal(line.status, 200);
    assert.equal(line.stream, false);
    assert.equal(line.prompt_tokens, 18);
    assert.equal(line.completion_tokens, 5);
    assert.ok(Math.abs(line.cost_usd - (18 * 1 + 5 * 2) / 1e6) < 1e-12, `cost_usd ${line.cost_usd}`);
    assert.equal(line.client_ip, '127.0.0.1');
    assert.equal(typeof line.request_id, 'string');
    assert.ok(typeof line.ts === 'string' || typeof line.ts === 'number');
    assert.ok(line.latency_ms >= 0);
    assert.equal(line.attempts.length, 1);
    assert.equal(line.attempts[0].provider, 'ant');
    assert.equal(line.attempts[0].status, 200);
    assert.ok(line.attempts[0].ms >= 0);
    const raw = gw.stdout();
    assert.ok(!raw.includes(API_KEY), 'no provider key in the logs');
    assert.ok(!raw.includes('secret prompt words'), 'no prompt in the logs');
    if (r.headers['x-request-id']) assert.equal(line.request_id, r.headers['x-request-id']);
  });
});

describe('no providers configured', () => {
  test('503 no_providers_configured', async (t) => {
    const empty = await startGateway(t, { config: { auth: { enabled: false }, workers: 1, telemetry: { log: 'stdout' } } });
    let r = await chat(empty, chatBody('anything'));
    assertOpenAIError(r, 503, { code: 'no_providers_configured' });
    r = await chat(empty, chatBody('anything', 'x', { stream: true }));
    assertOpenAIError(r, 503, { code: 'no_providers_configured' });
  });
});

// sdk.test.mjs - the official `openai` npm SDK (pinned in package.json)
// pointed at llmgw: non-stream, stream (openai and translated anthropic
// upstreams), errors surfacing as the SDK's APIError subclasses with the
// right status, the SDK's own retry on 429 honouring Retry-After, and
// embeddings with the SDK's default base64 encoding.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import OpenAI from 'openai';

import { fakeEmbedding, startFake } from './lib/fake.mjs';
import { createKey, gatewayConfig, model, startGateway, writeConfig } from './lib/gateway.mjs';

let fake;
let gw;
let key;
let client;
before(async () => {
  fake = await startFake(null);
  const cfg = gatewayConfig(fake, {
    models: [model('s-ok', 'oai', 'ok~sdk'), model('s-ant', 'ant', 'ok~sant'), model('s-gem', 'gem', 'ok~sgem'),
      model('s-400', 'oai', 'status-400~sdk'), model('s-retry', 'oai', 'ok~retry'), model('s-emb', 'oai', 'ok~emb')],
    tenants: [{ id: 'sdk', keys: [] }],
  });
  cfg.auth = { enabled: true };
  const w = await writeConfig(cfg);
  key = createKey(w.file, 'sdk');
  gw = await startGateway(null, { file: w.file, port: w.port, dir: w.dir });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0, timeout: 20000 });
});
after(async () => {
  try {
    if (gw) await gw.stop();
  } finally {
    await fake?.close();
  }
});
beforeEach(async () => { await fake.reset(); });

const MSG = (text) => [{ role: 'user', content: text }];

describe('openai SDK', () => {
  test('non-stream completion', async () => {
    const c = await client.chat.completions.create({ model: 's-ok', messages: MSG('hi sdk') });
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.choices[0].message.content, 'echo: hi sdk');
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.equal(c.usage.total_tokens, 12);
    assert.deepEqual(fake.models(), ['ok~sdk']);
  });

  test('non-stream through the anthropic adapter', async () => {
    const c = await client.chat.completions.create({ model: 's-ant', messages: MSG('hi claude') });
    assert.equal(c.choices[0].message.content, 'echo: hi claude');
    assert.equal(c.usage.total_tokens, 23);
  });

  for (const [alias, usage] of [['s-ok', 12], ['s-ant', 23], ['s-gem', 8]]) {
    test(`stream ${alias}: for await over chunks assembles the text`, async () => {
      const stream = await client.chat.completions.create({ model: alias, messages: MSG(`stream ${alias}`), stream: true,
        stream_options: { include_usage: true } });
      let text = '';
      let finish = null;
      let total = null;
      let n = 0;
      for await (const chunk of stream) {
        n++;
        assert.equal(chunk.object, 'chat.completion.chunk');
        if (chunk.choices.length) {
          text += chunk.choices[0].delta.content ?? '';
          finish = chunk.choices[0].finish_reason ?? finish;
        }
        if (chunk.usage) total = chunk.usage.total_tokens;
      }
      assert.ok(n >= 3, `several chunks (${n})`);
      assert.equal(text, `echo: stream ${alias}`);
      assert.equal(finish, 'stop');
      assert.equal(total, usage);
    });
  }

  test('upstream 400 surfaces as BadRequestError', async () => {
    await assert.rejects(client.chat.completions.create({ model: 's-400', messages: MSG('x') }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 400);
      assert.equal(e.error?.message, 'fake upstream: status 400');
      return true;
    });
  });

  test('unknown model surfaces as NotFoundError with code model_not_found', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: MSG('x') }), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'model_not_found');
      return true;
    });
  });

  test('a wrong key surfaces as AuthenticationError', async () => {
    const bad = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-not-a-real-key-0000', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: 's-ok', messages: MSG('x') }), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      return true;
    });
  });

  test('the SDK retries a 429 after Retry-After: 1', async () => {
    fake.script('ok~retry', [{ status: 429, headers: { 'retry-after': '1' } }]);
    const retrying = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 2, timeout: 20000 });
    const t0 = performance.now();
    const c = await retrying.chat.completions.create({ model: 's-retry', messages: MSG('again') });
    const ms = performance.now() - t0;
    assert.equal(c.choices[0].message.content, 'echo: again');
    assert.deepEqual(fake.models(), ['ok~retry', 'ok~retry'], 'two upstream calls: the 429 and the retry');
    assert.ok(ms >= 950, `waited the Retry-After second (the SDK's own backoff is <= 500 ms): ${ms}`);
    assert.ok(ms < 5000, `no extra waiting: ${ms}`);
  });

  test('embeddings with the SDK default (base64) decode to the upstream floats', async () => {
    const e = await client.embeddings.create({ model: 's-emb', input: ['alpha', 'beta'] });
    assert.equal(e.data.length, 2);
    assert.deepEqual(e.data[0].embedding.map((v) => Math.round(v * 1000) / 1000), fakeEmbedding('alpha'));
    assert.deepEqual(e.data[1].embedding.map((v) => Math.round(v * 1000) / 1000), fakeEmbedding('beta'));
    assert.deepEqual(fake.models(), ['ok~emb']);
  });
});

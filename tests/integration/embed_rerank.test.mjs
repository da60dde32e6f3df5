// embed_rerank.test.mjs - POST /v1/embeddings and /v1/rerank through the
// gateway: OpenAI pass-through with the model replaced, Gemini
// batchEmbedContents translated to OpenAI's list shape, rerank answers of
// several upstream shapes normalised and cut at top_n, failover on 5xx,
// providers without the operation skipped, and the log line.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import { gatewayConfig, logFor, model, startGateway } from './lib/gateway.mjs';
import { assertOpenAIError, json, request } from './lib/http.mjs';

let fake;
let gw;
before(async () => {
  fake = await startFake(null);
  gw = await startGateway(null, { config: gatewayConfig(fake, {
    models: [
      model('e-oai', 'oai', 'ok~e'), model('e-gem', 'gem', 'text-embedding-004'),
      model('e-ant', 'ant', 'ok~ea'), model('e-bad', 'oai', 'status-503~e'),
      model('r-cohere', 'oai', 'rerank-cohere'), model('r-tei', 'oai', 'tei'),
      model('r-bad', 'oai', 'status-500~r'),
    ],
    fallbacks: { 'e-bad': ['e-oai'], 'e-ant': ['e-gem'], 'r-bad': ['r-tei'] },
  }) });
});
after(async () => {
  try {
    if (gw) await gw.stop();
  } finally {
    await fake?.close();
  }
});
beforeEach(async () => { await fake.reset(); });

const embed = (body) => request(gw.url, '/v1/embeddings', { body, timeoutMs: 10000 });
const rerank = (body) => request(gw.url, '/v1/rerank', { body, timeoutMs: 10000 });

describe('embeddings', () => {
  test('openai upstream: model replaced, list shape back, usage logged', async () => {
    const res = await embed({ model: 'e-oai', input: ['hello', 'world'] });
    assert.equal(res.status, 200, res.body);
    const b = json(res.body);
    assert.equal(b.object, 'list');
    assert.equal(b.data.length, 2);
    assert.ok(Array.isArray(b.data[0].embedding) && b.data[0].embedding.length > 0);
    const seen = fake.seen();
    assert.equal(seen.length, 1);
    assert.equal(seen[0].model, 'ok~e');
    assert.match(seen[0].path, /\/v1\/embeddings$/);
    const log = await logFor(gw, res, 0, '/v1/embeddings');
    assert.equal(log.status, 200);
    assert.equal(log.model, 'e-oai');
    assert.equal(log.provider, 'oai');
  });

  test('gemini upstream: batchEmbedContents translated to OpenAI shape', async () => {
    const res = await embed({ model: 'e-gem', input: ['a', 'b', 'c'] });
    assert.equal(res.status, 200, res.body);
    const b = json(res.body);
    assert.equal(b.object, 'list');
    assert.deepEqual(b.data.map((d) => d.index), [0, 1, 2]);
    const seen = fake.seen();
    assert.equal(seen.length, 1);
    assert.match(seen[0].path, /:batchEmbedContents$/);
    assert.equal(seen[0].body.requests.length, 3);
  });

  test('anthropic has no embeddings API: the chain moves on to the fallback', async () => {
    const res = await embed({ model: 'e-ant', input: 'x' });
    assert.equal(res.status, 200, res.body);
    assert.equal(fake.seen().length, 1, 'only the gemini fallback was called');
    const log = await logFor(gw, res, 0, '/v1/embeddings');
    assert.deepEqual(log.attempts.map((a) => a.reason), ['not_expressible', 'ok']);
  });

  test('503 fails over', async () => {
    const res = await embed({ model: 'e-bad', input: 'x' });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(fake.models(), ['status-503~e', 'ok~e']);
  });

  test('bad input: 400 naming the field', async () => {
    assertOpenAIError(await embed({ model: 'e-oai', input: [] }), 400, { type: 'invalid_request_error' });
    assertOpenAIError(await embed({ model: 'e-oai' }), 400, { param: 'input' });
  });
});

describe('rerank', () => {
  const docs = ['the cat sat', 'dogs bark', 'a kitten', 'stock prices'];

  test('cohere-shaped upstream: results sorted by relevance and cut at top_n', async () => {
    const res = await rerank({ model: 'r-cohere', query: 'cat', documents: docs, top_n: 2 });
    assert.equal(res.status, 200, res.body);
    const b = json(res.body);
    assert.equal(b.results.length, 2);
    assert.ok(b.results[0].relevance_score >= b.results[1].relevance_score);
    for (const r of b.results) assert.ok(Number.isInteger(r.index) && r.index >= 0 && r.index < docs.length);
    assert.match(fake.seen()[0].path, /\/v1\/rerank$/);
  });

  test('TEI-shaped upstream after a 500: fails over, same client shape', async () => {
    const res = await rerank({ model: 'r-bad', query: 'cat', documents: docs, top_n: 3 });
    assert.equal(res.status, 200, res.body);
    const b = json(res.body);
    assert.equal(b.results.length, 3);
    assert.ok(b.results[0].relevance_score >= b.results[2].relevance_score);
    assert.deepEqual(fake.models(), ['status-500~r', 'tei']);
  });

  test('missing query: 400', async () => {
    assertOpenAIError(await rerank({ model: 'r-cohere', documents: docs }), 400, { param: 'query' });
  });
});

// auth_ratelimit.test.mjs - API keys (made with `llmgw keys create`, stored
// hashed in the config file) and rate limits: 401 invalid_api_key without a
// good key, 200 with one, 400 with two Authorization headers; per-IP and per-tenant token buckets answering 429
// with Retry-After and x-ratelimit-limit / -remaining / -reset.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import { chat, chatBody, createKey, gatewayConfig, logFor, model, startGateway, writeConfig } from './lib/gateway.mjs';
import { assertOpenAIError, json, request, sleep } from './lib/http.mjs';

let fake;
before(async () => { fake = await startFake(null); });
after(async () => { await fake?.close(); });

const bearer = (k) => ({ authorization: `Bearer ${k}` });

function assertRateLimited(r, limit) {
  assertOpenAIError(r, 429, { type: 'rate_limit_error', code: 'rate_limit_exceeded' });
  assert.equal(r.headers['retry-after'], '1', 'Retry-After in whole seconds (1 token at 1 rps)');
  assert.equal(r.headers['x-ratelimit-limit'], String(limit));
  assert.equal(r.headers['x-ratelimit-remaining'], '0');
  assert.match(String(r.headers['x-ratelimit-reset']), /^\d+(\.\d+)?(ms|s)?$/, 'x-ratelimit-reset is a number or duration');
}

describe('API keys', () => {
  let gw;
  let key1;
  let key2;
  let file;
  before(async () => {
    const cfg = gatewayConfig(fake, { models: [model('o-ok', 'oai', 'ok~o')],
      tenants: [{ id: 'acme', keys: [] }, { id: 'beta', keys: [] }] });
    cfg.auth = { enabled: true };
    const w = await writeConfig(cfg);
    file = w.file;
    key1 = createKey(file, 'acme');
    key2 = createKey(file, 'beta');
    gw = await startGateway(null, { file, port: w.port, dir: w.dir });
  });
  after(async () => { if (gw) await gw.stop(); });

  test('keys create prints a key and stores only its hash', () => {
    assert.match(key1, /^\S{20,}$/, 'a key of at least 20 characters');
    assert.notEqual(key1, key2);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes(key1) && !text.includes(key2), 'the keys themselves are not in the file');
    assert.equal((text.match(/blake2b:[0-9a-f]+/g) ?? []).length, 2, 'two blake2b hashes stored');
  });

  test('no Authorization header: 401 invalid_api_key', async () => {
    const r = await chat(gw, chatBody('o-ok'));
    assertOpenAIError(r, 401, { type: 'invalid_request_error', code: 'invalid_api_key' });
    assert.equal(fake.seen().filter((x) => x.model === 'ok~o').length, 0);
  });

  test('a wrong key or scheme: 401 invalid_api_key', async () => {
    for (const h of [bearer('sk-wrong-key-000000000000'), { authorization: `Basic ${key1}` }, { authorization: 'Bearer' },
      bearer(`${key1}x`)]) {
      const r = await chat(gw, chatBody('o-ok'), { headers: h });
      assertOpenAIError(r, 401, { type: 'invalid_request_error', code: 'invalid_api_key' });
    }
    const r = await request(gw.url, '/v1/models');
    assertOpenAIError(r, 401, { code: 'invalid_api_key' });
  });

  test('two Authorization headers: 400 duplicate_authorization, whichever comes first', async () => {
    await fake.reset();
    for (const pair of [[`Bearer ${key1}`, 'Bearer sk-wrong-key-000000000000'], ['Bearer sk-wrong-key-000000000000', `Bearer ${key1}`],
      [`Bearer ${key1}`, `Bearer ${key2}`]]) {
      const r = await chat(gw, chatBody('o-ok'), { headers: { authorization: pair } });
      assertOpenAIError(r, 400, { type: 'invalid_request_error', code: 'duplicate_authorization' });
    }
    assert.equal(fake.seen().length, 0, 'none of them reached the upstream');
  });

  test('a created key works and maps to its tenant; the key is not logged', async () => {
    await fake.reset();
    let mark = gw.logs().length;
    let r = await chat(gw, chatBody('o-ok', 'authed'), { headers: bearer(key1) });
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, 'echo: authed');
    assert.equal((await logFor(gw, r, mark)).tenant, 'acme');
    mark = gw.logs().length;
    r = await chat(gw, chatBody('o-ok', 'authed'), { headers: bearer(key2) });
    assert.equal(r.status, 200, r.body);
    assert.equal((await logFor(gw, r, mark)).tenant, 'beta');
    r = await request(gw.url, '/v1/models', { headers: bearer(key1) });
    assert.equal(r.status, 200);
    assert.deepEqual(json(r.body).data.map((m) => m.id), ['o-ok']);
    assert.ok(!gw.stdout().includes(key1) && !gw.stderr().includes(key1), 'no key in the logs');
    assert.equal(fake.seen()[0].headers.authorization, 'Bearer test-key', 'the client key is not sent upstream');
  });

  test('health endpoints need no key', async () => {
    assert.equal((await request(gw.url, '/healthz')).status, 200);
    assert.equal((await request(gw.url, '/readyz')).status, 200);
  });
});

describe('rate limits', () => {
  test('per-IP: burst 2 at 1 rps -> third request 429 with rate headers, then refills', async (t) => {
    const gw = await startGateway(t, { config: gatewayConfig(fake, { models: [model('o-ok', 'oai', 'ok~o')], workers: 1,
      rate_limit: { per_ip: { rps: 1, burst: 2 } } }) });
    await fake.reset();
    const a = await chat(gw, chatBody('o-ok'));
    const b = await chat(gw, chatBody('o-ok'));
    const c = await chat(gw, chatBody('o-ok'));
    assert.equal(a.status, 200, a.body);
    assert.equal(b.status, 200, b.body);
    assertRateLimited(c, 2);
    assert.equal(fake.seen().length, 2, 'the limited request never reached the upstream');
    await sleep(1100);
    const d = await chat(gw, chatBody('o-ok'));
    assert.equal(d.status, 200, 'a token came back after 1 s');
  });

  test('per-tenant: rps limit per key, other tenants unaffected', async (t) => {
    const cfg = gatewayConfig(fake, { models: [model('o-ok', 'oai', 'ok~o')], workers: 1,
      tenants: [{ id: 'slow', keys: [], rate: { rps: 1, burst: 2 } }, { id: 'fast', keys: [] }] });
    cfg.auth = { enabled: true };
    const w = await writeConfig(cfg);
    const slow = createKey(w.file, 'slow');
    const fast = createKey(w.file, 'fast');
    const gw = await startGateway(t, { file: w.file, port: w.port, dir: w.dir });
    const r1 = await chat(gw, chatBody('o-ok'), { headers: bearer(slow) });
    const r2 = await chat(gw, chatBody('o-ok'), { headers: bearer(slow) });
    const r3 = await chat(gw, chatBody('o-ok'), { headers: bearer(slow) });
    assert.equal(r1.status, 200, r1.body);
    assert.equal(r2.status, 200, r2.body);
    assertRateLimited(r3, 2);
    for (let i = 0; i < 3; i++) {
      const f = await chat(gw, chatBody('o-ok'), { headers: bearer(fast) });
      assert.equal(f.status, 200, `tenant fast is not limited (${i})`);
    }
  });
});

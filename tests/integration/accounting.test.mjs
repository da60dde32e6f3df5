// accounting.test.mjs - money is counted exactly: after a mixed run (stream,
// non-stream, failed, failed-over, broken, usage-less, client-aborted) the sum
// over the log lines = /metrics = /v1/usage, to the token and the nano-dollar
// (so to the cent); exact per-request figures from the fake's usage and the
// configured prices; estimated usage is marked, never 0; /v1/usage visibility
// (own tenant, admin all); the x-llmgw-overhead-ms header; the periodic usage
// summary line; log lines carry no key.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import { chat, chatBody, createKey, gatewayConfig, startGateway, writeConfig } from './lib/gateway.mjs';
import { json, request, sleep } from './lib/http.mjs';

const price = (i, o) => ({ input_per_mtok: i, output_per_mtok: o });
const MODELS = [
  { alias: 'o-ok', provider: 'oai', model: 'ok~o', price: price(1.25, 10) },
  { alias: 'a-ok', provider: 'ant', model: 'ok~a', price: price(3, 15) },
  { alias: 'g-ok', provider: 'gem', model: 'ok~g', price: price(0.075, 0.3) },
  { alias: 'o-nu', provider: 'oai', model: 'no-usage~o', price: price(2, 8) },
  { alias: 'a-nu', provider: 'ant', model: 'no-usage~a', price: price(2, 8) },
  { alias: 'o-fail', provider: 'oai', model: 'status-500~f', price: price(5, 5) },
  { alias: 'o-cut', provider: 'oai', model: 'cut-mid~c', price: price(1, 1) },
  { alias: 'o-400', provider: 'oai', model: 'status-400~x', price: price(7, 7) },
  { alias: 'o-slow', provider: 'oai', model: 'slow-body-300~s', price: price(1, 2) },
];

/** USD decimal (string or number) -> BigInt nano-USD, exactly. */
function nano(v) {
  const s = typeof v === 'number' ? v.toFixed(9) : String(v);
  const neg = s.startsWith('-');
  const [i, f = ''] = (neg ? s.slice(1) : s).split('.');
  const n = BigInt(i) * 1000000000n + BigInt((f + '000000000').slice(0, 9));
  return neg ? -n : n;
}

/** Prometheus samples of one family: [{labels, value (string)}]. */
function samples(text, name) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = {};
    for (const p of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]] = p[2];
    out.push({ labels, value: m[3] });
  }
  return out;
}

const bearer = (k) => ({ authorization: `Bearer ${k}` });

let fake;
let gw;
const keys = {};
before(async () => {
  fake = await startFake(null);
  const cfg = gatewayConfig(fake, {
    models: MODELS,
    fallbacks: { 'o-fail': ['a-ok'] },
    tenants: [{ id: 'acme', keys: [] }, { id: 'beta', keys: [] }, { id: 'root', keys: [], admin: true }],
    telemetry: { log: 'stdout', flush_interval_s: 1 },
  });
  cfg.auth = { enabled: true };
  const w = await writeConfig(cfg);
  for (const t of ['acme', 'beta', 'root']) keys[t] = createKey(w.file, t);
  gw = await startGateway(null, { file: w.file, port: w.port, dir: w.dir });
});
after(async () => {
  try {
    if (gw) await gw.stop();
  } finally {
    await fake?.close();
  }
});

// One request of each kind; returns the responses.
async function mixedRun(tenant) {
  const h = { headers: bearer(keys[tenant]) };
  const s = { stream: true };
  const su = { stream: true, stream_options: { include_usage: true } };
  const reqs = [
    chat(gw, chatBody('o-ok', 'alpha'), h),
    chat(gw, chatBody('o-ok', 'beta stream', s), h),
    chat(gw, chatBody('a-ok', 'gamma'), h),
    chat(gw, chatBody('a-ok', 'delta', su), h),
    chat(gw, chatBody('g-ok', 'eps'), h),
    chat(gw, chatBody('g-ok', 'zeta', s), h),
    chat(gw, chatBody('o-nu', 'no usage here'), h),
    chat(gw, chatBody('o-nu', 'no usage stream', s), h),
    chat(gw, chatBody('a-nu', 'anthropic no usage', s), h),
    chat(gw, chatBody('o-fail', 'fails over'), h),
    chat(gw, chatBody('o-fail', 'fails over stream', s), h),
    chat(gw, chatBody('o-cut', 'cut stream', s), h),
    chat(gw, chatBody('o-400', 'refused'), h),
    chat(gw, chatBody('nope', 'unknown model'), h),
    // the client leaves mid-stream: the billed part still counts
    chat(gw, chatBody('o-slow', 'abandoned', s), { ...h, timeoutMs: 450 }),
  ];
  return Promise.all(reqs);
}

describe('accounting', () => {
  let results;
  let lines;
  before(async () => {
    results = [...await mixedRun('acme'), ...await mixedRun('beta')];
    // every request writes exactly one line, also the aborted ones
    const deadline = Date.now() + 10000;
    for (;;) {
      lines = gw.logs().filter((l) => l.route === '/v1/chat/completions');
      if (lines.length >= results.length || Date.now() > deadline) break;
      await sleep(50);
    }
  });

  test('one log line per request, statuses as expected', () => {
    assert.equal(lines.length, results.length, 'one line per request');
    const st = (alias) => lines.filter((l) => l.model === alias).map((l) => l.status).sort();
    assert.deepEqual(st('o-ok'), [200, 200, 200, 200]);
    assert.deepEqual(st('o-400'), [400, 400]);
    assert.equal(lines.filter((l) => l.status === 404).length, 2, 'unknown model: 404');
    assert.deepEqual(st('o-slow'), [499, 499], 'client-aborted requests are logged with 499');
    for (const r of results.filter((x) => x.status === 200 || x.status === 400)) {
      assert.match(String(r.headers['x-llmgw-overhead-ms']), /^\d+\.\d{3}$/, 'overhead header on LLM routes');
    }
  });

  test('exact per-request tokens and cost', () => {
    const one = (alias, stream) => lines.find((l) => l.model === alias && l.stream === stream && l.tenant === 'acme');
    let l = one('o-ok', false); // openai usage 9/3 at 1.25/10
    assert.equal(l.prompt_tokens, 9);
    assert.equal(l.completion_tokens, 3);
    assert.equal(nano(l.cost_usd), 9n * 1250n + 3n * 10000n);
    assert.equal(l.estimated, undefined, 'reported usage is not marked estimated');
    l = one('a-ok', true); // anthropic 18/5 at 3/15, stream
    assert.equal(l.prompt_tokens, 18);
    assert.equal(l.completion_tokens, 5);
    assert.equal(nano(l.cost_usd), 18n * 3000n + 5n * 15000n);
    l = one('g-ok', true); // gemini 5/3 at 0.075/0.3
    assert.equal(nano(l.cost_usd), 5n * 75n + 3n * 300n);
    l = one('o-fail', false); // 500 (not billed), then a-ok
    assert.equal(l.attempts.length, 2);
    assert.equal(l.attempts[0].status, 500);
    assert.equal(l.prompt_tokens, 18);
    assert.equal(nano(l.cost_usd), 18n * 3000n + 5n * 15000n, 'priced as the model that answered');
    l = one('o-400', false);
    assert.equal(l.prompt_tokens, 0, 'an upstream 4xx is not billed');
    assert.equal(nano(l.cost_usd), 0n);
    l = lines.find((x) => x.status === 404);
    assert.equal(l.prompt_tokens, null, 'no model, no tokens');
  });

  test('usage the upstream did not report is estimated and marked, never 0', () => {
    for (const alias of ['o-nu', 'a-nu', 'o-cut']) {
      for (const l of lines.filter((x) => x.model === alias)) {
        assert.equal(l.estimated, true, `${alias} marked estimated`);
        assert.ok(l.prompt_tokens > 0 && l.completion_tokens > 0, `${alias}: ${l.prompt_tokens}/${l.completion_tokens}`);
        assert.ok(nano(l.cost_usd) > 0n);
      }
    }
    const l = lines.find((x) => x.model === 'o-nu' && !x.stream && x.tenant === 'acme');
    // "no usage here" = 13 bytes -> ceil(13/4) + 4 = 8; "echo: no usage here" = 19 bytes -> 5
    assert.equal(l.prompt_tokens, 8);
    assert.equal(l.completion_tokens, 5);
    assert.equal(nano(l.cost_usd), 8n * 2000n + 5n * 8000n);
  });

  test('sum over log lines = /metrics = /v1/usage, per tenant and in total', async () => {
    await sleep(300);
    const sum = { prompt: 0n, completion: 0n, cost: 0n };
    const byTenant = {};
    for (const l of gw.logs().filter((x) => x.request_id)) {
      const t = (byTenant[l.tenant] ??= { prompt: 0n, completion: 0n, cost: 0n });
      for (const o of [sum, t]) {
        o.prompt += BigInt(l.prompt_tokens ?? 0);
        o.completion += BigInt(l.completion_tokens ?? 0);
        o.cost += nano(l.cost_usd);
      }
    }
    const u = json((await request(gw.url, '/v1/usage', { headers: bearer(keys.root) })).body);
    assert.equal(u.object, 'usage');
    assert.deepEqual(u.tenants.map((t) => t.tenant).sort(), ['acme', 'beta', 'root']);
    const usum = { prompt: 0n, completion: 0n, cost: 0n };
    for (const t of u.tenants) {
      const lt = byTenant[t.tenant] ?? { prompt: 0n, completion: 0n, cost: 0n };
      assert.equal(BigInt(t.prompt_tokens), lt.prompt, `${t.tenant} prompt tokens`);
      assert.equal(BigInt(t.completion_tokens), lt.completion, `${t.tenant} completion tokens`);
      assert.equal(nano(t.cost_usd), lt.cost, `${t.tenant} cost`);
      assert.equal(nano(t.spent_usd), lt.cost, `${t.tenant} spent = cost`);
      usum.prompt += BigInt(t.prompt_tokens);
      usum.completion += BigInt(t.completion_tokens);
      usum.cost += nano(t.cost_usd);
    }
    assert.deepEqual(usum, sum, '/v1/usage = log lines');
    assert.ok(sum.cost > 0n && sum.prompt > 0n);

    const m = (await request(gw.url, '/metrics')).body;
    const msum = { prompt: 0n, completion: 0n, cost: 0n };
    for (const s of samples(m, 'llmgw_tokens_total')) msum[s.labels.type] += BigInt(s.value);
    for (const s of samples(m, 'llmgw_cost_usd_total')) msum.cost += nano(s.value);
    assert.deepEqual(msum, sum, '/metrics = log lines');
    const acmeCost = samples(m, 'llmgw_cost_usd_total').filter((s) => s.labels.tenant === 'acme')
      .reduce((a, s) => a + nano(s.value), 0n);
    assert.equal(acmeCost, byTenant.acme.cost, 'per tenant in /metrics');
    const est = samples(m, 'llmgw_estimated_attempts_total').reduce((a, s) => a + BigInt(s.value), 0n);
    assert.ok(est >= 6n, `estimated attempts counted (${est})`);
  });

  test('/v1/usage: a tenant sees only itself; no key: 401', async () => {
    const u = json((await request(gw.url, '/v1/usage', { headers: bearer(keys.beta) })).body);
    assert.deepEqual(u.tenants.map((t) => t.tenant), ['beta']);
    assert.equal(u.tenants[0].budget_usd, null);
    assert.ok(u.tenants[0].models.some((x) => x.model === 'o-ok' && x.requests === 2));
    const r = await request(gw.url, '/v1/usage');
    assert.equal(r.status, 401);
  });

  test('a usage summary line every flush_interval_s', async () => {
    const s = await gw.waitLog((l) => l.type === 'usage_summary' && l.usage?.tenants?.length === 3, 5000);
    assert.match(s.ts, /^\d{4}-\d\d-\d\dT/);
  });

  test('SIGHUP keeps the totals; a request after it adds to them', async () => {
    const before = json((await request(gw.url, '/v1/usage', { headers: bearer(keys.root) })).body);
    const mark = gw.stderr().length;
    gw.signal('SIGHUP');
    await gw.waitStderr(/reloaded/, 5000, mark);
    await sleep(100);
    const r = await chat(gw, chatBody('o-ok', 'after reload'), { headers: bearer(keys.acme) });
    assert.equal(r.status, 200);
    await sleep(100);
    const afterU = json((await request(gw.url, '/v1/usage', { headers: bearer(keys.root) })).body);
    const a0 = before.tenants.find((t) => t.tenant === 'acme');
    const a1 = afterU.tenants.find((t) => t.tenant === 'acme');
    assert.equal(a1.prompt_tokens, a0.prompt_tokens + 9);
    assert.equal(a1.completion_tokens, a0.completion_tokens + 3);
    assert.equal(nano(a1.cost_usd) - nano(a0.cost_usd), 9n * 1250n + 3n * 10000n);
    assert.deepEqual(afterU.tenants.find((t) => t.tenant === 'beta'), before.tenants.find((t) => t.tenant === 'beta'));
  });

  test('no key material in the log', () => {
    const out = gw.stdout();
    for (const k of Object.values(keys)) assert.ok(!out.includes(k), 'a key leaked into the log');
    assert.ok(!out.includes('test-key'), 'the upstream key leaked into the log');
    assert.ok(!/bearer\s+(llmgw-|test-key)/i.test(out), 'no bearer credential in the log');
  });
});

// budget.test.mjs - hard budgets and tokens_per_min under concurrency: 1000
// requests at once against a budget that fits 100 (reservation = real cost):
// exactly 100 answered, the rest 429 budget_exceeded, spend = budget to the
// nano-dollar; with reservations above the real cost the spend never passes
// the budget; tokens_per_min refuses with 429 + Retry-After through the same
// reserve/settle path; /v1/usage and /metrics report the rejections.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import { chatBody, createKey, gatewayConfig, startGateway, writeConfig } from './lib/gateway.mjs';
import { json, request, sleep } from './lib/http.mjs';

const bearer = (k) => ({ authorization: `Bearer ${k}` });

function nano(v) {
  const s = typeof v === 'number' ? v.toFixed(9) : String(v);
  const [i, f = ''] = s.split('.');
  return BigInt(i) * 1000000000n + BigInt((f + '000000000').slice(0, 9));
}

// Many sockets at once: a keep-alive agent with a high socket cap.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
function post(gw, body, key) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request(`${gw.url}/v1/chat/completions`, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...bearer(key) },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', (e) => resolve({ status: 0, error: String(e) }));
    req.end(data);
  });
}

let fake;
let gw;
const keys = {};
// $1000 per million tokens in and out: 1e6 nano-USD per token.
const PRICE = { input_per_mtok: 1000, output_per_mtok: 1000 };
before(async () => {
  fake = await startFake(null);
  const cfg = gatewayConfig(fake, {
    models: [{ alias: 'o-ok', provider: 'oai', model: 'ok~b', price: PRICE },
      { alias: 'o-cheap', provider: 'oai', model: 'ok~c', price: { input_per_mtok: 1, output_per_mtok: 1 } },
      { alias: 'o-fb', provider: 'oai', model: 'status-503~fb', price: { input_per_mtok: 1, output_per_mtok: 1 } }],
    fallbacks: { 'o-fb': ['o-ok'] },
    limits: { default_max_tokens: 7 },
    tenants: [
      // "hi": 2 bytes -> 5 estimated prompt tokens; + max_tokens 7 = 12 reserved = 9 + 3 billed by the fake
      { id: 'exact', keys: [], budget_usd: 1.2 },
      { id: 'loose', keys: [], budget_usd: 1.0 },
      { id: 'tpm', keys: [], rate: { tokens_per_min: 60 } },
      { id: 'chain', keys: [], budget_usd: 0.02 },
      { id: 'root', keys: [], admin: true },
    ],
  });
  cfg.auth = { enabled: true };
  const w = await writeConfig(cfg);
  for (const t of ['exact', 'loose', 'tpm', 'chain', 'root']) keys[t] = createKey(w.file, t);
  gw = await startGateway(null, { file: w.file, port: w.port, dir: w.dir });
});
after(async () => {
  agent.destroy();
  try {
    if (gw) await gw.stop();
  } finally {
    await fake?.close();
  }
});

async function usageOf(tenant) {
  const u = json((await request(gw.url, '/v1/usage', { headers: bearer(keys.root) })).body);
  return u.tenants.find((t) => t.tenant === tenant);
}

describe('budgets', () => {
  test('1000 concurrent requests, a budget that fits 100: exactly 100 pass, spend = budget', async () => {
    const rs = await Promise.all(Array.from({ length: 1000 }, () => post(gw, chatBody('o-ok', 'hi'), keys.exact)));
    const ok = rs.filter((r) => r.status === 200).length;
    const refused = rs.filter((r) => r.status === 429);
    assert.equal(ok + refused.length, 1000, `only 200 and 429 (${[...new Set(rs.map((r) => r.status))]})`);
    for (const r of refused.slice(0, 5)) {
      const e = json(r.body).error;
      assert.equal(e.code, 'budget_exceeded');
      assert.equal(e.type, 'insufficient_quota');
    }
    assert.equal(ok, 100, 'reservation = real cost: exactly budget / cost requests');
    await sleep(100);
    const u = await usageOf('exact');
    assert.equal(nano(u.spent_usd), 1200000000n, 'spent exactly the budget');
    assert.equal(nano(u.reserved_usd), 0n, 'every reservation settled');
    assert.equal(nano(u.budget_left_usd), 0n);
    assert.equal(u.prompt_tokens, 900);
    assert.equal(u.completion_tokens, 300);
  });

  test('reservations above the real cost: spend never passes the budget', async () => {
    // max_tokens 95 -> 100 tokens reserved ($0.1), 12 billed ($0.012)
    const body = chatBody('o-ok', 'hi', { max_tokens: 95 });
    const rs = await Promise.all(Array.from({ length: 1000 }, () => post(gw, body, keys.loose)));
    const ok = rs.filter((r) => r.status === 200).length;
    await sleep(100);
    const u = await usageOf('loose');
    const spent = nano(u.spent_usd);
    assert.ok(spent <= 1000000000n, `spent ${u.spent_usd} <= budget 1.0`);
    assert.equal(spent, BigInt(ok) * 12000000n, 'spend = answered requests x real cost');
    assert.ok(ok >= 10, `at least budget / reservation requests passed (${ok})`);
    // sequentially, the budget fills up to less than one reservation from the top
    let r;
    do r = await post(gw, body, keys.loose); while (r.status === 200);
    assert.equal(r.status, 429);
    const left = nano((await usageOf('loose')).budget_left_usd);
    assert.ok(left >= 0n && left < 100000000n, `left ${left} nUSD < one reservation`);
  });

  test('a fallback chain reserves at its most expensive model', async () => {
    // o-fb costs $1/M but falls back to o-ok at $1000/M: 12 tokens at $1000/M = $0.012 each
    const first = await post(gw, chatBody('o-fb', 'hi'), keys.chain);
    assert.equal(first.status, 200);
    const second = await post(gw, chatBody('o-fb', 'hi'), keys.chain);
    assert.equal(second.status, 429, 'the second would pass at the cheap price, not at the chain maximum');
    assert.equal(json(second.body).error.code, 'budget_exceeded');
    assert.equal(nano((await usageOf('chain')).spent_usd), 12000000n);
  });

  test('tokens_per_min: the same reserve/settle path, 429 with Retry-After', async () => {
    // 12 tokens reserved and billed per request, 60 per minute
    for (let i = 0; i < 5; i++) {
      const r = await post(gw, chatBody('o-cheap', 'hi'), keys.tpm);
      assert.equal(r.status, 200, `request ${i + 1} of 5 fits`);
    }
    const r = await post(gw, chatBody('o-cheap', 'hi'), keys.tpm);
    assert.equal(r.status, 429);
    const e = json(r.body).error;
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.match(e.message, /tokens_per_min/);
    assert.ok(Number(r.headers['retry-after']) >= 1 && Number(r.headers['retry-after']) <= 60, `Retry-After ${r.headers['retry-after']}`);
  });

  test('/metrics counts the rejections', async () => {
    const m = (await request(gw.url, '/metrics')).body;
    const budget = /^llmgw_rejections_total\{reason="budget"\} (\d+)$/m.exec(m);
    const tpm = /^llmgw_rejections_total\{reason="tenant_tokens_per_min"\} (\d+)$/m.exec(m);
    assert.ok(budget && Number(budget[1]) >= 900 + 1, `budget rejections ${budget?.[1]}`);
    assert.ok(tpm && Number(tpm[1]) >= 1);
    assert.match(m, /^llmgw_requests_in_flight 1$/m, 'only the /metrics request itself in flight');
  });
});

// redis_shared.test.mjs - limits and budgets shared by two llmgw replicas
// through one Redis (redis_url): two real processes on a private Redis
// (scripts/redis.sh on a free port), the same tenants and keys.
//   - budget race: 1000 concurrent requests split across both replicas
//     against a budget that fits 100: exactly 100 answered, the spend summed
//     from both replicas' log lines equals Redis's and stays within the
//     budget (within budget + one reservation when reservations are loose);
//   - one rps bucket for both replicas: allowed = burst + rps x elapsed
//     within a stated tolerance (two private buckets would allow twice that);
//   - Redis stopped mid-run: fail_open keeps answering and counts in
//     /metrics, fail_closed answers 503 shared_state_unavailable; Redis back:
//     fail_closed answers again and the bucket is shared again;
//   - a client that leaves while Redis answers: one 499 line, reservation back;
//   - the ask schema cache: described once, read from Redis by a second process.
// Needs redis-server (scripts/redis.sh installs it with apt-get when missing).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import {
  REPO, chatBody, createKey, freePort, gatewayConfig, runCli, startGateway, writeConfig,
} from './lib/gateway.mjs';
import { json, request, sleep } from './lib/http.mjs';

const bearer = (k) => ({ authorization: `Bearer ${k}` });

function nano(v) {
  const s = typeof v === 'number' ? v.toFixed(9) : String(v);
  const [i, f = ''] = s.split('.');
  return BigInt(i) * 1000000000n + BigInt((f + '000000000').slice(0, 9));
}

// ---- the private Redis ------------------------------------------------------------

let redisPort;
function redisScript(verb) {
  const r = spawnSync(path.join(REPO, 'scripts/redis.sh'), [verb, String(redisPort)], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, `scripts/redis.sh ${verb} ${redisPort}: ${r.stderr}`);
}
function redisCli(...args) {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redisPort), '--no-auth-warning', ...args],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, `redis-cli ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
function budgetHash(tenant) {
  const lines = redisCli('HGETALL', `llmgw:budget:${tenant}`).split('\n');
  const h = {};
  for (let i = 0; i + 1 < lines.length; i += 2) h[lines[i]] = BigInt(lines[i + 1]);
  return h;
}

// ---- requests -----------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
function post(gw, pathName, body, key) {
  return new Promise((resolve) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { ...bearer(key) };
    if (data !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    const req = http.request(`${gw.url}${pathName}`, { method: data === undefined ? 'GET' : 'POST', agent, headers }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', (e) => resolve({ status: 0, error: String(e) }));
    req.end(data);
  });
}
const models = (gw, key) => post(gw, '/v1/models', undefined, key);

async function metric(gw, name) {
  const text = (await request(gw.url, '/metrics')).body;
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Cost (nUSD) summed over the log lines of tenant with the given status, from every replica. */
function loggedSpend(gws, tenant, status = 200) {
  let sum = 0n;
  let n = 0;
  for (const g of gws) {
    for (const l of g.logs()) {
      if (l.tenant !== tenant || l.status !== status) continue;
      sum += nano(l.cost_usd ?? 0);
      n++;
    }
  }
  return { sum, n };
}

// ---- the replicas -------------------------------------------------------------------

let fake;
let a; // fail_open
let b; // fail_open, same tenants and keys
let c; // fail_closed
const keys = {};
// $1000 per million tokens: 1e6 nUSD per token. "hi": 5 estimated prompt tokens + max_tokens
// (default 7) = 12 reserved; the fake bills 9 + 3 = 12: reservation = real cost = $0.012.
const PRICE = { input_per_mtok: 1000, output_per_mtok: 1000 };
const RPS = 20;
const TENANTS = ['exact', 'loose', 'rps', 'small', 'gone', 'root'];

/** Starts a replica on the config text of file with its own port and redis_policy. */
async function replica(text, policy) {
  const port = await freePort();
  const w = await writeConfig({});
  const body = text.replace(/^listen: .*$/m, `listen: "127.0.0.1:${port}"`)
    .replace(/^redis_policy: .*$/m, `redis_policy: "${policy}"`);
  fs.writeFileSync(w.file, body);
  return startGateway(null, { file: w.file, port, dir: w.dir });
}

before(async () => {
  redisPort = await freePort();
  redisScript('start');
  fake = await startFake(null);
  const cfg = gatewayConfig(fake, {
    models: [{ alias: 'o-ok', provider: 'oai', model: 'ok~b', price: PRICE }],
    limits: { default_max_tokens: 7, redis_timeout_ms: 500 },
    tenants: [
      { id: 'exact', keys: [], budget_usd: 1.2 },
      { id: 'loose', keys: [], budget_usd: 1.0 },
      { id: 'rps', keys: [], rate: { rps: RPS, burst: RPS } },
      { id: 'small', keys: [], rate: { rps: 0.01, burst: 5 } },
      { id: 'gone', keys: [], budget_usd: 1.0 },
      { id: 'root', keys: [], admin: true },
    ],
  });
  cfg.auth = { enabled: true };
  cfg.redis_url = `redis://127.0.0.1:${redisPort}`;
  cfg.redis_policy = 'fail_open';
  const w = await writeConfig(cfg);
  for (const t of TENANTS) keys[t] = createKey(w.file, t);
  const text = fs.readFileSync(w.file, 'utf8');
  [a, b, c] = await Promise.all([replica(text, 'fail_open'), replica(text, 'fail_open'), replica(text, 'fail_closed')]);
  for (const g of [a, b, c]) {
    await g.waitStderr(/shared limits \(worker 1\): connected to Redis/, 5000);
    await g.waitStderr(/shared limits \(worker 0\): connected to Redis/, 5000);
  }
});

after(async () => {
  agent.destroy();
  try {
    for (const g of [a, b, c]) if (g) await g.stop();
  } finally {
    await fake?.close();
    if (redisPort) redisScript('stop');
  }
});

describe('shared budgets (two replicas, one Redis)', () => {
  test('1000 concurrent requests across both, a budget that fits 100: exactly 100, spend = budget', async () => {
    const rs = await Promise.all(Array.from({ length: 1000 },
      (_, i) => post(i % 2 ? a : b, '/v1/chat/completions', chatBody('o-ok', 'hi'), keys.exact)));
    const ok = rs.filter((r) => r.status === 200).length;
    const refused = rs.filter((r) => r.status === 429);
    assert.equal(ok + refused.length, 1000, `only 200 and 429 (${[...new Set(rs.map((r) => r.status))]})`);
    assert.equal(json(refused[0].body).error.code, 'budget_exceeded');
    assert.equal(json(refused[0].body).error.type, 'insufficient_quota');
    assert.equal(ok, 100, 'reservation = real cost: exactly budget / cost requests over both replicas');
    await sleep(300); // settles and log lines
    for (const g of [a, b]) {
      assert.equal(g.logs().filter((l) => l.tenant === 'exact').length, 500, 'each replica took half of them');
    }
    const logged = loggedSpend([a, b], 'exact');
    assert.equal(logged.n, 100, 'one log line per answered request');
    assert.equal(logged.sum, 1200000000n, 'logged spend of both replicas = the budget');
    const h = budgetHash('exact');
    assert.equal(h.spent, 1200000000n, 'Redis spent = the logged spend');
    assert.equal(h.reserved, 0n, 'every reservation settled');
  });

  test('loose reservations: spend within budget + one reservation, and = Redis spent', async () => {
    // max_tokens 95: 100 tokens reserved ($0.1), 12 billed ($0.012)
    const body = chatBody('o-ok', 'hi', { max_tokens: 95 });
    const rs = await Promise.all(Array.from({ length: 1000 },
      (_, i) => post(i % 2 ? a : b, '/v1/chat/completions', body, keys.loose)));
    const ok = rs.filter((r) => r.status === 200).length;
    assert.ok(ok >= 10, `at least budget / reservation requests passed (${ok})`);
    await sleep(300);
    const logged = loggedSpend([a, b], 'loose');
    assert.equal(logged.n, ok);
    assert.ok(logged.sum <= 1000000000n + 100000000n, `spend ${logged.sum} <= budget + one reservation`);
    assert.equal(logged.sum, BigInt(ok) * 12000000n, 'spend = answered x real cost');
    const h = budgetHash('loose');
    assert.equal(h.spent, logged.sum, 'Redis spent = the logged spend of both replicas');
    assert.equal(h.reserved, 0n);
  });
});

describe('a client that leaves while Redis answers', () => {
  test('logged 499 once, and what Redis reserved for it is given back', async () => {
    // Redis sleeps 200 ms (under redis_timeout_ms 500): the client leaves after 50 ms,
    // then the reservation comes back admitted and must be undone.
    const sleeper = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(redisPort), 'DEBUG', 'SLEEP', '0.2']);
    await sleep(20);
    const from = a.logs().length;
    const upstreamBefore = fake.seen().length;
    const data = JSON.stringify(chatBody('o-ok', 'hi'));
    const req = http.request(`${a.url}/v1/chat/completions`, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...bearer(keys.gone) },
    });
    req.on('error', () => {});
    req.end(data);
    await sleep(50);
    req.destroy();
    await new Promise((resolve) => sleeper.once('exit', resolve));
    const l = await a.waitLog((x) => x.tenant === 'gone', 3000, from);
    assert.equal(l.status, 499);
    assert.equal(l.model, 'o-ok');
    await sleep(200);
    assert.equal(a.logs().slice(from).filter((x) => x.tenant === 'gone').length, 1, 'one log line');
    const h = budgetHash('gone');
    assert.equal(h.reserved, 0n, 'the reservation was given back');
    assert.equal(h.spent ?? 0n, 0n, 'nothing spent');
    assert.equal(fake.seen().length, upstreamBefore, 'the upstream was never called');
  });
});

describe('shared rps bucket', () => {
  test('one bucket for both replicas: allowed = burst + rps x elapsed (within 10% + 2)', async () => {
    const t0 = performance.now();
    let allowed = 0;
    let refused = 0;
    let retryAfter;
    // ~100 requests/s in total (5x the rate), one to each replica at a time, for 2 s
    while (performance.now() - t0 < 2000) {
      for (const r of await Promise.all([models(a, keys.rps), models(b, keys.rps)])) {
        if (r.status === 200) allowed++;
        else {
          assert.equal(r.status, 429, r.body);
          assert.equal(json(r.body).error.code, 'rate_limit_exceeded');
          retryAfter ??= r.headers['retry-after'];
          refused++;
        }
      }
      await sleep(20);
    }
    const secs = (performance.now() - t0) / 1000;
    const expect = RPS + RPS * secs;
    assert.ok(Math.abs(allowed - expect) <= expect * 0.1 + 2,
      `allowed ${allowed}, expected ${expect.toFixed(1)} (burst ${RPS} + ${RPS}/s x ${secs.toFixed(2)} s); refused ${refused}`);
    assert.ok(refused > allowed / 2, 'the rest refused');
    assert.equal(retryAfter, '1');
  });
});

describe('Redis stopped mid-run', () => {
  test('fail_open answers and counts, fail_closed 503 shared_state_unavailable; back: shared again', async () => {
    assert.equal((await models(a, keys.root)).status, 200);
    assert.equal(await metric(a, 'llmgw_redis_enabled'), 1);
    assert.equal(await metric(a, 'llmgw_redis_connections_up'), 2);
    const openBefore = await metric(a, 'llmgw_redis_fail_open_admits_total');
    const errA = a.stderr().length;
    redisScript('stop');
    await sleep(200);
    // a tenant with a budget and a bucket: fail_open admits, a real LLM call
    const rs = [];
    for (let i = 0; i < 10; i++) rs.push(await post(a, '/v1/chat/completions', chatBody('o-ok', 'hi'), keys.exact));
    assert.deepEqual(rs.map((r) => r.status), Array(10).fill(200), 'fail_open: every request answered');
    const opened = await metric(a, 'llmgw_redis_fail_open_admits_total');
    assert.equal(opened - openBefore, 10, 'each admission without Redis counted');
    assert.ok(await metric(a, 'llmgw_redis_settles_lost_total') >= 10, 'the settles Redis never took counted');
    assert.equal(await metric(a, 'llmgw_redis_connections_up'), 0);
    const down = a.stderr().slice(errA).match(/Redis not connected; redis_policy fail_open|Redis timed out; redis_policy fail_open/g) ?? [];
    assert.ok(down.length >= 1 && down.length <= 2, `logged once per worker (${down.length})`);
    // fail_closed
    const r = await models(c, keys.rps);
    assert.equal(r.status, 503);
    const e = json(r.body).error;
    assert.equal(e.code, 'shared_state_unavailable');
    assert.equal(e.type, 'server_error');
    assert.equal(r.headers['retry-after'], '1');
    assert.ok(await metric(c, 'llmgw_redis_fail_closed_refusals_total') >= 1);
    // a route without admission still answers on the fail_closed replica
    assert.equal((await request(c.url, '/healthz')).status, 200);

    redisScript('start'); // empty: no persistence
    let back;
    const until = Date.now() + 15000;
    do {
      await sleep(100);
      back = await models(c, keys.rps); // a tenant with a limit: asks Redis
    } while (back.status !== 200 && Date.now() < until);
    assert.equal(back.status, 200, 'fail_closed answers again once Redis is back');
    await c.waitStderr(/Redis answers again; limits and budgets are shared again/, 5000);
    // shared again: burst 5 over both replicas, refill 1 per 100 s
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await models(i % 2 ? a : b, keys.small)).status);
    assert.equal(statuses.filter((s) => s === 200).length, 5, `one bucket of 5 for both (${statuses})`);
    assert.ok(redisCli('EXISTS', 'llmgw:rl:small') === '1', 'the bucket lives in Redis');
  });
});

describe('the schema cache, one per process, shared through Redis', () => {
  test('the first replica describes and stores, the second reads it from Redis; /metrics counts both', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgw-redis-cat-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const db = path.join(dir, 'catalog.duckdb');
    const gen = runCli(['catalog', 'generate', '--skus', '2000', '--seed', '7', '--out', db], { timeoutMs: 120000 });
    assert.equal(gen.code, 0, gen.stderr);
    const cfg = gatewayConfig(null, {
      ask: { engine: 'duckdb', duckdb: { path: db }, schema_cache: { redis_url: `redis://127.0.0.1:${redisPort}` } },
    });
    const ready = async (g) => {
      for (let i = 0; i < 200 && (await request(g.url, '/readyz')).status !== 200; i++) await sleep(100);
    };
    const first = await startGateway(t, { config: cfg });
    await ready(first);
    assert.equal(await metric(first, 'llmgw_schema_cache_misses_total'), 1, 'described once');
    assert.equal(await metric(first, 'llmgw_schema_cache_stores_total'), 1, 'stored in Redis');
    assert.equal(await metric(first, 'llmgw_schema_cache_redis_errors_total'), 0);
    assert.equal(await metric(first, 'llmgw_schema_cache_redis_up'), 1);
    assert.equal(await metric(first, 'llmgw_redis_enabled'), 0, 'no redis_url: limits in process');
    const second = await startGateway(t, { config: cfg });
    await ready(second);
    assert.equal(await metric(second, 'llmgw_schema_cache_hits_total{level="redis"}'), 1, 'read from Redis');
    assert.equal(await metric(second, 'llmgw_schema_cache_misses_total'), 0, 'not described again');
  });
});

// metrics.test.mjs - GET /metrics: `promtool check metrics` (Debian package
// prometheus) accepts the exposition; request counters by route/status/model
// match what was sent; attempts and failovers by reason; histograms; the
// tenant label bounded to telemetry.metrics_max_tenants + "other"; in-flight
// gauges back to 0. Log lines under load: exactly one valid JSON line per
// request, no key material. Answers the connection layer sends itself (431,
// 413, 400 malformed) get one log line each and count under route="none".
// With telemetry.metrics_auth, /metrics takes an admin key.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import { chatBody, createKey, gatewayConfig, model, startGateway, writeConfig } from './lib/gateway.mjs';
import { connect, request, sleep } from './lib/http.mjs';

const bearer = (k) => ({ authorization: `Bearer ${k}` });
const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });

function post(gw, path, body, key) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request(`${gw.url}${path}`, {
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

function value(text, re) {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}

const TENANTS = ['t1', 't2', 't3', 't4'];
let fake;
let gw;
const keys = {};
before(async () => {
  fake = await startFake(null);
  const cfg = gatewayConfig(fake, {
    models: [model('o-ok', 'oai', 'ok~o'), model('a-ok', 'ant', 'ok~a'), model('o-fail', 'oai', 'status-502~f'),
      model('o-nu', 'oai', 'no-usage~n')],
    fallbacks: { 'o-fail': ['a-ok'] },
    tenants: TENANTS.map((id) => ({ id, keys: [] })),
    telemetry: { log: 'stdout', metrics_max_tenants: 2 },
  });
  cfg.auth = { enabled: true };
  const w = await writeConfig(cfg);
  for (const t of TENANTS) keys[t] = createKey(w.file, t);
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

describe('metrics and log lines', () => {
  const N = 600;
  let sent;
  before(async () => {
    // t1 spends most, t4 least; a mix of models, streams, failovers, a 404
    const jobs = [];
    for (let i = 0; i < N; i++) {
      const t = TENANTS[i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : i % 10 < 9 ? 2 : 3];
      const alias = ['o-ok', 'a-ok', 'o-fail', 'o-nu'][i % 4];
      jobs.push({ t, alias, stream: i % 3 === 0 });
    }
    const rs = await Promise.all(jobs.map((j) => post(gw, '/v1/chat/completions',
      chatBody(j.alias, `load ${j.t}`, j.stream ? { stream: true } : {}), keys[j.t])));
    sent = jobs.map((j, i) => ({ ...j, status: rs[i].status }));
    await post(gw, '/v1/chat/completions', chatBody('nope'), keys.t1);
    await sleep(200);
  });

  test('promtool check metrics passes', async (t) => {
    const r = await request(gw.url, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    const which = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (which.error) {
      t.skip('promtool is not installed (Debian package prometheus)');
      return;
    }
    const p = spawnSync('promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
  });

  test('request counters, attempts, failovers, histograms', async () => {
    const m = (await request(gw.url, '/metrics')).body;
    for (const alias of ['o-ok', 'a-ok', 'o-fail', 'o-nu']) {
      const want = sent.filter((s) => s.alias === alias && s.status === 200).length;
      assert.equal(value(m, new RegExp(`^llmgw_requests_total\\{route="/v1/chat/completions",status="200",model="${alias}"\\} (\\d+)$`, 'm')),
        want, `requests for ${alias}`);
    }
    assert.equal(value(m, /^llmgw_requests_total\{route="\/v1\/chat\/completions",status="404",model=""\} (\d+)$/m), 1);
    const fails = sent.filter((s) => s.alias === 'o-fail').length;
    assert.equal(value(m, /^llmgw_failovers_total\{reason="status_5xx"\} (\d+)$/m), fails, 'one failover per o-fail');
    assert.equal(value(m, /^llmgw_upstream_attempts_total\{reason="status_5xx"\} (\d+)$/m), fails);
    assert.equal(value(m, /^llmgw_upstream_attempts_total\{reason="ok"\} (\d+)$/m), N);
    assert.equal(value(m, /^llmgw_upstream_duration_seconds_count (\d+)$/m), N);
    assert.equal(value(m, /^llmgw_gateway_overhead_seconds_count (\d+)$/m), N);
    assert.equal(value(m, /^llmgw_time_to_first_token_seconds_count (\d+)$/m), N);
    assert.ok(value(m, /^llmgw_request_duration_seconds_count (\d+)$/m) >= N + 1);
    assert.equal(value(m, /^llmgw_requests_in_flight (\d+)$/m), 1, 'only this scrape');
    assert.equal(value(m, /^llmgw_streams_in_flight (\d+)$/m), 0);
    assert.equal(value(m, /^llmgw_log_lines_dropped_total (\d+)$/m), 0);
  });

  test('the tenant label: top 2 by spend, the rest "other"', async () => {
    const m = (await request(gw.url, '/metrics')).body;
    const tenants = new Set([...m.matchAll(/^llmgw_cost_usd_total\{tenant="([^"]*)"/gm)].map((x) => x[1]));
    assert.deepEqual([...tenants].sort(), ['other', 't1', 't2']);
    const req = (t) => [...m.matchAll(new RegExp(`^llmgw_tenant_requests_total\\{tenant="${t}",model="[^"]*"\\} (\\d+)$`, 'gm'))]
      .reduce((a, x) => a + Number(x[1]), 0);
    assert.equal(req('other'), sent.filter((s) => s.t === 't3' || s.t === 't4').length, 'other = t3 + t4');
    assert.equal(req('t1'), sent.filter((s) => s.t === 't1').length + 0, 't1 (the 404 named no model)');
  });

  test('one valid JSON log line per request, no key material', async () => {
    const out = gw.stdout();
    const lines = out.split('\n').filter((l) => l.length > 0);
    for (const l of lines) JSON.parse(l); // every line is JSON
    const chatLines = lines.map((l) => JSON.parse(l)).filter((l) => l.route === '/v1/chat/completions');
    assert.equal(chatLines.length, N + 1, 'one line per chat request');
    assert.equal(new Set(chatLines.map((l) => l.request_id)).size, N + 1, 'distinct request ids');
    for (const k of Object.values(keys)) assert.ok(!out.includes(k), 'no client key in the log');
    assert.ok(!out.includes('test-key') && !/bearer\s+(llmgw-|test-key)/i.test(out), 'no upstream key, no bearer credential');
    const fields = ['ts', 'request_id', 'tenant', 'route', 'model', 'upstream_model', 'provider', 'attempts', 'status',
      'latency_ms', 'ttfb_ms', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'stream', 'client_ip', 'error'];
    const l = chatLines.find((x) => x.status === 200 && !x.estimated);
    assert.deepEqual(Object.keys(l), fields, 'exactly the system.md 5 fields, in order');
    const e = chatLines.find((x) => x.estimated);
    assert.deepEqual(Object.keys(e), [...fields.slice(0, 14), 'estimated', ...fields.slice(14)], 'plus estimated');
  });
});

describe('connection-level errors: one log line each, counted under route="none"', () => {
  // Raw bytes; returns the answer and the log line naming its x-request-id.
  async function send(bytes) {
    const c = await connect(gw.port);
    try {
      await c.write(bytes);
      const r = await c.readResponse({ timeoutMs: 5000 });
      const id = r.headers['x-request-id'];
      assert.match(id ?? '', /^req_[0-9a-f]{28}$/, 'a fresh request id in the answer');
      const line = await gw.waitLog((l) => l.request_id === id, 5000);
      return { r, line };
    } finally {
      c.close();
    }
  }
  const none = (m, st) => value(m, new RegExp(`^llmgw_requests_total\\{route="none",status="${st}",model=""\\} (\\d+)$`, 'm')) ?? 0;

  test('431, 413, 400: exact log lines and metrics', async () => {
    const before = (await request(gw.url, '/metrics')).body;
    const marks = gw.logs().length;
    const big = await send(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
    assert.equal(big.r.status, 431);
    const huge = await send('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n');
    assert.equal(huge.r.status, 413);
    const bad = await send('POST /v1/embeddings?x=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    assert.equal(bad.r.status, 400);
    const garbage = await send('GARBAGE\r\n\r\n');
    assert.equal(garbage.r.status, 400);
    for (const [x, status, route, error] of [
      [big, 431, null, 'request header block exceeds max_header_bytes'],
      [huge, 413, null, 'request body exceeds max_body_bytes'],
      [bad, 400, '/v1/embeddings', 'malformed chunked request body'],
      [garbage, 400, null, 'malformed HTTP request'],
    ]) {
      assert.equal(x.line.status, status);
      assert.equal(x.line.route, route, 'the path when the head was parsed, else null');
      assert.equal(x.line.error, error);
      assert.equal(x.line.client_ip, '127.0.0.1');
      assert.equal(x.line.tenant, null);
      assert.equal(x.line.cost_usd, 0);
      assert.equal(JSON.parse(x.r.body).error.message, error, 'the same text as the answer');
    }
    await sleep(100);
    const ids = [big, huge, bad, garbage].map((x) => x.line.request_id);
    assert.equal(new Set(ids).size, 4, 'distinct ids');
    const fresh = gw.logs().slice(marks);
    assert.equal(fresh.filter((l) => ids.includes(l.request_id)).length, 4, 'exactly one line per answer');
    const after = (await request(gw.url, '/metrics')).body;
    assert.equal(none(after, 431) - none(before, 431), 1);
    assert.equal(none(after, 413) - none(before, 413), 1);
    assert.equal(none(after, 400) - none(before, 400), 2);
    assert.equal(value(after, /^llmgw_requests_in_flight (\d+)$/m), 1, 'connection-level answers are not in flight');
  });

  test('503 too many connections: its log line and count', async (t) => {
    const cfg = gatewayConfig(null, { workers: 1, limits: { max_connections: 3 } });
    const g = await startGateway(t, { config: cfg });
    const held = [];
    let refused = null;
    try {
      for (let i = 0; i < 8 && !refused; i++) {
        const c = await connect(g.port);
        held.push(c);
        await sleep(50);
        if (c.pending().length > 0) refused = await c.readResponse({ timeoutMs: 2000 });
      }
    } finally {
      for (const c of held) c.close();
    }
    assert.ok(refused, 'a connection past max_connections is answered');
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(refused.body).error.code, 'too_many_connections');
    const line = await g.waitLog((l) => l.request_id === refused.headers['x-request-id'], 5000);
    assert.equal(line.route, null);
    assert.equal(line.status, 503);
    assert.equal(line.error, 'too many open connections');
    assert.equal(line.client_ip, '127.0.0.1');
    await sleep(100);
    const m = (await request(g.url, '/metrics')).body;
    assert.equal(none(m, 503), 1);
  });
});

describe('telemetry.metrics_auth', () => {
  test('GET /metrics: 401 without a good key, 403 with a tenant key, 200 with an admin key', async (t) => {
    const cfg = gatewayConfig(fake, { models: [model('o-ok', 'oai', 'ok~o')],
      tenants: [{ id: 'ops', admin: true, keys: [] }, { id: 'app', keys: [] }], telemetry: { log: 'stdout', metrics_auth: true } });
    cfg.auth = { enabled: true };
    const w = await writeConfig(cfg);
    const admin = createKey(w.file, 'ops', { admin: true });
    const user = createKey(w.file, 'app');
    const g = await startGateway(t, { file: w.file, port: w.port, dir: w.dir });
    let r = await request(g.url, '/metrics');
    assert.equal(r.status, 401, r.body);
    assert.equal(JSON.parse(r.body).error.code, 'invalid_api_key');
    r = await request(g.url, '/metrics', { headers: bearer(user) });
    assert.equal(r.status, 403, r.body);
    assert.equal(JSON.parse(r.body).error.code, 'admin_required');
    r = await request(g.url, '/metrics', { headers: bearer(admin) });
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^llmgw_uptime_seconds /m);
    assert.equal((await request(g.url, '/healthz')).status, 200, 'health stays open');
  });
});

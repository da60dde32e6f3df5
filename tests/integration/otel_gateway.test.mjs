// otel_gateway.test.mjs - OpenTelemetry on the real request path: llmgw
// serve with telemetry.otlp_endpoint pointing at otel_receiver.mjs (which
// decodes with the code generated from the official opentelemetry-proto
// definitions) and the fake upstream. Asserted: one trace per request, the
// root SERVER span a child of the client's traceparent, one CLIENT span per
// upstream attempt with the GenAI attributes, the failover reason and the
// statuses, the traceparent the fake upstream received naming each attempt
// span; a stream; an unsampled client trace (propagated, not exported);
// /v1/ask with its stage spans and its LLM attempts under the stage that
// made them; the exporter's counters in /metrics; head sampling
// (telemetry.sample_ratio 0: new traces propagated with flags 00 and not
// exported, a sampled client trace still exported); and with tracing off,
// the client's traceparent forwarded unchanged (an invalid one not at all).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';

import { USAGE, startFake } from './lib/fake.mjs';
import { chat, chatBody, gatewayConfig, logFor, model, runCli, startGateway, writeConfig } from './lib/gateway.mjs';
import { json, parseSSE, request } from './lib/http.mjs';
import { startReceiver } from './otel_receiver.mjs';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const CLIENT_TP = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
const SEED_Q = 'how many ergonomic chairs are in the West-region warehouse';
const GOLD_SQL = `SELECT COALESCE(SUM(i.on_hand),0) AS units FROM inventory i JOIN warehouses w USING (warehouse_id)
  JOIN skus s USING (sku_id) JOIN categories c USING (category_id)
  WHERE c.name = 'Ergonomic Office Chairs' AND w.region = 'West'`;

let dir;
let fake;
let rcv;
let gw; // tracing on, the catalog on (DuckDB, LLM planner and formatter)
let plain; // tracing off
let sampled0; // tracing on, telemetry.sample_ratio 0, its own receiver
let rcv0;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tpOf = (traceId, spanId, flags = '01') => `00-${traceId}-${spanId}-${flags}`;

/** Waits until the receiver holds n spans of traceId; returns them. */
async function traceSpans(traceId, n, ms = 8000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const spans = rcv.spans().filter((s) => s.traceId === traceId);
    if (spans.length >= n) return spans;
    if (Date.now() > deadline) assert.fail(`${spans.length} of ${n} spans of trace ${traceId} within ${ms} ms`);
    await sleep(50);
  }
}

/** The fake's requests (after the last reset) for models starting with prefix. */
const seen = (prefix) => fake.seen().filter((r) => r.model.startsWith(prefix));

/** Root, attempts (CLIENT, by attempt number) and the rest of one trace. */
function tree(spans) {
  const roots = spans.filter((s) => s.kind === 'SPAN_KIND_SERVER');
  assert.equal(roots.length, 1, 'one SERVER span per trace');
  const attempts = spans.filter((s) => s.kind === 'SPAN_KIND_CLIENT');
  return { root: roots[0], attempts, internal: spans.filter((s) => s.kind === 'SPAN_KIND_INTERNAL') };
}

function assertInside(child, parent) {
  assert.ok(child.start >= parent.start && child.end <= parent.end,
    `${child.name} [${child.start}, ${child.end}] inside ${parent.name} [${parent.start}, ${parent.end}]`);
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgw-otelgw-'));
  const db = path.join(dir, 'catalog.duckdb');
  const gen = runCli(['catalog', 'generate', '--skus', '20000', '--seed', '42', '--out', db], { timeoutMs: 120000 });
  assert.equal(gen.code, 0, gen.stderr);
  fake = await startFake(null);
  rcv = await startReceiver();
  const models = [
    model('c1', 'oai', 'status-500~c1'), model('c1b', 'gem', 'ok~c1b'),
    model('s1', 'ant', 'ok~s1'),
    model('planner', 'oai', 'plan~a'), model('planner-b', 'oai', 'plan~b'), model('writer', 'oai', 'fmt~a'),
  ];
  const fallbacks = { c1: ['c1b'], planner: ['planner-b'] };
  const cfg = gatewayConfig(fake, {
    models, fallbacks,
    ask: {
      engine: 'duckdb', duckdb: { path: db },
      planner: { mode: 'llm', model: 'planner' }, formatter: { mode: 'llm', model: 'writer' },
    },
  });
  cfg.telemetry = { log: 'stdout', otlp_endpoint: rcv.url, service_name: 'llmgw-gw-itest' };
  const { file, port } = await writeConfig(cfg);
  gw = await startGateway(null, { file, port });
  for (let i = 0; i < 300; i++) { // the catalog loads in the background
    if ((await request(gw.url, '/readyz')).status === 200) break;
    await sleep(100);
  }
  plain = await startGateway(null, { config: gatewayConfig(fake, { models, fallbacks }) });
  const cfg0 = gatewayConfig(fake, { models, fallbacks });
  rcv0 = await startReceiver();
  cfg0.telemetry = { log: 'stdout', otlp_endpoint: rcv0.url, service_name: 'llmgw-ratio0', sample_ratio: 0 };
  sampled0 = await startGateway(null, { config: cfg0 });
});

after(async () => {
  try {
    if (gw) await gw.stop();
    if (plain) await plain.stop();
    if (sampled0) await sampled0.stop();
  } finally {
    if (fake) await fake.close();
    if (rcv) await rcv.close();
    if (rcv0) await rcv0.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

beforeEach(async () => {
  await fake.reset();
});

describe('traces of LLM requests', () => {
  test('failover: a root under the client span, two attempt spans, traceparents sent upstream', async () => {
    const r = await chat(gw, chatBody('c1', 'hello'), { headers: { traceparent: CLIENT_TP } });
    assert.equal(r.status, 200, r.body);
    const spans = await traceSpans(CLIENT_TRACE, 3);
    assert.equal(spans.length, 3);
    const { root, attempts } = tree(spans);

    assert.equal(root.name, 'POST /v1/chat/completions');
    assert.equal(root.parentSpanId, CLIENT_SPAN, 'the root is a child of the client span');
    assert.equal(root.flags, 0x301, 'sampled, remote parent');
    assert.equal(root.resource['service.name'], 'llmgw-gw-itest');
    assert.equal(root.scope.name, 'llmgw');
    assert.equal(root.status, null, 'a 200 root leaves the status unset');
    const ra = root.attributes;
    assert.equal(ra['http.request.method'], 'POST');
    assert.equal(ra['http.route'], '/v1/chat/completions');
    assert.equal(ra['http.response.status_code'], 200);
    assert.equal(ra['llmgw.request_id'], r.headers['x-request-id']);
    assert.equal(ra['llmgw.model_alias'], 'c1');
    assert.ok(ra['llmgw.cost_usd'] > 0, 'the cost of the answering attempt');
    assert.equal(ra['llmgw.tenant'], undefined, 'auth off: no tenant');
    const line = await logFor(gw, r);
    assert.equal(line.request_id, ra['llmgw.request_id'], 'the log line and the trace name the same request');

    attempts.sort((a, b) => a.attributes['llmgw.attempt'] - b.attributes['llmgw.attempt']);
    assert.equal(attempts.length, 2);
    const [a1, a2] = attempts;
    for (const a of attempts) {
      assert.equal(a.parentSpanId, root.spanId, `${a.name} is a child of the root`);
      assertInside(a, root);
      assert.equal(a.attributes['gen_ai.operation.name'], 'chat');
      assert.equal(a.attributes['server.address'], '127.0.0.1');
      assert.equal(a.attributes['server.port'], fake.port ?? Number(new URL(fake.url).port));
    }
    assert.equal(a1.name, 'chat status-500~c1');
    assert.deepEqual(
      [a1.attributes['llmgw.attempt'], a1.attributes['gen_ai.provider.name'], a1.attributes['gen_ai.request.model'],
        a1.attributes['llmgw.model_alias'], a1.attributes['llmgw.provider'], a1.attributes['http.response.status_code'],
        a1.attributes['llmgw.failover_reason'], a1.attributes['error.type']],
      [1, 'openai', 'status-500~c1', 'c1', 'oai', 500, 'status_5xx', '500']);
    assert.equal(a1.status.code, 'STATUS_CODE_ERROR');
    assert.equal(a2.name, 'chat ok~c1b');
    assert.deepEqual(
      [a2.attributes['llmgw.attempt'], a2.attributes['gen_ai.provider.name'], a2.attributes['gen_ai.request.model'],
        a2.attributes['llmgw.model_alias'], a2.attributes['llmgw.provider'], a2.attributes['http.response.status_code'],
        a2.attributes['llmgw.failover_reason'], a2.attributes['error.type']],
      [2, 'gcp.gemini', 'ok~c1b', 'c1b', 'gem', 200, 'ok', undefined]);
    assert.equal(a2.attributes['gen_ai.usage.input_tokens'], USAGE.gemini.promptTokenCount);
    assert.equal(a2.attributes['gen_ai.usage.output_tokens'], USAGE.gemini.candidatesTokenCount);
    assert.equal(a2.status, null);
    assert.ok(a1.end <= a2.start, 'the attempts ran one after the other');
    assert.notEqual(a1.spanId, a2.spanId);

    const up = fake.seen();
    assert.deepEqual(up.map((x) => x.model), ['status-500~c1', 'ok~c1b']);
    assert.equal(up[0].headers.traceparent, tpOf(CLIENT_TRACE, a1.spanId), 'attempt 1 went out naming its span');
    assert.equal(up[1].headers.traceparent, tpOf(CLIENT_TRACE, a2.spanId), 'attempt 2 went out naming its span');
  });

  test('a stream: a new trace when the client sends none, usage on the attempt span', async () => {
    const before = new Set(rcv.spans().map((s) => s.traceId));
    const r = await chat(gw, chatBody('s1', 'hello', { stream: true }));
    assert.equal(r.status, 200, r.body);
    assert.equal(parseSSE(r.body).events.at(-1).data, '[DONE]');
    const [call] = seen('ok~s1');
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(call.headers.traceparent ?? '');
    assert.ok(m, `a traceparent went upstream: ${call.headers.traceparent}`);
    assert.ok(!before.has(m[1]), 'a new trace id');
    const { root, attempts } = tree(await traceSpans(m[1], 2));
    assert.equal(root.parentSpanId, '', 'no client parent: the root is the trace root');
    assert.equal(root.flags, 0x101);
    assert.equal(root.attributes['llmgw.stream'], true);
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.equal(attempts.length, 1);
    const [a] = attempts;
    assert.equal(a.spanId, m[2], 'the traceparent named the attempt span');
    assert.equal(a.parentSpanId, root.spanId);
    assert.equal(a.attributes['gen_ai.provider.name'], 'anthropic');
    assert.equal(a.attributes['llmgw.failover_reason'], 'ok');
    assert.equal(a.attributes['gen_ai.usage.input_tokens'], USAGE.anthropic.input_tokens);
    assert.equal(a.attributes['gen_ai.usage.output_tokens'], USAGE.anthropic.output_tokens);
    assertInside(a, root);
  });

  test('an error answer: the root carries the status, no attempt span when no attempt was made', async () => {
    const tid = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
    const r = await chat(gw, chatBody('no-such-model'), { headers: { traceparent: tpOf(tid, CLIENT_SPAN) } });
    assert.equal(r.status, 404);
    const spans = await traceSpans(tid, 1);
    await sleep(300);
    assert.equal(rcv.spans().filter((s) => s.traceId === tid).length, 1, 'the root only');
    const { root } = tree(spans);
    assert.equal(root.attributes['http.response.status_code'], 404);
    assert.equal(root.status, null, '4xx leaves a server span unset');
    assert.equal(fake.seen().length, 0);
  });

  test('an unsampled client trace is propagated upstream but not exported', async () => {
    const tid = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
    const r = await chat(gw, chatBody('s1'), { headers: { traceparent: tpOf(tid, CLIENT_SPAN, '00') } });
    assert.equal(r.status, 200, r.body);
    const [call] = seen('ok~s1');
    const m = new RegExp(`^00-${tid}-([0-9a-f]{16})-00$`).exec(call.headers.traceparent ?? '');
    assert.ok(m, `the client's trace and flags went upstream: ${call.headers.traceparent}`);
    assert.notEqual(m[1], CLIENT_SPAN, 'under our own span');
    await sleep(1500); // past the exporter's flush interval
    assert.equal(rcv.spans().filter((s) => s.traceId === tid).length, 0);
  });
});

describe('head sampling (telemetry.sample_ratio)', () => {
  test('ratio 0: new traces go upstream unsampled and are not exported; a sampled client trace is', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await chat(sampled0, chatBody('s1', `unsampled ${i}`));
      assert.equal(r.status, 200, r.body);
    }
    const calls = seen('ok~s1');
    assert.equal(calls.length, 5);
    for (const c of calls) assert.match(c.headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const tid = 'cccccccccccccccccccccccccccccc03';
    const r = await chat(sampled0, chatBody('s1', 'client sampled'), { headers: { traceparent: tpOf(tid, CLIENT_SPAN) } });
    assert.equal(r.status, 200, r.body);
    const deadline = Date.now() + 8000;
    while (rcv0.spans().length < 2 && Date.now() < deadline) await sleep(50);
    await sleep(1200); // past the flush interval: anything else would have gone out
    assert.deepEqual(rcv0.spans().map((s) => s.traceId), [tid, tid], 'the client decided: root and attempt, nothing else');
    const m = await request(sampled0.url, '/metrics');
    const queued = Number(/^llmgw_otel_spans_queued_total (\d+)$/m.exec(m.body)?.[1]);
    assert.equal(queued, 2, 'only the client-sampled trace was queued');
  });
});

describe('traces of /v1/ask', () => {
  test('stage spans under the root, LLM attempts under the stage that made them', async () => {
    fake.script('plan~a', [{ status: 500 }]);
    fake.script('plan~b', [{ text: JSON.stringify({ sql: GOLD_SQL, explanation: 'units', refusal: 'none' }) }]);
    fake.script('fmt~a', [{ text: 'There are some ergonomic office chairs in West-region warehouses.' }]);
    const tid = 'cccccccccccccccccccccccccccccc03';
    const r = await request(gw.url, '/v1/ask', { body: { question: SEED_Q }, headers: { traceparent: tpOf(tid, CLIENT_SPAN) },
      timeoutMs: 30000 });
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).planner, 'llm');
    const spans = await traceSpans(tid, 10);
    const { root, attempts, internal } = tree(spans);
    assert.equal(root.name, 'POST /v1/ask');
    assert.equal(root.parentSpanId, CLIENT_SPAN);
    assert.equal(root.attributes['http.response.status_code'], 200);

    const stages = Object.fromEntries(internal.map((s) => [s.attributes['llmgw.ask.stage'], s]));
    assert.deepEqual(internal.map((s) => s.name).sort(),
      ['ask.cache', 'ask.execute', 'ask.format', 'ask.guard', 'ask.plan', 'ask.retrieve']);
    for (const s of internal) {
      assert.equal(s.parentSpanId, root.spanId, `${s.name} is a child of the root`);
      assertInside(s, root);
    }
    assert.ok(stages.retrieve.end <= stages.plan.start, 'retrieve before plan');
    assert.ok(stages.plan.end <= stages.format.start, 'plan before format');

    assert.equal(attempts.length, 3);
    const byModel = Object.fromEntries(attempts.map((a) => [a.attributes['gen_ai.request.model'], a]));
    assert.deepEqual(Object.keys(byModel).sort(), ['fmt~a', 'plan~a', 'plan~b']);
    assert.equal(byModel['plan~a'].attributes['http.response.status_code'], 500);
    assert.equal(byModel['plan~a'].attributes['llmgw.failover_reason'], 'status_5xx');
    assert.equal(byModel['plan~a'].attributes['llmgw.attempt'], 1);
    assert.equal(byModel['plan~b'].attributes['llmgw.failover_reason'], 'ok');
    assert.equal(byModel['plan~b'].attributes['llmgw.attempt'], 2);
    assert.equal(byModel['fmt~a'].attributes['llmgw.attempt'], 1, 'the formatter is its own router call');
    for (const m of ['plan~a', 'plan~b'])
      assert.equal(byModel[m].parentSpanId, stages.plan.spanId, `${m} under ask.plan`);
    assert.equal(byModel['fmt~a'].parentSpanId, stages.format.spanId, 'the formatter call under ask.format');
    for (const a of attempts) {
      assert.equal(a.attributes['gen_ai.operation.name'], 'chat');
      const [call] = seen(a.attributes['gen_ai.request.model']);
      assert.equal(call.headers.traceparent, tpOf(tid, a.spanId), `${a.name} went out naming its span`);
    }
  });
});

describe('traces of /v1/ask, several LLM calls', () => {
  test('self-correction: each planner call and the formatter get their own attempt spans', async () => {
    const plan = (sql) => ({ text: JSON.stringify({ sql, explanation: 'units', refusal: 'none' }) });
    fake.script('plan~a', [plan('DROP TABLE skus'), plan(GOLD_SQL)]);
    fake.script('fmt~a', [{ text: 'There are some ergonomic office chairs in West-region warehouses.' }]);
    const tid = 'dddddddddddddddddddddddddddddd04';
    const r = await request(gw.url, '/v1/ask', { body: { question: SEED_Q }, headers: { traceparent: tpOf(tid, CLIENT_SPAN) },
      timeoutMs: 30000 });
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).llm_rounds, 2);
    const { attempts, internal } = tree(await traceSpans(tid, 10));
    assert.equal(attempts.length, 3, 'two planner calls and the formatter');
    assert.equal(new Set(attempts.map((a) => a.spanId)).size, 3);
    const calls = [...seen('plan~a'), ...seen('fmt~a')];
    assert.equal(calls.length, 3);
    const planSpan = internal.find((s) => s.name === 'ask.plan');
    for (const call of calls) {
      const a = attempts.find((s) => call.headers.traceparent === tpOf(tid, s.spanId));
      assert.ok(a, `the ${call.model} request named one of the attempt spans`);
      assert.equal(a.attributes['gen_ai.request.model'], call.model);
      assert.equal(a.attributes['llmgw.attempt'], 1, 'each call starts at attempt 1');
      if (call.model === 'plan~a') assert.equal(a.parentSpanId, planSpan.spanId);
    }
    assert.ok(attempts.filter((a) => a.attributes['gen_ai.request.model'] === 'plan~a')
      .every((a, i, all) => i === 0 || all[i - 1].end <= a.start || a.end <= all[i - 1].start), 'the calls do not overlap');
  });
});

describe('the exporter in /metrics, and tracing off', () => {
  test('exporter counters', async () => {
    await sleep(1200); // let the last batch go out
    const r = await request(gw.url, '/metrics');
    assert.equal(r.status, 200);
    const val = (name) => {
      const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(r.body);
      assert.ok(m, `${name} in /metrics`);
      return Number(m[1]);
    };
    assert.equal(val('llmgw_otel_enabled'), 1);
    const got = rcv.spans().length;
    assert.ok(got >= 16, `spans received: ${got}`);
    assert.ok(val('llmgw_otel_spans_exported_total') >= got - 1, 'exported counts what the receiver got');
    assert.ok(val('llmgw_otel_spans_queued_total') >= val('llmgw_otel_spans_exported_total'));
    assert.equal(val('llmgw_otel_spans_dropped_total'), 0);
    assert.equal(val('llmgw_otel_spans_failed_total'), 0);
    assert.ok(val('llmgw_otel_export_requests_total') >= 1);
    assert.match(r.body, /# TYPE llmgw_otel_spans_exported_total counter/);
  });

  test('tracing off: the client traceparent goes upstream unchanged, an invalid one not at all', async () => {
    const before = rcv.spans().length;
    let r = await chat(plain, chatBody('c1'), { headers: { traceparent: CLIENT_TP } });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(fake.seen().map((x) => x.headers.traceparent), [CLIENT_TP, CLIENT_TP]);
    await fake.reset();
    r = await chat(plain, chatBody('s1'), { headers: { traceparent: `00-${CLIENT_TRACE.toUpperCase()}-${CLIENT_SPAN}-01` } });
    assert.equal(r.status, 200, r.body);
    assert.equal(fake.seen()[0].headers.traceparent, undefined, 'an invalid traceparent is not forwarded');
    await fake.reset();
    r = await chat(plain, chatBody('s1'));
    assert.equal(fake.seen()[0].headers.traceparent, undefined, 'none without one');
    const m = await request(plain.url, '/metrics');
    assert.match(m.body, /^llmgw_otel_enabled 0$/m);
    assert.match(m.body, /^llmgw_otel_spans_queued_total 0$/m);
    await sleep(1200);
    assert.equal(rcv.spans().length, before, 'nothing exported by the untraced gateway');
  });
});

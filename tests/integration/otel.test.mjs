// otel.test.mjs - OpenTelemetry traces as an OTLP receiver sees them. The C
// driver (test_otel_export --emit, built next to llmgw) exports known traces
// through the real exporter (src/otel_export.c, src/otlp.c) to
// otel_receiver.mjs, which decodes them with the code generated from the
// official opentelemetry-proto definitions. Asserted: the span tree, ids and
// W3C parent, GenAI attributes, statuses, times, the resource; that the bytes
// are canonical (re-encoding them with the official code gives the same
// bytes, so no unknown field was sent); retries, no retry on 400, partial
// success, batching by size and by time.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, beforeEach, describe, test } from 'node:test';

import { ExportTraceServiceRequest, startReceiver } from './otel_receiver.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.LLMGW_BIN || path.join(REPO, 'build/llmgw');
const DRIVER = process.env.GW_OTEL_DRIVER || path.join(path.dirname(BIN), 'test_otel_export');
const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const run = promisify(execFile);

async function emit(url, args = []) {
  if (!fs.existsSync(DRIVER)) throw new Error(`driver not found at ${DRIVER} (build test_otel_export or set GW_OTEL_DRIVER)`);
  const { stdout } = await run(DRIVER, ['--emit', url, ...args], { timeout: 60000 });
  return { ...JSON.parse(stdout.trim().split('\n').pop()), exitedAt: Date.now() };
}

const byName = (spans, name) => spans.find((s) => s.name === name);

let rcv;
before(async () => { rcv = await startReceiver(); });
after(async () => { await rcv.close(); });
beforeEach(() => { rcv.requests.length = 0; rcv.setScript([]); });

describe('OTLP/HTTP export decoded with the official proto definitions', () => {
  test('span tree, W3C parent and GenAI attributes', async () => {
    const out = await emit(rcv.url, ['--traces', '3', '--parent', PARENT]);
    assert.deepEqual(out.stats, { queued: 8, exported: 8, dropped: 0, failed: 0, requests: 1, retries: 0 });
    assert.equal(rcv.requests.length, 1);
    const req = rcv.requests[0];
    assert.equal(req.error, undefined, 'decoded without error');
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/v1/traces');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');
    const again = Buffer.from(ExportTraceServiceRequest.encode(req.message).finish());
    assert.ok(again.equals(req.body), 'official re-encoding gives the same bytes (canonical, no unknown fields)');

    const spans = rcv.spans();
    assert.equal(spans.length, 8);
    assert.equal(req.object.resourceSpans.length, 1);
    assert.equal(req.object.resourceSpans[0].scopeSpans.length, 1);
    assert.equal(spans[0].resource['service.name'], 'llmgw-itest');
    assert.equal(spans[0].scope.name, 'llmgw');

    // trace 0: the client's trace id; root SERVER under the client's span
    const t0 = spans.filter((s) => s.traceId === '0af7651916cd43dd8448eb211c80319c');
    assert.equal(t0.length, 4);
    const root = byName(t0, 'POST /v1/chat/completions');
    assert.equal(root.kind, 'SPAN_KIND_SERVER');
    assert.equal(root.parentSpanId, 'b7ad6b7169203331');
    assert.equal(root.flags, 0x301, 'sampled, parent known to be remote');
    assert.deepEqual(root.attributes, {
      'http.request.method': 'POST', 'http.route': '/v1/chat/completions', 'llmgw.request_id': 'req-0',
      'llmgw.stream': true, 'llmgw.cost_usd': 0.0031, 'http.response.status_code': 200, 'llmgw.tenant': 'acme',
    });
    assert.equal(root.status, null, 'a 200 root leaves the status unset');
    assert.equal(root.end - root.start, 19000000n);
    for (const s of t0.filter((x) => x !== root)) {
      assert.equal(s.parentSpanId, root.spanId, `${s.name} is a child of the root`);
      assert.ok(s.start >= root.start && s.end <= root.end, `${s.name} inside the root`);
      assert.equal(s.flags, 0x101);
      assert.match(s.spanId, /^[0-9a-f]{16}$/);
      assert.notEqual(s.spanId, '0000000000000000');
    }
    assert.equal(new Set(t0.map((s) => s.spanId)).size, 4, 'span ids are unique');

    const a1 = byName(t0, 'chat gemini-1.5-pro');
    const a2 = byName(t0, 'chat gpt-4o');
    assert.equal(a1.kind, 'SPAN_KIND_CLIENT');
    assert.equal(a2.kind, 'SPAN_KIND_CLIENT');
    assert.deepEqual(a1.attributes, {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'gcp.gemini', 'gen_ai.request.model': 'gemini-1.5-pro',
      'server.address': '127.0.0.1', 'server.port': 18000, 'http.response.status_code': 503, 'llmgw.attempt': 1,
      'llmgw.failover_reason': 'status_503', 'llmgw.provider': 'gemini', 'llmgw.model_alias': 'gemini-1.5-pro',
      'error.type': '503',
    });
    assert.deepEqual(a1.status, { code: 'STATUS_CODE_ERROR', message: 'status_503' });
    assert.deepEqual(a2.attributes, {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06', 'gen_ai.usage.input_tokens': 21, 'gen_ai.usage.output_tokens': 300,
      'http.response.status_code': 200, 'llmgw.attempt': 2, 'llmgw.failover_reason': 'ok', 'llmgw.provider': 'openai',
      'llmgw.model_alias': 'gpt-4o',
    });
    assert.equal(a2.status, null);
    assert.ok(a1.end <= a2.start, 'attempts are sequential');
    assert.equal(a1.end - a1.start, 5000000n);
    assert.equal(a2.end - a2.start, 12000000n);
    const stage = byName(t0, 'ask.retrieve');
    assert.equal(stage.kind, 'SPAN_KIND_INTERNAL');
    assert.deepEqual(stage.attributes, { 'llmgw.ask.stage': 'retrieve' });

    // the traceparents to send upstream name each attempt's span
    assert.deepEqual(out.traceparents, [
      `00-0af7651916cd43dd8448eb211c80319c-${a1.spanId}-01`,
      `00-0af7651916cd43dd8448eb211c80319c-${a2.spanId}-01`,
    ]);

    // traces 1 and 2: new trace ids, local roots, one embeddings attempt each
    const others = spans.filter((s) => s.traceId !== '0af7651916cd43dd8448eb211c80319c');
    const ids = [...new Set(others.map((s) => s.traceId))];
    assert.equal(ids.length, 2);
    for (const id of ids) {
      assert.match(id, /^[0-9a-f]{32}$/);
      const tr = others.filter((s) => s.traceId === id);
      const r = byName(tr, 'POST /v1/embeddings');
      const a = byName(tr, 'embeddings text-embedding-3-small');
      assert.equal(r.parentSpanId, '', 'a new trace has a root without parent');
      assert.equal(r.flags, 0x101);
      assert.equal(a.parentSpanId, r.spanId);
      assert.equal(a.attributes['gen_ai.operation.name'], 'embeddings');
      assert.ok([1, 2].includes(a.attributes['gen_ai.usage.input_tokens']));
      assert.equal(a.attributes['gen_ai.usage.output_tokens'], undefined, 'unknown usage is left out');
      assert.equal(r.attributes['llmgw.tenant'], 'beta');
    }
    // wall-clock times: within a minute of now
    const now = BigInt(Date.now()) * 1000000n;
    for (const s of spans) assert.ok(s.start > now - 60n * 1000000000n && s.end < now + 60n * 1000000000n, s.name);
  });

  test('429 and 5xx are retried with backoff, then succeed', async () => {
    rcv.setScript([503, 429, 200]);
    const out = await emit(rcv.url, ['--traces', '2']);
    assert.equal(rcv.requests.length, 3);
    assert.deepEqual(rcv.requests.map((r) => r.status), [503, 429, 200]);
    assert.ok(rcv.requests[1].body.equals(rcv.requests[0].body) && rcv.requests[2].body.equals(rcv.requests[0].body),
      'the same batch is resent');
    assert.deepEqual(out.stats, { queued: 6, exported: 6, dropped: 0, failed: 0, requests: 3, retries: 2 });
    assert.ok(rcv.requests[1].at - rcv.requests[0].at >= 15, 'backoff between tries');
  });

  test('retries run out: the spans are counted failed', async () => {
    rcv.setScript([500, 500, 500]);
    const out = await emit(rcv.url, ['--traces', '1', '--retries', '2']);
    assert.equal(rcv.requests.length, 3);
    assert.deepEqual(out.stats, { queued: 4, exported: 0, dropped: 0, failed: 4, requests: 3, retries: 2 });
  });

  test('400 is not retried', async () => {
    rcv.setScript([400]);
    const out = await emit(rcv.url, ['--traces', '2']);
    assert.equal(rcv.requests.length, 1);
    assert.deepEqual(out.stats, { queued: 6, exported: 0, dropped: 0, failed: 6, requests: 1, retries: 0 });
  });

  test('partial success: rejected spans are counted failed', async () => {
    const r2 = await startReceiver({ rejected: 3 });
    try {
      const out = await emit(r2.url, ['--traces', '3']);
      assert.deepEqual(out.stats, { queued: 8, exported: 5, dropped: 0, failed: 3, requests: 1, retries: 0 });
    } finally {
      await r2.close();
    }
  });

  test('batches by size: whole traces, at most batch_spans spans per request', async () => {
    const out = await emit(rcv.url, ['--traces', '300', '--batch', '100']);
    const total = 4 + 299 * 2;
    assert.equal(out.stats.exported, total);
    assert.equal(rcv.spans().length, total);
    assert.ok(rcv.requests.length >= Math.ceil(total / 100), `${rcv.requests.length} requests`);
    for (const r of rcv.requests) {
      assert.ok(r.spans.length <= 100, `request of ${r.spans.length} spans`);
      const perTrace = new Map();
      for (const s of r.spans) perTrace.set(s.traceId, (perTrace.get(s.traceId) ?? 0) + 1);
      for (const [id, n] of perTrace) {
        const everywhere = rcv.spans().filter((s) => s.traceId === id).length;
        assert.equal(n, everywhere, 'a trace is never split across requests');
      }
    }
    assert.equal(new Set(rcv.spans().map((s) => s.spanId)).size, total, 'no span sent twice');
  });

  test('batches by time: a small batch goes out after flush_ms, before stop', async () => {
    const out = await emit(rcv.url, ['--traces', '2', '--flush-ms', '100', '--linger-ms', '1200']);
    assert.equal(out.stats.exported, 6);
    assert.equal(rcv.requests.length, 1);
    assert.ok(out.exitedAt - rcv.requests[0].at >= 500, `sent ${out.exitedAt - rcv.requests[0].at} ms before exit`);
  });
});

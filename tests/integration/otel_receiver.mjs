// otel_receiver.mjs - a small OTLP/HTTP trace receiver for the tests. It
// accepts POST /v1/traces (application/x-protobuf) and decodes each body with
// the protobufjs code that @opentelemetry/otlp-transformer (pinned in
// package.json) generates from the official opentelemetry-proto definitions,
// so what llmgw sends is checked against those definitions, not against our
// own reading of them.
//
// As a module: startReceiver({ script, rejected }) -> { url, requests, spans(),
// setScript(), close() }. `script` is a list of HTTP statuses answered in order
// (then 200); `rejected` puts partial_success.rejected_spans in 200 answers.
// As a program: `node tests/integration/otel_receiver.mjs [PORT]` prints
// "LISTENING <url>" and one JSON line per decoded span, until SIGTERM.

import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');

const v1 = root.opentelemetry.proto.collector.trace.v1;
export const ExportTraceServiceRequest = v1.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = v1.ExportTraceServiceResponse;

const hex = (b64) => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');

// AnyValue (as toObject gives it) -> a JS value.
function anyValue(v) {
  if (v == null) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  return { unsupported: Object.keys(v) };
}

export function attrs(list) {
  const out = {};
  for (const kv of list ?? []) {
    if (kv.key in out) throw new Error(`duplicate attribute key ${kv.key}`);
    out[kv.key] = anyValue(kv.value);
  }
  return out;
}

// Decodes one request body; returns { message, object, spans } where spans are
// flattened with hex ids, BigInt times, attributes as a plain object.
export function decodeTraces(body) {
  const message = ExportTraceServiceRequest.decode(body);
  const err = ExportTraceServiceRequest.verify(message);
  if (err) throw new Error(`verify: ${err}`);
  const object = ExportTraceServiceRequest.toObject(message, { longs: String, enums: String, bytes: String });
  const spans = [];
  for (const rs of object.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          resource,
          scope: ss.scope ?? {},
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          start: BigInt(s.startTimeUnixNano ?? 0),
          end: BigInt(s.endTimeUnixNano ?? 0),
          attributes: attrs(s.attributes),
          droppedAttributesCount: s.droppedAttributesCount ?? 0,
          status: s.status ?? null,
          flags: s.flags ?? 0,
        });
      }
    }
  }
  return { message, object, spans };
}

// tls: {key, cert, name}: HTTPS, and the URL names `name` (the certificate's host).
export function startReceiver({ script = [], rejected = 0, host = '127.0.0.1', port = 0, tls = null } = {}) {
  const requests = [];
  let queue = [...script];
  const onRequest = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const status = queue.length ? queue.shift() : 200;
      const rec = { at: Date.now(), method: req.method, path: req.url, headers: req.headers, body, status };
      try {
        Object.assign(rec, decodeTraces(body));
      } catch (e) {
        rec.error = String(e);
      }
      requests.push(rec);
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'text/plain' }).end('scripted failure');
        return;
      }
      const answer = rejected ? { partialSuccess: { rejectedSpans: rejected, errorMessage: 'scripted' } } : {};
      const out = ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create(answer)).finish();
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(out));
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, onRequest) : http.createServer(onRequest);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({
        url: tls ? `https://${tls.name ?? host}:${p}` : `http://${host}:${p}`,
        requests,
        spans: () => requests.filter((r) => r.status === 200 && r.spans).flatMap((r) => r.spans),
        setScript: (s) => { queue = [...s]; },
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rcv = await startReceiver({ port: Number(process.argv[2] ?? 0) });
  console.log(`LISTENING ${rcv.url}`);
  let seen = 0;
  setInterval(() => {
    for (const s of rcv.spans().slice(seen)) {
      console.log(JSON.stringify(s, (k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      seen++;
    }
  }, 100);
  process.on('SIGTERM', async () => { await rcv.close(); process.exit(0); });
}

// tls_upstream.test.mjs - upstreams over HTTPS: libh2o's client on the
// worker's loop with a verifying SSL_CTX (default verify paths, peer and
// host name checked). A self-signed certificate for "localhost" is made
// with openssl for this run and trusted through SSL_CERT_FILE. Asserted:
// chat through the openai and anthropic adapters, non-stream and stream;
// a request body large enough to take many TLS records arrives byte for
// byte (head and body go as two buffers); the OTLP exporter posts its
// batches over https (a borrowed body); and a gateway that trusts another
// certificate refuses the upstream: the client gets an error object and
// the fake never sees the request.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import { chat, chatBody, gatewayConfig, model, startGateway } from './lib/gateway.mjs';
import { json, sseData } from './lib/http.mjs';
import { startReceiver } from './otel_receiver.mjs';

let dir;
let fake;
let rcv;
let gw; // trusts the fake's certificate
let strict; // trusts another one

/** A self-signed EC certificate for localhost; returns {key, cert, certFile}. */
function makeCert(name) {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.pem`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl req: ${r.stderr}`);
  return { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile), certFile, name: 'localhost' };
}

const MODELS = [model('o-ok', 'oai', 'ok~o'), model('a-ok', 'ant', 'ok~a')];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgw-tls-'));
  const tls = makeCert('upstream');
  const other = makeCert('other');
  fake = await startFake(null, { tls });
  assert.match(fake.url, /^https:\/\/localhost:/);
  rcv = await startReceiver({ tls });
  const telemetry = { log: 'stdout', otlp_endpoint: rcv.url, service_name: 'llmgw-tls-itest' };
  gw = await startGateway(null, { config: gatewayConfig(fake, { models: MODELS, telemetry }),
    env: { SSL_CERT_FILE: tls.certFile } });
  strict = await startGateway(null, { config: gatewayConfig(fake, { models: MODELS }),
    env: { SSL_CERT_FILE: other.certFile } });
});

after(async () => {
  try {
    if (gw) await gw.stop();
    if (strict) await strict.stop();
  } finally {
    await fake?.close();
    await rcv?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('chat over https: openai and anthropic, non-stream and stream', async () => {
  fake.clear(); // (reset() speaks plain http to the control API)
  for (const alias of ['o-ok', 'a-ok']) {
    let r = await chat(gw, chatBody(alias, 'over tls'));
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, 'echo: over tls');
    r = await chat(gw, chatBody(alias, 'streamed over tls', { stream: true }));
    assert.equal(r.status, 200, r.body);
    const data = sseData(r.body);
    assert.equal(data.at(-1), '[DONE]');
    const text = data.slice(0, -1).map((d) => d.choices?.[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'echo: streamed over tls');
  }
  assert.deepEqual(fake.models(), ['ok~o', 'ok~o', 'ok~a', 'ok~a']);
});

test('a large body crosses TLS byte for byte', async () => {
  fake.clear(); // (reset() speaks plain http to the control API)
  const text = Array.from({ length: 400000 }, (_, i) => String.fromCharCode(97 + ((i * 7 + (i >> 10)) % 26))).join('');
  const r = await chat(gw, chatBody('o-ok', text));
  assert.equal(r.status, 200, r.body.slice(0, 300));
  const seen = fake.seen();
  assert.equal(seen.length, 1);
  const got = seen[0].body.messages[0].content;
  assert.equal(got.length, text.length);
  assert.ok(got === text, 'the upstream received the exact content');
});

test('the OTLP exporter posts over https', async () => {
  const deadline = Date.now() + 8000;
  while (!rcv.spans().some((s) => s.attributes['gen_ai.request.model'] === 'ok~a')) {
    assert.ok(Date.now() < deadline, `spans over https within 8 s: ${rcv.requests.length} requests`);
    await new Promise((res) => setTimeout(res, 50));
  }
  for (const q of rcv.requests) {
    assert.equal(q.error, undefined, `every batch decodes: ${q.error}`);
    assert.equal(q.headers['content-type'], 'application/x-protobuf');
  }
  const models = new Set(rcv.spans().map((s) => s.attributes['gen_ai.request.model']).filter(Boolean));
  assert.deepEqual([...models].sort(), ['ok~a', 'ok~o']);
});

test('a certificate the gateway does not trust: refused, nothing sent', async () => {
  fake.clear(); // (reset() speaks plain http to the control API)
  const r = await chat(strict, chatBody('o-ok', 'must not arrive'));
  assert.ok(r.status >= 500, `status ${r.status}`);
  assert.equal(typeof json(r.body).error?.message, 'string', r.body);
  assert.deepEqual(fake.seen(), [], 'no request reached the upstream');
});

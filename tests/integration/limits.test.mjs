// limits.test.mjs - the HTTP server's limits, driven with raw sockets: body
// size (Content-Length and chunked) -> 413, header block size and header
// count -> 431, slowloris headers and stalled bodies -> 408 in time,
// conflicting framing (CL + TE, two Content-Lengths) -> 400, keep-alive.
// Every error is the OpenAI error object with a JSON content type.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import { gatewayConfig, model, startGateway } from './lib/gateway.mjs';
import { assertOpenAIError, connect, json, sleep } from './lib/http.mjs';

const LIMITS = { max_body_bytes: 1024, max_header_bytes: 2048, max_headers: 20, header_timeout_ms: 500, body_timeout_ms: 500,
  keepalive_timeout_ms: 1000 };

let fake;
let gw;
before(async () => {
  fake = await startFake(null);
  gw = await startGateway(null, { config: gatewayConfig(fake, { models: [model('o-ok', 'oai', 'ok~o')], limits: LIMITS }) });
});
beforeEach(async () => { await fake.reset(); });
after(async () => {
  try {
    if (gw) await gw.stop();
  } finally {
    await fake?.close();
  }
});

const chatJson = (text = 'hi') => JSON.stringify({ model: 'o-ok', messages: [{ role: 'user', content: text }] });

function head(lines) {
  return `${['POST /v1/chat/completions HTTP/1.1', 'Host: 127.0.0.1', ...lines].join('\r\n')}\r\n\r\n`;
}

async function open(t) {
  const c = await connect(gw.port);
  t.after(() => c.close());
  return c;
}

// Adapts a raw response to what assertOpenAIError expects.
const asRes = (r) => ({ status: r.status, headers: r.headers, body: r.body });

describe('body size', () => {
  test('Content-Length over max_body_bytes: 413 before the body is read', async (t) => {
    const c = await open(t);
    await c.write(head(['Content-Type: application/json', 'Content-Length: 5000']));
    const r = await c.readResponse({ timeoutMs: 3000 });
    assertOpenAIError(asRes(r), 413, { type: 'invalid_request_error' });
    assert.equal(fake.seen().length, 0);
  });

  test('Content-Length over max_body_bytes with the body sent: 413', async (t) => {
    const c = await open(t);
    const body = chatJson('x'.repeat(2000));
    await c.write(head(['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]) + body);
    const r = await c.readResponse({ timeoutMs: 3000 });
    assertOpenAIError(asRes(r), 413, { type: 'invalid_request_error' });
  });

  test('chunked body over max_body_bytes: 413', async (t) => {
    const c = await open(t);
    const piece = 'y'.repeat(600);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    await c.write(head(['Content-Type: application/json', 'Transfer-Encoding: chunked']) + chunk + chunk + chunk);
    const r = await c.readResponse({ timeoutMs: 3000 });
    assertOpenAIError(asRes(r), 413, { type: 'invalid_request_error' });
  });

  test('chunked body under the limit is accepted', async (t) => {
    const c = await open(t);
    const body = chatJson('chunked ok');
    const half = body.length >> 1;
    const chunks = [body.slice(0, half), body.slice(half)].map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('');
    await c.write(`${head(['Content-Type: application/json', 'Transfer-Encoding: chunked'])}${chunks}0\r\n\r\n`);
    const r = await c.readResponse({ timeoutMs: 5000 });
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, 'echo: chunked ok');
  });
});

describe('header limits', () => {
  test('header block over max_header_bytes: 431', async (t) => {
    const c = await open(t);
    await c.write(head(['Content-Length: 0', `X-Big: ${'a'.repeat(4000)}`]));
    const r = await c.readResponse({ timeoutMs: 3000 });
    assertOpenAIError(asRes(r), 431, { type: 'invalid_request_error' });
  });

  test('more headers than max_headers: 431', async (t) => {
    const c = await open(t);
    const many = Array.from({ length: 30 }, (_, i) => `X-H${i}: ${i}`);
    await c.write(head(['Content-Length: 0', ...many]));
    const r = await c.readResponse({ timeoutMs: 3000 });
    assertOpenAIError(asRes(r), 431, { type: 'invalid_request_error' });
  });

  test('a request at the header limits still works', async (t) => {
    const c = await open(t);
    const body = chatJson('many headers');
    const some = Array.from({ length: 12 }, (_, i) => `X-H${i}: ${i}`);
    await c.write(head(['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, ...some]) + body);
    const r = await c.readResponse({ timeoutMs: 5000 });
    assert.equal(r.status, 200, r.body);
  });
});

describe('timeouts', () => {
  test('slowloris: half the headers then a stall: 408 within header_timeout_ms', async (t) => {
    const c = await open(t);
    const t0 = performance.now();
    await c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl');
    const r = await c.readResponse({ timeoutMs: 4000 });
    const ms = performance.now() - t0;
    assertOpenAIError(asRes(r), 408);
    assert.ok(ms >= 450 && ms < 2000, `408 after ~500 ms, got ${ms}`);
    assert.ok(await c.waitClose(2000), 'the connection is closed after the 408');
  });

  test('slowloris trickle: one header byte every 100 ms still times out', async (t) => {
    const c = await open(t);
    const t0 = performance.now();
    const text = `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'z'.repeat(100)}`;
    let stop = false;
    const trickle = (async () => {
      for (const ch of text) {
        if (stop || c.isClosed()) return;
        await c.write(ch);
        await sleep(100);
      }
    })();
    const r = await c.readResponse({ timeoutMs: 4000 });
    stop = true;
    await trickle;
    const ms = performance.now() - t0;
    assertOpenAIError(asRes(r), 408);
    assert.ok(ms < 2000, `the header timeout counts from the first byte, not per byte: ${ms}`);
  });

  test('a body that stalls: 408 within body_timeout_ms', async (t) => {
    const c = await open(t);
    await c.write(head(['Content-Type: application/json', 'Content-Length: 100']) + '{"model":');
    const t0 = performance.now();
    const r = await c.readResponse({ timeoutMs: 4000 });
    const ms = performance.now() - t0;
    assertOpenAIError(asRes(r), 408);
    assert.ok(ms >= 400 && ms < 2000, `408 after ~500 ms, got ${ms}`);
    assert.equal(fake.seen().length, 0);
  });

  test('a new connection that never sends a byte is closed after header_timeout_ms', async (t) => {
    const t0 = performance.now();
    const c = await open(t);
    assert.ok(await c.waitClose(4000), 'closed by the server');
    const ms = performance.now() - t0;
    assert.ok(ms >= 400 && ms < 950, `closed after ~500 ms (header_timeout_ms, not keepalive_timeout_ms): ${ms}`);
  });

  test('an idle keep-alive connection is closed after keepalive_timeout_ms', async (t) => {
    const c = await open(t);
    await c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal((await c.readResponse()).status, 200);
    const t0 = performance.now();
    assert.ok(await c.waitClose(4000), 'closed by the server');
    const ms = performance.now() - t0;
    assert.ok(ms >= 900 && ms < 3000, `closed after ~1000 ms: ${ms}`);
  });
});

describe('framing', () => {
  test('Content-Length together with Transfer-Encoding: 400', async (t) => {
    const c = await open(t);
    const body = chatJson();
    await c.write(head(['Content-Type: application/json', `Content-Length: ${body.length}`, 'Transfer-Encoding: chunked'])
      + `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    const r = await c.readResponse({ timeoutMs: 3000 });
    assertOpenAIError(asRes(r), 400, { type: 'invalid_request_error' });
    assert.equal(fake.seen().length, 0);
  });

  test('two different Content-Length values: 400', async (t) => {
    const c = await open(t);
    const body = chatJson();
    await c.write(head(['Content-Type: application/json', `Content-Length: ${body.length}`, `Content-Length: ${body.length + 5}`]) + body);
    const r = await c.readResponse({ timeoutMs: 3000 });
    assertOpenAIError(asRes(r), 400, { type: 'invalid_request_error' });
  });

  test('a malformed request line: 400', async (t) => {
    const c = await open(t);
    await c.write('THIS IS NOT HTTP\r\n\r\n');
    const r = await c.readResponse({ timeoutMs: 3000 });
    assertOpenAIError(asRes(r), 400);
  });
});

describe('keep-alive', () => {
  test('three requests on one connection', async (t) => {
    const c = await open(t);
    await c.write('GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    let r = await c.readResponse();
    assert.equal(r.status, 200);
    assert.equal(json(r.body).object, 'list');
    assert.notEqual((r.headers.connection ?? '').toLowerCase(), 'close');
    const body = chatJson('keep alive');
    await c.write(head(['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]) + body);
    r = await c.readResponse();
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, 'echo: keep alive');
    assert.notEqual((r.headers.connection ?? '').toLowerCase(), 'close');
    await c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    r = await c.readResponse();
    assert.equal(r.status, 200);
    assert.equal(c.isClosed(), false, 'still open after three requests');
  });

  test('Connection: close is honoured', async (t) => {
    const c = await open(t);
    await c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 200);
    assert.ok(await c.waitClose(2000), 'closed after the response');
  });
});

describe('large bodies in pieces', () => {
  let big;
  before(async () => {
    big = await startGateway(null, { config: gatewayConfig(fake, { models: [model('o-ok', 'oai', 'ok~o')] }) });
  });
  after(async () => { if (big) await big.stop(); });

  // The body's reads grow the buffer that holds the head (realloc): the
  // request must still see its method, path and headers (a use-after-free
  // here crashes the ASan build).
  test('a 100 KB body sent in 20 KB pieces after the head is answered normally', async (t) => {
    const c = await connect(big.port);
    t.after(() => c.close());
    const text = 'z'.repeat(100 * 1024);
    const body = JSON.stringify({ model: 'o-ok', messages: [{ role: 'user', content: text }] });
    await c.write(head(['Content-Type: application/json', 'X-Pad-1: aaaaaaaaaaaaaaaa', 'X-Pad-2: bbbbbbbbbbbbbbbb',
      `Content-Length: ${Buffer.byteLength(body)}`]));
    for (let i = 0; i < body.length; i += 20 * 1024) {
      await c.write(body.slice(i, i + 20 * 1024));
      await sleep(20);
    }
    const r = await c.readResponse({ timeoutMs: 10000 });
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, `echo: ${text}`);
    const seen = fake.seen();
    assert.equal(seen.length, 1);
    assert.equal(seen[0].path, '/v1/chat/completions');
  });
});

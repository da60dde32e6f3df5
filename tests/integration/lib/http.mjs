// http.mjs - HTTP helpers for llmgw's integration tests: a request function
// that never throws (it reports resets and timeouts), a WHATWG SSE parser,
// raw-socket exchanges with an incremental HTTP/1.1 response reader, and
// assertions for the OpenAI error object.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';

/**
 * One HTTP request on a fresh connection. Resolves (never rejects) with
 * {status, headers, body (string), chunks [{ms, bytes}], ttfbMs, ms, error}.
 * status is undefined when no response head arrived; error is set ('reset',
 * 'timeout', 'aborted' or a code) when the exchange did not complete.
 * opts: {method, headers, body (string|object: sent as JSON), timeoutMs, onData(chunk, res)}
 */
export function request(base, path, opts = {}) {
  const url = new URL(path, base);
  const method = opts.method ?? (opts.body !== undefined ? 'POST' : 'GET');
  let payload = opts.body;
  const headers = { ...(opts.headers ?? {}) };
  if (payload !== undefined && typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
    payload = JSON.stringify(payload);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
  }
  const t0 = performance.now();
  const out = { status: undefined, headers: {}, body: '', chunks: [], ttfbMs: undefined, ms: undefined, error: undefined };
  return new Promise((resolve) => {
    let done = false;
    const bufs = [];
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      out.body = Buffer.concat(bufs).toString('utf8');
      out.ms = performance.now() - t0;
      if (err) out.error = err;
      resolve(out);
    };
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      out.status = res.statusCode;
      out.headers = res.headers;
      out.ttfbMs = performance.now() - t0;
      res.on('data', (c) => {
        bufs.push(c);
        out.chunks.push({ ms: performance.now() - t0, bytes: c.length });
        if (opts.onData) opts.onData(c, res);
      });
      res.on('end', () => finish(res.complete ? undefined : 'aborted'));
      res.on('aborted', () => finish('aborted'));
      res.on('error', (e) => finish(e.code === 'ECONNRESET' ? 'aborted' : e.code ?? String(e)));
      res.on('close', () => finish(res.complete ? undefined : 'aborted'));
    });
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, opts.timeoutMs ?? 15000);
    req.on('error', (e) => finish(out.status === undefined
      ? (e.code === 'ECONNRESET' || /socket hang up/.test(e.message) ? 'reset' : e.code ?? String(e))
      : 'aborted'));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Parses JSON or fails the test with the text in the message. */
export function json(text) {
  try {
    return JSON.parse(text);
  } catch {
    assert.fail(`not JSON: ${JSON.stringify(String(text).slice(0, 500))}`);
  }
}

/**
 * Parses an event stream (WHATWG HTML 9.2.5-9.2.6): lines end in CRLF, LF or CR;
 * data lines join with "\n"; comments skipped; an event with no data is not
 * dispatched; an unfinished trailing event is returned in `incomplete`.
 * Returns {events: [{event, data}], incomplete: string}.
 */
export function parseSSE(text) {
  const events = [];
  let s = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let ev = '';
  let data = [];
  let lastEnd = 0;
  const re = /\r\n|\r|\n/g;
  let pos = 0;
  let m;
  while ((m = re.exec(s)) !== null) {
    const line = s.slice(pos, m.index);
    pos = m.index + m[0].length;
    if (line === '') {
      if (data.length) events.push({ event: ev, data: data.join('\n') });
      ev = '';
      data = [];
      lastEnd = pos;
      continue;
    }
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') ev = value;
    else if (field === 'data') data.push(value);
  }
  return { events, incomplete: s.slice(lastEnd) };
}

/** data payloads of OpenAI-style events parsed as JSON ('[DONE]' kept as the string). */
export function sseData(text) {
  return parseSSE(text).events.map((e) => (e.data === '[DONE]' ? '[DONE]' : json(e.data)));
}

/** Asserts the OpenAI error object shape; returns body.error. */
export function assertOpenAIError(res, status, { type, code, param, message } = {}) {
  assert.equal(res.status, status, `status (body: ${res.body.slice(0, 300)})`);
  assert.match(String(res.headers['content-type']), /^application\/json/, 'content-type of an error');
  const body = json(res.body);
  assert.deepEqual(Object.keys(body), ['error'], 'error body has exactly the key "error"');
  const e = body.error;
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in e, `error.${k} present`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0, 'error.message not empty');
  assert.equal(typeof e.type, 'string');
  assert.ok(e.param === null || typeof e.param === 'string', 'error.param string or null');
  assert.ok(e.code === null || typeof e.code === 'string', 'error.code string or null');
  if (type !== undefined) assert.equal(e.type, type, 'error.type');
  if (code !== undefined) assert.equal(e.code, code, 'error.code');
  if (param !== undefined) assert.equal(e.param, param, 'error.param');
  if (message !== undefined) {
    if (message instanceof RegExp) assert.match(e.message, message);
    else assert.equal(e.message, message);
  }
  return e;
}

// ---- raw sockets ---------------------------------------------------------------------

/**
 * A raw TCP connection with an incremental HTTP/1.1 response reader.
 * conn.write(data), conn.readResponse({timeoutMs, head: 'HEAD'?}) -> {status, reason,
 * headers (lower-cased; repeated ones joined with ", "), rawHeaders, body, ms},
 * conn.waitClose(timeoutMs) -> true when the peer closed, conn.close().
 */
export async function connect(port, host = '127.0.0.1', timeoutMs = 5000) {
  const sock = net.createConnection({ port, host });
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => { sock.destroy(); reject(new Error('connect timeout')); }, timeoutMs);
    sock.once('connect', () => { clearTimeout(t); resolve(); });
    sock.once('error', (e) => { clearTimeout(t); reject(e); });
  });
  let buf = Buffer.alloc(0);
  let closed = false;
  let waiter = null;
  const wake = () => { if (waiter) { const w = waiter; waiter = null; w(); } };
  sock.on('data', (c) => { buf = Buffer.concat([buf, c]); wake(); });
  sock.on('close', () => { closed = true; wake(); });
  sock.on('error', () => { closed = true; wake(); });
  const wait = (deadline) => new Promise((resolve) => {
    const t = setTimeout(() => { waiter = null; resolve(); }, Math.max(0, deadline - performance.now()));
    waiter = () => { clearTimeout(t); resolve(); };
  });

  async function readResponse({ timeoutMs: tmo = 10000 } = {}) {
    const t0 = performance.now();
    const deadline = t0 + tmo;
    let headEnd;
    while ((headEnd = buf.indexOf('\r\n\r\n')) < 0) {
      if (closed) throw new Error(`connection closed before a response head (got ${JSON.stringify(buf.toString())})`);
      if (performance.now() >= deadline) throw new Error(`no response head within ${tmo} ms`);
      await wait(deadline);
    }
    const headText = buf.subarray(0, headEnd).toString('latin1');
    buf = buf.subarray(headEnd + 4);
    const [statusLine, ...lines] = headText.split('\r\n');
    const sm = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
    if (!sm) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const headers = {};
    const rawHeaders = [];
    for (const l of lines) {
      const i = l.indexOf(':');
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      rawHeaders.push([k, v]);
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    }
    const need = async (n) => {
      while (buf.length < n) {
        if (closed) throw new Error('connection closed inside a response body');
        if (performance.now() >= deadline) throw new Error(`response body not complete within ${tmo} ms`);
        await wait(deadline);
      }
    };
    let body = Buffer.alloc(0);
    const status = Number(sm[1]);
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
      // no body
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts = [];
      for (;;) {
        let le;
        while ((le = buf.indexOf('\r\n')) < 0) await need(buf.length + 1);
        const size = parseInt(buf.subarray(0, le).toString('latin1'), 16);
        await need(le + 2 + size + 2);
        parts.push(buf.subarray(le + 2, le + 2 + size));
        buf = buf.subarray(le + 2 + size + 2);
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      await need(n);
      body = buf.subarray(0, n);
      buf = buf.subarray(n);
    } else {
      while (!closed && performance.now() < deadline) await wait(deadline);
      body = buf;
      buf = Buffer.alloc(0);
    }
    return { status, reason: sm[2], headers, rawHeaders, body: body.toString('utf8'), ms: performance.now() - t0 };
  }

  async function waitClose(tmo = 5000) {
    const deadline = performance.now() + tmo;
    while (!closed && performance.now() < deadline) await wait(deadline);
    return closed;
  }

  return {
    socket: sock,
    write: (d) => new Promise((resolve) => {
      if (closed) return resolve(false);
      sock.write(d, (err) => resolve(!err));
    }),
    readResponse,
    waitClose,
    isClosed: () => closed,
    pending: () => buf,
    close: () => sock.destroy(),
  };
}

/** Connects and reports whether the connection was refused: 'refused', 'closed' (accepted then
 *  closed with no bytes), 'open' (accepted and still open after waitMs). */
export function probeConnect(port, host = '127.0.0.1', waitMs = 500) {
  return new Promise((resolve) => {
    const sock = net.createConnection({ port, host });
    let state = null;
    const done = (s) => { if (!state) { state = s; clearTimeout(t); sock.destroy(); resolve(s); } };
    const t = setTimeout(() => done('open'), waitMs + 2000);
    sock.once('connect', () => {
      sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      setTimeout(() => done('open'), waitMs);
    });
    sock.on('data', () => done('open'));
    sock.once('close', () => done(state ?? 'closed'));
    sock.once('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'closed'));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

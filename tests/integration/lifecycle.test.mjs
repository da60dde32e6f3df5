// lifecycle.test.mjs - process lifecycle: /healthz and /readyz; SIGHUP with a
// valid file swaps the config without dropping an open keep-alive connection;
// SIGHUP with a broken file keeps the old config and says why on stderr;
// SIGUSR1 and SIGHUP reopen telemetry.log at its path (log rotation);
// SIGTERM drains an in-flight slow stream to [DONE], refuses new connections
// and exits 0.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startFake } from './lib/fake.mjs';
import { chat, chatBody, gatewayConfig, model, startGateway } from './lib/gateway.mjs';
import { connect, json, probeConnect, request, sleep, sseData } from './lib/http.mjs';

let fake;
before(async () => { fake = await startFake(null); });
after(async () => { await fake?.close(); });

const ids = (r) => json(r.body).data.map((m) => m.id).sort();

async function modelsOn(conn) {
  await conn.write('GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const r = await conn.readResponse({ timeoutMs: 5000 });
  assert.equal(r.status, 200);
  return ids(r);
}

// Polls GET /v1/models on new connections until it lists want (or fails after ms).
async function waitModels(gw, want, ms = 5000) {
  const deadline = Date.now() + ms;
  let got;
  for (;;) {
    got = ids(await request(gw.url, '/v1/models'));
    if (JSON.stringify(got) === JSON.stringify(want)) return;
    if (Date.now() > deadline) assert.fail(`models still ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    await sleep(50);
  }
}

describe('health', () => {
  test('/healthz and /readyz answer 200', async (t) => {
    const gw = await startGateway(t, { config: gatewayConfig(fake, { models: [model('m1', 'oai', 'ok~m1')] }) });
    const h = await request(gw.url, '/healthz');
    assert.equal(h.status, 200);
    const r = await request(gw.url, '/readyz');
    assert.equal(r.status, 200, r.body);
  });
});

describe('log rotation', () => {
  test('SIGUSR1, then SIGHUP, reopen telemetry.log at its path: later lines go to the new file', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgw-logrot-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'requests.log');
    const cfg = gatewayConfig(fake, { models: [model('m1', 'oai', 'ok~m1')] });
    cfg.telemetry = { ...(cfg.telemetry ?? {}), log: file };
    const gw = await startGateway(t, { config: cfg });
    const idsIn = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l)).filter((l) => l.route === '/v1/chat/completions').map((l) => l.request_id);
    const send = async (text) => {
      const r = await chat(gw, chatBody('m1', text));
      assert.equal(r.status, 200, r.body);
      return r.headers['x-request-id'];
    };
    const waitIn = async (f, id) => {
      for (const end = Date.now() + 5000; !idsIn(f).includes(id); await sleep(20))
        assert.ok(Date.now() < end, `${id} written to ${f}`);
    };
    const a = await send('before');
    await waitIn(file, a);
    fs.renameSync(file, `${file}.1`); // what logrotate does, then it signals
    let mark = gw.stderr().length;
    gw.signal('SIGUSR1');
    await gw.waitStderr(/telemetry\.log: reopened/, 5000, mark);
    const b = await send('after SIGUSR1');
    await waitIn(file, b);
    fs.renameSync(file, `${file}.2`);
    mark = gw.stderr().length;
    gw.signal('SIGHUP');
    await gw.waitStderr(/telemetry\.log: reopened/, 5000, mark);
    const c = await send('after SIGHUP');
    await waitIn(file, c);
    assert.deepEqual(idsIn(`${file}.1`), [a], 'the first file keeps only the line before SIGUSR1');
    assert.deepEqual(idsIn(`${file}.2`), [b], 'the second only the line between the signals');
    assert.deepEqual(idsIn(file), [c], 'the new file the line after SIGHUP');
    assert.ok(gw.running());
  });
});

describe('SIGHUP', () => {
  let gw;
  const cfgWith = (models) => gatewayConfig(fake, { models });
  before(async () => {
    gw = await startGateway(null, { config: cfgWith([model('m1', 'oai', 'ok~m1')]) });
  });
  after(async () => { if (gw) await gw.stop(); });

  test('a new valid file changes the model list; an open keep-alive connection survives', async (t) => {
    const conn = await connect(gw.port);
    t.after(() => conn.close());
    assert.deepEqual(await modelsOn(conn), ['m1']);
    gw.rewrite(cfgWith([model('m1', 'oai', 'ok~m1'), model('m2', 'ant', 'ok~m2'), model('m3', 'gem', 'ok~m3')]));
    gw.signal('SIGHUP');
    await waitModels(gw, ['m1', 'm2', 'm3']);
    assert.equal(conn.isClosed(), false, 'the keep-alive connection was not dropped');
    assert.deepEqual(await modelsOn(conn), ['m1', 'm2', 'm3'], 'the old connection sees the new config');
    const r = await chat(gw, chatBody('m2', 'after reload'));
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, 'echo: after reload');
    assert.ok(gw.running());
  });

  test('a broken YAML file keeps the old config and logs why on stderr', async () => {
    const prev = ids(await request(gw.url, '/v1/models'));
    const mark = gw.stderr().length;
    gw.rewrite('listen: [127.0.0.1\nmodels: {{{\n');
    gw.signal('SIGHUP');
    const said = await gw.waitStderr(/\S/, 5000, mark);
    assert.match(said, /llmgw\.yaml|config|reload|yaml|pars/i, `stderr says why: ${said}`);
    await sleep(200);
    assert.ok(gw.running(), 'still running');
    assert.deepEqual(ids(await request(gw.url, '/v1/models')), prev);
    const r = await chat(gw, chatBody(prev[0], 'still works'));
    assert.equal(r.status, 200, r.body);
  });

  test('a file with an unknown key keeps the old config and names the key', async () => {
    const prev = ids(await request(gw.url, '/v1/models'));
    const mark = gw.stderr().length;
    const cfg = cfgWith([model('x9', 'oai', 'ok~x9')]);
    cfg.limits.bogus_limit_key = 1;
    gw.rewrite(cfg);
    gw.signal('SIGHUP');
    const said = await gw.waitStderr(/bogus_limit_key/, 5000, mark);
    assert.match(said, /bogus_limit_key/);
    await sleep(200);
    assert.deepEqual(ids(await request(gw.url, '/v1/models')), prev, 'old models kept');
    assert.ok(gw.running());
  });
});

describe('SIGTERM', () => {
  test('an in-flight slow stream completes with [DONE]; new connections are refused; exit 0', async () => {
    const gw = await startGateway(null, { config: gatewayConfig(fake, {
      models: [model('slow', 'oai', 'slow-body-300~slow')], limits: { drain_timeout_ms: 10000, idle_timeout_ms: 5000 } }) });
    try {
      let signalled = false;
      let sentAt = 0;
      const streaming = chat(gw, chatBody('slow', 'drain me', { stream: true }), {
        timeoutMs: 15000,
        onData: () => {
          if (!signalled) {
            signalled = true;
            sentAt = performance.now();
            gw.signal('SIGTERM');
          }
        },
      });
      // wait for the signal, then probe for new connections while the stream is still going
      const t0 = Date.now();
      while (!signalled && Date.now() - t0 < 5000) await sleep(10);
      assert.ok(signalled, 'the stream started');
      await sleep(250);
      const probe = await probeConnect(gw.port);
      assert.ok(probe === 'refused' || probe === 'closed', `new connection after SIGTERM: ${probe}`);
      const r = await streaming;
      assert.equal(r.status, 200);
      assert.equal(r.error, undefined, 'the stream was not cut');
      const data = sseData(r.body);
      assert.equal(data.at(-1), '[DONE]');
      assert.equal(data.filter((d) => d !== '[DONE]' && d.choices?.length)
        .map((d) => d.choices[0].delta.content ?? '').join(''), 'echo: drain me');
      assert.ok(performance.now() - sentAt >= 900, 'the stream outlived the signal');
      const exit = await Promise.race([gw.exited, sleep(5000).then(() => null)]);
      assert.deepEqual(exit, { code: 0, signal: null }, `exit after draining (stderr: ${gw.errTail()})`);
    } finally {
      await gw.stop({ check: false });
    }
  });

  test('SIGTERM when idle exits 0 promptly', async () => {
    const gw = await startGateway(null, { config: gatewayConfig(fake, { models: [model('m1', 'oai', 'ok~m1')] }) });
    const t0 = performance.now();
    const exit = await gw.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(performance.now() - t0 < 3000, 'exits within 3 s');
  });
});

// failover.test.mjs - the router's fallback chains against the fake upstream:
// order on 500/429/529/timeouts/resets/connect errors (the models the fake
// saw), no failover on 400, the retry budget, the overall deadline, the last
// status and body when all fail (529 -> 503), stream hold-back (invisible
// failover before content; an in-band error and no [DONE] after content),
// and the attempts in the log line.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { answerText, errorResponse, splitPieces, startFake } from './lib/fake.mjs';
import { chat, chatBody, freePort, gatewayConfig, logFor, model, startGateway } from './lib/gateway.mjs';
import { assertOpenAIError, json, parseSSE, sseData } from './lib/http.mjs';

let fake;
let gw; // retry_budget 3, first byte 400 ms, idle 1000 ms
let tight; // retry_budget 1, deadline 1000 ms
before(async () => {
  fake = await startFake(null);
  const dead = await freePort(); // nothing listens there: connect refused
  const providers = (f) => [...gatewayConfig(f).providers,
    { name: 'dead', kind: 'openai', base_url: `http://127.0.0.1:${dead}`, api_key: 'x' }];
  const m = [
    // 500 -> 429 -> 529 (anthropic) -> ok (gemini)
    model('c1', 'oai', 'status-500~c1'), model('c1b', 'oai', 'status-429~c1b'),
    model('c1c', 'ant', 'status-529~c1c'), model('c1d', 'gem', 'ok~c1d'),
    // first-byte timeouts: slow head, then hang, then ok
    model('t1', 'oai', 'slow-headers-3000~t1'), model('t1b', 'ant', 'hang~t1b'), model('t1c', 'oai', 'ok~t1c'),
    // reset before any byte, connect refused, then ok
    model('r1', 'oai', 'reset-before~r1'), model('r1b', 'dead', 'ok~dead'), model('r1c', 'oai', 'ok~r1c'),
    // a 400 is not failed over
    model('n1', 'oai', 'status-400~n1'), model('n1b', 'oai', 'ok~n1b'),
    model('n2', 'ant', 'status-400~n2'), model('n2b', 'oai', 'ok~n2b'),
    // all fail
    model('g1', 'oai', 'status-429~g1'), model('g1b', 'oai', 'status-500~g1b'),
    model('h1', 'oai', 'status-500~h1'), model('h1b', 'ant', 'status-529~h1b'),
    model('i1', 'oai', 'status-529~i1'),
    model('j1', 'oai', 'status-500~j1'), model('j1b', 'oai', 'status-429~j1b'),
    // streams
    model('s1', 'oai', 'status-500~s1'), model('s1b', 'oai', 'ok~s1b'),
    model('s2', 'oai', 'reset-before~s2'), model('s2b', 'ant', 'ok~s2b'),
    model('s3', 'oai', 'reset-after-first~s3'), model('s3b', 'oai', 'ok~s3b'),
    model('s4', 'oai', 'cut-mid~s4'), model('s4b', 'oai', 'ok~s4b'),
    model('s5', 'ant', 'error-event~s5'), model('s5b', 'oai', 'ok~s5b'),
    model('s6', 'gem', 'cut-mid~s6'), model('s6b', 'oai', 'ok~s6b'),
    model('s7', 'ant', 'status-429~s7'), model('s7b', 'gem', 'ok~s7b'),
    model('s8', 'oai', 'slow-body-3000~s8'), model('s8b', 'oai', 'ok~s8b'),
    model('s9', 'ant', 'reset-after-first~s9'), model('s9b', 'oai', 'ok~s9b'),
    model('s10', 'ant', 'malformed-chunk~s10'), model('s10b', 'oai', 'ok~s10b'),
  ];
  const fallbacks = {
    c1: ['c1b', 'c1c', 'c1d'], t1: ['t1b', 't1c'], r1: ['r1b', 'r1c'], n1: ['n1b'], n2: ['n2b'],
    g1: ['g1b'], h1: ['h1b'], j1: ['j1b'],
    s1: ['s1b'], s2: ['s2b'], s3: ['s3b'], s4: ['s4b'], s5: ['s5b'], s6: ['s6b'], s7: ['s7b'], s8: ['s8b'], s9: ['s9b'], s10: ['s10b'],
  };
  const cfg = gatewayConfig(fake, { models: m, fallbacks,
    limits: { retry_budget: 3, first_byte_timeout_ms: 400, idle_timeout_ms: 1000, connect_timeout_ms: 1000, upstream_timeout_ms: 10000 } });
  cfg.providers = providers(fake);
  gw = await startGateway(null, { config: cfg });
  tight = await startGateway(null, { config: gatewayConfig(fake, {
    models: [model('b1', 'oai', 'status-500~b1'), model('b2', 'oai', 'status-500~b2'), model('b3', 'oai', 'status-500~b3'),
      model('d1', 'oai', 'hang~d1'), model('d2', 'oai', 'ok~d2')],
    fallbacks: { b1: ['b2', 'b3'], d1: ['d2'] },
    limits: { retry_budget: 1, upstream_timeout_ms: 1000, first_byte_timeout_ms: 1500, idle_timeout_ms: 1500 } }) });
});
after(async () => {
  const errs = [];
  for (const g of [gw, tight]) {
    try { if (g) await g.stop(); } catch (e) { errs.push(e); }
  }
  await fake?.close();
  if (errs.length) throw errs[0];
});
beforeEach(async () => { await fake.reset(); });

const bodyOf = (wire, status) => JSON.stringify(errorResponse(wire, status).body);

// expected: [provider, alias, upstream model, status?] per attempt; an attempt's model
// may name either the alias or the upstream model.
function assertAttempts(line, expected) {
  assert.ok(Array.isArray(line.attempts), 'attempts is an array');
  assert.equal(line.attempts.length, expected.length, `attempts: ${JSON.stringify(line.attempts)}`);
  expected.forEach(([provider, alias, upstream, status], i) => {
    const a = line.attempts[i];
    assert.equal(a.provider, provider, `attempt ${i} provider`);
    assert.ok(a.model === upstream || a.model === alias, `attempt ${i} model is ${upstream} or ${alias}, got ${a.model}`);
    if (status !== undefined) assert.equal(a.status, status, `attempt ${i} status`);
    assert.equal(typeof a.ms, 'number');
    assert.ok(a.ms >= 0);
  });
}

// Stream pieces: OpenAI data payloads, [DONE] kept as a string.
function streamParts(res) {
  const data = sseData(res.body);
  const text = data.filter((d) => d !== '[DONE]' && d.choices?.length).map((d) => d.choices[0].delta.content ?? '').join('');
  return { data, text, done: data.includes('[DONE]'), errors: data.filter((d) => d !== '[DONE]' && d.error) };
}

describe('non-stream chains', () => {
  test('500 -> 429 -> 529 -> ok: every step tried in order, across providers', async () => {
    const mark = gw.logs().length;
    const r = await chat(gw, chatBody('c1', 'chain'));
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, 'echo: chain');
    assert.deepEqual(fake.models(), ['status-500~c1', 'status-429~c1b', 'status-529~c1c', 'ok~c1d']);
    const line = await logFor(gw, r, mark);
    assert.equal(line.status, 200);
    assert.equal(line.model, 'c1');
    assert.equal(line.upstream_model, 'ok~c1d');
    assert.equal(line.provider, 'gem');
    assertAttempts(line, [['oai', 'c1', 'status-500~c1', 500], ['oai', 'c1b', 'status-429~c1b', 429],
      ['ant', 'c1c', 'status-529~c1c', 529], ['gem', 'c1d', 'ok~c1d', 200]]);
  });

  test('first-byte timeouts (slow head, hang) fail over', async () => {
    const mark = gw.logs().length;
    const r = await chat(gw, chatBody('t1', 'timeouts'));
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, 'echo: timeouts');
    assert.ok(r.ms < 2500, `two 400 ms timeouts, not the 3 s head: ${r.ms}`);
    assert.ok(r.ms >= 750, `both timeouts waited: ${r.ms}`);
    assert.deepEqual(fake.models(), ['slow-headers-3000~t1', 'hang~t1b', 'ok~t1c']);
    const line = await logFor(gw, r, mark);
    assertAttempts(line, [['oai', 't1', 'slow-headers-3000~t1'], ['ant', 't1b', 'hang~t1b'], ['oai', 't1c', 'ok~t1c', 200]]);
  });

  test('reset before any byte and connect refused fail over', async () => {
    const mark = gw.logs().length;
    const r = await chat(gw, chatBody('r1', 'resets'));
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r.body).choices[0].message.content, 'echo: resets');
    assert.deepEqual(fake.models(), ['reset-before~r1', 'ok~r1c'], 'the reset upstream is called once, not retried');
    const line = await logFor(gw, r, mark);
    assertAttempts(line, [['oai', 'r1', 'reset-before~r1'], ['dead', 'r1b', 'ok~dead'], ['oai', 'r1c', 'ok~r1c', 200]]);
  });

  test('an upstream 400 is returned as is, without failover', async () => {
    let r = await chat(gw, chatBody('n1', 'bad'));
    assert.equal(r.status, 400);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(r.body, bodyOf('openai', 400), 'openai error body passed through verbatim');
    assert.deepEqual(fake.models(), ['status-400~n1']);
    await fake.reset();
    r = await chat(gw, chatBody('n2', 'bad'));
    assertOpenAIError(r, 400, { type: 'invalid_request_error', message: 'fake upstream: status 400' });
    assert.deepEqual(fake.models(), ['status-400~n2']);
  });

  test('all fail: the last upstream status and body', async () => {
    let r = await chat(gw, chatBody('g1'));
    assert.equal(r.status, 500);
    assert.equal(r.body, bodyOf('openai', 500));
    assert.deepEqual(fake.models(), ['status-429~g1', 'status-500~g1b']);
    await fake.reset();
    r = await chat(gw, chatBody('j1'));
    assert.equal(r.status, 429);
    assert.equal(r.body, bodyOf('openai', 429));
    assert.equal(r.headers['retry-after'], '2', 'Retry-After of the last upstream passed on');
    assert.deepEqual(fake.models(), ['status-500~j1', 'status-429~j1b']);
  });

  test('529 is mapped to 503 (anthropic last in chain; openai alone)', async () => {
    let r = await chat(gw, chatBody('h1'));
    assertOpenAIError(r, 503, { message: 'Overloaded' });
    assert.deepEqual(fake.models(), ['status-500~h1', 'status-529~h1b']);
    await fake.reset();
    r = await chat(gw, chatBody('i1'));
    assert.equal(r.status, 503);
    assert.equal(r.body, bodyOf('openai', 529), 'openai body verbatim, status mapped');
    assert.deepEqual(fake.models(), ['status-529~i1']);
  });

  test('retry_budget 1 caps a 3-long chain at 2 attempts', async () => {
    const mark = tight.logs().length;
    const r = await chat(tight, chatBody('b1'));
    assert.equal(r.status, 500);
    assert.equal(r.body, bodyOf('openai', 500));
    assert.deepEqual(fake.models(), ['status-500~b1', 'status-500~b2']);
    const line = await logFor(tight, r, mark);
    assertAttempts(line, [['oai', 'b1', 'status-500~b1', 500], ['oai', 'b2', 'status-500~b2', 500]]);
  });

  test('the overall deadline (upstream_timeout_ms) ends the chain with 504', async () => {
    const r = await chat(tight, chatBody('d1'));
    assertOpenAIError(r, 504);
    assert.ok(r.ms >= 900 && r.ms < 1450, `answered at the 1000 ms deadline, before the 1500 ms first-byte timeout: ${r.ms}`);
    assert.deepEqual(fake.models(), ['hang~d1'], 'no time left for the fallback');
  });
});

describe('stream hold-back', () => {
  test('500 before content fails over invisibly', async () => {
    const mark = gw.logs().length;
    const r = await chat(gw, chatBody('s1', 'held', { stream: true }));
    assert.equal(r.status, 200);
    const s = streamParts(r);
    assert.equal(s.errors.length, 0);
    assert.equal(s.text, 'echo: held');
    assert.ok(s.done);
    assert.equal(s.data.at(-1), '[DONE]');
    assert.deepEqual(fake.models(), ['status-500~s1', 'ok~s1b']);
    const line = await logFor(gw, r, mark);
    assert.equal(line.stream, true);
    assertAttempts(line, [['oai', 's1', 'status-500~s1', 500], ['oai', 's1b', 'ok~s1b', 200]]);
  });

  test('reset before any byte fails over invisibly (into another provider)', async () => {
    const r = await chat(gw, chatBody('s2', 'held', { stream: true }));
    const s = streamParts(r);
    assert.equal(r.status, 200);
    assert.equal(s.errors.length, 0);
    assert.equal(s.text, 'echo: held');
    assert.equal(s.data.at(-1), '[DONE]');
    assert.deepEqual(fake.models(), ['reset-before~s2', 'ok~s2b']);
  });

  test('429 before content fails over invisibly', async () => {
    const r = await chat(gw, chatBody('s7', 'held', { stream: true }));
    const s = streamParts(r);
    assert.equal(s.text, 'echo: held');
    assert.equal(s.data.at(-1), '[DONE]');
    assert.deepEqual(fake.models(), ['status-429~s7', 'ok~s7b']);
  });

  test('idle timeout before content fails over invisibly', async () => {
    const r = await chat(gw, chatBody('s8', 'idle', { stream: true }));
    const s = streamParts(r);
    assert.equal(s.errors.length, 0);
    assert.equal(s.text, 'echo: idle');
    assert.equal(s.data.at(-1), '[DONE]');
    assert.ok(r.ms < 2800, `failed over after the 1000 ms idle timeout: ${r.ms}`);
    assert.deepEqual(fake.models(), ['slow-body-3000~s8', 'ok~s8b']);
  });

  for (const [alias, upstream, text, kind] of [
    ['s3', 'reset-after-first~s3', splitPieces(answerText('after content'))[0], 'openai reset after first content'],
    ['s9', 'reset-after-first~s9', splitPieces(answerText('after content'))[0], 'anthropic reset after first content'],
    ['s4', 'cut-mid~s4', 'echo: after content', 'openai cut without [DONE]'],
    ['s6', 'cut-mid~s6', 'echo: after content', 'gemini cut without finishReason'],
    ['s10', 'malformed-chunk~s10', splitPieces(answerText('after content'))[0], 'anthropic non-JSON event after content'],
  ]) {
    test(`${kind}: final error event, no [DONE], no failover`, async () => {
      const mark = gw.logs().length;
      const r = await chat(gw, chatBody(alias, 'after content', { stream: true }));
      assert.equal(r.status, 200);
      assert.equal(r.error, undefined, 'the client stream ends cleanly');
      const s = streamParts(r);
      assert.equal(s.text, text, 'content sent before the cut reached the client');
      assert.equal(s.done, false, 'no [DONE] after an upstream failure');
      assert.equal(s.errors.length, 1, 'one error event');
      const last = s.data.at(-1);
      assert.ok(last.error, 'the error event is the last event');
      assert.deepEqual(Object.keys(last), ['error']);
      for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in last.error, `error.${k}`);
      assert.equal(typeof last.error.message, 'string');
      assert.equal(parseSSE(r.body).incomplete, '', 'the last event is terminated');
      assert.deepEqual(fake.models(), [upstream]);
      const line = await logFor(gw, r, mark);
      assert.equal(line.stream, true);
      assert.equal(line.attempts.length, 1);
      assert.equal(typeof line.error, 'string');
      assert.ok(line.error.length > 0, 'the log line says what went wrong');
    });
  }

  test('anthropic in-band overloaded error after content: error event, no [DONE]', async () => {
    const mark = gw.logs().length;
    const r = await chat(gw, chatBody('s5', 'overload', { stream: true }));
    assert.equal(r.status, 200);
    const s = streamParts(r);
    assert.ok(s.text.length > 0 && 'echo: overload'.startsWith(s.text), `partial text: ${s.text}`);
    assert.equal(s.done, false);
    assert.equal(s.errors.length, 1);
    assert.match(s.data.at(-1).error.message, /Overloaded/, 'the upstream message is passed on');
    assert.deepEqual(fake.models(), ['error-event~s5']);
    const line = await logFor(gw, r, mark);
    assert.equal(typeof line.error, 'string', `the log line records the in-band error: ${JSON.stringify(line)}`);
    assert.match(line.error, /Overloaded/);
  });
});

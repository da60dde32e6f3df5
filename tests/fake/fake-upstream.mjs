#!/usr/bin/env node
// fake-upstream.mjs - one fake LLM server speaking the OpenAI, Anthropic and
// Gemini wire formats (wire-formats.md 1-3), used by llmgw's integration
// tests. No npm dependencies: node:http only.
//
// Run:   node tests/fake/fake-upstream.mjs [PORT] [--host 127.0.0.1] [--api-key test-key]
//        PORT 0 (the default) picks a free port; prints "LISTENING <port>" when ready.
// Or import { startFakeUpstream } and run it inside the test process.
//
// Routes (matched on the path suffix, so a base path prefix is tolerated):
//   POST .../v1/chat/completions     OpenAI chat (non-stream; stream with a usage chunk
//                                    when stream_options.include_usage)   auth: Authorization: Bearer KEY
//   GET  .../v1/models               OpenAI model list                     auth: Bearer
//   POST .../v1/embeddings           OpenAI embeddings (float or base64)   auth: Bearer
//   POST .../v1/messages             Anthropic Messages (non-stream, stream)
//                                    auth: x-api-key KEY and anthropic-version; 400
//                                    invalid_request_error when max_tokens is missing
//   POST .../models/{m}:generateContent, :streamGenerateContent?alt=sse (CRLF framing),
//        :batchEmbedContents         Gemini                                auth: x-goog-api-key KEY or ?key=
//   POST .../v1/rerank, .../v2/rerank (any path ending in /rerank)
//                                    rerank (wire-formats 4), auth: Bearer, errors in the OpenAI
//                                    shape; 400 unless query is a string and documents (or texts)
//                                    an array. The answer's shape is picked by the model name
//                                    (before any "~"; the scenarios below still apply):
//                                      voyage    {object:"list", data:[{index, relevance_score,
//                                                document? (return_documents)}], model, usage:
//                                                {total_tokens}}; honours top_k, not top_n
//                                      tei       bare array [{index, score, text? (return_text)}],
//                                                all documents, no usage
//                                      vllm      {id, model, usage:{prompt_tokens, total_tokens},
//                                                results:[{index, document:{text}, relevance_score}]}
//                                      jina      {model, usage:{total_tokens}, results:[{index,
//                                                relevance_score, document:{text} unless
//                                                return_documents is false}]}
//                                      unsorted  the Cohere shape, results in input order
//                                      others    Cohere v2 (RR-1): {id, results:[{index,
//                                                relevance_score}], meta:{api_version, billed_units:
//                                                {search_units:1}}}
//                                    All but tei and unsorted sort by descending score and cut at
//                                    top_n (voyage: top_k). Scores: fakeRerankScore(query, doc).
//                                    no-usage drops usage (Cohere: meta).
//   A wrong or missing key gives 401 in that wire's error shape.
//
// Behaviour is chosen by the requested model name (body "model"; the path for Gemini).
// Everything from the first "~" on is a tag that is ignored, so "ok~a" and "ok~b" behave
// alike but can be told apart in /__requests (useful for failover chains).
//   ok                  normal answer; text "echo: <last user message>". Streams send it
//                       as 3 content events (split by code points).
//   tool                a tool call get_weather({"city":"Oslo"}) (OAI-2/4, ANT-2/4, GEM-2)
//   blocked             Gemini: prompt blocked (promptFeedback.blockReason SAFETY, no
//                       candidates); other wires: same as ok
//   status-<N>          HTTP N with the wire's error body (see errorResponse); 429 carries
//                       retry-after (2; Gemini: RetryInfo 7s), 529 retry-after 3
//   slow-headers-<ms>   waits ms before the response head, then as ok
//   slow-body-<ms>      stream: waits ms between events; non-stream: head, then the body
//                       in two halves ms apart
//   reset-before        closes the socket before any response byte
//   reset-after-first   stream: head and the first content event, then closes the socket;
//                       non-stream: head and half of the body, then closes the socket
//   cut-mid             stream: head and 3 content events, then ends the response cleanly
//                       with no terminal event (no finish, no [DONE] / message_stop / finishReason);
//                       non-stream: 200 with a cleanly ended but truncated JSON body
//   malformed-chunk     stream: after the first content event, one event whose data is not
//                       JSON, then the rest as ok; non-stream: 200 with a non-JSON body
//   drip                as ok with text "echo: <msg> ✓", every byte written on its own
//                       ~1 ms apart (splits CRLF and the 3-byte UTF-8 of ✓)
//   error-event         stream: 2 content events, then an in-band error and end (OpenAI
//                       data: {"error":...}; Anthropic event: error overloaded_error (ANT-5);
//                       Gemini data: {"error":{"code":503,...}}); non-stream: the wire's
//                       overloaded status (529 Anthropic, 503 others)
//   no-usage            as ok but without any usage (no usage chunk, usage, usageMetadata)
//   hang                never answers (the socket stays open until the client goes away)
//   anything else       as ok
//
// Control API (no auth):
//   GET    /__requests  -> [{seq, method, path, query, headers, body, bodyText, wire,
//                            model, stream}] every request received, in order
//   DELETE /__requests  clears it
//   POST   /__script    {"model":"x","responses":[R...]} queues one-off behaviours for
//                       requests whose model is exactly "x", used first in, first out.
//                       R is {"scenario":"status-429"} or {"status":429,
//                       "headers":{"retry-after":"1"},"body":{...}|"text"} (body defaults
//                       to the wire's error body for that status, headers merge over its
//                       default headers), or {"text":"..."} (optionally with a "scenario",
//                       e.g. "slow-body-200"): a normal answer, stream or not, whose assistant
//                       text is exactly that (an LLM planner's JSON with SQL, a formatter's
//                       sentence with an invented number...)
//   DELETE /__script    clears every queue
//   GET    /__health    200 "ok"

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';

export const API_KEY = 'test-key';

// Token counts the fake reports (stream and non-stream alike).
export const USAGE = {
  openai: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
  anthropic: { input_tokens: 18, output_tokens: 5 },
  gemini: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
};

export const CREATED = 1767225600;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Parses a model name into {name, ms}: the scenario before any "~" tag. */
export function scenarioOf(model) {
  const base = String(model ?? '').split('~')[0];
  let m = /^(slow-headers|slow-body)-(\d+)$/.exec(base);
  if (m) return { name: m[1], ms: Number(m[2]) };
  m = /^status-(\d{3})$/.exec(base);
  if (m) return { name: 'status', status: Number(m[1]) };
  const known = ['ok', 'tool', 'blocked', 'reset-before', 'reset-after-first', 'cut-mid',
    'malformed-chunk', 'drip', 'error-event', 'no-usage', 'hang'];
  return { name: known.includes(base) ? base : 'ok' };
}

/** Answer text the fake gives for a last user message. */
export function answerText(userText, drip = false) {
  return `echo: ${userText}` + (drip ? ' ✓' : '');
}

/** Splits text into n pieces by code points (never inside a UTF-8 sequence). */
export function splitPieces(text, n = 3) {
  const cps = Array.from(text);
  const size = Math.ceil(cps.length / n);
  const out = [];
  for (let i = 0; i < n; i++) out.push(cps.slice(i * size, (i + 1) * size).join(''));
  return out;
}

function textOfParts(content, partText) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map(partText).filter((s) => typeof s === 'string').join('');
}

function lastUserText(wire, body) {
  if (!body || typeof body !== 'object') return '';
  if (wire === 'gemini') {
    const turns = Array.isArray(body.contents) ? body.contents : [];
    const u = [...turns].reverse().find((c) => !c.role || c.role === 'user');
    return u && Array.isArray(u.parts) ? u.parts.map((p) => p.text ?? '').join('') : '';
  }
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  const u = [...msgs].reverse().find((m) => m && m.role === 'user');
  if (!u) return '';
  return textOfParts(u.content, (p) => (p && p.type === 'text' ? p.text : undefined));
}

// ---- error bodies -------------------------------------------------------------------

const OAI_ERR = {
  400: ['invalid_request_error', null], 401: ['invalid_request_error', 'invalid_api_key'],
  403: ['permission_error', null], 404: ['invalid_request_error', 'model_not_found'],
  429: ['requests', 'rate_limit_exceeded'], 503: ['server_error', 'overloaded'],
};
const ANT_ERR = {
  400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error',
  403: 'permission_error', 404: 'not_found_error', 409: 'conflict_error', 413: 'request_too_large',
  429: 'rate_limit_error', 500: 'api_error', 504: 'timeout_error', 529: 'overloaded_error',
};
const GEM_ERR = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

/**
 * The fake's error answer for a wire and status: {status, headers, body (object)}.
 * message overrides the default "fake upstream: status N".
 */
export function errorResponse(wire, status, message) {
  const msg = message ?? `fake upstream: status ${status}`;
  const headers = { 'content-type': 'application/json' };
  if (wire === 'anthropic') {
    const type = ANT_ERR[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    headers['request-id'] = `req_fake_${status}`;
    if (status === 429) headers['retry-after'] = '2';
    if (status === 529) headers['retry-after'] = '3';
    const m = status === 529 && !message ? 'Overloaded' : msg;
    return { status, headers, body: { type: 'error', error: { type, message: m }, request_id: `req_fake_${status}` } };
  }
  if (wire === 'gemini') {
    const st = GEM_ERR[status] ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT');
    const error = { code: status, message: msg, status: st };
    if (status === 429) error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }];
    return { status, headers, body: { error } };
  }
  const [type, code] = OAI_ERR[status] ?? [status >= 500 ? 'server_error' : 'invalid_request_error', null];
  headers['x-request-id'] = `req_fake_${status}`;
  if (status === 429) {
    Object.assign(headers, {
      'retry-after': '2', 'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '1.2s', 'x-ratelimit-limit-tokens': '200000',
      'x-ratelimit-remaining-tokens': '199412', 'x-ratelimit-reset-tokens': '175ms',
    });
  }
  return { status, headers, body: { error: { message: msg, type, param: null, code } } };
}

// ---- OpenAI -----------------------------------------------------------------------

const openai = {
  name: 'openai',
  frame: (obj) => `data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`,
  headers: (seq) => ({ 'x-request-id': `req_fake_${seq}` }),
  body(ctx, text) {
    const message = { role: 'assistant', content: text, refusal: null };
    let finish = 'stop';
    if (ctx.sc.name === 'tool') {
      message.content = null;
      message.tool_calls = [{ id: 'call_abc123', type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }];
      finish = 'tool_calls';
    }
    const out = { id: `chatcmpl-fake${ctx.seq}`, object: 'chat.completion', created: CREATED, model: ctx.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }] };
    if (ctx.sc.name !== 'no-usage') out.usage = { ...USAGE.openai, prompt_tokens_details: { cached_tokens: 0 } };
    out.system_fingerprint = 'fp_fake';
    return out;
  },
  stream(ctx, pieces) {
    const withUsage = !!(ctx.body?.stream_options?.include_usage) && ctx.sc.name !== 'no-usage';
    const chunk = (delta, finish) => {
      const c = { id: `chatcmpl-fake${ctx.seq}`, object: 'chat.completion.chunk', created: CREATED, model: ctx.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
      if (withUsage) c.usage = null;
      return this.frame(c);
    };
    let head = [chunk({ role: 'assistant', content: '' }, null)];
    let content = pieces.map((p) => chunk({ content: p }, null));
    let finish = 'stop';
    if (ctx.sc.name === 'tool') {
      head = [chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_abc123', type: 'function',
        function: { name: 'get_weather', arguments: '' } }] }, null)];
      content = ['{"city":', '"Oslo"}'].map((a) => chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] }, null));
      finish = 'tool_calls';
    }
    const tail = [chunk({}, finish)];
    if (withUsage) {
      tail.push(this.frame({ id: `chatcmpl-fake${ctx.seq}`, object: 'chat.completion.chunk', created: CREATED,
        model: ctx.model, choices: [], usage: { ...USAGE.openai, prompt_tokens_details: { cached_tokens: 0 } } }));
    }
    tail.push('data: [DONE]\n\n');
    return { head, content, tail,
      malformed: `data: {"id":"chatcmpl-fake${ctx.seq}","object":"chat.completion.chunk","choices":[{\n\n`,
      error: this.frame({ error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded' } }) };
  },
};

// ---- Anthropic ------------------------------------------------------------------

const anthropic = {
  name: 'anthropic',
  frame: (type, obj) => `event: ${type}\ndata: ${JSON.stringify(obj)}\n\n`,
  headers: (seq) => ({ 'request-id': `req_fake_${seq}` }),
  usage: (ctx) => (ctx.sc.name === 'no-usage' ? undefined
    : { ...USAGE.anthropic, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }),
  body(ctx, text) {
    let content = [{ type: 'text', text }];
    let stop = 'end_turn';
    if (ctx.sc.name === 'tool') {
      content = [{ type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_01abc', name: 'get_weather', input: { city: 'Oslo' } }];
      stop = 'tool_use';
    }
    const out = { id: `msg_fake${ctx.seq}`, type: 'message', role: 'assistant', model: ctx.model, content,
      stop_reason: stop, stop_sequence: null };
    const u = this.usage(ctx);
    if (u) out.usage = u;
    return out;
  },
  stream(ctx, pieces) {
    const f = this.frame;
    const u = this.usage(ctx);
    const message = { id: `msg_fake${ctx.seq}`, type: 'message', role: 'assistant', model: ctx.model, content: [],
      stop_reason: null, stop_sequence: null };
    if (u) message.usage = { ...u, output_tokens: 1 };
    const head = [f('message_start', { type: 'message_start', message }),
      f('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      f('ping', { type: 'ping' })];
    const delta = (i, d) => f('content_block_delta', { type: 'content_block_delta', index: i, delta: d });
    let content = pieces.map((p) => delta(0, { type: 'text_delta', text: p }));
    let stop = 'end_turn';
    const mid = [];
    if (ctx.sc.name === 'tool') {
      content = [delta(0, { type: 'text_delta', text: 'Checking.' }),
        delta(1, { type: 'input_json_delta', partial_json: '{"city":' }),
        delta(1, { type: 'input_json_delta', partial_json: '"Oslo"}' })];
      mid.push(f('content_block_stop', { type: 'content_block_stop', index: 0 }),
        f('content_block_start', { type: 'content_block_start', index: 1,
          content_block: { type: 'tool_use', id: 'toolu_01abc', name: 'get_weather', input: {} } }));
      content.splice(1, 0, ...mid);
      stop = 'tool_use';
    }
    const md = { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null } };
    if (u) md.usage = { output_tokens: u.output_tokens };
    const tail = [f('content_block_stop', { type: 'content_block_stop', index: ctx.sc.name === 'tool' ? 1 : 0 }),
      f('message_delta', md), f('message_stop', { type: 'message_stop' })];
    return { head, content, tail,
      malformed: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{\n\n',
      error: f('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }) };
  },
};

// ---- Gemini -----------------------------------------------------------------------

const gemini = {
  name: 'gemini',
  frame: (obj) => `data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\r\n\r\n`,
  headers: () => ({}),
  resp(ctx, parts, finish, usage) {
    const cand = { content: { role: 'model', parts }, index: 0 };
    if (finish) cand.finishReason = finish;
    const out = { candidates: [cand] };
    if (usage && ctx.sc.name !== 'no-usage') out.usageMetadata = usage;
    out.modelVersion = `${ctx.model}-001`;
    out.responseId = `resp-fake-${ctx.seq}`;
    return out;
  },
  body(ctx, text) {
    if (ctx.sc.name === 'blocked') {
      return { promptFeedback: { blockReason: 'SAFETY' },
        usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } };
    }
    const parts = ctx.sc.name === 'tool'
      ? [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] : [{ text }];
    return this.resp(ctx, parts, 'STOP', { ...USAGE.gemini });
  },
  stream(ctx, pieces) {
    const P = USAGE.gemini.promptTokenCount;
    const usage = (n) => ({ promptTokenCount: P, candidatesTokenCount: n, totalTokenCount: P + n });
    let content = pieces.map((p, i) => this.frame(this.resp(ctx, [{ text: p }], null, usage(i + 1))));
    let tail = [this.frame(this.resp(ctx, [{ text: '' }], 'STOP', { ...USAGE.gemini }))];
    if (ctx.sc.name === 'tool') {
      content = [this.frame(this.resp(ctx, [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }],
        null, usage(2)))];
      tail = [this.frame(this.resp(ctx, [{ text: '' }], 'STOP', { ...USAGE.gemini }))];
    } else if (ctx.sc.name === 'blocked') {
      content = [];
      tail = [this.frame(this.body(ctx, ''))];
    }
    return { head: [], content, tail,
      malformed: 'data: {"candidates":[{"content":\r\n\r\n',
      error: this.frame({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }) };
  },
};

const WIRES = { openai, anthropic, gemini };

// ---- embeddings -------------------------------------------------------------------

function hash32(s) {
  let h = 2166136261;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

/** The fake's deterministic embedding of text in dims dimensions (3 decimals). */
export function fakeEmbedding(text, dims = 4) {
  const out = [];
  for (let j = 0; j < dims; j++) out.push(((hash32(`${text}#${j}`) % 2001) - 1000) / 1000);
  return out;
}

function toBase64F32(vec) {
  const b = Buffer.alloc(vec.length * 4);
  vec.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b.toString('base64');
}

function openaiEmbeddings(ctx) {
  const input = ctx.body?.input;
  const list = Array.isArray(input) ? input : [input];
  const dims = Number.isInteger(ctx.body?.dimensions) ? ctx.body.dimensions : 4;
  const b64 = ctx.body?.encoding_format === 'base64';
  let tokens = 0;
  const data = list.map((t, index) => {
    const s = typeof t === 'string' ? t : JSON.stringify(t);
    tokens += s.split(/\s+/).filter(Boolean).length || 1;
    const v = fakeEmbedding(s, dims);
    return { object: 'embedding', index, embedding: b64 ? toBase64F32(v) : v };
  });
  const out = { object: 'list', data, model: ctx.model };
  if (ctx.sc.name !== 'no-usage') out.usage = { prompt_tokens: tokens, total_tokens: tokens };
  return out;
}

function geminiEmbeddings(ctx) {
  const reqs = Array.isArray(ctx.body?.requests) ? ctx.body.requests : [];
  return { embeddings: reqs.map((r) => {
    const text = (r?.content?.parts ?? []).map((p) => p.text ?? '').join('');
    const dims = Number.isInteger(r?.outputDimensionality) ? r.outputDimensionality : 4;
    return { values: fakeEmbedding(text, dims) };
  }) };
}

// ---- rerank -----------------------------------------------------------------------

const words = (s) => String(s ?? '').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);

/**
 * The fake's relevance of doc to query, in [0, 1) with 4 decimals: 0.9 times the share of
 * query words found in doc, plus a small deterministic part from a hash of both.
 */
export function fakeRerankScore(query, doc) {
  const q = words(query);
  const d = new Set(words(doc));
  const share = q.length ? q.filter((w) => d.has(w)).length / q.length : 0;
  return Math.round((share * 0.9 + (hash32(`${query}\u0000${doc}`) % 1000) / 10000) * 10000) / 10000;
}

/** Which rerank API the fake imitates for a model name. */
export function rerankFlavour(model) {
  const base = String(model ?? '').split('~')[0];
  return ['voyage', 'tei', 'vllm', 'jina', 'unsorted'].includes(base) ? base : 'cohere';
}

function rerankAnswer(ctx) {
  const b = ctx.body;
  const raw = Array.isArray(b.documents) ? b.documents : b.texts;
  const docs = raw.map((d) => (typeof d === 'string' ? d : typeof d?.text === 'string' ? d.text : ''));
  const flavour = rerankFlavour(ctx.model);
  const ranked = docs.map((text, index) => ({ index, text, score: fakeRerankScore(b.query, text) }));
  const sorted = flavour === 'unsorted' ? ranked : [...ranked].sort((x, y) => y.score - x.score || x.index - y.index);
  const cut = (n) => (Number.isInteger(n) && n > 0 ? sorted.slice(0, n) : sorted);
  const tokens = words(b.query).length * docs.length + docs.reduce((n, d) => n + words(d).length, 0);
  const usage = ctx.sc.name !== 'no-usage';
  if (flavour === 'tei') {
    return sorted.map((r) => ({ index: r.index, score: r.score, ...(b.return_text ? { text: r.text } : {}) }));
  }
  if (flavour === 'voyage') {
    const data = cut(b.top_k).map((r) => ({ index: r.index, relevance_score: r.score,
      ...(b.return_documents ? { document: r.text } : {}) }));
    return { object: 'list', data, model: ctx.model, ...(usage ? { usage: { total_tokens: tokens } } : {}) };
  }
  if (flavour === 'vllm') {
    const results = cut(b.top_n).map((r) => ({ index: r.index, document: { text: r.text }, relevance_score: r.score }));
    return { id: `rerank-fake${ctx.seq}`, model: ctx.model,
      ...(usage ? { usage: { prompt_tokens: tokens, total_tokens: tokens } } : {}), results };
  }
  if (flavour === 'jina') {
    const results = cut(b.top_n).map((r) => ({ index: r.index, relevance_score: r.score,
      ...(b.return_documents !== false ? { document: { text: r.text } } : {}) }));
    return { model: ctx.model, ...(usage ? { usage: { total_tokens: tokens } } : {}), results };
  }
  const results = cut(b.top_n).map((r) => ({ index: r.index, relevance_score: r.score }));
  const out = { id: `rr-fake-${ctx.seq}`, results };
  if (usage) out.meta = { api_version: { version: '2' }, billed_units: { search_units: 1 } };
  return out;
}

// ---- HTTP plumbing ------------------------------------------------------------------

function sendJson(res, status, headers, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const buf = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': buf.length });
  res.end(buf);
}

function writeAsync(res, chunk) {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve(false);
    res.write(chunk, () => resolve(true));
  });
}

async function writeDrip(res, chunk, gapMs = 1) {
  const bytes = Buffer.from(chunk, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    if (res.destroyed) return false;
    await writeAsync(res, bytes.subarray(i, i + 1));
    await sleep(gapMs);
  }
  return true;
}

function destroySocket(res) {
  const s = res.socket;
  if (s && !s.destroyed) s.destroy();
}

/** Sends events one by one; then ends the response ('end') or closes the socket ('destroy'). */
async function sendEvents(res, events, { gapMs = 0, drip = false, finish = 'end' }) {
  for (let i = 0; i < events.length; i++) {
    if (res.destroyed) return;
    if (i > 0 && gapMs > 0) await sleep(gapMs);
    if (drip) await writeDrip(res, events[i]);
    else await writeAsync(res, events[i]);
  }
  if (finish === 'destroy') destroySocket(res);
  else if (!res.destroyed) res.end();
}

async function sendBody(res, ctx, status, headers, text) {
  const buf = Buffer.from(text, 'utf8');
  const name = ctx.sc.name;
  if (name === 'reset-after-first') {
    res.writeHead(status, { ...headers, 'content-length': buf.length });
    await writeAsync(res, buf.subarray(0, buf.length >> 1));
    destroySocket(res);
    return;
  }
  if (name === 'slow-body' || name === 'drip') {
    res.writeHead(status, { ...headers, 'content-length': buf.length });
    res.flushHeaders();
    if (name === 'drip') {
      for (let i = 0; i < buf.length && !res.destroyed; i++) {
        await writeAsync(res, buf.subarray(i, i + 1));
        await sleep(1);
      }
    } else {
      await writeAsync(res, buf.subarray(0, buf.length >> 1));
      await sleep(ctx.sc.ms);
      await writeAsync(res, buf.subarray(buf.length >> 1));
    }
    if (!res.destroyed) res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': buf.length });
  res.end(buf);
}

async function answerNonStream(res, ctx, wire) {
  const name = ctx.sc.name;
  const headers = { 'content-type': 'application/json', ...wire.headers(ctx.seq) };
  if (name === 'error-event') {
    const e = errorResponse(wire.name, wire.name === 'anthropic' ? 529 : 503);
    return sendJson(res, e.status, e.headers, e.body);
  }
  if (name === 'malformed-chunk') return sendBody(res, ctx, 200, headers, 'this is not json {');
  const full = JSON.stringify(ctx.kind === 'rerank' ? rerankAnswer(ctx)
    : ctx.kind === 'embed' ? ctx.embed(ctx) : wire.body(ctx, ctx.text));
  if (name === 'cut-mid') return sendBody(res, ctx, 200, headers, full.slice(0, full.length >> 1));
  return sendBody(res, ctx, 200, headers, full);
}

async function answerStream(res, ctx, wire) {
  const name = ctx.sc.name;
  const ev = wire.stream(ctx, splitPieces(ctx.text, 3));
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache',
    ...wire.headers(ctx.seq) });
  res.flushHeaders();
  const opt = { gapMs: name === 'slow-body' ? ctx.sc.ms : 0, drip: name === 'drip' };
  const { head, content, tail } = ev;
  switch (name) {
    case 'reset-after-first':
      return sendEvents(res, [...head, content[0]], { ...opt, finish: 'destroy' });
    case 'cut-mid':
      return sendEvents(res, [...head, ...content.slice(0, 3)], opt);
    case 'malformed-chunk':
      return sendEvents(res, [...head, content[0], ev.malformed, ...content.slice(1), ...tail], opt);
    case 'error-event':
      return sendEvents(res, [...head, ...content.slice(0, 2), ev.error], opt);
    default:
      return sendEvents(res, [...head, ...content, ...tail], opt);
  }
}

/** Runs one model call: prelude scenarios, then the answer in the right shape. */
async function answer(res, ctx, wire) {
  const sc = ctx.sc;
  if (sc.name === 'hang') return;
  if (sc.name === 'reset-before') return destroySocket(res);
  if (sc.name === 'slow-headers') await sleep(sc.ms);
  if (res.destroyed) return;
  if (sc.name === 'status') {
    const e = errorResponse(wire.name, sc.status);
    return sendJson(res, e.status, e.headers, e.body);
  }
  if (ctx.stream && ctx.kind === 'chat') return answerStream(res, ctx, wire);
  return answerNonStream(res, ctx, wire);
}

function checkAuth(wire, req, url, apiKey) {
  if (wire === 'openai') {
    const h = req.headers.authorization ?? '';
    return h === `Bearer ${apiKey}` ? null : errorResponse('openai', 401, 'Incorrect API key provided.');
  }
  if (wire === 'anthropic') {
    if (req.headers['x-api-key'] !== apiKey) return errorResponse('anthropic', 401, 'invalid x-api-key');
    if (!req.headers['anthropic-version']) {
      return errorResponse('anthropic', 400, 'anthropic-version: header is required');
    }
    return null;
  }
  const k = req.headers['x-goog-api-key'] ?? url.searchParams.get('key');
  if (k === apiKey) return null;
  const e = errorResponse('gemini', 400, 'API key not valid. Please pass a valid API key.');
  e.body.error.details = [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID',
    domain: 'googleapis.com' }];
  return e;
}

/** Wire-level request validation; an error response or null. */
function validate(ctx) {
  const b = ctx.body;
  if (!b || typeof b !== 'object' || Array.isArray(b)) {
    return errorResponse(ctx.wire.name, 400, 'request body is not a JSON object');
  }
  if (ctx.kind === 'rerank' && (typeof b.query !== 'string' || !Array.isArray(b.documents ?? b.texts))) {
    return errorResponse('openai', 400, 'query (a string) and documents (an array) are required');
  }
  if (ctx.kind !== 'chat') return null;
  if (ctx.wire.name === 'anthropic') {
    if (!Number.isInteger(b.max_tokens)) return errorResponse('anthropic', 400, 'max_tokens: Field required');
    if (!Array.isArray(b.messages)) return errorResponse('anthropic', 400, 'messages: Field required');
  } else if (ctx.wire.name === 'openai') {
    if (!Array.isArray(b.messages)) return errorResponse('openai', 400, "Missing required parameter: 'messages'.");
  } else if (!Array.isArray(b.contents)) {
    return errorResponse('gemini', 400, 'contents is required');
  }
  return null;
}

/** Which API a request is for: {wire, kind, model, stream} or null. */
function routeOf(method, path, url, body) {
  let m;
  if (method === 'POST' && path.endsWith('/chat/completions')) {
    return { wire: openai, kind: 'chat', model: body?.model, stream: body?.stream === true };
  }
  if (method === 'POST' && path.endsWith('/embeddings')) {
    return { wire: openai, kind: 'embed', model: body?.model, stream: false, embed: openaiEmbeddings };
  }
  if (method === 'POST' && path.endsWith('/rerank')) {
    return { wire: openai, kind: 'rerank', model: body?.model, stream: false };
  }
  if (method === 'GET' && path.endsWith('/models')) return { wire: openai, kind: 'models', model: null };
  if (method === 'POST' && path.endsWith('/messages')) {
    return { wire: anthropic, kind: 'chat', model: body?.model, stream: body?.stream === true };
  }
  if (method === 'POST' && (m = /\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(path))) {
    const model = decodeURIComponent(m[1]);
    if (m[2] === 'batchEmbedContents') {
      return { wire: gemini, kind: 'embed', model, stream: false, embed: geminiEmbeddings };
    }
    return { wire: gemini, kind: 'chat', model, stream: m[2] === 'streamGenerateContent' };
  }
  return null;
}

function readBody(req, limit = 16 << 20) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > limit) reject(new Error('body too large'));
      else parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/**
 * Starts the fake. Returns {port, url, server, requests, clear(), script(model, responses), close()}.
 * requests is the live array behind GET /__requests.
 */
export async function startFakeUpstream({ port = 0, host = '127.0.0.1', apiKey = API_KEY, tls = null } = {}) {
  const requests = [];
  const scripts = new Map();
  const sockets = new Set();
  let seq = 0;

  async function handle(req, res) {
    const url = new URL(req.url, 'http://fake');
    const path = url.pathname;
    const raw = await readBody(req);
    const bodyText = raw.toString('utf8');
    let body = null;
    try { body = bodyText.length ? JSON.parse(bodyText) : null; } catch { body = null; }

    if (path === '/__health') return sendJson(res, 200, {}, '"ok"');
    if (path === '/__requests') {
      if (req.method === 'DELETE') requests.length = 0;
      return sendJson(res, 200, {}, req.method === 'DELETE' ? { cleared: true } : requests);
    }
    if (path === '/__script') {
      if (req.method === 'DELETE') scripts.clear();
      else if (body && typeof body.model === 'string' && Array.isArray(body.responses)) {
        scripts.set(body.model, [...(scripts.get(body.model) ?? []), ...body.responses]);
      } else return sendJson(res, 400, {}, { error: 'want {"model":"x","responses":[...]}' });
      return sendJson(res, 200, {}, { ok: true });
    }

    const route = routeOf(req.method, path, url, body);
    const rec = { seq: ++seq, method: req.method, path, query: Object.fromEntries(url.searchParams),
      headers: req.headers, body, bodyText: body === null ? bodyText : undefined,
      wire: route?.wire.name ?? null, model: route?.model ?? null, stream: route?.stream ?? false };
    requests.push(rec);
    if (!route) return sendJson(res, 404, {}, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: null } });

    const authErr = checkAuth(route.wire.name, req, url, apiKey);
    if (authErr) return sendJson(res, authErr.status, authErr.headers, authErr.body);
    if (route.kind === 'models') {
      return sendJson(res, 200, {}, { object: 'list', data: ['ok', 'tool', 'no-usage'].map((id) =>
        ({ id, object: 'model', created: CREATED, owned_by: 'fake' })) });
    }
    const ctx = { ...route, seq: rec.seq, body, sc: scenarioOf(route.model) };
    const bad = validate(ctx);
    if (bad) return sendJson(res, bad.status, bad.headers, bad.body);

    const queue = scripts.get(route.model);
    const step = queue && queue.length ? queue.shift() : null;
    const scriptedText = step && typeof step.text === 'string' ? step.text : null;
    if (step && (step.scenario || scriptedText !== null)) ctx.sc = scenarioOf(step.scenario ?? 'ok');
    else if (step) {
      const e = errorResponse(route.wire.name, step.status ?? 500);
      const b = step.body === undefined ? e.body : step.body;
      return sendJson(res, e.status, { ...e.headers, ...(step.headers ?? {}) }, b);
    }
    ctx.text = scriptedText ?? answerText(lastUserText(route.wire.name, body), ctx.sc.name === 'drip');
    return answer(res, ctx, route.wire);
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, {}, { error: { message: String(err), type: 'fake_error' } });
      else destroySocket(res);
    });
  };
  // tls: {key, cert, name}: HTTPS, and the URL names `name` (the certificate's host)
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, onRequest) : http.createServer(onRequest);
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 30000;
  server.on('connection', (s) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = server.address().port;
  return {
    port: actual,
    url: tls ? `https://${tls.name ?? host}:${actual}` : `http://${host}:${actual}`,
    server,
    requests,
    clear: () => { requests.length = 0; },
    script: (model, responses) => { scripts.set(model, [...(scripts.get(model) ?? []), ...responses]); },
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

async function main(argv) {
  let port = 0;
  let host = '127.0.0.1';
  let apiKey = API_KEY;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--host') host = argv[++i];
    else if (argv[i] === '--api-key') apiKey = argv[++i];
    else if (/^\d+$/.test(argv[i])) port = Number(argv[i]);
    else {
      process.stderr.write('usage: fake-upstream.mjs [PORT] [--host H] [--api-key K]\n');
      process.exit(2);
    }
  }
  const fake = await startFakeUpstream({ port, host, apiKey });
  process.stdout.write(`LISTENING ${fake.port}\n`);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function isMain() {
  try {
    return !!process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`fake-upstream: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}

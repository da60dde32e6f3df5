// gateway.mjs - runs the real llmgw binary for integration tests: writes a
// temp YAML config (system.md 4), starts `llmgw serve --config FILE` on a
// free port, waits for GET /healthz 200, captures stdout (one JSON log line
// per request) and stderr, and stops it with SIGTERM, checking exit 0.
// Every started process is also killed when the test process exits.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { API_KEY } from './fake.mjs';
import { request, sleep } from './http.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.LLMGW_BIN || path.join(REPO, 'build/llmgw');
const START_TIMEOUT_MS = Number(process.env.LLMGW_START_TIMEOUT_MS || 30000);

const live = new Set();
const tempDirs = new Set();
process.on('exit', () => {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---- YAML ---------------------------------------------------------------------------

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCompound = (v) => (Array.isArray(v) && v.length > 0) || (isObj(v) && Object.keys(v).length > 0);

function yamlScalar(v) {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return v.length ? JSON.stringify(v) : '[]';
  if (isObj(v)) return '{}';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

const yamlKey = (k) => (/^[A-Za-z0-9_][A-Za-z0-9_.\-]*$/.test(k) ? k : JSON.stringify(k));

function yamlLines(v, ind) {
  const pad = ' '.repeat(ind);
  const out = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isObj(item) && Object.keys(item).length) {
        const sub = yamlLines(item, ind + 2);
        sub[0] = `${pad}- ${sub[0].slice(ind + 2)}`;
        out.push(...sub);
      } else {
        out.push(`${pad}- ${yamlScalar(item)}`);
      }
    }
    return out;
  }
  for (const [k, val] of Object.entries(v)) {
    if (val === undefined) continue;
    if (isCompound(val)) {
      out.push(`${pad}${yamlKey(k)}:`);
      out.push(...yamlLines(val, ind + 2));
    } else {
      out.push(`${pad}${yamlKey(k)}: ${yamlScalar(val)}`);
    }
  }
  return out;
}

/** Block-style YAML for a plain object (strings double-quoted). */
export function toYAML(obj) {
  return `${yamlLines(obj, 0).join('\n')}\n`;
}

// ---- configs ------------------------------------------------------------------------

/** Providers oai (openai), ant (anthropic), gem (gemini), all pointing at the fake. */
export function fakeProviders(fake) {
  return [
    { name: 'oai', kind: 'openai', base_url: fake.url, api_key: API_KEY },
    { name: 'ant', kind: 'anthropic', base_url: fake.url, api_key: API_KEY },
    { name: 'gem', kind: 'gemini', base_url: fake.url, api_key: API_KEY },
  ];
}

export const PRICE = { input_per_mtok: 1, output_per_mtok: 2 };

/** A models entry with the test price. */
export function model(alias, provider, upstream) {
  return { alias, provider, model: upstream, price: { ...PRICE } };
}

export const BASE_LIMITS = {
  upstream_timeout_ms: 15000, connect_timeout_ms: 2000, first_byte_timeout_ms: 5000,
  idle_timeout_ms: 5000, retry_budget: 3, drain_timeout_ms: 10000,
};

/**
 * A config object for the fake: auth off, workers 2, the three fake providers,
 * the given models/fallbacks, the catalog side off (ask.engine: none); extra
 * top-level keys (ask too) and limits merge in.
 */
export function gatewayConfig(fake, { models = [], fallbacks, limits = {}, ...rest } = {}) {
  const cfg = {
    auth: { enabled: false },
    workers: 2,
    limits: { ...BASE_LIMITS, ...limits },
    providers: fake ? fakeProviders(fake) : [],
    models,
  };
  if (fallbacks) cfg.fallbacks = fallbacks;
  cfg.telemetry = { log: 'stdout' };
  cfg.ask = { engine: 'none' }; // gateway suites: no catalog (catalog.test.mjs sets its own)
  return { ...cfg, ...rest };
}

/** Writes cfg (with listen 127.0.0.1:port) to a new temp file; returns {file, dir, port}. */
export async function writeConfig(cfg, { port } = {}) {
  const p = port ?? await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgw-test-'));
  tempDirs.add(dir);
  const file = path.join(dir, 'llmgw.yaml');
  fs.writeFileSync(file, toYAML({ listen: `127.0.0.1:${p}`, ...cfg }));
  return { file, dir, port: p };
}

/** Runs `llmgw ARGS...` to completion; returns {code, stdout, stderr}. */
export function runCli(args, { timeoutMs = 30000, env } = {}) {
  const r = spawnSync(BIN, args, { cwd: REPO, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** `llmgw keys create --tenant T --config FILE`: returns the printed key (asserts exit 0). */
export function createKey(file, tenant, { admin = false } = {}) {
  const args = ['keys', 'create', '--tenant', tenant, '--config', file];
  if (admin) args.push('--admin');
  const r = runCli(args);
  assert.equal(r.code, 0, `keys create exit code (stderr: ${r.stderr})`);
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  assert.ok(lines.length >= 1, 'keys create printed a key');
  return lines.at(-1);
}

// ---- the server ---------------------------------------------------------------------

/**
 * Starts llmgw. opts: {config (object) | file + port (existing file), env, args}.
 * Registers t.after(stop) when t is given (stop asserts exit code 0).
 * Returns {port, url, file, dir, proc, stdout(), stderr(), logs(), waitLog(pred, ms),
 *          waitStderr(re, ms), rewrite(cfg), signal(sig), stop({timeoutMs}), kill()}.
 */
export async function startGateway(t, opts = {}) {
  let { file, port, dir } = opts;
  if (!file) ({ file, port, dir } = await writeConfig(opts.config ?? {}, { port: opts.port }));
  if (!fs.existsSync(BIN)) throw new Error(`llmgw binary not found at ${BIN} (set LLMGW_BIN)`);
  const proc = spawn(BIN, ['serve', '--config', file, ...(opts.args ?? [])], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(opts.env ?? {}) },
  });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stdout.on('data', (c) => { out += c; });
  proc.stderr.on('data', (c) => { err += c; });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
    live.delete(proc);
    resolve({ code, signal });
  }));
  let exitInfo = null;
  exited.then((x) => { exitInfo = x; });

  // The end of stderr, or from a sanitizer's first ERROR line when there is one.
  const errTail = (n = 4000) => {
    const i = err.search(/==\d+==ERROR|runtime error:/);
    return i >= 0 ? err.slice(Math.max(0, i - 200), i - 200 + n) : err.slice(-n);
  };
  const gw = {
    port, url: `http://127.0.0.1:${port}`, file, dir, proc, exited, errTail,
    stdout: () => out,
    stderr: () => err,
    /** JSON objects printed one per line on stdout. */
    logs: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => {
      try { return JSON.parse(l); } catch { return null; }
    }).filter(Boolean),
    /** Waits for a log line matching pred among the lines from index `from` on. */
    async waitLog(pred, ms = 5000, from = 0) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = gw.logs().slice(from).find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) assert.fail(`no matching log line within ${ms} ms; stdout:\n${out.slice(-3000)}`);
        await sleep(25);
      }
    },
    async waitStderr(re, ms = 5000, from = 0) {
      const deadline = Date.now() + ms;
      while (!re.test(err.slice(from))) {
        if (Date.now() > deadline) assert.fail(`stderr did not match ${re} within ${ms} ms; stderr:\n${err.slice(-3000)}`);
        await sleep(25);
      }
      return err.slice(from);
    },
    /** Rewrites the config file (listen kept) without signalling. */
    rewrite(cfg) {
      fs.writeFileSync(file, typeof cfg === 'string' ? cfg : toYAML({ listen: `127.0.0.1:${port}`, ...cfg }));
    },
    signal: (sig) => proc.kill(sig),
    running: () => exitInfo === null,
    /** SIGTERM, wait; SIGKILL after timeoutMs. Asserts exit code 0 unless check is false. */
    async stop({ timeoutMs = 15000, check = true } = {}) {
      if (exitInfo === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      if (dir && !opts.keepDir) fs.rmSync(dir, { recursive: true, force: true });
      if (check) {
        assert.deepEqual(exitInfo, { code: 0, signal: null },
          `llmgw exit after SIGTERM (stderr:\n${errTail()})`);
      }
      return exitInfo;
    },
    async kill() {
      if (exitInfo === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  if (t) t.after(() => gw.stop());

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitInfo !== null) {
      throw new Error(`llmgw exited (${JSON.stringify(exitInfo)}) before /healthz answered; stderr:\n${errTail()}`);
    }
    const r = await request(gw.url, '/healthz', { timeoutMs: 1000 });
    if (r.status === 200) break;
    if (Date.now() > deadline) {
      await gw.kill();
      throw new Error(`llmgw /healthz not 200 within ${START_TIMEOUT_MS} ms (last: ${r.status ?? r.error}); stderr:\n${err.slice(-3000)}`);
    }
    await sleep(50);
  }
  return gw;
}

/** Chat completion request body. */
export function chatBody(modelName, text = 'hello', extra = {}) {
  return { model: modelName, messages: [{ role: 'user', content: text }], ...extra };
}

/** POST /v1/chat/completions to the gateway. */
export function chat(gw, body, { headers = {}, timeoutMs = 20000, onData } = {}) {
  return request(gw.url, '/v1/chat/completions', { body, headers, timeoutMs, onData });
}

/**
 * The log line of a request: by its x-request-id when the response has one, else the
 * first line for route after log index `mark` (take mark = gw.logs().length before the request).
 */
export async function logFor(gw, res, mark = 0, route = '/v1/chat/completions', ms = 5000) {
  const id = res.headers?.['x-request-id'];
  if (id) return gw.waitLog((l) => l.request_id === id, ms);
  return gw.waitLog((l) => l.route === route, ms, mark);
}

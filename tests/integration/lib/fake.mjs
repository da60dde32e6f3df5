// fake.mjs - starts tests/fake/fake-upstream.mjs for a test: in this process
// (default; nothing to leak) or as a child process speaking the CLI contract
// ("LISTENING <port>" on stdout), and reads its control API.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startFakeUpstream } from '../../fake/fake-upstream.mjs';
import { request, json } from './http.mjs';

export const FAKE_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fake/fake-upstream.mjs');
export { API_KEY, USAGE, CREATED, answerText, splitPieces, errorResponse, fakeEmbedding } from '../../fake/fake-upstream.mjs';

/**
 * Starts the fake in this process on a random port and registers t.after(close)
 * when t is given. Returns the handle of startFakeUpstream plus:
 *   seen()     -> the requests received (array, live)
 *   models()   -> the model of every request received, in order
 *   reset()    -> clears requests and scripts
 */
export async function startFake(t, opts = {}) {
  const fake = await startFakeUpstream({ port: 0, ...opts });
  if (t) t.after(() => fake.close());
  fake.seen = () => fake.requests.filter((r) => r.wire !== null);
  fake.models = () => fake.seen().map((r) => r.model);
  fake.reset = async () => {
    fake.clear();
    await request(fake.url, '/__script', { method: 'DELETE' });
  };
  return fake;
}

/**
 * Spawns the fake's CLI (node fake-upstream.mjs 0) and waits for "LISTENING <port>".
 * Returns {port, url, proc, stop()}; stop sends SIGTERM and resolves to the exit code.
 */
export function startFakeProcess(t, { timeoutMs = 10000, args = [] } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [FAKE_PATH, '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const stop = () => new Promise((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return res(proc.exitCode);
      const k = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.once('exit', (code) => { clearTimeout(k); res(code); });
      proc.kill('SIGTERM');
    });
    if (t) t.after(stop);
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`fake did not print LISTENING within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    proc.stderr.on('data', (c) => { err += c; });
    proc.stdout.on('data', (c) => {
      out += c;
      const m = /^LISTENING (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({ port, url: `http://127.0.0.1:${port}`, proc, stop, stdout: () => out, stderr: () => err });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fake exited with ${code} before LISTENING; stderr: ${err}`));
    });
  });
}

/** GET /__requests of a fake given by URL (for a fake in another process). */
export async function fetchRequests(url) {
  const r = await request(url, '/__requests');
  return json(r.body);
}

// bench/ask_load.mjs - /v1/ask throughput for bench/bench_ask.sh: C clients,
// each on its own keep-alive connection, post the questions of
// tests/data/ask_eval.tsv in rotation (a shared counter, so every client
// asks a different one) for SECONDS, then prints requests/s, latency
// p50/p99 and what the server said it spent (timings_ms.total, execute).
// Usage: node bench/ask_load.mjs URL TSV C SECONDS
import fs from 'node:fs';
import http from 'node:http';

const [url, tsv, cArg = '8', secArg = '60'] = process.argv.slice(2);
const C = Number(cArg);
const SECONDS = Number(secArg);
const questions = fs.readFileSync(tsv, 'utf8').split('\n')
  .filter((l) => l && !l.startsWith('#') && !l.startsWith('id\t'))
  .map((l) => l.split('\t')[2])
  .filter(Boolean);
const target = new URL('/v1/ask', url);
const agent = new http.Agent({ keepAlive: true, maxSockets: C });

function post(question) {
  const body = JSON.stringify({ question });
  return new Promise((resolve) => {
    const req = http.request(target, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end(body);
  });
}

const pct = (v, p) => (v.length ? v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))] : 0);
const sorted = (v) => [...v].sort((a, b) => a - b);

let next = 0;
const lat = [];
const total = [];
const exec = [];
const status = {};
const reasons = {};
const t0 = performance.now();
const end = t0 + SECONDS * 1000;

async function client() {
  while (performance.now() < end) {
    const q = questions[next++ % questions.length];
    const s = performance.now();
    const r = await post(q);
    lat.push(performance.now() - s);
    status[r.status] = (status[r.status] || 0) + 1;
    if (r.status !== 200) continue;
    const a = JSON.parse(r.body);
    total.push(a.timings_ms.total);
    exec.push(a.timings_ms.execute ?? 0);
    const why = a.refused ? a.reason : 'answered';
    reasons[why] = (reasons[why] || 0) + 1;
  }
}

await Promise.all(Array.from({ length: C }, client));
const secs = (performance.now() - t0) / 1000;
const L = sorted(lat);
const T = sorted(total);
const E = sorted(exec);
const f = (x) => x.toFixed(1);
console.log(`c=${C}: ${lat.length} requests in ${secs.toFixed(1)} s = ${(lat.length / secs).toFixed(2)} req/s; ` +
  `status ${JSON.stringify(status)}; answers ${JSON.stringify(reasons)}`);
console.log(`  client latency ms: p50 ${f(pct(L, 50))}  p90 ${f(pct(L, 90))}  p99 ${f(pct(L, 99))}  max ${f(L.at(-1) ?? 0)}`);
console.log(`  server timings_ms.total: p50 ${f(pct(T, 50))}  p99 ${f(pct(T, 99))}; ` +
  `execute: p50 ${f(pct(E, 50))}  p99 ${f(pct(E, 99))}`);
console.log(`RESULT c=${C} rps=${(lat.length / secs).toFixed(2)} p50=${f(pct(L, 50))} p99=${f(pct(L, 99))} ` +
  `n=${lat.length} non200=${lat.length - (status[200] || 0)}`);
agent.destroy();

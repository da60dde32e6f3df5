// bench/conns.mjs - opens N keep-alive connections to a server, sends one
// GET /healthz on each, waits for every answer, holds them open for HOLD_MS,
// then closes. Prints "open N" when all are answered (the caller reads the
// server's RSS then). Loopback only.
import net from 'node:net';

const [port, n = '10000', holdMs = '3000'] = process.argv.slice(2);
const N = Number(n);
const socks = [];
let answered = 0;
let failed = 0;
function done() {
  console.log(`open ${answered} failed ${failed}`);
  setTimeout(() => { for (const s of socks) s.destroy(); process.exit(failed ? 1 : 0); }, Number(holdMs));
}
let started = 0;
function openOne() {
  if (started >= N) return;
  started++;
  const s = net.connect({ port: Number(port), host: '127.0.0.1' }, () => {
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  let got = false;
  s.on('data', (d) => {
    if (!got && d.toString().startsWith('HTTP/1.1 200')) {
      got = true;
      if (++answered + failed === N) done();
    }
  });
  s.on('error', () => { if (!got) { got = true; if (answered + ++failed === N) done(); } });
  socks.push(s);
  setImmediate(openOne);
}
for (let i = 0; i < 200; i++) openOne();

#!/usr/bin/env bash
# bench/rss.sh - llmgw's resident memory idle and with N open keep-alive
# connections (default 10,000), gateway only (ask.engine: none).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${LLMGW_BIN:-$ROOT/build/llmgw}
N=${N:-10000}
PORT=${PORT:-18099}
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
# 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"
cat >"$WORK/c.yaml" <<EOF
listen: 127.0.0.1:$PORT
workers: ${WORKERS:-2}
auth: {enabled: false}
limits: {keepalive_timeout_ms: 120000, header_timeout_ms: 60000, max_connections: 100000}
ask: {engine: none}
EOF
"$BIN" serve --config "$WORK/c.yaml" >/dev/null 2>"$WORK/err" &
PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }
echo "idle RSS: $(( $(rss) / 1024 )) MB ($(rss) kB)"
node "$ROOT/bench/conns.mjs" "$PORT" "$N" 4000 >"$WORK/conns.out" &
CPID=$!
for _ in $(seq 300); do grep -q '^open' "$WORK/conns.out" 2>/dev/null && break; sleep 0.1; done
cat "$WORK/conns.out"
echo "RSS with $N open keep-alive connections: $(( $(rss) / 1024 )) MB ($(rss) kB)"
wait $CPID || true

#!/usr/bin/env bash
# bench/gateway.sh - llmgw's proxy overhead next to nginx and HAProxy (and
# Portkey when TARGETS includes it), measured by ../shared/bench/peers.sh in
# one run: the same fake upstream (nginx, canned completion and canned SSE),
# wrk + upstream on core 0, the proxy under test alone on core 1.
#
# llmgw runs with everything a production request pays for: auth (hashed
# key lookup), per-IP and per-tenant rate limits, the JSON model rewrite and
# one JSON log line per request (written to a file).
#   bench/gateway.sh                       # direct, nginx, haproxy, llmgw; json + sse
#   TARGETS="direct nginx project" STREAM=0 bench/gateway.sh
#   TRACE=1 TARGETS="direct nginx project" bench/gateway.sh
#       the same with OpenTelemetry on: every request exports its spans over
#       OTLP/HTTP to a sink (an nginx on 127.0.0.1:18096 answering 200), so
#       the cost of tracing shows next to the run without it; SAMPLE_RATIO=0.1
#       sets telemetry.sample_ratio (default 1: every trace exported)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers.sh}
BIN=${LLMGW_BIN:-$ROOT/build/llmgw}
WORK=${WORK:-/tmp/llmgw-bench}
PORT=${PORT:-18090}
[ -x "$BIN" ] || { echo "build llmgw first (scripts/build.sh)"; exit 1; }
[ -f "$PEERS" ] || { echo "peers.sh not found at $PEERS (set PEERS=)"; exit 1; }
mkdir -p "$WORK"
. "$ROOT/bench/llmgw_bench_config.sh"
llmgw_bench_config "$WORK/llmgw.yaml" "$PORT" '${UPSTREAM_BASE_URL}' '${OPENAI_API_KEY}'
if [ "${TRACE:-0}" = 1 ]; then
  mkdir -p "$WORK/otlp-sink"
  cat >"$WORK/otlp-sink/nginx.conf" <<SINK
worker_processes 1;
daemon on;
pid $WORK/otlp-sink/nginx.pid;
error_log $WORK/otlp-sink/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_buffer_size 1m;
  server { listen 127.0.0.1:18096; location / { return 200; } }
}
SINK
  [ -f "$WORK/otlp-sink/nginx.pid" ] && kill "$(cat "$WORK/otlp-sink/nginx.pid")" 2>/dev/null || true
  # the collector stands in for another machine: on the proxy's core, idle in the c=1 runs
  taskset -c "${PROXY_CPU:-1}" nginx -p "$WORK/otlp-sink" -c "$WORK/otlp-sink/nginx.conf"
  trap 'kill "$(cat "$WORK/otlp-sink/nginx.pid")" 2>/dev/null || true' EXIT
  echo "telemetry: {otlp_endpoint: http://127.0.0.1:18096, sample_ratio: ${SAMPLE_RATIO:-1}}" >>"$WORK/llmgw.yaml"
  export PROJECT_NAME="llmgw (tracing on)"
fi
export PROJECT_NAME=${PROJECT_NAME:-llmgw}
export PROJECT_URL=http://127.0.0.1:$PORT/v1/chat/completions
export PROJECT_CMD="exec $BIN serve --config $WORK/llmgw.yaml >$WORK/requests.log 2>$WORK/stderr.log"
export TARGETS=${TARGETS:-"direct nginx haproxy project"}
export OUT_MD=${OUT_MD:-$WORK/peers-result.md}
bash "$PEERS"
echo "report: $OUT_MD"
echo "log lines written by llmgw: $(wc -l <"$WORK/requests.log")"

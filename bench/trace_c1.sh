#!/usr/bin/env bash
# bench/trace_c1.sh - tracing's cost at c=1, many short alternated runs (the
# diagnostic next to bench/trace_overhead.sh, which reruns the whole
# bench/gateway.sh per arm and so gets few runs).
#
# The layout of peers.sh's headline c=1 figure: wrk, the fake upstream
# (../shared/bench's nginx) and llmgw all on CPU 0; the OTLP sink (an nginx
# answering 200, standing in for the collector) on CPU 1. Each round runs
# direct (wrk -> fake upstream), then llmgw with tracing off and llmgw with
# every trace exported (telemetry.sample_ratio SAMPLE_RATIO, default 1) in
# turns (off first in odd rounds, on first in even ones, so that neither
# always runs last), each as: llmgw alone on CPU 1 under wrk -c64 for 3 s (warm-up),
# then moved to CPU 0 and wrk -t1 -c1 for SECS s. Per run it prints the
# latency percentiles and llmgw's own CPU time per request (all its
# threads, from /proc/PID/task/*/schedstat: exact, not sampled); then the
# median over the rounds per arm, and what tracing adds to the added p99
# (llmgw minus direct) as a share of the core's added p99.
#   bench/trace_c1.sh                       # 10 rounds, JSON, ~6 min
#   ROUNDS=20 MODE=sse bench/trace_c1.sh
#   SAMPLE_RATIO=0.1 bench/trace_c1.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
BIN=${LLMGW_BIN:-$ROOT/build/llmgw}
ROUNDS=${ROUNDS:-10}
SECS=${SECS:-5}
MODE=${MODE:-json}
WORK=${WORK:-/tmp/llmgw-trace-c1}
PORT=18090
[ -x "$BIN" ] || { echo "build llmgw first (scripts/build.sh)"; exit 1; }
[ -f "$SHARED/conf/fake-upstream.nginx.conf" ] || { echo "no fake upstream conf under $SHARED (set SHARED=)"; exit 1; }
for t in wrk nginx curl b2sum taskset; do command -v $t >/dev/null || { echo "needs $t"; exit 1; }; done
for p in 18080 18096 $PORT; do
  ! ss -ltn | grep -q "127.0.0.1:$p " || { echo "port $p is taken: stop what listens there first"; exit 1; }
done
mkdir -p "$WORK/up" "$WORK/sink"
UP=http://127.0.0.1:18080/v1
BODY=$SHARED/lua/request.json
if [ "$MODE" = sse ]; then UP=http://127.0.0.1:18080/stream/v1; BODY=$SHARED/lua/request-stream.json; fi

# the percentiles, from wrk's own histogram
cat >"$WORK/pct.lua" <<'LUA'
dofile(os.getenv("CHAT_LUA"))
function done(summary, latency, requests)
  local s = string.format("n=%d", summary.requests)
  for _, p in ipairs({50, 90, 95, 99, 99.9}) do s = s .. string.format(" %.0f", latency:percentile(p)) end
  io.write("RES " .. s .. "\n")
end
LUA
cat >"$WORK/sink/nginx.conf" <<SINK
worker_processes 1;
daemon on;
pid $WORK/sink/nginx.pid;
error_log $WORK/sink/error.log;
events { worker_connections 256; }
http { access_log off; client_body_buffer_size 1m;
       server { listen 127.0.0.1:18096; location / { return 200; } } }
SINK
. "$ROOT/bench/llmgw_bench_config.sh"
config() { # config <file> <tracing 0|1>
  llmgw_bench_config "$1" "$PORT" "$UP" sk-fake
  [ "$2" = 1 ] && echo "telemetry: {otlp_endpoint: http://127.0.0.1:18096, sample_ratio: ${SAMPLE_RATIO:-1}}" >>"$1"
  return 0
}
config "$WORK/off.yaml" 0
config "$WORK/on.yaml" 1

UPPID=
cleanup() {
  [ -n "$UPPID" ] && kill "$UPPID" 2>/dev/null || true
  [ -f "$WORK/sink/nginx.pid" ] && kill "$(cat "$WORK/sink/nginx.pid")" 2>/dev/null || true
  pkill -f "serve --config $WORK/" 2>/dev/null || true
}
trap cleanup EXIT
nice -n -10 taskset -c 0 nginx -p "$WORK/up" -e "$WORK/up/error.log" -c "$SHARED/conf/fake-upstream.nginx.conf" \
  >/dev/null 2>&1 </dev/null &
UPPID=$!
taskset -c 1 nginx -p "$WORK/sink" -c "$WORK/sink/nginx.conf"
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.1; done

wrk_c1() { # wrk_c1 <url> -> the RES line
  CHAT_LUA=$SHARED/lua/chat.lua BENCH_BODY_FILE=$BODY nice -n -10 taskset -c 0 \
    wrk -t1 -c1 -d"${SECS}s" -s "$WORK/pct.lua" "$1" | grep '^RES'
}
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }
run_llmgw() { # run_llmgw <off|on> -> "RES ... cpu_ns_per_request"
  nice -n -10 taskset -c 1 "$BIN" serve --config "$WORK/$1.yaml" >"$WORK/$1.log" 2>"$WORK/$1.err" </dev/null &
  local pid=$! i
  for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.1; done
  CHAT_LUA=$SHARED/lua/chat.lua BENCH_BODY_FILE=$BODY nice -n -10 taskset -c 0 \
    wrk -t2 -c64 -d3s -s "$SHARED/lua/chat.lua" http://127.0.0.1:$PORT/v1/chat/completions >/dev/null
  taskset -a -p -c 0 "$pid" >/dev/null
  local a b res n
  a=$(cpu_ns "$pid")
  res=$(wrk_c1 http://127.0.0.1:$PORT/v1/chat/completions)
  b=$(cpu_ns "$pid")
  n=$(echo "$res" | sed 's/RES n=\([0-9]*\).*/\1/')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$res $(( (b - a) / (n > 0 ? n : 1) ))"
}

echo "trace_c1: $MODE, $ROUNDS rounds of ${SECS} s at c=1, sample_ratio ${SAMPLE_RATIO:-1}, $(date -u +%FT%TZ)"
echo
echo "| round | arm | requests | p50 | p90 | p95 | p99 | p99.9 (µs) | llmgw CPU ns/request |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
: >"$WORK/results.txt"
for r in $(seq "$ROUNDS"); do
  order="direct off on"; [ $((r % 2)) = 0 ] && order="direct on off" # no arm always runs last
  for arm in $order; do
    if [ $arm = direct ]; then line="$(wrk_c1 "$UP/chat/completions") 0"; else line=$(run_llmgw $arm); fi
    echo "$r $arm $line" >>"$WORK/results.txt"
    echo "$r $arm $line" | awk '{ sub(/n=/, "", $4); printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                                  $1, $2, $4, $5, $6, $7, $8, $9, $2 == "direct" ? "-" : $10 }'
  done
done
echo
awk '
  function med(arm, col,   i, j, t, c, a) {
    c = n[arm]; for (i = 1; i <= c; i++) a[i] = v[arm, i, col]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
  { sub(/n=/, "", $4); k = ++n[$2]; for (c = 4; c <= 10; c++) v[$2, k, c] = $c
    if ($2 != "direct") added[$2, k] = $8 - d99[$1]; else d99[$1] = $8
    p99[$2, $1] = $8 }
  END {
    print "| arm | p50 | p90 | p95 | p99 | p99.9 | CPU ns/req (medians over rounds) |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    split("direct off on", arms, " ")
    for (i = 1; i <= 3; i++) { a = arms[i]
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", a, med(a, 5), med(a, 6), med(a, 7), med(a, 8), med(a, 9),
             a == "direct" ? "-" : med(a, 10) }
    for (k = 1; k <= n["off"]; k++) { v["aoff", k, 1] = added["off", k]; v["aon", k, 1] = added["on", k] }
    n["aoff"] = n["off"]; n["aon"] = n["on"]
    ao = med("aoff", 1); an = med("aon", 1)
    printf "\nadded p99 (llmgw minus direct, same round), median: off %.1f µs, on %.1f µs: tracing adds %+.1f µs = %+.1f%% of the core'"'"'s added p99\n",
           ao, an, an - ao, (ao > 0 ? 100 * (an - ao) / ao : 0)
    for (k = 1; k <= n["off"]; k++) v["pair", k, 1] = p99["on", k] - p99["off", k]
    n["pair"] = n["off"]
    printf "paired (on minus off p99 in the same round), median: %+.1f µs (steadier when the box drifts)\n", med("pair", 1)
    printf "llmgw CPU per request: off %s ns, on %s ns: tracing adds %+d ns\n", med("off", 10), med("on", 10),
           med("on", 10) - med("off", 10)
  }' "$WORK/results.txt"

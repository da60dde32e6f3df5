#!/usr/bin/env bash
# bench_ask.sh - the ask pipeline at 10M SKUs on DuckDB (issue 4):
#  1. every question of tests/data/ask_eval.tsv through gw_ask_run in one
#     process (rules planner, template formatter; bench/bench_ask.c), one
#     warm-up pass then BENCH_RUNS timed passes: per-stage p50/p99 and the
#     pipeline overhead = total - execute;
#  2. `llmgw serve` on the same catalog and bench/ask_load.mjs posting the
#     same questions in rotation to /v1/ask at each concurrency of
#     BENCH_CONC for BENCH_SECONDS: requests/s and latency p50/p99.
#   BENCH_SKUS     default 10000000
#   BENCH_DIR      where the catalog lives, generated once and reused
#                  (default /var/tmp/llmgw-bench-ask, outside the repo)
#   BENCH_RUNS     default 3 (timed passes of part 1)
#   BENCH_CONC     default "1 8"
#   BENCH_SECONDS  default 60
#   BENCH_PARTS    default "pipeline serve"
#   BENCH_BUILD    the build directory (default build), built first
#   BENCH_PORT     default 18190
# Timings depend on what else runs on the box: the load average is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
skus=${BENCH_SKUS:-10000000}
dir=${BENCH_DIR:-/var/tmp/llmgw-bench-ask}
runs=${BENCH_RUNS:-3}
conc=${BENCH_CONC:-"1 8"}
secs=${BENCH_SECONDS:-60}
parts=${BENCH_PARTS:-"pipeline serve"}
build=${BENCH_BUILD:-build}
port=${BENCH_PORT:-18190}
tsv=$PWD/tests/data/ask_eval.tsv
db=$dir/catalog-$skus.duckdb
mkdir -p "$dir"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j1 --target gwcore llmgw >/dev/null
bin=$PWD/$build/llmgw

if [ ! -f "$db" ]; then # generated once (seed 42), then reused
  "$bin" catalog generate --skus "$skus" --seed 42 --out "$db.part"
  mv "$db.part" "$db"
fi

echo "# bench_ask: $skus SKUs ($(du -h "$db" | cut -f1) DuckDB file), $(nproc) cores," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

if [[ " $parts " == *" pipeline "* ]]; then
  deps="libuv libh2o jansson libfyaml libsodium hiredis libcurl openssl"
  # shellcheck disable=SC2046,SC2086
  cc -std=c17 -O2 -D_GNU_SOURCE -DGW_SOURCE_DIR="\"$PWD\"" -Isrc -Ithird_party/duckdb \
    bench/bench_ask.c -o "$dir/bench_ask" "$build/libgwcore.a" \
    -Wl,-rpath,"$PWD/third_party/duckdb" $(pkg-config --libs $deps) -ldl -lpthread -lm
  echo "## pipeline in process: $(grep -vc -e '^#' -e '^id	' "$tsv") questions x $runs runs (+1 warm-up)"
  "$dir/bench_ask" "$db" "$tsv" "$runs"
fi

if [[ " $parts " == *" serve "* ]]; then
  cat >"$dir/llmgw.yaml" <<CONFIG
listen: 127.0.0.1:$port
auth: {enabled: false}
rate_limit:
  per_ip: {rps: 1000000, burst: 1000000}
ask:
  engine: duckdb
  duckdb: {path: $db}
CONFIG
  "$bin" serve --config "$dir/llmgw.yaml" >"$dir/serve.out" 2>"$dir/serve.err" &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 600); do # the catalog loads in the background
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$dir/serve.err"; exit 1; }
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null
  echo "## /v1/ask over HTTP (llmgw serve, default workers and thread pool), ${secs} s per concurrency"
  for c in $conc; do
    node bench/ask_load.mjs "http://127.0.0.1:$port" "$tsv" "$c" "$secs"
  done
fi

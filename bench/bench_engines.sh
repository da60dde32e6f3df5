#!/usr/bin/env bash
# bench_engines.sh - the seed question and 5 other typical catalog queries
# (tests/data/reference_questions.tsv) on DuckDB, one ClickHouse node and a
# two-shard ClickHouse cluster on this machine, at 1M and 10M SKUs: prints the
# median wall time per query and engine, and whether the answers agree.
#   BENCH_SIZES  default "1000000 10000000"
#   BENCH_RUNS   default 7 (after one warm-up run)
#   BENCH_IDS    default Q01,Q11,Q10,Q15,Q20,Q18 (seed, per region, top brands,
#                avg price per department, SKU stock lookup, SKUs out of stock)
#   BENCH_DIR    where the catalogs go (default a temporary directory)
#   BENCH_BUILD  the build directory to use (default build)
#   BENCH_CH_USER ClickHouse user for the queries: empty (default) = the
#                server's default user with readonly=1 and the limits sent in
#                the URL (120 s); llmgw_ro = the production profile (10 s cap)
# The ClickHouse servers are scripts/clickhouse.sh's (started if needed and
# stopped again if this script started them); their `retail` databases are
# replaced. The driver bench/bench_engines.c is built here against
# $BENCH_BUILD/libgwcore.a (built first). Timings depend on what else runs on the box.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${BENCH_SIZES:-"1000000 10000000"}
runs=${BENCH_RUNS:-7}
ids=${BENCH_IDS:-Q01,Q11,Q10,Q15,Q20,Q18}
dir=${BENCH_DIR:-$(mktemp -d /tmp/bench_engines.XXXXXX)}
mkdir -p "$dir"

build=${BENCH_BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target gwcore >/dev/null
deps="libuv libh2o jansson libfyaml libsodium hiredis libcurl openssl"
# shellcheck disable=SC2046
cc -std=c17 -O2 -D_GNU_SOURCE -DGW_SOURCE_DIR="\"$PWD\"" -Isrc -Ithird_party/duckdb \
  bench/bench_engines.c -o "$dir/bench_engines" "$build/libgwcore.a" \
  -Wl,-rpath,"$PWD/third_party/duckdb" $(pkg-config --libs $deps) -ldl -lpthread -lm

started=0
if ! ./scripts/clickhouse.sh all status >/dev/null 2>&1; then
  ./scripts/clickhouse.sh all start
  started=1
fi
cleanup() {
  [ "$started" = 1 ] && ./scripts/clickhouse.sh all stop >/dev/null || true
  [ -n "${BENCH_DIR:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

echo "# bench_engines: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for n in $sizes; do
  "$dir/bench_engines" "$n" "$dir" "$runs" "$ids" \
    "http://127.0.0.1:${LLMGW_CH_SINGLE_PORT:-18123}" \
    "http://127.0.0.1:${LLMGW_CH_SHARD1_PORT:-18124}" "http://127.0.0.1:${LLMGW_CH_SHARD2_PORT:-18125}"
  echo
done

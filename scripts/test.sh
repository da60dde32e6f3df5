#!/usr/bin/env bash
# test.sh - installs, builds and runs every test of llmgw (what CI runs).
#   1. scripts/install-deps.sh (apt + npm pack, idempotent)
#   2. release build in build/, ASan+UBSan build in build-asan/
#   3. ctest in build-asan: unit tests and integration suites (real binary,
#      fake upstreams, real services), all under the sanitizers
#   4. libFuzzer smoke: every fuzz target for a few seconds
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGW_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
if [ "${GW_FUZZ_SECONDS:-10}" != 0 ]; then
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DGW_FUZZ=ON >/dev/null
  fuzzers=$(ls fuzz/fuzz_*.c | xargs -n1 basename | sed 's/\.c$//')
  cmake --build build-fuzz -j"$jobs" --target $fuzzers
  for f in build-fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    seeds=fuzz/corpus/${name#fuzz_}
    corpus=build-fuzz/corpus/${name#fuzz_} # new inputs go here, the checked-in seeds stay as they are
    mkdir -p "$corpus" "$seeds"
    echo "fuzz: $name for ${GW_FUZZ_SECONDS:-10}s"
    "$f" -max_total_time="${GW_FUZZ_SECONDS:-10}" -rss_limit_mb=2048 -artifact_prefix=build-fuzz/ "$corpus" "$seeds" \
      >"build-fuzz/$name.log" 2>&1 ||
      { tail -40 "build-fuzz/$name.log"; exit 1; }
  done
fi
# >>> clickhouse (scripts/clickhouse.sh; engine_clickhouse tests) >>>
# A private single node (18123) and a two-shard cluster (18124/18125) for
# test_engine_clickhouse and test_clickhouse_reference; stopped on exit. With
# CI=true those tests fail, not skip, when the servers don't answer.
./scripts/clickhouse.sh all start
trap './scripts/clickhouse.sh all stop >/dev/null 2>&1 || true' EXIT
export LLMGW_CLICKHOUSE_URL=http://127.0.0.1:18123
export LLMGW_CLICKHOUSE_CLUSTER_URLS=http://127.0.0.1:18124,http://127.0.0.1:18125
# <<< clickhouse <<<
# >>> redis (scripts/redis.sh; schema cache, shared limits and budgets) >>>
# A private redis-server on 127.0.0.1:16379 (no persistence) for test_redis*,
# test_schema_cache and the integration suites; stopped on exit by the same
# trap as ClickHouse. With CI=true those tests fail, not skip, when it does
# not answer. The tests that kill and restart a server use their own ports.
./scripts/redis.sh start 16379
trap './scripts/clickhouse.sh all stop >/dev/null 2>&1 || true; ./scripts/redis.sh stop 16379 >/dev/null 2>&1 || true' EXIT
export LLMGW_REDIS_URL=redis://127.0.0.1:16379
# <<< redis <<<
# the ask evaluation's figures, for the CI log (ctest below gates on them again under ASan)
./build/test_ask_eval | sed -n '/^class /,/^pipeline time/p'
ctest --test-dir build-asan --output-on-failure -j1

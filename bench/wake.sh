#!/usr/bin/env bash
# bench/wake.sh - the cost of waking a reader on the same CPU or on another
# one (bench/bench_wake.c), with no llmgw involved: the floor under what
# every OTLP batch costs the worker that sends it (docs/BENCHMARKS.md §1).
#   bench/wake.sh            # 2000 messages per case, ~1 min
#   bench/wake.sh 500
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/bench_wake.XXXXXX)
trap 'rm -rf "$out"' EXIT
cc -std=c17 -O2 -Wall -Wextra -Werror -o "$out/bench_wake" bench/bench_wake.c
"$out/bench_wake" "${1:-2000}"

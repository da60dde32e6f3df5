#!/usr/bin/env bash
# bench_catalog_gen.sh - throughput of `llmgw catalog generate`: SKUs/s for
# 1M and 10M SKUs into DuckDB and Parquet, with user CPU, peak RSS and
# output size. Wall-clock numbers depend on what else runs on the box, so
# the load average is printed too.
#   LLMGW_BIN     the binary (default build/llmgw)
#   BENCH_SIZES   default "1M 10M"
#   BENCH_FORMATS default "duckdb parquet"
#   BENCH_THREADS default $(nproc)
#   LLMGW_DATA_DIR the taxonomy (default: the project's data/)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LLMGW_BIN:-build/llmgw}
sizes=${BENCH_SIZES:-"1M 10M"}
formats=${BENCH_FORMATS:-"duckdb parquet"}
threads=${BENCH_THREADS:-$(nproc)}
if ! "$bin" catalog --help >/dev/null 2>&1; then
  echo "bench_catalog_gen: $bin has no 'catalog' command (set LLMGW_BIN)" >&2
  exit 2
fi
dir=$(mktemp -d /tmp/bench_catalog_gen.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "# llmgw catalog generate, threads=$threads, $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %6s %12s %9s %12s %9s %9s %9s\n' format skus inventory seconds SKUs/s user_s maxrss_MB size_MB
for n in $sizes; do
  for fmt in $formats; do
    out=$dir/catalog-$n.$fmt
    [ "$fmt" = duckdb ] || out=$dir/catalog-$n-$fmt
    /usr/bin/time -f '%U %M' -o "$dir/time.txt" \
      "$bin" catalog generate --skus "$n" --format "$fmt" --out "$out" --threads "$threads" 2>"$dir/log.txt"
    # "catalog: N skus, M inventory rows, ... in S s (R SKUs/s)"
    line=$(grep '^catalog: ' "$dir/log.txt")
    skus=$(sed -E 's/^catalog: ([0-9]+) skus.*/\1/' <<<"$line")
    inv=$(sed -E 's/.* ([0-9]+) inventory rows.*/\1/' <<<"$line")
    secs=$(sed -E 's/.* in ([0-9.]+) s .*/\1/' <<<"$line")
    rate=$(sed -E 's/.*\(([0-9]+) SKUs\/s\).*/\1/' <<<"$line")
    read -r user rss <"$dir/time.txt"
    size=$(du -sm "$out" | cut -f1)
    printf '%-8s %6s %12s %9s %12s %9s %9s %9s\n' "$fmt" "$n" "$inv" "$secs" "$rate" "$user" $((rss / 1024)) "$size"
    [ "$skus" -gt 0 ]
    rm -rf "$out"
  done
done

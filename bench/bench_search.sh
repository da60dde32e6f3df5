#!/usr/bin/env bash
# bench_search.sh - the search face at catalog scale: index build time,
# index size and process memory (RSS after the build and peak), and query
# latency p50/p90/p99 over 20 typical keystroke queries (each a word being
# typed), measured inside gw_search_query (`took_ms`) with one reused
# result, as a server worker thread would. Wall-clock figures depend on
# what else runs on the box, so the load average is printed too.
#   LLMGW_BIN      the binary (default build/llmgw); needs `llmgw search`
#   BENCH_DB       a catalog to index (default: generate BENCH_SKUS into a temp dir)
#   BENCH_SKUS     default 1M
#   BENCH_REPEAT   runs of each query (default 200)
#   LLMGW_DATA_DIR the taxonomy whose synonyms are indexed (default: the project's data/)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LLMGW_BIN:-build/llmgw}
skus=${BENCH_SKUS:-1M}
repeat=${BENCH_REPEAT:-200}
if ! "$bin" search --help >/dev/null 2>&1; then
  echo "bench_search: $bin has no 'search' command (set LLMGW_BIN)" >&2
  exit 2
fi
dir=$(mktemp -d /tmp/bench_search.XXXXXX)
trap 'rm -rf "$dir"' EXIT
db=${BENCH_DB:-}
if [ -z "$db" ]; then
  db=$dir/catalog.duckdb
  echo "# generating $skus SKUs into $db"
  "$bin" catalog generate --skus "$skus" --out "$db" >/dev/null 2>&1
fi
cat >"$dir/queries.txt" <<'EOF'
ergonomic office ch
standing de
gaming lap
4k moni
office desk
bookc
coffee mak
running sho
camping tent
cordless dri
air puri
blend
smartph
wireless head
memory foam mattr
sofa
dry dog fo
yoga mat
car batt
printer pap
EOF
echo "# llmgw search, $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f '%e %M' -o "$dir/time.txt" \
  "$bin" search --db "$db" --queries "$dir/queries.txt" --repeat "$repeat" --stats --json \
  >"$dir/out.jsonl" 2>"$dir/stats.txt"
read -r wall peak_kb <"$dir/time.txt"
# search-stats: docs=N vocab=V postings=P index_mb=M build_s=B finish_s=F rss_mb=R hwm_mb=H
stats=$(grep '^search-stats: ' "$dir/stats.txt")
lat=$(grep '^search-latency: ' "$dir/stats.txt")
field() { sed -E "s/.* $1=([^ ]+).*/\1/" <<<"$2"; }
printf '%-28s %s\n' "docs" "$(field docs "$stats")" \
  "vocabulary (terms)" "$(field vocab "$stats")" \
  "postings" "$(field postings "$stats")" \
  "build: engine scan + index s" "$(field build_s "$stats")" \
  "  of which finish (sort) s" "$(field finish_s "$stats")" \
  "index memory MB" "$(field index_mb "$stats")" \
  "RSS after build MB" "$(field rss_mb "$stats")" \
  "peak RSS MB" "$((peak_kb / 1024))" \
  "queries x runs" "$(field queries "$lat") x $repeat" \
  "latency p50 ms" "$(field p50_ms "$lat")" \
  "latency p90 ms" "$(field p90_ms "$lat")" \
  "latency p99 ms" "$(field p99_ms "$lat")" \
  "latency max ms" "$(field max_ms "$lat")" \
  "process wall s" "$wall"
echo "# per query (p50 / p99 ms, hits, terms scored):"
grep '^search-query: ' "$dir/stats.txt" |
  sed -E 's/^search-query: p50_ms=([^ ]+) p99_ms=([^ ]+) hits=([^ ]+) terms=([^ ]+) q=(.*)$/  \1 \/ \2  \3  \4  \5/'
[ "$(wc -l <"$dir/out.jsonl")" -eq 20 ]

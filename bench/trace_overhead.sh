#!/usr/bin/env bash
# bench/trace_overhead.sh - what OpenTelemetry tracing adds to the gateway
# core's latency (issue 5: "within 10% of the core's added p99").
#
# Runs bench/gateway.sh (direct + llmgw, JSON and SSE) PAIRS times without
# and with TRACE=1, alternated so that slow drifts of the box hit both, and
# prints for every run the added p50@1 and p99@1 (llmgw minus direct, same
# run) and llmgw's CPU per request at c=64; then per mode the mean and the
# median of the added p99@1 without and with tracing, and the difference as
# a share of the core's (tracing off) added p99. A run whose direct p99@1 is
# over 5x its p50@1 (the baseline itself stalled) is shown but left out of
# the summary. Accounting, metrics and the
# log line are on in both (they cannot be turned off).
#   bench/trace_overhead.sh                # 3 pairs, ~21 min
#   PAIRS=5 bench/trace_overhead.sh
#   SAMPLE_RATIO=0.1 bench/trace_overhead.sh   # with telemetry.sample_ratio 0.1
#   bench/trace_overhead.sh --report DIR   # only the summary of earlier runs in DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PAIRS=${PAIRS:-3}
OUT=${OUT:-/tmp/llmgw-trace-overhead}

report() { # report DIR: the table and the summary from DIR/{off,on}-N.txt
  local dir=$1
  awk '
    function num(s) { gsub(/[^0-9.+-]/, "", s); return s + 0 }
    FNR == 1 { split(FILENAME, p, "/"); name = p[length(p)]; sub(/\.txt$/, "", name);
               split(name, q, "-"); tr = q[1]; run = q[2]; na = 0; ne = 0 }
    /^\| A direct/ { split($0, c, "|"); na++; a50[na] = num(c[4]); a99[na] = num(c[5]) }
    /^\| E llmgw/  { split($0, c, "|"); ne++; m = ne == 1 ? "json" : "sse";
                     d50 = num(c[4]) - a50[ne]; d99 = num(c[5]) - a99[ne]; split(c[10], u, " ");
                     bad = a99[ne] > 5 * a50[ne]; # the baseline itself was disturbed (a stall in direct)
                     printf "| %s | %s | %s | %+.3f | %+.3f%s | %s |\n", run, m, tr, d50, d99,
                            bad ? sprintf(" (direct p99@1 %.3f: left out)", a99[ne]) : "", u[1];
                     if (bad) next
                     k = m SUBSEP tr; n[k]++; v[k, n[k]] = d99; s[k] += d99 }
    function median(k,   i, j, t, a, c) {
      c = n[k]; for (i = 1; i <= c; i++) a[i] = v[k, i]
      for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
    BEGIN { print "| run | mode | tracing | added p50@1 (ms) | added p99@1 (ms) | CPU µs/req @64 |";
            print "|---|---|---|---:|---:|---:|" }
    END {
      print ""
      print "| mode | runs | added p99@1 off: mean / median | on: mean / median | tracing adds (mean / median) |"
      print "|---|---:|---:|---:|---:|"
      split("json sse", ms, " ")
      for (i = 1; i <= 2; i++) {
        m = ms[i]; off = m SUBSEP "off"; on = m SUBSEP "on"
        if (n[off] == 0 || n[on] == 0) continue
        mo = s[off] / n[off]; mn = s[on] / n[on]; do_ = median(off); dn = median(on)
        printf "| %s | %d + %d | %.4f / %.4f | %.4f / %.4f | %+.1f%% / %+.1f%% of the core%s |\n", m, n[off], n[on],
               mo, do_, mn, dn, 100 * (mn - mo) / mo, 100 * (dn - do_) / do_, "\047s added p99"
      }
    }' $(ls "$dir"/off-*.txt "$dir"/on-*.txt | sort -t- -k2n)
}

if [ "${1:-}" = "--report" ]; then
  report "${2:?directory}"
  exit 0
fi
mkdir -p "$OUT"
for i in $(seq "$PAIRS"); do
  echo "pair $i/$PAIRS: tracing off" >&2
  TARGETS="direct project" "$ROOT/bench/gateway.sh" >"$OUT/off-$i.txt" 2>&1
  echo "pair $i/$PAIRS: tracing on" >&2
  TRACE=1 TARGETS="direct project" "$ROOT/bench/gateway.sh" >"$OUT/on-$i.txt" 2>&1
done
report "$OUT"

# bench/llmgw_bench_config.sh - sourced by bench/gateway.sh and bench/trace_c1.sh:
# the llmgw config their runs share (one worker, auth with peers.sh's key,
# limits that never refuse, one priced model on the fake upstream).
#   llmgw_bench_config FILE PORT BASE_URL API_KEY
# BASE_URL and API_KEY are written as given: '${VAR}' stays for llmgw to read
# from its environment.
llmgw_bench_config() {
  # peers.sh sends "Authorization: Bearer sk-bench-dummy" to every target: that
  # is the tenant's key here, stored as its BLAKE2b-256 hash like keys create does
  local hash
  hash=$(printf '%s' sk-bench-dummy | b2sum -l 256 | cut -d' ' -f1)
  cat >"$1" <<CONFIG
listen: 127.0.0.1:$2
workers: 1
auth: {enabled: true}
limits: {max_body_bytes: 1048576, upstream_timeout_ms: 60000, retry_budget: 2}
rate_limit:
  per_ip: {rps: 1000000, burst: 1000000}
providers:
  - {name: fake, kind: openai, base_url: $3, api_key: $4}
models:
  - {alias: gpt-4o-mini, provider: fake, model: gpt-4o-mini, price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}
tenants:
  - {id: bench, keys: ["blake2b:$hash"], rate: {rps: 1000000, burst: 1000000}}
ask: {engine: none}
CONFIG
}

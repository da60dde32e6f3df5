#!/usr/bin/env bash
# install-deps.sh - installs everything llmgw needs to build, run and test on
# Debian 12. Idempotent: a second run changes nothing and takes seconds.
#   apt-get: compilers, libraries, real services (redis, clickhouse, nginx, wrk)
#   npm pack: DuckDB's official libduckdb.so and duckdb.h (no install scripts run)
#   npm ci:   the test tooling pinned in package-lock.json (openai SDK)
set -euo pipefail
cd "$(dirname "$0")/.."

DUCKDB_LIB_PKG="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
DUCKDB_HDR_PKG="duckdb@1.4.4"
APT_PKGS=(build-essential clang cmake pkg-config git ca-certificates
  libuv1-dev libh2o-dev libssl-dev libjansson-dev libjsmn-dev libfyaml-dev
  libsodium-dev libhiredis-dev libcurl4-openssl-dev
  nodejs npm redis-server nginx-light wrk curl procps chromium openssl
  clickhouse-server clickhouse-client prometheus)

need_apt=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$p")
done
# nodesource's nodejs bundles npm; Debian's needs the npm package.
if command -v npm >/dev/null 2>&1; then
  need_apt=("${need_apt[@]/npm}")
  need_apt=("${need_apt[@]/nodejs}")
fi
need_apt=($(printf '%s\n' "${need_apt[@]}" | grep -v '^$' || true))
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# DuckDB from npm: pack (download the tarball) and extract; never install.
dd=third_party/duckdb
if [ ! -f "$dd/libduckdb.so" ] || [ ! -f "$dd/duckdb.h" ]; then
  echo "install-deps: fetching DuckDB from npm ($DUCKDB_LIB_PKG, $DUCKDB_HDR_PKG)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$DUCKDB_LIB_PKG" "$DUCKDB_HDR_PKG" >/dev/null)
  mkdir -p "$dd"
  tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp" package/libduckdb.so
  mv "$tmp/package/libduckdb.so" "$dd/libduckdb.so"
  tar -xzf "$tmp"/duckdb-1.4.4.tgz -C "$tmp" package/src/duckdb/src/include/duckdb.h
  mv "$tmp/package/src/duckdb/src/include/duckdb.h" "$dd/duckdb.h"
  rm -rf "$tmp"
fi

# Test tooling pinned by package-lock.json (the official openai SDK, ...).
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --silent --no-audit --no-fund --ignore-scripts
  fi
fi
echo "install-deps: ok"

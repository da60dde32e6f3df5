#!/usr/bin/env bash
# build.sh - release build of llmgw into build/ (run scripts/install-deps.sh first).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target llmgw

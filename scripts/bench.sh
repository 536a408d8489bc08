#!/usr/bin/env bash
# Runs the criterion benchmarks: ingest (decode + merge), render, network trie vs linear scan.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${SCOPE_TARGET_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/scope/target}}"
cargo bench --locked --workspace -- "$@"

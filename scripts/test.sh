#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs and starts what the tests need
# (Docker engine and a local test image, PostgreSQL, NATS), then runs formatting and lint checks,
# every test, and the benchmarks in test mode (each benchmark once, to prove it runs;
# `scripts/bench.sh` measures).
#
# Quick when everything is already installed. Build output goes to a fixed directory outside the
# clone (SCOPE_TARGET_DIR) so repeated runs on one machine reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${SCOPE_TARGET_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/scope/target}}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Each step's time, printed as it ends and again as a table at the end: what a cold and a warm
# machine spend where.
timings=()
step_name=""
step_start=$SECONDS
end_step() {
    if [ -n "$step_name" ]; then
        local took=$((SECONDS - step_start))
        timings+=("$(printf '%5d s  %s' "$took" "$step_name")")
        echo "    ($took s)" >&2
    fi
}
step() {
    end_step
    step_name="$*"
    step_start=$SECONDS
    echo "==> $*" >&2
}

step "setting up the test environment"
bash scripts/ensure-docker.sh
SCOPE_TEST_DATABASE_URL="$(bash scripts/ensure-postgres.sh)"
export SCOPE_TEST_DATABASE_URL
SCOPE_TEST_NATS_URL="$(bash scripts/ensure-nats.sh)"
export SCOPE_TEST_NATS_URL

step "building the web console (embedded by the scope binary); first, when package.json or the lock changed, a clean install as on a fresh machine"
bash scripts/web.sh --check-clean-install

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the probe binary links no web server, database or console"
heavy=$(cargo tree --locked -p scope-probe -e normal --prefix none | grep -E '^(axum|sqlx|rust-embed|scope-api|scope-store) ' | sort -u || true)
if [ -n "$heavy" ]; then
    echo "scope-probe must stay lean, but depends on: $heavy" >&2
    exit 1
fi

step "tests"
if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi

step "web console: unit and end-to-end tests in headless Chromium"
bash scripts/web-test.sh

step "the cloud tier: docker compose with PostgreSQL, NATS, two replicas, a load balancer, a probe"
bash scripts/compose-test.sh

step "benchmarks (test mode)"
cargo bench --workspace --locked -- --test >/dev/null

end_step
echo "==> all checks passed in $SECONDS s:" >&2
printf '%s\n' "${timings[@]}" >&2

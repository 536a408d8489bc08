#!/usr/bin/env bash
# Tests of the web console: unit tests (vitest) of its domain layer, then end-to-end tests in
# headless Chromium against a real `scope launch` and real Docker containers (web/scripts/e2e.mjs).
#
# Installs what it needs when missing, quick when present: Debian's chromium, the npm packages
# and the console build (scripts/web.sh), Docker and its test image (scripts/ensure-docker.sh),
# and the scope binary (cargo build -p scope-app, so it embeds the fresh console). Needs root.
#   SCOPE_BIN=...   test this binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "web-test: $*" >&2; }

if [ ! -x /usr/bin/chromium ]; then
    log "installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the package lists when apt does not know chromium yet.
    if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        apt-get update -qq
    fi
    apt-get install -y -qq chromium >/dev/null
fi

bash scripts/web.sh
bash scripts/ensure-docker.sh

if [ -z "${SCOPE_BIN:-}" ]; then
    log "building scope (embeds web/dist)"
    cargo build -p scope-app --locked
fi

log "unit tests"
(cd web && npm test --silent)
log "end-to-end tests"
(cd web && npm run e2e --silent)

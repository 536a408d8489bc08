#!/usr/bin/env bash
# Builds the web console into web/dist/, which `cargo build` then embeds in the scope binary
# (services/api/build.rs; without web/dist the binary serves a placeholder page).
#
# Installs the npm packages pinned in web/package-lock.json when they are missing or stale, and
# skips the build when web/dist is newer than every input. Quick when everything is present.
#   scripts/web.sh            install if needed, build if needed
#   scripts/web.sh --force    always rebuild
set -euo pipefail
cd "$(dirname "$0")/../web"
log() { echo "web: $*" >&2; }

force=false
[ "${1:-}" = "--force" ] && force=true

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "Node.js and npm are needed (Node 20.19 or newer); install them and run this again"
    exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    log "Node $(node --version) is too old: Vite needs 20.19 or newer"
    exit 1
fi

# Install when node_modules is missing or older than the lock file (npm writes its own copy of
# the lock into node_modules/.package-lock.json on every install). `npm install` rather than
# `npm ci`: the registry this project uses serves only the platform packages it needs (rollup's
# linux builds), and `npm ci` refuses a lock without the other platforms' optional packages.
# `npm install` installs exactly the pinned versions; the check below makes sure it never
# rewrites the lock behind our back.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages"
    before=$(sha256sum package-lock.json)
    npm install --no-audit --no-fund --loglevel=error
    if [ "$(sha256sum package-lock.json)" != "$before" ]; then
        log "npm changed package-lock.json: package.json and the lock disagree; commit the new lock"
        exit 1
    fi
fi

inputs=(src index.html package.json package-lock.json tsconfig.json vite.config.ts)
if ! $force && [ -f dist/index.html ] && [ -z "$(find "${inputs[@]}" -newer dist/index.html -print -quit)" ]; then
    log "web/dist is up to date"
    exit 0
fi
log "building the console"
npm run build --silent

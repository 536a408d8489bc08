#!/usr/bin/env bash
# Builds the web console into web/dist/, which `cargo build` then embeds in the scope binary
# (services/api/build.rs: a release build without web/dist fails; a debug build embeds a page
# that says the console is missing).
#
# Installs the npm packages pinned in web/package-lock.json with `npm ci` when they are missing
# or were installed from another lock, and skips the build when web/dist is newer than every
# input. Quick when everything is present.
#   scripts/web.sh                       install if needed, build if needed
#   scripts/web.sh --force               always rebuild
#   scripts/web.sh --check-clean-install first, once per version of package.json and the lock:
#       install and build a copy of web/ as a fresh machine would (no node_modules, an empty
#       npm cache) through a registry that serves only this platform's packages
#       (web/scripts/partial-registry.mjs); `scripts/test.sh` runs this.
#
# The lock is complete: it holds every platform's optional packages (rollup's and esbuild's
# native builds), as npm writes it when the registry lists them all. `npm ci` installs from it
# without ever rewriting it and skips the packages of other platforms without asking the
# registry for them, so it installs the same way whatever the registry lists today. Refresh it
# with `npm install` (and commit it) only when changing dependencies.
set -euo pipefail
cd "$(dirname "$0")/../web"
log() { echo "web: $*" >&2; }

force=false
clean_check=false
for arg in "$@"; do
    case "$arg" in
        --force) force=true ;;
        --check-clean-install) clean_check=true ;;
        *) log "unknown argument $arg (--force, --check-clean-install)"; exit 2 ;;
    esac
done

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "Node.js and npm are needed (Node 20.19 or newer); install them and run this again"
    exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    log "Node $(node --version) is too old: Vite needs 20.19 or newer"
    exit 1
fi

lock_hash="$(cat package.json package-lock.json | sha256sum | cut -c1-64)"
npm_quiet=(--no-audit --no-fund --loglevel=error)

# npm ci, then proof that it left the lock as committed (it never should; a mismatch between
# package.json and the lock makes npm ci fail on its own).
npm_ci() {
    local before
    before="$(sha256sum package-lock.json)"
    npm ci "${npm_quiet[@]}" "$@"
    if [ "$(sha256sum package-lock.json)" != "$before" ]; then
        log "npm changed package-lock.json in $(pwd); commit a lock that npm ci leaves alone"
        exit 1
    fi
}

check_clean_install() {
    local stamp_dir="${SCOPE_CACHE_DIR:-$HOME/.cache/scope}/web-clean-install"
    local stamp="$stamp_dir/$lock_hash"
    if [ -f "$stamp" ] && ! $force; then
        log "clean install already checked for this package.json and lock"
        return
    fi
    local tmp proxy_pid proxy_url upstream started=$SECONDS
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand $tmp now; $proxy_pid is set below
    trap "kill \${proxy_pid:-} 2>/dev/null || true; rm -rf '$tmp'" EXIT
    tar --exclude=./node_modules --exclude=./dist -c . | tar -C "$tmp" -x
    mkdir "$tmp/npm-cache"
    upstream="$(npm config get registry)"
    node scripts/partial-registry.mjs "$upstream" >"$tmp/registry.out" 2>"$tmp/registry.err" &
    proxy_pid=$!
    for _ in $(seq 1 50); do
        proxy_url="$(sed -n 's/^listening //p' "$tmp/registry.out")"
        [ -n "$proxy_url" ] && break
        sleep 0.1
    done
    if [ -z "$proxy_url" ]; then
        cat "$tmp/registry.err" >&2
        log "the local registry did not start"
        exit 1
    fi
    log "clean install: a copy of web/ with no node_modules and an empty npm cache, through a registry serving only $(node -p 'process.platform + "-" + process.arch') packages"
    (
        cd "$tmp"
        export npm_config_cache="$tmp/npm-cache"
        npm_ci --registry="$proxy_url" --replace-registry-host=always
        npm run build --silent >/dev/null
        [ -f dist/index.html ] || { log "the clean build made no dist/index.html"; exit 1; }
    ) || { log "a fresh machine cannot install or build the console (see above)"; exit 1; }
    kill -TERM "$proxy_pid"
    wait "$proxy_pid" 2>/dev/null || true
    log "clean install and build passed in $((SECONDS - started)) s ($(cat "$tmp/registry.err"))"
    mkdir -p "$stamp_dir"
    touch "$stamp"
}

$clean_check && check_clean_install

# Install when node_modules is missing or was installed from another package.json or lock.
installed_hash="$(cat node_modules/.scope-lock-hash 2>/dev/null || true)"
if [ "$installed_hash" != "$lock_hash" ]; then
    log "installing npm packages (npm ci)"
    npm_ci
    printf '%s\n' "$lock_hash" >node_modules/.scope-lock-hash
fi

inputs=(src index.html package.json package-lock.json tsconfig.json vite.config.ts)
if ! $force && [ -f dist/index.html ] && [ -z "$(find "${inputs[@]}" -newer dist/index.html -print -quit)" ]; then
    log "web/dist is up to date"
    exit 0
fi
log "building the console"
npm run build --silent

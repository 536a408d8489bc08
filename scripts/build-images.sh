#!/usr/bin/env bash
# Builds, locally and without any container registry, every image deploy/docker-compose.yml
# needs:
#   scope-local/debian:bookworm   a Debian base (minbase), from a rootfs made with mmdebstrap
#   scope-local/postgres:15       stand-in for postgres:16  (Debian's postgresql-15; same env vars)
#   scope-local/nats:2.9          stand-in for nats:2.10    (Debian's nats-server)
#   scope-local/haproxy:2.6       stand-in for haproxy:2.8  (Debian's haproxy)
#   scope:latest                  deploy/Dockerfile with the host-built `scope` binary
#   scope-probe:latest            deploy/Dockerfile.probe with the host-built `scope-probe`
# The stand-ins get their Debian packages when their rootfs is made (mmdebstrap --include, apt
# running on the host), so no `docker build` needs the network. The Debian mirror comes from this
# machine's apt configuration.
#
# Idempotent and quick: every image carries the label org.scope.content-hash, a hash of what it
# is made of (recipe, files, binary, base image), and is rebuilt only when that changes.
#
#   scripts/build-images.sh [--profile debug|release] [--no-scope] [--env-file FILE] [--force]
#     --profile    which cargo build of the binaries to package (default release), taken from
#                  $CARGO_TARGET_DIR/<profile> (default CARGO_TARGET_DIR: ~/.cache/scope/target)
#     --no-scope   only the base and the stand-ins (no binaries needed)
#     --env-file   also write the compose variables for the local images to FILE
#     --force      rebuild every image even when its hash matches
# It does not run cargo: build the binaries first (cargo build --release -p scope-app -p scope-probe).
# Prints on stdout the variables that point compose at the local images, e.g.
#   POSTGRES_IMAGE=scope-local/postgres:15
# Needs root (installs Debian packages, builds root file systems).

# The mmdebstrap hooks are shell snippets that mmdebstrap runs with the root file system as "$1":
# single-quoted on purpose.
# shellcheck disable=SC2016
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${SCOPE_TARGET_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/scope/target}}"
cache="${SCOPE_IMAGE_CACHE:-$HOME/.cache/scope/images}"
suite=bookworm
label=org.scope.content-hash
# Bump to rebuild every image made by this script.
recipe_version=1

base_image=scope-local/debian:bookworm
postgres_image=scope-local/postgres:15
nats_image=scope-local/nats:2.9
haproxy_image=scope-local/haproxy:2.6
scope_image="${SCOPE_IMAGE:-scope:latest}"
probe_image="${SCOPE_PROBE_IMAGE:-scope-probe:latest}"

profile=release
with_scope=true
env_file=""
force=false
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="${2:?--profile needs debug or release}"; shift 2 ;;
        --profile=*) profile="${1#*=}"; shift ;;
        --no-scope) with_scope=false; shift ;;
        --force) force=true; shift ;;
        --env-file) env_file="${2:?--env-file needs a path}"; shift 2 ;;
        -h|--help) sed -n '2,/^$/{/^$/d; s/^# \{0,1\}//; p}' "$0"; exit 0 ;;
        *) echo "build-images: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$profile" in debug|release) ;; *) echo "build-images: --profile is debug or release" >&2; exit 2 ;; esac

log() { echo "build-images: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, builds root file systems)"

bash "$root/scripts/ensure-docker.sh" --engine-only

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9

tmp="$(mktemp -d "$cache/tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

sha() { sha256sum | cut -c1-64; }
image_hash() { $force && return 0; docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$1" 2>/dev/null || true; }

# --- the Debian mirror, from this machine's apt configuration --------------------------------
# Prints "URI SUITE" for every `deb` source in sources.list, *.list and deb822 *.sources files.
apt_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i+1) }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" } {
            types = ""; uris = ""; suites = ""; enabled = "yes"
            for (j = 1; j <= NF; j++) {
                line = $j
                if (line ~ /^[ \t]*#/) continue
                k = index(line, ":"); if (k == 0) continue
                key = tolower(substr(line, 1, k - 1)); val = substr(line, k + 1)
                gsub(/^[ \t]+|[ \t]+$/, "", val)
                if (key == "types") types = val
                else if (key == "uris") uris = val
                else if (key == "suites") suites = val
                else if (key == "enabled") enabled = tolower(val)
            }
            if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
                nu = split(uris, U, /[ \t]+/); ns = split(suites, S, /[ \t]+/)
                for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) print U[a], S[b]
            }
        }' "$f"
    done
}

mirror_lines=()
find_mirrors() {
    [ ${#mirror_lines[@]} -gt 0 ] && return 0
    local sources main security updates
    sources="$(apt_sources)"
    main="$(awk -v s="$suite" '$2 == s { print $1; exit }' <<<"$sources")"
    updates="$(awk -v s="$suite-updates" '$2 == s { print $1; exit }' <<<"$sources")"
    security="$(awk -v s="$suite-security" '$2 == s { print $1; exit }' <<<"$sources")"
    if [ -z "$main" ]; then
        # Another release on the host: its Debian archive serves $suite too.
        main="$(awk '$1 ~ /\/debian\/?$/ && $2 !~ /-(security|updates|backports)$/ { print $1; exit }' <<<"$sources")"
    fi
    [ -n "$main" ] || die "no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/ (need a 'deb URI $suite main' source)"
    mirror_lines=("deb $main $suite main")
    [ -n "$updates" ] && mirror_lines+=("deb $updates $suite-updates main")
    [ -n "$security" ] && mirror_lines+=("deb $security $suite-security main")
    log "Debian mirror from the apt configuration: $main"
}

ensure_tools() {
    local need=()
    command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
    if [ ${#need[@]} -gt 0 ]; then
        log "installing ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
}

# Slim like debian:*-slim: no manuals, no docs but the copyrights, no translations.
slim_opts=(
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
)

# rootfs NAME TAR [mmdebstrap options...]: a minbase $suite root file system as a tar file.
rootfs() {
    local name="$1" out="$2"
    shift 2
    local include
    include="$(printf '%s\n' "$@" | sed -n 's/^--include=/ + /p' | tr -d '\n')"
    log "$name: making the root file system (mmdebstrap --variant=minbase $suite$include)"
    if ! mmdebstrap --quiet --mode=root --variant=minbase --format=tar \
        --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
        "${slim_opts[@]}" "$@" "$suite" "$out" "${mirror_lines[@]}" >"$tmp/$name.log" 2>&1; then
        cat "$tmp/$name.log" >&2
        die "$name: mmdebstrap failed"
    fi
}

# import NAME TAG HASH TAR [docker import --change ...]
import() {
    local name="$1" tag="$2" hash="$3" tar="$4"
    shift 4
    local changes=(--change "LABEL $label=$hash")
    local c
    for c in "$@"; do changes+=(--change "$c"); done
    docker import "${changes[@]}" "$tar" "$tag" >/dev/null
    rm -f "$tar"
    log "$name: built $tag"
}

base_recipe="v$recipe_version minbase $suite ${slim_opts[*]}"

# --- (a) the base ------------------------------------------------------------------------------
# standin NAME TAG: makes image TAG from a rootfs made with the mmdebstrap options in the array
# `opts` and the `docker import --change`s in `changes` (both set by the caller), unless TAG
# already carries the hash of those and of the files in `files`.
standin() {
    local name="$1" tag="$2" hash
    hash="$( { printf '%s\n' "$name" "$base_recipe" "${opts[@]}" -- "${changes[@]}"; cat "${files[@]}" </dev/null; } | sha)"
    if [ "$(image_hash "$tag")" = "$hash" ]; then
        log "$name: $tag is up to date"
        return
    fi
    rootfs "$name" "$tmp/$name.tar" "${opts[@]}"
    import "$name" "$tag" "$hash" "$tmp/$name.tar" "${changes[@]}"
}

# --- (a) the base ------------------------------------------------------------------------------
build_base() {
    local files=() opts=() changes=('CMD ["bash"]')
    standin base "$base_image"
}

# --- (b) stand-ins for the public images ---------------------------------------------------------
build_postgres() {
    local entry="$root/deploy/local/postgres-entrypoint.sh"
    local files=("$entry")
    # No cluster from the package's postinst: the entrypoint makes one in the volume.
    local opts=(
        --include=postgresql-15
        --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/00-scope-local.conf"'
        --customize-hook="cp '$entry' \"\$1/usr/local/bin/docker-entrypoint.sh\" && chmod 755 \"\$1/usr/local/bin/docker-entrypoint.sh\""
        --customize-hook='rm -rf "$1"/var/lib/postgresql/*/main "$1"/etc/postgresql/*/main; mkdir -p "$1/var/lib/postgresql/data" "$1/docker-entrypoint-initdb.d"; chroot "$1" chown postgres:postgres /var/lib/postgresql/data; chmod 700 "$1/var/lib/postgresql/data"'
    )
    local changes=(
        'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        'ENV PGDATA=/var/lib/postgresql/data'
        'VOLUME /var/lib/postgresql/data'
        'EXPOSE 5432'
        'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]'
        'CMD ["postgres"]'
    )
    standin postgres "$postgres_image"
}

build_nats() {
    local files=()
    # Runs as an unprivileged user; /data (JetStream) is the volume, owned by it.
    local opts=(
        --include=nats-server
        --customize-hook='chroot "$1" sh -c "getent passwd nats >/dev/null || useradd --system --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin nats; mkdir -p /data && chown nats:nats /data"'
    )
    # The official image's entrypoint is the server too, so compose's `command` fits both.
    local changes=(
        'USER nats'
        'VOLUME /data'
        'EXPOSE 4222 8222'
        'ENTRYPOINT ["/usr/sbin/nats-server"]'
        'CMD ["-js", "-sd", "/data"]'
    )
    standin nats "$nats_image"
}

build_haproxy() {
    local files=()
    # Like the official image: no configuration inside (mount one at
    # /usr/local/etc/haproxy/haproxy.cfg), master-worker in the foreground, user haproxy.
    local opts=(--include=haproxy --customize-hook='mkdir -p "$1/usr/local/etc/haproxy"')
    local changes=(
        'USER haproxy'
        'CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'
    )
    standin haproxy "$haproxy_image"
}

# --- (c) the scope images ------------------------------------------------------------------------
# The base of the scope images: $SCOPE_BASE_IMAGE or the public debian:bookworm-slim when it is
# here, else ours (made above).
scope_base=""
pick_scope_base() {
    local public="${SCOPE_BASE_IMAGE:-debian:bookworm-slim}"
    if docker image inspect "$public" >/dev/null 2>&1; then
        scope_base="$public"
    else
        [ "$public" = "$base_image" ] || log "$public is not here: the scope images build on $base_image"
        scope_base="$base_image"
    fi
}

ca_bundle() {
    local f
    for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
        [ -s "$f" ] && { echo "$f"; return; }
    done
    log "installing ca-certificates (the images carry the host's CA bundle)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates >/dev/null
    echo /etc/ssl/certs/ca-certificates.crt
}

# build_scope NAME TAG DOCKERFILE BINARY
build_scope() {
    local name="$1" tag="$2" dockerfile="$3" bin="$4" base base_id ca hash ctx
    local src="$CARGO_TARGET_DIR/$profile/$bin"
    [ -x "$src" ] || die "$src is missing: run cargo build $([ "$profile" = release ] && echo '--release ')-p scope-app -p scope-probe first"
    base="$scope_base"
    base_id="$(docker image inspect -f '{{.Id}}' "$base")"
    ca="$(ca_bundle)"
    hash="$( { echo "$name v$recipe_version $base_id"; cat "$dockerfile" "$ca" "$src"; } | sha)"
    if [ "$(image_hash "$tag")" = "$hash" ]; then
        log "$name: $tag is up to date ($profile binary)"
        return
    fi
    # A build context holding only what this image needs (the binaries are large in debug).
    ctx="$tmp/ctx-$name"
    mkdir -p "$ctx"
    ln "$src" "$ctx/$bin" 2>/dev/null || cp "$src" "$ctx/$bin"
    cp "$ca" "$ctx/ca-certificates.crt"
    log "$name: building $tag from $(basename "$dockerfile") on $base ($profile binary)"
    if ! docker build -q -f "$dockerfile" --build-arg BASE_IMAGE="$base" --build-arg BIN_DIR=. \
        --build-arg SCOPE_CONTENT_HASH="$hash" -t "$tag" "$ctx" >"$tmp/$name.log" 2>&1; then
        cat "$tmp/$name.log" >&2
        die "$name: docker build failed"
    fi
    rm -rf "$ctx"
    log "$name: built $tag"
}

# verify_console TAG: the image, run as it ships (`scope app`, here on a SQLite file inside the
# container), must serve the real console: its app shell and the script bundle it names, not the
# placeholder a debug build embeds when web/dist was missing.
verify_console() {
    local tag="$1" name="scope-console-check-$$" port="" index="" bundle key
    command -v curl >/dev/null 2>&1 || {
        log "installing curl (checks the console the image serves)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
    }
    key="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    docker run -d --rm --name "$name" -e CHECKPOINT_DISABLE=1 -p 127.0.0.1::4040 "$tag" app \
        --database 'sqlite:///var/lib/scope/console-check.db?mode=rwc' --session-key "$key" \
        --listen 0.0.0.0:4040 >/dev/null || die "$tag: the image does not start"
    for _ in $(seq 1 60); do
        port="$(docker port "$name" 4040/tcp 2>/dev/null | sed -n '1s/.*://p')"
        [ -n "$port" ] && index="$(curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null)" && break
        sleep 0.5
    done
    if [ -z "$index" ]; then
        docker logs "$name" 2>&1 | tail -n 20 >&2 || true
        docker rm -f "$name" >/dev/null 2>&1 || true
        die "$tag: the image's app did not answer on its console port"
    fi
    bundle="$(grep -o 'src="/assets/index-[A-Za-z0-9_-]*\.js"' <<<"$index" | head -n 1 | sed 's/^src="//; s/"$//')"
    if ! grep -q 'id="app"' <<<"$index" || [ -z "$bundle" ] \
        || ! curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$port$bundle"; then
        docker rm -f "$name" >/dev/null 2>&1 || true
        die "$tag serves no console (a binary built without web/dist): run scripts/web.sh, rebuild the binary, then this script"
    fi
    docker rm -f "$name" >/dev/null 2>&1 || true
    log "scope: $tag serves the console ($bundle)"
}

start=$SECONDS
ensure_tools
find_mirrors
# The four root file systems are independent: make them side by side (mostly download and
# unpacking, which overlap well even on two cores).
pids=()
for build in build_base build_postgres build_nats build_haproxy; do
    "$build" &
    pids+=($!)
done
failed=false
for pid in "${pids[@]}"; do
    wait "$pid" || failed=true
done
$failed && die "building the base images failed (see above)"
if $with_scope; then
    pick_scope_base
    build_scope scope "$scope_image" "$root/deploy/Dockerfile" scope
    verify_console "$scope_image"
    build_scope scope-probe "$probe_image" "$root/deploy/Dockerfile.probe" scope-probe
fi
# Dangling layers of replaced images.
docker image prune -f --filter "label=$label" >/dev/null 2>&1 || true
log "done in $((SECONDS - start)) s"

vars="POSTGRES_IMAGE=$postgres_image
NATS_IMAGE=$nats_image
LB_IMAGE=$haproxy_image
"
if $with_scope; then
    vars="${vars}SCOPE_BASE_IMAGE=$scope_base
SCOPE_IMAGE=$scope_image
SCOPE_PROBE_IMAGE=$probe_image"
fi
if [ -n "$env_file" ]; then
    printf '%s\n' "$vars" >"$env_file"
fi
printf '%s\n' "$vars"

#!/usr/bin/env bash
# Makes sure a Docker engine runs on this machine and the local test image exists.
# Idempotent and quick when everything is already there. Needs root (installs Debian packages).
#
# The test image `scope-test-busybox:latest` is built locally with `docker import` from Debian's
# busybox-static, because no container registry is reachable from CI machines.
#
# With --engine-only, only the engine is installed and started (what `scripts/scope launch` needs).
set -euo pipefail

engine_only=false
[ "${1:-}" = "--engine-only" ] && engine_only=true

log() { echo "ensure-docker: $*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need_pkgs+=(busybox-static)
command -v file >/dev/null 2>&1 || need_pkgs+=(file)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    mkdir -p /var/log
    # setsid: dockerd outlives the shell (and the CI job step) that started it.
    setsid nohup dockerd </dev/null >/var/log/scope-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/scope-dockerd.log"; exit 1; }
fi

if $engine_only; then
    log "docker ready"
    exit 0
fi

if ! docker image inspect scope-test-busybox:latest >/dev/null 2>&1; then
    log "building scope-test-busybox:latest from busybox-static"
    root=$(mktemp -d)
    mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www" "$root/proc" "$root/sys" "$root/dev"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
    echo "scope test page" >"$root/www/index.html"
    tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' - scope-test-busybox:latest >/dev/null
    rm -rf "$root"
fi
log "docker ready"

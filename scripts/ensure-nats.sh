#!/usr/bin/env bash
# Makes sure a local NATS server runs on 127.0.0.1:4222 for the bus tests (`cargo test -p
# scope-bus -p scope-ingest`). Idempotent and quick when one already answers. Needs root
# (installs Debian's `nats-server`).
#
# The server is configured for Scope rather than NATS's defaults: `max_payload` is 16 MB, because
# a probe message may be up to 16 MiB and replicas forward probe reports over the bus (the NATS
# default, 1 MB, would refuse them), and JetStream is on, with its store under
# $SCOPE_TEST_STATE_DIR/nats. It listens on loopback only and has no authentication: a
# test-only server.
#
# Output: the URL `nats://127.0.0.1:4222` on stdout (the only thing printed there); log lines on
# stderr. The server's own log is $SCOPE_TEST_STATE_DIR/nats-server.log. So a test script does
#   export SCOPE_TEST_NATS_URL="$(bash scripts/ensure-nats.sh)"
set -euo pipefail

state_dir="${SCOPE_TEST_STATE_DIR:-/var/lib/scope-test}"
host=127.0.0.1
port=4222
url="nats://$host:$port"
# What the tests need; a server found already running with less is an error, not a silent pass.
min_payload=$((16 * 1024 * 1024))
log() { echo "ensure-nats: $*" >&2; }

# Prints the server's INFO line, or fails when nothing NATS-like answers on $host:$port.
server_info() {
    local line
    exec 3<>"/dev/tcp/$host/$port" || return 1
    IFS= read -r -t 2 line <&3 || { exec 3<&-; return 1; }
    exec 3<&-
    case "$line" in
        INFO*) printf '%s\n' "$line" ;;
        *) return 1 ;;
    esac
}

# The max_payload field of an INFO line (JSON), without needing jq.
max_payload_of() {
    sed -n 's/.*"max_payload":\([0-9]*\).*/\1/p' <<<"$1"
}

check_payload() {
    local info="$1" max
    max="$(max_payload_of "$info")"
    if [ -z "$max" ] || [ "$max" -lt "$min_payload" ]; then
        log "a NATS server answers on $host:$port but its max_payload is ${max:-unknown} bytes;"
        log "Scope's tests need at least $min_payload. Stop that server and run this script again"
        exit 1
    fi
}

# --- already running? ----------------------------------------------------------------------
if info="$(server_info 2>/dev/null)"; then
    check_payload "$info"
    printf '%s\n' "$url"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (installs nats-server and writes under $state_dir)"
    exit 1
fi

# --- install -------------------------------------------------------------------------------
if ! command -v nats-server >/dev/null 2>&1; then
    log "installing nats-server"
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    # Debian's package ships a systemd unit but we start the server ourselves (no systemd in
    # containers), with our own configuration.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq nats-server >/dev/null
fi

# --- configure and start -------------------------------------------------------------------
mkdir -p "$state_dir/nats"
chmod 700 "$state_dir"
conf="$state_dir/nats-server.conf"
log_file="$state_dir/nats-server.log"
pid_file="$state_dir/nats-server.pid"
cat >"$conf" <<EOF
# Written by scripts/ensure-nats.sh; rewritten on every start.
host: $host
port: $port
# Probe messages may be up to 16 MiB; replicas forward them over the bus.
max_payload: 16MB
# Bytes queued for one client before the server calls it a slow consumer and cuts it: the
# default (64 MB) is only four of the largest messages.
max_pending: 256MB
jetstream {
  store_dir: "$state_dir/nats"
}
log_file: "$log_file"
pid_file: "$pid_file"
EOF
nats-server -t -c "$conf" >/dev/null 2>&1 || {
    log "nats-server rejects its configuration $conf:"
    nats-server -t -c "$conf" >&2 || true
    exit 1
}

log "starting nats-server on $host:$port (log: $log_file)"
# setsid + nohup: the server outlives this script and the shell that ran it.
setsid nohup nats-server -c "$conf" </dev/null >>"$log_file" 2>&1 &

for _ in $(seq 1 60); do
    if info="$(server_info 2>/dev/null)"; then
        check_payload "$info"
        log "NATS ready at $url"
        printf '%s\n' "$url"
        exit 0
    fi
    sleep 0.5
done
log "nats-server did not answer on $host:$port within 30 s; see $log_file"
tail -n 20 "$log_file" >&2 || true
exit 1

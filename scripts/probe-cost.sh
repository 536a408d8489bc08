#!/usr/bin/env bash
# Measures the probe's CPU and memory on a host with 20 containers and about 300 processes:
# starts an app and the release `scope-probe`, lets it warm up, then reads /proc/PID/stat and
# /proc/PID/status over a minute. Usage: scripts/probe-cost.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${SCOPE_TARGET_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/scope/target}}"
secs="${1:-60}"
bash scripts/ensure-docker.sh >/dev/null
bash scripts/web.sh  # a release scope binary embeds the console
cargo build --release --locked -p scope-app -p scope-probe >&2
bin="$CARGO_TARGET_DIR/release"

names=()
cleanup() {
    [ -n "${probe_pid:-}" ] && kill "$probe_pid" 2>/dev/null || true
    [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null || true
    [ ${#names[@]} -gt 0 ] && docker rm -f "${names[@]}" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# 20 containers, each with an httpd and 10 sleeping children: ~240 processes plus the host's own.
for i in $(seq 1 20); do
    n="scope-cost-$$-$i"
    names+=("$n")
    docker run -d --name "$n" scope-test-busybox:latest \
        sh -c 'for j in 1 2 3 4 5 6 7 8 9 10; do sleep 3600 & done; exec httpd -f -p 80 -h /www' >/dev/null
done

token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$((20000 + RANDOM % 20000))
CHECKPOINT_DISABLE=1 "$bin/scope" app --listen 127.0.0.1:$port --probe-listen 127.0.0.1:$((port + 1)) \
    --service-token "$token" >/dev/null 2>&1 &
app_pid=$!
sleep 1
CHECKPOINT_DISABLE=1 "$bin/scope-probe" --service-token "$token" 127.0.0.1:$((port + 1)) >/tmp/scope-probe-cost.log 2>&1 &
probe_pid=$!
sleep 10

procs=$(ls -d /proc/[0-9]* | wc -l)
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$probe_pid/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$probe_pid/status"; }
c0=$(cpu)
max_rss=0
for _ in $(seq 1 "$secs"); do
    sleep 1
    r=$(rss)
    [ "$r" -gt "$max_rss" ] && max_rss=$r
done
c1=$(cpu)
python3 - "$c0" "$c1" "$tck" "$secs" "$max_rss" "$procs" <<'PY'
import sys
c0, c1, tck, secs, rss, procs = map(int, sys.argv[1:])
pct = (c1 - c0) / tck / secs * 100
print(f"host: 20 containers, {procs} processes")
print(f"scope-probe over {secs} s: {pct:.2f}% of one core, peak RSS {rss / 1024:.1f} MiB")
PY
curl -s "http://127.0.0.1:$port/api/probes" | head -c 400; echo

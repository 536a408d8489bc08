#!/usr/bin/env bash
# End-to-end test of the self-hosted cloud tier (deploy/docker-compose.yml) with real parts:
# PostgreSQL, NATS, two app replicas behind haproxy, and a probe for this host, all in Docker
# with images built locally (scripts/build-images.sh; no registry is needed).
#
#  1. builds the debug binaries and the images, writes a throw-away env file with random secrets
#  2. `docker-compose up -d`, waits for the load balancer to answer
#  3. through the load balancer: auth config, sign-up with the bootstrap secret, a service token
#  4. starts the probe with that token; this host must appear in /api/topology/hosts, through the
#     load balancer and on each replica directly (one has the probe's stream, the other gets the
#     reports over NATS)
#  5. stops the replica holding the probe's stream: the probe must reconnect through the load
#     balancer to the other one and the host stay on the map; signing in still works (PostgreSQL)
#  6. starts that replica again and kills (SIGKILL) the other: the probe must come back to it
# Always `docker-compose down -v` at the end; container logs are printed on failure.
#
# Ports (loopback only), all overridable: load balancer 14040 (API) and 14041 (probes), the
# replicas' APIs 14042 and 14043 (deploy/docker-compose.test.yml).
# Needs root (Docker, Debian packages). Takes about a minute when the images are up to date.
# SCOPE_COMPOSE_TEST_KEEP=1 leaves the containers running at the end, for a look at them.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${SCOPE_TARGET_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/scope/target}}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

project="${SCOPE_COMPOSE_PROJECT:-scope-test}"
http_port="${SCOPE_TEST_HTTP_PORT:-14040}"
probe_port="${SCOPE_TEST_PROBE_PORT:-14041}"
app1_port="${SCOPE_TEST_APP1_PORT:-14042}"
app2_port="${SCOPE_TEST_APP2_PORT:-14043}"
lb="http://127.0.0.1:$http_port"

passed=0
step() { echo "==> compose-test: $*" >&2; }
ok() { passed=$((passed + 1)); echo "    ok: $*" >&2; }
fail() {
    echo "compose-test: FAILED: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || fail "must run as root (Docker, Debian packages)"

# --- tools ---------------------------------------------------------------------------------------
step "Docker engine, docker-compose, curl"
bash scripts/ensure-docker.sh --engine-only
need=()
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
    echo "compose-test: installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# One run at a time on this machine (fixed project name and ports).
mkdir -p "$HOME/.cache/scope"
exec 8>"$HOME/.cache/scope/compose-test.lock"
flock 8

tmp="$(mktemp -d)"
chmod 700 "$tmp"
env_file="$tmp/compose.env"

compose() {
    docker-compose --env-file "$env_file" -p "$project" \
        -f deploy/docker-compose.yml -f deploy/docker-compose.test.yml "$@"
}
# With the probe service too (logs, clean-up).
compose_all() { compose --profile probe "$@"; }

finished=false
cleanup() {
    local rc=$?
    if [ -s "$env_file" ]; then
        if ! $finished; then
            echo "---- compose ps ----" >&2
            compose_all ps >&2 || true
            echo "---- container logs (last 150 lines each) ----" >&2
            compose_all logs --no-color --tail=150 >&2 || true
        fi
        if [ -n "${SCOPE_COMPOSE_TEST_KEEP:-}" ]; then
            cp "$env_file" "$HOME/.cache/scope/compose-test.env"
            echo "compose-test: SCOPE_COMPOSE_TEST_KEEP is set: left running; remove with" >&2
            echo "  docker-compose --env-file ~/.cache/scope/compose-test.env -p $project -f deploy/docker-compose.yml -f deploy/docker-compose.test.yml --profile probe down -v" >&2
        else
            compose_all down -v --remove-orphans >/dev/null 2>&1 || echo "compose-test: docker-compose down failed" >&2
        fi
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ---------------------------------------------------------------------------------------
step "cargo build -p scope-app -p scope-probe (debug)"
cargo build --locked -p scope-app -p scope-probe >&2

step "images"
bash scripts/build-images.sh --profile debug --env-file "$tmp/images.env" >/dev/null


# --- configuration -------------------------------------------------------------------------------
rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
bootstrap_secret="$(rand)"
{
    cat "$tmp/images.env"
    echo "SCOPE_DB_PASSWORD=$(rand)"
    echo "SCOPE_SESSION_KEY=$(rand)"
    echo "SCOPE_BOOTSTRAP_SECRET=$bootstrap_secret"
    echo "SCOPE_HTTP_PORT=$http_port"
    echo "SCOPE_PROBE_PORT=$probe_port"
    echo "SCOPE_TEST_APP1_PORT=$app1_port"
    echo "SCOPE_TEST_APP2_PORT=$app2_port"
    echo "SCOPE_PROBE_ADDRESS=http://127.0.0.1:$probe_port"
    echo "SCOPE_PROBE_TARGET=http://127.0.0.1:$probe_port"
    echo "SCOPE_LOG_FORMAT=json"
    echo "CHECKPOINT_DISABLE=1"
} >"$env_file"
chmod 600 "$env_file"

# Leftovers of an interrupted run.
compose_all down -v --remove-orphans >/dev/null 2>&1 || true

# --- HTTP helpers --------------------------------------------------------------------------------
jar="$tmp/cookies"
body="$tmp/body"
# api METHOD URL [JSON] [extra curl args...]: sets $status, the body is in $body.
api() {
    local method="$1" url="$2" data="${3:-}"
    shift 3 || shift $#
    local args=(-sS -o "$body" -w '%{http_code}' -X "$method" -b "$jar" -c "$jar" --max-time 10)
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    status="$(curl "${args[@]}" "$@" "$url" 2>"$tmp/curl.err")" || status=000
}
# json EXPR: evaluates a Python expression over the last body (`j`), prints the result.
json() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, (dict, list, bool)) and v is not None else json.dumps(v))' "$body" "$1"
}
expect() {
    local want="$1" what="$2"
    [ "$status" = "$want" ] || fail "$what: HTTP $status, expected $want: $(head -c 500 "$body" 2>/dev/null) $(cat "$tmp/curl.err" 2>/dev/null)"
}
# hosts_on BASE: sets $hosts to the number of host nodes BASE serves to our session (0 on error)
# and succeeds when there is at least one.
hosts_on() {
    hosts=0
    api GET "$1/api/topology/hosts"
    [ "$status" = 200 ] || return 1
    hosts="$(json 'len(j.get("nodes") or {})' 2>/dev/null || echo 0)"
    [ "$hosts" -gt 0 ]
}

# --- up --------------------------------------------------------------------------------------------
step "docker-compose up -d (project $project)"
compose up -d >&2

step "waiting for the load balancer on $lb"
deadline=$((SECONDS + 120))
until api GET "$lb/api/auth/config"; [ "$status" = 200 ]; do
    [ $SECONDS -lt $deadline ] || fail "the load balancer did not answer 200 on /api/auth/config within 120 s (last: HTTP $status)"
    sleep 1
done
ok "GET /api/auth/config through the load balancer after $((SECONDS - deadline + 120)) s"
[ "$(json 'j["mode"]')" = accounts ] || fail "auth config mode is not accounts: $(cat "$body")"
[ "$(json 'j["bootstrapRequired"]')" = true ] || fail "a fresh tier should require the bootstrap secret: $(cat "$body")"
[ "$(json 'j["signup"]')" = closed ] || fail "sign-up should default to closed: $(cat "$body")"
ok "accounts mode, sign-up closed, bootstrap required"

# Both replicas up and healthy (the load balancer may answer with one).
for port in "$app1_port" "$app2_port"; do
    deadline=$((SECONDS + 60))
    until api GET "http://127.0.0.1:$port/api/auth/config"; [ "$status" = 200 ]; do
        [ $SECONDS -lt $deadline ] || fail "replica on 127.0.0.1:$port did not answer within 60 s (HTTP $status)"
        sleep 1
    done
done
ok "both replicas answer"

# --- accounts --------------------------------------------------------------------------------------
email="admin@example.com"
password="$(rand)"
step "sign-up with the bootstrap secret"
api POST "$lb/api/auth/signup" "{\"email\":\"$email\",\"password\":\"$password\",\"orgName\":\"Compose Test\",\"bootstrapSecret\":\"wrong\"}"
case "$status" in 4??) ;; *) fail "sign-up with a wrong bootstrap secret: HTTP $status, expected 4xx" ;; esac
rm -f "$jar"
api POST "$lb/api/auth/signup" "{\"email\":\"$email\",\"password\":\"$password\",\"orgName\":\"Compose Test\",\"bootstrapSecret\":\"$bootstrap_secret\"}"
expect 201 "POST /api/auth/signup"
csrf="$(json 'j["csrfToken"]')"
{ [ -n "$csrf" ] && [ "$csrf" != null ]; } || fail "no csrfToken in the sign-up answer: $(cat "$body")"
[ "$(json 'j["role"]')" = admin ] || fail "the first user should be admin: $(cat "$body")"
grep -q scope_session "$jar" || fail "sign-up set no scope_session cookie"
ok "signed up $email (admin), session cookie set"

step "service token"
api POST "$lb/api/org/tokens" '{"name":"compose-test"}'
[ "$status" = 403 ] || fail "POST /api/org/tokens without X-CSRF-Token: HTTP $status, expected 403"
api POST "$lb/api/org/tokens" '{"name":"compose-test"}' -H "X-CSRF-Token: $csrf"
expect 201 "POST /api/org/tokens"
token="$(json 'j["secret"]')"
command_shown="$(json 'j.get("command", "")')"
case "$token" in scope_*) ;; *) fail "unexpected token secret: $(cat "$body")" ;; esac
case "$command_shown" in
    *"127.0.0.1:$probe_port"*) ;;
    *) fail "the token's command does not use SCOPE_PROBE_ADDRESS (http://127.0.0.1:$probe_port): $command_shown" ;;
esac
ok "token created; command: ${command_shown/$token/scope_…}"

# --- probe -----------------------------------------------------------------------------------------
step "starting the probe (host PID and network namespaces, via the load balancer's probe port)"
SCOPE_SERVICE_TOKEN="$token" compose_all up -d --no-deps probe >&2

step "waiting for this host in /api/topology/hosts"
deadline=$((SECONDS + 60))
until hosts_on "$lb"; do
    [ $SECONDS -lt $deadline ] || fail "no host node through the load balancer within 60 s (last: HTTP $status $(head -c 300 "$body"))"
    sleep 1
done
ok "host node through the load balancer after $((SECONDS - deadline + 60)) s"

for port in "$app1_port" "$app2_port"; do
    deadline=$((SECONDS + 30))
    until hosts_on "http://127.0.0.1:$port"; do
        [ $SECONDS -lt $deadline ] || fail "replica on 127.0.0.1:$port shows no host node within 30 s (HTTP $status $(head -c 300 "$body"))"
        sleep 1
    done
done
ok "both replicas serve the host (one from the probe's stream, one over NATS)"

# Which replica holds the probe's stream? Every replica's probe list names it (`replica`).
connected_probe() { # prints "id replica" of the first connected probe in the last body
    json '" ".join(str(x) for x in next(([p.get("id"), p.get("replica")] for p in j if p.get("connected")), []))'
}
api GET "$lb/api/org/probes"
expect 200 "GET /api/org/probes"
read -r probe_id holder <<<"$(connected_probe)" || true
case "${holder:-}" in
    app1) survivor=app2; survivor_port=$app2_port ;;
    app2) survivor=app1; survivor_port=$app1_port ;;
    *) fail "/api/org/probes names no replica holding a connected probe: $(cat "$body")" ;;
esac
ok "probe $probe_id is connected to $holder"

# reconnected_to REPLICA: a Python expression over a probe list, true when our probe is connected
# to REPLICA (every replica's list names the replica holding each probe's stream).
reconnected_to() {
    echo "any(p.get('id') == '$probe_id' and p.get('connected') and p.get('replica') == '$1' for p in j)"
}

# --- fail-over ---------------------------------------------------------------------------------------
step "stopping $holder, which holds the probe's stream"
stopped_at=$SECONDS
compose stop "$holder" >&2

deadline=$((SECONDS + 30))
while :; do
    api GET "http://127.0.0.1:$survivor_port/api/org/probes"
    if [ "$status" = 200 ] && [ "$(json "$(reconnected_to "$survivor")")" = true ]; then
        break
    fi
    [ $SECONDS -lt $deadline ] || fail "the probe did not reconnect to $survivor within 30 s (last: HTTP $status $(head -c 500 "$body"))"
    sleep 1
done
ok "probe reconnected to $survivor $((SECONDS - stopped_at)) s after $holder stopped"

# The map keeps a silent probe's data for the merge window (15 s): look past it, so the node
# shown comes from reports the survivor received after the fail-over.
sleep $((stopped_at + 20 - SECONDS > 0 ? stopped_at + 20 - SECONDS : 0))
hosts_on "$lb" || fail "no host node through the load balancer 20 s after $holder stopped (HTTP $status $(head -c 300 "$body"))"
ok "host still on the map through the load balancer 20 s after $holder stopped"

step "signing in again (users live in PostgreSQL)"
rm -f "$jar"
api POST "$lb/api/auth/signin" "{\"email\":\"$email\",\"password\":\"wrong-$password\"}"
expect 401 "POST /api/auth/signin with a wrong password"
api POST "$lb/api/auth/signin" "{\"email\":\"$email\",\"password\":\"$password\"}"
expect 200 "POST /api/auth/signin"
api GET "$lb/api/auth/me"
expect 200 "GET /api/auth/me"
[ "$(json 'j["user"]["email"]')" = "$email" ] || fail "/api/auth/me is not $email: $(cat "$body")"
[ "$(json 'j["org"]["name"]')" = "Compose Test" ] || fail "/api/auth/me org is not 'Compose Test': $(cat "$body")"
hosts_on "$lb" || fail "no host node for the new session (HTTP $status)"
ok "signed in through $survivor; the host is on the map"

# --- a hard failure ----------------------------------------------------------------------------------
step "starting $holder again, then killing $survivor (SIGKILL: no goodbye to the probe)"
compose start "$holder" >&2
holder_port=$app1_port
[ "$holder" = app2 ] && holder_port=$app2_port
deadline=$((SECONDS + 60))
# A replica that comes back catches up on the probes of the others over NATS.
until hosts_on "http://127.0.0.1:$holder_port"; do
    [ $SECONDS -lt $deadline ] || fail "$holder, started again, shows no host node within 60 s (HTTP $status $(head -c 300 "$body"))"
    sleep 1
done
ok "$holder, started again, shows the host (reports of the probe on $survivor over NATS)"
killed_at=$SECONDS
compose kill -s SIGKILL "$survivor" >&2
deadline=$((SECONDS + 30))
while :; do
    api GET "http://127.0.0.1:$holder_port/api/org/probes"
    if [ "$status" = 200 ] && [ "$(json "$(reconnected_to "$holder")")" = true ] && hosts_on "$lb"; then
        break
    fi
    [ $SECONDS -lt $deadline ] || fail "the probe did not reconnect to $holder within 30 s of killing $survivor, or the host is not on the map (last: HTTP $status $(head -c 500 "$body"))"
    sleep 1
done
ok "probe reconnected to $holder $((SECONDS - killed_at)) s after $survivor was killed; the host is on the map"

finished=true
echo "compose-test: $passed passed, 0 failed" >&2

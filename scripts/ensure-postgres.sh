#!/usr/bin/env bash
# Makes sure a local PostgreSQL server runs on this machine and has a role the store tests can use
# (`cargo test -p scope-store`). Idempotent and quick when everything is already there. Needs root
# (installs Debian's `postgresql`; the server itself runs as the `postgres` user).
#
# The role `scope_test` owns a database of the same name, in which every test creates (and
# drops) a schema of its own; CREATEDB is granted too, for tests that need whole databases. Its
# password is random, generated on first run. That password is a test-only credential for a server
# that listens on loopback only; the product itself has no default password.
#
# Output: the URL is printed on stdout (the only thing printed there) and written to
#   $SCOPE_TEST_STATE_DIR/pg-url  (default /var/lib/scope-test/pg-url): the bare URL
#   $SCOPE_TEST_STATE_DIR/pg.env  : `export SCOPE_TEST_DATABASE_URL=...`, for `source`
# so a test script can do either of
#   export SCOPE_TEST_DATABASE_URL="$(bash scripts/ensure-postgres.sh)"
#   bash scripts/ensure-postgres.sh >/dev/null && source /var/lib/scope-test/pg.env
set -euo pipefail
# Everything but the URL goes to stderr: tools run below (pg_ctlcluster, psql) print on stdout,
# and the caller captures stdout as the URL.
exec 3>&1 1>&2

state_dir="${SCOPE_TEST_STATE_DIR:-/var/lib/scope-test}"
role=scope_test
log() { echo "ensure-postgres: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (installs packages and manages the cluster)"
    exit 1
fi

# --- install -------------------------------------------------------------------------------
# pg_lsclusters comes with postgresql-common; the server binaries with postgresql-NN.
if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql"
    apt-get update -qq
    # policy-rc.d-less containers may fail to start the service from the postinst; we start the
    # cluster ourselves below, so that failure does not matter.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# --- pick (or create) a cluster and start it -----------------------------------------------
# pg_lsclusters columns: Ver Cluster Port Status Owner Data-directory Log-file
cluster_line="$(pg_lsclusters --no-header 2>/dev/null | head -n 1 || true)"
if [ -z "$cluster_line" ]; then
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    log "creating cluster $version/main"
    pg_createcluster "$version" main >/dev/null 3>&-
    cluster_line="$(pg_lsclusters --no-header | head -n 1)"
fi
read -r version cluster port status _ <<<"$cluster_line"

if [ "$status" != "online" ] && [ "${status#online}" = "$status" ]; then
    log "starting cluster $version/$cluster on port $port"
    # pg_ctlcluster, run as root, switches to the cluster owner (postgres) itself. A server that
    # was just killed may still hold its socket lock for a moment: try again before giving up.
    for attempt in 1 2 3; do
        pg_ctlcluster "$version" "$cluster" start 3>&- && break
        [ "$attempt" = 3 ] && { log "PostgreSQL $version/$cluster does not start; see /var/log/postgresql/postgresql-$version-$cluster.log"; exit 1; }
        log "start failed; trying again in 2 s"
        sleep 2
    done
fi

for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || {
    log "PostgreSQL $version/$cluster did not become ready on 127.0.0.1:$port"
    log "see /var/log/postgresql/postgresql-$version-$cluster.log"
    exit 1
}

# --- role and URL --------------------------------------------------------------------------
psql_admin() {
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres "$@"
}

mkdir -p "$state_dir"
chmod 700 "$state_dir"
url_file="$state_dir/pg-url"
env_file="$state_dir/pg.env"

# Reuse the stored URL when it still works (so concurrent shells keep a valid password).
url=""
if [ -s "$url_file" ]; then
    url="$(cat "$url_file")"
    if ! PGCONNECT_TIMEOUT=5 psql -X -q "$url" -c 'select 1' >/dev/null 2>&1; then
        url=""
    fi
fi

if [ -z "$url" ]; then
    # Hex only, so the password needs no quoting in SQL or percent-encoding in the URL.
    password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    log "setting up role $role"
    psql_admin -v role="$role" -v pw="$password" <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN CREATEDB PASSWORD %L', :'role', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
SQL
    url="postgres://$role:$password@127.0.0.1:$port/$role?sslmode=disable"
    PGCONNECT_TIMEOUT=5 psql -X -q "$url" -c 'select 1' >/dev/null || {
        log "cannot connect as $role over 127.0.0.1:$port (check pg_hba.conf)"
        exit 1
    }
fi

# Each store test works in a schema of its own, named scope_test_<unix seconds>_<random>, and
# drops it when done. Sweep those left by killed runs: only ones older than an hour, so that
# tests running right now are not disturbed.
psql -X -q -v ON_ERROR_STOP=1 "$url" <<'SQL' >/dev/null || log "could not sweep old test schemas (ignored)"
SET client_min_messages = warning;
DO $$
DECLARE s text;
BEGIN
    FOR s IN SELECT nspname FROM pg_namespace
             WHERE nspname ~ '^scope_test_[0-9]+_[0-9a-f]+$'
               AND split_part(nspname, '_', 3)::bigint < extract(epoch FROM now()) - 3600
    LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', s);
    END LOOP;
END $$;
SQL

umask 077
printf '%s\n' "$url" >"$url_file"
printf "export SCOPE_TEST_DATABASE_URL='%s'\n" "$url" >"$env_file"
log "PostgreSQL $version ready; URL in $url_file (source $env_file)"
printf '%s\n' "$url" >&3

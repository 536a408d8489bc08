#!/bin/bash
# Entrypoint of the local PostgreSQL stand-in image (scope-local/postgres), built by
# scripts/build-images.sh from Debian's postgresql-15 because no container registry is reachable.
# It honours the same variables as the official `postgres` image, so deploy/docker-compose.yml
# works with either:
#   POSTGRES_PASSWORD  required (no default password, ever)
#   POSTGRES_USER      default postgres
#   POSTGRES_DB        default $POSTGRES_USER
#   PGDATA             default /var/lib/postgresql/data (the volume)
# On first start (empty PGDATA) it runs initdb, lets every address in with scram-sha-256
# passwords (local socket: trust, as the official image does), creates the database, and runs
# /docker-entrypoint-initdb.d/*.sql and *.sh. Then it execs postgres as PID 1.
set -Eeuo pipefail

log() { echo "postgres-entrypoint: $*" >&2; }

pgbin="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
export PATH="$pgbin:$PATH"
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

# `docker run image -c foo=bar` means `postgres -c foo=bar`, as with the official image.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" != postgres ]; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 2775 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        log "POSTGRES_PASSWORD is not set: refusing to create a database without a password"
        exit 1
    fi
    user="${POSTGRES_USER:-postgres}"
    db="${POSTGRES_DB:-$user}"
    log "initialising $PGDATA (user $user, database $db)"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    {
        echo
        echo "# scope-local/postgres"
        echo "listen_addresses = '*'"
        echo "password_encryption = scram-sha-256"
    } >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"

    # A private server on the socket only, so nothing connects before the setup is done.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" \
        -w start >/dev/null
    psql=(psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "$user" -d postgres)
    if [ "$db" != postgres ]; then
        "${psql[@]}" -v db="$db" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    fi
    # The init scripts are the operator's, sourced like the official image does.
    # shellcheck disable=SC1090
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) log "running $f"; "${psql[@]}" -d "$db" -f "$f" ;;
            *.sh) log "running $f"; . "$f" ;;
            *) ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    log "initialised"
fi

exec "$@"

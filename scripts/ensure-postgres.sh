#!/usr/bin/env bash
# Make sure the local PostgreSQL used by the test suite is up and that the
# test database exists.
#
#   PGHOST (127.0.0.1)  PGPORT (5432)  PGUSER (postgres)  PGTEST_DB (test)
#   PG_CLUSTER (main)  PG_WAIT_SECONDS (30)
#
# When the server is not accepting connections it starts the Debian cluster
# with pg_ctlcluster (as root) and waits for it. Exits non-zero, with a
# message saying why, when it cannot get a usable server.
set -euo pipefail

host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
user="${PGUSER:-postgres}"
db="${PGTEST_DB:-test}"
wait_s="${PG_WAIT_SECONDS:-30}"
cluster="${PG_CLUSTER:-main}"

die() { echo "ensure-postgres: $*" >&2; exit 1; }

command -v pg_isready >/dev/null 2>&1 \
  || die "pg_isready not found; install postgresql-client (scripts/system-deps.sh does)"

ready() { pg_isready -q -h "$host" -p "$port" >/dev/null 2>&1; }

if ! ready; then
  command -v pg_ctlcluster >/dev/null 2>&1 \
    || die "PostgreSQL on $host:$port is not ready and pg_ctlcluster is not installed (need the Debian postgresql package)"
  [ -d /etc/postgresql ] && [ -n "$(ls -A /etc/postgresql 2>/dev/null)" ] \
    || die "PostgreSQL on $host:$port is not ready and no cluster exists under /etc/postgresql"
  [ "$(id -u)" -eq 0 ] \
    || die "PostgreSQL on $host:$port is not ready; start it as root: pg_ctlcluster --skip-systemctl-redirect <version> $cluster start"
  for version in $(ls /etc/postgresql); do
    [ -d "/etc/postgresql/$version/$cluster" ] || continue
    echo "ensure-postgres: starting cluster $version/$cluster"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start \
      || echo "ensure-postgres: pg_ctlcluster $version $cluster start returned non-zero (may already be running)" >&2
  done
  for _ in $(seq 1 "$wait_s"); do
    ready && break
    sleep 1
  done
  ready || die "PostgreSQL on $host:$port did not become ready within ${wait_s}s (see /var/log/postgresql/)"
fi
echo "ensure-postgres: server on $host:$port is ready"

psql_() { psql -X -q -w -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d postgres "$@"; }

exists="$(psql_ -tAc "SELECT 1 FROM pg_database WHERE datname = '${db}'")" \
  || die "cannot connect to $host:$port as $user (trust auth expected)"
if [ "$exists" != "1" ]; then
  echo "ensure-postgres: creating database $db"
  psql_ -c "CREATE DATABASE \"${db}\"" || die "could not create database $db"
fi
echo "ensure-postgres: database $db exists"

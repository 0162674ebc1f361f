#!/usr/bin/env bash
# postgres.sh start|stop|env — a private PostgreSQL server for the tests.
#
# Runs as root; the server runs as the `postgres` system user (created if missing), because
# initdb refuses root. Everything lives under $E2E_STATE_DIR/postgres (default
# E2E_STATE_DIR=/tmp/registry-e2e): data/, the socket, server.log and port.
#
#   eval "$(scripts/ci/postgres.sh env)"   # exports REGISTRY_TEST_POSTGRES, an Npgsql connection
#                                          # string without a database; each test fixture creates
#                                          # (and drops) its own database on this server
#
# Test settings: --no-sync, fsync=off, synchronous_commit=off, full_page_writes=off (a crash of a
# test server loses nothing anyone needs; starts in well under a second). Trust authentication,
# listening on 127.0.0.1 only. Locale C, as the registry's name ordering assumes anyway.
set -euo pipefail

state="${E2E_STATE_DIR:-/tmp/registry-e2e}/postgres"
bin=""
for dir in /usr/lib/postgresql/*/bin; do
  [[ -x "$dir/initdb" ]] && bin="$dir"
done

as_postgres() { runuser -u postgres -- "$@"; }

start() {
  if [[ -z "$bin" ]]; then
    echo "postgres.sh: no PostgreSQL server binaries (install postgresql-15)" >&2
    exit 1
  fi
  if [[ -f "$state/data/postmaster.pid" ]] && as_postgres "$bin/pg_ctl" -D "$state/data" status >/dev/null 2>&1; then
    return 0
  fi
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  mkdir -p "$state"
  chmod o+x "$(dirname "$state")"   # a mktemp -d parent is 0700: the server's user must reach its folder
  chown postgres: "$state"
  chmod 700 "$state"
  if [[ ! -f "$state/data/PG_VERSION" ]]; then
    as_postgres "$bin/initdb" -D "$state/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >/dev/null
  fi
  local port
  port=$("$(dirname "$0")/free-port.sh")
  as_postgres "$bin/pg_ctl" -D "$state/data" -l "$state/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $state -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  echo "$port" > "$state/port"
  echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

stop() {
  if [[ -n "$bin" && -f "$state/data/postmaster.pid" ]]; then
    as_postgres "$bin/pg_ctl" -D "$state/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  purge) stop; rm -rf "$state" ;;
  env)
    [[ -f "$state/port" ]] || { echo "postgres.sh: not started" >&2; exit 1; }
    echo "export REGISTRY_TEST_POSTGRES='Host=127.0.0.1;Port=$(cat "$state/port");Username=postgres;Password=unused'" ;;
  *) echo "usage: postgres.sh start|stop|purge|env" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server on 127.0.0.1 and EDIGW_TEST_PG_URL pointing at it.
# If EDIGW_TEST_PG_URL is already set, or no PostgreSQL is installed, the command runs as it is.
set -uo pipefail

if [ -n "${EDIGW_TEST_PG_URL:-}" ]; then exec "$@"; fi
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -z "$BIN" ]; then
  echo "with-postgres: no PostgreSQL installed; PostgreSQL tests will be skipped" >&2
  exec "$@"
fi

DIR=$(mktemp -d /tmp/edigw-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUN=()
if [ "$(id -u)" = "0" ]; then
  chown postgres: "$DIR" 2>/dev/null || { useradd -r -M postgres && chown postgres: "$DIR"; }
  RUN=(runuser -u postgres --)
fi
"${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U edigw -A trust --no-sync >/dev/null
"${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c max_connections=200" start >/dev/null
stop() { "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1; rm -rf "$DIR"; }
trap stop EXIT
export EDIGW_TEST_PG_URL="postgresql://edigw@127.0.0.1:$PORT/postgres"
"$@"

#!/usr/bin/env bash
# Sourced by tests/run.sh: starts a private PostgreSQL server for the tests
# (its own data folder, loopback only, stopped when the tests end) unless
# FW_TEST_PG_URL already names one, and exports FW_TEST_PG_URL.
fw_pg_start() {
  [ -n "${FW_TEST_PG_URL:-}" ] && return 0
  local bin run port
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    echo "postgres: no PostgreSQL server installed; PostgreSQL tests will be skipped" >&2
    return 0
  fi
  FW_PG_DIR=$(mktemp -d /tmp/fw-pg.XXXXXX)
  run=()
  if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root.
    chown postgres "$FW_PG_DIR"
    run=(runuser -u postgres --)
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if ! "${run[@]}" "$bin/initdb" -D "$FW_PG_DIR/data" -A trust -U fw -E UTF8 >"$FW_PG_DIR/initdb.log" 2>&1 ||
     ! "${run[@]}" "$bin/pg_ctl" -D "$FW_PG_DIR/data" -l "$FW_PG_DIR/server.log" -w -t 60 \
         -o "-p $port -k $FW_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start \
         >/dev/null 2>&1; then
    echo "postgres: could not start a test server:" >&2
    cat "$FW_PG_DIR"/*.log >&2
    return 1
  fi
  FW_PG_BIN=$bin
  FW_PG_RUN=("${run[@]}")
  export FW_TEST_PG_URL="postgresql://fw@127.0.0.1:$port/postgres"
  echo "postgres: test server on port $port" >&2
}

fw_pg_stop() {
  [ -n "${FW_PG_DIR:-}" ] || return 0
  "${FW_PG_RUN[@]}" "$FW_PG_BIN/pg_ctl" -D "$FW_PG_DIR/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$FW_PG_DIR"
}

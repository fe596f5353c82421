#!/usr/bin/env bash
# start.sh - runs the S3-compatible test server (server.js) on loopback.
#
#   start.sh install
#       Install the server's npm packages (package-lock.json, exact versions)
#       into the cache folder, once; later calls find them there.
#   start.sh start PORT ACCESS_KEY_ID SECRET_ACCESS_KEY STATE_DIR
#       Install if needed, start the server on 127.0.0.1:PORT (0: any free
#       port) accepting only that key pair, wait until it answers, and print
#       its endpoint ("http://127.0.0.1:PORT") as the only line on stdout.
#       STATE_DIR (created) holds its pid, its log, its objects and
#       requests.log, one line per request answered ("PUT /b/k 200").
#   start.sh stop STATE_DIR
#       Stop the server started with STATE_DIR and remove its objects.
#
# Environment:
#   FW_S3_SERVER_CACHE  where the packages go (default:
#                       /var/tmp/framewright-s3-test-server-UID); outside
#                       the source tree so the tree stays clean.
#   FW_S3_OWNER_PID     when set, the server exits by itself once that
#                       process is gone (a test that crashed cannot leak it).
#   FW_S3_ADDRESS       the address to listen on instead of 127.0.0.1.
#
# Exit status: 0 done, 3 Node.js or npm is not installed, 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "s3 test server: $*" >&2; exit 1; }

# Bazel runs tests with a minimal PATH; Node.js lives in one of these.
find_tool() {
  local name=$1 dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  for dir in /usr/local/bin /usr/bin; do
    [ -x "$dir/$name" ] && { echo "$dir/$name"; return 0; }
  done
  return 1
}

node=$(find_tool node) || { echo "s3 test server: Node.js (node) is not installed" >&2; exit 3; }
export PATH="$(dirname "$node"):$PATH"

# The same folder whoever asks (tests/run.sh beforehand, or a test under
# Bazel, which may run it without a usable HOME), so one install serves all.
cache_root() {
  echo "${FW_S3_SERVER_CACHE:-/var/tmp/framewright-s3-test-server-$(id -u)}"
}

# One folder per lock file, so a changed lock file installs afresh.
install_dir() {
  local digest
  digest=$(sha256sum "$here/package-lock.json" | cut -c1-16)
  echo "$(cache_root)/$digest"
}

install() {
  local dir npm tmp
  dir=$(install_dir)
  [ -f "$dir/.complete" ] && return 0
  npm=$(find_tool npm) || { echo "s3 test server: npm is not installed" >&2; exit 3; }
  mkdir -p "$(dirname "$dir")"
  # Several tests may start at once: one installs, the others wait for it.
  exec 9>"$dir.lock"
  flock 9
  if [ ! -f "$dir/.complete" ]; then
    tmp=$(mktemp -d "$dir.tmp.XXXXXX")
    cp "$here/package.json" "$here/package-lock.json" "$tmp/"
    echo "s3 test server: installing its packages into $dir" >&2
    if ! (cd "$tmp" && npm_config_cache="$(cache_root)/npm-cache" "$npm" ci --no-audit --no-fund \
            --ignore-scripts --loglevel=error >&2); then
      rm -rf "$tmp"
      die "npm ci failed"
    fi
    touch "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  flock -u 9
  exec 9>&-
}

start() {
  [ $# -eq 4 ] || die "usage: start.sh start PORT ACCESS_KEY_ID SECRET_ACCESS_KEY STATE_DIR"
  local port=$1 key=$2 secret=$3 state=$4 dir endpoint="" i
  install
  dir=$(install_dir)
  mkdir -p "$state"
  : >"$state/server.log"
  # server.js is run from here, its packages found through NODE_PATH; setsid
  # so it outlives this script and keeps no terminal.
  NODE_PATH="$dir/node_modules" setsid "$node" "$here/server.js" "$port" "$key" "$secret" "$state/data" \
    "$state/requests.log" \
    >"$state/server.log" 2>&1 </dev/null &
  echo $! >"$state/pid"
  for i in $(seq 1 300); do
    endpoint=$(sed -n 's/^ready \(http:[^ ]*\)$/\1/p' "$state/server.log" | head -n 1)
    [ -n "$endpoint" ] && break
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      cat "$state/server.log" >&2
      die "the server exited before it was ready"
    fi
    sleep 0.1
  done
  if [ -z "$endpoint" ]; then
    stop "$state"
    die "the server did not start within 30 seconds"
  fi
  echo "$endpoint"
}

stop() {
  [ $# -eq 1 ] || die "usage: start.sh stop STATE_DIR"
  local state=$1 pid i
  if [ -f "$state/pid" ]; then
    pid=$(cat "$state/pid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$state/pid"
  fi
  rm -rf "$state/data"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: start.sh install | start PORT ACCESS_KEY_ID SECRET_ACCESS_KEY STATE_DIR | stop STATE_DIR" ;;
esac

#!/usr/bin/env bash
# Runs an end-to-end test script with Debian's python3, the one that has
# python3-grpcio and python3-protobuf (another python3 may come first in PATH).
# $1: the script, as $(location) gives it or relative to this folder.
set -euo pipefail
here=$(dirname "$0")
py=/usr/bin/python3
if ! "$py" -c 'import grpc, google.protobuf' 2>/dev/null; then
  echo "Debian's python3 with python3-grpcio and python3-protobuf is needed (bazel/setup.sh installs them)"
  echo "fw-test: 0 passed, 1 failed"
  exit 1
fi
script=$1
[ -f "$script" ] || script=$here/$1
exec "$py" -u -B "$script"

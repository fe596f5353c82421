#!/usr/bin/env bash
# Runs an end-to-end test script with Debian's python3, the one that has
# python3-grpcio and python3-protobuf (another python3 may come first in PATH).
set -euo pipefail
here=$(dirname "$0")
py=/usr/bin/python3
if ! "$py" -c 'import grpc, google.protobuf' 2>/dev/null; then
  echo "Debian's python3 with python3-grpcio and python3-protobuf is needed (bazel/setup.sh installs them)"
  echo "fw-test: 0 passed, 1 failed"
  exit 1
fi
exec "$py" -u -B "$here/$1"

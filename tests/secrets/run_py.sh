#!/usr/bin/env bash
# Runs a service test with Debian's python3 (the one with python3-grpcio).
set -euo pipefail
py=/usr/bin/python3
if ! "$py" -c 'import grpc, google.protobuf' 2>/dev/null; then
  echo "Debian's python3 with python3-grpcio and python3-protobuf is needed (bazel/setup.sh installs them)"
  echo "fw-test: 0 passed, 1 failed"
  exit 1
fi
exec "$py" -u "$@"

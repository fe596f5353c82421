#!/usr/bin/env bash
# The quick start's run command: installs what is missing, builds Framewright
# and runs the service - gRPC API, workers and output URLs, on SQLite and a
# local folder (data/ beside the checkout unless FRAMEWRIGHT_DATA_DIR or
# --data says otherwise). On an empty data folder it prints a first API key.
# Extra arguments go to `framewright serve` (see README).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash bazel/setup.sh
bazel build //server:framewright //client:framewright-client //gateway:framewright-gateway >&2
exec bazel-bin/server/framewright serve "$@"

#!/usr/bin/env bash
# The quick start's run command: installs what is missing, builds Framewright
# and renders the bundled example job, then says where the video is.
#   bazel/run.sh [JOB.json] [OUT]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash bazel/setup.sh
bazel build //server:framewright >&2

job=${1:-tests/examples/hello/job.json}
out=${2:-out/hello.mp4}
mkdir -p "$(dirname "$out")"
bazel-bin/server/framewright render "$job" -o "$out"
echo "framewright: the video is at $(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

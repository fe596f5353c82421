#!/usr/bin/env bash
# The farm test at full size (FW_FARM_FULL=1: batches of 24, long jobs of
# 9000 frames), under AddressSanitizer, with its log shown as it runs.
# Extra arguments go to `bazel test` (--test_env=FW_FARM_DOWN=60, say).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bazel test --config=asan --test_env=FW_FARM_FULL=1 --test_output=streamed --test_timeout=1800 \
  "$@" //tests/farm:farm_test

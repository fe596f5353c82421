#!/usr/bin/env bash
# Runs every test of Framewright on this machine: installs what is missing
# (bazel/setup.sh), builds, runs the test targets under AddressSanitizer and
# UndefinedBehaviorSanitizer, then runs each fuzz target for a bounded time.
# The last line is "N passed, N failed".
#
#   FW_CORPUS_DIR     the Lottie corpus (default: ../shared/corpus/lottie beside the checkout)
#   FW_FUZZ_SECONDS   seconds per fuzz target (default 30; 0 skips fuzzing)
#   FW_TEST_PG_URL    a PostgreSQL server for the tests (default: a private one started here)
#   FW_FIDELITY       0 skips the fidelity check against lottie-web (needs the corpus and Chromium)
#   FW_FRESH          1 also runs the quick start on a fresh Debian 12 root (tests/fresh/check.sh)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash bazel/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
# The S3-compatible test server (npm), installed once into a cache outside the checkout.
bash tests/storage/s3/start.sh install || { echo "s3 test server install failed"; echo "0 passed, 1 failed"; exit 1; }

corpus=${FW_CORPUS_DIR:-}
if [ -z "$corpus" ] && [ -d "$top/../shared/corpus/lottie" ]; then
  corpus=$(cd "$top/../shared/corpus/lottie" && pwd)
fi
[ -n "$corpus" ] || echo "note: no Lottie corpus found; tests that need it are skipped" >&2
fuzz_seconds=${FW_FUZZ_SECONDS:-30}

passed=0
failed=0
log=$(mktemp)
source tests/postgres.sh
trap 'fw_pg_stop; rm -f "$log"' EXIT
fw_pg_start || { echo "0 passed, 1 failed"; exit 1; }

# Unit and integration tests, sanitized.
bazel test --config=asan --test_env=FW_CORPUS_DIR="$corpus" --test_env=FW_TEST_PG_URL="${FW_TEST_PG_URL:-}" \
  --test_env=FW_TEST_S3_ENDPOINT --test_env=FW_TEST_S3_ACCESS_KEY_ID --test_env=FW_TEST_S3_SECRET_ACCESS_KEY \
  --test_env=FW_TEST_S3_REGION --test_env=FW_TEST_S3_BUCKET --test_env=FW_S3_SERVER_CACHE \
  --test_tag_filters=-fuzz \
  --build_tests_only --keep_going //... 2>&1 | tee "$log"
build_status=${PIPESTATUS[0]}

testlogs=$(bazel info --config=asan bazel-testlogs 2>/dev/null)
while read -r target status; do
  path=${target#//}
  path=${path/://}
  file="$testlogs/$path/test.log"
  line=$(grep -a '^fw-test: ' "$file" 2>/dev/null | tail -n 1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/^fw-test: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
    f=$(sed -E 's/^fw-test: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    passed=$((passed + p))
    failed=$((failed + f))
    # A binary that printed its summary but still failed (a leak found at exit, say).
    if [ "$status" != PASSED ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
  elif [ "$status" = PASSED ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done < <(grep -aE '^//[^ ]+ +(\(cached\) )?(PASSED|FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log" |
         sed -E 's/\(cached\) //' | awk '{print $1, $2}')

if [ "$build_status" -ne 0 ] && [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
  echo "the build failed" >&2
fi

# Fuzz targets: each runs for a bounded time from its seed corpus; a crash fails it.
if [ "$fuzz_seconds" -gt 0 ]; then
  targets=$(bazel query 'attr(tags, "\bfuzz\b", kind(cc_binary, //...))' 2>/dev/null)
  if [ -n "$targets" ]; then
    if bazel build --config=fuzz $targets >"$log" 2>&1; then
      bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)
      for t in $targets; do
        path=${t#//}
        pkg=${path%%:*}
        name=${path#*:}
        work=$(mktemp -d)
        seeds="$top/$pkg/${name}_seeds"
        dict=()
        [ -d "$seeds" ] && cp -r "$seeds/." "$work/" 2>/dev/null
        [ -f "$top/$pkg/$name.dict" ] && dict=(-dict="$top/$pkg/$name.dict")
        if (cd "$work" && FW_CORPUS_DIR="$corpus" "$bin/$pkg/$name" -max_total_time="$fuzz_seconds" \
              -rss_limit_mb=2048 -timeout=25 -print_final_stats=0 "${dict[@]}" "$work" >"$work.log" 2>&1); then
          echo "fuzz $t: ok (${fuzz_seconds}s)"
          passed=$((passed + 1))
        else
          echo "fuzz $t: FAILED"; tail -n 40 "$work.log"
          failed=$((failed + 1))
        fi
        rm -rf "$work" "$work.log"
      done
    else
      cat "$log"; echo "fuzz targets failed to build"
      failed=$((failed + 1))
    fi
  fi
fi

# Fidelity: the default engine against lottie-web in Chromium over the corpus (bench/fidelity):
# at least 90 % of frames at SSIM >= 0.98, and more of them than rlottie.
if [ -n "$corpus" ] && [ "${FW_FIDELITY:-1}" != 0 ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
    { $sudo apt-get install -y -q chromium || { $sudo apt-get update -q && $sudo apt-get install -y -q chromium; }; } \
      >"$log" 2>&1
  fi
  json=$(mktemp)
  if bench/fidelity/run.sh --corpus "$corpus" --engine cairo --engine rlottie --json "$json" >"$log" 2>&1; then
    verdict=$(/usr/bin/python3 - "$json" <<'PY'
import json, sys
d = {s["engine"]: s for s in json.load(open(sys.argv[1]))["summary"]}
c, r = d["cairo"], d["rlottie"]
share = c["pass"] / c["frames"]
print("ok" if share >= 0.90 and c["pass"] > r["pass"] else "low",
      "cairo %d/%d (%.1f%%), rlottie %d/%d" % (c["pass"], c["frames"], 100 * share, r["pass"], r["frames"]))
PY
)
    echo "fidelity: $verdict"
    case $verdict in ok*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
  else
    tail -n 30 "$log"; echo "fidelity: the benchmark failed"
    failed=$((failed + 1))
  fi
  rm -f "$json"
fi

# The quick start on a minimal Debian 12 root: both commands, as the README
# writes them (tests/fresh/check.sh; its own counts join these).
if [ "${FW_FRESH:-0}" = 1 ]; then
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo bash tests/fresh/check.sh 2>&1 | tee "$log"
  line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    passed=$((passed + ${line%% passed*}))
    line=${line#*, }
    failed=$((failed + ${line%% failed}))
  else
    echo "fresh: the check ended without its summary"
    failed=$((failed + 1))
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

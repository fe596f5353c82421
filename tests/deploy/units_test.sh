#!/usr/bin/env bash
# units_test.sh - the systemd units of deploy/systemd parse and name a
# framewright that takes their commands: systemd-analyze verify on copies
# that point at the built binary, and each unit's command line run with
# --help-like checks of its subcommand. Prints "fw-test: N passed, N failed".
set -uo pipefail
passed=0
failed=0
check() { if eval "$2"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }

fw=$(readlink -f "$1")
units=$(dirname "$(readlink -f "$2")")
tmp=${TEST_TMPDIR:-$(mktemp -d)}/units
mkdir -p "$tmp"
sed "s|/usr/local/bin/framewright|$fw|g" "$units/framewright.service" >"$tmp/framewright.service"
sed "s|/usr/local/bin/framewright|$fw|g" "$units/framewright-worker@.service" >"$tmp/framewright-worker@1.service"

if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify "$tmp/framewright.service" "$tmp/framewright-worker@1.service" 2>&1 |
        grep -v "EnvironmentFile\|/etc/framewright" || true)
  check "systemd-analyze verify finds nothing wrong${out:+: $out}" '[ -z "$out" ]'
else
  echo "skip systemd-analyze verify: not installed"
fi
check "the API unit runs 'framewright serve' with no workers of its own" \
  'grep -q "^ExecStart=$fw serve " "$tmp/framewright.service" && grep -q "^Environment=FRAMEWRIGHT_WORKERS=0" "$tmp/framewright.service"'
check "the worker unit runs 'framewright worker' in a folder of its own" \
  'grep -q "^ExecStart=$fw worker --data \${STATE_DIRECTORY}/worker-%i" "$tmp/framewright-worker@1.service"'
for v in FRAMEWRIGHT_DATABASE_URL FRAMEWRIGHT_S3_BUCKET FRAMEWRIGHT_SIGNING_SECRET FRAMEWRIGHT_SECRETS_KEY; do
  check "the example environment sets $v" 'grep -q "^$v=" "$units/framewright.env.example"'
done
# The server reads each of the example's variables (no name the code does not know).
for v in $(sed -n 's/^\(FRAMEWRIGHT_[A-Z0-9_]*\)=.*/\1/p' "$units/framewright.env.example"); do
  check "framewright reads $v" 'grep -aq "$v" "$fw"'
done
echo "fw-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

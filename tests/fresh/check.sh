#!/usr/bin/env bash
# check.sh - the README's quick start on a fresh Debian 12 machine.
#
# Makes a minimal Debian 12 root (mmdebstrap, variant minbase: no compiler,
# no curl, no Python, no sudo, no locales), copies a clean clone of this
# checkout's HEAD into it (and the Lottie corpus beside it, as a developer's
# checkout has it), and runs there the two commands of the README's quick
# start, read from the README itself:
#
#   1. the run command, until the service prints its REST address and a first
#      API key; the key must then list templates over REST (and no key must
#      be refused), after which the service is stopped;
#   2. the test command, quick variant (FW_FUZZ_SECONDS=0 FW_FIDELITY=0).
#
# Nothing of this machine's own packages reaches the root, so a package that
# bazel/setup.sh forgets makes a command fail there; the check then names the
# first missing file or command and the Debian package that holds it. A test
# skipped in the fresh root counts as a failure: every test can run there.
# The last line is "N passed, N failed".
#
# Needs root (chroot and mounts) and this machine's apt sources; run as
#   sudo tests/fresh/check.sh      or      FW_FRESH=1 tests/run.sh
#
#   FW_FRESH_CACHE   where the Debian 12 tarball and the downloaded .deb files
#                    are kept between runs (default /var/tmp/framewright-fresh);
#                    delete the tarball to make it anew
#   FW_FRESH_KEEP=1  keep the root afterwards (its path is printed)
#   FW_CORPUS_DIR    the Lottie corpus (default ../shared/corpus/lottie)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FW_FRESH_CACHE:-/var/tmp/framewright-fresh}
mirror="http://deb.debian.org/debian"
tarball="$cache/bookworm-minbase.tar"
start=$(date +%s)
passed=0
failed=0

say() { echo "fresh: $*" >&2; }
finish() {
  say "took $(( $(date +%s) - start )) s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}
fail() { say "FAILED: $*"; failed=$((failed + 1)); finish; }

[ "$(id -u)" -eq 0 ] || { say "needs root for chroot and mounts (sudo $0)"; failed=1; finish; }
# Its own mount namespace: the root's mounts are nobody else's, and go with it.
if [ -z "${FW_FRESH_NAMESPACE:-}" ]; then
  FW_FRESH_NAMESPACE=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
for tool in mmdebstrap git curl; do
  command -v "$tool" >/dev/null 2>&1 && continue
  say "installing $tool on this machine (to build the fresh root)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$tool" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "$tool" >/dev/null; } || fail "could not install $tool on this machine"
done

# The quick start's two commands, as the README writes them: the first code
# block after "## Quick start", comments removed.
mapfile -t commands < <(awk '
  /^## Quick start/ { section = 1; next }
  section && /^## / { exit }
  section && /^```/ { if (block) exit; block = 1; next }
  block { sub(/[ \t]+#.*$/, ""); if ($0 != "") print }
' "$top/README.md")
[ ${#commands[@]} -eq 2 ] || fail "README.md: the quick start should hold two commands, found ${#commands[@]}"
say "quick start: '${commands[0]}' then '${commands[1]}'"

# The Debian 12 tarball, made once.
mkdir -p "$cache/archives/partial"
if [ ! -s "$tarball" ]; then
  say "making a minimal Debian 12 root (mmdebstrap, once; kept in $cache)"
  mmdebstrap --variant=minbase --format=tar bookworm "$tarball.tmp" \
      "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
      "deb http://deb.debian.org/debian-security bookworm-security main" >"$cache/mmdebstrap.log" 2>&1 ||
    { tail -n 20 "$cache/mmdebstrap.log" >&2; rm -f "$tarball.tmp"; fail "mmdebstrap failed"; }
  mv "$tarball.tmp" "$tarball"
fi

root=$(mktemp -d "$cache/root.XXXXXX")
mounts=()
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM -- "-$server_pid" 2>/dev/null; sleep 1; kill -KILL -- "-$server_pid" 2>/dev/null; fi
  # Whatever the tests left running inside the root (a PostgreSQL server, say).
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  local i m
  # What the tests mounted inside the root (ip netns keeps /run/netns mounted), deepest first.
  while read -r m; do umount -l "$m" 2>/dev/null; done < <(awk -v r="$root/" 'index($2, r) == 1 {print $2}' \
    /proc/self/mounts | sort -r)
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null; done
  if [ "${FW_FRESH_KEEP:-0}" = 1 ]; then say "the root is kept in $root"; else rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tar -C "$root" -xf "$tarball" || fail "could not unpack $tarball"
mnt() { mount "$@" && mounts+=("${*: -1}"); }
mnt -t proc proc "$root/proc" && mnt -t sysfs sysfs "$root/sys" &&
  mnt --bind /dev "$root/dev" && mnt -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" &&
  mnt -t tmpfs tmpfs "$root/dev/shm" &&
  mnt --bind "$cache/archives" "$root/var/cache/apt/archives" || fail "could not mount into the root"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# This machine's network, not a package: where it reaches the Internet through
# a proxy that signs with certificate authorities of its own (added locally,
# in /usr/local/share/ca-certificates), the root trusts them too. The
# ca-certificates package that setup installs merges them into the system
# bundle, and npm (whose Node.js otherwise trusts only its own list) is told
# to use that bundle.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$root/etc/npmrc"
fi
# Downloaded packages stay in the cache for the next run (they are only files:
# setup still has to install every one of them).
echo 'APT::Keep-Downloaded-Packages "true";' >"$root/etc/apt/apt.conf.d/90framewright-fresh"
rm -f "$root/etc/apt/apt.conf.d/docker-clean"

# A clean clone of what is committed, where a developer would have it.
home="$root/root"
git clone -q --no-hardlinks "$top" "$home/framewright" || fail "git clone failed"
corpus=${FW_CORPUS_DIR:-$top/../shared/corpus/lottie}
if [ -d "$corpus" ]; then
  mkdir -p "$home/shared/corpus" && cp -r "$corpus" "$home/shared/corpus/lottie"
else
  say "no Lottie corpus: the tests that need one will be skipped, and so count as failed"
fi

# A command in the root as a user's login shell would run it.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" /bin/bash -c "cd /root/framewright && $cmd"
}

# The Debian package that holds a file, from Debian 12's Contents index
# (fetched once into the cache): the first path matching the regular
# expression $1 (paths start with "/").
package_of() {
  local regex=$1 index part pkg
  for part in amd64 all; do
    index="$cache/Contents-$part.gz"
    if [ ! -s "$index" ]; then
      curl -fsS -m 300 -o "$index.tmp" "$mirror/dists/bookworm/main/Contents-$part.gz" && mv "$index.tmp" "$index" ||
        { rm -f "$index.tmp"; continue; }
    fi
    # (awk stops at the first match; gzip's broken pipe does not matter)
    pkg=$(gzip -dc "$index" 2>/dev/null |
          RE=$regex awk '"/" $1 ~ ENVIRON["RE"] { n = split($NF, p, ","); sub(/.*\//, "", p[1]); print p[1]; exit }')
    [ -n "$pkg" ] && { echo "$pkg"; return 0; }
  done
  return 1
}

# The first thing missing in the root that a log complains of, and its package.
diagnose() {
  local log=$1 line what q re pkg=
  line=$(grep -aE -m 1 \
    -e "Could not make proto path relative: [^ ]+: No such file" \
    -e "fatal error: '?[^ ']+'? file not found" -e "fatal error: [^ ]+: No such file" \
    -e "cannot find -l[A-Za-z0-9_+.-]+" \
    -e "Package [^ ]+ was not found in the pkg-config search path" \
    -e "[A-Za-z0-9_.+-]+: command not found" -e ": [0-9]+: [A-Za-z0-9_.+-]+: not found" \
    -e "ModuleNotFoundError: No module named '[^']+'" -e "Cannot find module '[^']+'" \
    -e "No such file or directory: '[^']+'" \
    "$log")
  [ -n "$line" ] || { say "no missing file named in the log; its end:"; tail -n 40 "$log" >&2; return; }
  say "first complaint: $line"
  case $line in
    *"proto path relative: "*) what=${line#*relative: }; what=${what%%:*} ;;
    *"fatal error: "*) what=$(sed -E "s/.*fatal error: '?([^ ':]+).*/\1/" <<<"$line") ;;
    *"cannot find -l"*) what=$(sed -E 's/.*cannot find -l([A-Za-z0-9_+.-]+).*/\1/' <<<"$line") ;;
    *"pkg-config search path"*) what=$(sed -E 's/.*Package ([^ ]+) was not.*/\1/' <<<"$line") ;;
    *"No module named"*) what=$(sed -E "s/.*No module named '([^'.]+).*/\1/" <<<"$line") ;;
    *"Cannot find module"*) what=$(sed -E "s/.*Cannot find module '([^']+)'.*/\1/" <<<"$line") ;;
    *"No such file or directory: '"*) what=$(sed -E "s/.*No such file or directory: '([^']+)'.*/\1/" <<<"$line") ;;
    *) what=$(sed -E 's/^(.*[ :])?([A-Za-z0-9_.+-]+): (command )?not found.*/\2/' <<<"$line") ;;
  esac
  q=$(sed 's/[].[^$*+?(){}|\\]/\\&/g' <<<"$what")
  case $line in
    *"proto path relative: "*) re="^/usr/include/$q\$" ;;
    *"fatal error: "*) re="^/usr/include/([^/]+-linux-gnu/)?$q\$" ;;
    *"cannot find -l"*) re="/lib$q\\.so\$" ;;
    *"pkg-config search path"*) re="/pkgconfig/$q\\.pc\$" ;;
    *"No module named"*) re="^/usr/lib/python3/dist-packages/$q(/|\\.py\$|\\.cpython)" ;;
    *"Cannot find module"*) re="^/usr/share/nodejs/$q/package\\.json\$" ;;
    *) case $what in /*) re="^$q\$" ;; *) re="^/(usr/)?s?bin/$q\$" ;; esac ;;
  esac
  if pkg=$(package_of "$re"); then
    say "missing package: $pkg (it holds $what); bazel/setup.sh should install it"
  else
    say "missing: $what (no Debian 12 package holds it)"
  fi
}

# 1. The run command: serves, prints a key, answers REST with it.
cmd=${commands[0]}
for port in 50051 8080 8081; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is taken on this machine; the quick start's service needs it"
  fi
done
say "running '$cmd' in the fresh root"
run_log="$cache/run.log"
setsid bash -c "$(declare -f in_root); root='$root' cmd='$cmd' in_root" >"$run_log" 2>&1 &
server_pid=$!
url= key=
deadline=$(( $(date +%s) + 1500 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  url=$(sed -nE 's/.*REST API \(\/api\/v2\) on (http:[^ ]+).*/\1/p' "$run_log" | head -n 1)
  key=$(grep -aE -m 1 '^fw_[A-Za-z0-9_-]+$' "$run_log")
  [ -n "$url" ] && [ -n "$key" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 2
done
if [ -z "$url" ] || [ -z "$key" ]; then
  diagnose "$run_log"
  fail "'$cmd' did not start serving (its log: $run_log)"
fi
say "serving at $url after $(( $(date +%s) - start )) s"
body=$(curl -sS -m 30 -w '\n%{http_code}' -H "Authorization: Bearer $key" "$url/templates")
code=${body##*$'\n'}
body=${body%$'\n'*}
if [ "$code" = 200 ] && [[ $body == \[* ]]; then
  say "GET /api/v2/templates with the printed key: 200 $body"
  passed=$((passed + 1))
else
  say "FAILED: GET /api/v2/templates with the printed key: $code $body"
  failed=$((failed + 1))
fi
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' "$url/templates")
if [ "$code" = 401 ]; then passed=$((passed + 1)); else say "FAILED: no key: $code, not 401"; failed=$((failed + 1)); fi
kill -TERM -- "-$server_pid" 2>/dev/null
for _ in $(seq 30); do kill -0 "$server_pid" 2>/dev/null || break; sleep 1; done
kill -KILL -- "-$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null
server_pid=

# 2. The test command, quick variant.
cmd="FW_FUZZ_SECONDS=0 FW_FIDELITY=0 ${commands[1]}"
say "running '$cmd' in the fresh root"
test_log="$cache/test.log"
in_root >"$test_log" 2>&1
summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$test_log" | tail -n 1)
if [ -z "$summary" ]; then
  diagnose "$test_log"
  fail "'${commands[1]}' ended without its summary line (its log: $test_log)"
fi
say "tests: $summary"
passed=$((passed + ${summary%% passed*}))
f=${summary#*, }
failed=$((failed + ${f%% failed}))
testlogs="$home/framewright/bazel-testlogs"
testlogs="$root$(readlink "$testlogs")"
if [ "${f%% failed}" -ne 0 ]; then
  grep -aE '^//[^ ]+ +(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$test_log" | head -n 20 >&2
  diagnose "$test_log"
  # The end of each failed test's own log, which the root takes with it.
  grep -aE '^//[^ ]+ +(FAILED|TIMEOUT)' "$test_log" | awk '{print $1}' | sort -u | head -n 5 |
    while read -r target; do
      log="$testlogs/$(sed -E 's|^//||; s|:|/|' <<<"$target")/test.log"
      [ -f "$log" ] || continue
      say "the end of $target's log:"
      tail -n 40 "$log" >&2
    done
fi

# Skips: in the fresh root each one stands for something not installed.
skips=$(grep -raE -h '^ *skipped: |^skip ' "$testlogs" --include=test.log 2>/dev/null | sort -u)
if [ -n "$skips" ]; then
  say "FAILED: tests skipped in the fresh root:"
  sed 's/^ */  /' <<<"$skips" >&2
  failed=$((failed + $(wc -l <<<"$skips")))
fi
finish

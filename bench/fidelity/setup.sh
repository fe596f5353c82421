#!/bin/sh
# setup.sh - installs what reference.js needs: lottie-web and puppeteer-core
# from package-lock.json into bench/fidelity/node_modules (once; again only
# when the lock file changes), and checks that Chromium is there.
#   bench/fidelity/setup.sh [--chromium PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
chromium=/usr/bin/chromium
if [ "${1:-}" = "--chromium" ] && [ -n "${2:-}" ]; then
    chromium=$2
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "setup.sh: node and npm are needed (apt-get install -y nodejs npm)" >&2
    exit 1
fi
# npm ci empties node_modules first, so run it only when the lock changed.
stamp="$here/node_modules/.fidelity-lock"
if [ ! -f "$stamp" ] || ! cmp -s "$here/package-lock.json" "$stamp"; then
    (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$here/package-lock.json" "$stamp"
fi
if [ ! -x "$chromium" ]; then
    echo "setup.sh: no Chromium at $chromium (apt-get install -y chromium)" >&2
    exit 1
fi

#!/usr/bin/env bash
# Installs every Debian package that building, running and testing Framewright
# need. Idempotent: it installs only what is missing, and does nothing (not
# even an apt-get update) when everything is there.
set -euo pipefail

packages=(
  # build
  bazel-bootstrap bazel-rules-java clang libclang-rt-14-dev pkg-config
  protobuf-c-compiler libprotobuf-c-dev protobuf-compiler protobuf-compiler-grpc
  # libraries
  libgrpc-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libzip-dev libjansson-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  librlottie-dev libcairo2-dev libharfbuzz-dev libfreetype-dev libfribidi-dev
  libsqlite3-dev libpq-dev libmicrohttpd-dev duktape-dev
  # fonts: the default font for text whose font is missing
  fonts-dejavu-core fonts-lohit-deva
  # tests
  ffmpeg valgrind python3 python3-grpcio python3-protobuf postgresql
)

# Node.js 20 or later for the Node gRPC client test and the S3 test server:
# the one on PATH when there is one (Debian 12's own nodejs is 18).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

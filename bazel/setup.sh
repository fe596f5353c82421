#!/usr/bin/env bash
# Installs every Debian package that building, running and testing Framewright
# need, and only those. Idempotent: it installs only what is missing, and does
# nothing (not even an apt-get update) when everything is there. Runs apt-get
# with sudo when not root. tests/fresh/check.sh proves the list complete on a
# minimal Debian 12 root.
#
#   bazel/setup.sh --list   prints the list, one package a line, and installs nothing
set -euo pipefail

# One package a line, with why it is here.
packages=(
  # build
  bazel-bootstrap          # Bazel, the build
  bazel-rules-java         # the Java rules Debian's Bazel loads even for C builds
  clang                    # the compiler, with AddressSanitizer, UBSan and libFuzzer
  libclang-rt-14-dev       # clang's sanitizer and libFuzzer runtimes
  pkg-config               # bazel/pkg_config.bzl finds each system library's flags with it
  protobuf-c-compiler      # protoc-c: the C code of proto/*.proto
  libprotobuf-c-dev        # protobuf-c's headers and library
  protobuf-compiler        # protoc, which protoc-c and the service stubs build on
  libprotobuf-dev          # the well-known types (google/protobuf/struct.proto ...) proto/ imports
  protobuf-compiler-grpc   # grpc_python_plugin: the Python stubs of the gRPC tests
  xxd                      # xxd -i builds the expression engine's JavaScript prelude into it
  # libraries
  libgrpc-dev              # the gRPC C core: server and client
  libcurl4-openssl-dev     # asset downloads, webhooks, S3 uploads
  libssl-dev               # TLS, HMAC signatures, AES-GCM sealed secrets
  zlib1g-dev               # gzip in the HTTP paths, dotLottie and zip bundles
  libzip-dev               # template bundles (.zip, .lottie)
  libjansson-dev           # JSON: Lottie documents, the REST gateway, jobs
  libavcodec-dev           # encoding (H.264, ProRes, PNG, WebP ...)
  libavformat-dev          # containers (mp4, mov, webm) and joins
  libavutil-dev            # frames and options for the other libav* libraries
  libswscale-dev           # RGBA to the encoders' pixel formats
  libswresample-dev        # audio resampling
  librlottie-dev           # the rlottie engine, the second renderer
  libcairo2-dev            # the default renderer, drawn with Cairo
  libharfbuzz-dev          # text shaping
  libharfbuzz-bin          # hb-shape: the shaping tests compare glyph ids with HarfBuzz's own
  libfreetype-dev          # font files
  libfontconfig-dev        # the machine's fonts, for text whose font no job, team or bundle gives
  libfribidi-dev           # bidirectional text
  libicu-dev               # line breaking in box text by Unicode's rules (UAX #14)
  libsqlite3-dev           # the embedded job store
  libpq-dev                # the PostgreSQL job store of a farm
  libmicrohttpd-dev        # the HTTP servers: output URLs, uploads, the REST gateway
  duktape-dev              # After Effects expressions, in JavaScript
  # fonts
  fonts-dejavu-core        # the default font, for text whose font is missing
  fonts-dejavu-extra       # the rest of the DejaVu family (condensed, light, oblique): weights and styles to match
  fonts-lohit-deva         # a Devanagari font, for the shaping tests
  fonts-liberation2        # Arial, Times New Roman and Courier New substitutes with the same metrics
  fonts-noto-core          # Noto Sans and Serif for the major scripts (Arabic, Hebrew, Devanagari, Thai ...)
  # tests
  ca-certificates          # npm's https registry (the Node gRPC client, the S3 test server)
  curl                     # a real HTTPS client against the gateway with TLS
  ffmpeg                   # ffprobe checks the outputs; ffmpeg makes test media
  openssl                  # the openssl command makes the TLS tests' certificates
  python3                  # the Python test drivers and the fidelity verdict
  python3-grpcio           # a real Python gRPC client against the server
  python3-protobuf         # the messages of that client
  postgresql               # a private PostgreSQL server for the farm store tests
  nodejs                   # a real Node.js gRPC client (@grpc/grpc-js); the S3 test server
  npm                      # installs those two's packages from package-lock.json
  chromium                 # the dashboard's browser tests (puppeteer-core) and the fidelity bench's lottie-web
  systemd                  # systemd-analyze verifies the farm's unit files (deploy/systemd)
  iproute2                 # ip netns, veth and bridge: the worker machines of tests/farm
  # tools
  valgrind                 # the leak check of the server (README, --config=valgrind)
)

if [ "${1:-}" = --list ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  # A Node.js installed some other way (Debian 12's is 18; newer ones come
  # from elsewhere) serves as well as Debian's.
  case $p in nodejs | npm) command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "setup: these packages are missing and sudo is not installed; as root, run:" >&2
    echo "  apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/bin/sh
# run.sh - the whole fidelity benchmark: lottie-web references (cached), our
# engines' frames, SSIM tables.
#
#   bench/fidelity/run.sh [--engine NAME ...] [--renderer svg|canvas] [--only NAME]
#                         [--corpus DIR] [--text-cases DIR | --no-text-cases] [--refs DIR]
#                         [--diff-dir DIR] [--json FILE] [--output-base DIR]
#
# References go to $FW_FIDELITY_REFS, or else
# ${XDG_CACHE_HOME:-$HOME/.cache}/framewright/fidelity-refs/<renderer>, and
# are drawn only when missing. Engines default to rlottie and cairo (an
# engine this build does not have is skipped with a note). The corpus
# defaults to $FW_CORPUS_DIR. Our own text cases (bench/fidelity/text unless
# --text-cases names another folder) are measured too, with references in
# REFS/text-cases that are drawn again on every run, since the cases change
# with the repository. --output-base is passed to bazel, so that several
# people can build in one tree.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

renderer=svg
corpus=${FW_CORPUS_DIR:-}
refs=${FW_FIDELITY_REFS:-}
only=
text_cases=$here/text
output_base=
engines=
extra=
while [ $# -gt 0 ]; do
    case $1 in
    --engine) engines="$engines --engine $2"; shift 2 ;;
    --renderer) renderer=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --text-cases) text_cases=$2; shift 2 ;;
    --no-text-cases) text_cases=; shift ;;
    --refs) refs=$2; shift 2 ;;
    --output-base) output_base=$2; shift 2 ;;
    --diff-dir | --json) extra="$extra $1 $2"; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$corpus" ]; then
    echo "run.sh: give --corpus DIR or set FW_CORPUS_DIR" >&2
    exit 2
fi
refs=${refs:-${XDG_CACHE_HOME:-$HOME/.cache}/framewright/fidelity-refs/$renderer}
[ -n "$engines" ] || engines="--engine rlottie --engine cairo"

"$here/setup.sh"

# Whether folder $1 has the file --only names (any file without --only).
has_only() {
    [ -z "$only" ] || [ -f "$1/$only" ] || [ -f "$1/$only.json" ]
}

echo "== references: lottie-web ($renderer) into $refs" >&2
start=$(date +%s)
if has_only "$corpus"; then
    node "$here/reference.js" --corpus "$corpus" --out "$refs" --renderer "$renderer" ${only:+--only "$only"} >&2
fi
if [ -n "$text_cases" ] && has_only "$text_cases"; then
    node "$here/reference.js" --corpus "$text_cases" --out "$refs/text-cases" --renderer "$renderer" --force \
        ${only:+--only "$only"} >&2
fi
echo "== references ready in $(($(date +%s) - start)) s" >&2

bazel() { command bazel ${output_base:+--output_base="$output_base"} "$@"; }
cd "$root"
bazel build -c opt //bench/fidelity:fidelity >&2
# Not the bazel-bin link: another build in this tree may have moved it.
bin=$(bazel info -c opt bazel-bin 2>/dev/null)/bench/fidelity/fidelity

# shellcheck disable=SC2086 # engines and extra are lists of words
"$bin" --corpus "$corpus" --refs "$refs" ${text_cases:+--text-cases "$text_cases" --text-refs "$refs/text-cases"} \
    $engines ${only:+--only "$only"} $extra

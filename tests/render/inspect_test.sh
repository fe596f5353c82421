#!/usr/bin/env bash
# framewright inspect names what the engine does not draw: an expression that
# cannot run (here, an unknown name) is reported with its layer and property,
# and the frame falls back to the property's own value.
set -u
fw=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
passed=0 failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "check failed: $1"; fi; }

cat >"$dir/t.json" <<'JSON'
{"v":"5.7.4","fr":24,"ip":0,"op":24,"w":64,"h":64,"nm":"t","layers":[
 {"ind":1,"ty":4,"nm":"Box","ip":0,"op":24,"st":0,
  "ks":{"p":{"a":0,"k":[32,32],"x":"var $bm_rt; $bm_rt = [nowhere, 0];"},
        "r":{"a":0,"k":0,"x":"var $bm_rt; $bm_rt = time * 90;"}},
  "shapes":[{"ty":"rc","p":{"a":0,"k":[0,0]},"s":{"a":0,"k":[10,10]},"r":{"a":0,"k":0}},
            {"ty":"fl","c":{"a":0,"k":[1,0,0,1]},"o":{"a":0,"k":100}}]}]}
JSON

out=$("$fw" inspect "$dir/t.json" --json)
check "inspect exits 0" '[ $? -eq 0 ]'
check "the engine is named" 'grep -q "\"name\": \"cairo\"" <<<"$out"'
check "the failing expression is reported with its layer and property" \
  'grep -q "expression at Box/Position: ReferenceError: identifier .nowhere. undefined" <<<"$out"'
check "the working expression is not" '! grep -q "Box/Rotation" <<<"$out"'
text=$("$fw" inspect "$dir/t.json")
check "the text form says it too" 'grep -q "^not drawn by cairo: expression at Box/Position" <<<"$text"'
out=$("$fw" inspect "$dir/t.json" --json --engine rlottie)
check "rlottie can be asked" 'grep -q "\"name\": \"rlottie\"" <<<"$out"'
"$fw" inspect "$dir/t.json" --engine nope >/dev/null 2>"$dir/err"
check "an unknown engine is refused with the engines there are" 'grep -q "cairo, rlottie" "$dir/err"'

echo "fw-test: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]

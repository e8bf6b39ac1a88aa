#!/usr/bin/env bash
# Rebuild haven/web/static/vendor/jsQR.min.js from the npm release and check it is byte for byte the
# committed file (see static/vendor/README.md). Reproducible: jsqr and terser, with every package terser
# needs, are pinned with their sha512 in scripts/vendor-js/package-lock.json, and `npm ci` refuses
# anything else; the output's sha256 is recorded in static/vendor/SHA256SUMS (checked by the tests).
#
#   bash scripts/vendor-js.sh            rebuild; fail if the result differs from SHA256SUMS
#   bash scripts/vendor-js.sh --record   after changing a version in scripts/vendor-js/package.json
#                                        (then: npm install --package-lock-only there): record the new sums
set -euo pipefail
cd "$(dirname "$0")/.."
out=haven/web/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp scripts/vendor-js/package.json scripts/vendor-js/package-lock.json "$work/"
(cd "$work" && npm ci --silent --ignore-scripts --no-audit --no-fund >/dev/null)
version=$(node -p 'require(process.argv[1]).version' "$work/node_modules/jsqr/package.json")
"$work/node_modules/.bin/terser" "$work/node_modules/jsqr/dist/jsQR.js" -c -m --comments false -o "$work/jsQR.min.js"
{ echo "/*! jsQR $version (npm \"jsqr\") | Apache-2.0 | see jsQR.LICENSE.txt */"; cat "$work/jsQR.min.js"; } > "$out/jsQR.min.js"
cp "$work/node_modules/jsqr/LICENSE" "$out/jsQR.LICENSE.txt"
echo "wrote $out/jsQR.min.js ($(wc -c < "$out/jsQR.min.js") bytes)"
if [ "${1:-}" = "--record" ]; then
  (cd "$out" && sha256sum jsQR.min.js jsQR.LICENSE.txt > SHA256SUMS)
  echo "recorded $out/SHA256SUMS"
else
  (cd "$out" && sha256sum -c SHA256SUMS)
fi

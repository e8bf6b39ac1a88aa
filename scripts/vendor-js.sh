#!/usr/bin/env bash
# Rebuild haven/web/static/vendor/jsQR.min.js from the npm package (see static/vendor/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out=haven/web/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent jsqr@1.4.0 >/dev/null && tar xzf jsqr-1.4.0.tgz && npm install --silent --no-save terser@5 >/dev/null)
"$work/node_modules/.bin/terser" "$work/package/dist/jsQR.js" -c -m --comments false -o "$work/jsQR.min.js"
{ echo '/*! jsQR 1.4.0 (npm "jsqr") | Apache-2.0 | see jsQR.LICENSE.txt */'; cat "$work/jsQR.min.js"; } > "$out/jsQR.min.js"
cp "$work/package/LICENSE" "$out/jsQR.LICENSE.txt"
echo "wrote $out/jsQR.min.js ($(wc -c < "$out/jsQR.min.js") bytes)"

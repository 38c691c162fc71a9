#!/usr/bin/env bash
# README "Installing the audit command", checked from a fresh clone of the commit under test:
#  1. `npm install -g .` with no `npm ci` before it gives a working `audit` and `kaudit`;
#  2. `npm pack` and `npm install -g ./kaudit-VERSION.tgz` give one too, with no build step.
# Each installs into its own temporary prefix; nothing global is touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sample="$root/fixtures/mini/mini.jsonl"

git clone -q --no-hardlinks "$root" "$tmp/clone"
echo "-- npm install -g . in a fresh clone of $(git -C "$tmp/clone" rev-parse --short HEAD)"
(cd "$tmp/clone" && npm install -g . --prefix "$tmp/g1" --no-audit --no-fund --loglevel=error)
"$tmp/g1/bin/audit" --version
# Outputs are captured before they are checked: `grep -q` ends early, which pipefail would count.
out=$("$tmp/g1/bin/audit" summary "$sample" -q -o json)
grep -q '"kind": "kaudit.summary"' <<<"$out"
out=$("$tmp/g1/bin/kaudit" export "$sample" -q -o csv --fields subject)
grep -qx 'subject' <<<"$out"
# audit view needs the page bundle (dist/view-page/), built by the prepare script too.
"$tmp/g1/bin/audit" view "$sample" -q --out "$tmp/v1.html"
grep -q 'Content-Security-Policy' "$tmp/v1.html"

echo "-- npm pack, then npm install -g of the tarball"
(cd "$tmp/clone" && npm pack --pack-destination "$tmp" --loglevel=error >/dev/null)
tarball=$(ls "$tmp"/kaudit-*.tgz)
files=$(tar -tzf "$tarball")
grep -qx 'package/dist/cli/index.js' <<<"$files"
npm install -g "$tarball" --prefix "$tmp/g2" --no-audit --no-fund --loglevel=error
out=$("$tmp/g2/bin/audit" summary "$sample" -q -o json)
grep -q '"kind": "kaudit.summary"' <<<"$out"
"$tmp/g2/bin/audit" view "$sample" -q --out "$tmp/v2.html"
grep -q 'Content-Security-Policy' "$tmp/v2.html"
echo "install check: both ways give a working audit"

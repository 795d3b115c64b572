#!/usr/bin/env bash
# Renders an audit's index.html to PNG at a desktop and a phone width with headless Chromium,
# to check the page by eye. Usage: benches/report/screenshot.sh DIR/index.html [OUT_PREFIX]
# Needs Debian's chromium (apt-get install chromium). The page is opened from the file system
# with networking flags off, as an auditor on an air-gapped machine would.
set -euo pipefail
page=$(realpath "$1")
out=${2:-${page%.html}}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for size in "desktop 1366 3000" "phone 390 6000"; do
  set -- $size
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size="$2,$3" \
    --screenshot="$out-$1.png" "file://$page" >/dev/null 2>&1
  echo "$out-$1.png"
done

#!/bin/sh
# report-screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]: renders the HTML report in headless
# Chromium (Debian's chromium package: tools/install-deps.sh --report) and saves a screenshot,
# so the page can be checked as a person sees it. Exits 77 when chromium is not installed.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]" >&2; exit 2; }
page=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1400x1800}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "report-screenshot: chromium not installed (tools/install-deps.sh --report)" >&2; exit 77; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The flags keep Chromium off the network (this machine has none) and quiet.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --virtual-time-budget=5000 \
    --window-size="$(echo "$size" | tr x ,)" --screenshot="$out" "file://$page" >/dev/null 2>&1
[ -s "$out" ] || { echo "report-screenshot: no screenshot written" >&2; exit 1; }
echo "$out"

#!/usr/bin/env bash
# The README's screenshots (docs/*.png), by headless Chromium (Debian's `chromium`), from a running platform:
#   bash scripts/screenshots.sh TRACE_ID    (an order's trace id, e.g. from Jaeger's /api/traces?service=shopflow-api)
set -euo pipefail
cd "$(dirname "$0")/.."
source stack/lib.sh
apt_install chromium
trace=${1:?usage: screenshots.sh TRACE_ID}
prom=${PROMETHEUS_URL:-http://127.0.0.1:9090}
shot() { # FILE URL WIDTH,HEIGHT
  local profile; profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --screenshot="$1" --window-size="$3" "$2" >/dev/null 2>&1
  rm -rf "$profile"
  say "screenshot: $1"
}
page=$(mktemp --suffix=.html)
node dist/scripts/trace-page.js "$trace" >"$page"
shot docs/jaeger-trace.png "file://$page" 1400,1000
shot docs/prometheus-dashboard.png "$prom/consoles/shopflow.html" 1400,1000
shot docs/prometheus-targets.png "$prom/classic/targets" 1400,800
rm -f "$page"

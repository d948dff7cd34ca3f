#!/usr/bin/env bash
# npm run demo:flashsale: a small flash sale against the API that `npm start` runs (scripts/demo-flashsale.ts).
# BUYERS (default 30) buyers race for UNITS (default 5) units of the demo item demo-flash-sneakers.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash stack/stack.sh env)"
[ -f dist/scripts/demo-flashsale.js ] || npm run --silent build
exec node dist/scripts/demo-flashsale.js

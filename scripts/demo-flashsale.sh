#!/usr/bin/env bash
# npm run demo:flashsale: a small flash sale against the API that `npm start` runs (scripts/demo-flashsale.ts).
# BUYERS (default 30) buyers race for UNITS (default 5) units of the demo item demo-flash-sneakers.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash stack/stack.sh env)"
# Local development mode (lib/config.ts): the dev-only secrets and the simulated gateway of `npm start`.
export SHOPFLOW_DEV_MODE=${SHOPFLOW_DEV_MODE:-1}
[ -f dist/scripts/demo-flashsale.js ] || npm run --silent build
exec node dist/scripts/demo-flashsale.js

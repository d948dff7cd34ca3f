#!/usr/bin/env bash
# npm run stop: stops the app processes that `npm start` started (the stack keeps running).
set -euo pipefail
cd "$(dirname "$0")/.."
source stack/lib.sh
for p in "${APP_PROCESSES[@]}"; do stop_component "$p"; done

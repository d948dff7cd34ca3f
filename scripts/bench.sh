#!/usr/bin/env bash
# npm run bench:<name>: brings the stack up, builds, applies the schemas to the test stores and runs
# dist/bench/<name>.js, which prints its figures.
set -euo pipefail
cd "$(dirname "$0")/.."
source stack/lib.sh
name=${1:?usage: bench.sh NAME}
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
bash stack/stack.sh up >/dev/null
# The figures assume nothing else works on the box: say so when `npm start`'s (or a chaos run's) platform runs.
running=()
for p in "${APP_PROCESSES[@]}"; do started_pid "$p" >/dev/null && running+=("$p"); done
[ ${#running[@]} -eq 0 ] ||
  say "bench: the platform's own processes are running (${running[*]}) and share the cores: the figures will be lower (npm run stop first)"
export LOG_LEVEL=${LOG_LEVEL:-fatal} LOG_DIR
source scripts/test-env.sh
npm run --silent build >/dev/null
node dist/scripts/migrate.js >"$LOG_DIR/migrate-bench.log" 2>&1 || fail migrate-bench "schema migration failed"
node "dist/bench/$name.js"

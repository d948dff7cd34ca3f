#!/usr/bin/env bash
# npm test: the whole suite against the real servers of the native stack. Installs what is missing, brings the
# stack up, builds, applies the schemas to the test databases, runs Jest, and prints one closing line
# "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
source stack/lib.sh

[ -d node_modules/.bin ] || { say "npm ci"; npm ci --no-audit --no-fund; }
# Lint first (seconds): ESLint, the import rules of .dependency-cruiser.cjs, Prettier's format. Quiet when clean.
say "lint"
npm run --silent lint >"$LOG_DIR/lint.log" 2>&1 || fail lint "npm run lint found problems (ESLint, dependency-cruiser or Prettier)"
bash stack/stack.sh up
# Tests use their own database, keyspace, index and task queues, never the dev data.
source scripts/test-env.sh

say "typecheck + build"
npm run --silent build
say "applying schemas to the test stores"
node dist/scripts/migrate.js >"$LOG_DIR/migrate-test.log" 2>&1 || fail migrate-test "schema migration failed"

say "jest"
results="$SHOPFLOW_STATE/jest-results.json"
rc=0
npx jest --ci --json --outputFile="$results" "$@" || rc=$?
node -e '
const r = require(process.argv[1]);
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' "$results" || true
exit $rc

#!/usr/bin/env bash
# npm run bench:http (issue 12): brings the stack up, builds, points every store at the bench's own database,
# Mongo database, keyspace and search index (BENCH_MYSQL_URL etc.; never the dev or test data), applies the
# schemas, then dist/bench/http.js seeds 100k items if missing, starts the API as `npm start` does and prints
# the probes' table. BENCH_FLASHSALE=1 (default) then runs bench:flashsale twice (200 buyers for 10 units, and
# BUYERS=2000 UNITS=100). Everything it starts is stopped at the end; the seeded data stays for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
source stack/lib.sh
command -v wrk >/dev/null || { say "installing wrk (Debian package)"; apt_install wrk; }
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
bash stack/stack.sh up >/dev/null
eval "$(bash stack/stack.sh env)"
export MYSQL_URL=${BENCH_MYSQL_URL:-${MYSQL_URL%/*}/shopflow_bench}
export MONGO_URL=${BENCH_MONGO_URL:-${MONGO_URL%/*}/shopflow_bench}
export CASSANDRA_KEYSPACE=${BENCH_CASSANDRA_KEYSPACE:-shopflow_bench}
export SEARCH_INDEX=${BENCH_SEARCH_INDEX:-items_bench_http}
export SHOPFLOW_DEV_MODE=1 LOG_DIR
npm run --silent build >/dev/null
node dist/scripts/migrate.js >"$LOG_DIR/migrate-bench-http.log" 2>&1 || fail migrate-bench "schema migration failed"
LOG_LEVEL=${LOG_LEVEL:-warn} node dist/bench/http.js
if [ "${BENCH_FLASHSALE:-1}" = 1 ]; then
  say "bench:flashsale (BUYERS=200 UNITS=10)"
  bash scripts/bench.sh flashsale
  say "bench:flashsale (BUYERS=2000 UNITS=100)"
  BUYERS=2000 UNITS=100 bash scripts/bench.sh flashsale
fi

#!/usr/bin/env bash
# npm start: the whole platform on this machine. Brings up the native stack (stack/stack.sh), builds the code,
# applies every schema, then starts the payment gateway simulator, the order worker and the API in the
# background (logs in .stack/logs/, pids in .stack/run/). Running it again starts nothing twice.
# The API runs as API_PROCESSES processes behind PORT (api/cluster.ts; default one per core).
# Stop: `npm run stop` (the app) and `npm run stack -- down` (the servers).
set -euo pipefail
cd "$(dirname "$0")/.."
source stack/lib.sh

[ -d node_modules ] || { say "npm ci"; npm ci --no-audit --no-fund; }
bash stack/stack.sh up
eval "$(bash stack/stack.sh env)"
export PORT=${PORT:-3000}
# npm start is local development: dev-only secrets and the simulated gateway are accepted (lib/config.ts).
export SHOPFLOW_DEV_MODE=${SHOPFLOW_DEV_MODE:-1}

# Build unless dist/ is newer than every source file (a second start then skips it).
stamp=dist/workflow-bundle.js
if [ ! -f "$stamp" ] || [ -n "$(find api workflows activities workers orders stock events read-models outbox payments stores users carts catalog search analytics recommendations notifications demo lib telemetry scripts test bench package-lock.json tsconfig.json -newer "$stamp" -type f -print -quit 2>/dev/null)" ]; then
  say "building (tsc + workflow bundle)"
  npm run --silent build
else
  say "build is up to date"
fi
say "applying schemas"
node dist/scripts/migrate.js >>"$LOG_DIR/migrate.log" 2>&1 || fail migrate "schema migration failed"
# An empty shop (no items at all) gets the demo catalog and accounts, unless DEMO_DATA=0 (scripts/demo-data.ts).
demo=$(node dist/scripts/demo-data.js 2>>"$LOG_DIR/demo-data.log") || fail demo-data "loading the demo data failed"
say "$demo"

# start_app NAME PORT_TO_WAIT_FOR|- CMD...: one app process, unless it already runs.
start_app() {
  local name=$1 port=$2; shift 2
  if started_pid "$name" >/dev/null; then say "$name: already running (pid $(started_pid "$name"))"; return; fi
  say "$name: starting"
  start_bg "$name" "$@"
  if [ "$port" != - ]; then
    local i
    for i in $(seq 1 60); do port_open 127.0.0.1 "$port" && return; started_pid "$name" >/dev/null || fail "$name" "exited while starting"; sleep 0.5; done
    fail "$name" "not listening on $port after 30s"
  fi
}
start_app gateway-sim "${PAYMENT_GATEWAY_PORT:-4010}" node dist/workers/gateway-simulator.js
start_app worker - node dist/workers/main.js
start_app search-indexer - node dist/workers/search-indexer.js
start_app analytics - node dist/workers/analytics.js
start_app notifier - node dist/workers/notifier.js
start_app api "$PORT" node dist/api/cluster.js
sleep 1
started_pid worker >/dev/null || fail worker "exited while starting"

cat <<MSG

shopflow is running
  API                 http://127.0.0.1:$PORT      (docs: http://127.0.0.1:$PORT/docs, readiness: /readyz)
  Temporal Web UI     http://127.0.0.1:${TEMPORAL_UI_PORT:-8233}     (each order's saga under its order id)
  Mailpit             ${MAILPIT_URL:-http://127.0.0.1:8025}     (the notifications' e-mails)
  Prometheus          ${PROMETHEUS_URL:-http://127.0.0.1:9090}     (dashboard: /consoles/shopflow.html, targets: /targets)
  Jaeger              ${JAEGER_URL:-http://127.0.0.1:16686}    (traces: /api/traces?service=shopflow-api; OTLP ${OTEL_EXPORTER_OTLP_ENDPOINT:-})
  payment simulator   http://127.0.0.1:${PAYMENT_GATEWAY_PORT:-4010}
  logs                $LOG_DIR
$demo
Try it: the README's "Try it" section; a flash sale: npm run demo:flashsale
Stop with: npm run stop && npm run stack -- down
MSG

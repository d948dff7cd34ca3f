# Prometheus (Debian's `prometheus` package) scraping the platform's metrics endpoints every 5 s. Its config
# is generated at start from the ports in the environment (the same variables the app reads):
#   api            PORT (3000)/metrics, with the METRICS_TOKEN bearer
#   worker         WORKER_METRICS_PORT (9464): saga outcomes and latency, payments, outbox relay, reconciler
#   temporal-sdk   TEMPORAL_METRICS_PORT (9465): the SDK's worker metrics (task latencies, slots, sticky cache)
#   consumers      SEARCH_INDEXER_METRICS_PORT (9466), NOTIFIER_METRICS_PORT (9467), ANALYTICS_METRICS_PORT (9468)
# plus any target file dropped into $PROMETHEUS_TARGETS_DIR (*.json, file_sd: tests add their own processes).
# The dashboard is the console stack/prometheus/consoles/shopflow.html (http://127.0.0.1:9090/consoles/shopflow.html).
prometheus_env=PROMETHEUS_URL
prometheus_timeout=60
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
PROMETHEUS_URL_DEFAULT="http://127.0.0.1:$PROMETHEUS_PORT"
PROMETHEUS_TARGETS_DIR=${PROMETHEUS_TARGETS_DIR:-$SHOPFLOW_STATE/prometheus/targets}
# The bearer Prometheus sends to the API's /metrics (the API accepts it besides an admin token).
METRICS_TOKEN=${METRICS_TOKEN:-dev-only-metrics-token-change-me}

prometheus_healthy() {
  curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" 2>/dev/null | grep -q '^200$'
}

prometheus_provision() { apt_install prometheus || fail prometheus "apt-get install prometheus failed"; }

# prometheus_config: prints the scrape config for the ports in the environment.
prometheus_config() {
  local job port
  cat <<YML
global:
  scrape_interval: 5s
  scrape_timeout: 4s
scrape_configs:
  - job_name: api
    authorization: { credentials_file: "$SHOPFLOW_STATE/prometheus/metrics-token" }
    static_configs: [{ targets: ["127.0.0.1:${PORT:-3000}"] }]
YML
  for job in "worker:${WORKER_METRICS_PORT:-9464}" "temporal-sdk:${TEMPORAL_METRICS_PORT:-9465}" \
    "search-indexer:${SEARCH_INDEXER_METRICS_PORT:-9466}" "notifier:${NOTIFIER_METRICS_PORT:-9467}" "analytics:${ANALYTICS_METRICS_PORT:-9468}"; do
    port=${job#*:}
    [ "$port" = 0 ] && continue
    printf '  - job_name: %s\n    static_configs: [{ targets: ["127.0.0.1:%s"] }]\n' "${job%%:*}" "$port"
  done
  cat <<YML
  - job_name: extra
    file_sd_configs: [{ files: ["$PROMETHEUS_TARGETS_DIR/*.json"], refresh_interval: 5s }]
YML
}

prometheus_start() {
  mkdir -p "$DATA_DIR/prometheus" "$PROMETHEUS_TARGETS_DIR"
  (umask 077 && printf '%s' "$METRICS_TOKEN" >"$SHOPFLOW_STATE/prometheus/metrics-token")
  prometheus_config >"$SHOPFLOW_STATE/prometheus/prometheus.yml"
  start_bg prometheus prometheus --config.file="$SHOPFLOW_STATE/prometheus/prometheus.yml" \
    --storage.tsdb.path="$DATA_DIR/prometheus" --storage.tsdb.retention.time=7d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle \
    --web.console.templates="$STACK_DIR/prometheus/consoles" \
    --web.console.libraries="$STACK_DIR/prometheus/consoles"
}

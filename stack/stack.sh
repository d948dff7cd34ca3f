#!/usr/bin/env bash
# The native stack: every server the platform needs, from the package registries, without Docker.
#   stack.sh up [component...]   provision what is missing, start what is not running, wait until each answers
#   stack.sh status              which server answers, and whether this stack started it
#   stack.sh down                stop what this stack started (data stays in $SHOPFLOW_STATE/data)
#   stack.sh env                 the connection settings, as shell exports
# A component whose URL is set in the environment (MYSQL_URL, REDIS_URL, TEMPORAL_ADDRESS, KAFKA_BROKERS,
# CASSANDRA_CONTACT_POINTS, MONGO_URL, SEARCH_URL, SMTP_HOST for Mailpit, PROMETHEUS_URL, JAEGER_URL), or whose
# server already answers, is used as it is.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

COMPONENTS=(mariadb redis temporal kafka cassandra ferretdb opensearch mailpit prometheus jaeger)
for c in "${COMPONENTS[@]}"; do source "$STACK_DIR/components/$c.sh" 2>/dev/null || { echo "stack: missing stack/components/$c.sh" >&2; exit 1; }; done

# is_external COMPONENT: the user pointed us at their own server for it (its variable is set).
env_var_of() { local v="${1}_env"; echo "${!v}"; }
is_external() { local name; name=$(env_var_of "$1"); [ -n "${!name:-}" ]; }

up() {
  local want=("$@") todo=() c
  [ ${#want[@]} -eq 0 ] && want=("${COMPONENTS[@]}")
  for c in "${want[@]}"; do
    if is_external "$c"; then local n; n=$(env_var_of "$c"); say "$c: using $n=${!n} (external, not started)"; continue; fi
    if "${c}_healthy"; then say "$c: already answering, used as it is"; continue; fi
    todo+=("$c")
  done
  # Provision one at a time (builds share 2 cores), then start all, then wait: startups overlap.
  for c in "${todo[@]}"; do "${c}_provision"; done
  for c in "${todo[@]}"; do say "$c: starting"; "${c}_start"; done
  for c in "${todo[@]}"; do
    local t0; t0=$(date +%s)
    local tv="${c}_timeout"; wait_healthy "$c" "${!tv}"
    say "$c: up ($(( $(date +%s) - t0 ))s after the last start)"
  done
  # A component's own set-up once it answers, whether this stack started it or found it running.
  for c in "${want[@]}"; do is_external "$c" || ! declare -F "${c}_after_up" >/dev/null || "${c}_after_up"; done
  [ "$(type -t after_up)" = function ] && after_up "${want[@]}"
  say "stack ready: $(status_line)"
}

status_line() {
  local c out=()
  for c in "${COMPONENTS[@]}"; do
    if "${c}_healthy"; then out+=("$c=up"); else out+=("$c=down"); fi
  done
  echo "${out[*]}"
}

status() {
  local c ok=0 how
  for c in "${COMPONENTS[@]}"; do
    if started_pid "$c" >/dev/null; then how="started by this stack (pid $(started_pid "$c"))";
    elif is_external "$c"; then how="external"; else how="not started by this stack"; fi
    if "${c}_healthy"; then printf '%-10s up    %s\n' "$c" "$how"; else printf '%-10s DOWN  %s\n' "$c" "$how"; ok=1; fi
  done
  printf 'logs: %s\n' "$LOG_DIR"
  return $ok
}

down() {
  local i
  for (( i=${#COMPONENTS[@]}-1; i>=0; i-- )); do stop_component "${COMPONENTS[$i]}"; done
}

env_exports() {
  cat <<EOV
export MYSQL_URL=${MYSQL_URL:-$MYSQL_URL_DEFAULT}
export REDIS_URL=${REDIS_URL:-$REDIS_URL_DEFAULT}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-$TEMPORAL_ADDRESS_DEFAULT}
export KAFKA_BROKERS=${KAFKA_BROKERS:-$KAFKA_BROKERS_DEFAULT}
export CASSANDRA_CONTACT_POINTS=${CASSANDRA_CONTACT_POINTS:-$CASSANDRA_CONTACT_POINTS_DEFAULT}
export MONGO_URL=${MONGO_URL:-$MONGO_URL_DEFAULT}
export SEARCH_URL=${SEARCH_URL:-$SEARCH_URL_DEFAULT}
export TEMPORAL_CLI=${TEMPORAL_CLI:-$SHOPFLOW_CACHE/bin/temporal}
export SMTP_HOST=${SMTP_HOST:-$SMTP_HOST_DEFAULT}
export SMTP_PORT=${SMTP_PORT}
export MAILPIT_URL=${MAILPIT_URL:-$MAILPIT_URL_DEFAULT}
export PROMETHEUS_URL=${PROMETHEUS_URL:-$PROMETHEUS_URL_DEFAULT}
export PROMETHEUS_TARGETS_DIR=${PROMETHEUS_TARGETS_DIR}
export METRICS_TOKEN=${METRICS_TOKEN}
export JAEGER_URL=${JAEGER_URL:-$JAEGER_URL_DEFAULT}
export OTEL_EXPORTER_OTLP_ENDPOINT=${OTEL_EXPORTER_OTLP_ENDPOINT:-$OTEL_EXPORTER_OTLP_ENDPOINT_DEFAULT}
EOV
}

cmd=${1:-up}; shift || true
case "$cmd" in
  up) up "$@" ;;
  status) status ;;
  down) down ;;
  env) env_exports ;;
  *) echo "usage: stack.sh up [component...]|status|down|env" >&2; exit 2 ;;
esac

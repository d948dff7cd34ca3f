#!/usr/bin/env bash
# npm run fuzz: property-based fuzzing of the HTTP API against its own OpenAPI document (Schemathesis).
#
# Installs Schemathesis into .stack/fuzz-venv if it is missing, then either uses the API at FUZZ_BASE_URL
# (loopback only) or starts the platform itself on the *test* stores (API + payment simulator + order worker
# in one process, dist/scripts/fuzz-platform.js). Registers a customer and logs in, so the run is
# authenticated, and runs Schemathesis with a bounded number of examples per operation. Reports go to
# .stack/fuzz/. Exit code: Schemathesis's (non-zero when a check failed).
#
# Settings: FUZZ_BASE_URL, FUZZ_ROLE (customer|admin; admin needs FUZZ_ADMIN_EMAIL/FUZZ_ADMIN_PASSWORD with
# FUZZ_BASE_URL, and sets the platform's first admin otherwise), FUZZ_MAX_EXAMPLES (per operation, default 30), FUZZ_SEED, FUZZ_WORKERS (default 2),
# FUZZ_CHECKS (default all: not_a_server_error, status_code_conformance, response_schema_conformance,
# content_type_conformance, negative_data_rejection, unsupported_method, ignored_auth, ...), FUZZ_PHASES
# (default examples,coverage,fuzzing,stateful), FUZZ_SKIP_BUILD=1.
# Extra arguments are passed to `schemathesis run`.
set -euo pipefail
cd "$(dirname "$0")/.."
source stack/lib.sh

ST_VERSION=4.32.5
VENV=.stack/fuzz-venv
OUT=.stack/fuzz
mkdir -p "$OUT"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  say "installing schemathesis $ST_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

platform_pid=
cleanup() {
  if [ -n "$platform_pid" ]; then kill "$platform_pid" 2>/dev/null || true; wait "$platform_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

if [ -n "${FUZZ_BASE_URL:-}" ]; then
  base=${FUZZ_BASE_URL%/}
else
  bash stack/stack.sh up
  # The fuzzer writes orders, carts and users: never into the dev data.
  export LOG_LEVEL=${LOG_LEVEL:-error}
  source scripts/test-env.sh
  export FUZZ_ADMIN_EMAIL=${FUZZ_ADMIN_EMAIL:-fuzz-admin@fuzz.shopflow.dev} FUZZ_ADMIN_PASSWORD=${FUZZ_ADMIN_PASSWORD:-fuzz-admin-password}
  export ADMIN_EMAIL=$FUZZ_ADMIN_EMAIL ADMIN_PASSWORD=$FUZZ_ADMIN_PASSWORD
  # High limits, so generated sign-ups and logins reach the logic (the limits themselves are tested by jest).
  export RATE_LIMIT_REGISTER=${RATE_LIMIT_REGISTER:-100000} RATE_LIMIT_LOGIN=${RATE_LIMIT_LOGIN:-100000}
  if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then say "building"; npm run --silent build; fi
  node dist/scripts/migrate.js >"$OUT/migrate.log" 2>&1 || fail fuzz "schema migration failed (see $OUT/migrate.log)"
  rm -f "$OUT/base-url"
  node dist/scripts/fuzz-platform.js "$OUT/base-url" >"$OUT/platform.log" 2>&1 &
  platform_pid=$!
  for _ in $(seq 1 120); do
    [ -s "$OUT/base-url" ] && break
    kill -0 "$platform_pid" 2>/dev/null || fail fuzz "the platform exited while starting (see $OUT/platform.log)"
    sleep 0.5
  done
  [ -s "$OUT/base-url" ] || fail fuzz "the platform did not start in 60 s"
  base=$(cat "$OUT/base-url")
fi

# Loopback only: the fuzzer never sends traffic anywhere else.
case "$base" in
  http://127.*|http://localhost:*|http://localhost|http://\[::1\]*) ;;
  *) fail fuzz "FUZZ_BASE_URL must be a loopback address (127.0.0.0/8, localhost, [::1]); got $base" ;;
esac
say "fuzzing $base"

# An account of its own, so the authenticated operations get past 401 (FUZZ_ROLE=admin fuzzes as the admin
# the platform was started with instead, reaching every user's routes and the fulfilment ones).
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
login() { curl -sf -X POST "$base/auth/login" -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}"; }
email="fuzz-$(date +%s)-$RANDOM@fuzz.shopflow.dev"
password="fuzz-password-$RANDOM$RANDOM"
curl -sf -X POST "$base/auth/register" -H 'content-type: application/json' \
  -d "{\"name\":\"Fuzzer\",\"email\":\"$email\",\"password\":\"$password\"}" >/dev/null || fail fuzz "could not register the fuzz user"
session=$(login "$email" "$password") || fail fuzz "could not log in as the fuzz user"
user_id=$(json_field user_id <<<"$session")
token=$(json_field token <<<"$session")
if [ "${FUZZ_ROLE:-customer}" = admin ]; then
  token=$(login "$FUZZ_ADMIN_EMAIL" "$FUZZ_ADMIN_PASSWORD" | json_field token) || fail fuzz "could not log in as the admin"
fi

# Real ids for path and body parameters (some of the time), so operations get past 403/404 to their logic:
# the fuzz user, the platform's items, and two orders of the fuzz user (one paid, one waiting for payment).
ids=("$user_id")
items=()
if [ -z "${FUZZ_BASE_URL:-}" ] && [ -s "$OUT/base-url.items" ]; then
  mapfile -t items <"$OUT/base-url.items"
  for pm in pm_card_visa pm_card_noResponse; do
    order=$(curl -sf -X POST "$base/orders" -H "authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"user_id\":\"$user_id\",\"items\":[{\"item_id\":\"${items[0]}\",\"quantity\":1}],\"payment_method\":\"$pm\"}" | json_field order_id) &&
      ids+=("$order")
  done
fi
quote() { local out=() v; for v in "$@"; do out+=("\"$v\""); done; local IFS=,; echo "${out[*]}"; }
config="$OUT/schemathesis.toml"
{
  echo "[dictionaries.ids]"
  echo "values = [$(quote "${ids[@]}")]"
  echo "[dictionaries.user_ids]"
  echo "values = [\"$user_id\"]"
  if [ ${#items[@]} -gt 0 ]; then
    echo "[dictionaries.item_ids]"
    echo "values = [$(quote "${items[@]}")]"
  fi
  echo "[parameters]"
  echo "\"path.id\" = { dictionary = \"ids\", probability = 0.6 }"
  echo "\"body.user_id\" = { dictionary = \"user_ids\", probability = 0.6 }"
  if [ ${#items[@]} -gt 0 ]; then
    echo "\"path.item_id\" = { dictionary = \"item_ids\", probability = 0.6 }"
    echo "\"body.item_id\" = { dictionary = \"item_ids\", probability = 0.6 }"
    echo "\"body.items[*].item_id\" = { dictionary = \"item_ids\", probability = 0.6 }"
  fi
  # Valid input may still meet a state that refuses it: 409 (stock, cart), 422 (an Idempotency-Key the
  # fuzzer reused with another body), 429 (rate limits), 404 (ids that do not exist).
  echo "[checks.positive_data_acceptance]"
  echo "expected-statuses = [\"2XX\", \"3XX\", 401, 403, 404, 409, 422, 429, \"5XX\"]"
} >"$config"

checks=${FUZZ_CHECKS:-all}
rc=0
"$VENV/bin/schemathesis" --config-file "$config" run "$base/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks "$checks" \
  --phases "${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}" \
  --max-examples "${FUZZ_MAX_EXAMPLES:-250}" \
  --workers "${FUZZ_WORKERS:-2}" \
  --request-timeout 20 \
  --no-color \
  ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
  --report junit,ndjson --report-dir "$OUT" \
  --output-sanitize true \
  "$@" || rc=$?

# The figures: requests sent, operations reached, server errors (5xx), from this run's NDJSON report.
report=$(ls -t "$OUT"/ndjson-*.ndjson 2>/dev/null | head -1)
[ -n "$report" ] && python3 - "$report" <<'PY'
import json, sys
requests = errors = 0
ops = set()
def walk(o, op=None):
    global requests, errors
    if isinstance(o, dict):
        op = o.get('label', op) if isinstance(o.get('label'), str) else op
        r = o.get('response')
        if isinstance(r, dict) and isinstance(r.get('status_code'), int):
            requests += 1
            errors += r['status_code'] >= 500
            if op: ops.add(op)
        for v in o.values(): walk(v, op)
    elif isinstance(o, list):
        for v in o: walk(v, op)
for line in open(sys.argv[1]):
    walk(json.loads(line))
print(f"fuzz: {requests} requests over {len(ops)} operations, {errors} server errors (5xx)")
PY
exit $rc

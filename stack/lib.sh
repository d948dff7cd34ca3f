# Shared helpers of the native stack (sourced by stack.sh and every component script).
# Layout: binaries and jars are cached in $SHOPFLOW_CACHE (outside the repo, shared by every clone);
# data, logs and pid files live in $SHOPFLOW_STATE.

STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$STACK_DIR/.." && pwd)
SHOPFLOW_CACHE=${SHOPFLOW_CACHE:-$HOME/.cache/shopflow}
SHOPFLOW_STATE=${SHOPFLOW_STATE:-$REPO_DIR/.stack}
LOG_DIR=$SHOPFLOW_STATE/logs
RUN_DIR=$SHOPFLOW_STATE/run
DATA_DIR=$SHOPFLOW_STATE/data
mkdir -p "$SHOPFLOW_CACHE/bin" "$LOG_DIR" "$RUN_DIR" "$DATA_DIR"

# The app processes `npm start` runs (scripts/start.sh), as scripts/stop.sh stops them and scripts/bench.sh looks for
# them; the stack's servers are not among them.
APP_PROCESSES=(api notifier analytics search-indexer worker gateway-sim)

STACK_T0=$(date +%s)
say() { printf '[stack %4ss] %s\n' "$(( $(date +%s) - STACK_T0 ))" "$*"; }

# fail COMPONENT MESSAGE: the component's name, the tail of its log, a non-zero exit.
fail() {
  local c=$1; shift
  printf '\n[stack] FAILED: %s: %s\n' "$c" "$*" >&2
  if [ -s "$LOG_DIR/$c.log" ]; then
    printf '[stack] last lines of %s:\n' "$LOG_DIR/$c.log" >&2
    tail -n 40 "$LOG_DIR/$c.log" >&2
  fi
  exit 1
}

# port_open HOST PORT: something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# run_long COMPONENT WHAT CMD...: runs a long step with its output in the component's build log and a
# progress line every 20 s, so a slow first build never looks hung.
run_long() {
  local c=$1 what=$2; shift 2
  local blog="$LOG_DIR/$c.build.log" t0 pid
  t0=$(date +%s)
  say "$c: $what (log: $blog)"
  "$@" >>"$blog" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    local el=$(( $(date +%s) - t0 ))
    if [ $(( el % 20 )) -lt 2 ] && [ "$el" -ge 20 ]; then say "$c: still $what (${el}s)"; fi
  done
  if ! wait "$pid"; then
    cp "$blog" "$LOG_DIR/$c.log" 2>/dev/null
    fail "$c" "$what failed"
  fi
  say "$c: $what done in $(( $(date +%s) - t0 ))s"
}

# start_bg COMPONENT CMD...: starts a server detached, its output in logs/COMPONENT.log, its pid in run/.
start_bg() {
  local c=$1; shift
  # A restart (after a crash, or a chaos round's kill) keeps the previous run's log as COMPONENT.log.1: that log
  # is the one that says what went wrong.
  if [ -s "$LOG_DIR/$c.log" ]; then mv -f "$LOG_DIR/$c.log" "$LOG_DIR/$c.log.1"; fi
  : >"$LOG_DIR/$c.log"
  nohup setsid "$@" >>"$LOG_DIR/$c.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$c.pid"
}

# started_pid COMPONENT: the pid of the server this stack started, if it still runs.
started_pid() {
  local f="$RUN_DIR/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# wait_healthy COMPONENT TIMEOUT_S: polls COMPONENT_healthy until it answers, failing loudly on timeout or
# when the process this stack started has died.
wait_healthy() {
  local c=$1 limit=$2 t0 el
  t0=$(date +%s)
  until "${c}_healthy"; do
    el=$(( $(date +%s) - t0 ))
    if [ -f "$RUN_DIR/$c.pid" ] && ! started_pid "$c" >/dev/null; then fail "$c" "the server exited while starting"; fi
    [ "$el" -ge "$limit" ] && fail "$c" "no answer after ${limit}s"
    if [ $(( el % 15 )) -eq 0 ] && [ "$el" -gt 0 ]; then say "$c: waiting for it to answer (${el}s)"; fi
    sleep 1
  done
}

# stop_component COMPONENT: stops the server only if this stack started it (its pid file).
stop_component() {
  local c=$1 pid i
  if pid=$(started_pid "$c"); then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
    say "$c: stopped"
  fi
  rm -f "$RUN_DIR/$c.pid"
}

# apt_install PKG...: installs Debian packages that are missing (apt-get update once per call).
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# maven_libs COMPONENT: copies a server's jars from Maven Central into the cache (stack/maven/COMPONENT/pom.xml).
maven_libs() {
  local c=$1 lib="$SHOPFLOW_CACHE/$1/lib" pom="$STACK_DIR/maven/$1/pom.xml" stamp
  stamp="$SHOPFLOW_CACHE/$c/pom.sha"
  if [ -f "$stamp" ] && [ "$(sha256sum "$pom" | cut -d' ' -f1)" = "$(cat "$stamp")" ]; then return 0; fi
  rm -rf "$lib"
  run_long "$c" "downloading jars from Maven Central" \
    mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$lib" -DincludeScope=runtime
  sha256sum "$pom" | cut -d' ' -f1 >"$stamp"
}

# java17: the JDK the Java servers run on (Cassandra 5.0 and OpenSearch 2.19 both want 17).
java17() {
  local j
  for j in "${JAVA17_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64; do
    [ -n "$j" ] && [ -x "$j/bin/java" ] && { echo "$j/bin/java"; return; }
  done
  command -v java
}

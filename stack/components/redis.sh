# Redis 7 from Debian's packages. No persistence: it only mirrors live orders and holds caches.
redis_env=REDIS_URL
redis_timeout=20
REDIS_PORT=${REDIS_PORT:-6379}
REDIS_URL_DEFAULT="redis://127.0.0.1:$REDIS_PORT"

redis_healthy() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

redis_provision() {
  command -v redis-server >/dev/null || run_long redis "installing redis-server (apt)" apt_install redis-server
}

redis_start() {
  start_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$DATA_DIR" --daemonize no
}

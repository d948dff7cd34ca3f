# FerretDB 1.24 (the MongoDB wire protocol on SQLite) as the MongoDB server, embedded in a small Go main of
# ours (stack/ferretdb/main.go) built from the Go module proxy.
ferretdb_env=MONGO_URL
ferretdb_timeout=30
MONGO_PORT=${MONGO_PORT:-27017}
MONGO_URL_DEFAULT="mongodb://127.0.0.1:$MONGO_PORT/shopflow"
FERRETDB_BIN="$SHOPFLOW_CACHE/bin/shopflow-ferretdb"

ferretdb_healthy() { port_open 127.0.0.1 "$MONGO_PORT"; }

ferretdb_provision() {
  local src="$STACK_DIR/ferretdb" stamp="$SHOPFLOW_CACHE/bin/shopflow-ferretdb.sha" sum
  sum=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -d' ' -f1)
  [ -x "$FERRETDB_BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return 0
  run_long ferretdb "building FerretDB v1.24.2 from the Go module proxy (first time: minutes)" \
    bash -c "cd '$src' && CGO_ENABLED=0 go build -ldflags '-s -w' -o '$FERRETDB_BIN' ."
  echo "$sum" >"$stamp"
}

ferretdb_start() {
  start_bg ferretdb "$FERRETDB_BIN" -listen "127.0.0.1:$MONGO_PORT" -data "$DATA_DIR/ferretdb/"
}

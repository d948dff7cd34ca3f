# Apache Kafka 3.9.1 (KRaft, single node) from Maven Central: stack/maven/kafka/pom.xml, config in stack/kafka/.
kafka_env=KAFKA_BROKERS
kafka_timeout=90
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_BROKERS_DEFAULT="127.0.0.1:$KAFKA_PORT"

kafka_healthy() {
  port_open 127.0.0.1 "$KAFKA_PORT" || return 1
  # A started broker logs this once it serves requests; someone else's broker: the open port is all we know.
  [ -f "$RUN_DIR/kafka.pid" ] || return 0
  grep -qE 'Kafka Server started|\[KafkaRaftServer nodeId=1\] Kafka Server started' "$LOG_DIR/kafka.log" 2>/dev/null
}

kafka_provision() {
  maven_libs kafka
  local dir="$DATA_DIR/kafka" props="$DATA_DIR/kafka.properties" java
  java=$(java17)
  sed -e "s#@DIR@#$dir#" -e "s#@PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
    "$STACK_DIR/kafka/server.properties" >"$props"
  if [ ! -f "$dir/meta.properties" ]; then
    local id; id=$("$java" -cp "$SHOPFLOW_CACHE/kafka/lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    run_long kafka "formatting the KRaft log dir" \
      "$java" -Dlog4j.configuration="file:$STACK_DIR/kafka/log4j.properties" -cp "$SHOPFLOW_CACHE/kafka/lib/*" \
      kafka.tools.StorageTool format -t "$id" -c "$props" --ignore-formatted
  fi
}

kafka_start() {
  start_bg kafka "$(java17)" -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$STACK_DIR/kafka/log4j.properties" \
    -cp "$SHOPFLOW_CACHE/kafka/lib/*" kafka.Kafka "$DATA_DIR/kafka.properties"
}

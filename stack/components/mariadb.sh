# MariaDB 10.11 from Debian's packages, as the MySQL server, in a data dir of our own.
mariadb_env=MYSQL_URL
mariadb_timeout=60
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_URL_DEFAULT="mysql://shopflow:shopflow@127.0.0.1:$MYSQL_PORT/shopflow"
MARIADB_SOCK="$RUN_DIR/mariadb.sock"

mariadb_healthy() {
  port_open 127.0.0.1 "$MYSQL_PORT" || return 1
  # Answers SQL as the app's user (created on first start), not just accepts TCP.
  mariadb --protocol=tcp -h127.0.0.1 -P"$MYSQL_PORT" -ushopflow -pshopflow -e 'SELECT 1' shopflow >/dev/null 2>&1
}

mariadb_provision() {
  command -v mariadbd >/dev/null || command -v /usr/sbin/mariadbd >/dev/null || \
    run_long mariadb "installing mariadb-server (apt)" apt_install mariadb-server mariadb-client
  if [ ! -d "$DATA_DIR/mariadb/mysql" ]; then
    run_long mariadb "initialising the data dir" mariadb-install-db --user="$(id -un)" \
      --datadir="$DATA_DIR/mariadb" --auth-root-authentication-method=socket --skip-test-db
  fi
}

mariadb_start() {
  # innodb_flush_log_at_trx_commit=2: a dev/CI stack trades the last second of commits on an OS crash for
  # speed; production keeps the default of 1.
  start_bg mariadb /usr/sbin/mariadbd --no-defaults --user="$(id -un)" --datadir="$DATA_DIR/mariadb" \
    --socket="$MARIADB_SOCK" --port="$MYSQL_PORT" --bind-address=127.0.0.1 --pid-file="$RUN_DIR/mariadbd.pid" \
    --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=256M --max-connections=500 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --skip-name-resolve
  # Wait until it answers on its socket: the socket file alone may be a stale one left by a killed server.
  local i
  for i in $(seq 1 60); do mariadb-admin --socket="$MARIADB_SOCK" -uroot ping >/dev/null 2>&1 && break; sleep 0.5; done
  # The app's database and user (idempotent). Root logs in through the socket only.
  mariadb --socket="$MARIADB_SOCK" -uroot >>"$LOG_DIR/mariadb.log" 2>&1 <<SQL || fail mariadb "creating the app's database and user"
CREATE DATABASE IF NOT EXISTS shopflow CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS shopflow_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
-- An always-empty twin of the test database: the demo-data test loads the demo catalog into it.
CREATE DATABASE IF NOT EXISTS shopflow_test_demo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
-- The benchmarks' own database (npm run bench:http): never the dev or test data.
CREATE DATABASE IF NOT EXISTS shopflow_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'shopflow'@'127.0.0.1' IDENTIFIED BY 'shopflow';
CREATE USER IF NOT EXISTS 'shopflow'@'localhost' IDENTIFIED BY 'shopflow';
GRANT ALL ON shopflow.* TO 'shopflow'@'127.0.0.1';
GRANT ALL ON shopflow.* TO 'shopflow'@'localhost';
GRANT ALL ON shopflow_test.* TO 'shopflow'@'127.0.0.1';
GRANT ALL ON shopflow_test.* TO 'shopflow'@'localhost';
GRANT ALL ON shopflow_test_demo.* TO 'shopflow'@'127.0.0.1';
GRANT ALL ON shopflow_test_demo.* TO 'shopflow'@'localhost';
GRANT ALL ON shopflow_bench.* TO 'shopflow'@'127.0.0.1';
GRANT ALL ON shopflow_bench.* TO 'shopflow'@'localhost';
SQL
}

import knexFactory, { Knex } from 'knex';

/** A knex pool on MySQL/MariaDB from a `mysql://user:pass@host:port/db` URL. DECIMALs come back as numbers. */
export function createMysql(url: string, poolMax = 30): Knex {
  const u = new URL(url);
  return knexFactory({
    client: 'mysql2',
    connection: {
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: u.pathname.replace(/^\//, ''),
      decimalNumbers: true,
      timezone: 'Z',
      charset: 'utf8mb4',
      connectTimeout: 5000,
    },
    pool: { min: 0, max: poolMax, acquireTimeoutMillis: 10_000 },
    acquireConnectionTimeout: 10_000,
    // Error messages show the SQL with `?`, never the bound values (password hashes, emails) that logs would keep.
    compileSqlOnError: false,
  });
}

/** True when the error is MySQL's duplicate-key error. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: string })?.code === 'ER_DUP_ENTRY';
}

/** True when MySQL gave up on a lock (deadlock or lock wait timeout): safe to retry the whole transaction. */
export function isLockConflict(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

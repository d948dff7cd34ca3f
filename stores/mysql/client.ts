import knexFactory, { Knex } from 'knex';
import { logger } from '../../lib/logger';

/** A knex pool on MySQL/MariaDB from a `mysql://user:pass@host:port/db` URL. DECIMALs come back as numbers.
 * A request waits at most `acquireTimeoutMs` for a connection (MYSQL_ACQUIRE_TIMEOUT): a server that is down
 * or a pool that is full fails fast (KnexTimeoutError, a 503 in the API) instead of queueing for long. */
export function createMysql(url: string, poolMax = 30, acquireTimeoutMs = 2_000): Knex {
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
      connectTimeout: Math.max(acquireTimeoutMs, 1000),
    },
    pool: { min: 0, max: poolMax, acquireTimeoutMillis: acquireTimeoutMs },
    acquireConnectionTimeout: acquireTimeoutMs,
    // knex prints to the console, e.g. every acquire timeout; the caller gets that error (a 503 in the API),
    // so it is debug here, not one console line per request while the pool is full.
    log: {
      warn: (message: unknown) => knexLog('warn', message),
      error: (message: unknown) => knexLog('error', message),
      deprecate: (method: string, alternative: string) =>
        logger.warn({ component: 'knex' }, `${method} is deprecated, use ${alternative}`),
      debug: (message: unknown) => logger.debug({ component: 'knex' }, String(message)),
    },
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

function knexLog(level: 'warn' | 'error', message: unknown): void {
  const text = String(message);
  logger[text.startsWith('Acquire connection error') ? 'debug' : level]({ component: 'knex' }, text);
}

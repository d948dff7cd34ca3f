/**
 * Idempotency-Key expiry (IDEMPOTENCY_KEY_TTL, review L9): a key answers its order again for that long, then is
 * forgotten (a client retries within seconds or minutes, not days). Expired keys are deleted for the buyer on
 * each new claim, so an expired key is never honoured, and for everyone by the worker's archive sweeper loop.
 */
import type { Knex } from 'knex';

const cutoff = (ttlMs: number) => new Date(Date.now() - ttlMs);

/** Deletes the buyer's expired keys (a range of the primary key: no contention with other buyers). */
export async function expireUserKeys(mysql: Knex, userId: string, ttlMs: number): Promise<void> {
  await mysql('idempotency_keys').where({ user_id: userId }).where('created_at', '<', cutoff(ttlMs)).delete();
}

/** Deletes up to `batch` expired keys of anyone (by the created_at index); returns how many. */
export async function expireKeys(mysql: Knex, ttlMs: number, batch = 5000): Promise<number> {
  return mysql('idempotency_keys').where('created_at', '<', cutoff(ttlMs)).limit(batch).delete();
}

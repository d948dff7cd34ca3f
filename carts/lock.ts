/**
 * A short per-user lock in Redis (SET NX PX, released by compare-and-delete).
 *
 * Why: FerretDB 1.24 on SQLite applies an update as read-modify-write without isolation, so concurrent
 * `$inc`/`$set` on one document lose writes (measured: 20 concurrent `$inc` of one field ended at 4 to 9).
 * Every write to one user's cart (or wishlist) therefore runs under this lock; the writes themselves stay
 * server-built update operators on named paths, which are also correct on a real MongoDB.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../stores/redis/client';
import { DomainError } from '../lib/errors';

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export class UserLock {
  constructor(
    private readonly redis: Redis,
    private readonly opts: { ttlMs: number; waitMs: number; busy?: () => Error } = { ttlMs: 5000, waitMs: 5000 },
  ) {}

  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    const lockKey = `lock:${key}`;
    const deadline = Date.now() + this.opts.waitMs;
    let delay = 5;
    while ((await this.redis.set(lockKey, token, 'PX', this.opts.ttlMs, 'NX')) !== 'OK') {
      if (Date.now() >= deadline)
        throw (
          this.opts.busy?.() ??
          new DomainError('unavailable', 'busy', 'this resource is being changed by another request; try again')
        );
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 100);
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, lockKey, token).catch(() => undefined);
    }
  }
}

/**
 * Hot item reads: the MongoDB details of an item, cached in Redis under the revision the MySQL row commits
 * to (`item:details:{id}:{rev}`). A revision's content never changes, so a cached entry can never be stale:
 * a change writes a new revision, readers (who read the MySQL row first) ask for the new key, and the old
 * key is deleted on change (and expires anyway). Price and stock are never cached: shoppers always see
 * MySQL's stock, so it can never be higher than the authority's.
 */
import type { Redis } from '../stores/redis/client';
import { logBestEffortFailure } from '../stores/errors';
import type { ItemExtras } from './model';

// v2: attributes and images (v1 entries held the attributes alone; they expire on their own).
const key = (itemId: string, rev: string) => `item:details:v2:${itemId}:${rev}`;

export class ItemDetailsCache {
  hits = 0;
  misses = 0;
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  async get(itemId: string, rev: string): Promise<ItemExtras | undefined> {
    try {
      const raw = await this.redis.get(key(itemId, rev));
      if (raw === null) {
        this.misses += 1;
        return undefined;
      }
      this.hits += 1;
      return JSON.parse(raw) as ItemExtras;
    } catch (err) {
      // The cache is an optimization: a Redis hiccup falls through to MongoDB.
      logBestEffortFailure(err, 'item cache read failed', { itemId });
      return undefined;
    }
  }

  async set(itemId: string, rev: string, extras: ItemExtras): Promise<void> {
    if (this.ttlMs <= 0) return;
    try {
      await this.redis.set(key(itemId, rev), JSON.stringify(extras), 'PX', this.ttlMs);
    } catch (err) {
      logBestEffortFailure(err, 'item cache write failed', { itemId });
    }
  }

  async invalidate(itemId: string, rev: string | null): Promise<void> {
    if (!rev) return;
    try {
      await this.redis.del(key(itemId, rev));
    } catch (err) {
      logBestEffortFailure(err, 'item cache invalidation failed (the entry expires on its own)', { itemId });
    }
  }
}

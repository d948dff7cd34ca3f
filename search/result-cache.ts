/**
 * Hot searches shared for a moment (issue 12): one search's results are kept in Redis for SEARCH_CACHE_TTL
 * (2 s by default), shared by every API process, and concurrent misses of one query in a process wait for a
 * single engine call. The cost is that window: for up to SEARCH_CACHE_TTL after the index changed (a delisted
 * or sold-out item, a new price) a search may still answer the results from before. Stock is never decided
 * here: an order always reserves in MySQL.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../stores/redis/client';
import { logBestEffortFailure } from '../stores/errors';
import type { SearchQuery, SearchResult } from './query';
import { SingleFlight } from '../lib/single-flight';

const key = (q: SearchQuery) => `search:v2:${createHash('sha1').update(JSON.stringify(q)).digest('base64url')}`;

export class SearchResultCache {
  private readonly misses = new SingleFlight<SearchResult>();
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  /** The cached results of this query, or `run()`'s (then cached). Errors of `run` are not cached. */
  async get(q: SearchQuery, run: () => Promise<SearchResult>): Promise<SearchResult> {
    if (this.ttlMs <= 0) return run();
    const k = key(q);
    return this.misses.run(k, () => this.lookup(k, run));
  }

  private async lookup(k: string, run: () => Promise<SearchResult>): Promise<SearchResult> {
    try {
      const raw = await this.redis.get(k);
      if (raw) return JSON.parse(raw) as SearchResult;
    } catch (err) {
      logBestEffortFailure(err, 'search cache read failed', {});
    }
    const result = await run();
    this.redis
      .set(k, JSON.stringify(result), 'PX', this.ttlMs)
      .catch((err) => logBestEffortFailure(err, 'search cache write failed', {}));
    return result;
  }
}

/**
 * GET /items/{id} from Redis (issue 12): the whole answer (MySQL row + committed details) cached under
 * `item:view:v1:{id}`, dropped at once by every change of the item, so the stock shown is the stock MySQL has,
 * give or take the moment it takes a change to reach Redis. MySQL still decides at reservation: the cache is
 * only ever read for display.
 *
 * Who drops an entry: the API right after its own commits (a seller's update, restock, delist, delete; an
 * order's reservation), and the item-cache consumer (./item-view-events.ts) for every `item.*` and
 * `stock.changed` event, which covers the worker's releases and anything the API did not reach. ITEM_VIEW_TTL
 * bounds the rest.
 *
 * A reader that missed fills the entry only if no change happened meanwhile: each item has a generation
 * counter (`item:gen:v1:{id}`) that every drop increments; the reader takes it before reading MySQL and the
 * fill (a Lua script) is refused when it moved. So a read that started before a commit can never put the old
 * row back after that commit's drop.
 */
import type { Redis } from '../stores/redis/client';
import { logBestEffortFailure } from '../stores/errors';
import type { ItemView } from './model';

const viewKey = (id: string) => `item:view:v1:${id.toLowerCase()}`;
const genKey = (id: string) => `item:gen:v1:${id.toLowerCase()}`;

// KEYS: view, gen. ARGV: the generation the reader saw ('' for none), the view, its TTL (ms).
const FILL = `local g = redis.call('GET', KEYS[2]) or ''
if g ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

export class ItemViewCache {
  hits = 0;
  misses = 0;
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** The cached view, or a miss with the generation to fill under. */
  async get(itemId: string): Promise<{ view: ItemView } | { gen: string }> {
    try {
      const [raw, gen] = await this.redis.mget(viewKey(itemId), genKey(itemId));
      if (raw) {
        this.hits += 1;
        return { view: JSON.parse(raw) as ItemView };
      }
      this.misses += 1;
      return { gen: gen ?? '' };
    } catch (err) {
      logBestEffortFailure(err, 'item view cache read failed', { itemId });
      return { gen: 'unavailable' };
    }
  }

  /** Stores a view read from MySQL, unless the item changed since `gen` was read. */
  async fill(view: ItemView, gen: string): Promise<void> {
    if (gen === 'unavailable') return;
    try {
      await this.redis.eval(
        FILL,
        2,
        viewKey(view.item_id),
        genKey(view.item_id),
        gen,
        JSON.stringify(view),
        String(this.ttlMs),
      );
    } catch (err) {
      logBestEffortFailure(err, 'item view cache write failed', { itemId: view.item_id });
    }
  }

  /** These items changed (after the commit): their entries go and fills in flight are refused. Best effort:
   * the item-cache consumer does it again from the event, and the TTL bounds a miss of both. */
  async drop(itemIds: string[]): Promise<void> {
    if (itemIds.length === 0 || !this.enabled) return;
    const m = this.redis.multi();
    // The generation lives longer than any read in flight (and the view itself).
    for (const id of new Set(itemIds.map((i) => i.toLowerCase())))
      m.incr(genKey(id))
        .pexpire(genKey(id), this.ttlMs + 60_000)
        .del(viewKey(id));
    try {
      await m.exec();
    } catch (err) {
      logBestEffortFailure(err, 'item view cache drop failed (the stock events drop it again)', {
        itemIds: itemIds.slice(0, 5),
      });
    }
  }
}

/**
 * A user's recommendations, from the model the analytics consumer keeps in Redis (./keys.ts); never computed
 * over raw events. Per request: one pipeline for the user's state (recent purchases, cart/wishlist adds,
 * views, categories, everything bought), one for the co-occurrence lists of those seed items, one for the
 * popular fallbacks, and one batched MySQL read for names, prices and stock.
 *
 * Scoring: each seed s (recent first, bought > carted > viewed) adds weight(s) * co(s, c) / max co(s, .) to
 * each candidate c (normalized per seed, so one heavily co-bought seed does not drown the others). Then the
 * most popular items of the user's categories, then overall (a new user gets only these). Never returned:
 * anything the user bought, anything out of stock or no longer in the catalog.
 */
import type { Knex } from 'knex';
import type { Redis } from '../stores/redis/client';
import { RecsKeys } from './keys';

export interface Recommendation {
  item_id: string;
  name: string;
  price: number;
}

export interface RecsTuning {
  seeds: { bought: number; carted: number; viewed: number };
  /** Weight of seed weights per seed kind, and how fast it decays with recency rank. */
  weight: { bought: number; carted: number; viewed: number };
  decay: number;
  /** Co-occurring items read per seed. */
  perSeed: number;
  /** Categories of the user used for the fallback. */
  categories: number;
}

export const DEFAULT_TUNING: RecsTuning = {
  seeds: { bought: 10, carted: 10, viewed: 20 },
  weight: { bought: 1, carted: 0.8, viewed: 0.5 },
  decay: 0.9,
  perSeed: 50,
  categories: 3,
};

type Pairs = string[];
const pairs = (flat: Pairs): [string, number][] => {
  const out: [string, number][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
  return out;
};

export class RecommendationService {
  readonly keys: RecsKeys;
  constructor(private readonly redis: Redis, private readonly mysql: Knex, prefix: string, private readonly tuning: RecsTuning = DEFAULT_TUNING) {
    this.keys = new RecsKeys(prefix);
  }

  /** Candidate item ids, best first (no stock check). */
  async candidates(userId: string, want: number): Promise<{ ranked: string[]; bought: Set<string> }> {
    const t = this.tuning;
    const k = this.keys;
    const state = await this.redis
      .pipeline()
      .zrevrange(k.bought(userId), 0, -1)
      .zrevrange(k.carted(userId), 0, t.seeds.carted - 1)
      .zrevrange(k.viewed(userId), 0, t.seeds.viewed - 1)
      .zrevrange(k.categories(userId), 0, t.categories - 1)
      .exec();
    const [bought, carted, viewed, cats] = (state ?? []).map(([err, v]) => {
      if (err) throw err;
      return v as string[];
    }) as [string[], string[], string[], string[]];
    const boughtSet = new Set(bought);

    const seeds = new Map<string, number>();
    const addSeeds = (ids: string[], w: number) => ids.forEach((id, i) => seeds.set(id, Math.max(seeds.get(id) ?? 0, w * t.decay ** i)));
    addSeeds(bought.slice(0, t.seeds.bought), t.weight.bought);
    addSeeds(carted, t.weight.carted);
    addSeeds(viewed, t.weight.viewed);

    const scores = new Map<string, number>();
    if (seeds.size > 0) {
      const pipe = this.redis.pipeline();
      const seedList = [...seeds];
      for (const [s] of seedList) pipe.zrevrange(k.co(s), 0, t.perSeed - 1, 'WITHSCORES');
      const lists = (await pipe.exec()) ?? [];
      seedList.forEach(([, w], i) => {
        const [err, flat] = lists[i]!;
        if (err) throw err;
        const co = pairs(flat as Pairs);
        const max = co[0]?.[1] ?? 0;
        if (max <= 0) return;
        for (const [c, n] of co) if (!boughtSet.has(c)) scores.set(c, (scores.get(c) ?? 0) + (w * n) / max);
      });
    }
    const ranked = [...scores].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);

    // Fallbacks: the user's categories' best sellers, then the overall best sellers.
    const pipe = this.redis.pipeline();
    const n = Math.max(want * 3, 30);
    for (const c of cats) pipe.zrevrange(k.popular(c), 0, n - 1);
    pipe.zrevrange(k.popular(), 0, n - 1 + bought.length);
    const pops = (await pipe.exec()) ?? [];
    const seen = new Set(ranked);
    for (const [err, ids] of pops) {
      if (err) throw err;
      for (const id of ids as string[]) {
        if (!seen.has(id) && !boughtSet.has(id)) {
          seen.add(id);
          ranked.push(id);
        }
      }
    }
    return { ranked, bought: boughtSet };
  }

  /** Up to `limit` in-stock, not-yet-bought items, best first, in the seed's shape. */
  async forUser(userId: string, limit = 10): Promise<Recommendation[]> {
    const { ranked } = await this.candidates(userId, limit);
    const out: Recommendation[] = [];
    // Stock is checked in MySQL (the authority) at read time, in batches, until the list is full.
    const batch = Math.max(limit * 3, 30);
    for (let i = 0; i < ranked.length && out.length < limit; i += batch) {
      const ids = ranked.slice(i, i + batch);
      const rows: { item_id: string; name: string; price: string | number }[] = await this.mysql('items').select('item_id', 'name', 'price').whereIn('item_id', ids).andWhere('stock', '>', 0);
      const byId = new Map(rows.map((r) => [r.item_id, r]));
      for (const id of ids) {
        const r = byId.get(id);
        if (r && out.length < limit) out.push({ item_id: r.item_id, name: r.name, price: Number(r.price) });
      }
    }
    return out;
  }

  /** The most-popular baseline (the benchmark's comparison): best sellers overall, minus what the user bought. */
  async popular(userId: string | undefined, limit: number): Promise<string[]> {
    const bought = userId ? new Set(await this.redis.zrange(this.keys.bought(userId), "0", "-1")) : new Set<string>();
    const ids = await this.redis.zrevrange(this.keys.popular(), 0, limit - 1 + bought.size);
    return ids.filter((id) => !bought.has(id)).slice(0, limit);
  }
}

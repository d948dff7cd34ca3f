/**
 * A user's recommendations, from the model the analytics consumer keeps in Redis (./keys.ts); never computed
 * over raw events. Per request: one pipeline for the user's state (recent purchases, cart/wishlist adds,
 * views, categories, everything bought), one for the co-occurrence lists of those seed items, one for the
 * popular fallbacks, and one batched MySQL read for names, prices and stock.
 *
 * Scoring: each seed s (recent first, bought > carted > viewed) adds weight(s) * co(s, c) / max co(s, .) to
 * each candidate c, from its bought-together list (complements; mostly for what the user bought) and its
 * viewed-together list (substitutes; mostly for what they viewed), each normalized per seed so one heavily
 * co-bought seed does not drown the others; the best sellers of the user's categories are blended in by the
 * user's interest in each. Then the overall best sellers (all a new user gets). Never returned:
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

type SeedKind = 'bought' | 'carted' | 'viewed';
export interface RecsTuning {
  seeds: Record<SeedKind, number>;
  /** Weight of each kind of seed, and how fast it decays with recency rank (0.9: the 2nd most recent 0.9). */
  weight: Record<SeedKind, number>;
  /** How much each kind of seed reads the bought-together and the viewed-together lists. */
  lists: Record<SeedKind, { buy: number; view: number }>;
  decay: number;
  /** Co-occurring items read per seed. */
  perSeed: number;
  /** Categories of the user blended in (their best sellers), and the blend's weight against co-occurrence. */
  categories: number;
  categoryWeight: number;
  /** Items the user carted or viewed but did not buy, as candidates themselves (0: off). */
  revisitWeight: number;
  /** How a seed's list is normalized: by its strongest partner (max) or by its total (sum: a probability). */
  norm: 'max' | 'sum';
  /** Candidates' scores multiplied by (orders of the candidate + 1) ^ popPrior (0: off). */
  popPrior: number;
}

export const DEFAULT_TUNING: RecsTuning = {
  seeds: { bought: 10, carted: 10, viewed: 20 },
  weight: { bought: 1, carted: 0.8, viewed: 0.8 },
  lists: { bought: { buy: 1, view: 0.5 }, carted: { buy: 1, view: 1 }, viewed: { buy: 0.5, view: 1 } },
  decay: 0.9,
  perSeed: 50,
  categories: 3,
  categoryWeight: 0.5,
  revisitWeight: 0,
  norm: 'sum',
  popPrior: 0,
};

type Pairs = string[];
const pairs = (flat: Pairs): [string, number][] => {
  const out: [string, number][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
  return out;
};

export class RecommendationService {
  readonly keys: RecsKeys;
  constructor(
    private readonly redis: Redis,
    private readonly mysql: Knex,
    prefix: string,
    private readonly tuning: RecsTuning = DEFAULT_TUNING,
  ) {
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
      .zrevrange(k.categories(userId), 0, t.categories - 1, 'WITHSCORES')
      .exec();
    const [bought, carted, viewed, catFlat] = (state ?? []).map(([err, v]) => {
      if (err) throw err;
      return v as string[];
    }) as [string[], string[], string[], string[]];
    const boughtSet = new Set(bought);
    const cats = pairs(catFlat);

    // Seed -> weight per list (the strongest reason wins when an item is both bought and viewed).
    const seeds = new Map<string, { buy: number; view: number }>();
    const addSeeds = (ids: string[], kind: SeedKind) =>
      ids.forEach((id, i) => {
        const w = t.weight[kind] * t.decay ** i;
        const cur = seeds.get(id) ?? { buy: 0, view: 0 };
        seeds.set(id, {
          buy: Math.max(cur.buy, w * t.lists[kind].buy),
          view: Math.max(cur.view, w * t.lists[kind].view),
        });
      });
    addSeeds(bought.slice(0, t.seeds.bought), 'bought');
    addSeeds(carted, 'carted');
    addSeeds(viewed, 'viewed');

    const scores = new Map<string, number>();
    const add = (id: string, v: number) => {
      if (!boughtSet.has(id) && v > 0) scores.set(id, (scores.get(id) ?? 0) + v);
    };
    const seedList = [...seeds];
    const pipe = this.redis.pipeline();
    for (const [s] of seedList)
      pipe.zrevrange(k.co(s), 0, t.perSeed - 1, 'WITHSCORES').zrevrange(k.coView(s), 0, t.perSeed - 1, 'WITHSCORES');
    const n = Math.max(want * 3, 30);
    for (const [c] of cats) pipe.zrevrange(k.popular(c), 0, n - 1, 'WITHSCORES');
    pipe.zrevrange(k.popular(), 0, n - 1 + bought.length);
    const lists = (await pipe.exec()) ?? [];
    const result = (i: number) => {
      const [err, v] = lists[i]!;
      if (err) throw err;
      return v as string[];
    };
    // Co-occurrence, each list normalized per seed (its strongest partner = 1), weighted by the seed.
    seedList.forEach(([, w], i) => {
      for (const [j, weight] of [
        [2 * i, w.buy],
        [2 * i + 1, w.view],
      ] as const) {
        const co = pairs(result(j));
        const max = t.norm === 'max' ? (co[0]?.[1] ?? 0) : co.reduce((a, [, x]) => a + x, 0);
        if (max > 0 && weight > 0) for (const [c, x] of co) add(c, (weight * x) / max);
      }
    });
    // Items the user looked at or carted and did not buy (optional).
    if (t.revisitWeight > 0) for (const [id, w] of seeds) add(id, t.revisitWeight * Math.max(w.buy, w.view));
    // The user's categories' best sellers, by the user's interest in each category.
    const catTotal = cats.reduce((a, [, x]) => a + x, 0);
    cats.forEach(([, interest], j) => {
      const pop = pairs(result(2 * seedList.length + j));
      const max = pop[0]?.[1] ?? 0;
      if (max > 0 && catTotal > 0)
        for (const [id, x] of pop) add(id, (t.categoryWeight * (interest / catTotal) * x) / max);
    });
    if (t.popPrior > 0 && scores.size > 0) {
      const ids = [...scores.keys()];
      const pops = await this.redis.zmscore(k.popular(), ...ids);
      ids.forEach((id, i) => scores.set(id, scores.get(id)! * (Number(pops[i] ?? 0) + 1) ** t.popPrior));
    }
    const ranked = [...scores].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
    // Last, the overall best sellers (all a new user gets).
    const seen = new Set(ranked);
    for (const id of result(2 * seedList.length + cats.length)) {
      if (!seen.has(id) && !boughtSet.has(id)) {
        seen.add(id);
        ranked.push(id);
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
      const rows: { item_id: string; name: string; price: string | number }[] = await this.mysql('items')
        .select('item_id', 'name', 'price')
        .whereIn('item_id', ids)
        .andWhere('stock', '>', 0);
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
    const bought = userId ? new Set(await this.redis.zrange(this.keys.bought(userId), '0', '-1')) : new Set<string>();
    const ids = await this.redis.zrevrange(this.keys.popular(), 0, limit - 1 + bought.size);
    return ids.filter((id) => !bought.has(id)).slice(0, limit);
  }
}

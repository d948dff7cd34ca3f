/**
 * Recommendations benchmark (npm run bench:recs). Generates shoppers with hidden preferences and scores the
 * recommendations the platform serves on purchases it never saw:
 *
 *  - a catalog of BENCH_ITEMS items in 20 categories, 6 brands each, Zipf popularity inside a category; every
 *    item has companions often bought with it (an accessory of the same brand, an item of a related category);
 *  - BENCH_USERS shoppers, each preferring two categories and one brand in each; 4-11 sessions per shopper:
 *    views, a search with clicks, a cart add, and sometimes a purchase (the anchor item, each companion with
 *    probability 0.6);
 *  - each shopper's first 70% of sessions are fed through the real pipeline: analytics events published to
 *    Kafka (shopflow.analytics, keyed by user) -> the analytics consumer (its own group and Redis prefix) ->
 *    Redis (model, reports) and Cassandra (raw log); the items are real MySQL rows (stock checked per request);
 *  - for every shopper with a purchase in the held-out 30% (of items not bought before), the top 10 of
 *    RecommendationService.forUser (the code behind GET /users/{id}/recommendations) and of the most-popular
 *    baseline (best sellers from the same pipeline, minus what the shopper bought) are scored: precision@10
 *    and recall@10 against the held-out purchases.
 *
 * Prints both, the ratio, the consumer's sustained events/second and the serving latency. Uses the stores of
 * the environment (bench.sh points it at the test stores); its MySQL rows and Redis keys are removed at the
 * end (BENCH_KEEP=1 keeps them), the raw events stay in Cassandra like any event.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createMysql } from '../stores/mysql/client';
import { createRedis } from '../stores/redis/client';
import { createCassandra } from '../stores/cassandra/client';
import { createKafka, createProducer, ensureTopics } from '../stores/kafka/client';
import { TOPICS } from '../stores/kafka/topics';
import { AnalyticsConsumer } from '../analytics/consumer';
import { AnalyticsPipeline } from '../read-models/pipeline';
import { pipelineSettings } from '../read-models/settings';
import type { AnalyticsEvent } from '../analytics/model';
import { DEFAULT_TUNING, RecommendationService, RecsTuning } from '../recommendations/service';

const env = process.env;
const N_ITEMS = Number(env.BENCH_ITEMS ?? 1000);
const N_USERS = Number(env.BENCH_USERS ?? 2000);
const TRAIN_SHARE = 0.7;
/** Partitions the consumer works on at once (the platform's default is 2). */
const PARTITIONS = Number(env.BENCH_PARTITIONS ?? 2);
const K = 10;
const CATS = 20;
const BRANDS_PER_CAT = 6;

let seed = Number(env.BENCH_SEED ?? 7);
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};
const pickWeighted = <T>(xs: T[], w: (x: T) => number): T => {
  let total = 0;
  for (const x of xs) total += w(x);
  let r = rand() * total;
  for (const x of xs) {
    r -= w(x);
    if (r <= 0) return x;
  }
  return xs[xs.length - 1]!;
};

interface Item {
  id: string;
  cat: number;
  brand: number;
  pop: number;
  price: number;
  companions: Item[];
}
interface Session {
  at: number;
  views: Item[];
  query: string;
  clicks: Item[];
  cart: Item | undefined;
  purchase: Item[];
}

function generate(run: string) {
  const catWeight = Array.from({ length: CATS }, (_, c) => 1 / (c + 1) ** 0.5);
  const byCat: Item[][] = Array.from({ length: CATS }, () => []);
  const items: Item[] = [];
  for (let i = 0; i < N_ITEMS; i++) {
    const cat = i % CATS;
    const rank = byCat[cat]!.length;
    const it: Item = {
      id: `bench-${run}-${i}`,
      cat,
      brand: Math.floor(rand() * BRANDS_PER_CAT),
      pop: 1 / (rank + 1) ** 0.9,
      price: Math.round((5 + rand() * 500) * 100) / 100,
      companions: [],
    };
    byCat[cat]!.push(it);
    items.push(it);
  }
  const related = Array.from({ length: CATS }, (_, c) => (c + 1 + Math.floor(rand() * (CATS - 1))) % CATS);
  for (const it of items) {
    const sameBrand = byCat[it.cat]!.filter((o) => o !== it && o.brand === it.brand);
    if (sameBrand.length > 0) it.companions.push(pickWeighted(sameBrand, (o) => o.pop));
    it.companions.push(pickWeighted(byCat[related[it.cat]!]!, (o) => o.pop));
  }

  const start = Date.now() - 2 * 3_600_000;
  const users = Array.from({ length: N_USERS }, (_, u) => {
    const prefCats = [pickWeighted([...Array(CATS).keys()], (c) => catWeight[c]!)];
    while (prefCats.length < 2) {
      const c = pickWeighted([...Array(CATS).keys()], (x) => catWeight[x]!);
      if (!prefCats.includes(c)) prefCats.push(c);
    }
    const prefBrand = new Map(prefCats.map((c) => [c, Math.floor(rand() * BRANDS_PER_CAT)]));
    const pick = (cat: number) => pickWeighted(byCat[cat]!, (o) => o.pop * (prefBrand.get(cat) === o.brand ? 4 : 1));
    const n = 4 + Math.floor(rand() * 8);
    const times = Array.from({ length: n }, () => start + Math.floor(rand() * 2 * 3_600_000)).sort((a, b) => a - b);
    const sessions: Session[] = times.map((at) => {
      const cat = rand() < 0.85 ? prefCats[Math.floor(rand() * prefCats.length)]! : Math.floor(rand() * CATS);
      const anchor = pick(cat);
      const views = [anchor, ...Array.from({ length: 2 + Math.floor(rand() * 3) }, () => pick(cat))];
      const clicks = [anchor, ...(rand() < 0.5 ? [views[1]!] : [])];
      const purchase = rand() < 0.5 ? [anchor, ...anchor.companions.filter(() => rand() < 0.6)] : [];
      return {
        at,
        views,
        query: `cat${cat} brand${anchor.brand}`,
        clicks,
        cart: rand() < 0.6 ? anchor : undefined,
        purchase,
      };
    });
    // What a shopper would buy in a session, from the hidden preferences (the oracle's ranking).
    const expected = new Map<string, number>();
    for (let c = 0; c < CATS; c++) {
      const pc = 0.85 * (prefCats.includes(c) ? 1 / prefCats.length : 0) + 0.15 / CATS;
      const w = (o: Item) => o.pop * (prefBrand.get(c) === o.brand ? 4 : 1);
      const total = byCat[c]!.reduce((a, o) => a + w(o), 0);
      for (const o of byCat[c]!) {
        const pa = (pc * w(o)) / total;
        expected.set(o.id, (expected.get(o.id) ?? 0) + pa);
        for (const comp of o.companions) expected.set(comp.id, (expected.get(comp.id) ?? 0) + 0.6 * pa);
      }
    }
    const oracle = [...expected].sort((a, b) => b[1] - a[1]).map(([id]) => id);
    return { id: `bench-${run}-u${u}`, sessions, oracle };
  });
  return { items, users };
}

function toEvents(userId: string, s: Session): AnalyticsEvent[] {
  const cat = (it: Item) => `Bench-c${it.cat}`;
  const base = { user_id: userId, search_query: '', clicked_items: [] as string[] };
  const out: AnalyticsEvent[] = [];
  let t = s.at;
  const ev = (e: Partial<AnalyticsEvent> & Pick<AnalyticsEvent, 'event_type' | 'item_ids'>) =>
    out.push({ ...base, event_id: randomUUID(), timestamp: new Date((t += 1000)).toISOString(), ...e });
  ev({ event_type: 'search', search_query: s.query, item_ids: s.views.map((v) => v.id), result_count: s.views.length });
  for (const c of s.clicks)
    ev({ event_type: 'search_click', search_query: s.query, clicked_items: [c.id], item_ids: [c.id] });
  for (const v of s.views) ev({ event_type: 'item_view', item_ids: [v.id], categories: [cat(v)] });
  if (s.cart) ev({ event_type: 'cart_add', item_ids: [s.cart.id], categories: [cat(s.cart)], quantity: 1 });
  if (s.purchase.length > 0) {
    const lines = [...new Set(s.purchase)].map((it) => ({
      item_id: it.id,
      quantity: 1,
      price: it.price,
      category: cat(it),
    }));
    ev({
      event_type: 'order_placed',
      item_ids: lines.map((l) => l.item_id),
      categories: lines.map((l) => l.category),
      order_id: randomUUID(),
      lines,
      total_price: lines.reduce((a, l) => a + l.price, 0),
    });
  }
  return out;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

async function main(): Promise<void> {
  const cfg = config();
  const run = randomUUID().slice(0, 8);
  const prefix = `bench-recs-${run}:`;
  const mysql = createMysql(cfg.MYSQL_URL, 10);
  const redis = createRedis(cfg.REDIS_URL);
  const cassandra = createCassandra(cfg, cfg.CASSANDRA_KEYSPACE);
  const kafka = createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-bench-recs`);
  await ensureTopics(kafka);
  const producer = await createProducer(kafka);

  const t0 = performance.now();
  const { items, users } = generate(run);
  for (let i = 0; i < items.length; i += 500) {
    await mysql('items').insert(
      items.slice(i, i + 500).map((it) => ({
        item_id: it.id,
        name: `Bench ${it.cat}/${it.brand} #${it.id}`,
        category: `Bench-c${it.cat}`,
        price: it.price,
        stock: 1000,
      })),
    );
  }
  const train: AnalyticsEvent[] = [];
  const heldOut = new Map<string, Set<string>>();
  const oracleOf = new Map<string, string[]>();
  for (const u of users) {
    const cut = Math.max(1, Math.round(u.sessions.length * TRAIN_SHARE));
    const bought = new Set<string>();
    for (const s of u.sessions.slice(0, cut)) {
      train.push(...toEvents(u.id, s));
      for (const it of s.purchase) bought.add(it.id);
    }
    const later = new Set(
      u.sessions
        .slice(cut)
        .flatMap((s) => s.purchase.map((it) => it.id))
        .filter((id) => !bought.has(id)),
    );
    if (later.size > 0) heldOut.set(u.id, later);
    oracleOf.set(u.id, u.oracle.filter((id) => !bought.has(id)).slice(0, K));
  }
  train.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  const counts = train.reduce<Record<string, number>>(
    (m, e) => ((m[e.event_type] = (m[e.event_type] ?? 0) + 1), m),
    {},
  );
  console.log(
    `generated in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${items.length} items, ${users.length} shoppers, ${train.length} training events ${JSON.stringify(counts)}, ${heldOut.size} shoppers with held-out purchases`,
  );

  const settings = pipelineSettings(cfg, prefix);
  // Write-side weights can be tried without a code change, e.g. BENCH_WEIGHTS='{"view":0.5}'.
  if (env.BENCH_WEIGHTS)
    settings.recs.weights = {
      ...settings.recs.weights,
      ...(JSON.parse(env.BENCH_WEIGHTS) as Partial<typeof settings.recs.weights>),
    };
  const pipeline = new AnalyticsPipeline(redis, cfg.ANALYTICS_RAW_LOG ? cassandra : undefined, settings);
  const consumer = new AnalyticsConsumer(kafka, producer, mysql, pipeline, logger, {
    groupId: `bench-recs-${run}`,
    fromBeginning: false,
    partitionsConsumedConcurrently: PARTITIONS,
  });
  await consumer.start();

  const loadBefore = loadavg()[0]!.toFixed(1);
  // Feed: publish everything (keyed by user, as the API does), while the consumer works through it.
  const pubStart = performance.now();
  let firstApplied = 0;
  const watch = setInterval(() => {
    if (!firstApplied && pipeline.applied > 0) firstApplied = performance.now();
  }, 20);
  for (let i = 0; i < train.length; i += 2000) {
    await producer.send({
      topic: TOPICS.analytics.name,
      acks: -1,
      messages: train.slice(i, i + 2000).map((e) => ({ key: e.user_id!, value: JSON.stringify(e) })),
    });
  }
  const pubSecs = (performance.now() - pubStart) / 1000;
  // Done when every shopper's last training event is applied (other processes' events may share the topic).
  const lastIds = [...new Map(train.map((e) => [e.user_id!, e.event_id])).values()];
  for (;;) {
    if (pipeline.applied >= train.length) {
      const pipe = redis.pipeline();
      for (const id of lastIds) pipe.exists(pipeline.reportKeys.seen(id));
      if (((await pipe.exec()) ?? []).every(([, v]) => v === 1)) break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const done = performance.now();
  clearInterval(watch);
  const consumeSecs = (done - (firstApplied || pubStart)) / 1000;
  await consumer.stop();

  // Score on the held-out purchases.
  const recs = new RecommendationService(redis, mysql, prefix);
  let pOurs = 0;
  let rOurs = 0;
  let pBase = 0;
  let rBase = 0;
  let pOracle = 0;
  let rOracle = 0;
  const lat: number[] = [];
  for (const [userId, truth] of heldOut) {
    const s = performance.now();
    const ours = (await recs.forUser(userId, K)).map((r) => r.item_id);
    lat.push(performance.now() - s);
    const base = await recs.popular(userId, K);
    const hits = (xs: string[]) => xs.filter((x) => truth.has(x)).length;
    pOurs += hits(ours) / K;
    rOurs += hits(ours) / truth.size;
    pBase += hits(base) / K;
    rBase += hits(base) / truth.size;
    const oracle = oracleOf.get(userId)!;
    pOracle += hits(oracle) / K;
    rOracle += hits(oracle) / truth.size;
  }
  const n = heldOut.size;
  const f = (x: number) => (x / n).toFixed(4);
  console.log(
    `\nmachine: ${cpus().length} CPU (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; raw log to Cassandra: ${cfg.ANALYTICS_RAW_LOG}`,
  );
  console.log(
    `feed: ${train.length} events published in ${pubSecs.toFixed(1)} s; consumer: ${consumeSecs.toFixed(1)} s from first to last event applied = ${Math.round(train.length / consumeSecs)} events/s sustained (${cfg.ANALYTICS_RAW_LOG ? 'Cassandra + ' : ''}Redis, exactly once); load average before/after ${loadBefore} / ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    `  consumer wall time in store calls (side by side, ${PARTITIONS} partitions at a time): Cassandra ${(pipeline.rawMs / 1000).toFixed(1)} s, Redis ${(pipeline.redisMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `scored ${n} shoppers on held-out purchases (avg ${([...heldOut.values()].reduce((a, s) => a + s.size, 0) / n).toFixed(2)} items each)`,
  );
  console.log(`  recommendations  precision@${K} ${f(pOurs)}  recall@${K} ${f(rOurs)}`);
  console.log(`  most popular     precision@${K} ${f(pBase)}  recall@${K} ${f(rBase)}`);
  console.log(`  ratio (precision) ${(pOurs / Math.max(pBase, 1e-9)).toFixed(2)}x   target >= 2x`);
  console.log(
    `  (ceiling: an oracle that knows each shopper's hidden preferences: precision@${K} ${f(pOracle)}  recall@${K} ${f(rOracle)})`,
  );
  console.log(
    `serving (forUser, Redis + MySQL stock check): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`,
  );

  if (env.BENCH_ABLATION === '1') {
    // The same model read with other settings: what each part of the scoring contributes.
    const variants: [string, Partial<RecsTuning>][] = [
      ['max-normalized lists', { norm: 'max' }],
      ['no category blend', { categoryWeight: 0 }],
      ['category weight 0.1', { categoryWeight: 0.1 }],
      ['category weight 0.25', { categoryWeight: 0.25 }],
      ['category weight 1', { categoryWeight: 1 }],
      [
        'bought-together lists only',
        { lists: { bought: { buy: 1, view: 0 }, carted: { buy: 1, view: 0 }, viewed: { buy: 1, view: 0 } } },
      ],
      [
        'viewed-together lists only',
        { lists: { bought: { buy: 0, view: 1 }, carted: { buy: 0, view: 1 }, viewed: { buy: 0, view: 1 } } },
      ],
      ['viewed seeds: buy lists 1', { lists: { ...DEFAULT_TUNING.lists, viewed: { buy: 1, view: 1 } } }],
      ['decay 0.97, 40 viewed seeds', { decay: 0.97, seeds: { ...DEFAULT_TUNING.seeds, viewed: 40 } }],
      ['+ revisit viewed/carted 0.2', { revisitWeight: 0.2 }],
    ];
    for (const [name, v] of variants) {
      const svc = new RecommendationService(redis, mysql, prefix, { ...DEFAULT_TUNING, ...v });
      let pr = 0;
      let rc = 0;
      for (const [userId, truth] of heldOut) {
        const h = (await svc.forUser(userId, K)).filter((r) => truth.has(r.item_id)).length;
        pr += h / K;
        rc += h / truth.size;
      }
      console.log(`  variant: ${name.padEnd(40)} precision@${K} ${f(pr)}  recall@${K} ${f(rc)}`);
    }
  }

  if (env.BENCH_KEEP !== '1') {
    await mysql('items').where('item_id', 'like', `bench-${run}-%`).delete();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  await Promise.allSettled([producer.disconnect(), mysql.destroy(), redis.quit(), cassandra.shutdown()]);
}

main().catch((err) => {
  logger.fatal({ err }, 'recommendations benchmark failed');
  process.exit(1);
});

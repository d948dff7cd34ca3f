/**
 * Search benchmark (npm run bench:search). Prints:
 *  1. load: BENCH_ITEMS (default 100,000) generated items written straight into a dedicated index
 *     (BENCH_INDEX, default items_bench; dropped and recreated, never the platform's index) by the bulk API;
 *  2. queries/second and p50/p99 latency of a filtered, price-sorted text query through the platform's
 *     query builder (stores/search), BENCH_CONCURRENCY callers for BENCH_SECONDS;
 *  3. index lag after a stock change, through the whole pipeline the platform runs: a MySQL transaction
 *     as the saga makes it (conditional UPDATE + stock.changed in the outbox) -> outbox relay -> Kafka ->
 *     the search indexer (its own consumer group, writing into the bench index) -> visible to GET by id
 *     (real time) and to search (after the index refresh, refresh_interval 1s).
 * Stores come from the environment like every process (the lag part writes BENCH_LAG_ITEMS items to the
 * configured MySQL/Mongo); generated items are not committed anywhere.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createSearch } from '../stores/search';
import type { ItemDocument } from '../stores/search/mapping';
import { createMysql } from '../stores/mysql/client';
import { migrateMysql } from '../stores/mysql/migrate';
import { createMongo } from '../stores/mongo/client';
import { createRedis } from '../stores/redis/client';
import { createKafka, createProducer, ensureTopics } from '../stores/kafka/client';
import { KafkaTopicDirectory } from '../stores/kafka/topic-directory';
import { OutboxRelay } from '../outbox/relay';
import { enqueueStockChanged, returnStock, takeStock } from '../stock/levels';
import { CatalogService } from '../catalog/service';
import { SearchIndexConsumer, SearchIndexer } from '../search/indexer';
import { searchItems, SearchQuery } from '../search/query';

const env = process.env;
const N = Number(env.BENCH_ITEMS ?? 100_000);
const INDEX = env.BENCH_INDEX ?? 'items_bench';
const SECONDS = Number(env.BENCH_SECONDS ?? 15);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 8);
const LAG_ROUNDS = Number(env.BENCH_LAG_ROUNDS ?? 20);

const CATEGORIES = [
  'Electronics',
  'Books',
  'Home',
  'Garden',
  'Toys',
  'Sports',
  'Beauty',
  'Grocery',
  'Fashion',
  'Automotive',
  'Music',
  'Office',
  'Pets',
  'Baby',
  'Health',
  'Tools',
  'Games',
  'Jewelry',
  'Shoes',
  'Outdoors',
];
const BRANDS = [
  'Sony',
  'Samsung',
  'LG',
  'Bose',
  'Apple',
  'Philips',
  'Panasonic',
  'Dell',
  'HP',
  'Lenovo',
  'Asus',
  'Acer',
  'Canon',
  'Nikon',
  'JBL',
  'Xiaomi',
  'Huawei',
  'Nokia',
  'Logitech',
  'Razer',
  'Anker',
  'Dyson',
  'Bosch',
  'Makita',
  'Lego',
  'Hasbro',
  'Mattel',
  'Nike',
  'Adidas',
  'Puma',
];
const COLORS = ['black', 'white', 'red', 'blue', 'green', 'silver', 'gold', 'grey', 'pink', 'purple'];
const NOUNS = [
  'tv',
  'speaker',
  'headphones',
  'laptop',
  'phone',
  'camera',
  'lamp',
  'chair',
  'desk',
  'blender',
  'drill',
  'ball',
  'jacket',
  'watch',
  'router',
  'monitor',
  'keyboard',
  'mouse',
  'tablet',
  'charger',
];
const ADJECTIVES = ['smart', 'wireless', 'compact', 'premium', 'classic', 'portable', 'ultra', 'pro', 'mini', 'deluxe'];

/** mulberry32: a small seeded generator (repeatable data; consecutive draws independent enough). */
let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)]!;

function generate(i: number): ItemDocument {
  const brand = pick(BRANDS);
  const noun = pick(NOUNS);
  const adjective = pick(ADJECTIVES);
  const stock = rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 100);
  return {
    item_id: `bench-${i.toString().padStart(7, '0')}`,
    supplier_id: null,
    name: `${brand} ${adjective} ${noun} ${i % 1000}`,
    description: `A ${adjective} ${noun} by ${brand}, in ${pick(COLORS)}, for everyday use.`,
    category: pick(CATEGORIES),
    price: Math.round((1 + rand() * 1999) * 100) / 100,
    stock,
    in_stock: stock > 0,
    attributes: { brand, color: pick(COLORS), warranty: `${1 + Math.floor(rand() * 3)} years` },
    updated_at: new Date().toISOString(),
  };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const cfg = config();
  if (!/_bench$/.test(INDEX)) throw new Error(`BENCH_INDEX must end in _bench (it is dropped): ${INDEX}`);
  const search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, INDEX);

  // 1. Load
  await fetch(`${cfg.SEARCH_URL}/${INDEX}`, { method: 'DELETE' });
  await search.ensureIndex();
  const t = performance.now();
  const CHUNK = 5000;
  for (let i = 0; i < N; i += CHUNK) {
    const docs = Array.from({ length: Math.min(CHUNK, N - i) }, (_, k) => ({ doc: generate(i + k), version: 1 }));
    const out = await search.bulkUpsert(docs);
    if (out.failed.length) throw new Error(`bulk load refused ${out.failed.length}: ${out.failed[0]!.reason}`);
  }
  await search.refresh();
  const loadS = (performance.now() - t) / 1000;
  console.log(
    `load: ${N} items into ${INDEX} (${cfg.SEARCH_ENGINE}) in ${loadS.toFixed(1)} s = ${Math.round(N / loadS)} docs/s`,
  );

  // 2. Query throughput and latency
  const any = <T>(a: readonly T[]) => a[Math.floor(Math.random() * a.length)]!;
  const query = (): SearchQuery => {
    const min = Math.floor(Math.random() * 500);
    return {
      text: any(NOUNS),
      sort: 'price',
      categories: [any(CATEGORIES)],
      attributes: { brand: [any(BRANDS)] },
      minPrice: min,
      maxPrice: min + 1000,
      limit: 20,
      offset: 0,
    };
  };
  for (let i = 0; i < 50; i++) await searchItems(search, query()); // warm up
  const sample = await searchItems(search, {
    text: 'tv',
    sort: 'price',
    categories: ['Electronics'],
    attributes: { brand: ['Sony'] },
    limit: 20,
    offset: 0,
  });
  console.log(
    `sample: "tv" category:Electronics brand:Sony sort=price -> ${sample.total} hits, first ${JSON.stringify(sample.hits[0] ?? null)}`,
  );
  let totalHits = 0;
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let errors = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const q = query();
        const s = performance.now();
        try {
          const r = await searchItems(search, q);
          totalHits += r.total; // (not `x += await ...`: that reads x before the await and loses updates)
          latencies.push(performance.now() - s);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  console.log(
    `query: filtered (category + brand + price range), text "noun", sort=price, limit 20, ${CONCURRENCY} concurrent for ${SECONDS} s: ` +
      `${Math.round(latencies.length / SECONDS)} queries/s, p50 ${fmt(pct(latencies, 50))}, p99 ${fmt(pct(latencies, 99))}, max ${fmt(latencies[latencies.length - 1]!)}, errors ${errors}, mean hits per query ${(totalHits / Math.max(1, latencies.length)).toFixed(1)}`,
  );

  // 3. Index lag after a stock change, through the platform's pipeline into the bench index
  const mysql = createMysql(cfg.MYSQL_URL, 5);
  await migrateMysql(mysql);
  const mongo = createMongo(cfg.MONGO_URL);
  await mongo.connect();
  const redis = createRedis(cfg.REDIS_URL);
  const kafka = createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-bench`);
  await ensureTopics(kafka);
  const producer = await createProducer(kafka);
  const topics = new KafkaTopicDirectory(kafka);
  const relay = new OutboxRelay(mysql, producer, logger, { intervalMs: cfg.OUTBOX_POLL_INTERVAL, topics });
  relay.start();
  const indexer = new SearchIndexer(mysql, mongo.db(), search, logger);
  const consumer = new SearchIndexConsumer(kafka, indexer, logger, {
    groupId: `bench-search-${randomUUID().slice(0, 8)}`,
    fromBeginning: false,
  });
  await consumer.start();
  try {
    const catalog = new CatalogService(mysql, mongo.db(), redis, { cacheTtlMs: 0 });
    const tag = randomUUID().slice(0, 8);
    const category = `BenchLag${tag}`;
    const item = await catalog.create(
      { item_id: `bench-lag-${tag}`, name: `bench lag ${tag}`, category, price: 1, stock: 5 },
      null,
    );
    const visible = async () =>
      (await searchItems(search, { sort: 'relevance', categories: [category], attributes: {}, limit: 1, offset: 0 }))
        .total === 1;
    const waitFor = async (cond: () => Promise<boolean>) => {
      const deadline = Date.now() + 30_000;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error('index lag above 30 s');
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await waitFor(visible);
    const toGet: number[] = [];
    const toSearch: number[] = [];
    for (let round = 0; round < LAG_ROUNDS; round++) {
      const sellOut = round % 2 === 0;
      // A random pause, so changes do not land in step with the index's 1 s refresh cycle.
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 1000)));
      const lines = [{ item_id: item.item_id, quantity: 5 }];
      const s = performance.now();
      await mysql.transaction(async (trx) => {
        if (sellOut) await takeStock(trx, lines);
        else await returnStock(trx, lines);
        await enqueueStockChanged(trx, [item.item_id], sellOut ? 'reserved' : 'released');
      });
      let gotAt = 0;
      await waitFor(async () => {
        if (!gotAt && (await search.get(item.item_id))?.in_stock === !sellOut) gotAt = performance.now();
        return (await visible()) === !sellOut;
      });
      toSearch.push(performance.now() - s);
      toGet.push((gotAt || performance.now()) - s);
    }
    toGet.sort((a, b) => a - b);
    toSearch.sort((a, b) => a - b);
    console.log(
      `index lag after a stock change (${LAG_ROUNDS} rounds, outbox poll ${cfg.OUTBOX_POLL_INTERVAL} ms): ` +
        `indexed (GET by id) p50 ${fmt(pct(toGet, 50))} max ${fmt(toGet[toGet.length - 1]!)}; ` +
        `visible in search p50 ${fmt(pct(toSearch, 50))} p90 ${fmt(pct(toSearch, 90))} max ${fmt(toSearch[toSearch.length - 1]!)}`,
    );
  } finally {
    await consumer.stop();
    await relay.stop();
    await topics.close();
    await Promise.allSettled([producer.disconnect(), mysql.destroy(), mongo.close(), redis.quit(), search.close()]);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    logger.fatal({ err }, 'search benchmark failed');
    process.exit(1);
  },
);

/**
 * The first five minutes: the demo catalog goes into an empty shop only. The empty shop is the test
 * database's twin `<db>_demo` (emptied here first), with a Mongo database and a search index of its own.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../../lib/config';
import { logger } from '../../lib/logger';
import { createMysql } from '../../stores/mysql/client';
import { migrateMysql } from '../../stores/mysql/migrate';
import { createMongo } from '../../stores/mongo/client';
import { createRedis, Redis } from '../../stores/redis/client';
import { createSearch, SearchPort } from '../../stores/search';
import { loadDemoData, DemoStores } from '../../demo/seed';
import { demoCatalog, DEMO_CUSTOMER, DEMO_SELLERS, FLASH_ITEM_ID } from '../../demo/catalog';
import { findUserByEmail } from '../../users/repository';
import { verifyPassword } from '../../users/passwords';
import { makeItem } from '../support/fixtures';
import { searchItems } from '../../search/query';

const cfg = loadConfig(process.env);
const quiet = logger.child({}, { level: 'silent' });
const password = 'demo-test-password';

describe('a shop that holds data', () => {
  let mysql: Knex;
  let mongo: MongoClient;
  let redis: Redis;
  let search: SearchPort;
  beforeAll(async () => {
    mysql = createMysql(cfg.MYSQL_URL, 5);
    mongo = createMongo(cfg.MONGO_URL);
    await mongo.connect();
    redis = createRedis(cfg.REDIS_URL);
    search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, cfg.SEARCH_INDEX);
  });
  afterAll(async () => {
    await Promise.allSettled([mysql.destroy(), mongo.close(), redis.quit(), search.close()]);
  });

  test('is never touched: no user, no item, no detail written', async () => {
    await makeItem(mysql, { stock: 1 });
    const count = async () => ({
      users: Number((await mysql('users').count({ n: '*' }))[0]!.n),
      items: Number((await mysql('items').count({ n: '*' }))[0]!.n),
      details: await mongo.db().collection('items').countDocuments(),
    });
    const before = await count();
    const out = await loadDemoData({ mysql, mongo: mongo.db(), redis, search }, password, quiet);
    expect(out).toEqual({ loaded: false, reason: 'the shop already has items' });
    expect(await count()).toEqual(before);
    expect(await mysql('items').where({ item_id: FLASH_ITEM_ID }).first()).toBeUndefined();
  });
});

describe('an empty shop', () => {
  const url = new URL(cfg.MYSQL_URL);
  url.pathname = `${url.pathname}_demo`;
  const index = `${cfg.SEARCH_INDEX}_demo_${randomUUID().slice(0, 6)}`;
  let mysql: Knex;
  let mongo: MongoClient;
  let redis: Redis;
  let search: SearchPort;
  let stores: DemoStores;

  beforeAll(async () => {
    mysql = createMysql(url.toString(), 10);
    // The scratch database starts empty on every run.
    await mysql.transaction(async (session) => {
      const [tables] = await session.raw('SHOW TABLES');
      await session.raw('SET FOREIGN_KEY_CHECKS = 0');
      for (const t of tables as Record<string, string>[]) await session.raw('DROP TABLE ??', [Object.values(t)[0]]);
      await session.raw('SET FOREIGN_KEY_CHECKS = 1');
    });
    await migrateMysql(mysql);
    const mongoUrl = new URL(cfg.MONGO_URL);
    mongoUrl.pathname = `${mongoUrl.pathname}_demo_${randomUUID().slice(0, 6)}`;
    mongo = createMongo(mongoUrl.toString());
    await mongo.connect();
    redis = createRedis(cfg.REDIS_URL);
    search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, index);
    await search.ensureIndex();
    stores = { mysql, mongo: mongo.db(), redis, search };
  }, 60_000);
  afterAll(async () => {
    await mongo
      .db()
      .dropDatabase()
      .catch(() => undefined);
    await fetch(`${cfg.SEARCH_URL}/${index}`, { method: 'DELETE' }).catch(() => undefined);
    await Promise.allSettled([mysql.destroy(), mongo.close(), redis.quit(), search.close()]);
  });

  test('gets the demo catalog once, even when two starts race: items with details, sellers, a customer, search', async () => {
    const outs = await Promise.all([loadDemoData(stores, password, quiet), loadDemoData(stores, password, quiet)]);
    const loaded = outs.filter((o) => o.loaded);
    expect(loaded).toHaveLength(1);
    expect(outs.find((o) => !o.loaded)).toEqual({ loaded: false, reason: 'the shop already has items' });

    // The catalog is the generated one, the same on every machine: a few hundred items in six categories.
    const expected = demoCatalog();
    expect(expected.length).toBeGreaterThanOrEqual(200);
    const rows: {
      item_id: string;
      category: string;
      supplier_id: string;
      price: number;
      stock: number;
      details_rev: string;
    }[] = await mysql('items').select('item_id', 'category', 'supplier_id', 'price', 'stock', 'details_rev');
    expect(rows.map((r) => r.item_id).sort()).toEqual(expected.map((i) => i.item_id).sort());
    expect(new Set(rows.map((r) => r.category)).size).toBe(6);
    const flash = rows.find((r) => r.item_id === FLASH_ITEM_ID)!;
    expect(flash).toMatchObject({ price: 99, stock: 10 });

    // Every item's details committed in MongoDB, at the revision its row names.
    const docs = await mongo.db().collection('items').find({}).toArray();
    expect(docs).toHaveLength(rows.length);
    const revs = new Map(rows.map((r) => [r.item_id, r.details_rev]));
    expect(
      docs.every(
        (d) =>
          d.pending === false &&
          d.rev === revs.get(d._id as unknown as string) &&
          typeof d.attributes?.brand === 'string',
      ),
    ).toBe(true);

    // Three sellers own the items; the customer and the sellers log in with the demo password.
    const sellers = await Promise.all(DEMO_SELLERS.map((s) => findUserByEmail(mysql, s.email)));
    expect(sellers.map((s) => s?.role)).toEqual(['supplier', 'supplier', 'supplier']);
    expect(new Set(rows.map((r) => r.supplier_id))).toEqual(new Set(sellers.map((s) => s!.user_id)));
    const customer = await findUserByEmail(mysql, DEMO_CUSTOMER.email);
    expect(customer?.role).toBe('customer');
    expect(await verifyPassword(customer!.password_hash, password)).toBe(true);

    // Indexed for search, sold-out demo items excluded.
    const tv = await searchItems(search, {
      text: 'tv',
      sort: 'relevance',
      categories: [],
      attributes: {},
      limit: 100,
      offset: 0,
    });
    expect(tv.total).toBeGreaterThan(0);
    expect(tv.hits.every((h) => h.category === 'Electronics')).toBe(true);
    const all = await searchItems(search, { sort: 'relevance', categories: [], attributes: {}, limit: 1, offset: 0 });
    expect(all.total).toBe(rows.filter((r) => r.stock > 0).length);

    // A second start finds data and leaves it alone.
    expect(await loadDemoData(stores, password, quiet)).toMatchObject({ loaded: false });
    expect(Number((await mysql('items').count({ n: '*' }))[0]!.n)).toBe(rows.length);
  }, 120_000);
});

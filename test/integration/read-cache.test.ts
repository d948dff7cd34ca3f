/**
 * Catalog reads from Redis (issue 12): GET /items/{id} is served from the item cache, yet a stock change (an
 * order, a cancel released by the saga, a restock) and a delisting show at once or within moments; ETag and
 * If-None-Match answer 304; a delisted item leaves the (briefly cached) search results.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { startPlatform, Platform } from '../support/platform';
import { makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { logger } from '../../lib/logger';
import { SearchIndexConsumer, SearchIndexer } from '../../search/indexer';
import { ItemViewEvents } from '../../catalog/item-view-events';
import { ItemViewCache } from '../../catalog/item-views';

let p: Platform;
let indexer: SearchIndexConsumer;
let itemCache: ItemViewEvents;
let supplier: TestUser;
let buyer: TestUser;
const tag = randomUUID().replace(/-/g, '').slice(0, 10);
const word = `rc${tag}`;

beforeAll(async () => {
  p = await startPlatform({ relay: true, env: { ITEM_VIEW_TTL: '10m', SEARCH_CACHE_TTL: '2s' } });
  supplier = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  buyer = await makeUser(p.stores.mysql, p.deps.tokens, 'customer');
  indexer = new SearchIndexConsumer(
    p.stores.kafka,
    new SearchIndexer(p.stores.mysql, p.stores.mongo.db(), p.stores.search, logger),
    logger,
    { groupId: `test-rc-search-${tag}`, fromBeginning: false },
  );
  itemCache = new ItemViewEvents(
    p.stores.kafka,
    new ItemViewCache(p.stores.redis, p.cfg.ITEM_VIEW_TTL),
    logger,
    `test-rc-items-${tag}`,
  );
  await Promise.all([indexer.start(), itemCache.start()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([indexer?.stop(), itemCache?.stop()]);
  await p?.stop();
});

async function newItem(stock: number, name = `Lamp ${word}`): Promise<string> {
  const r = await call(p.baseUrl, 'POST', '/items', {
    token: supplier.token,
    body: { item_id: `rc-${tag}-${randomUUID().slice(0, 6)}`, name, category: 'Cache', price: 12, stock },
  });
  expect(r.status).toBe(201);
  return r.body.item_id;
}
const getItem = (id: string) => call(p.baseUrl, 'GET', `/items/${id}`);
/** A conditional GET as a browser revalidates (fetch() itself adds Cache-Control: no-cache to such requests,
 * which rightly forbids a 304). */
const revalidate = (path: string, etag: string) =>
  new Promise<number>((resolve, reject) => {
    http
      .get(p.baseUrl + path, { headers: { 'if-none-match': etag } }, (res) => resolve(res.resume() && res.statusCode!))
      .on('error', reject);
  });
const cached = (id: string) => p.stores.redis.exists(`item:view:v1:${id.toLowerCase()}`);
/** Reads the item until its cached view outlives the events of the changes so far (each drops it once). */
const warm = (id: string) =>
  eventually(async () => {
    await getItem(id);
    await new Promise((r) => setTimeout(r, 300));
    return (await cached(id)) === 1;
  });

test('an order, a restock and a delisting show on GET /items/{id} at once, though it is served from Redis', async () => {
  const id = await newItem(5);
  expect((await getItem(id)).body.stock).toBe(5);
  await warm(id);
  // Served from the cache: a change MySQL alone knows of (no event, no drop) is not seen...
  await p.stores.mysql.raw('UPDATE items SET stock = 4 WHERE item_id = ?', [id]);
  expect((await getItem(id)).body.stock).toBe(5);
  await p.stores.mysql.raw('UPDATE items SET stock = 5 WHERE item_id = ?', [id]);

  // ...but every change made through the platform is.
  const order = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: id, quantity: 2 }] },
  });
  expect(order.status).toBe(201);
  expect((await getItem(id)).body.stock).toBe(3);

  expect((await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: { stock: 9 } })).status).toBe(
    200,
  );
  expect((await getItem(id)).body.stock).toBe(7); // 9 on hand, 2 held by the open order

  expect(
    (await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: { listed: false } })).status,
  ).toBe(200);
  expect((await getItem(id)).body.listed).toBe(false);
});

test('stock released by the saga (a cancel, in the worker) reaches the cache through the stock events', async () => {
  const id = await newItem(4);
  const order = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: id, quantity: 3 }] },
  });
  expect(order.status).toBe(201);
  expect((await getItem(id)).body.stock).toBe(1);
  await warm(id);
  const cancel = await call(p.baseUrl, 'POST', `/orders/${order.body.order_id}/cancel`, { token: buyer.token });
  expect(cancel.status).toBe(200);
  await eventually(async () => (await getItem(id)).body.stock === 4, 15_000);
});

test('ETag and Cache-Control on GET /items/{id} and /search; If-None-Match answers 304 until the item changes', async () => {
  const id = await newItem(3);
  const first = await getItem(id);
  const etag = first.headers.get('etag');
  expect(etag).toBeTruthy();
  expect(first.headers.get('cache-control')).toMatch(/max-age=\d+/);
  expect(await revalidate(`/items/${id}`, etag!)).toBe(304);
  await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: { price: 13 } });
  expect(await revalidate(`/items/${id}`, etag!)).toBe(200);
  expect((await getItem(id)).body.price).toBe(13);

  const s = await call(p.baseUrl, 'GET', `/search?query=${word}`);
  expect(s.status).toBe(200);
  expect(s.headers.get('cache-control')).toMatch(/max-age=\d+/);
  expect(await revalidate(`/search?query=${word}`, s.headers.get('etag')!)).toBe(304);
});

test('a delisted item leaves the cached search results within the cache window', async () => {
  const name = `Kettle ${word}x`;
  const id = await newItem(5, name);
  const q = `/search?query=${encodeURIComponent(`${word}x`)}`;
  await eventually(
    async () => ((await call(p.baseUrl, 'GET', q)).body as { item_id: string }[]).some((h) => h.item_id === id),
    20_000,
  );
  expect(
    (await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: { listed: false } })).status,
  ).toBe(200);
  const t0 = Date.now();
  await eventually(
    async () => !((await call(p.baseUrl, 'GET', q)).body as { item_id: string }[]).some((h) => h.item_id === id),
    20_000,
  );
  // Indexing plus at most one cache window (SEARCH_CACHE_TTL, 2 s here).
  expect(Date.now() - t0).toBeLessThan(15_000);
});

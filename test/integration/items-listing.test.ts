/**
 * Items (issue 16): picture URLs stored with the details and shown by GET and search; delisting (out of search
 * within seconds, refused by new orders, still named by old ones); deleting an item no order ever took.
 */
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { logger } from '../../lib/logger';
import { SearchIndexConsumer, SearchIndexer } from '../../search/indexer';

let p: Platform;
let consumer: SearchIndexConsumer;
let supplier: TestUser;
let other: TestUser;
let buyer: TestUser;
let admin: TestUser;
const tag = randomUUID().replace(/-/g, '').slice(0, 10);
const word = `zl${tag}`;
const uid = (s: string) => `${s}-${tag}-${randomUUID().slice(0, 4)}`;
const img = (n: number) => `https://cdn.example.com/items/${tag}/${n}.jpg?w=640`;

const found = async (q = word) =>
  ((await call(p.baseUrl, 'GET', `/search?query=${q}&limit=100`)).body as { item_id: string }[]).map((h) => h.item_id);
async function create(body: Record<string, unknown>, token = supplier.token) {
  const r = await call(p.baseUrl, 'POST', '/items', {
    token,
    body: { category: 'Listing', price: 10, stock: 5, ...body },
  });
  expect(r.status).toBe(201);
  return r.body;
}
const order = (itemId: string) =>
  call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: itemId, quantity: 1 }] },
  });

beforeAll(async () => {
  p = await startPlatform({ relay: true });
  supplier = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  other = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  buyer = await makeUser(p.stores.mysql, p.deps.tokens, 'customer');
  admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  const indexer = new SearchIndexer(p.stores.mysql, p.stores.mongo.db(), p.stores.search, logger);
  consumer = new SearchIndexConsumer(p.stores.kafka, indexer, logger, {
    groupId: `test-listing-${tag}`,
    fromBeginning: false,
  });
  await consumer.start();
});
afterAll(async () => {
  await consumer?.stop();
  await p?.stop();
});

describe('images', () => {
  test('are stored with the item details and shown by GET /items/{id} and search; PUT replaces them', async () => {
    const id = uid('img');
    const created = await create({ item_id: id, name: `Camera ${word}`, images: [img(1), img(2)] });
    expect(created.images).toEqual([img(1), img(2)]);
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).body).toMatchObject({
      images: [img(1), img(2)],
      listed: true,
    });
    const doc = await p.stores.mongo
      .db()
      .collection('items')
      .findOne({ _id: id as never });
    expect(doc?.images).toEqual([img(1), img(2)]);
    const hit = await eventually(
      async () =>
        ((await call(p.baseUrl, 'GET', `/search?query=${word}`)).body as { item_id: string; images: string[] }[]).find(
          (h) => h.item_id === id,
        ),
      20_000,
    );
    expect(hit.images).toEqual([img(1), img(2)]);

    const put = await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: { images: [img(3)] } });
    expect(put.status).toBe(200);
    expect(put.body.images).toEqual([img(3)]);
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).body.images).toEqual([img(3)]);
    await eventually(
      async () =>
        ((await call(p.baseUrl, 'GET', `/search?query=${word}`)).body as { item_id: string; images: string[] }[]).find(
          (h) => h.item_id === id && h.images[0] === img(3),
        ),
      20_000,
    );
  });

  test.each([
    ['javascript:alert(1)'],
    ['ftp://example.com/a.jpg'],
    ['not a url'],
    ['https://'],
    ['https://example.com/a b.jpg'],
    [`https://example.com/${'x'.repeat(2100)}`],
  ])('%s is refused (400) and nothing is written', async (bad) => {
    const id = uid('bad');
    const r = await call(p.baseUrl, 'POST', '/items', {
      token: supplier.token,
      body: { item_id: id, name: 'Bad', category: 'Listing', images: [bad] },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(await p.stores.mysql('items').where({ item_id: id }).first()).toBeUndefined();
  });

  test('at most 10', async () => {
    const r = await call(p.baseUrl, 'POST', '/items', {
      token: supplier.token,
      body: { name: 'Many', category: 'Listing', images: Array.from({ length: 11 }, (_, i) => img(i)) },
    });
    expect(r.status).toBe(400);
  });
});

describe('delisting', () => {
  test('a delisted item leaves search within seconds and cannot be ordered (409 item_unlisted); old orders still show it; relisting brings it back', async () => {
    const id = uid('dl');
    await create({ item_id: id, name: `Lamp ${word}`, stock: 5 });
    await eventually(async () => (await found()).includes(id), 20_000);
    const before = await order(id);
    expect(before.status).toBe(201);

    const off = await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: { listed: false } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ item_id: id, listed: false });
    await eventually(async () => !(await found()).includes(id), 10_000);

    const refused = await order(id);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'item_unlisted', details: { item_ids: [id] } });
    expect((await p.stores.mysql('items').where({ item_id: id }).first()).stock).toBe(4); // nothing taken

    // The earlier order still names it, and the item itself can still be read.
    const old = await call(p.baseUrl, 'GET', `/orders/${before.body.order_id}`, { token: buyer.token });
    expect(old.body.items).toEqual([{ item_id: id, quantity: 1, price: 10 }]);
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).body).toMatchObject({ item_id: id, listed: false });

    expect(
      (await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: { listed: true } })).body.listed,
    ).toBe(true);
    await eventually(async () => (await found()).includes(id), 10_000);
    expect((await order(id)).status).toBe(201);
  });

  test('only its supplier or an admin may delist it', async () => {
    const id = uid('dl2');
    await create({ item_id: id, name: 'Chair' });
    expect((await call(p.baseUrl, 'PUT', `/items/${id}`, { token: other.token, body: { listed: false } })).status).toBe(
      403,
    );
    expect((await call(p.baseUrl, 'PUT', `/items/${id}`, { token: buyer.token, body: { listed: false } })).status).toBe(
      403,
    );
    expect(
      (await call(p.baseUrl, 'PUT', `/items/${id}`, { token: admin.token, body: { listed: false } })).body.listed,
    ).toBe(false);
  });
});

describe('deleting', () => {
  test('an item never ordered: its supplier deletes it; it leaves the catalog, MongoDB and search', async () => {
    const id = uid('del');
    await create({ item_id: id, name: `Vase ${word}`, images: [img(9)] });
    await eventually(async () => (await found()).includes(id), 20_000);
    expect((await call(p.baseUrl, 'DELETE', `/items/${id}`, { token: other.token })).status).toBe(403);
    expect((await call(p.baseUrl, 'DELETE', `/items/${id}`, { token: buyer.token })).status).toBe(403);
    const del = await call(p.baseUrl, 'DELETE', `/items/${id}`, { token: supplier.token });
    expect(del.status).toBe(204);
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).status).toBe(404);
    expect(
      await p.stores.mongo
        .db()
        .collection('items')
        .findOne({ _id: id as never }),
    ).toBeNull();
    await eventually(async () => !(await found()).includes(id), 10_000);
    expect((await call(p.baseUrl, 'DELETE', `/items/${id}`, { token: supplier.token })).status).toBe(404);
  });

  test('an item some order took is refused (409 item_ordered), even after the order was canceled; an admin too', async () => {
    const id = uid('ord');
    await create({ item_id: id, name: 'Rug', stock: 3 });
    const o = await order(id);
    expect(o.status).toBe(201);
    expect((await call(p.baseUrl, 'POST', `/orders/${o.body.order_id}/cancel`, { token: buyer.token })).status).toBe(
      200,
    );
    for (const token of [supplier.token, admin.token]) {
      const r = await call(p.baseUrl, 'DELETE', `/items/${id}`, { token });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('item_ordered');
    }
    expect(await p.stores.mysql('items').where({ item_id: id }).first()).toBeDefined();
  });
});

/**
 * The catalog through the API on the real servers: items across MySQL (row: price, stock, existence) and
 * MongoDB (details), the Redis details cache, supplier inventory, the all-or-nothing bulk path, authorization,
 * the revision scheme that hides half-written items and its reconcile, and bad input refused with nothing
 * written.
 */
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { ItemViewCache } from '../../catalog/item-views';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call } from '../support/http';
import { ItemDetailsStore } from '../../catalog/details';
import { CatalogService } from '../../catalog/service';

let p: Platform;
let supplier: TestUser;
let supplier2: TestUser;
let admin: TestUser;
let customer: TestUser;
let details: ItemDetailsStore;
const tag = randomUUID().slice(0, 8);
const uid = (s: string) => `${s}-${tag}-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  p = await startPlatform({ worker: false });
  supplier = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  supplier2 = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  customer = await makeUser(p.stores.mysql, p.deps.tokens, 'customer');
  details = new ItemDetailsStore(p.stores.mongo.db());
});
afterAll(async () => {
  await p.stop();
});

const row = (id: string) => p.stores.mysql('items').where({ item_id: id }).first();
const doc = (id: string) => details.coll.findOne({ _id: id });
const outboxFor = (id: string) => p.stores.mysql('outbox').where({ msg_key: id }).orderBy('id');
/** Creates an item (a price of 0 unless the body names one: an item needs a price). */
async function createItem(body: Record<string, unknown>, token = supplier.token) {
  const r = await call(p.baseUrl, 'POST', '/items', { token, body: { price: 0, ...body } });
  expect(r.status).toBe(201);
  return r.body;
}

describe('CRUD across MySQL and MongoDB', () => {
  test('a supplier creates an item: the row in MySQL, the details in MongoDB, an item.upserted event', async () => {
    const id = uid('tv');
    const body = await createItem({
      item_id: id,
      name: 'Sony 65” TV',
      category: 'Electronics',
      description: 'A 4K TV',
      price: 999.99,
      stock: 5,
      attributes: { brand: 'Sony', resolution: '4K', 'screen size': '65 inches' },
    });
    expect(body).toMatchObject({
      item_id: id,
      supplier_id: supplier.userId,
      name: 'Sony 65” TV',
      category: 'Electronics',
      price: 999.99,
      stock: 5,
      attributes: { brand: 'Sony', resolution: '4K', 'screen size': '65 inches' },
    });

    const r = await row(id);
    expect(r).toMatchObject({ supplier_id: supplier.userId, name: 'Sony 65” TV', price: 999.99, stock: 5, version: 1 });
    const d = await doc(id);
    expect(d).toMatchObject({
      rev: r.details_rev,
      pending: false,
      attributes: { brand: 'Sony', resolution: '4K', 'screen size': '65 inches' },
      supplier_id: supplier.userId,
    });
    const events = await outboxFor(id);
    expect(events.map((e: { topic: string }) => e.topic)).toEqual(['shopflow.items']);
    expect(JSON.parse(events[0].payload)).toMatchObject({ type: 'item.upserted', data: { item_id: id, version: 1 } });

    const got = await call(p.baseUrl, 'GET', `/items/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ ...body, updated_at: expect.any(String) });
  });

  test("the seed's body (no price, no stock) creates an item with stock 0; an id is generated when none is given", async () => {
    const seed = await createItem({
      item_id: uid('seed'),
      name: 'Sony 65” TV',
      category: 'Electronics',
      attributes: { brand: 'Sony', resolution: '4K' },
    });
    expect(seed).toMatchObject({ price: 0, stock: 0 });
    const gen = await createItem({ name: 'Generated', category: 'Test' });
    expect(gen.item_id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await row(gen.item_id)).item_id).toBe(gen.item_id);
  });

  test('PUT changes price, stock (absolute), name and attributes; the events follow; GET shows it all', async () => {
    const id = (
      await createItem({
        item_id: uid('put'),
        name: 'Old name',
        category: 'Audio',
        price: 10,
        stock: 2,
        attributes: { brand: 'Old' },
      })
    ).item_id;
    const before = await row(id);
    const put = await call(p.baseUrl, 'PUT', `/items/${id}`, {
      token: supplier.token,
      body: { price: 899.99, stock: 4, name: 'New name', attributes: { brand: 'Sony', color: 'black' } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      item_id: id,
      name: 'New name',
      price: 899.99,
      stock: 4,
      attributes: { brand: 'Sony', color: 'black' },
    });
    const after = await row(id);
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.details_rev).not.toBe(before.details_rev);
    const d = await doc(id);
    expect(d).toMatchObject({
      rev: after.details_rev,
      prev: { rev: before.details_rev, attributes: { brand: 'Old' } },
    });
    const types = (await outboxFor(id)).map((e: { payload: string }) => JSON.parse(e.payload).type);
    expect(types).toEqual(['item.upserted', 'item.upserted', 'stock.changed']);

    // Price and stock only: the details (and their revision) stay.
    const put2 = await call(p.baseUrl, 'PUT', `/items/${id}`, { token: admin.token, body: { stock: 0 } });
    expect(put2.status).toBe(200);
    expect(put2.body).toMatchObject({ stock: 0, name: 'New name', attributes: { brand: 'Sony', color: 'black' } });
    expect((await row(id)).details_rev).toBe(after.details_rev);
  });

  test('hot reads come from the Redis cache (keyed by revision); a change invalidates; stock as MySQL has it once its event lands', async () => {
    const id = (
      await createItem({
        item_id: uid('hot'),
        name: 'Hot',
        category: 'Test',
        price: 5,
        stock: 9,
        attributes: { brand: 'Cached' },
      })
    ).item_id;
    const rev1 = (await row(id)).details_rev;
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).status).toBe(200);
    expect(JSON.parse((await p.stores.redis.get(`item:details:v2:${id}:${rev1}`))!)).toEqual({
      attributes: { brand: 'Cached' },
      images: [],
    });

    // A reservation made behind the API's back (as the saga does): GET shows MySQL's stock as soon as its
    // stock event drops the cached answer (the item-cache consumer, end to end in read-cache.test.ts).
    await p.stores.mysql.raw('UPDATE items SET stock = stock - 4 WHERE item_id = ? AND stock >= 4', [id]);
    await new ItemViewCache(p.stores.redis, p.cfg.ITEM_VIEW_TTL).drop([id]);
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).body.stock).toBe(5);

    await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: { attributes: { brand: 'Fresh' } } });
    expect(await p.stores.redis.get(`item:details:v2:${id}:${rev1}`)).toBeNull();
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).body.attributes).toEqual({ brand: 'Fresh' });
  });

  test('an item made outside the catalog (no details) reads with empty attributes and can be updated', async () => {
    const id = await makeItem(p.stores.mysql, { stock: 3, supplierId: supplier.userId });
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).body).toMatchObject({
      item_id: id,
      stock: 3,
      attributes: {},
    });
    const put = await call(p.baseUrl, 'PUT', `/items/${id}`, {
      token: supplier.token,
      body: { attributes: { brand: 'Late' } },
    });
    expect(put.body.attributes).toEqual({ brand: 'Late' });
  });

  test('an unknown item is a 404 for GET and PUT', async () => {
    expect((await call(p.baseUrl, 'GET', `/items/${uid('none')}`)).status).toBe(404);
    const r = await call(p.baseUrl, 'PUT', `/items/${uid('none')}`, { token: admin.token, body: { stock: 1 } });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });
});

describe('concurrency', () => {
  test('concurrent PUTs of one item are serialized: MySQL and MongoDB agree on the last one', async () => {
    const id = (
      await createItem({ item_id: uid('race'), name: 'Race', category: 'Test', stock: 1, attributes: { n: 'start' } })
    ).item_id;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(p.baseUrl, 'PUT', `/items/${id}`, {
          token: supplier.token,
          body: { name: `Race ${i}`, attributes: { n: String(i) } },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const r = await row(id);
    const d = await doc(id);
    expect(d).toMatchObject({ rev: r.details_rev, pending: false, name: r.name });
    const got = (await call(p.baseUrl, 'GET', `/items/${id}`)).body;
    expect(`Race ${got.attributes.n}`).toBe(r.name);
    expect(r.version).toBe(9);
  });

  test("a seller's price change never loses a concurrent reservation (no read-modify-write of stock)", async () => {
    const id = (await createItem({ item_id: uid('nolost'), name: 'Busy', category: 'Test', stock: 100, price: 1 }))
      .item_id;
    await Promise.all([
      ...Array.from({ length: 20 }, () =>
        p.stores.mysql.raw('UPDATE items SET stock = stock - 1 WHERE item_id = ? AND stock >= 1', [id]),
      ),
      ...Array.from({ length: 5 }, (_, i) =>
        call(p.baseUrl, 'PUT', `/items/${id}`, {
          token: supplier.token,
          body: { price: 2 + i, attributes: { i: String(i) } },
        }),
      ),
    ]);
    expect((await row(id)).stock).toBe(80);
  });
});

describe('authorization', () => {
  test('writes need a token (401) and the role supplier or admin (403)', async () => {
    expect((await call(p.baseUrl, 'POST', '/items', { body: { name: 'x', category: 'y' } })).status).toBe(401);
    const r = await call(p.baseUrl, 'POST', '/items', { token: customer.token, body: { name: 'x', category: 'y' } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
  });

  test('a supplier changes only its own items; an admin any', async () => {
    const id = (await createItem({ item_id: uid('own'), name: 'Mine', category: 'Test', stock: 1 })).item_id;
    expect(
      (await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier2.token, body: { stock: 100 } })).status,
    ).toBe(403);
    expect((await call(p.baseUrl, 'PUT', `/items/${id}`, { token: customer.token, body: { stock: 100 } })).status).toBe(
      403,
    );
    expect((await row(id)).stock).toBe(1);
    expect((await call(p.baseUrl, 'PUT', `/items/${id}`, { token: admin.token, body: { stock: 7 } })).body.stock).toBe(
      7,
    );
  });

  test('supplier_id: a supplier may not create under another; an admin may, for an existing supplier', async () => {
    expect(
      (
        await call(p.baseUrl, 'POST', '/items', {
          token: supplier.token,
          body: { name: 'x', category: 'y', price: 1, supplier_id: supplier2.userId },
        })
      ).status,
    ).toBe(403);
    const made = await createItem({ name: 'By admin', category: 'Test', supplier_id: supplier2.userId }, admin.token);
    expect(made.supplier_id).toBe(supplier2.userId);
    expect(
      (
        await call(p.baseUrl, 'POST', '/items', {
          token: admin.token,
          body: { name: 'x', category: 'y', price: 1, supplier_id: uid('ghost') },
        })
      ).status,
    ).toBe(404);
    // A user who is not a supplier is no supplier: 404 as for an unknown id.
    expect(
      (
        await call(p.baseUrl, 'POST', '/items', {
          token: admin.token,
          body: { name: 'x', category: 'y', price: 1, supplier_id: customer.userId },
        })
      ).status,
    ).toBe(404);
  });

  test('supplier inventory: the seed shape, for that supplier or an admin only', async () => {
    const s = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
    const a = await createItem({ item_id: uid('inv-a'), name: 'A', category: 'Test', stock: 20 }, s.token);
    const b = await createItem({ item_id: uid('inv-b'), name: 'B', category: 'Test', stock: 10, price: 2.5 }, s.token);
    const mine = await call(p.baseUrl, 'GET', `/suppliers/${s.userId}/inventory`, { token: s.token });
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({
      supplier_id: s.userId,
      items: [
        { item_id: a.item_id, name: 'A', price: 0, stock: 20 },
        { item_id: b.item_id, name: 'B', price: 2.5, stock: 10 },
      ].sort((x, y) => (x.item_id < y.item_id ? -1 : 1)),
    });
    expect(
      (await call(p.baseUrl, 'GET', `/suppliers/${s.userId}/inventory`, { token: admin.token })).body.items,
    ).toHaveLength(2);
    expect(
      (await call(p.baseUrl, 'GET', `/suppliers/${s.userId}/inventory?limit=1&offset=1`, { token: s.token })).body
        .items,
    ).toHaveLength(1);
    expect((await call(p.baseUrl, 'GET', `/suppliers/${s.userId}/inventory`, { token: supplier.token })).status).toBe(
      403,
    );
    expect(
      (await call(p.baseUrl, 'GET', `/suppliers/${customer.userId}/inventory`, { token: customer.token })).status,
    ).toBe(403);
    expect((await call(p.baseUrl, 'GET', `/suppliers/${s.userId}/inventory`)).status).toBe(401);
    expect((await call(p.baseUrl, 'GET', `/suppliers/${uid('ghost')}/inventory`, { token: admin.token })).status).toBe(
      404,
    );
  });
});

describe('bulk: create and restock many items, all or nothing', () => {
  test('creates and restocks in one request; events for every line', async () => {
    const existing = (await createItem({ item_id: uid('bulk-old'), name: 'Old', category: 'Bulk', stock: 1, price: 3 }))
      .item_id;
    const ids = [uid('bulk-1'), uid('bulk-2'), uid('bulk-3')];
    const r = await call(p.baseUrl, 'POST', '/items/bulk', {
      token: supplier.token,
      body: {
        create: ids.map((item_id, i) => ({
          item_id,
          name: `Bulk ${i}`,
          category: 'Bulk',
          price: 10 + i,
          stock: i,
          attributes: { n: String(i) },
        })),
        restock: [{ item_id: existing, stock: 50, price: 4.5 }],
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.created.map((c: { item_id: string }) => c.item_id)).toEqual(ids);
    expect(r.body.restocked).toEqual([{ item_id: existing, stock: 50, price: 4.5 }]);
    for (const [i, id] of ids.entries()) {
      expect(await row(id)).toMatchObject({ stock: i, price: 10 + i, supplier_id: supplier.userId });
      expect(await doc(id)).toMatchObject({ attributes: { n: String(i) }, pending: false });
    }
    expect(await row(existing)).toMatchObject({ stock: 50, price: 4.5 });
    const types = (await outboxFor(existing)).map((e: { payload: string }) => JSON.parse(e.payload).type);
    expect(types).toEqual(['item.upserted', 'item.upserted', 'stock.changed']);
  });

  test('one bad line refuses the whole request and writes nothing (unknown item, foreign item, taken id)', async () => {
    const foreign = (
      await createItem({ item_id: uid('bulk-foreign'), name: 'F', category: 'Bulk', stock: 1 }, supplier2.token)
    ).item_id;
    const mine = (await createItem({ item_id: uid('bulk-mine'), name: 'M', category: 'Bulk', stock: 1 })).item_id;
    const fresh = uid('bulk-new');
    const cases: [Record<string, unknown>, number, string][] = [
      [
        {
          create: [{ item_id: fresh, name: 'N', category: 'Bulk', price: 1 }],
          restock: [
            { item_id: mine, stock: 9 },
            { item_id: uid('ghost'), stock: 1 },
          ],
        },
        404,
        'item_not_found',
      ],
      [
        {
          create: [{ item_id: fresh, name: 'N', category: 'Bulk', price: 1 }],
          restock: [
            { item_id: mine, stock: 9 },
            { item_id: foreign, stock: 1 },
          ],
        },
        403,
        'forbidden',
      ],
      [
        {
          create: [
            { item_id: fresh, name: 'N', category: 'Bulk', price: 1 },
            { item_id: mine, name: 'Taken', category: 'Bulk', price: 1 },
          ],
        },
        409,
        'item_exists',
      ],
      [
        {
          create: [{ item_id: fresh, name: 'N', category: 'Bulk', price: 1 }],
          restock: [{ item_id: fresh.toUpperCase(), stock: 1 }],
        },
        409,
        'duplicate_item',
      ],
      [
        {
          create: [{ item_id: fresh, name: 'N', category: 'Bulk', price: 1 }],
          restock: [{ item_id: mine, stock: -1 }],
        },
        400,
        'invalid_request',
      ],
      [
        {
          create: Array.from({ length: p.cfg.ITEMS_BULK_MAX + 1 }, (_, i) => ({
            name: `x${i}`,
            category: 'Bulk',
            price: 1,
          })),
        },
        400,
        'invalid_request',
      ],
      [
        {
          create: [
            { item_id: fresh, name: 'N', category: 'Bulk', price: 1, attributes: JSON.parse('{"__proto__":"x"}') },
          ],
        },
        400,
        'invalid_request',
      ],
    ];
    for (const [body, status, code] of cases) {
      const r = await call(p.baseUrl, 'POST', '/items/bulk', { token: supplier.token, body });
      expect([r.status, r.body.error?.code]).toEqual([status, code]);
      expect(await row(fresh)).toBeUndefined();
      expect(await doc(fresh)).toBeNull();
      expect(await row(mine)).toMatchObject({ stock: 1 });
      expect(await row(foreign)).toMatchObject({ stock: 1 });
    }
  });
});

describe('no half items: Mongo first, then the MySQL row; reconcile cleans up', () => {
  test('a MySQL failure after the Mongo write leaves no item, and no document', async () => {
    const catalog = new CatalogService(p.stores.mysql, p.stores.mongo.db(), p.stores.redis, { cacheTtlMs: 60_000 });
    const id = uid('half');
    // The supplier does not exist: the row's foreign key fails after the details were staged.
    await expect(
      catalog.create({ item_id: id, name: 'Half', category: 'Test', price: 1, stock: 1 }, uid('nobody')),
    ).rejects.toThrow();
    expect(await row(id)).toBeUndefined();
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).status).toBe(404);
    expect(await doc(id)).toBeNull();
  });

  test('a crash between the writes: the orphan is invisible, and reconcile removes it', async () => {
    const id = uid('orphan');
    await details.stage([
      {
        itemId: id,
        supplierId: null,
        committedRev: null,
        rev: randomUUID(),
        details: { name: 'Orphan', category: 'Test', description: null, attributes: {} },
      },
    ]);
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).status).toBe(404);
    await details.coll.updateOne({ _id: id }, { $set: { staged_at: new Date(Date.now() - 3_600_000) } });
    const report = await details.reconcile(p.stores.mysql, 60_000);
    expect(report.orphansRemoved).toBeGreaterThanOrEqual(1);
    expect(await doc(id)).toBeNull();
  });

  test('an update whose MySQL write never happened: readers keep the committed details; reconcile rolls back', async () => {
    const id = (
      await createItem({
        item_id: uid('rollback'),
        name: 'Kept',
        category: 'Test',
        stock: 1,
        attributes: { brand: 'Committed' },
      })
    ).item_id;
    const committed = (await row(id)).details_rev;
    await details.stage([
      {
        itemId: id,
        supplierId: supplier.userId,
        committedRev: committed,
        rev: randomUUID(),
        details: { name: 'Uncommitted', category: 'Test', description: null, attributes: { brand: 'Uncommitted' } },
      },
    ]);
    await p.stores.redis.del(`item:details:v2:${id}:${committed}`);
    expect((await call(p.baseUrl, 'GET', `/items/${id}`)).body).toMatchObject({
      name: 'Kept',
      attributes: { brand: 'Committed' },
    });
    await details.coll.updateOne({ _id: id }, { $set: { staged_at: new Date(Date.now() - 3_600_000) } });
    const report = await details.reconcile(p.stores.mysql, 60_000);
    expect(report.rolledBack).toBeGreaterThanOrEqual(1);
    expect(await doc(id)).toMatchObject({
      rev: committed,
      attributes: { brand: 'Committed' },
      pending: false,
      prev: null,
    });
  });
});

describe('bad input: a 4xx in the contract format, nothing written', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['an object where a string belongs', { name: { $gt: '' }, category: 'Test' }],
    ['an operator as attribute name', { name: 'x', category: 'Test', attributes: { $where: 'sleep(1000)' } }],
    ['a dotted attribute name', { name: 'x', category: 'Test', attributes: { 'a.b': 'c' } }],
    ['__proto__ as attribute name', JSON.parse('{"name":"x","category":"Test","attributes":{"__proto__":"c"}}')],
    ['an object as attribute value', { name: 'x', category: 'Test', attributes: { brand: { $ne: 1 } } }],
    ['a negative price', { name: 'x', category: 'Test', price: -1 }],
    ['a negative stock', { name: 'x', category: 'Test', stock: -5 }],
    ['a fractional stock', { name: 'x', category: 'Test', stock: 1.5 }],
    ['a price with a tenth of a cent', { name: 'x', category: 'Test', price: 1.005 }],
    ['a 20,000-character name', { name: 'n'.repeat(20_000), category: 'Test' }],
    ['an unknown field', { name: 'x', category: 'Test', stok: 1 }],
    ['a bad item id', { item_id: 'a b/c', name: 'x', category: 'Test' }],
    ['a missing name', { category: 'Test' }],
    [
      'too many attributes',
      {
        name: 'x',
        category: 'Test',
        attributes: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
      },
    ],
  ];
  test.each(bad)('POST /items with %s is a 400', async (_what, body) => {
    const before = await p.stores.mysql('items').where({ supplier_id: supplier.userId }).count({ n: '*' });
    const r = await call(p.baseUrl, 'POST', '/items', { token: supplier.token, body });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', message: expect.any(String) });
    const after = await p.stores.mysql('items').where({ supplier_id: supplier.userId }).count({ n: '*' });
    expect(after).toEqual(before);
  });

  test('PUT with bad values is a 400 and changes nothing', async () => {
    const id = (await createItem({ item_id: uid('badput'), name: 'Stable', category: 'Test', stock: 3, price: 1 }))
      .item_id;
    const version = (await row(id)).version;
    for (const body of [
      { stock: -1 },
      { price: -0.01 },
      { price: '5' },
      { stock: { $inc: 1 } },
      { attributes: { $set: 'x' } },
      { name: '' },
      { name: '   ' },
      { name: 'tab\there' },
      { item_id: 'other' },
    ]) {
      const r = await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body });
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), 400]);
    }
    expect(await row(id)).toMatchObject({ stock: 3, price: 1, name: 'Stable', version });
  });

  test('an empty PUT or an empty bulk changes nothing and says so (200, no event)', async () => {
    const id = (await createItem({ item_id: uid('noop'), name: 'Same', category: 'Test', stock: 2 })).item_id;
    const before = await row(id);
    const events = (await outboxFor(id)).length;
    const r = await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body: {} });
    expect([r.status, r.body.stock]).toEqual([200, 2]);
    expect((await call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier2.token, body: {} })).status).toBe(403);
    expect((await call(p.baseUrl, 'POST', '/items/bulk', { token: supplier.token, body: {} })).body).toEqual({
      created: [],
      restocked: [],
    });
    expect(
      (await call(p.baseUrl, 'POST', '/items/bulk', { token: supplier.token, body: { restock: [{ item_id: id }] } }))
        .body,
    ).toEqual({ created: [], restocked: [{ item_id: id, stock: 2, price: 0 }] });
    expect((await row(id)).version).toBe(before.version);
    expect((await outboxFor(id)).length).toBe(events);
  });

  test('a JSON body that is not JSON, or an id that is too long, is a 400', async () => {
    expect((await call(p.baseUrl, 'POST', '/items', { token: supplier.token, rawBody: '{"name":' })).status).toBe(400);
    expect((await call(p.baseUrl, 'GET', `/items/${'x'.repeat(51)}`)).status).toBe(400);
  });
});

/**
 * Shipping addresses (issue 16): a user's saved addresses; orders and checkout need one (given whole or by
 * address_id); it is stored on the order, shown by GET /orders/{id}, carried in the order events, and
 * archived to Cassandra with the order.
 */
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, stockOf, TestUser } from '../support/fixtures';
import { call, eventually, TEST_SHIPMENT } from '../support/http';

let p: Platform;
let buyer: TestUser;
let other: TestUser;
let admin: TestUser;
const ada = {
  name: 'Ada Lovelace',
  line1: '12 Rue de Rivoli',
  line2: 'Bât. B',
  city: 'Paris',
  region: 'Île-de-France',
  postal_code: '75004',
  country: 'FR',
  phone: '+33 1 23 45 67 89',
};
const bob = { name: 'Bob Buyer', line1: '5 Main St', city: 'Austin', postal_code: '78701', country: 'US' };

beforeAll(async () => {
  p = await startPlatform({ env: { ORDER_PAYMENT_TIMEOUT: '60s' } });
  buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  other = await makeUser(p.stores.mysql, p.deps.tokens);
  admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
});
afterAll(async () => {
  await p?.stop();
});

const addresses = (u: TestUser, token = u.token) => call(p.baseUrl, 'GET', `/users/${u.userId}/addresses`, { token });
const save = (u: TestUser, body: unknown, token = u.token) =>
  call(p.baseUrl, 'POST', `/users/${u.userId}/addresses`, { token, body });
const place = (u: TestUser, item: string, extra: Record<string, unknown>) =>
  call(p.baseUrl, 'POST', '/orders', {
    token: u.token,
    body: { user_id: u.userId, items: [{ item_id: item, quantity: 1 }], ...extra },
  });
const ordersOf = async (u: TestUser) =>
  Number((await p.stores.mysql('orders').where({ user_id: u.userId }).count({ n: '*' }))[0]!.n);

describe('saved addresses', () => {
  test('the user saves, lists and deletes them; an admin may too; anyone else may not', async () => {
    const u = await makeUser(p.stores.mysql, p.deps.tokens);
    expect((await addresses(u)).body).toEqual([]);
    const a = await save(u, ada);
    expect(a.status).toBe(201);
    expect(a.body).toEqual({ ...ada, address_id: expect.stringMatching(/^a-/), created_at: expect.any(String) });
    const b = await save(u, bob, admin.token);
    expect(b.status).toBe(201);
    expect((await addresses(u)).body.map((x: { address_id: string }) => x.address_id)).toEqual([
      a.body.address_id,
      b.body.address_id,
    ]);
    expect((await addresses(u, other.token)).status).toBe(403);
    expect((await save(u, bob, other.token)).status).toBe(403);
    expect(
      (await call(p.baseUrl, 'DELETE', `/users/${u.userId}/addresses/${a.body.address_id}`, { token: other.token }))
        .status,
    ).toBe(403);
    // Another user's address id is not found under this user.
    expect(
      (await call(p.baseUrl, 'DELETE', `/users/${other.userId}/addresses/${a.body.address_id}`, { token: other.token }))
        .status,
    ).toBe(404);
    expect(
      (await call(p.baseUrl, 'DELETE', `/users/${u.userId}/addresses/${a.body.address_id}`, { token: u.token })).status,
    ).toBe(204);
    expect((await addresses(u)).body.map((x: { address_id: string }) => x.address_id)).toEqual([b.body.address_id]);
    expect(
      (await call(p.baseUrl, 'DELETE', `/users/${u.userId}/addresses/${a.body.address_id}`, { token: u.token })).status,
    ).toBe(404);
    expect(
      (await call(p.baseUrl, 'GET', `/users/u-nobody-${randomUUID()}/addresses`, { token: admin.token })).status,
    ).toBe(404);
  });

  test.each([
    ['an unknown country', { ...bob, country: 'XX' }],
    ['a lower-case country', { ...bob, country: 'us' }],
    ['an alpha-3 country', { ...bob, country: 'USA' }],
    ['no city', { name: 'x', line1: 'y', postal_code: '1', country: 'US' }],
    ['an empty line1', { ...bob, line1: '  ' }],
    ['a control character', { ...bob, line1: 'a\u0000b' }],
    ['an unknown field', { ...bob, floor: '3' }],
    ['a bad phone', { ...bob, phone: 'call me' }],
    ['an operator', { ...bob, city: { $ne: '' } }],
  ])('%s is refused (400) and nothing saved', async (_what, body) => {
    const u = await makeUser(p.stores.mysql, p.deps.tokens);
    const r = await save(u, body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect((await addresses(u)).body).toEqual([]);
  });

  test('at most 20 per user, even when saved all at once (409 limit_reached)', async () => {
    const u = await makeUser(p.stores.mysql, p.deps.tokens);
    const rs = await Promise.all(Array.from({ length: 24 }, () => save(u, bob)));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(20);
    expect(rs.filter((r) => r.status === 409).every((r) => r.body.error.code === 'limit_reached')).toBe(true);
    expect((await addresses(u)).body).toHaveLength(20);
  });
});

describe('orders ship somewhere', () => {
  test('an order without an address, or with both forms, is 400 and reserves nothing', async () => {
    const u = await makeUser(p.stores.mysql, p.deps.tokens);
    const item = await makeItem(p.stores.mysql, { stock: 3 });
    const saved = await save(u, bob);
    for (const extra of [
      { shipping_address: undefined },
      { shipping_address: ada, address_id: saved.body.address_id },
    ]) {
      const r = await place(u, item, extra);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('shipping address is required');
    }
    expect(await stockOf(p.stores.mysql, item)).toBe(3);
    expect(await ordersOf(u)).toBe(0);
  });

  test("address_id must be one of the buyer's own (404 address_not_found)", async () => {
    const item = await makeItem(p.stores.mysql, { stock: 3 });
    const others = await save(other, bob);
    const r = await place(buyer, item, { shipping_address: undefined, address_id: others.body.address_id });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('address_not_found');
    expect(await stockOf(p.stores.mysql, item)).toBe(3);
  });

  test('given whole or by address_id, the address is on the order, in GET /orders/{id} and in its events; a later change of the saved address does not move the order', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 5, price: 12 });
    const whole = await place(buyer, item, { shipping_address: ada });
    expect(whole.status).toBe(201);
    expect(whole.body.shipping_address).toEqual(ada);

    const saved = await save(buyer, bob);
    const byId = await place(buyer, item, { shipping_address: undefined, address_id: saved.body.address_id });
    expect(byId.status).toBe(201);
    expect(byId.body.shipping_address).toEqual(bob);
    await call(p.baseUrl, 'DELETE', `/users/${buyer.userId}/addresses/${saved.body.address_id}`, {
      token: buyer.token,
    });
    expect(
      (await call(p.baseUrl, 'GET', `/orders/${byId.body.order_id}`, { token: buyer.token })).body.shipping_address,
    ).toEqual(bob);

    // The events carry the order view, address included (order.created now, order.placed once paid).
    await eventually(
      async () =>
        (await call(p.baseUrl, 'GET', `/orders/${whole.body.order_id}`, { token: buyer.token })).body.status ===
        'placed',
    );
    const events = (await p.stores.mysql('outbox').where({ msg_key: whole.body.order_id }).orderBy('id')).map(
      (e: { payload: string }) => JSON.parse(e.payload),
    );
    expect(events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['order.created', 'order.placed']),
    );
    for (const e of events) expect(e.data.shipping_address).toEqual(ada);
  });

  test('the same Idempotency-Key with another address is refused (422)', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 5 });
    const headers = { 'idempotency-key': `k-${randomUUID()}` };
    const body = { user_id: buyer.userId, items: [{ item_id: item, quantity: 1 }], shipping_address: ada };
    expect((await call(p.baseUrl, 'POST', '/orders', { token: buyer.token, body, headers })).status).toBe(201);
    expect((await call(p.baseUrl, 'POST', '/orders', { token: buyer.token, body, headers })).status).toBe(200);
    expect(
      (
        await call(p.baseUrl, 'POST', '/orders', {
          token: buyer.token,
          body: { ...body, shipping_address: bob },
          headers,
        })
      ).status,
    ).toBe(422);
  });

  test('cart checkout takes the address the same way; without one it is 400 and the cart stays', async () => {
    const u = await makeUser(p.stores.mysql, p.deps.tokens);
    const item = await makeItem(p.stores.mysql, { stock: 5 });
    expect(
      (
        await call(p.baseUrl, 'POST', `/users/${u.userId}/cart`, {
          token: u.token,
          body: { item_id: item, quantity: 2 },
        })
      ).status,
    ).toBe(201);
    const none = await call(p.baseUrl, 'POST', `/users/${u.userId}/cart/checkout`, {
      token: u.token,
      body: { shipping_address: undefined },
    });
    expect(none.status).toBe(400);
    expect((await call(p.baseUrl, 'GET', `/users/${u.userId}/cart`, { token: u.token })).body).toHaveLength(1);
    const saved = await save(u, ada);
    const ok = await call(p.baseUrl, 'POST', `/users/${u.userId}/cart/checkout`, {
      token: u.token,
      body: { address_id: saved.body.address_id },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.shipping_address).toEqual(ada);
    expect((await call(p.baseUrl, 'GET', `/users/${u.userId}/cart`, { token: u.token })).body).toEqual([]);
  });

  test('the address is archived to Cassandra with the order and shown from there', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 5 });
    const o = await place(buyer, item, { shipping_address: ada });
    const id = o.body.order_id as string;
    await eventually(
      async () => (await call(p.baseUrl, 'GET', `/orders/${id}`, { token: buyer.token })).body.status === 'placed',
    );
    expect(
      (await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin.token, body: TEST_SHIPMENT })).status,
    ).toBe(200);
    expect((await call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: admin.token })).status).toBe(200);
    await eventually(async () => !(await p.stores.mysql('orders').where({ order_id: id }).first()), 30_000);
    const row = (
      await p.stores.cassandra.execute('SELECT shipping_address FROM orders_by_id WHERE order_id = ?', [id], {
        prepare: true,
      })
    ).first();
    expect(JSON.parse(row!.shipping_address)).toEqual(ada);
    const got = await call(p.baseUrl, 'GET', `/orders/${id}`, { token: buyer.token });
    expect(got.body).toMatchObject({ order_id: id, status: 'delivered', shipping_address: ada });
  });
});

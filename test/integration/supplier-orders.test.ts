/** A seller's orders (issue 16): GET /suppliers/{id}/orders lists the live orders holding that seller's items,
 * with that seller's lines only; the seller themself or an admin. */
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually, TEST_ADDRESS } from '../support/http';

let p: Platform;
let s1: TestUser;
let s2: TestUser;
let buyer: TestUser;
let admin: TestUser;
let a: string;
let b: string;
let c: string;
let mixed: string;
let onlyB: string;

const list = (s: TestUser, qs = '', token = s.token) =>
  call(p.baseUrl, 'GET', `/suppliers/${s.userId}/orders${qs}`, { token });
async function placed(items: string[]): Promise<string> {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: items.map((item_id) => ({ item_id, quantity: 2 })) },
  });
  expect(r.status).toBe(201);
  await eventually(
    async () =>
      (await call(p.baseUrl, 'GET', `/orders/${r.body.order_id}`, { token: buyer.token })).body.status === 'placed',
  );
  return r.body.order_id;
}

beforeAll(async () => {
  p = await startPlatform({ env: { ORDER_PAYMENT_TIMEOUT: '60s' } });
  [s1, s2, buyer, admin] = await Promise.all([
    makeUser(p.stores.mysql, p.deps.tokens, 'supplier'),
    makeUser(p.stores.mysql, p.deps.tokens, 'supplier'),
    makeUser(p.stores.mysql, p.deps.tokens),
    makeUser(p.stores.mysql, p.deps.tokens, 'admin'),
  ]);
  a = await makeItem(p.stores.mysql, { stock: 10, price: 5, supplierId: s1.userId });
  b = await makeItem(p.stores.mysql, { stock: 10, price: 7, supplierId: s2.userId });
  c = await makeItem(p.stores.mysql, { stock: 10, price: 1.5, supplierId: s1.userId });
  mixed = await placed([a, b, c]);
  onlyB = await placed([b]);
});
afterAll(async () => {
  await p?.stop();
});

test('a seller sees the orders holding their items, with their lines only, the address and their subtotal', async () => {
  const r1 = await list(s1, '?status=placed');
  expect(r1.status).toBe(200);
  expect(r1.body).toEqual({
    orders: [
      {
        order_id: mixed,
        user_id: buyer.userId,
        status: 'placed',
        shipping_address: TEST_ADDRESS,
        items: [a, c].sort().map((id) => ({ item_id: id, quantity: 2, price: id === a ? 5 : 1.5 })),
        subtotal: 13,
        shipment: null,
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ],
    next_cursor: null,
  });
  const r2 = await list(s2, '?status=placed');
  expect(r2.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([onlyB, mixed]); // newest first
  expect(r2.body.orders[1].items).toEqual([{ item_id: b, quantity: 2, price: 7 }]);
  expect((await list(s1, '?status=delivered')).body).toEqual({ orders: [], next_cursor: null });
});

test('pages by cursor', async () => {
  const first = await list(s2, '?limit=1');
  expect(first.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([onlyB]);
  const second = await list(s2, `?limit=1&cursor=${first.body.next_cursor}`);
  expect(second.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([mixed]);
  expect(second.body.next_cursor).toBeNull();
});

test('the seller themself or an admin; others 403; an unknown supplier 404; bad input 400', async () => {
  expect((await list(s1, '', s2.token)).status).toBe(403);
  expect((await list(s1, '', buyer.token)).status).toBe(403);
  expect((await list(s1, '', admin.token)).body.orders).toHaveLength(1);
  expect(
    (await call(p.baseUrl, 'GET', `/suppliers/u-none-${randomUUID()}/orders`, { token: admin.token })).status,
  ).toBe(404);
  expect((await call(p.baseUrl, 'GET', `/suppliers/${buyer.userId}/orders`, { token: admin.token })).status).toBe(404); // a customer is no supplier
  expect((await list(s1, '?status=shipped')).status).toBe(400);
  expect((await list(s1, '?cursor=not-ours')).status).toBe(400);
  expect((await call(p.baseUrl, 'GET', `/suppliers/${s1.userId}/orders`)).status).toBe(401);
});

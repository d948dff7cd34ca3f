/**
 * Flash sale: many buyers hit the last units at once through the HTTP API. Nobody buys stock that is not there,
 * nobody gets a 5xx, and multi-item orders that cross each other's items neither deadlock nor hold part of an order.
 */
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, stockOf, TestUser } from '../support/fixtures';
import { call } from '../support/http';

let p: Platform;
let buyers: TestUser[];

beforeAll(async () => {
  p = await startPlatform({ env: { MYSQL_POOL_MAX: '60' } });
  buyers = [];
  for (let i = 0; i < 200; i++) buyers.push(await makeUser(p.stores.mysql, p.deps.tokens));
}, 300_000);
afterAll(async () => {
  await p?.stop();
});

test('200 concurrent buyers for 10 units: exactly 10 orders, stock 0, the rest 409, no 5xx', async () => {
  const item = await makeItem(p.stores.mysql, { stock: 10, price: 249 });
  const results = await Promise.all(
    buyers.map((b) =>
      call(p.baseUrl, 'POST', '/orders', {
        token: b.token,
        body: { user_id: b.userId, items: [{ item_id: item, quantity: 1 }] },
      }),
    ),
  );
  const byStatus = results.reduce<Record<number, number>>(
    (acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }),
    {},
  );
  expect(byStatus).toEqual({ 201: 10, 409: 190 });
  expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'out_of_stock')).toBe(true);
  expect(await stockOf(p.stores.mysql, item)).toBe(0);
  const sold = await p.stores.mysql('order_items').where({ item_id: item }).sum({ n: 'quantity' }).first();
  expect(Number(sold!.n)).toBe(10);
}, 120_000);

test("orders crossing each other's items: no deadlock, all or nothing per order, stock adds up", async () => {
  const a = await makeItem(p.stores.mysql, { stock: 30 });
  const b = await makeItem(p.stores.mysql, { stock: 30 });
  const c = await makeItem(p.stores.mysql, { stock: 30 });
  // Three orders per buyer-slot in opposite item orders; 120 orders want 2 units of two items each.
  const shapes = [
    [a, b],
    [b, a],
    [c, a],
    [b, c],
  ];
  const results = await Promise.all(
    buyers.slice(0, 120).map((u, i) =>
      call(p.baseUrl, 'POST', '/orders', {
        token: u.token,
        body: { user_id: u.userId, items: shapes[i % shapes.length]!.map((item_id) => ({ item_id, quantity: 2 })) },
      }),
    ),
  );
  expect(results.filter((r) => r.status >= 500)).toEqual([]);
  expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
  const accepted = results.filter((r) => r.status === 201).map((r) => r.body.order_id as string);
  expect(accepted.length).toBeGreaterThan(0);
  // Every accepted order holds both of its lines; every refused one holds nothing.
  const lines = await p.stores
    .mysql('order_items')
    .whereIn('order_id', accepted)
    .select('order_id', 'item_id', 'quantity');
  expect(lines.length).toBe(accepted.length * 2);
  for (const item of [a, b, c]) {
    const held = lines.filter((l) => l.item_id === item).reduce((n, l) => n + Number(l.quantity), 0);
    expect(held).toBeLessThanOrEqual(30);
    expect(await stockOf(p.stores.mysql, item)).toBe(30 - held);
  }
}, 120_000);

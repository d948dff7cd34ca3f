/**
 * The reservation's last step on the real MySQL (stock/levels.ts takeStockAndCommit, migration 061): the stock
 * take and the commit in one round trip, all lines or none, and a short line leaves nothing behind. And the same
 * procedure without the commit (takeStock, for a step that writes more after it).
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { createUser } from '../../users/repository';
import { reserveOrder, ReservationInput } from '../../orders/reservation';
import { takeStock, takeStockAndCommit } from '../../stock/levels';
import { makeItem, stockOf } from '../support/fixtures';
import { loadOrder } from '../../orders/repository';
import { TEST_ADDRESS } from '../support/http';

const mysql = createMysql(loadConfig(process.env).MYSQL_URL);
afterAll(() => mysql.destroy());

let userId: string;
beforeAll(async () => {
  const u = await createUser(mysql, {
    name: 'Reservation test',
    email: `reservation-${randomUUID()}@test.shopflow.dev`,
    password: 'correct horse battery',
    role: 'customer',
    supplierApproved: true,
  });
  userId = u.user_id;
});

const input = (lines: { item_id: string; quantity: number }[]): ReservationInput => ({
  orderId: `o-${randomUUID()}`,
  userId,
  lines,
  paymentMethod: 'pm_card_visa',
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
});

test('every line taken: the order and its stock are committed when the step returns, before knex commits', async () => {
  const a = await makeItem(mysql, { stock: 5 });
  const b = await makeItem(mysql, { stock: 5 });
  let seenFromOutside: number | undefined;
  await mysql.transaction(async (trx) => {
    await trx('items').where({ item_id: a }).update({ name: 'touched in the transaction' });
    expect(
      await takeStockAndCommit(trx, [
        { item_id: b, quantity: 1 },
        { item_id: a, quantity: 2 },
      ]),
    ).toEqual([]);
    // Another connection already sees the transaction's writes: no lock was left waiting for our COMMIT.
    seenFromOutside = await stockOf(mysql, a);
    const renamed = await mysql('items').select('name').where({ item_id: a }).first();
    expect(renamed.name).toBe('touched in the transaction');
  });
  expect(seenFromOutside).toBe(3);
  expect(await stockOf(mysql, b)).toBe(4);
});

test('one line short: nothing is committed, the short line is named with what is left', async () => {
  const a = await makeItem(mysql, { stock: 5 });
  const b = await makeItem(mysql, { stock: 1 });
  const req = input([
    { item_id: a, quantity: 2 },
    { item_id: b, quantity: 3 },
  ]);
  // `fresh` skips the lock-free look the API made before: the stock runs short at the UPDATE, as in a race.
  const r = await reserveOrder(mysql, req, { fresh: true });
  expect(r).toEqual({ ok: false, shortages: [{ item_id: b, requested: 3, available: 1 }] });
  expect(await stockOf(mysql, a)).toBe(5);
  expect(await stockOf(mysql, b)).toBe(1);
  expect(await mysql('orders').where({ order_id: req.orderId }).first()).toBeUndefined();
  expect(await mysql('order_items').where({ order_id: req.orderId }).first()).toBeUndefined();
  // Neither the order's event nor the stock events of its lines were left in the outbox.
  expect(await mysql('outbox').whereIn('msg_key', [req.orderId, a, b]).first()).toBeUndefined();
});

test('the reserved order answered is the order stored, and its order.created event carries the same', async () => {
  const a = await makeItem(mysql, { stock: 5, price: 12.34 });
  const b = await makeItem(mysql, { stock: 5, price: 0.1 });
  const req = {
    ...input([
      { item_id: b, quantity: 3 },
      { item_id: a, quantity: 2 },
      { item_id: b, quantity: 1 },
    ]),
    shippingAddress: TEST_ADDRESS,
  };
  const r = await reserveOrder(mysql, req, { fresh: true });
  if (!r.ok) throw new Error('not reserved');
  const stored = await loadOrder(mysql, req.orderId);
  expect(r.order).toEqual(stored);
  expect(r.order).toMatchObject({
    status: 'created',
    total_price: 25.08,
    items: expect.arrayContaining([
      { item_id: a, quantity: 2, price: 12.34 },
      { item_id: b, quantity: 4, price: 0.1 },
    ]),
    shipments: [],
  });
  const events = await mysql('outbox').where('msg_key', req.orderId).orWhereIn('msg_key', [a, b]).orderBy('id');
  const payloads = events.map((e) => JSON.parse(e.payload));
  expect(payloads.map((m) => m.type)).toEqual(['order.created', 'stock.changed', 'stock.changed']);
  expect(payloads[0].data).toEqual(JSON.parse(JSON.stringify(stored)));
});

test('a delisted item is never taken: short with nothing available', async () => {
  const a = await makeItem(mysql, { stock: 5 });
  await mysql('items').where({ item_id: a }).update({ listed: 0 });
  const r = await reserveOrder(mysql, input([{ item_id: a, quantity: 1 }]), { fresh: true });
  expect(r).toEqual({ ok: false, shortages: [{ item_id: a, requested: 1, available: 0 }] });
  expect(await stockOf(mysql, a)).toBe(5);
});

test('50 reservations of the last 20 units at once: exactly 20 orders, stock 0, each order whole', async () => {
  const a = await makeItem(mysql, { stock: 20 });
  const results = await Promise.all(
    Array.from({ length: 50 }, () => reserveOrder(mysql, input([{ item_id: a, quantity: 1 }]), { fresh: true })),
  );
  const won = results.filter((r) => r.ok);
  expect(won).toHaveLength(20);
  expect(await stockOf(mysql, a)).toBe(0);
  const held = await mysql('order_items').where({ item_id: a }).sum({ n: 'quantity' }).first();
  expect(Number(held!.n)).toBe(20);
});

test('takeStock (no commit): the transaction goes on, and nothing is seen outside it until it commits', async () => {
  const a = await makeItem(mysql, { stock: 5 });
  let seenInside: number | undefined;
  let seenOutside: number | undefined;
  await mysql.transaction(async (trx) => {
    expect(await takeStock(trx, [{ item_id: a, quantity: 2 }])).toEqual([]);
    seenInside = (await trx('items').select('stock').where({ item_id: a }).first()).stock;
    seenOutside = (await mysql('items').select('stock').where({ item_id: a }).first()).stock; // a read, no lock
    await trx('items').where({ item_id: a }).update({ name: 'written after the take' });
  });
  expect([seenInside, seenOutside]).toEqual([3, 5]);
  expect(await stockOf(mysql, a)).toBe(3);
  // A short line: reported with what is left, and nothing of the take survives the caller's rollback.
  const b = await makeItem(mysql, { stock: 1 });
  await expect(
    mysql.transaction(async (trx) => {
      const short = await takeStock(trx, [
        { item_id: a, quantity: 1 },
        { item_id: b, quantity: 2 },
      ]);
      expect(short).toEqual([{ item_id: b, requested: 2, available: 1 }]);
      throw new Error('rolled back');
    }),
  ).rejects.toThrow('rolled back');
  expect([await stockOf(mysql, a), await stockOf(mysql, b)]).toEqual([3, 1]);
});

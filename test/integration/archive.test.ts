/**
 * After the sale, on the real servers: finished orders move from MySQL to the Cassandra archive through the
 * saga's last step, stay readable wherever they are, and the orders view merges both stores.
 */
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, reserveUnstarted, stockOf, TestUser } from '../support/fixtures';
import { call, eventually, TEST_SHIPMENT } from '../support/http';
import { OrderArchive } from '../../orders/archive';
import { applyTransition } from '../../orders/repository';
import { ArchiveSweeper } from '../../orders/archive-sweeper';
import { logger } from '../../lib/logger';

let p: Platform;
let admin: TestUser;
let archive: OrderArchive;

beforeAll(async () => {
  p = await startPlatform({ env: { ORDER_PAYMENT_TIMEOUT: '60s', ORDER_LATE_PAYMENT_WINDOW: '10s' } });
  admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  archive = new OrderArchive(p.stores.cassandra, p.stores.mysql);
});
afterAll(async () => {
  await p?.stop();
});

const place = async (u: TestUser, item: string, method = 'pm_card_visa', headers: Record<string, string> = {}) => {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: u.token,
    body: { user_id: u.userId, items: [{ item_id: item, quantity: 1 }], payment_method: method },
    headers,
  });
  expect([200, 201]).toContain(r.status);
  return r.body.order_id as string;
};
const getOrder = (u: TestUser, id: string) => call(p.baseUrl, 'GET', `/orders/${id}`, { token: u.token });
const inMysql = async (id: string) => (await p.stores.mysql('orders').where({ order_id: id }).first()) !== undefined;
const archivedRow = async (id: string) =>
  (await p.stores.cassandra.execute('SELECT * FROM orders_by_id WHERE order_id = ?', [id], { prepare: true })).first();
const waitArchived = (id: string) => eventually(async () => !(await inMysql(id)) && (await archivedRow(id)), 30_000);
const statusIs = (u: TestUser, id: string, status: string) =>
  eventually(async () => (await getOrder(u, id)).body.status === status, 20_000);
const listAll = async (u: TestUser, query = '', limit = 2) => {
  const ids: string[] = [];
  const statuses: string[] = [];
  let cursor: string | null = null;
  do {
    const r: { status: number; body: any } = await call(
      p.baseUrl,
      'GET',
      `/users/${u.userId}/orders?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`,
      { token: u.token },
    );
    expect(r.status).toBe(200);
    expect(r.body.orders.length).toBeLessThanOrEqual(limit);
    ids.push(...r.body.orders.map((o: { order_id: string }) => o.order_id));
    statuses.push(...r.body.orders.map((o: { status: string }) => o.status));
    cursor = r.body.next_cursor;
  } while (cursor);
  return { ids, statuses };
};

test('the full life through the API: placed, shipped, delivered, then archived to Cassandra and gone from MySQL', async () => {
  const buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 4, price: 21.5 });
  const id = await place(buyer, item);
  await statusIs(buyer, id, 'placed');
  expect(
    (await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin.token, body: TEST_SHIPMENT })).body.status,
  ).toBe('in_transit');
  const delivered = await call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: admin.token });
  expect(delivered.status).toBe(200);
  expect(delivered.body.status).toBe('delivered');

  const row = await waitArchived(id);
  expect(row!.user_id).toBe(buyer.userId);
  expect(row!.status).toBe('delivered');
  expect(
    row!.items.map((l: { item_id: string; quantity: number; price: unknown }) => [
      l.item_id,
      l.quantity,
      Number(String(l.price)),
    ]),
  ).toEqual([[item, 1, 21.5]]);
  expect(row!.history.map((h: { status: string }) => h.status)).toEqual([
    'created',
    'placed',
    'in_transit',
    'delivered',
  ]);
  expect(await p.stores.mysql('order_items').where({ order_id: id })).toHaveLength(0); // lines left with the order
  expect(await p.stores.mysql('order_status_history').where({ order_id: id })).toHaveLength(0);

  // Still there for the buyer, by id and in the list, exactly as before; nobody else sees it.
  const got = await getOrder(buyer, id);
  expect(got.status).toBe(200);
  expect(got.body).toMatchObject({
    order_id: id,
    status: 'delivered',
    total_price: 21.5,
    payment_status: 'succeeded',
    items: [{ item_id: item, quantity: 1, price: 21.5 }],
  });
  expect(Object.keys(got.body).sort()).toEqual(Object.keys(delivered.body).sort());
  const stranger = await makeUser(p.stores.mysql, p.deps.tokens);
  expect((await getOrder(stranger, id)).status).toBe(404);
  expect((await listAll(buyer)).ids).toEqual([id]);
  // A finished, archived order moves no further.
  const again = await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin.token, body: TEST_SHIPMENT });
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('invalid_transition');
  expect((await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: buyer.token })).status).toBe(409);
  expect(await stockOf(p.stores.mysql, item)).toBe(3);
});

test('canceled orders are archived too: a decline, and a customer cancel; their stock is back', async () => {
  const buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 2 });
  const declined = await place(buyer, item, 'pm_card_chargeDeclined');
  const waiting = await place(buyer, item, 'pm_card_noResponse');
  const canceled = await call(p.baseUrl, 'POST', `/orders/${waiting}/cancel`, { token: buyer.token });
  expect(canceled.body.status).toBe('canceled');
  for (const id of [declined, waiting]) {
    const row = await waitArchived(id);
    expect(row!.status).toBe('canceled');
    expect(row!.history.at(-1).status).toBe('canceled');
  }
  expect((await getOrder(buyer, declined)).body).toMatchObject({
    status: 'canceled',
    cancel_reason: 'payment_declined',
    payment_status: 'declined',
  });
  expect((await getOrder(buyer, waiting)).body).toMatchObject({
    status: 'canceled',
    cancel_reason: 'canceled_by_customer',
  });
  expect(await stockOf(p.stores.mysql, item)).toBe(2);
});

test("a line added to an archived order's history lands once, however many callers add it at the same moment", async () => {
  const buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  const declined = await place(buyer, await makeItem(p.stores.mysql, { stock: 1 }), 'pm_card_chargeDeclined');
  await waitArchived(declined);
  const before = (await archive.find(declined))!;
  const line = (reason: string) => ({ status: 'canceled', reason, actor: 'saga' });
  // Each caller read the row before any of them wrote (as racing activity attempts do): the compare-and-set lets
  // one through, the others look again and find the line.
  const same = await Promise.all(Array.from({ length: 4 }, () => archive.addHistoryLine(before, line('noted once'))));
  expect(same.sort()).toEqual(['added', 'already_there', 'already_there', 'already_there']);
  // Different lines from stale reads all land: a caller that lost the race reads again and adds its own.
  await Promise.all(['a', 'b', 'c'].map((x) => archive.addHistoryLine(before, line(`noted ${x}`))));
  const after = (await archive.find(declined))!;
  const reasons = after.history.map((h) => h.reason);
  expect(reasons.filter((r) => r === 'noted once')).toHaveLength(1);
  expect(reasons.filter((r) => r?.startsWith('noted ')).sort()).toEqual([
    'noted a',
    'noted b',
    'noted c',
    'noted once',
  ]);
  expect(after.history.slice(0, before.history.length)).toEqual(before.history); // nothing before it changed
  expect(await archive.addHistoryLine({ ...before, order_id: 'o-never-was' }, line('x'))).toBe('missing');
});

test('the orders view merges live and archived orders, newest first, in cursor pages, with a status filter', async () => {
  const buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 10 });
  // Oldest to newest: archived, live, archived, live, archived.
  const ids: string[] = [];
  for (const method of [
    'pm_card_chargeDeclined',
    'pm_card_noResponse',
    'pm_card_chargeDeclined',
    'pm_card_visa',
    'pm_card_chargeDeclined',
  ]) {
    const id = await place(buyer, item, method);
    if (method === 'pm_card_chargeDeclined') await waitArchived(id);
    ids.push(id);
  }
  await statusIs(buyer, ids[3]!, 'placed');
  const newestFirst = [...ids].reverse();
  for (const limit of [1, 2, 3, 5, 100]) expect((await listAll(buyer, '', limit)).ids).toEqual(newestFirst);
  expect((await listAll(buyer, '&status=canceled')).ids).toEqual([ids[4], ids[2], ids[0]]);
  expect((await listAll(buyer, '&status=created')).ids).toEqual([ids[1]]);
  expect((await listAll(buyer, '&status=placed', 1)).ids).toEqual([ids[3]]);
  expect((await listAll(buyer, '&status=delivered')).ids).toEqual([]);

  // Another user's orders are not reachable, and a forged cursor is a 400 in the contract's format.
  const other = await makeUser(p.stores.mysql, p.deps.tokens);
  expect((await call(p.baseUrl, 'GET', `/users/${buyer.userId}/orders`, { token: other.token })).status).toBe(403);
  const forged = await call(p.baseUrl, 'GET', `/users/${buyer.userId}/orders?cursor=notacursor`, {
    token: buyer.token,
  });
  expect(forged.status).toBe(400);
  expect(forged.body.error.code).toBe('invalid_request');
  await call(p.baseUrl, 'POST', `/orders/${ids[1]}/cancel`, { token: buyer.token });
});

/** A finished order in MySQL with no saga, as a crash would leave it. */
async function finishedLiveOrder(buyer: TestUser, item: string): Promise<string> {
  const orderId = await reserveUnstarted(p.stores.mysql, buyer.userId, { itemId: item });
  await p.stores.mysql.transaction((trx) =>
    applyTransition(trx, orderId, {
      from: ['created'],
      set: { status: 'canceled', payment_status: 'expired', cancel_reason: 'payment_timeout' },
      reason: 'payment_timeout',
    }),
  );
  return orderId;
}

test('a crash between the Cassandra write and the MySQL delete leaves one readable copy; the retry finishes the move', async () => {
  const buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 3 });
  const id = await finishedLiveOrder(buyer, item);
  const before = (await getOrder(buyer, id)).body;

  // The move's first step only, then the "crash": the order is now in both stores.
  await archive.copy((await archive.loadLive(id))!);
  expect(await inMysql(id)).toBe(true);
  expect(await archivedRow(id)).toBeTruthy();
  expect((await getOrder(buyer, id)).body).toEqual(before);
  expect((await listAll(buyer)).ids).toEqual([id]); // once, not twice
  expect((await listAll(buyer, '', 1)).ids).toEqual([id]);

  // The retry (the saga's activity runs again) completes it; more retries change nothing.
  expect(await archive.archive(id)).toBe('archived');
  expect(await inMysql(id)).toBe(false);
  expect(await archive.archive(id)).toBe('already_archived');
  await Promise.all([archive.archive(id), archive.archive(id)]);
  const rows = await p.stores.cassandra.execute(
    'SELECT order_id FROM orders_by_user WHERE user_id = ?',
    [buyer.userId],
    { prepare: true },
  );
  expect(rows.rows.map((r) => r.order_id)).toEqual([id]);
  expect((await getOrder(buyer, id)).body).toEqual(before);
  expect((await listAll(buyer)).ids).toEqual([id]);
});

test('moves run concurrently with themselves leave exactly one copy; a live order is never archived', async () => {
  const buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 3 });
  const id = await finishedLiveOrder(buyer, item);
  const outcomes = await Promise.all(Array.from({ length: 5 }, () => archive.archive(id)));
  expect(outcomes.filter((o) => o === 'archived').length).toBeGreaterThanOrEqual(1);
  expect(outcomes.every((o) => o === 'archived' || o === 'already_archived')).toBe(true);
  expect(await inMysql(id)).toBe(false);
  expect((await listAll(buyer)).ids).toEqual([id]);

  const live = await reserveUnstarted(p.stores.mysql, buyer.userId, { itemId: item });
  expect(await archive.archive(live)).toBe('not_finished');
  expect(await archive.deleteLive(live)).toBe(false);
  expect(await inMysql(live)).toBe(true);
  expect(await archivedRow(live)).toBeNull();
  await p.stores.mysql.transaction((trx) =>
    applyTransition(trx, live, {
      from: ['created'],
      set: { status: 'canceled', payment_status: 'voided', cancel_reason: 'test' },
    }),
  );
});

test('an Idempotency-Key repeated after its order was archived answers that order and takes no stock', async () => {
  const buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 1 });
  const key = `key-${randomUUID()}`;
  const id = await place(buyer, item, 'pm_card_chargeDeclined', { 'Idempotency-Key': key });
  await waitArchived(id);
  const again = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 1 }], payment_method: 'pm_card_chargeDeclined' },
    headers: { 'Idempotency-Key': key },
  });
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ order_id: id, status: 'canceled' });
  expect(await inMysql(id)).toBe(false);
  expect(await stockOf(p.stores.mysql, item)).toBe(1);
});

test('the archive sweeper archives orders finished long ago (their saga gone) and leaves recent ones to their saga', async () => {
  const buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 3 });
  const old = await finishedLiveOrder(buyer, item);
  const recent = await finishedLiveOrder(buyer, item);
  await p.stores
    .mysql('orders')
    .where({ order_id: old })
    .update({ updated_at: new Date('2001-01-01T00:00:00Z') });
  const archived = await new ArchiveSweeper(p.stores.mysql, archive, 2 * 60 * 60_000, logger).sweep(5);
  expect(archived).toContain(old);
  expect(archived).not.toContain(recent);
  expect(await inMysql(old)).toBe(false);
  expect(await inMysql(recent)).toBe(true);
  expect((await getOrder(buyer, old)).body).toMatchObject({ order_id: old, status: 'canceled' });
  await archive.archive(recent);
});

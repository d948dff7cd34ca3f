/**
 * Per-seller shipments (issue 16): each seller of an order ships its own lines with a carrier and a tracking
 * number, and delivers them; the order is in_transit once the first shipment left and delivered once every
 * seller's shipment is. The buyer's notifications name each package; the shipments are archived with the order.
 */
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { OrderArchive } from '../../orders/archive';

let p: Platform;
let s1: TestUser;
let s2: TestUser;
let buyer: TestUser;
let admin: TestUser;
let a: string;
let b: string;

const get = (id: string, who = buyer) => call(p.baseUrl, 'GET', `/orders/${id}`, { token: who.token });
const ship = (id: string, who: TestUser, body: Record<string, unknown>) =>
  call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: who.token, body });
const deliver = (id: string, who: TestUser, body?: Record<string, unknown>) =>
  call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: who.token, body });
const UPS = { carrier: 'UPS', tracking_number: '1Z-SELLER-ONE' };
const DHL = { carrier: 'DHL', tracking_number: 'JD-SELLER-TWO' };

/** A placed order of one unit of each item, taken by the saga as placed (ship is accepted from then). */
async function placedOrder(items: string[]): Promise<string> {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: items.map((item_id) => ({ item_id, quantity: 1 })) },
  });
  expect(r.status).toBe(201);
  await eventually(async () => (await get(r.body.order_id)).body.status === 'placed');
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
  a = await makeItem(p.stores.mysql, { stock: 20, price: 5, supplierId: s1.userId });
  b = await makeItem(p.stores.mysql, { stock: 20, price: 7, supplierId: s2.userId });
});
afterAll(async () => {
  await p?.stop();
});

test('two sellers ship and deliver their own lines: in_transit with the first, delivered with the last, archived with its shipments', async () => {
  const id = await placedOrder([a, b]);
  expect((await get(id)).body.shipments).toEqual([]);

  const first = await eventually(async () => {
    const r = await ship(id, s1, UPS);
    return r.status === 200 ? r : null;
  });
  expect(first.body.status).toBe('in_transit');
  expect(first.body.shipments).toEqual([
    { supplier_id: s1.userId, ...UPS, status: 'in_transit', shipped_at: expect.any(String), delivered_at: null },
  ]);
  // The buyer can no longer cancel: a package left.
  expect((await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: buyer.token })).status).toBe(409);

  const delivered1 = await deliver(id, s1);
  expect(delivered1.status).toBe(200);
  expect(delivered1.body.status).toBe('in_transit'); // the other seller has not shipped yet
  const toShip = await call(p.baseUrl, 'GET', `/suppliers/${s2.userId}/orders?to_ship=true`, { token: s2.token });
  expect(toShip.body.orders.map((o: { order_id: string }) => o.order_id)).toContain(id);
  expect(
    (await call(p.baseUrl, 'GET', `/suppliers/${s1.userId}/orders?to_ship=true`, { token: s1.token })).body.orders.map(
      (o: { order_id: string }) => o.order_id,
    ),
  ).not.toContain(id);

  expect((await ship(id, s2, DHL)).body.shipments).toHaveLength(2);
  const last = await deliver(id, s2);
  expect(last.body.status).toBe('delivered');
  expect(last.body.shipments.map((s: { status: string }) => s.status)).toEqual(['delivered', 'delivered']);

  // Archived to Cassandra with its shipments; the history says who shipped and delivered.
  await eventually(async () => (await p.stores.mysql('orders').where({ order_id: id }).first()) === undefined, 30_000);
  const archived = (await get(id)).body;
  expect(archived.status).toBe('delivered');
  expect(
    archived.shipments
      .map((s: { supplier_id: string; tracking_number: string }) => [s.supplier_id, s.tracking_number])
      .sort(),
  ).toEqual(
    [
      [s1.userId, UPS.tracking_number],
      [s2.userId, DHL.tracking_number],
    ].sort(),
  );
  const history = (await new OrderArchive(p.stores.cassandra, p.stores.mysql).find(id))!.history;
  expect(history.filter((h) => h.actor === `supplier:${s1.userId}`).map((h) => h.status)).toEqual([
    'in_transit',
    'in_transit',
  ]);
  expect(history.at(-1)).toEqual(expect.objectContaining({ status: 'delivered', actor: `supplier:${s2.userId}` }));

  // One order event per package, each naming its shipment (the notifier tells the buyer of each: its texts are
  // unit-tested in test/unit/notifications.test.ts).
  const events = (await p.stores.mysql('outbox').where({ msg_key: id }).orderBy('id')).map((r: { payload: string }) =>
    JSON.parse(r.payload),
  );
  const shipping = events.filter((e) =>
    ['order.in_transit', 'order.shipment_delivered', 'order.delivered'].includes(e.type),
  );
  expect(shipping.map((e) => [e.type, e.data.shipment.tracking_number])).toEqual([
    ['order.in_transit', UPS.tracking_number],
    ['order.shipment_delivered', UPS.tracking_number],
    ['order.in_transit', DHL.tracking_number],
    ['order.delivered', DHL.tracking_number],
  ]);
});

test("who may ship what: a seller its own lines only, an admin names the seller of a mixed order, a shipment's tracking number is final", async () => {
  const id = await placedOrder([a, b]);
  await eventually(async () => (await ship(id, s1, UPS)).status === 200);
  expect((await ship(id, s1, UPS)).status).toBe(200); // the same shipment again: nothing changes
  const other = await ship(id, s1, { carrier: 'UPS', tracking_number: 'ANOTHER' });
  expect(other.status).toBe(409);
  expect(other.body.error.code).toBe('invalid_transition');
  expect((await ship(id, s1, { ...DHL, supplier_id: s2.userId })).status).toBe(403); // not its lines
  expect((await ship(id, admin, DHL)).status).toBe(400); // two sellers: which?
  expect((await deliver(id, admin, { supplier_id: s2.userId })).status).toBe(409); // not shipped yet
  const byAdmin = await ship(id, admin, { ...DHL, supplier_id: s2.userId });
  expect(byAdmin.status).toBe(200);
  expect(byAdmin.body.shipments).toHaveLength(2);
  expect((await p.stores.mysql('shipments').where({ order_id: id })).length).toBe(2);
});

test('a ship without carrier or tracking number, or with unknown fields, is 400 and changes nothing', async () => {
  const id = await placedOrder([a]);
  for (const body of [
    {},
    { carrier: 'UPS' },
    { tracking_number: 'X' },
    { ...UPS, extra: 1 },
    { carrier: ' ', tracking_number: 'X' },
  ]) {
    const r = await ship(id, s1, body);
    expect([JSON.stringify(body), r.status, r.body.error?.code]).toEqual([
      JSON.stringify(body),
      400,
      'invalid_request',
    ]);
  }
  expect((await get(id)).body).toEqual(expect.objectContaining({ status: 'placed', shipments: [] }));
});

/**
 * History by status and date (issue 16): admins list archived orders by status and creation day (Cassandra
 * orders_by_status_day, written by the archive step), and a buyer's order list still answers while
 * Cassandra is down: live orders, flagged `history_unavailable`. The outage is an API whose Cassandra client
 * points at a port where nothing listens (the shared Cassandra keeps running).
 */
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually, TEST_SHIPMENT } from '../support/http';
import { OrderArchive } from '../../orders/archive';

let p: Platform;
let buyer: TestUser;
let admin: TestUser;

beforeAll(async () => {
  p = await startPlatform({ env: { ORDER_PAYMENT_TIMEOUT: '60s' } });
  buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
});
afterAll(async () => {
  await p?.stop();
});

const inMysql = async (id: string) => Boolean(await p.stores.mysql('orders').where({ order_id: id }).first());
async function place(): Promise<{ id: string; day: string; total: number }> {
  const item = await makeItem(p.stores.mysql, { stock: 5, price: 4.25 });
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 2 }] },
  });
  expect(r.status).toBe(201);
  await eventually(
    async () =>
      (await call(p.baseUrl, 'GET', `/orders/${r.body.order_id}`, { token: buyer.token })).body.status === 'placed',
  );
  return { id: r.body.order_id, day: r.body.created_at.slice(0, 10), total: r.body.total_price };
}
/** Every order id of one status and day, through the cursor pages. */
async function allOf(
  status: string,
  day: string,
  limit = 500,
): Promise<{ order_id: string; user_id: string; total_price: number; status: string }[]> {
  const out = [];
  let cursor: string | null = null;
  do {
    const r: { status: number; body: any } = await call(
      p.baseUrl,
      'GET',
      `/admin/orders?status=${status}&day=${day}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      { token: admin.token },
    );
    expect(r.status).toBe(200);
    out.push(...r.body.orders);
    cursor = r.body.next_cursor;
  } while (cursor);
  return out;
}

describe('admins list archived orders by status and day', () => {
  test('a delivered and a canceled order each appear under their status and creation day, once, even when archived twice', async () => {
    const delivered = await place();
    const canceled = await place();
    await call(p.baseUrl, 'POST', `/orders/${delivered.id}/ship`, { token: admin.token, body: TEST_SHIPMENT });
    expect((await call(p.baseUrl, 'POST', `/orders/${delivered.id}/deliver`, { token: admin.token })).status).toBe(200);
    expect((await call(p.baseUrl, 'POST', `/orders/${canceled.id}/cancel`, { token: buyer.token })).status).toBe(200);
    await eventually(async () => !(await inMysql(delivered.id)), 30_000);

    const day = (await allOf('delivered', delivered.day)).filter((o) => o.order_id === delivered.id);
    expect(day).toEqual([
      {
        order_id: delivered.id,
        user_id: buyer.userId,
        status: 'delivered',
        total_price: delivered.total,
        created_at: expect.any(String),
      },
    ]);
    expect((await allOf('canceled', delivered.day)).some((o) => o.order_id === delivered.id)).toBe(false);

    // The archive step again (a retried activity): still one row.
    const archive = new OrderArchive(p.stores.cassandra, p.stores.mysql);
    await archive.copy((await archive.find(delivered.id))!);
    expect((await allOf('delivered', delivered.day)).filter((o) => o.order_id === delivered.id)).toHaveLength(1);

    // A customer cancel is archived once the saga is done (no late-payment wait for it).
    await eventually(async () => !(await inMysql(canceled.id)), 30_000);
    expect((await allOf('canceled', canceled.day)).some((o) => o.order_id === canceled.id)).toBe(true);
    // Another day has none of them.
    expect(await allOf('delivered', '2001-01-01')).toEqual([]);
  });

  test('pages are newest first and follow on by cursor', async () => {
    const orders = [await place(), await place()];
    for (const o of orders) {
      await call(p.baseUrl, 'POST', `/orders/${o.id}/ship`, { token: admin.token, body: TEST_SHIPMENT });
      await call(p.baseUrl, 'POST', `/orders/${o.id}/deliver`, { token: admin.token });
    }
    for (const o of orders) await eventually(async () => !(await inMysql(o.id)), 30_000);
    const day = orders[1]!.day;
    const all = await allOf('delivered', day, 1);
    const ids = all.map((o) => o.order_id);
    expect(new Set(ids).size).toBe(ids.length);
    if (orders[0]!.day === day) expect(ids.indexOf(orders[1]!.id)).toBeLessThan(ids.indexOf(orders[0]!.id));
    const times = all.map((o) => (o as unknown as { created_at: string }).created_at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  test('admins only; status must be final and day a calendar day', async () => {
    expect(
      (await call(p.baseUrl, 'GET', '/admin/orders?status=delivered&day=2026-12-04', { token: buyer.token })).status,
    ).toBe(403);
    for (const qs of [
      'status=placed&day=2026-12-04',
      'status=delivered&day=2026-13-01',
      'status=delivered&day=2026-02-30',
      'status=delivered',
      'day=2026-12-04',
      'status=delivered&day=2026-12-04&limit=0',
    ]) {
      const r = await call(p.baseUrl, 'GET', `/admin/orders?${qs}`, { token: admin.token });
      expect([qs, r.status]).toEqual([qs, 400]);
    }
  });
});

describe('while Cassandra is down', () => {
  let down: Platform;
  beforeAll(async () => {
    down = await startPlatform({ worker: false, env: { CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' } });
  });
  afterAll(async () => {
    await down?.stop();
  });

  test("a buyer's order list answers with the live orders and history_unavailable; with Cassandra up there is no flag", async () => {
    const u = await makeUser(down.stores.mysql, down.deps.tokens);
    const item = await makeItem(down.stores.mysql, { stock: 3 });
    const placed = await call(down.baseUrl, 'POST', '/orders', {
      token: u.token,
      body: { user_id: u.userId, items: [{ item_id: item, quantity: 1 }] },
    });
    expect(placed.status).toBe(201);
    const r = await call(down.baseUrl, 'GET', `/users/${u.userId}/orders`, { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      orders: [expect.objectContaining({ order_id: placed.body.order_id, status: 'created' })],
      next_cursor: null,
      history_unavailable: true,
    });
    // The order itself, live in MySQL, is read as ever.
    expect((await call(down.baseUrl, 'GET', `/orders/${placed.body.order_id}`, { token: u.token })).status).toBe(200);

    const up = await call(p.baseUrl, 'GET', `/users/${u.userId}/orders`, {
      token: down.deps.tokens.issue({ userId: u.userId, role: 'customer' }),
    });
    expect(up.status).toBe(200);
    expect(up.body.history_unavailable).toBeUndefined();
    expect(up.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([placed.body.order_id]);
  });

  test("the admins' archive list is 503 with Retry-After", async () => {
    const a = await makeUser(down.stores.mysql, down.deps.tokens, 'admin');
    const r = await call(down.baseUrl, 'GET', `/admin/orders?status=delivered&day=2026-12-04`, { token: a.token });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('5');
    expect(r.body.error.code).toBe('history_unavailable');
  });
});

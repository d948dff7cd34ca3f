/**
 * The API degrades, never errs (issue 11 point 5): with one store's address pointing at a port where nothing
 * listens (a real "connection refused" from the real client), every route that needs that store answers 503 in
 * the error format with Retry-After, never 500, drops no connection and leaves nothing half-written; routes that
 * only use the store as an optimisation keep working. And with the MySQL pool full, new orders are refused at
 * once (503 overloaded) instead of queueing.
 *
 * Each broken API is started as the API process starts (connectStores with failFast), on the same real
 * servers for every other store; the test data is made through a healthy API.
 */
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, stockOf, TEST_TOPIC, TestUser } from '../support/fixtures';
import { ensureTopics } from '../../stores/kafka/client';
import { call, eventually, HttpResult } from '../support/http';
import { SagaSweeper } from '../../orders/saga-sweeper';
import { OutboxRelay } from '../../outbox/relay';
import { applyTransition } from '../../orders/repository';
import { markSoldOut } from '../../stock/soldout-gate';
import type { Producer } from 'kafkajs';
import pino from 'pino';

let healthy: Platform;
let buyer: TestUser;
let supplier: TestUser;
let admin: TestUser;
let deadPort: number;

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** 503 in the contract's format, with Retry-After and the store named. */
function expectUnavailable(r: HttpResult, store: string, codes = ['service_unavailable', 'overloaded']) {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status: 503, code: expect.any(String) });
  expect(codes).toContain(r.body.error.code);
  expect(typeof r.body.error.message).toBe('string');
  expect(r.body.error.details).toEqual({ store });
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
}

/** Orders placed by a broken API start sagas on its task queue, where no worker runs: end them, and close the
 * order (as an operator would) so that no later saga sweep picks it up. */
async function endSaga(orderId: string): Promise<void> {
  await healthy.stores.temporal.workflow
    .getHandle(orderId)
    .terminate('degrade test: no worker on this queue')
    .catch(() => undefined);
  await healthy.stores.mysql.transaction((trx) =>
    applyTransition(trx, orderId, {
      from: ['created'],
      set: { status: 'canceled', payment_status: 'voided', cancel_reason: 'test' },
    }),
  );
}

const order = (user: TestUser, itemId: string, quantity = 1) => ({
  token: user.token,
  body: { user_id: user.userId, items: [{ item_id: itemId, quantity }] },
});

async function withBrokenApi(env: Record<string, string>, fn: (p: Platform) => Promise<void>): Promise<void> {
  const p = await startPlatform({ worker: false, failFast: true, env });
  try {
    await fn(p);
  } finally {
    await p.stop();
  }
}

beforeAll(async () => {
  healthy = await startPlatform({ worker: false, failFast: true });
  buyer = await makeUser(healthy.stores.mysql, healthy.deps.tokens);
  supplier = await makeUser(healthy.stores.mysql, healthy.deps.tokens, 'supplier');
  admin = await makeUser(healthy.stores.mysql, healthy.deps.tokens, 'admin');
  deadPort = await freePort();
}, 120_000);
afterAll(async () => {
  await healthy?.stop();
});

test('MySQL down: orders, item reads, order lists and logins answer 503, nothing is written', async () => {
  const item = await makeItem(healthy.stores.mysql, { stock: 5 });
  await withBrokenApi({ MYSQL_URL: `mysql://shopflow:shopflow@127.0.0.1:${deadPort}/shopflow` }, async (p) => {
    const results = await Promise.all([
      call(p.baseUrl, 'POST', '/orders', order(buyer, item)),
      call(p.baseUrl, 'GET', `/items/${item}`),
      call(p.baseUrl, 'GET', `/users/${buyer.userId}/orders`, { token: buyer.token }),
      call(p.baseUrl, 'POST', '/auth/login', { body: { email: buyer.email, password: 'correct horse battery' } }),
    ]);
    for (const r of results) expectUnavailable(r, 'mysql');
    const ready = await call(p.baseUrl, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.down).toEqual(['mysql']);
  });
  expect(await stockOf(healthy.stores.mysql, item)).toBe(5);
  expect(await healthy.stores.mysql('order_items').where({ item_id: item }).count({ n: '*' }).first()).toEqual({
    n: 0,
  });
});

test('Redis down: the cache, sold-out gate and stock tickets are skipped (orders and item reads work); carts and recommendations answer 503', async () => {
  const item = await makeItem(healthy.stores.mysql, { stock: 5 });
  await withBrokenApi({ REDIS_URL: `redis://127.0.0.1:${deadPort}` }, async (p) => {
    const view = await call(p.baseUrl, 'GET', `/items/${item}`);
    expect(view.status).toBe(200);
    const placed = await call(p.baseUrl, 'POST', '/orders', order(buyer, item, 2));
    expect(placed.status).toBe(201);
    expect(placed.body.status).toBe('created');
    await endSaga(placed.body.order_id);
    expectUnavailable(
      await call(p.baseUrl, 'POST', `/users/${buyer.userId}/cart`, {
        token: buyer.token,
        body: { item_id: item, quantity: 1 },
      }),
      'redis',
    );
    expectUnavailable(
      await call(p.baseUrl, 'GET', `/users/${buyer.userId}/recommendations`, { token: buyer.token }),
      'redis',
    );
  });
  expect(await stockOf(healthy.stores.mysql, item)).toBe(3); // the one order, reserved once
  // The refused cart write left no cart behind.
  expect((await call(healthy.baseUrl, 'GET', `/users/${buyer.userId}/cart`, { token: buyer.token })).body).toEqual([]);
});

test('MongoDB down: an item whose details are not cached answers 503; creating one writes nothing', async () => {
  const created = await call(healthy.baseUrl, 'POST', '/items', {
    token: supplier.token,
    body: { name: 'Degrade lamp', category: 'Home', price: 20, stock: 4, attributes: { colour: 'red' } },
  });
  expect(created.status).toBe(201);
  const id = created.body.item_id as string;
  for (const key of await healthy.stores.redis.keys(`item:details:${id}:*`)) await healthy.stores.redis.del(key);
  await withBrokenApi({ MONGO_URL: `mongodb://127.0.0.1:${deadPort}/shopflow` }, async (p) => {
    expectUnavailable(await call(p.baseUrl, 'GET', `/items/${id}`), 'mongodb');
    const refused = await call(p.baseUrl, 'POST', '/items', {
      token: supplier.token,
      body: {
        item_id: `${id}-b`,
        name: 'Other lamp',
        category: 'Home',
        price: 20,
        stock: 4,
        attributes: { colour: 'blue' },
      },
    });
    expectUnavailable(refused, 'mongodb');
  });
  const after = await call(healthy.baseUrl, 'GET', `/items/${id}-b`);
  expect(after.status).toBe(404);
});

test('OpenSearch down: search answers 503 search_unavailable with Retry-After', async () => {
  await withBrokenApi({ SEARCH_URL: `http://127.0.0.1:${deadPort}` }, async (p) => {
    expectUnavailable(await call(p.baseUrl, 'GET', '/search?query=lamp'), 'search', ['search_unavailable']);
  });
});

test("Cassandra down: a buyer's list answers its live orders flagged history_unavailable; an unknown order (which may be archived) is 503, not a 404, to its buyer and to an operator", async () => {
  await withBrokenApi({ CASSANDRA_CONTACT_POINTS: `127.0.0.1:${deadPort}` }, async (p) => {
    const list = await call(p.baseUrl, 'GET', `/users/${buyer.userId}/orders`, { token: buyer.token });
    expect(list.status).toBe(200);
    expect(list.body.history_unavailable).toBe(true);
    expectUnavailable(await call(p.baseUrl, 'GET', '/orders/o-never-was', { token: buyer.token }), 'cassandra');
    const history = await call(p.baseUrl, 'GET', '/admin/orders/o-never-was/history', { token: admin.token });
    expectUnavailable(history, 'cassandra');
  });
});

test('Kafka down: nothing on the request path needs it (the API starts, orders and reads work); readyz names it', async () => {
  const item = await makeItem(healthy.stores.mysql, { stock: 5 });
  await withBrokenApi({ KAFKA_BROKERS: `127.0.0.1:${deadPort}` }, async (p) => {
    expect((await call(p.baseUrl, 'GET', `/items/${item}`)).status).toBe(200);
    expect((await call(p.baseUrl, 'GET', '/search?query=lamp')).status).toBe(200);
    const placed = await call(p.baseUrl, 'POST', '/orders', order(buyer, item));
    expect(placed.status).toBe(201);
    await endSaga(placed.body.order_id);
    const ready = await call(p.baseUrl, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.down).toEqual(['kafka']);
  });
  expect(await stockOf(healthy.stores.mysql, item)).toBe(4);
});

test('Kafka slow: the relay holding its claim on the outbox while the send retries blocks no order and no item view', async () => {
  // The chaos run's Kafka outage: the relay's claim transaction stays open while kafkajs retries the send.
  // The producer here is the fault (a send that does not answer until released), MySQL is real.
  let release!: () => void;
  let claimed!: () => void;
  const sendStarted = new Promise<void>((r) => (claimed = r));
  const hanging = {
    sendBatch: () => {
      claimed();
      return new Promise((_resolve, reject) => (release = () => reject(new Error('broker down'))));
    },
  } as unknown as Producer;
  const item = await makeItem(healthy.stores.mysql, { stock: 5 });
  // Something to claim, on a topic that exists: the other relays of the run publish it when this one lets go.
  await ensureTopics(healthy.stores.kafka, [TEST_TOPIC]);
  const claimable = randomUUID();
  await healthy.stores
    .mysql('outbox')
    .insert({ event_id: claimable, topic: TEST_TOPIC.name, msg_key: 'k', payload: '{}' });
  const relay = new OutboxRelay(healthy.stores.mysql, hanging, pino({ level: 'silent' }));
  const batch = relay.publishBatch().catch(() => 0);
  await sendStarted;
  let relayOpen = true;
  void batch.then(() => (relayOpen = false));
  try {
    // Each of these inserts into the outbox (order.created in the reservation; the item_view event).
    const placed = await call(healthy.baseUrl, 'POST', '/orders', order(buyer, item));
    const viewed = await call(healthy.baseUrl, 'GET', `/items/${item}`);
    expect(relayOpen).toBe(true); // both answered while the relay still held its claim
    expect(placed.status).toBe(201);
    expect(viewed.status).toBe(200);
    await endSaga(placed.body.order_id);
  } finally {
    release();
    await batch;
    await healthy.stores.mysql('outbox').where({ event_id: claimable }).delete();
  }
  expect(await stockOf(healthy.stores.mysql, item)).toBe(4);
});

test('Temporal down: a new order is still reserved (201), cancels answer 503, and the sweeper starts its saga once Temporal is back', async () => {
  const item = await makeItem(healthy.stores.mysql, { stock: 5 });
  let orderId = '';
  await withBrokenApi({ TEMPORAL_ADDRESS: `127.0.0.1:${deadPort}`, ORDER_RESERVE_DEADLINE: '1s' }, async (p) => {
    const placed = await call(p.baseUrl, 'POST', '/orders', order(buyer, item, 2));
    expect(placed.status).toBe(201);
    expect(placed.body.status).toBe('created');
    orderId = placed.body.order_id;
    expect((await call(p.baseUrl, 'GET', `/orders/${orderId}`, { token: buyer.token })).body.status).toBe('created');
    expectUnavailable(await call(p.baseUrl, 'POST', `/orders/${orderId}/cancel`, { token: buyer.token }), 'temporal');
  });
  expect(await stockOf(healthy.stores.mysql, item)).toBe(3);
  // Temporal answers again (the healthy platform's client): the sweeper starts the saga of the reserved order.
  const sweeper = new SagaSweeper(
    healthy.stores.mysql,
    healthy.stores.redis,
    healthy.stores.temporal,
    { ...healthy.cfg, ORDER_SAGA_SWEEP_AFTER: 0 },
    pino({ level: 'silent' }),
  );
  const swept = await sweeper.sweep();
  expect(swept.get(orderId)).toBe('started');
  const started = [...swept].filter(([, action]) => action === 'started').map(([id]) => id);
  const described = await healthy.stores.temporal.workflow.getHandle(orderId).describe();
  expect(described.status.name).toBe('RUNNING');
  expect(await stockOf(healthy.stores.mysql, item)).toBe(3); // reserved once, not again by the saga's start
  for (const id of started) await endSaga(id);
});

test('a saturated MySQL pool: new orders are refused at once with 503 overloaded, before any connection frees up', async () => {
  const item = await makeItem(healthy.stores.mysql, { stock: 5 });
  await withBrokenApi({ MYSQL_POOL_MAX: '2', SHED_MYSQL_PENDING: '0', MYSQL_ACQUIRE_TIMEOUT: '2s' }, async (p) => {
    // Both connections held through the app's own pool.
    let sleepsDone = false;
    const sleeps = Promise.all([p.stores.mysql.raw('SELECT SLEEP(3)'), p.stores.mysql.raw('SELECT SLEEP(3)')]).then(
      () => (sleepsDone = true),
    );
    await eventually(async () => p.deps.load.snapshot().used === 2, 5000, 10);
    const refused = await call(p.baseUrl, 'POST', '/orders', order(buyer, item));
    expect(sleepsDone).toBe(false); // answered while both connections were still held
    expectUnavailable(refused, 'mysql', ['overloaded']);
    // An item Redis knows to be sold out still gets its true answer, 409, not a 503 that invites a retry.
    const soldOut = await makeItem(healthy.stores.mysql, { stock: 0 });
    await markSoldOut(healthy.stores.redis, [{ item_id: soldOut, requested: 1, available: 0 }]);
    const refusedSoldOut = await call(p.baseUrl, 'POST', '/orders', order(buyer, soldOut));
    expect(sleepsDone).toBe(false);
    expect({ status: refusedSoldOut.status, code: refusedSoldOut.body.error?.code }).toEqual({
      status: 409,
      code: 'out_of_stock',
    });
    expect(refusedSoldOut.body.error.details.items).toEqual([{ item_id: soldOut, requested: 1, available: 0 }]);
    // With an Idempotency-Key it may be the retry of the order that got the last unit: shed, to be asked again.
    const keyed = await call(p.baseUrl, 'POST', '/orders', {
      ...order(buyer, soldOut),
      headers: { 'Idempotency-Key': randomUUID() },
    });
    expectUnavailable(keyed, 'mysql', ['overloaded']);
    // A read is not shed: it waits for a connection at most MYSQL_ACQUIRE_TIMEOUT (2 s, less than the 3 s
    // sleeps), and then answers 503 too, never 500.
    const read = await call(p.baseUrl, 'GET', `/items/${item}`);
    expect(sleepsDone).toBe(false);
    expectUnavailable(read, 'mysql', ['overloaded']);
    await sleeps;
    // Once the pool has room, orders go through again.
    const placed = await call(p.baseUrl, 'POST', '/orders', order(buyer, item));
    expect(placed.status).toBe(201);
    await endSaga(placed.body.order_id);
  });
  expect(await stockOf(healthy.stores.mysql, item)).toBe(4); // only the admitted order holds stock
});

/**
 * The order worker is a separate process (dist/workers/main.js) killed with SIGKILL mid-saga and started again:
 * every order still ends correctly, nothing is reserved twice and nothing leaks.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, stockOf, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { deleteSchedules } from '../../orders/schedules';

const WORKER = path.resolve(__dirname, '../../dist/workers/main.js');
let p: Platform;
let buyer: TestUser;
let worker: ChildProcess | undefined;

function startWorkerProcess(): Promise<void> {
  worker = spawn(process.execPath, [WORKER], {
    env: {
      ...process.env,
      TEMPORAL_TASK_QUEUE: p.cfg.TEMPORAL_TASK_QUEUE,
      PAYMENT_GATEWAY_URL: p.cfg.PAYMENT_GATEWAY_URL,
      LOG_LEVEL: 'info',
      TEMPORAL_METRICS_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => d.toString().includes('order worker running') && resolve();
    worker!.stdout!.on('data', onData);
    worker!.stderr!.on('data', onData);
    worker!.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

function killWorker(): Promise<void> {
  const w = worker!;
  return new Promise((resolve) => {
    w.once('exit', () => resolve());
    w.kill('SIGKILL');
  });
}

beforeAll(async () => {
  p = await startPlatform({
    worker: false,
    env: { ORDER_PAYMENT_TIMEOUT: '12s', ORDER_LATE_PAYMENT_WINDOW: '1s', ORDER_RESERVE_DEADLINE: '3s' },
  });
  buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  await startWorkerProcess();
}, 60_000);
afterAll(async () => {
  if (worker && worker.exitCode === null) await killWorker();
  // The worker process made the Schedules for this test's task queue: nothing polls it after us.
  if (p) await deleteSchedules(p.stores.temporal, p.cfg.TEMPORAL_TASK_QUEUE);
  await p?.stop();
});

const getOrder = (id: string) => call(p.baseUrl, 'GET', `/orders/${id}`, { token: buyer.token });

test('killed while an order waits for its payment: the expiry still cancels it and releases the stock once', async () => {
  const item = await makeItem(p.stores.mysql, { stock: 5 });
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 2 }], payment_method: 'pm_card_noResponse' },
  });
  expect(r.status).toBe(201);
  expect(await stockOf(p.stores.mysql, item)).toBe(3);
  await killWorker();
  await new Promise((res) => setTimeout(res, 12_500)); // the payment timer fires while no worker runs
  expect((await getOrder(r.body.order_id)).body.status).toBe('created');
  await startWorkerProcess();
  const o = await eventually(
    async () =>
      (await getOrder(r.body.order_id)).body.status === 'canceled' ? (await getOrder(r.body.order_id)).body : null,
    30_000,
  );
  expect(o.cancel_reason).toBe('payment_timeout');
  expect(await stockOf(p.stores.mysql, item)).toBe(5);
}, 90_000);

test('an order placed while no worker runs is reserved and answered 201 at once, and completes once the worker is back', async () => {
  const item = await makeItem(p.stores.mysql, { stock: 5 });
  await killWorker();
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 1 }] },
  });
  expect(r.status).toBe(201);
  expect(await stockOf(p.stores.mysql, item)).toBe(4);
  const orderId = r.body.order_id as string;
  await startWorkerProcess();
  const o = await eventually(
    async () => ((await getOrder(orderId)).body.status === 'placed' ? (await getOrder(orderId)).body : null),
    30_000,
  );
  expect(o.payment_status).toBe('succeeded');
  expect(await stockOf(p.stores.mysql, item)).toBe(4);
  expect((await p.gateway.retrieveCharge(orderId))?.status).toBe('succeeded');
}, 90_000);

test('killed right after accepting orders: each ends placed (charged once) or, past its window, canceled (charged never); stock taken exactly once', async () => {
  const item = await makeItem(p.stores.mysql, { stock: 20 });
  const results = await Promise.all(
    Array.from({ length: 8 }, () =>
      call(p.baseUrl, 'POST', '/orders', {
        token: buyer.token,
        body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 1 }] },
      }),
    ),
  );
  await killWorker(); // mid-saga: some charges or status writes are in flight
  expect(results.every((r) => r.status === 201)).toBe(true);
  await startWorkerProcess();
  const ends: string[] = [];
  for (const r of results) {
    const o = await eventually(async () => {
      const v = (await getOrder(r.body.order_id)).body;
      return v.status === 'placed' || v.status === 'canceled' ? v : null;
    }, 40_000);
    ends.push(o.status);
    const charges = (await p.gateway.listCharges({ orderId: o.order_id })).charges;
    const holding = charges.filter((c) => c.status === 'succeeded' && c.amountRefundedMinor < c.amountMinor);
    expect([o.status, holding.length]).toEqual([o.status, o.status === 'placed' ? 1 : 0]);
  }
  const placed = ends.filter((s) => s === 'placed').length;
  expect(placed).toBeGreaterThan(0); // a restart within the window goes on with the orders
  expect(await stockOf(p.stores.mysql, item)).toBe(20 - placed);
  const history = await p.stores
    .mysql('order_status_history')
    .whereIn(
      'order_id',
      results.map((r) => r.body.order_id),
    )
    .select('order_id', 'status');
  expect(history.filter((h) => h.status === 'placed').length).toBe(placed); // one transition each, never two
}, 120_000);

/**
 * The order worker is a separate process (dist/workers/main.js) killed with SIGKILL mid-saga and started again:
 * every order still ends correctly, nothing is reserved twice and nothing leaks.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { decodeTimeoutType } from '@temporalio/common';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, stockOf, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { deleteSchedules, reconcilerScheduleId } from '../../orders/schedules';

const WORKER = path.resolve(__dirname, '../../dist/workers/main.js');
let p: Platform;
let buyer: TestUser;
let worker: ChildProcess | undefined;

function startWorkerProcess(env: Record<string, string> = {}): Promise<void> {
  worker = spawn(process.execPath, [WORKER], {
    env: {
      ...process.env,
      TEMPORAL_TASK_QUEUE: p.cfg.TEMPORAL_TASK_QUEUE,
      PAYMENT_GATEWAY_URL: p.cfg.PAYMENT_GATEWAY_URL,
      LOG_LEVEL: 'info',
      TEMPORAL_METRICS_PORT: '0',
      ...env,
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

/** The promise's value, or a failure naming what did not happen within ms. */
async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

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

test('killed in the middle of a reconciler pass: the pass is retried on the next worker within its heartbeat timeout, not its 5 minutes, and repairs the order once', async () => {
  // The pass must find this order the moment it starts (no grace), and only the pass this test starts may run.
  await killWorker();
  await startWorkerProcess({ RECONCILE_GRACE: '0' });
  const temporal = p.stores.temporal;
  const schedule = temporal.schedule.getHandle(reconcilerScheduleId(p.cfg.TEMPORAL_TASK_QUEUE));
  await schedule.pause('worker-crash test');
  // A scheduled pass still running (its worker killed by an earlier test, so retried later) would race this one.
  for (const run of (await schedule.describe()).info.runningActions)
    await temporal.workflow.getHandle(run.workflow.workflowId).terminate('worker-crash test');

  // An order whose saga an operator terminated while it awaited its payment: only the reconciler can end it.
  const item = await makeItem(p.stores.mysql, { stock: 4 });
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 3 }], payment_method: 'pm_card_noResponse' },
  });
  expect(r.status).toBe(201);
  const orderId = r.body.order_id as string;
  await eventually(async () => (await p.gateway.listCharges({ orderId })).charges.length === 1, 10_000);
  await temporal.workflow.getHandle(orderId).terminate('worker-crash test');
  await new Promise((res) => setTimeout(res, 12_500)); // past its payment window (ORDER_PAYMENT_TIMEOUT 12s)

  // Hold the order's row: the pass blocks on it mid-way, alive and heartbeating, until its worker is killed.
  const trx = await p.stores.mysql.transaction();
  try {
    await trx('orders').where({ order_id: orderId }).forUpdate().select('order_id');
    const pass = await temporal.workflow.start('reconcileWorkflow', {
      taskQueue: p.cfg.TEMPORAL_TASK_QUEUE,
      workflowId: `reconcile-crash-${orderId}`,
    });
    // Its attempt has started and beats while it waits on the row (a pass takes milliseconds otherwise): a slow
    // pass keeps its slot, only a dead one loses it.
    await eventually(async () => (await pass.describe()).raw.pendingActivities?.[0]?.lastHeartbeatTime, 20_000);
    expect((await getOrder(orderId)).body.status).toBe('created');
    await killWorker();
    await trx.rollback();
    await startWorkerProcess({ RECONCILE_GRACE: '0' });

    // Within its heartbeat timeout plus the retry's backoff (35 s), far inside the 5 minute startToCloseTimeout.
    const report = await within(
      90_000,
      pass.result(),
      'the pass was not retried within 90 s of its worker being killed',
    );
    expect(report.ordersCanceled).toContain(orderId); // with any other expired order of the shared test database
    const events = (await pass.fetchHistory()).events ?? [];
    // One activity, whose second attempt did the work after the first ended on its missed heartbeats (30 s): that
    // is what let the retry run within a minute of the kill instead of after the 5 minute startToCloseTimeout.
    const started = events.flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes] : [],
    );
    expect(started).toHaveLength(1);
    expect(started[0]!.attempt).toBe(2);
    expect(decodeTimeoutType(started[0]!.lastFailure?.timeoutFailureInfo?.timeoutType)).toBe('HEARTBEAT');
  } finally {
    if (!trx.isCompleted()) await trx.rollback();
  }
  // Money and stock end right, once: the order canceled, its 3 units back, its pending charge voided.
  const o = (await getOrder(orderId)).body;
  expect([o.status, o.cancel_reason]).toEqual(['canceled', 'payment_timeout']);
  expect(await stockOf(p.stores.mysql, item)).toBe(4);
  expect((await p.gateway.listCharges({ orderId })).charges.map((c) => c.status)).toEqual(['voided']);
  const history = await p.stores.mysql('order_status_history').where({ order_id: orderId, status: 'canceled' });
  expect(history).toHaveLength(1);
}, 150_000);

/**
 * Every branch of the order saga on a local Temporal dev server, with fake activities (the point here is the
 * workflow's decisions; the real activities are tested against the real stores in test/integration).
 * Timers are short through the workflow's input, as ORDER_PAYMENT_TIMEOUT does in production.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, WithStartWorkflowOperation } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { OrderActivities } from '../../activities/order-activities';
import { cancelUpdate, deliverUpdate, paymentResultSignal, reservationUpdate, shipUpdate, stateQuery } from '../../workflows/messages';
import type { OrderInput, OrderOutcome, OrderView, ReservationResult } from '../../workflows/types';
import { localTestEnv, workflowBundle } from '../support/temporal-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await localTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});

type Calls = Record<string, unknown[][]>;
type Behaviour = Partial<{ [K in keyof OrderActivities]: (...args: Parameters<OrderActivities[K]>) => ReturnType<OrderActivities[K]> }>;

function view(orderId: string, status: OrderView['status'] = 'created'): OrderView {
  const now = new Date().toISOString();
  return { order_id: orderId, user_id: 'u1', status, items: [{ item_id: 'a', quantity: 1, price: 5 }], total_price: 5, payment_method: 'pm_card_visa', payment_status: 'pending', cancel_reason: null, late_payment: null, expires_at: now, created_at: now, updated_at: now };
}

/** Fake activities that record every call; `behaviour` overrides any of them. */
function fakeActivities(calls: Calls, behaviour: Behaviour): OrderActivities {
  const record = <T>(name: string, fn: (...a: any[]) => Promise<T>) => async (...args: any[]) => {
    (calls[name] ??= []).push(args);
    return fn(...args);
  };
  const defaults: OrderActivities = {
    reserveStock: async (input) => ({ ok: true, order: view(input.orderId) }),
    cancelOrder: async ({ orderId }) => ({ ...view(orderId, 'canceled') }),
    markPlaced: async () => undefined,
    acceptLatePayment: async () => true,
    recordRefund: async () => undefined,
    advanceFulfilment: async () => undefined,
    mirrorOrder: async () => undefined,
    removeMirror: async () => undefined,
    chargePayment: async () => ({ status: 'succeeded', chargeId: 'ch_1' }),
    refundPayment: async () => ({ refunded: true }),
    archiveOrder: async () => 'archived',
  };
  const merged = { ...defaults, ...behaviour } as Record<string, (...a: any[]) => Promise<unknown>>;
  return Object.fromEntries(Object.entries(merged).map(([k, fn]) => [k, record(k, fn)])) as unknown as OrderActivities;
}

interface Run {
  orderId: string;
  calls: Calls;
  reservation: Promise<ReservationResult>;
  handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>;
  worker: Worker;
  done: Promise<void>;
}

async function startOrder(behaviour: Behaviour, input: Partial<OrderInput> = {}): Promise<Run> {
  const taskQueue = `wf-${randomUUID()}`;
  const orderId = `o-${randomUUID()}`;
  const calls: Calls = {};
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: '200ms',
    activities: fakeActivities(calls, behaviour),
  });
  const done = worker.run();
  const full: OrderInput = {
    orderId,
    userId: 'u1',
    lines: [{ item_id: 'a', quantity: 1 }],
    paymentMethod: 'pm_card_visa',
    paymentTimeoutMs: 1500,
    latePaymentPolicy: 'refund',
    latePaymentWindowMs: 5000,
    ...input,
  };
  const start = new WithStartWorkflowOperation('orderWorkflow', { workflowId: orderId, taskQueue, args: [full], workflowIdConflictPolicy: 'USE_EXISTING' });
  const reservation = env.client.workflow.executeUpdateWithStart(reservationUpdate, { startWorkflowOperation: start });
  await reservation.catch(() => undefined);
  return { orderId, calls, reservation, handle: env.client.workflow.getHandle(orderId), worker, done };
}

async function finish(run: Run): Promise<OrderOutcome> {
  try {
    return await run.handle.result();
  } finally {
    run.worker.shutdown();
    await run.done;
  }
}

const count = (run: Run, name: keyof OrderActivities) => run.calls[name]?.length ?? 0;
/** A gateway that never answers: the activity waits until it is cancelled (by the worker's shutdown). */
const never = () => Context.current().cancelled as Promise<never>;

test('success: placed, mirror removed, then shipped and delivered', async () => {
  const run = await startOrder({});
  expect((await run.reservation).ok).toBe(true);
  await waitForPhase(run, 'placed');
  await run.handle.executeUpdate(shipUpdate);
  await expect(run.handle.executeUpdate(shipUpdate)).rejects.toBeInstanceOf(WorkflowUpdateFailedError); // twice is refused
  await run.handle.executeUpdate(deliverUpdate);
  const outcome = await finish(run);
  expect(outcome.result).toBe('delivered');
  expect(count(run, 'markPlaced')).toBe(1);
  expect(count(run, 'cancelOrder')).toBe(0);
  expect(count(run, 'mirrorOrder')).toBe(1);
  expect(count(run, 'removeMirror')).toBe(1);
  expect(run.calls.advanceFulfilment!.map((c) => (c[0] as { to: string }).to)).toEqual(['in_transit', 'delivered']);
  expect(run.calls.archiveOrder).toEqual([[{ orderId: run.orderId }]]); // archived once, as the last step
});

test('out of stock: the update answers with the shortages and nothing else runs', async () => {
  const run = await startOrder({ reserveStock: async () => ({ ok: false, shortages: [{ item_id: 'a', requested: 1, available: 0 }] }) });
  expect(await run.reservation).toEqual({ ok: false, shortages: [{ item_id: 'a', requested: 1, available: 0 }] });
  expect((await finish(run)).result).toBe('rejected');
  expect(count(run, 'chargePayment')).toBe(0);
  expect(count(run, 'mirrorOrder')).toBe(0);
  expect(count(run, 'archiveOrder')).toBe(0); // nothing was written, nothing to archive
});

test('decline: canceled with stock released, never retried', async () => {
  const run = await startOrder({
    chargePayment: async () => {
      throw ApplicationFailure.nonRetryable('declined', 'PaymentDeclined', 'ch_x');
    },
  });
  const outcome = await finish(run);
  expect(outcome).toMatchObject({ result: 'canceled', cancelReason: 'payment_declined' });
  expect(count(run, 'chargePayment')).toBe(1);
  expect(run.calls.cancelOrder![0]![0]).toMatchObject({ reason: 'payment_declined', paymentStatus: 'declined' });
  expect(count(run, 'markPlaced')).toBe(0);
  expect(count(run, 'archiveOrder')).toBe(1);
});

test('no response: canceled at expiry with stock released; the saga closes after the late window', async () => {
  const run = await startOrder({ chargePayment: never }, { latePaymentWindowMs: 500 });
  const outcome = await finish(run);
  expect(outcome).toMatchObject({ result: 'canceled', cancelReason: 'payment_timeout' });
  expect(run.calls.cancelOrder![0]![0]).toMatchObject({ reason: 'payment_timeout', paymentStatus: 'expired' });
  expect(count(run, 'refundPayment')).toBe(0);
  expect(count(run, 'archiveOrder')).toBe(1); // only once the late-payment window closed
});

test('late success, policy refund: refunded once and recorded on the order', async () => {
  const run = await startOrder({ chargePayment: async () => ({ status: 'pending', chargeId: 'ch_late' }) });
  await waitForPhase(run, 'canceled');
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' });
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' }); // redelivered webhook
  const outcome = await finish(run);
  expect(outcome).toMatchObject({ result: 'canceled', cancelReason: 'payment_timeout', latePayment: 'refunded' });
  expect(count(run, 'refundPayment')).toBe(1);
  expect(run.calls.recordRefund![0]![0]).toEqual({ orderId: run.orderId, late: true });
  expect(count(run, 'markPlaced')).toBe(0);
  expect(count(run, 'archiveOrder')).toBe(1);
});

test('late success, policy accept: the order is placed again and goes on', async () => {
  const run = await startOrder({ chargePayment: async () => ({ status: 'pending', chargeId: 'ch_late' }) }, { latePaymentPolicy: 'accept' });
  await waitForPhase(run, 'canceled');
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' });
  await waitForPhase(run, 'placed');
  expect((await run.handle.query(stateQuery)).latePayment).toBe('accepted');
  await run.handle.executeUpdate(shipUpdate);
  await run.handle.executeUpdate(deliverUpdate);
  expect((await finish(run)).result).toBe('delivered');
  expect(count(run, 'acceptLatePayment')).toBe(1);
  expect(count(run, 'refundPayment')).toBe(0);
});

test('late success, policy accept, but the stock is gone: refunded instead', async () => {
  const run = await startOrder({ chargePayment: async () => ({ status: 'pending', chargeId: 'ch_late' }), acceptLatePayment: async () => false }, { latePaymentPolicy: 'accept' });
  await waitForPhase(run, 'canceled');
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' });
  expect(await finish(run)).toMatchObject({ result: 'canceled', latePayment: 'refunded' });
  expect(count(run, 'refundPayment')).toBe(1);
});

test('customer cancel while waiting for payment: released, the pending charge voided', async () => {
  const run = await startOrder({ chargePayment: async () => ({ status: 'pending', chargeId: 'ch_p' }), refundPayment: async () => ({ refunded: false }) }, { paymentTimeoutMs: 60_000 });
  await waitForPhase(run, 'awaiting_payment');
  const canceled = await run.handle.executeUpdate(cancelUpdate);
  expect(canceled?.status).toBe('canceled');
  expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'canceled_by_customer' });
  expect(run.calls.cancelOrder![0]![0]).toMatchObject({ reason: 'canceled_by_customer', paymentStatus: 'voided' });
  expect(count(run, 'archiveOrder')).toBe(1);
});

test('customer cancel after placed: refunded and released; cancel after shipping refused', async () => {
  const run = await startOrder({});
  await waitForPhase(run, 'placed');
  await run.handle.executeUpdate(cancelUpdate);
  expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'canceled_by_customer' });
  expect(count(run, 'refundPayment')).toBe(1);
  expect(run.calls.recordRefund![0]![0]).toEqual({ orderId: run.orderId, late: false });
  expect(count(run, 'archiveOrder')).toBe(1);

  const shipped = await startOrder({});
  await waitForPhase(shipped, 'placed');
  await shipped.handle.executeUpdate(shipUpdate);
  await expect(shipped.handle.executeUpdate(cancelUpdate)).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  await shipped.handle.executeUpdate(deliverUpdate);
  expect((await finish(shipped)).result).toBe('delivered');
});

test('activity failures are retried until they succeed', async () => {
  let reserveFailures = 2;
  let mirrorFailures = 2;
  let placeFailures = 1;
  const run = await startOrder({
    reserveStock: async (input) => {
      if (reserveFailures-- > 0) throw new Error('MySQL blip');
      return { ok: true, order: view(input.orderId) };
    },
    mirrorOrder: async () => {
      if (mirrorFailures-- > 0) throw new Error('Redis blip');
    },
    markPlaced: async () => {
      if (placeFailures-- > 0) throw new Error('MySQL blip');
    },
  });
  expect((await run.reservation).ok).toBe(true);
  await waitForPhase(run, 'placed');
  expect(count(run, 'reserveStock')).toBe(3);
  expect(count(run, 'mirrorOrder')).toBe(3);
  expect(count(run, 'markPlaced')).toBe(2);
  await run.handle.terminate('test done');
  await finish(run).catch(() => undefined);
});

test('reservation that keeps failing: the caller gets an error and any half-reserved stock is released', async () => {
  const run = await startOrder({
    reserveStock: async () => {
      throw new Error('MySQL down');
    },
  });
  await expect(run.reservation).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  expect(await finish(run)).toMatchObject({ result: 'rejected' });
  expect(run.calls.cancelOrder![0]![0]).toMatchObject({ reason: 'reservation_failed' });
  expect(count(run, 'archiveOrder')).toBe(0);
});

test('archive failures (Cassandra down) are retried: the saga ends only once the order is archived', async () => {
  let archiveFailures = 2;
  const run = await startOrder({
    chargePayment: async () => {
      throw ApplicationFailure.nonRetryable('declined', 'PaymentDeclined', 'ch_x');
    },
    archiveOrder: async () => {
      if (archiveFailures-- > 0) throw new Error('Cassandra unavailable');
      return 'archived';
    },
  });
  expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'payment_declined' });
  expect(count(run, 'archiveOrder')).toBe(3);
});

describe('the race between payment success and expiry has exactly one winner', () => {
  for (const [name, signalAfterMs, expected] of [
    ['success just before expiry', 600, 'placed'],
    ['success just after expiry', 1400, 'refunded'],
  ] as const) test(name, async () => {
    const run = await startOrder({ chargePayment: async () => ({ status: 'pending', chargeId: 'ch_r' }) }, { paymentTimeoutMs: 1000, latePaymentWindowMs: 3000 });
    await new Promise((r) => setTimeout(r, signalAfterMs));
    await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_r' });
    if (expected === 'placed') {
      await waitForPhase(run, 'placed');
      await run.handle.terminate('test done');
    }
    await finish(run).catch(() => undefined);
    // One decision: placed xor canceled; a late success refunded exactly once, never both placed and refunded.
    expect(count(run, 'markPlaced') + count(run, 'cancelOrder')).toBe(1);
    expect(count(run, 'refundPayment')).toBe(expected === 'refunded' ? 1 : 0);
    expect(count(run, 'markPlaced')).toBe(expected === 'placed' ? 1 : 0);
  });
});

async function waitForPhase(run: Run, phase: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await run.handle.query(stateQuery);
    if (s.phase === phase) return;
    if (Date.now() > deadline) throw new Error(`phase is ${s.phase}, wanted ${phase}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

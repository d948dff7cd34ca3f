/**
 * Every branch of the order saga (v2) on a local Temporal dev server, with fake activities (the point here is
 * the workflow's decisions; the real activities are tested against the real stores in test/integration).
 * The saga is started as production starts it (orders/saga.ts: a plain start after the API reserved the order).
 * Timers are short through the workflow's input, as ORDER_PAYMENT_TIMEOUT does in production.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { OrderActivities } from '../../activities/order-activities';
import { cancelUpdate, deliverUpdate, paymentResultSignal, shipUpdate, stateQuery } from '../../orders/saga-messages';
import type { OrderInput, OrderOutcome, OrderView, ShipmentView } from '../../orders/model';
import type { Settlement } from '../../payments/settlement';
import { localTestEnv, workflowBundle } from '../support/temporal-env';
import { paymentsQueueOf } from '../../workflows/task-queues';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await localTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});

type Calls = Record<string, unknown[][]>;
type Behaviour = Partial<{
  [K in keyof OrderActivities]: (...args: Parameters<OrderActivities[K]>) => ReturnType<OrderActivities[K]>;
}>;

function view(orderId: string, status: OrderView['status'] = 'created'): OrderView {
  const now = new Date().toISOString();
  return {
    order_id: orderId,
    user_id: 'u1',
    status,
    items: [{ item_id: 'a', quantity: 1, price: 5 }],
    total_price: 5,
    payment_method: 'pm_card_visa',
    payment_status: 'pending',
    cancel_reason: null,
    late_payment: null,
    expires_at: now,
    created_at: now,
    updated_at: now,
  };
}

/** What a seller's ship and deliver do: `ship(run)` and `deliver(run)` send them as the API does. */
const SHIP = { supplierId: 's1', carrier: 'UPS', trackingNumber: '1Z1', by: 'supplier:s1' };
const DELIVER = { supplierId: 's1', by: 'supplier:s1' };
const ship = (r: { handle: Run['handle'] }, args = SHIP) => r.handle.executeUpdate(shipUpdate, { args: [args] });
const deliver = (r: { handle: Run['handle'] }) => r.handle.executeUpdate(deliverUpdate, { args: [DELIVER] });
const customerCancel = (r: { handle: Run['handle'] }) =>
  r.handle.executeUpdate(cancelUpdate, { args: [{ by: 'customer:u1' }] });
const shipped = new Map<string, ShipmentView>();

/** Fake activities that record every call; `behaviour` overrides any of them. The store steps that also remove the
 * Redis mirror (patch mirror-in-store-steps) place or cancel through `markPlaced` and `cancelOrder`, so a behaviour
 * given for those holds on either path; the mirror's try succeeds unless a behaviour says otherwise. */
function fakeActivities(calls: Calls, behaviour: Behaviour): OrderActivities {
  const record =
    <T>(name: string, fn: (...a: any[]) => Promise<T>) =>
    async (...args: any[]) => {
      (calls[name] ??= []).push(args);
      return fn(...args);
    };
  const defaults: OrderActivities = {
    claimOrder: async ({ orderId, mirror }) => ({
      order: view(orderId),
      chargeId: null,
      ...(mirror && { mirrored: true }),
    }),
    reserveStock: async (input) => ({ ok: true, order: view(input.orderId) }),
    cancelOrder: async ({ orderId }) => ({ ...view(orderId, 'canceled') }),
    cancelOrderAndUnmirror: async (req) => ({ view: await recorded.cancelOrder(req), unmirrored: true }),
    markPlaced: async () => true,
    markPlacedAndUnmirror: async (req) => {
      const placed = await recorded.markPlaced(req);
      return { placed, unmirrored: placed };
    },
    acceptLatePayment: async () => true,
    recordRefund: async () => undefined,
    recordExtraRefund: async () => undefined,
    advanceFulfilment: async () => undefined,
    // One seller, 's1', as orders/shipments.ts answers: the same ship again is a no-op, another tracking number refused.
    shipLines: async (req) => {
      const prior = shipped.get(req.orderId);
      if (prior && prior.tracking_number !== req.trackingNumber)
        throw ApplicationFailure.nonRetryable('already shipped', 'FulfilmentRefused');
      const shipment = prior ?? {
        supplier_id: req.supplierId,
        carrier: req.carrier,
        tracking_number: req.trackingNumber,
        status: 'in_transit' as const,
        shipped_at: new Date().toISOString(),
        delivered_at: null,
      };
      shipped.set(req.orderId, shipment);
      return { orderStatus: 'in_transit', shipment };
    },
    deliverLines: async (req) => {
      const prior = shipped.get(req.orderId);
      if (!prior) throw ApplicationFailure.nonRetryable('not shipped yet', 'FulfilmentRefused');
      return {
        orderStatus: 'delivered',
        shipment: { ...prior, status: 'delivered', delivered_at: new Date().toISOString() },
      };
    },
    extendPaymentWindow: async () => true,
    recordOrderAction: async () => undefined,
    mirrorOrder: async () => undefined,
    removeMirror: async () => undefined,
    chargePayment: async () => ({ status: 'succeeded', chargeId: 'ch_1' }),
    refundPayment: async () => ({ refunded: true }),
    settlePayment: async () => settled(),
    archiveOrder: async () => 'archived',
  };
  const merged = { ...defaults, ...behaviour } as Record<string, (...a: any[]) => Promise<unknown>>;
  const recorded = Object.fromEntries(
    Object.entries(merged).map(([k, fn]) => [k, record(k, fn)]),
  ) as unknown as OrderActivities;
  return recorded;
}

/** What settlePayment answers: nothing to settle, unless charges are named. */
const settled = (refunded: string[] = [], voided: string[] = []): Settlement => ({
  refundedChargeIds: refunded,
  voidedChargeIds: voided,
  refundedMinor: refunded.length * 500,
  unsettledChargeIds: [],
});

interface Run {
  orderId: string;
  calls: Calls;
  handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>;
  worker: Worker;
  /** The charge and the settlement run on the payments queue, as in production (workflows/task-queues.ts). */
  paymentsWorker: Worker;
  done: Promise<void>;
}

async function startOrder(behaviour: Behaviour, input: Partial<OrderInput> = {}): Promise<Run> {
  const taskQueue = `wf-${randomUUID()}`;
  const orderId = `o-${randomUUID()}`;
  const calls: Calls = {};
  const activities = fakeActivities(calls, behaviour);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: '200ms',
    activities,
  });
  const paymentsWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: paymentsQueueOf(taskQueue),
    shutdownGraceTime: '200ms',
    activities,
  });
  const done = Promise.all([worker.run(), paymentsWorker.run()]).then(() => undefined);
  const full: OrderInput = {
    orderId,
    userId: 'u1',
    lines: [{ item_id: 'a', quantity: 1 }],
    paymentMethod: 'pm_card_visa',
    // Long enough for a fresh worker's first workflow task; the expiry tests that wait it out are fast anyway.
    paymentTimeoutMs: 4000,
    latePaymentPolicy: 'refund',
    latePaymentWindowMs: 5000,
    ...input,
  };
  full.expiresAt ??= new Date(Date.now() + full.paymentTimeoutMs).toISOString();
  await env.client.workflow.start('orderWorkflow', { workflowId: orderId, taskQueue, args: [full] });
  return { orderId, calls, handle: env.client.workflow.getHandle(orderId), worker, paymentsWorker, done };
}

async function finish(run: Run): Promise<OrderOutcome> {
  try {
    return await run.handle.result();
  } finally {
    run.worker.shutdown();
    run.paymentsWorker.shutdown();
    await run.done;
  }
}

const count = (run: Run, name: keyof OrderActivities) => run.calls[name]?.length ?? 0;
const arg = (run: Run, name: keyof OrderActivities, i = 0) =>
  run.calls[name]?.[i]?.[0] as Record<string, unknown> | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A gateway that never answers: the activity waits until it is cancelled (it heartbeats, as the real one does). */
const never = async (): Promise<never> => {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 200);
  try {
    return await (ctx.cancelled as Promise<never>);
  } finally {
    clearInterval(beat);
  }
};

test('success: placed with its charge id, mirror removed, then shipped and delivered, archived once', async () => {
  const run = await startOrder({});
  await waitForPhase(run, 'placed');
  expect(arg(run, 'markPlaced')).toEqual({ orderId: run.orderId, chargeId: 'ch_1', late: false });
  // The claim wrote the mirror and placing removed it, on their way (patch mirror-in-store-steps).
  expect(arg(run, 'claimOrder')).toEqual({ orderId: run.orderId, mirror: true });
  expect(count(run, 'markPlacedAndUnmirror')).toBe(1);
  expect((await run.handle.query(stateQuery)).chargeId).toBe('ch_1');
  await ship(run);
  await ship(run); // the same shipment again: a no-op
  await expect(ship(run, { ...SHIP, trackingNumber: 'other' })).rejects.toBeInstanceOf(WorkflowUpdateFailedError); // another: refused
  await deliver(run);
  const outcome = await finish(run);
  expect(outcome.result).toBe('delivered');
  expect(count(run, 'cancelOrder')).toBe(0);
  expect(count(run, 'settlePayment')).toBe(0); // a delivered order keeps its one charge
  expect(count(run, 'mirrorOrder')).toBe(0);
  expect(count(run, 'removeMirror')).toBe(0);
  expect(count(run, 'shipLines')).toBe(3);
  expect(count(run, 'deliverLines')).toBe(1);
  expect(count(run, 'advanceFulfilment')).toBe(0); // the whole-order step of sagas before v3
  expect(run.calls.archiveOrder).toEqual([[{ orderId: run.orderId }]]);
});

test('an order that is not live (a Reset of a finished order): nothing is charged, reserved or archived', async () => {
  const run = await startOrder({
    claimOrder: async ({ orderId }) => {
      throw ApplicationFailure.nonRetryable(`order ${orderId} is not live`, 'OrderNotLive');
    },
  });
  expect((await finish(run)).result).toBe('rejected');
  for (const name of ['chargePayment', 'mirrorOrder', 'cancelOrder', 'archiveOrder', 'markPlaced'] as const)
    expect([name, count(run, name)]).toEqual([name, 0]);
});

test('a MySQL blip on the first step is retried until it answers: the order the buyer was told of is never given up', async () => {
  let failures = 4;
  const run = await startOrder(
    {
      claimOrder: async ({ orderId }) => {
        if (failures-- > 0) throw new Error('MySQL blip');
        return { order: view(orderId), chargeId: null };
      },
    },
    { paymentTimeoutMs: 60_000 },
  );
  await waitForPhase(run, 'placed');
  expect(count(run, 'claimOrder')).toBe(5);
  expect(count(run, 'cancelOrder')).toBe(0);
  await run.handle.terminate('test done');
  await finish(run).catch(() => undefined);
});

test('a Reset of a placed order goes on with fulfilment without charging again', async () => {
  const run = await startOrder({
    claimOrder: async ({ orderId }) => ({ order: view(orderId, 'placed'), chargeId: 'ch_paid' }),
  });
  await waitForPhase(run, 'placed');
  await ship(run);
  await deliver(run);
  expect((await finish(run)).result).toBe('delivered');
  expect(count(run, 'chargePayment')).toBe(0);
  expect(count(run, 'markPlaced')).toBe(0);
});

test('decline: canceled with stock released, never retried; the payments are settled before it ends', async () => {
  const run = await startOrder({
    chargePayment: async () => {
      throw ApplicationFailure.nonRetryable('declined', 'PaymentDeclined', 'ch_x');
    },
  });
  expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'payment_declined' });
  expect(count(run, 'chargePayment')).toBe(1);
  expect(arg(run, 'cancelOrder')).toMatchObject({ reason: 'payment_declined', paymentStatus: 'declined' });
  expect(count(run, 'cancelOrderAndUnmirror')).toBe(1); // the mirror removed on the cancel's way
  expect(count(run, 'removeMirror')).toBe(0);
  expect(count(run, 'settlePayment')).toBeGreaterThanOrEqual(1);
  expect(count(run, 'markPlaced')).toBe(0);
  expect(count(run, 'archiveOrder')).toBe(1);
});

test('no response: canceled at expiry, the pending charge voided when the late window closes, then archived', async () => {
  const run = await startOrder(
    { chargePayment: never, settlePayment: async () => settled([], ['ch_p']) },
    { latePaymentWindowMs: 500 },
  );
  const outcome = await finish(run);
  expect(outcome).toMatchObject({ result: 'canceled', cancelReason: 'payment_timeout' });
  expect(outcome.latePayment).toBeUndefined();
  expect(arg(run, 'cancelOrder')).toMatchObject({ reason: 'payment_timeout', paymentStatus: 'expired' });
  expect(count(run, 'settlePayment')).toBeGreaterThanOrEqual(1);
  expect(count(run, 'recordRefund')).toBe(0); // nothing was captured, nothing to record
  expect(count(run, 'archiveOrder')).toBe(1);
});

test('a charge that succeeds after the timer fired is refunded, never kept on the canceled order', async () => {
  const run = await startOrder(
    {
      chargePayment: async () => {
        // The gateway answers after the window (and the call ignores the cancel, as a slow one may).
        const ctx = Context.current();
        const beat = setInterval(() => ctx.heartbeat(), 200);
        await sleep(4500);
        clearInterval(beat);
        return { status: 'succeeded', chargeId: 'ch_slow' };
      },
      settlePayment: async () => settled(['ch_slow']),
    },
    { paymentTimeoutMs: 2500, latePaymentWindowMs: 60_000 },
  );
  const outcome = await finish(run);
  expect(outcome).toMatchObject({ result: 'canceled', cancelReason: 'payment_timeout', latePayment: 'refunded' });
  expect(count(run, 'markPlaced')).toBe(0);
  expect(arg(run, 'recordRefund')).toEqual({ orderId: run.orderId, late: true });
  // It did not sit out the 60 s late window: the success was already known.
});

test('a saga started after the payment window closed never charges: canceled and released', async () => {
  const run = await startOrder({}, { expiresAt: new Date(Date.now() - 1000).toISOString(), latePaymentWindowMs: 300 });
  expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'payment_timeout' });
  expect(count(run, 'chargePayment')).toBe(0);
  expect(arg(run, 'cancelOrder')).toMatchObject({ reason: 'payment_timeout', paymentStatus: 'expired' });
  expect(count(run, 'settlePayment')).toBeGreaterThanOrEqual(1);
});

test('late success by webhook, policy refund: refunded by charge and recorded once', async () => {
  let lateRefunded = false;
  const run = await startOrder({
    chargePayment: async () => ({ status: 'pending', chargeId: 'ch_late' }),
    settlePayment: async () => settled(lateRefunded ? ['ch_late'] : []),
  });
  await waitForPhase(run, 'canceled');
  lateRefunded = true;
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' });
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' }); // redelivered webhook
  const outcome = await finish(run);
  expect(outcome).toMatchObject({ result: 'canceled', cancelReason: 'payment_timeout', latePayment: 'refunded' });
  expect(arg(run, 'recordRefund')).toEqual({ orderId: run.orderId, late: true });
  expect(count(run, 'markPlaced')).toBe(0);
  expect(count(run, 'archiveOrder')).toBe(1);
});

test('late success, policy accept: the order is placed again with the late charge and goes on', async () => {
  const run = await startOrder(
    { chargePayment: async () => ({ status: 'pending', chargeId: 'ch_late' }) },
    { latePaymentPolicy: 'accept' },
  );
  await waitForPhase(run, 'canceled');
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' });
  await waitForPhase(run, 'placed');
  expect(await run.handle.query(stateQuery)).toMatchObject({ latePayment: 'accepted', chargeId: 'ch_late' });
  await ship(run);
  await deliver(run);
  expect((await finish(run)).result).toBe('delivered');
  expect(arg(run, 'acceptLatePayment')).toEqual({ orderId: run.orderId, chargeId: 'ch_late' });
  expect(count(run, 'recordRefund')).toBe(0);
});

test('late success, policy accept, but the stock is gone: refunded instead', async () => {
  let lateRefunded = false;
  const run = await startOrder(
    {
      chargePayment: async () => ({ status: 'pending', chargeId: 'ch_late' }),
      acceptLatePayment: async () => false,
      settlePayment: async () => settled(lateRefunded ? ['ch_late'] : []),
    },
    { latePaymentPolicy: 'accept' },
  );
  await waitForPhase(run, 'canceled');
  lateRefunded = true;
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' });
  expect(await finish(run)).toMatchObject({ result: 'canceled', latePayment: 'refunded' });
  expect(count(run, 'recordRefund')).toBe(1);
});

test('late success accepted, then the customer cancels: the refund is of the order, not of a late payment', async () => {
  let refunded = false;
  const run = await startOrder(
    {
      chargePayment: async () => ({ status: 'pending', chargeId: 'ch_late' }),
      settlePayment: async () => settled(refunded ? ['ch_late'] : []),
    },
    { latePaymentPolicy: 'accept' },
  );
  await waitForPhase(run, 'canceled');
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_late' });
  await waitForPhase(run, 'placed');
  // The order is placed again (MySQL clears its cancel_reason): it no longer reads as canceled for payment_timeout.
  expect((await run.handle.query(stateQuery)).cancelReason).toBeUndefined();
  refunded = true;
  await customerCancel(run);
  expect(await finish(run)).toMatchObject({
    result: 'canceled',
    cancelReason: 'canceled_by_customer',
    latePayment: 'accepted',
  });
  expect(arg(run, 'recordRefund')).toEqual({ orderId: run.orderId, late: false });
  expect(count(run, 'recordRefund')).toBe(1);
});

test('customer cancel with the charge in flight: the attempt is stopped and settled before the order is canceled', async () => {
  const run = await startOrder(
    { chargePayment: never, settlePayment: async () => settled([], ['ch_p']) },
    { paymentTimeoutMs: 60_000 },
  );
  await waitForPhase(run, 'awaiting_payment');
  await sleep(200);
  const canceled = await customerCancel(run);
  expect(canceled?.status).toBe('canceled');
  expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'canceled_by_customer' });
  expect(arg(run, 'cancelOrder')).toMatchObject({ reason: 'canceled_by_customer', paymentStatus: 'voided' });
  expect(count(run, 'archiveOrder')).toBe(1);
});

test('customer cancel after placed: refunded and released; cancel after shipping refused', async () => {
  const run = await startOrder({ settlePayment: async () => settled(['ch_1']) });
  await waitForPhase(run, 'placed');
  await customerCancel(run);
  expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'canceled_by_customer' });
  expect(arg(run, 'settlePayment')).toEqual({ orderId: run.orderId, keepChargeId: null });
  expect(arg(run, 'recordRefund')).toEqual({ orderId: run.orderId, late: false });
  expect(arg(run, 'cancelOrder')).toMatchObject({ paymentStatus: 'refunded' });
  expect(count(run, 'archiveOrder')).toBe(1);

  const shipped = await startOrder({});
  await waitForPhase(shipped, 'placed');
  await ship(shipped);
  await expect(customerCancel(shipped)).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  await deliver(shipped);
  expect((await finish(shipped)).result).toBe('delivered');
});

test('a ship sent while the saga is still placing the order (the row already says placed) waits and ships', async () => {
  const run = await startOrder({
    markPlaced: async () => {
      await sleep(1000);
      return true;
    },
  });
  await eventually(() => count(run, 'markPlaced') === 1);
  await ship(run);
  expect((await run.handle.query(stateQuery)).phase).toBe('in_transit');
  await run.handle.terminate('test done');
  await finish(run).catch(() => undefined);
});

test('a ship sent while placing fails once the order turns out canceled under the saga', async () => {
  const run = await startOrder({
    markPlaced: async () => {
      await sleep(1000);
      return false;
    },
  });
  await eventually(() => count(run, 'markPlaced') === 1);
  await expect(ship(run)).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  expect((await finish(run)).result).toBe('canceled');
  expect(count(run, 'shipLines')).toBe(0);
});

describe("an operator's Cancel of the workflow (Web UI, CLI) is a force-cancel that compensates", () => {
  test('while awaiting payment: released, the charge settled, archived', async () => {
    const run = await startOrder({ chargePayment: never }, { paymentTimeoutMs: 60_000 });
    await waitForPhase(run, 'awaiting_payment');
    await run.handle.cancel();
    expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'canceled_by_operator' });
    expect(arg(run, 'cancelOrder')).toMatchObject({ reason: 'canceled_by_operator' });
    expect(count(run, 'settlePayment')).toBeGreaterThanOrEqual(1);
    expect(count(run, 'archiveOrder')).toBe(1);
  });

  test('after placed: refunded and released', async () => {
    const run = await startOrder({ settlePayment: async () => settled(['ch_1']) });
    await waitForPhase(run, 'placed');
    await run.handle.cancel();
    expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'canceled_by_operator' });
    expect(arg(run, 'cancelOrder')).toMatchObject({ reason: 'canceled_by_operator', paymentStatus: 'refunded' });
    expect(count(run, 'recordRefund')).toBe(1);
  });
});

test('a success that arrives while a declined order is being archived is settled before the saga ends, as a late payment', async () => {
  let successArrived = false;
  const run = await startOrder({
    chargePayment: async () => {
      throw ApplicationFailure.nonRetryable('declined', 'PaymentDeclined', 'ch_x');
    },
    archiveOrder: async () => {
      await sleep(700);
      return 'archived';
    },
    settlePayment: async () => settled(successArrived ? ['ch_other'] : []),
  });
  await waitForPhase(run, 'canceled');
  await sleep(200); // the archive step is running
  successArrived = true;
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_other' });
  // The money came after the cancel: a late payment, recorded as the late-payment workflow and the reconciler
  // record the same refund when they get there first.
  expect(await finish(run)).toMatchObject({ result: 'canceled', latePayment: 'refunded' });
  const last = run.calls.settlePayment!.length;
  expect(last).toBeGreaterThanOrEqual(2);
  expect(count(run, 'recordRefund')).toBe(1);
  expect(arg(run, 'recordRefund')).toEqual({ orderId: run.orderId, late: true });
});

test('a second success for a placed order is refunded at once, keeping the charge that paid; the order stays paid', async () => {
  let paidTwice = false;
  const run = await startOrder({ settlePayment: async () => settled(paidTwice ? ['ch_extra'] : []) });
  await waitForPhase(run, 'placed');
  paidTwice = true;
  await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_extra' });
  await waitForCall(run, 'recordExtraRefund');
  expect(arg(run, 'settlePayment')).toEqual({ orderId: run.orderId, keepChargeId: 'ch_1' });
  expect(arg(run, 'recordExtraRefund')).toEqual({
    orderId: run.orderId,
    chargeIds: ['ch_extra'],
    keptChargeId: 'ch_1',
    refundedMinor: 500,
  });
  expect(await run.handle.query(stateQuery)).toMatchObject({ phase: 'placed', payment: 'succeeded', chargeId: 'ch_1' });
  paidTwice = false;
  await ship(run);
  await deliver(run);
  expect((await finish(run)).result).toBe('delivered');
  expect(count(run, 'recordRefund')).toBe(0);
  expect(count(run, 'settlePayment')).toBe(1); // nothing left to settle at the close
});

test('the order canceled under the saga (markPlaced refused): the charge is refunded, not kept', async () => {
  const run = await startOrder({ markPlaced: async () => false, settlePayment: async () => settled(['ch_1']) });
  expect((await finish(run)).result).toBe('canceled');
  expect(count(run, 'recordRefund')).toBe(1);
});

test('Redis down: the payment goes on beside the mirror, which gives up after its bound', async () => {
  const order: string[] = [];
  const run = await startOrder(
    {
      // The claim's one try at the mirror failed too: the mirror activity takes over.
      claimOrder: async ({ orderId }) => ({ order: view(orderId), chargeId: null, mirrored: false }),
      mirrorOrder: async () => {
        order.push('mirror');
        throw new Error('Redis unavailable');
      },
      removeMirror: async () => {
        order.push('removeMirror');
        throw new Error('Redis unavailable');
      },
      chargePayment: async () => {
        order.push('charge');
        return { status: 'succeeded', chargeId: 'ch_1' };
      },
    },
    { paymentTimeoutMs: 60_000 },
  );
  await waitForPhase(run, 'placed', 40_000);
  // The mirror is removed only once its write has given up, so a late write cannot bring it back...
  await eventually(() => order.includes('removeMirror'), 40_000);
  expect(order.lastIndexOf('mirror')).toBeLessThan(order.indexOf('removeMirror'));
  // ...and the charge did not wait for the mirror's retries (it used to, for their whole 15 s bound): it came
  // before the mirror's last attempt.
  expect(order.indexOf('charge')).toBeGreaterThanOrEqual(0);
  expect(order.indexOf('charge')).toBeLessThan(order.lastIndexOf('mirror'));
  expect(count(run, 'mirrorOrder')).toBeGreaterThan(1);
  // Placing did not try to remove the mirror while the mirror activity could still write it.
  expect(count(run, 'markPlacedAndUnmirror')).toBe(0);
  await run.handle.terminate('test done');
  await finish(run).catch(() => undefined);
});

test('Redis down when the order is placed: the removal the placing could not make runs as an activity', async () => {
  const run = await startOrder({
    markPlacedAndUnmirror: async () => ({ placed: true, unmirrored: false }),
    cancelOrderAndUnmirror: async ({ orderId }) => ({ view: view(orderId, 'canceled'), unmirrored: false }),
  });
  await waitForPhase(run, 'placed');
  await eventually(() => count(run, 'removeMirror') === 1);
  expect(count(run, 'mirrorOrder')).toBe(0); // the claim's try had written it
  await customerCancel(run);
  expect(await finish(run)).toMatchObject({ result: 'canceled', cancelReason: 'canceled_by_customer' });
  expect(count(run, 'cancelOrderAndUnmirror')).toBe(1);
  expect(count(run, 'removeMirror')).toBe(2);
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
    ['success just before expiry', 1500, 'placed'],
    ['success just after expiry', 4500, 'refunded'],
  ] as const)
    test(name, async () => {
      let captured = false;
      const run = await startOrder(
        {
          chargePayment: async () => ({ status: 'pending', chargeId: 'ch_r' }),
          settlePayment: async () => settled(captured ? ['ch_r'] : []),
        },
        { paymentTimeoutMs: 3000, latePaymentWindowMs: 5000 },
      );
      await sleep(signalAfterMs);
      captured = true;
      await run.handle.signal(paymentResultSignal, { status: 'succeeded', chargeId: 'ch_r' });
      if (expected === 'placed') {
        await waitForPhase(run, 'placed');
        await run.handle.terminate('test done');
      }
      await finish(run).catch(() => undefined);
      // One decision: placed xor canceled; a late success refunded exactly once, never both placed and refunded.
      expect(count(run, 'markPlaced') + count(run, 'cancelOrder')).toBe(1);
      expect(count(run, 'recordRefund')).toBe(expected === 'refunded' ? 1 : 0);
      expect(count(run, 'markPlaced')).toBe(expected === 'placed' ? 1 : 0);
    });
});

async function eventually(ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await sleep(50);
  }
}

async function waitForCall(run: Run, name: keyof OrderActivities, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (count(run, name) === 0) {
    if (Date.now() > deadline) throw new Error(`${name} was not called`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForPhase(run: Run, phase: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await run.handle.query(stateQuery);
    if (s.phase === phase) return;
    if (Date.now() > deadline) throw new Error(`phase is ${s.phase}, wanted ${phase}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

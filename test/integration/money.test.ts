/**
 * Money and stock under the faults of issue 11, through the real saga, the real stores and the durable gateway
 * simulator: a charge that lands after the payment timer, a saga started after its window closed, a success
 * for an order already archived, an operator's Cancel and Terminate of a saga. In every case the money ends
 * right (a succeeded charge belongs to a placed order or is refunded/voided) and so does the stock.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, reserveUnstarted, stockOf, TestUser } from '../support/fixtures';
import { call, eventually, TEST_SHIPMENT } from '../support/http';
import { SagaSweeper } from '../../orders/saga-sweeper';
import { logger } from '../../lib/logger';
import { shipUpdate, stateQuery } from '../../orders/saga-messages';
import { sellersOf } from '../../orders/shipment-records';
import type { Charge } from '../../payments/gateway';
import { ensureReconcilerSchedule } from '../../orders/schedules';
import { OrderArchive } from '../../orders/archive';
import { recordExtraRefundOn, recordRefundOn } from '../../orders/refunds';
import { signPayload, SIGNATURE_HEADER } from '../../payments/webhook-signature';

let p: Platform;
let buyer: TestUser;

beforeAll(async () => {
  p = await startPlatform({
    relay: true,
    env: { ORDER_PAYMENT_TIMEOUT: '1500ms', ORDER_LATE_PAYMENT_WINDOW: '1s', RECONCILE_GRACE: '0' },
  });
  buyer = await makeUser(p.stores.mysql, p.deps.tokens);
});
afterAll(async () => {
  await p?.stop();
});
afterEach(async () => {
  await call(p.cfg.PAYMENT_GATEWAY_URL, 'DELETE', '/v1/test/faults');
});

const order = (items: { item_id: string; quantity: number }[], payment_method = 'pm_card_visa') =>
  call(p.baseUrl, 'POST', '/orders', { token: buyer.token, body: { user_id: buyer.userId, items, payment_method } });
const getOrder = async (id: string) => (await call(p.baseUrl, 'GET', `/orders/${id}`, { token: buyer.token })).body;
const statusIs = (id: string, status: string, timeoutMs = 20_000) =>
  eventually(async () => ((await getOrder(id)).status === status ? getOrder(id) : null), timeoutMs);
const chargesOf = async (orderId: string): Promise<Charge[]> => (await p.gateway.listCharges({ orderId })).charges;
/** Another charge of the order made straight at the gateway (a retry by another channel): it succeeds, and its
 * webhook reaches the API unless a fault drops it. */
const chargeAgain = (orderId: string, key: string, amountMinor = 1000) =>
  p.gateway.createCharge({
    idempotencyKey: `${key}-${orderId}`,
    orderId,
    amountMinor,
    currency: 'USD',
    paymentMethod: 'pm_card_visa',
    expiresAt: new Date().toISOString(),
  });
const faults = (rules: Record<string, unknown>[]) =>
  call(p.cfg.PAYMENT_GATEWAY_URL, 'POST', '/v1/test/faults', { body: { rules } });

/** The invariant: every charge that holds money pays for a placed (or later) order. */
const sellerOf = async (orderId: string) => (await sellersOf(p.stores.mysql, orderId))[0]!;

async function moneyEndsRight(orderId: string): Promise<void> {
  const o = await getOrder(orderId);
  const holding = (await chargesOf(orderId)).filter(
    (c) => c.status === 'pending' || (c.status === 'succeeded' && c.amountRefundedMinor < c.amountMinor),
  );
  if (['placed', 'in_transit', 'delivered'].includes(o.status)) expect(holding.length).toBe(1);
  else expect(holding).toEqual([]);
}

test('a charge that succeeds after the payment timer fired (its webhook lost) is refunded, the order canceled and its stock back', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 3 });
  await faults([
    { fault: 'slow', delay_ms: 1900, payment_method: 'pm_card_visa', times: 1 },
    { fault: 'drop_webhooks', payment_method: 'pm_card_visa', times: 1 },
  ]);
  const r = await order([{ item_id: a, quantity: 2 }]);
  expect(r.status).toBe(201);
  const id = r.body.order_id;
  const o = await eventually(async () => {
    const v = await getOrder(id);
    return v.status === 'canceled' && v.payment_status === 'refunded' ? v : null;
  }, 20_000);
  expect(o).toMatchObject({ cancel_reason: 'payment_timeout', late_payment: 'refunded' });
  expect((await chargesOf(id)).map((c) => c.status)).toEqual(['refunded']);
  expect(await stockOf(p.stores.mysql, a)).toBe(3);
  await moneyEndsRight(id);
});

test('a reserved order whose saga never started before its window closed is canceled by the sweeper: no charge, stock back', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 2 });
  const orderId = await reserveUnstarted(p.stores.mysql, buyer.userId, { itemId: a, quantity: 2, expiresInMs: -1000 });
  expect(await stockOf(p.stores.mysql, a)).toBe(0);
  const sweeper = new SagaSweeper(
    p.stores.mysql,
    p.stores.redis,
    p.stores.temporal,
    { ...p.cfg, ORDER_SAGA_SWEEP_AFTER: 0 },
    logger,
  );
  expect((await sweeper.sweep()).get(orderId)).toBe('expired');
  expect(await getOrder(orderId)).toMatchObject({
    status: 'canceled',
    cancel_reason: 'payment_timeout',
    payment_status: 'expired',
  });
  expect(await stockOf(p.stores.mysql, a)).toBe(2);
  expect(await chargesOf(orderId)).toEqual([]);
});

test('a success for an order already archived is refunded by charge id and recorded on the archived order', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const r = await order([{ item_id: a, quantity: 1 }], 'pm_card_chargeDeclined');
  const id = r.body.order_id;
  await eventually(async () => (await p.stores.mysql('orders').where({ order_id: id }).first()) === undefined, 20_000); // archived
  // A second charge of the order succeeds at the gateway (a retry by another channel): its webhook reaches the API.
  const late = await chargeAgain(id, 'second');
  expect(late.status).toBe('succeeded');
  await eventually(async () => (await p.gateway.retrieveCharge(late.chargeId))?.status === 'refunded', 20_000);
  const archived = await eventually(async () => {
    const v = await getOrder(id);
    return v.payment_status === 'refunded' ? v : null;
  });
  expect(archived).toMatchObject({ status: 'canceled', cancel_reason: 'payment_declined', late_payment: 'refunded' });
  await moneyEndsRight(id);
});

test('two late payments of one archived order are both refunded, both noted in its history and both told, once each', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const id = (await order([{ item_id: a, quantity: 1 }], 'pm_card_chargeDeclined')).body.order_id;
  await eventually(async () => (await p.stores.mysql('orders').where({ order_id: id }).first()) === undefined, 20_000); // archived
  const late = [await chargeAgain(id, 'late-one'), await chargeAgain(id, 'late-two')];
  for (const c of late)
    await eventually(async () => (await p.gateway.retrieveCharge(c.chargeId))?.status === 'refunded', 20_000);
  await moneyEndsRight(id);
  const admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  const lines = async () =>
    (await call(p.baseUrl, 'GET', `/admin/orders/${id}/history`, { token: admin.token })).body.history
      .map((h: { reason: string | null }) => h.reason)
      .filter((r: string | null) => r?.startsWith('late payment '))
      .sort();
  const lateEvents = async () =>
    (await p.stores.mysql('outbox').where({ msg_key: id }).andWhere('payload', 'like', '%"order.refunded"%')).filter(
      (row) => JSON.parse(row.payload).data.late === true,
    ).length;
  const expected = late.map((c) => `late payment ${c.chargeId} refunded`).sort();
  await eventually(async () => JSON.stringify(await lines()) === JSON.stringify(expected), 20_000);
  await eventually(async () => (await lateEvents()) === 2);
  expect(await getOrder(id)).toMatchObject({
    status: 'canceled',
    payment_status: 'refunded',
    late_payment: 'refunded',
  });
  // The first one's step run again (a retried activity) adds no line and tells nobody again.
  const archive = new OrderArchive(p.stores.cassandra, p.stores.mysql);
  const again = { chargeId: late[0]!.chargeId, amountMinor: 1000 };
  expect(await recordRefundOn(p.stores.mysql, archive, id, true, again)).toBe('already_recorded');
  expect(await lines()).toEqual(expected);
  expect(await lateEvents()).toBe(2);
});

test("an operator's Cancel of a saga awaiting payment compensates: canceled, stock back, the pending charge voided", async () => {
  const a = await makeItem(p.stores.mysql, { stock: 3 });
  const r = await order([{ item_id: a, quantity: 3 }], 'pm_card_noResponse');
  const id = r.body.order_id;
  await eventually(async () => (await chargesOf(id)).length === 1, 10_000);
  await p.stores.temporal.workflow.getHandle(id).cancel();
  const o = await statusIs(id, 'canceled');
  expect(o.cancel_reason).toBe('canceled_by_operator');
  expect(await stockOf(p.stores.mysql, a)).toBe(3);
  expect((await chargesOf(id)).map((c) => c.status)).toEqual(['voided']);
});

test('a saga terminated while its order awaits payment: the reconciler cancels the order once expired, releases the stock, voids the charge', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 3 });
  const r = await order([{ item_id: a, quantity: 3 }], 'pm_card_noResponse');
  const id = r.body.order_id;
  await eventually(async () => (await chargesOf(id)).length === 1, 10_000);
  await p.stores.temporal.workflow.getHandle(id).terminate('operator test');
  await new Promise((res) => setTimeout(res, 1600)); // past the payment window
  expect((await getOrder(id)).status).toBe('created'); // nothing else would ever release it
  const report = await p.reconciler.run();
  expect(report.ordersCanceled).toContain(id);
  expect(await getOrder(id)).toMatchObject({ status: 'canceled', cancel_reason: 'payment_timeout' });
  expect(await stockOf(p.stores.mysql, a)).toBe(3);
  expect((await chargesOf(id)).map((c) => c.status)).toEqual(['voided']);
  expect((await p.reconciler.run()).ordersCanceled).not.toContain(id); // done once
});

test('a saga terminated after its order was placed is resumed by the reconciler: the order can still be shipped', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const r = await order([{ item_id: a, quantity: 1 }]);
  const id = r.body.order_id;
  await statusIs(id, 'placed');
  await p.stores.temporal.workflow.getHandle(id).terminate('operator test');
  // The reconciler finds closed sagas through Temporal's visibility, which shows a termination a moment later:
  // a pass right after it may not see it yet; a later pass (it runs periodically) does.
  await eventually(async () => (await p.reconciler.run()).sagasResumed.includes(id));
  await eventually(async () => (await p.stores.temporal.workflow.getHandle(id).query(stateQuery)).phase === 'placed');
  await p.stores.temporal.workflow.getHandle(id).executeUpdate(shipUpdate, {
    args: [{ supplierId: await sellerOf(id), carrier: 'UPS', trackingNumber: '1Z1', by: 'test' }],
  });
  expect((await getOrder(id)).status).toBe('in_transit');
  expect((await chargesOf(id)).filter((c) => c.status === 'succeeded')).toHaveLength(1); // charged once
  expect(await stockOf(p.stores.mysql, a)).toBe(0);
});

test('the reconciler refunds a captured charge that pays for no order and leaves the charge of a placed order alone', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const r = await order([{ item_id: a, quantity: 1 }]);
  const id = r.body.order_id;
  await statusIs(id, 'placed');
  const strayOrder = `o-${randomUUID()}`;
  await faults([{ fault: 'drop_webhooks', order_id: strayOrder }]); // nobody is told: only the reconciler can find it
  const stray = await chargeAgain(strayOrder, 'stray', 500);
  const report = await eventually(async () => {
    const rep = await p.reconciler.run();
    return rep.refunded.includes(stray.chargeId) ? rep : null;
  });
  expect(report.refunded).not.toContain((await chargesOf(id))[0]!.chargeId);
  expect((await p.gateway.retrieveCharge(stray.chargeId))?.status).toBe('refunded');
  await moneyEndsRight(id);
});

test('a success for a declined order that nobody was told of is refunded by the reconciler and recorded as a late payment', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const r = await order([{ item_id: a, quantity: 1 }], 'pm_card_chargeDeclined');
  const id = r.body.order_id;
  await eventually(async () => (await p.stores.mysql('orders').where({ order_id: id }).first()) === undefined, 20_000); // archived
  await faults([{ fault: 'drop_webhooks', order_id: id }]); // only the reconciler can find it
  const late = await chargeAgain(id, 'unseen');
  expect(late.status).toBe('succeeded');
  await eventually(async () => (await p.reconciler.run()).refunded.includes(late.chargeId));
  expect(await getOrder(id)).toMatchObject({
    status: 'canceled',
    cancel_reason: 'payment_declined',
    payment_status: 'refunded',
    late_payment: 'refunded',
  });
  await moneyEndsRight(id);
});

/** A paid order canceled by its buyer while the gateway refuses its refund: the saga waits for a person. */
async function canceledWithRefundRefused(): Promise<{ id: string; paid: Charge }> {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const id = (await order([{ item_id: a, quantity: 1 }])).body.order_id;
  await statusIs(id, 'placed');
  const [paid] = await chargesOf(id);
  await faults([{ fault: 'refuse', operation: 'refund', order_id: id }]);
  expect((await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: buyer.token })).status).toBe(200);
  await eventually(async () => (await p.stores.temporal.workflow.getHandle(id).query(stateQuery)).needsAttention);
  return { id, paid: paid! };
}

/** An operator's record of a refund made outside the gateway. */
async function refundByHand(id: string, reference: string) {
  const admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  return call(p.baseUrl, 'POST', `/admin/orders/${id}/manual-refund`, { token: admin.token, body: { reference } });
}

test('a refund the gateway refused and an operator made by hand is not made again by the reconciler once the gateway accepts refunds', async () => {
  const { id, paid } = await canceledWithRefundRefused();
  expect((await refundByHand(id, 'bank-transfer-9')).status).toBe(200);
  await call(p.cfg.PAYMENT_GATEWAY_URL, 'DELETE', '/v1/test/faults'); // the gateway takes refunds again
  await eventually(async () => (await p.stores.mysql('orders').where({ order_id: id }).first()) === undefined, 20_000);
  const report = await p.reconciler.run();
  // The buyer has the money back once, by the bank transfer: the charge the gateway still shows captured stays so.
  expect(report.refunded).not.toContain(paid.chargeId);
  expect((await p.gateway.retrieveCharge(paid.chargeId))?.status).toBe('succeeded');
  expect(await getOrder(id)).toMatchObject({ status: 'canceled', payment_status: 'refunded' });
  // Nor by a late redelivery of that charge's success webhook: acknowledged, no late-payment refund started.
  const body = JSON.stringify({
    id: `evt_${randomUUID()}`,
    type: 'charge.succeeded',
    order_id: id,
    charge_id: paid.chargeId,
    amount: paid.amountMinor,
    currency: paid.currency,
  });
  const hook = await call(p.baseUrl, 'POST', '/payments/webhook', {
    rawBody: body,
    headers: { [SIGNATURE_HEADER]: signPayload(p.cfg.PAYMENT_WEBHOOK_SECRET, body) },
  });
  expect(hook.status).toBe(200);
  await expect(p.stores.temporal.workflow.getHandle(`late-payment-${paid.chargeId}`).describe()).rejects.toThrow(
    WorkflowNotFoundError,
  );
});

test('a success that arrives while a canceled order waits for a manual refund is refunded, the charge refunded by hand is not', async () => {
  const { id, paid } = await canceledWithRefundRefused();
  const saga = p.stores.temporal.workflow.getHandle(id);
  await call(p.cfg.PAYMENT_GATEWAY_URL, 'DELETE', '/v1/test/faults');
  const second = await chargeAgain(id, 'second');
  await eventually(async () =>
    ((await saga.fetchHistory()).events ?? []).some((e) => e.workflowExecutionSignaledEventAttributes),
  );
  expect((await refundByHand(id, 'bank-transfer-10')).status).toBe(200);
  await saga.result();
  expect((await p.gateway.retrieveCharge(second.chargeId))?.status).toBe('refunded');
  expect((await p.gateway.retrieveCharge(paid.chargeId))?.status).toBe('succeeded'); // paid back by hand, once
  // The second payment's refund is recorded as a late payment on the archived order, and its buyer told, although
  // the order's own refund (by hand) was recorded before it.
  expect(await getOrder(id)).toMatchObject({
    status: 'canceled',
    payment_status: 'refunded',
    late_payment: 'refunded',
  });
  const refundEvents = await p.stores
    .mysql('outbox')
    .where({ msg_key: id })
    .andWhere('payload', 'like', '%"order.refunded"%');
  expect(refundEvents.map((row) => JSON.parse(row.payload).data.late ?? false).sort()).toEqual([false, true]);
});

test('a buyer charged twice for a placed order gets the second charge back at once; the order stays paid by the first', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const id = (await order([{ item_id: a, quantity: 1 }])).body.order_id;
  await statusIs(id, 'placed');
  const [paid] = await chargesOf(id);
  const second = await chargeAgain(id, 'twice');
  expect(second.status).toBe('succeeded');
  await eventually(async () => (await p.gateway.retrieveCharge(second.chargeId))?.status === 'refunded', 20_000);
  expect((await p.gateway.retrieveCharge(paid.chargeId))?.status).toBe('succeeded');
  const o = await getOrder(id);
  expect(o).toMatchObject({ status: 'placed', payment_status: 'succeeded' });
  await moneyEndsRight(id);
  const line = `refunded ${second.chargeId}, paid beside ${paid.chargeId}`;
  const lines = () => p.stores.mysql('order_status_history').where({ order_id: id, reason: line }).count({ n: '*' });
  // The saga records the refund in a step after the gateway's: wait for it, then there is exactly one line.
  await eventually(async () => Number((await lines())[0]!.n) > 0, 20_000);
  expect(Number((await lines())[0]!.n)).toBe(1);
  // The step run again (a retried activity) records nothing more: the line, and the buyer's event written with it,
  // are checked under the order's lock.
  const archive = new OrderArchive(p.stores.cassandra, p.stores.mysql);
  await recordExtraRefundOn(p.stores.mysql, archive, {
    orderId: id,
    chargeIds: [second.chargeId],
    keptChargeId: paid.chargeId,
    refundedMinor: 1000,
  });
  expect(Number((await lines())[0]!.n)).toBe(1);
});

/** A one-unit order paid, shipped, delivered and archived. */
async function deliveredAndArchived(): Promise<string> {
  const admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const id = (await order([{ item_id: a, quantity: 1 }])).body.order_id;
  await statusIs(id, 'placed');
  const ship = await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin.token, body: TEST_SHIPMENT });
  expect(ship.status).toBe(200);
  expect((await call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: admin.token })).status).toBe(200);
  await eventually(async () => (await p.stores.mysql('orders').where({ order_id: id }).first()) === undefined, 20_000);
  return id;
}

/** The buyer's `order.refunded` events for a second payment's refund, as written to the outbox. */
const extraRefundEvents = async (id: string) =>
  (await p.stores.mysql('outbox').where({ msg_key: id }).andWhere('payload', 'like', '%"extra_charge"%')).map(
    (row) => JSON.parse(row.payload).data.extra_charge,
  );

/** The archived order's history lines that record `charge`'s refund beside the one that paid, as operators read
 * them (GET /admin/orders/{id}/history). */
async function extraRefundLines(id: string, charge: string): Promise<{ reason: string; actor: string }[]> {
  const admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  const r = await call(p.baseUrl, 'GET', `/admin/orders/${id}/history`, { token: admin.token });
  expect(r.body).toMatchObject({ archived: true, status: 'delivered' });
  return r.body.history.filter((h: { reason: string | null }) => h.reason?.startsWith(`refunded ${charge}, `));
}

test('a second charge for a delivered, archived order is refunded and the order stays paid by the first', async () => {
  const id = await deliveredAndArchived();
  const paid = await p.stores.cassandra.execute('SELECT charge_id FROM orders_by_id WHERE order_id = ?', [id], {
    prepare: true,
  });
  const second = await chargeAgain(id, 'after-delivery');
  const lateRefund = p.stores.temporal.workflow.getHandle(`late-payment-${second.chargeId}`);
  await eventually(async () => (await lateRefund.describe().catch(() => null))?.status.name === 'COMPLETED', 20_000);
  expect((await p.gateway.retrieveCharge(second.chargeId))?.status).toBe('refunded');
  expect(await getOrder(id)).toMatchObject({ status: 'delivered', payment_status: 'succeeded', late_payment: null });
  await moneyEndsRight(id);
  // The buyer is told of that second payment's refund, once, and the archived order's history says it.
  expect(await extraRefundEvents(id)).toEqual([{ charge_ids: [second.chargeId], amount: 10 }]);
  const line = { reason: `refunded ${second.chargeId}, paid beside ${paid.first()!['charge_id']}`, actor: 'saga' };
  expect(await extraRefundLines(id, second.chargeId)).toEqual([expect.objectContaining(line)]);
  // The step run again, twice at once (a retried activity racing another), adds no second line.
  const archive = new OrderArchive(p.stores.cassandra, p.stores.mysql);
  const again = {
    orderId: id,
    chargeIds: [second.chargeId],
    keptChargeId: paid.first()!['charge_id'] as string,
    refundedMinor: 1000,
  };
  await Promise.all([
    recordExtraRefundOn(p.stores.mysql, archive, again),
    recordExtraRefundOn(p.stores.mysql, archive, again),
  ]);
  expect(await extraRefundLines(id, second.chargeId)).toEqual([expect.objectContaining(line)]);
});

test('the same second charge found by the reconciler (its webhook lost): refunded, the order stays paid, the buyer told', async () => {
  const id = await deliveredAndArchived();
  await faults([{ fault: 'drop_webhooks', order_id: id }]);
  const second = await chargeAgain(id, 'unseen-after-delivery');
  await eventually(async () => (await p.reconciler.run()).refunded.includes(second.chargeId));
  expect(await getOrder(id)).toMatchObject({ status: 'delivered', payment_status: 'succeeded', late_payment: null });
  await moneyEndsRight(id);
  expect(await extraRefundEvents(id)).toEqual([{ charge_ids: [second.chargeId], amount: 10 }]);
  expect(await extraRefundLines(id, second.chargeId)).toHaveLength(1);
});

test("a seller's restock gives the units on hand: a count taken while an order holds units, then that order's release, never inflates the stock", async () => {
  const seller = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  const a = await makeItem(p.stores.mysql, { stock: 5, supplierId: seller.userId });
  const r = await order([{ item_id: a, quantity: 2 }], 'pm_card_noResponse');
  expect(await stockOf(p.stores.mysql, a)).toBe(3);
  // The seller counts 5 on the shelf (the 2 reserved units are still there) and says so.
  const put = await call(p.baseUrl, 'PUT', `/items/${a}`, { token: seller.token, body: { stock: 5 } });
  expect(put.status).toBe(200);
  expect(await stockOf(p.stores.mysql, a)).toBe(3); // 5 on hand, 2 promised: 3 to sell
  await statusIs(r.body.order_id, 'canceled'); // the order expires and gives its 2 units back
  expect(await stockOf(p.stores.mysql, a)).toBe(5); // 5 units, as on the shelf; not 7
});

test('the reconciler runs as one Temporal Schedule per task queue: made once whatever the number of workers, its runs reconcile', async () => {
  const taskQueue = p.cfg.TEMPORAL_TASK_QUEUE;
  const id = await ensureReconcilerSchedule(p.stores.temporal, taskQueue, 60_000);
  expect(await ensureReconcilerSchedule(p.stores.temporal, taskQueue, 60_000)).toBe(id); // a second worker's start
  try {
    const handle = p.stores.temporal.schedule.getHandle(id);
    const d = await handle.describe();
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileWorkflow', taskQueue });
    expect(d.policies.overlap).toBe('SKIP');
    await handle.trigger();
    const run = await eventually(
      async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId,
      15_000,
    );
    const report = await p.stores.temporal.workflow.getHandle(run).result();
    expect(report).toEqual(
      expect.objectContaining({ chargesChecked: expect.any(Number), refunded: expect.any(Array) }),
    );
  } finally {
    await p.stores.temporal.schedule.getHandle(id).delete();
  }
});

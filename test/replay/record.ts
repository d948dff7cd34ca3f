/**
 * Records one history per branch of the order saga from real runs (API, worker, MySQL, Redis, the gateway
 * simulator) into test/replay/histories/, for test/replay/replay.test.ts to replay on every test run.
 * Histories recorded by an older workflow version stay, renamed with its prefix (pre-archive-*: before the
 * archive step; v1-*: before saga-v2; v2-*: before saga-v3; v3-*: before mirror-beside-payment; v4-*: before
 * mirror-in-store-steps; v5-*: before local-store-steps), so the patched() paths of sagas still in flight keep
 * being replayed.
 * Re-record after an intended workflow change that is guarded by patched():
 *   npm run build && node dist/test/replay/record.js   (with the test stores in the environment, see scripts/test.sh)
 * RECORD_ONLY=name,name records only those branches (a new branch, or a patch asked on one path only).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually, TEST_SHIPMENT } from '../support/http';
import { signPayload, SIGNATURE_HEADER } from '../../payments/webhook-signature';
import { toMinor } from '../../payments/gateway';
import { reserveOrder } from '../../orders/reservation';
import { startSaga } from '../../orders/saga';
import { stateQuery } from '../../orders/saga-messages';

const OUT = path.resolve(__dirname, '../../../test/replay/histories');

async function save(p: Platform, name: string, workflowId: string): Promise<void> {
  const handle = p.stores.temporal.workflow.getHandle(workflowId);
  await handle.result().catch(() => undefined);
  const history = await handle.fetchHistory();
  writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
  console.log(`recorded ${name} (${history.events?.length} events)`);
}

const only = process.env.RECORD_ONLY?.split(',').filter(Boolean);
const wanted = (...names: string[]) => !only || names.some((n) => only.includes(n));

async function record(p: Platform, name: string, run: (u: TestUser, item: string) => Promise<string>): Promise<void> {
  if (!wanted(name)) return;
  const u = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 3, price: 12.5 });
  await save(p, name, await run(u, item));
}

const place = async (p: Platform, u: TestUser, item: string, method: string, quantity = 1) => {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: u.token,
    body: { user_id: u.userId, items: [{ item_id: item, quantity }], payment_method: method },
  });
  if (r.status !== 201) throw new Error(`POST /orders answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.order_id as string;
};
const orderOf = async (p: Platform, u: TestUser, id: string) =>
  (await call(p.baseUrl, 'GET', `/orders/${id}`, { token: u.token })).body;
const statusIs = (p: Platform, u: TestUser, id: string, status: string) =>
  eventually(async () => (await orderOf(p, u, id)).status === status, 30_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const webhook = (p: Platform, event: Record<string, unknown>) => {
  const body = JSON.stringify({ id: `evt_${randomUUID()}`, ...event });
  return call(p.baseUrl, 'POST', '/payments/webhook', {
    rawBody: body,
    headers: { [SIGNATURE_HEADER]: signPayload(p.cfg.PAYMENT_WEBHOOK_SECRET, body) },
  });
};
/** Another charge of the order made straight at the gateway: it succeeds, and its webhook reaches the API. */
const chargeAgain = (p: Platform, orderId: string, key: string) =>
  p.gateway.createCharge({
    idempotencyKey: `${key}-${orderId}`,
    orderId,
    amountMinor: 1250,
    currency: 'USD',
    paymentMethod: 'pm_card_visa',
    expiresAt: new Date().toISOString(),
  });
const faults = (p: Platform, rules: Record<string, unknown>[]) =>
  call(p.cfg.PAYMENT_GATEWAY_URL, 'POST', '/v1/test/faults', { body: { rules } });

async function main() {
  mkdirSync(OUT, { recursive: true });
  const env = {
    ORDER_PAYMENT_TIMEOUT: '3s',
    ORDER_LATE_PAYMENT_WINDOW: '5s',
    GATEWAY_LATE_SUCCESS_DELAY: '1000',
    RECONCILE_GRACE: '0',
  };
  const p = await startPlatform({ env });
  const admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  const shipAndDeliver = async (id: string) => {
    await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin.token, body: TEST_SHIPMENT });
    await call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: admin.token });
  };
  try {
    await record(p, 'delivered', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      await shipAndDeliver(id);
      return id;
    });
    await record(p, 'declined', (u, item) => place(p, u, item, 'pm_card_chargeDeclined'));
    await record(p, 'no-response', (u, item) => place(p, u, item, 'pm_card_noResponse'));
    await record(p, 'late-success-refunded', (u, item) => place(p, u, item, 'pm_card_lateSuccess'));
    await record(p, 'success-by-webhook', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_noResponse');
      await sleep(300);
      const o = await orderOf(p, u, id);
      await webhook(p, {
        type: 'charge.succeeded',
        order_id: id,
        charge_id: `ch_hook_${id}`,
        amount: toMinor(o.total_price),
        currency: p.cfg.PAYMENT_CURRENCY,
      });
      await statusIs(p, u, id, 'placed');
      await shipAndDeliver(id);
      return id;
    });
    await record(p, 'declined-by-webhook', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_noResponse');
      await sleep(300);
      const o = await orderOf(p, u, id);
      await webhook(p, {
        type: 'charge.failed',
        order_id: id,
        charge_id: `ch_hook_${id}`,
        amount: toMinor(o.total_price),
        currency: p.cfg.PAYMENT_CURRENCY,
      });
      return id;
    });
    await record(p, 'canceled-while-charging', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_noResponse'); // the charge request hangs: it is in flight
      await sleep(500);
      await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: u.token });
      return id;
    });
    await record(p, 'canceled-after-placed', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: u.token });
      return id;
    });
    await record(p, 'charge-after-timer', async (u, item) => {
      await faults(p, [
        { fault: 'slow', delay_ms: 1900, payment_method: 'pm_card_visa', times: 1 },
        { fault: 'drop_webhooks', payment_method: 'pm_card_visa', times: 1 },
      ]);
      // A 3 s window and a 1.9 s answer would place it: start the saga late, with 1 s left.
      const orderId = `o-${randomUUID()}`;
      const expiresAt = new Date(Date.now() + 1000).toISOString();
      await reserveOrder(p.stores.mysql, {
        orderId,
        userId: u.userId,
        lines: [{ item_id: item, quantity: 1 }],
        paymentMethod: 'pm_card_visa',
        expiresAt,
      });
      await startSaga(p.stores.temporal, p.cfg.TEMPORAL_TASK_QUEUE, {
        orderId,
        userId: u.userId,
        lines: [{ item_id: item, quantity: 1 }],
        paymentMethod: 'pm_card_visa',
        paymentTimeoutMs: 3000,
        latePaymentPolicy: 'refund',
        latePaymentWindowMs: 5000,
        expiresAt,
      });
      return orderId;
    });
    await record(p, 'started-after-expiry', async (u, item) => {
      const orderId = `o-${randomUUID()}`;
      const expiresAt = new Date(Date.now() - 1000).toISOString();
      await reserveOrder(p.stores.mysql, {
        orderId,
        userId: u.userId,
        lines: [{ item_id: item, quantity: 1 }],
        paymentMethod: 'pm_card_visa',
        expiresAt,
      });
      await startSaga(p.stores.temporal, p.cfg.TEMPORAL_TASK_QUEUE, {
        orderId,
        userId: u.userId,
        lines: [{ item_id: item, quantity: 1 }],
        paymentMethod: 'pm_card_visa',
        paymentTimeoutMs: 3000,
        latePaymentPolicy: 'refund',
        latePaymentWindowMs: 5000,
        expiresAt,
      });
      return orderId;
    });
    await record(p, 'not-live', async (u) => {
      const orderId = `o-${randomUUID()}`; // no such order (a Reset of one archived long ago looks the same)
      await startSaga(p.stores.temporal, p.cfg.TEMPORAL_TASK_QUEUE, {
        orderId,
        userId: u.userId,
        lines: [],
        paymentMethod: 'pm_card_visa',
        paymentTimeoutMs: 3000,
        latePaymentPolicy: 'refund',
        latePaymentWindowMs: 5000,
      });
      return orderId;
    });
    await record(p, 'operator-cancel', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_noResponse');
      await sleep(500);
      await p.stores.temporal.workflow.getHandle(id).cancel();
      return id;
    });
    await record(p, 'resumed-after-terminate', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      await p.stores.temporal.workflow.getHandle(id).terminate('recording');
      // Visibility shows the termination a moment later: run the reconciler until it has resumed the saga.
      await eventually(async () => (await p.reconciler.run()).sagasResumed.includes(id));
      await sleep(500);
      await shipAndDeliver(id);
      return id;
    });
    // Saga v3: two sellers ship and deliver their own lines; operators' updates; a refund the gateway refused.
    await record(p, 'two-sellers-delivered', async (u) => {
      const [s1, s2] = await Promise.all([
        makeUser(p.stores.mysql, p.deps.tokens, 'supplier'),
        makeUser(p.stores.mysql, p.deps.tokens, 'supplier'),
      ]);
      const a = await makeItem(p.stores.mysql, { stock: 3, price: 5, supplierId: s1.userId });
      const b = await makeItem(p.stores.mysql, { stock: 3, price: 7, supplierId: s2.userId });
      const r = await call(p.baseUrl, 'POST', '/orders', {
        token: u.token,
        body: {
          user_id: u.userId,
          items: [
            { item_id: a, quantity: 1 },
            { item_id: b, quantity: 2 },
          ],
          payment_method: 'pm_card_visa',
        },
      });
      const id = r.body.order_id as string;
      await statusIs(p, u, id, 'placed');
      await eventually(
        async () =>
          (await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: s1.token, body: TEST_SHIPMENT })).status ===
          200,
      );
      await call(p.baseUrl, 'POST', `/orders/${id}/ship`, {
        token: s2.token,
        body: { carrier: 'DHL', tracking_number: 'JD0002' },
      });
      await call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: s1.token });
      await call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: s2.token });
      return id;
    });
    await record(p, 'payment-window-extended', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_lateSuccess'); // succeeds 1 s after the first deadline
      await sleep(500);
      await call(p.baseUrl, 'POST', `/admin/orders/${id}/payment-window`, {
        token: admin.token,
        body: { expires_at: new Date(Date.now() + 20_000).toISOString(), note: 'recording' },
      });
      await statusIs(p, u, id, 'placed');
      await shipAndDeliver(id);
      return id;
    });
    await record(p, 'payment-retried', async (u, item) => {
      await faults(p, [{ fault: 'drop_webhooks', payment_method: 'pm_card_lateSuccess', times: 1 }]);
      const id = await place(p, u, item, 'pm_card_lateSuccess');
      await sleep(500);
      await call(p.baseUrl, 'POST', `/admin/orders/${id}/retry-payment`, {
        token: admin.token,
        body: { note: 'recording' },
      });
      return id; // still pending at the gateway: expires, then its late success is refunded
    });
    await record(p, 'force-canceled', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_noResponse');
      await sleep(500);
      await call(p.baseUrl, 'POST', `/admin/orders/${id}/force-cancel`, {
        token: admin.token,
        body: { note: 'recording' },
      });
      return id;
    });
    await record(p, 'manual-refund', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      await faults(p, [{ fault: 'refuse', operation: 'refund', order_id: id }]);
      await eventually(
        async () => (await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: u.token })).status === 200,
      );
      await eventually(
        async () => (await p.stores.temporal.workflow.getHandle(id).query(stateQuery)).needsAttention !== undefined,
      );
      await call(p.cfg.PAYMENT_GATEWAY_URL, 'DELETE', '/v1/test/faults');
      await call(p.baseUrl, 'POST', `/admin/orders/${id}/manual-refund`, {
        token: admin.token,
        body: { reference: 'bank-transfer-42' },
      });
      return id;
    });
    await record(p, 'late-success-after-manual-refund', async (u, item) => {
      // The gateway refuses the refund of a canceled order: the saga waits for a person before it archives...
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      await faults(p, [{ fault: 'refuse', operation: 'refund', order_id: id }]);
      await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: u.token });
      const saga = p.stores.temporal.workflow.getHandle(id);
      await eventually(async () => (await saga.query(stateQuery)).needsAttention !== undefined);
      await call(p.cfg.PAYMENT_GATEWAY_URL, 'DELETE', '/v1/test/faults');
      // ...meanwhile a second charge of the order succeeds (its webhook reaches the saga), then the refund by hand.
      const second = await chargeAgain(p, id, 'after-cancel');
      await eventually(async () =>
        ((await saga.fetchHistory()).events ?? []).some((e) => e.workflowExecutionSignaledEventAttributes),
      );
      await call(p.baseUrl, 'POST', `/admin/orders/${id}/manual-refund`, {
        token: admin.token,
        body: { reference: 'bank-transfer-7' },
      });
      await eventually(async () => (await p.gateway.retrieveCharge(second.chargeId))?.status === 'refunded', 30_000);
      return id;
    });
    await record(p, 'charged-twice-delivered', async (u, item) => {
      // A second charge of a placed order succeeds: refunded at once, then the order is shipped and delivered.
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      const second = await chargeAgain(p, id, 'twice');
      await eventually(async () => (await p.gateway.retrieveCharge(second.chargeId))?.status === 'refunded', 30_000);
      await shipAndDeliver(id);
      return id;
    });
    if (wanted('late-payment-workflow')) await recordLatePaymentWorkflow(p);
  } finally {
    await p.stop();
  }
  if (wanted('late-success-accepted', 'late-success-accepted-no-stock')) await recordAcceptBranches(env);
  process.exit(0);
}

/** The late-payment workflow: a second charge succeeds for an order already archived. */
async function recordLatePaymentWorkflow(p: Platform): Promise<void> {
  const u = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 3, price: 12.5 });
  const declined = await place(p, u, item, 'pm_card_chargeDeclined');
  await eventually(
    async () => (await p.stores.mysql('orders').where({ order_id: declined }).first()) === undefined,
    30_000,
  );
  const late = await chargeAgain(p, declined, 'second');
  await eventually(async () => (await p.gateway.retrieveCharge(late.chargeId))?.status === 'refunded', 30_000);
  await save(p, 'late-payment-workflow', `late-payment-${late.chargeId}`);
}

/** With LATE_PAYMENT_POLICY=accept, on a platform of their own. */
async function recordAcceptBranches(env: Record<string, string>): Promise<void> {
  const accept = await startPlatform({ env: { ...env, LATE_PAYMENT_POLICY: 'accept' } });
  const admin2 = await makeUser(accept.stores.mysql, accept.deps.tokens, 'admin');
  try {
    await record(accept, 'late-success-accepted', async (u, item) => {
      const id = await place(accept, u, item, 'pm_card_lateSuccess');
      await statusIs(accept, u, id, 'placed');
      await call(accept.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin2.token, body: TEST_SHIPMENT });
      await call(accept.baseUrl, 'POST', `/orders/${id}/deliver`, { token: admin2.token });
      return id;
    });
    await record(accept, 'late-success-accepted-no-stock', async (u, item) => {
      const id = await place(accept, u, item, 'pm_card_lateSuccess', 3);
      await statusIs(accept, u, id, 'canceled'); // expired: its 3 units are back...
      const other = await makeUser(accept.stores.mysql, accept.deps.tokens);
      await place(accept, other, item, 'pm_card_visa', 3); // ...and sold to another buyer before the late success
      return id;
    });
  } finally {
    await accept.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

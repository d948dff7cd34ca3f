/**
 * Operators (issue 15): find orders by the saga's search attributes, read what a saga waits for (`details`), and
 * act through its validated updates (force-cancel, extend the payment window, retry the payment, mark a manual
 * refund), each recorded in the order's status history with who did it. Against the stack's Temporal server,
 * whose search attributes the stack registered, and the real stores and gateway simulator.
 */
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, reserveUnstarted, stockOf, TestUser } from '../support/fixtures';
import { call, eventually, TEST_SHIPMENT } from '../support/http';
import { detailsQuery, stateQuery } from '../../orders/saga-messages';
import { OrderArchive } from '../../orders/archive';
import { ensureSchedules } from '../../orders/schedules';

let p: Platform;
let buyer: TestUser;
let admin: TestUser;

const get = (id: string) => call(p.baseUrl, 'GET', `/orders/${id}`, { token: buyer.token });
const act = (id: string, action: string, body: unknown = {}, token = admin.token) =>
  call(p.baseUrl, 'POST', `/admin/orders/${id}/${action}`, { token, body });
const historyOf = (id: string) => p.stores.mysql('order_status_history').where({ order_id: id }).orderBy('id');
/** The order's status history wherever it lives (MySQL while live, the Cassandra archive once finished). */
const statusHistory = async (id: string) => {
  const archive = new OrderArchive(p.stores.cassandra, p.stores.mysql);
  return ((await archive.loadLive(id)) ?? (await archive.find(id)))?.history ?? [];
};
const chargesAtGateway = async (id: string) =>
  (await call(p.cfg.PAYMENT_GATEWAY_URL, 'GET', `/v1/charges?order_id=${id}`)).body.data as { status: string }[];

async function place(item: string, method: string): Promise<string> {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 1 }], payment_method: method },
  });
  expect(r.status).toBe(201);
  const id = r.body.order_id as string;
  await eventually(async () =>
    ['awaiting_payment', 'placed'].includes((await p.stores.temporal.workflow.getHandle(id).query(stateQuery)).phase),
  );
  return id;
}

/** Once the saga's first charge has answered (a pm_card_lateSuccess charge answers `pending`). */
async function chargeAnswered(id: string): Promise<void> {
  await eventually(async () => {
    const { payment } = await p.stores.temporal.workflow.getHandle(id).query(detailsQuery);
    return payment.attempts > 0 && !payment.inFlight;
  });
}

/** The workflow ids a visibility query lists, once `id` is among them and `absent` is not (visibility is
 * eventually consistent: an upsert shows a moment later). */
async function listedBy(query: string, id: string, absent?: string): Promise<string[]> {
  return eventually(
    async () => {
      const ids: string[] = [];
      for await (const wf of p.stores.temporal.workflow.list({ query })) ids.push(wf.workflowId);
      return ids.includes(id) && !(absent && ids.includes(absent)) ? ids : null;
    },
    20_000,
    300,
  );
}

beforeAll(async () => {
  p = await startPlatform({ env: { ORDER_PAYMENT_TIMEOUT: '60s' } });
  [buyer, admin] = await Promise.all([
    makeUser(p.stores.mysql, p.deps.tokens),
    makeUser(p.stores.mysql, p.deps.tokens, 'admin'),
  ]);
});
afterAll(async () => {
  await p?.stop();
});

describe('find: the search attributes', () => {
  test('an order awaiting payment is listed by status, customer and deadline; once paid, by the new status', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 5, price: 12.5 });
    const waiting = await place(item, 'pm_card_lateSuccess');
    const paid = await place(item, 'pm_card_visa');
    const soon = new Date(Date.now() + 2 * 3600_000).toISOString();
    await listedBy(
      `OrderStatus='created' AND CustomerId='${buyer.userId}' AND PaymentExpiresAt < '${soon}'`,
      waiting,
      paid,
    );
    await listedBy(
      `OrderStatus='placed' AND CustomerId='${buyer.userId}' AND PaymentStatus='succeeded'`,
      paid,
      waiting,
    );
    expect(await listedBy(`CustomerId='${buyer.userId}' AND OrderTotal = 12.5`, waiting)).toEqual(
      expect.arrayContaining([waiting, paid]),
    );
  });
});

describe('read: details', () => {
  test('what the saga waits for and until when, its payment and its history', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 5, price: 3 });
    const id = await place(item, 'pm_card_lateSuccess');
    await chargeAnswered(id);
    const r = await call(p.baseUrl, 'GET', `/admin/orders/${id}/details`, { token: admin.token });
    expect(r.status).toBe(200);
    const order = (await get(id)).body;
    expect(r.body).toEqual(
      expect.objectContaining({
        orderId: id,
        phase: 'awaiting_payment',
        until: order.expires_at,
        needsAttention: null,
        payment: expect.objectContaining({
          status: 'pending',
          method: 'pm_card_lateSuccess',
          amount: 3,
          attempts: 1,
          expiresAt: order.expires_at,
        }),
      }),
    );
    expect(r.body.waitingFor).toContain('payment');
    expect(r.body.history.map((h: { event: string }) => h.event)).toEqual([
      'claimed',
      `awaiting payment until ${order.expires_at}`,
    ]);
    expect((await call(p.baseUrl, 'GET', `/admin/orders/${id}/details`, { token: buyer.token })).status).toBe(403);

    // An order with no saga to ask (here: reserved, its saga not started yet): 409, pointing to its history.
    const unstarted = await reserveUnstarted(p.stores.mysql, buyer.userId, { itemId: item });
    const gone = await call(p.baseUrl, 'GET', `/admin/orders/${unstarted}/details`, { token: admin.token });
    expect(gone.status).toBe(409);
    expect(gone.body.error).toMatchObject({
      code: 'saga_not_found',
      message: expect.stringContaining(`/admin/orders/${unstarted}/history`),
    });
  });

  test('the status history, live and then archived: every change, why and who, kept once the saga has closed', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 5, price: 3 });
    const id = await place(item, 'pm_card_lateSuccess');
    await chargeAnswered(id);
    const history = (orderId: string) =>
      call(p.baseUrl, 'GET', `/admin/orders/${orderId}/history`, { token: admin.token });
    const live = await history(id);
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ order_id: id, status: 'created', archived: false });
    expect(live.body.history[0]).toMatchObject({ status: 'created', actor: null });

    expect((await act(id, 'force-cancel', { note: 'fraud check failed' })).status).toBe(200);
    const archived = await eventually(async () => {
      const r = await history(id);
      return r.body.archived ? r : null;
    }, 20_000);
    expect(archived.body).toMatchObject({ order_id: id, status: 'canceled', archived: true });
    // The archive keeps what MySQL had, line for line: the operator's cancel with its note and who asked.
    expect(archived.body.history.slice(0, live.body.history.length)).toEqual(live.body.history);
    expect(archived.body.history).toContainEqual(
      expect.objectContaining({
        status: 'canceled',
        reason: 'canceled_by_operator: fraud check failed',
        actor: `admin:${admin.userId}`,
      }),
    );
    const ats = archived.body.history.map((h: { at: string }) => Date.parse(h.at));
    expect(ats).toEqual([...ats].sort((a, b) => a - b)); // oldest first

    expect((await history('o-never-was')).status).toBe(404);
    expect((await call(p.baseUrl, 'GET', `/admin/orders/${id}/history`, { token: buyer.token })).status).toBe(403);
  });
});

describe("act: the operators' updates", () => {
  test('force-cancel: stock released, nothing charged kept, recorded with who; refused once shipped', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 2 });
    const id = await place(item, 'pm_card_lateSuccess');
    expect(await stockOf(p.stores.mysql, item)).toBe(1);
    const r = await act(id, 'force-cancel', { note: 'fraud check failed' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(expect.objectContaining({ status: 'canceled', cancel_reason: 'canceled_by_operator' }));
    expect(await stockOf(p.stores.mysql, item)).toBe(2);
    expect((await chargesAtGateway(id)).every((c) => c.status === 'voided' || c.status === 'refunded')).toBe(true);
    const rows = await statusHistory(id);
    expect(rows.find((h: { status: string }) => h.status === 'canceled')).toEqual(
      expect.objectContaining({ actor: `admin:${admin.userId}` }),
    );

    const shipped = await place(item, 'pm_card_visa');
    await eventually(
      async () => (await p.stores.temporal.workflow.getHandle(shipped).query(stateQuery)).phase === 'placed',
    );
    expect(
      (await call(p.baseUrl, 'POST', `/orders/${shipped}/ship`, { token: admin.token, body: TEST_SHIPMENT })).status,
    ).toBe(200);
    const refused = await act(shipped, 'force-cancel');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({
      code: 'invalid_transition',
      message: expect.stringContaining('shipped'),
      details: expect.anything(),
    });
    expect((await get(shipped)).body.status).toBe('in_transit');
  });

  test('extend the payment window: MySQL, the saga and PaymentExpiresAt move; an earlier or too late deadline is refused', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 2 });
    const id = await place(item, 'pm_card_lateSuccess');
    const before = (await get(id)).body.expires_at as string;
    const later = new Date(Date.now() + 3600_000).toISOString();
    const r = await act(id, 'payment-window', { expires_at: later, note: 'customer called' });
    expect(r.status).toBe(200);
    expect(r.body.expires_at).toBe(later);
    expect((await p.stores.temporal.workflow.getHandle(id).query(detailsQuery)).until).toBe(later);
    await listedBy(
      `PaymentExpiresAt > '${new Date(Date.parse(before) + 60_000).toISOString()}' AND CustomerId='${buyer.userId}'`,
      id,
    );
    expect((await historyOf(id)).at(-1)).toEqual(
      expect.objectContaining({
        status: 'created',
        actor: `admin:${admin.userId}`,
        reason: expect.stringContaining('customer called'),
      }),
    );

    for (const [expires_at, why] of [
      [before, 'later than the current one'],
      [new Date(Date.now() + 8 * 24 * 3600_000).toISOString(), '7 days'],
    ]) {
      const refused = await act(id, 'payment-window', { expires_at });
      expect([refused.status, refused.body.error.code]).toEqual([409, 'invalid_transition']);
      expect(refused.body.error.message).toContain(why);
    }
    expect((await act(id, 'payment-window', { expires_at: 'tomorrow' })).status).toBe(400);
    expect((await get(id)).body.expires_at).toBe(later);
  });

  test('retry the payment: asked again under the same key (never a second charge), recorded; refused once paid', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 2 });
    const id = await place(item, 'pm_card_lateSuccess');
    await chargeAnswered(id);
    const r = await act(id, 'retry-payment', { note: 'webhook lost?' });
    expect(r.status).toBe(200);
    await eventually(
      async () => (await p.stores.temporal.workflow.getHandle(id).query(detailsQuery)).payment.attempts === 2,
    );
    expect(await chargesAtGateway(id)).toHaveLength(1);
    expect((await historyOf(id)).at(-1)).toEqual(
      expect.objectContaining({ actor: `admin:${admin.userId}`, reason: expect.stringContaining('payment retried') }),
    );

    const paid = await place(item, 'pm_card_visa');
    await eventually(
      async () => (await p.stores.temporal.workflow.getHandle(paid).query(stateQuery)).phase === 'placed',
    );
    expect((await act(paid, 'retry-payment')).status).toBe(409);
  });

  test('a refund the gateway refuses: NeedsAttention, the money held until an operator records a manual refund', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 2, price: 20 });
    const id = await place(item, 'pm_card_visa');
    await eventually(async () => (await p.stores.temporal.workflow.getHandle(id).query(stateQuery)).phase === 'placed');
    expect(
      (
        await call(p.cfg.PAYMENT_GATEWAY_URL, 'POST', '/v1/test/faults', {
          body: { rules: [{ fault: 'refuse', operation: 'refund', order_id: id }] },
        })
      ).status,
    ).toBe(200);
    try {
      const canceled = await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: buyer.token });
      expect(canceled.status).toBe(200);
      await listedBy(`NeedsAttention=true AND CustomerId='${buyer.userId}'`, id);
      const details = (await call(p.baseUrl, 'GET', `/admin/orders/${id}/details`, { token: admin.token })).body;
      expect(details.needsAttention).toContain('refused');
      expect(details.waitingFor).toContain('markManualRefund');
      expect((await get(id)).body).toEqual(
        expect.objectContaining({ status: 'canceled', payment_status: 'succeeded' }),
      ); // the money is still held
      expect(await stockOf(p.stores.mysql, item)).toBe(2); // the stock is back at once

      expect((await act(id, 'manual-refund', {})).status).toBe(400);
      const refunded = await act(id, 'manual-refund', { reference: 'bank-transfer-42' });
      expect(refunded.status).toBe(200);
      expect(refunded.body.payment_status).toBe('refunded');
      // Resolved: archived, and no longer listed as needing attention.
      await eventually(
        async () => (await p.stores.mysql('orders').where({ order_id: id }).first()) === undefined,
        30_000,
      );
      await listedBy(`NeedsAttention=false AND CustomerId='${buyer.userId}' AND OrderStatus='canceled'`, id);
      expect((await get(id)).body.payment_status).toBe('refunded');
    } finally {
      await call(p.cfg.PAYMENT_GATEWAY_URL, 'DELETE', '/v1/test/faults');
    }
    expect((await act(id, 'manual-refund', { reference: 'again' })).status).toBe(409); // the saga is done
  });
});

describe('schedules: the periodic jobs', () => {
  test('the reconciler, the saga sweeper and the archive sweeper are one Schedule each, made once whatever the number of workers, and their runs work', async () => {
    const taskQueue = p.cfg.TEMPORAL_TASK_QUEUE;
    const every = { reconcileMs: 3_600_000, sagaSweepMs: 3_600_000, archiveSweepMs: 3_600_000 };
    const ids = await ensureSchedules(p.stores.temporal, taskQueue, every);
    try {
      expect(await ensureSchedules(p.stores.temporal, taskQueue, every)).toEqual(ids); // a second worker's start
      expect(ids).toEqual([
        `shopflow-reconciler-${taskQueue}`,
        `shopflow-saga-sweeper-${taskQueue}`,
        `shopflow-archive-sweeper-${taskQueue}`,
      ]);
      const listed: string[] = [];
      for await (const s of p.stores.temporal.schedule.list()) listed.push(s.scheduleId);
      expect(listed).toEqual(expect.arrayContaining(ids));
      // A reserved order whose saga never started: the saga sweeper's scheduled run starts it.
      const item = await makeItem(p.stores.mysql, { stock: 1 });
      const orderId = await reserveUnstarted(p.stores.mysql, buyer.userId, { itemId: item });
      await p.stores
        .mysql('orders')
        .where({ order_id: orderId })
        .update({ created_at: new Date(Date.now() - 3_600_000) });
      for (const id of ids) {
        const handle = p.stores.temporal.schedule.getHandle(id);
        expect((await handle.describe()).policies.overlap).toBe('SKIP');
        await handle.trigger();
        const run = await eventually(
          async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId,
          15_000,
        );
        await p.stores.temporal.workflow.getHandle(run).result();
      }
      await eventually(async () => (await get(orderId)).body.status === 'placed', 20_000);
    } finally {
      await Promise.all(
        ids.map((id) =>
          p.stores.temporal.schedule
            .getHandle(id)
            .delete()
            .catch(() => undefined),
        ),
      );
    }
  });
});

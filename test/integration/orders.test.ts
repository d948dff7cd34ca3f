/**
 * The order saga end to end through the HTTP API, on the real servers: MySQL (stock, orders, outbox), Redis
 * (the order mirror), Temporal (the saga), the payment gateway simulator (charges, refunds, signed webhooks)
 * and Kafka (the events, through the outbox relay).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, reserveUnstarted, stockOf, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { TOPICS } from '../../stores/kafka/topics';
import { mirrorKey } from '../../orders/mirror';
import { signPayload, SIGNATURE_HEADER } from '../../payments/webhook-signature';
import { reserveOrder } from '../../orders/reservation';
import { SagaSweeper } from '../../orders/saga-sweeper';
import { logger } from '../../lib/logger';
import { markSoldOut } from '../../stock/soldout-gate';

let p: Platform;
let buyer: TestUser;
let other: TestUser;
let consumer: Consumer;
const events: { key: string; type: string; order_id: string; status: string }[] = [];

beforeAll(async () => {
  p = await startPlatform({
    relay: true,
    env: { ORDER_PAYMENT_TIMEOUT: '3s', ORDER_LATE_PAYMENT_WINDOW: '10s', GATEWAY_LATE_SUCCESS_DELAY: '1500' },
  });
  buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  other = await makeUser(p.stores.mysql, p.deps.tokens);
  consumer = p.stores.kafka.consumer({ groupId: `orders-test-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPICS.orders.name, fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const ev = JSON.parse(message.value!.toString());
      events.push({ key: message.key!.toString(), type: ev.type, order_id: ev.data.order_id, status: ev.data.status });
    },
  });
  // Wait until the consumer owns its partitions, so no event of this file is missed.
  await joined;
});
afterAll(async () => {
  await consumer?.disconnect();
  await p?.stop();
});

const order = (
  u: TestUser,
  items: { item_id: string; quantity: number }[],
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) => call(p.baseUrl, 'POST', '/orders', { token: u.token, body: { user_id: u.userId, items, ...extra }, headers });
const getOrder = (u: TestUser, id: string) => call(p.baseUrl, 'GET', `/orders/${id}`, { token: u.token });
const statusIs = (id: string, status: string) =>
  eventually(
    async () => ((await getOrder(buyer, id)).body.status === status ? (await getOrder(buyer, id)).body : null),
    20_000,
  );
const eventTypes = (orderId: string) => events.filter((e) => e.order_id === orderId).map((e) => e.type);

test('success: 201 created with catalog prices and expiry, then placed; stock taken once; mirror removed; events on Kafka', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 5, price: 19.99 });
  const b = await makeItem(p.stores.mysql, { stock: 3, price: 5.01 });
  const r = await order(buyer, [
    { item_id: a, quantity: 2 },
    { item_id: b, quantity: 1 },
  ]);
  expect(r.status).toBe(201);
  expect(r.body).toMatchObject({
    user_id: buyer.userId,
    status: 'created',
    total_price: 44.99,
    payment_method: 'pm_card_visa',
  });
  expect(r.body.items).toEqual(
    expect.arrayContaining([
      { item_id: a, quantity: 2, price: 19.99 },
      { item_id: b, quantity: 1, price: 5.01 },
    ]),
  );
  expect(Date.parse(r.body.expires_at)).toBeGreaterThan(Date.now());
  const id = r.body.order_id;
  const placed = await statusIs(id, 'placed');
  expect(placed.payment_status).toBe('succeeded');
  expect(await stockOf(p.stores.mysql, a)).toBe(3);
  expect(await stockOf(p.stores.mysql, b)).toBe(2);
  // The saga removes the mirror in the step after marking the order placed: gone right after, not atomically.
  await eventually(async () => (await p.stores.redis.exists(mirrorKey(id))) === 0, 5_000);
  await eventually(async () => eventTypes(id).join() === 'order.created,order.placed');
  expect(events.filter((e) => e.order_id === id).every((e) => e.key === id)).toBe(true);
  expect(await p.gateway.retrieveCharge(id)).toMatchObject({
    status: 'succeeded',
    amountMinor: 4499,
    currency: 'USD',
    orderId: id,
  });
});

test('the Redis mirror holds a created order with a TTL of its payment window', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const r = await order(buyer, [{ item_id: a, quantity: 1 }], { payment_method: 'pm_card_noResponse' });
  expect(r.status).toBe(201);
  const raw = await eventually(() => p.stores.redis.get(mirrorKey(r.body.order_id)), 5000);
  expect(JSON.parse(raw)).toEqual({
    order_id: r.body.order_id,
    user_id: buyer.userId,
    status: 'created',
    expiry_time: r.body.expires_at,
  });
  const ttl = await p.stores.redis.pttl(mirrorKey(r.body.order_id));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(p.cfg.ORDER_PAYMENT_TIMEOUT);
});

test('decline: canceled, stock released, order.canceled published', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 2 });
  const r = await order(buyer, [{ item_id: a, quantity: 2 }], { payment_method: 'pm_card_chargeDeclined' });
  expect(r.status).toBe(201);
  const canceled = await statusIs(r.body.order_id, 'canceled');
  expect(canceled).toMatchObject({ cancel_reason: 'payment_declined', payment_status: 'declined' });
  expect(await stockOf(p.stores.mysql, a)).toBe(2);
  await eventually(async () => (await p.stores.redis.exists(mirrorKey(r.body.order_id))) === 0, 5_000);
  // Then the finished order is archived (order.archived), in that order.
  await eventually(async () => eventTypes(r.body.order_id).join() === 'order.created,order.canceled,order.archived');
});

test('no response: canceled at ORDER_PAYMENT_TIMEOUT, stock released', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const r = await order(buyer, [{ item_id: a, quantity: 1 }], { payment_method: 'pm_card_noResponse' });
  expect(await stockOf(p.stores.mysql, a)).toBe(0);
  const canceled = await statusIs(r.body.order_id, 'canceled');
  expect(canceled).toMatchObject({ cancel_reason: 'payment_timeout', payment_status: 'expired' });
  expect(await stockOf(p.stores.mysql, a)).toBe(1);
});

test('late success (default policy refund): the signed webhook arrives after expiry and the charge is refunded', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 1 });
  const r = await order(buyer, [{ item_id: a, quantity: 1 }], { payment_method: 'pm_card_lateSuccess' });
  const id = r.body.order_id;
  const refunded = await eventually(async () => {
    const o = (await getOrder(buyer, id)).body;
    return o.late_payment === 'refunded' ? o : null;
  }, 20_000);
  expect(refunded).toMatchObject({ status: 'canceled', cancel_reason: 'payment_timeout', payment_status: 'refunded' });
  expect((await p.gateway.retrieveCharge(id))?.status).toBe('refunded');
  expect(await stockOf(p.stores.mysql, a)).toBe(1);
  await eventually(async () => eventTypes(id).includes('order.refunded'));
});

test('out of stock: 409 naming the short lines, nothing reserved, no order written', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 5 });
  const b = await makeItem(p.stores.mysql, { stock: 1 });
  const r = await order(buyer, [
    { item_id: a, quantity: 2 },
    { item_id: b, quantity: 3 },
  ]);
  expect(r.status).toBe(409);
  expect(r.body.error.code).toBe('out_of_stock');
  expect(r.body.error.details.items).toEqual([{ item_id: b, requested: 3, available: 1 }]);
  expect(await stockOf(p.stores.mysql, a)).toBe(5);
  expect(await stockOf(p.stores.mysql, b)).toBe(1);
  // Refused before any order was made: no order id is named, and no order holds either item.
  expect(r.body.error.details.order_id).toBeUndefined();
  expect(await p.stores.mysql('order_items').whereIn('item_id', [a, b]).first()).toBeUndefined();
});

test("a seller's restock reopens a sold-out item at once (the sold-out gate is cleared, not left to expire)", async () => {
  const seller = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  const item = await makeItem(p.stores.mysql, { stock: 0, supplierId: seller.userId });
  const refused = await order(buyer, [{ item_id: item, quantity: 1 }]);
  expect(refused.status).toBe(409);
  expect(await p.stores.redis.exists(`soldout:${item}`)).toBe(1); // the gate now refuses without MySQL
  const restock = await call(p.baseUrl, 'PUT', `/items/${item}`, { token: seller.token, body: { stock: 2 } });
  expect(restock.status).toBe(200);
  expect(await p.stores.redis.exists(`soldout:${item}`)).toBe(0);
  const bought = await order(buyer, [{ item_id: item, quantity: 1 }]);
  expect(bought.status).toBe(201);
  expect(await stockOf(p.stores.mysql, item)).toBe(1);
  await call(p.baseUrl, 'POST', `/orders/${bought.body.order_id}/cancel`, { token: buyer.token });
});

describe('Idempotency-Key', () => {
  test('the same key and body return the same order, also when the requests race', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 10 });
    const key = randomUUID();
    const body = [{ item_id: a, quantity: 1 }];
    const results = await Promise.all(
      Array.from({ length: 5 }, () => order(buyer, body, {}, { 'Idempotency-Key': key })),
    );
    expect(results.map((r) => r.status).every((s) => s === 201 || s === 200)).toBe(true);
    expect(new Set(results.map((r) => r.body.order_id)).size).toBe(1);
    await statusIs(results[0]!.body.order_id, 'placed');
    const again = await order(buyer, body, {}, { 'Idempotency-Key': key });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.order_id).toBe(results[0]!.body.order_id);
    expect(await stockOf(p.stores.mysql, a)).toBe(9); // one order, one unit
  });

  test('the same key with another body is 422, and nothing is reserved', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 10 });
    const key = randomUUID();
    expect((await order(buyer, [{ item_id: a, quantity: 1 }], {}, { 'Idempotency-Key': key })).status).toBe(201);
    const r = await order(buyer, [{ item_id: a, quantity: 2 }], {}, { 'Idempotency-Key': key });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('idempotency_key_reused');
    expect(await stockOf(p.stores.mysql, a)).toBe(9);
  });

  test('the buyer who got the last unit and retries with the same key gets the order, not the sold-out 409', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 1 });
    const key = randomUUID();
    const first = await order(buyer, [{ item_id: a, quantity: 1 }], {}, { 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    const loser = await order(other, [{ item_id: a, quantity: 1 }]); // sees the stock gone: the gate closes
    expect(loser.status).toBe(409);
    const retry = await order(buyer, [{ item_id: a, quantity: 1 }], {}, { 'Idempotency-Key': key });
    expect({ status: retry.status, order_id: retry.body.order_id }).toEqual({
      status: 200,
      order_id: first.body.order_id,
    });
    expect(await stockOf(p.stores.mysql, a)).toBe(0); // one unit, taken once
  });

  test('a new key for a sold-out item: 409 naming it, nothing written; a malformed key: 400 first', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 1 });
    expect((await order(buyer, [{ item_id: a, quantity: 1 }])).status).toBe(201);
    expect((await order(other, [{ item_id: a, quantity: 1 }])).status).toBe(409); // the gate now knows
    const key = randomUUID();
    const late = await order(other, [{ item_id: a, quantity: 1 }], {}, { 'Idempotency-Key': key });
    expect({ status: late.status, code: late.body.error?.code, items: late.body.error?.details?.items }).toEqual({
      status: 409,
      code: 'out_of_stock',
      items: [{ item_id: a, requested: 1, available: 0 }],
    });
    expect(await p.stores.mysql('idempotency_keys').where({ user_id: other.userId, idem_key: key }).first()).toBe(
      undefined,
    );
    const malformed = await order(other, [{ item_id: a, quantity: 1 }], {}, { 'Idempotency-Key': 'k'.repeat(256) });
    expect({ status: malformed.status, code: malformed.body.error?.code }).toEqual({
      status: 400,
      code: 'invalid_request',
    });
  });

  test('keys are per user: another buyer with the same key gets an order of their own', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 10 });
    const key = randomUUID();
    const r1 = await order(buyer, [{ item_id: a, quantity: 1 }], {}, { 'Idempotency-Key': key });
    const r2 = await order(other, [{ item_id: a, quantity: 1 }], {}, { 'Idempotency-Key': key });
    expect(r2.status).toBe(201);
    expect(r2.body.order_id).not.toBe(r1.body.order_id);
  });
});

describe('cancel', () => {
  test('the buyer cancels a placed order: refunded, stock back; a second cancel is 409', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 4 });
    const r = await order(buyer, [{ item_id: a, quantity: 3 }]);
    await statusIs(r.body.order_id, 'placed');
    const c = await call(p.baseUrl, 'POST', `/orders/${r.body.order_id}/cancel`, { token: buyer.token });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({
      status: 'canceled',
      cancel_reason: 'canceled_by_customer',
      payment_status: 'refunded',
    });
    expect(await stockOf(p.stores.mysql, a)).toBe(4);
    expect((await p.gateway.retrieveCharge(r.body.order_id))?.status).toBe('refunded');
    const again = await call(p.baseUrl, 'POST', `/orders/${r.body.order_id}/cancel`, { token: buyer.token });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid_transition');
  });

  test('a cancel that finds no saga yet (Temporal was down when the order was made) starts it and cancels; past the payment window, the order is canceled in place', async () => {
    // Reserved as POST /orders reserves, without the saga's start (it failed; the sweeper would start it later).
    const a = await makeItem(p.stores.mysql, { stock: 2 });
    const orderId = await reserveUnstarted(p.stores.mysql, buyer.userId, {
      itemId: a,
      quantity: 2,
      paymentMethod: 'pm_card_noResponse',
    });
    const c = await call(p.baseUrl, 'POST', `/orders/${orderId}/cancel`, { token: buyer.token });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'canceled', cancel_reason: 'canceled_by_customer' });
    expect(await stockOf(p.stores.mysql, a)).toBe(2);
    // The saga that answered it goes on to the end: nothing charged is kept, the order archived.
    const saga = p.stores.temporal.workflow.getHandle(orderId);
    expect(await saga.result()).toMatchObject({ result: 'canceled', cancelReason: 'canceled_by_customer' });
    const charges = (await p.gateway.listCharges({ orderId })).charges;
    expect(charges.filter((ch) => ch.status === 'succeeded' || ch.status === 'pending')).toEqual([]);

    // Its payment window already closed: canceled in place (as the sweeper does), and the buyer told so.
    const lateId = await reserveUnstarted(p.stores.mysql, buyer.userId, { itemId: a, expiresInMs: -1000 });
    const refused = await call(p.baseUrl, 'POST', `/orders/${lateId}/cancel`, { token: buyer.token });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'invalid_transition', details: { status: 'canceled' } });
    expect((await getOrder(buyer, lateId)).body).toMatchObject({
      status: 'canceled',
      cancel_reason: 'payment_timeout',
    });
    expect(await stockOf(p.stores.mysql, a)).toBe(2);
  });

  test('another customer can neither see nor cancel the order', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 1 });
    const r = await order(buyer, [{ item_id: a, quantity: 1 }]);
    expect((await getOrder(other, r.body.order_id)).status).toBe(404);
    expect((await call(p.baseUrl, 'POST', `/orders/${r.body.order_id}/cancel`, { token: other.token })).status).toBe(
      404,
    );
    expect((await call(p.baseUrl, 'GET', `/orders/${r.body.order_id}`)).status).toBe(401);
  });
});

describe('bad input is a 4xx in the error format, and nothing is written', () => {
  test.each([
    ['quantity 0', (a: string) => ({ items: [{ item_id: a, quantity: 0 }] }), 400],
    ['a price in the request', (a: string) => ({ items: [{ item_id: a, quantity: 1, price: 0.01 }] }), 400],
    ['an operator object as the item id', () => ({ items: [{ item_id: { $gt: '' }, quantity: 1 }] }), 400],
    ['no items', () => ({ items: [] }), 400],
    [
      'an unknown payment method',
      (a: string) => ({ items: [{ item_id: a, quantity: 1 }], payment_method: 'pm_free_money' }),
      400,
    ],
    ['an unknown item', () => ({ items: [{ item_id: 'no-such-item', quantity: 1 }] }), 404],
  ])('%s', async (_name, makeBody, status) => {
    // A buyer of its own: the shared buyer's earlier orders are meanwhile archived out of MySQL by their sagas,
    // which would make a count of them move for reasons of its own.
    const fresh = await makeUser(p.stores.mysql, p.deps.tokens);
    const a = await makeItem(p.stores.mysql, { stock: 3 });
    const r = await call(p.baseUrl, 'POST', '/orders', {
      token: fresh.token,
      body: { user_id: fresh.userId, ...makeBody(a) },
    });
    expect(r.status).toBe(status);
    expect(typeof r.body.error.code).toBe('string');
    expect(typeof r.body.error.message).toBe('string');
    expect(await stockOf(p.stores.mysql, a)).toBe(3);
    const written = await p.stores.mysql('orders').where({ user_id: fresh.userId }).count({ n: '*' }).first();
    expect(Number(written!.n)).toBe(0);
    expect(await p.stores.mysql('outbox').where('payload', 'like', `%${fresh.userId}%`).first()).toBeUndefined();
  });

  test('ordering for someone else is 403; without a token 401', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 3 });
    const r = await call(p.baseUrl, 'POST', '/orders', {
      token: other.token,
      body: { user_id: buyer.userId, items: [{ item_id: a, quantity: 1 }] },
    });
    expect(r.status).toBe(403);
    expect(
      (
        await call(p.baseUrl, 'POST', '/orders', {
          body: { user_id: buyer.userId, items: [{ item_id: a, quantity: 1 }] },
        })
      ).status,
    ).toBe(401);
    expect(await stockOf(p.stores.mysql, a)).toBe(3);
  });

  test('an item known to be sold out is 409 at once, but still 403 for someone else and 401 for a bad token', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 0 });
    await markSoldOut(p.stores.redis, [{ item_id: a, requested: 1, available: 0 }]);
    const body = { user_id: buyer.userId, items: [{ item_id: a, quantity: 1 }] };
    const mine = await call(p.baseUrl, 'POST', '/orders', { token: buyer.token, body });
    expect(mine.status).toBe(409);
    expect(mine.body.error).toMatchObject({ code: 'out_of_stock', details: { items: [{ item_id: a, available: 0 }] } });
    expect((await call(p.baseUrl, 'POST', '/orders', { token: other.token, body })).status).toBe(403);
    expect((await call(p.baseUrl, 'POST', '/orders', { token: 'not-a-token', body })).status).toBe(401);
  });
});

describe('payment webhook', () => {
  test('a bad signature is 401 and changes nothing', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 1 });
    const r = await order(buyer, [{ item_id: a, quantity: 1 }], { payment_method: 'pm_card_noResponse' });
    const body = JSON.stringify({
      id: 'evt_1',
      type: 'charge.succeeded',
      order_id: r.body.order_id,
      charge_id: 'ch_forged',
    });
    const forged = await call(p.baseUrl, 'POST', '/payments/webhook', {
      rawBody: body,
      headers: { [SIGNATURE_HEADER]: signPayload('not-the-secret-at-all', body) },
    });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('invalid_signature');
    expect((await statusIs(r.body.order_id, 'canceled')).cancel_reason).toBe('payment_timeout');
  });

  const signed = (event: Record<string, unknown>) => {
    const body = JSON.stringify(event);
    return call(p.baseUrl, 'POST', '/payments/webhook', {
      rawBody: body,
      headers: { [SIGNATURE_HEADER]: signPayload(p.cfg.PAYMENT_WEBHOOK_SECRET, body) },
    });
  };

  test('a signed success for a waiting order places it', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 1 });
    const r = await order(buyer, [{ item_id: a, quantity: 1 }], { payment_method: 'pm_card_noResponse' });
    const ok = await signed({
      id: 'evt_2',
      type: 'charge.succeeded',
      order_id: r.body.order_id,
      charge_id: 'ch_hook',
      amount: Math.round(r.body.total_price * 100),
      currency: 'USD',
    });
    expect(ok.status).toBe(200);
    expect((await statusIs(r.body.order_id, 'placed')).payment_status).toBe('succeeded');
  });

  test("a signed success for the charge that placed the order is acknowledged without a signal: the saga's history gains no event", async () => {
    const a = await makeItem(p.stores.mysql, { stock: 1, price: 10 });
    const r = await order(buyer, [{ item_id: a, quantity: 1 }], { payment_method: 'pm_card_visa' });
    await statusIs(r.body.order_id, 'placed');
    const { charge_id: chargeId } = await p.stores.mysql('orders').where({ order_id: r.body.order_id }).first();
    expect(chargeId).toEqual(expect.any(String));
    const handle = p.stores.temporal.workflow.getHandle(r.body.order_id);
    const signals = async () =>
      (await handle.fetchHistory()).events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    const before = await signals();
    const event = { type: 'charge.succeeded', order_id: r.body.order_id, amount: 1000, currency: 'USD' };
    expect((await signed({ ...event, id: 'evt_8', charge_id: chargeId })).status).toBe(200);
    expect(await signals()).toBe(before);
    expect((await p.gateway.retrieveCharge(r.body.order_id))?.status).toBe('succeeded');
    expect((await getOrder(buyer, r.body.order_id)).body.status).toBe('placed');
  });

  test('a signed decline for an order whose saga has closed is acknowledged (the gateway stops retrying)', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 1, price: 10 });
    const r = await order(buyer, [{ item_id: a, quantity: 1 }], { payment_method: 'pm_card_chargeDeclined' });
    await p.stores.temporal.workflow.getHandle(r.body.order_id).result();
    const res = await signed({
      id: 'evt_7',
      type: 'charge.failed',
      order_id: r.body.order_id,
      charge_id: 'ch_declined',
      amount: 1000,
      currency: 'USD',
    });
    expect(res.status).toBe(200);
  });

  test('a signed success for another amount or currency than the order total is 400 amount_mismatch and places nothing', async () => {
    const a = await makeItem(p.stores.mysql, { stock: 1, price: 10 });
    const r = await order(buyer, [{ item_id: a, quantity: 1 }], { payment_method: 'pm_card_noResponse' });
    const base = { type: 'charge.succeeded', order_id: r.body.order_id, charge_id: 'ch_tampered' };
    for (const wrong of [
      { id: 'evt_3', amount: 1, currency: 'USD' },
      { id: 'evt_4', amount: 1000, currency: 'EUR' },
    ]) {
      const res = await signed({ ...base, ...wrong });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('amount_mismatch');
    }
    expect(
      (
        await call(p.baseUrl, 'POST', '/payments/webhook', {
          body: { ...base, id: 'evt_5', amount: 1000, currency: 'USD' },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await signed({
          id: 'evt_6',
          type: 'charge.refunded',
          order_id: r.body.order_id,
          charge_id: 'ch_tampered',
          amount: 1000,
          currency: 'USD',
        })
      ).status,
    ).toBe(200);
    expect((await statusIs(r.body.order_id, 'canceled')).cancel_reason).toBe('payment_timeout');
  });
});

test('reserved orders whose saga never started (the API died in between) are started by the sweeper, every page of them', async () => {
  const a = await makeItem(p.stores.mysql, { stock: 3 });
  const expiresAt = new Date(Date.now() + 60_000).toISOString();
  const orderIds = [`o-${randomUUID()}`, `o-${randomUUID()}`];
  for (const orderId of orderIds) {
    const r = await reserveOrder(p.stores.mysql, {
      orderId,
      userId: buyer.userId,
      lines: [{ item_id: a, quantity: 1 }],
      paymentMethod: 'pm_card_visa',
      expiresAt,
    });
    expect(r.ok).toBe(true);
  }
  const sweeper = new SagaSweeper(
    p.stores.mysql,
    p.stores.redis,
    p.stores.temporal,
    { ...p.cfg, ORDER_SAGA_SWEEP_AFTER: 0 },
    logger,
  );
  // Pages of one row: one pass still reaches both, whatever else is due in this database before them.
  const swept = await sweeper.sweep(1);
  for (const orderId of orderIds) expect(swept.get(orderId)).toBe('started');
  for (const orderId of orderIds) expect((await statusIs(orderId, 'placed')).expires_at).toBe(expiresAt);
  expect(await stockOf(p.stores.mysql, a)).toBe(1);
  const again = await sweeper.sweep();
  for (const orderId of orderIds) expect(again.has(orderId)).toBe(false); // started: left alone
});

test("GET /users/{id}/orders: the buyer's orders newest first, paged by cursor, filtered by status; others 403", async () => {
  const u = await makeUser(p.stores.mysql, p.deps.tokens);
  const a = await makeItem(p.stores.mysql, { stock: 10 });
  const ids: string[] = [];
  for (const method of ['pm_card_visa', 'pm_card_chargeDeclined', 'pm_card_visa']) {
    ids.push((await order(u, [{ item_id: a, quantity: 1 }], { payment_method: method })).body.order_id);
    await new Promise((r) => setTimeout(r, 5));
  }
  const page1 = await call(p.baseUrl, 'GET', `/users/${u.userId}/orders?limit=2`, { token: u.token });
  expect(page1.status).toBe(200);
  expect(page1.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([ids[2], ids[1]]);
  const page2 = await call(p.baseUrl, 'GET', `/users/${u.userId}/orders?limit=2&cursor=${page1.body.next_cursor}`, {
    token: u.token,
  });
  expect(page2.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([ids[0]]);
  expect(page2.body.next_cursor).toBeNull();
  await eventually(async () => (await getOrder(u, ids[1]!)).body.status === 'canceled');
  const canceled = await call(p.baseUrl, 'GET', `/users/${u.userId}/orders?status=canceled`, { token: u.token });
  expect(canceled.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([ids[1]]);
  expect((await call(p.baseUrl, 'GET', `/users/${u.userId}/orders`, { token: other.token })).status).toBe(403);
  expect(
    (await call(p.baseUrl, 'GET', `/users/${u.userId}/orders?cursor=bm90LWEtY3Vyc29y`, { token: u.token })).status,
  ).toBe(400);
});

/**
 * The Notification service on the real servers: orders placed through the API (worker + outbox relay), their
 * events on Kafka, a notifier (consumer group of this file's own, starting at this file's first message) storing
 * notifications in MySQL and e-mailing them through Mailpit; redelivered events and a consumer crashing
 * between storing and committing never make a second notification; the API's rules.
 */
import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually, TEST_SHIPMENT } from '../support/http';
import { TOPICS } from '../../stores/kafka/topics';
import { createNotifier, Notifier } from '../../notifications/notifier';
import { NotificationRepository } from '../../notifications/repository';
import { NotificationSender } from '../../notifications/sender';
import { createChannel } from '../../notifications/channels';
import type { Config } from '../../lib/config';
import { logger } from '../../lib/logger';

const MAILPIT_URL = process.env.MAILPIT_URL ?? 'http://127.0.0.1:8025';
const TOPIC = TOPICS.orders.name;
const GROUP = `notifications-test-${randomUUID()}`;

let p: Platform;
let cfg: Config;
let admin: Admin;
let notifier: Notifier | undefined;
let adminUser: TestUser;
let start: { partition: number; offset: string }[];

const log = logger.child({ component: 'notifications-test' });

async function partitionEnds(): Promise<{ partition: number; offset: string }[]> {
  return (await admin.fetchTopicOffsets(TOPIC)).map((o) => ({ partition: o.partition, offset: o.high }));
}

/** Points the (empty) group at these offsets; retried while the previous member is still leaving. */
async function setGroupOffsets(offsets: { partition: number; offset: string }[]): Promise<void> {
  await eventually(
    async () => {
      await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: offsets });
      return true;
    },
    30_000,
    500,
  );
}

/** Waits until the group has committed at least up to these offsets on every partition: everything before
 * them is stored. */
async function caughtUp(ends: { partition: number; offset: string }[]): Promise<void> {
  await eventually(
    async () => {
      const [committed] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      const at = new Map(committed!.partitions.map((x) => [x.partition, BigInt(x.offset)]));
      return ends.every((e) => (at.get(e.partition) ?? -1n) >= BigInt(e.offset));
    },
    30_000,
    200,
  );
}

function newNotifier(overrides: Parameters<typeof createNotifier>[4] = {}): Notifier {
  return createNotifier(cfg, p.stores.mysql, p.stores.kafka, log, overrides);
}

beforeAll(async () => {
  p = await startPlatform({ relay: true, env: { ORDER_PAYMENT_TIMEOUT: '60s' } });
  cfg = {
    ...p.cfg,
    NOTIFICATIONS_GROUP: GROUP,
    NOTIFY_CHANNEL: 'email',
    NOTIFY_POLL_INTERVAL: 100,
    NOTIFY_RETRY_BASE: 200,
  };
  adminUser = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  admin = p.stores.kafka.admin();
  await admin.connect();
  // This file's notifier reads from here on: older messages (other runs, other files) are not its business.
  start = await partitionEnds();
  await setGroupOffsets(start);
  notifier = newNotifier();
  await notifier.start();
});
afterAll(async () => {
  await notifier?.stop();
  await admin?.disconnect();
  await p?.stop();
});

interface N {
  notification_id: string;
  type: string;
  order_id: string | null;
  audience: string;
  delivery_status: string;
  channel: string | null;
  message: string;
  read_at: string | null;
}
const list = async (u: TestUser, query = '', as: TestUser = u) => {
  const r = await call(p.baseUrl, 'GET', `/users/${u.userId}/notifications${query}`, { token: as.token });
  expect(r.status).toBe(200);
  return r.body.notifications as N[];
};
const ofOrder = async (u: TestUser, orderId: string) =>
  (await list(u, '?limit=100')).filter((n) => n.order_id === orderId);
const place = async (u: TestUser, item: string) => {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: u.token,
    body: { user_id: u.userId, items: [{ item_id: item, quantity: 2 }], payment_method: 'pm_card_visa' },
  });
  expect(r.status).toBe(201);
  const id = r.body.order_id as string;
  await eventually(
    async () => (await call(p.baseUrl, 'GET', `/orders/${id}`, { token: u.token })).body.status === 'placed',
    20_000,
  );
  return id;
};
const mailsTo = async (email: string) => {
  const res = await fetch(`${MAILPIT_URL}/api/v1/search?query=${encodeURIComponent(`to:"${email}"`)}&limit=50`);
  expect(res.status).toBe(200);
  return (
    (await res.json()) as { messages: { ID: string; Subject: string; Snippet: string; To: { Address: string }[] }[] }
  ).messages;
};
const typesOf = (ns: N[]) => ns.map((n) => n.type);

describe('order changes', () => {
  let buyer: TestUser;
  let seller: TestUser;
  let item: string;
  let orderId: string;

  beforeAll(async () => {
    buyer = await makeUser(p.stores.mysql, p.deps.tokens);
    seller = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
    item = await makeItem(p.stores.mysql, { stock: 20, price: 12.5, supplierId: seller.userId });
  });

  test('a placed order: exactly one notification for the buyer and one for the seller, readable and e-mailed through Mailpit', async () => {
    orderId = await place(buyer, item);
    const mine = await eventually(async () => {
      const ns = await ofOrder(buyer, orderId);
      return ns.length > 0 && ns;
    });
    const theirs = await eventually(async () => {
      const ns = await ofOrder(seller, orderId);
      return ns.length > 0 && ns;
    });
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives for the same change
    expect(typesOf(await ofOrder(buyer, orderId))).toEqual(['order_placed']); // order.created notifies no one
    expect(typesOf(await ofOrder(seller, orderId))).toEqual(['new_order']);
    expect(mine[0]).toMatchObject({ audience: 'customer', order_id: orderId });
    expect(mine[0]!.message).toContain(orderId);
    expect(mine[0]!.message).toContain('25.00');
    expect(theirs[0]).toMatchObject({ audience: 'seller', order_id: orderId });
    expect(theirs[0]!.message).toContain(`2 units of ${item}`);

    // Delivered by e-mail: the rows say sent, and the messages are in Mailpit.
    await eventually(async () =>
      (await ofOrder(buyer, orderId)).every((n) => n.delivery_status === 'sent' && n.channel === 'email'),
    );
    const mails = await eventually(async () => {
      const m = await mailsTo(buyer.email);
      return m.length > 0 && m;
    });
    expect(mails).toHaveLength(1);
    expect(mails[0]!.Subject).toBe('Your order is confirmed');
    expect(mails[0]!.Snippet).toContain(orderId);
    const sellerMails = await eventually(async () => {
      const m = await mailsTo(seller.email);
      return m.length > 0 && m;
    });
    expect(sellerMails.map((m) => m.Subject)).toEqual(['New order to ship']);
  });

  test('shipping and delivering each make exactly one more, for the buyer only (the order row may be archived)', async () => {
    expect(
      (await call(p.baseUrl, 'POST', `/orders/${orderId}/ship`, { token: adminUser.token, body: TEST_SHIPMENT }))
        .status,
    ).toBe(200);
    await eventually(async () => (await ofOrder(buyer, orderId)).length === 2);
    expect((await call(p.baseUrl, 'POST', `/orders/${orderId}/deliver`, { token: adminUser.token })).status).toBe(200);
    await eventually(async () => (await ofOrder(buyer, orderId)).length === 3);
    await new Promise((r) => setTimeout(r, 500));
    expect(typesOf(await ofOrder(buyer, orderId))).toEqual(['order_delivered', 'order_in_transit', 'order_placed']); // newest first
    expect(typesOf(await ofOrder(seller, orderId))).toEqual(['new_order']);
    await eventually(async () => (await mailsTo(buyer.email)).length === 3);
  });

  test('a redelivered event (same event_id, published again) makes no second notification', async () => {
    const rows: { source_event_id: string }[] = await p.stores
      .mysql('notifications')
      .select('source_event_id')
      .where({ order_id: orderId, user_id: buyer.userId });
    expect(rows).toHaveLength(3);
    for (const { source_event_id } of rows) {
      const out = await p.stores.mysql('outbox').select('payload').where({ event_id: source_event_id }).first();
      expect(out).toBeDefined();
      const payload = out.payload as string;
      await p.stores.producer.send({
        topic: TOPIC,
        messages: [
          { key: orderId, value: payload },
          { key: orderId, value: payload },
        ],
      });
    }
    await caughtUp(await partitionEnds());
    expect(typesOf(await ofOrder(buyer, orderId))).toEqual(['order_delivered', 'order_in_transit', 'order_placed']);
    expect(typesOf(await ofOrder(seller, orderId))).toEqual(['new_order']);
    expect(notifier!.consumer.events).toBeGreaterThanOrEqual(6);
    await new Promise((r) => setTimeout(r, 300));
    expect(await mailsTo(buyer.email)).toHaveLength(3); // nothing sent twice either
  });

  test('a consumer crashing after storing part of a batch, before committing, then replaced in its group: still exactly one per change', async () => {
    // Stop the notifier; events of a new order wait on Kafka.
    await notifier!.stop();
    notifier = undefined;
    const buyer2 = await makeUser(p.stores.mysql, p.deps.tokens);
    const order2 = await place(buyer2, item);
    expect(
      (await call(p.baseUrl, 'POST', `/orders/${order2}/ship`, { token: adminUser.token, body: TEST_SHIPMENT })).status,
    ).toBe(200);
    const isPublished = async (type: string) =>
      (await p.stores
        .mysql('outbox')
        .where({ msg_key: order2 })
        .whereNotNull('published_at')
        .whereRaw('payload LIKE ?', [`%"type":"${type}"%`])
        .first()) !== undefined;
    await eventually(async () => (await isPublished('order.placed')) && (await isPublished('order.in_transit')));
    const ends = await partitionEnds();

    // Rewind the group to this file's first message (everything is redelivered) and start a consumer that
    // stores one message at a time and "crashes" (throws, then keeps failing) right after the first chunk that
    // stored order2's notifications, before its offset is committed.
    await setGroupOffsets(start);
    let crashedAfter = 0;
    const crashing = newNotifier({
      consumer: {
        chunkSize: 1,
        beforeCommit: async ({ inserted }) => {
          // (Only once order2's notifications are among the stored: another file's orders may be interleaved.)
          const mine =
            inserted > 0 &&
            Number((await p.stores.mysql('notifications').where({ order_id: order2 }).count({ n: '*' }).first())!.n) >
              0;
          if (crashedAfter > 0 || mine) {
            crashedAfter ||= inserted;
            throw new Error('simulated crash between storing and committing');
          }
        },
      },
    });
    await crashing.start();
    await eventually(async () => crashedAfter > 0, 30_000);
    await crashing.stop();
    // The crash stored part of order2's notifications: some rows exist, the offsets behind them are not committed.
    const storedBefore = await p.stores.mysql('notifications').where({ order_id: order2 }).count({ n: '*' }).first();
    expect(Number(storedBefore!.n)).toBeGreaterThanOrEqual(1);
    const [committed] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const behind = ends.some(
      (e) => BigInt(committed!.partitions.find((x) => x.partition === e.partition)!.offset) < BigInt(e.offset),
    );
    expect(behind).toBe(true);

    // A new consumer in the same group takes over from the committed offsets.
    notifier = newNotifier();
    await notifier.start();
    await caughtUp(ends);
    expect(typesOf(await ofOrder(buyer2, order2))).toEqual(['order_in_transit', 'order_placed']);
    expect(typesOf(await ofOrder(seller, order2))).toEqual(['new_order']);
    expect(typesOf(await ofOrder(buyer, orderId))).toEqual(['order_delivered', 'order_in_transit', 'order_placed']);
    expect(typesOf(await ofOrder(seller, orderId))).toEqual(['new_order']);
    // And every one of them is delivered once.
    await eventually(async () => (await ofOrder(buyer2, order2)).every((n) => n.delivery_status === 'sent'));
    await eventually(async () => (await mailsTo(buyer2.email)).length === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(await mailsTo(buyer2.email)).toHaveLength(2);
  });

  test('a declined payment: one "canceled" for the buyer, nothing for the seller; a placed order canceled by its buyer: "canceled" and "refunded", and its seller told not to ship', async () => {
    const buyer3 = await makeUser(p.stores.mysql, p.deps.tokens);
    const declined = await call(p.baseUrl, 'POST', '/orders', {
      token: buyer3.token,
      body: {
        user_id: buyer3.userId,
        items: [{ item_id: item, quantity: 1 }],
        payment_method: 'pm_card_chargeDeclined',
      },
    });
    expect(declined.status).toBe(201);
    const d = declined.body.order_id as string;
    await eventually(async () => (await ofOrder(buyer3, d)).length === 1, 20_000);
    const [canceled] = await ofOrder(buyer3, d);
    expect(canceled).toMatchObject({ type: 'order_canceled', audience: 'customer' });
    expect(canceled!.message).toContain('declined');

    const o = await place(buyer3, item);
    expect((await call(p.baseUrl, 'POST', `/orders/${o}/cancel`, { token: buyer3.token })).status).toBe(200);
    await eventually(async () => (await ofOrder(buyer3, o)).length === 3, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(typesOf(await ofOrder(buyer3, o)).sort()).toEqual(['order_canceled', 'order_placed', 'order_refunded']);
    expect(typesOf(await ofOrder(seller, d))).toEqual([]);
    await eventually(async () => (await ofOrder(seller, o)).length === 2, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(typesOf(await ofOrder(seller, o)).sort()).toEqual(['new_order', 'order_to_ship_canceled']);
  });
});

describe('a buyer charged twice', () => {
  test('is told once that the second payment went back and that the order stays paid', async () => {
    const buyer4 = await makeUser(p.stores.mysql, p.deps.tokens);
    const item4 = await makeItem(p.stores.mysql, { stock: 2, price: 5 });
    const o = await place(buyer4, item4);
    // The same order paid again at the gateway (another channel's retry): its webhook reaches the saga.
    const second = await p.gateway.createCharge({
      idempotencyKey: `twice-${o}`,
      orderId: o,
      amountMinor: 1000,
      currency: 'USD',
      paymentMethod: 'pm_card_visa',
      expiresAt: new Date().toISOString(),
    });
    await eventually(async () => (await ofOrder(buyer4, o)).length === 2, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const refunded = (await ofOrder(buyer4, o)).filter((n) => n.type === 'order_refunded');
    expect(refunded).toHaveLength(1);
    expect(refunded[0]!.message).toBe(
      `A second payment of 10.00 for your order ${o} was refunded; your order stays paid.`,
    );
    expect((await p.gateway.retrieveCharge(second.chargeId))?.status).toBe('refunded');
    expect((await call(p.baseUrl, 'GET', `/orders/${o}`, { token: buyer4.token })).body).toMatchObject({
      status: 'placed',
      payment_status: 'succeeded',
    });
  });
});

describe('API', () => {
  let buyer: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    buyer = await makeUser(p.stores.mysql, p.deps.tokens);
    other = await makeUser(p.stores.mysql, p.deps.tokens);
  });

  const send = (as: TestUser | undefined, body: unknown) =>
    call(p.baseUrl, 'POST', '/notifications', { token: as?.token, body });

  test('POST /notifications: admin 201 with the stored notification (then e-mailed); customer 403; no token 401; unknown user 404', async () => {
    const body = { user_id: buyer.userId, type: 'order_placed', message: 'Your order has been placed successfully.' };
    const r = await send(adminUser, body);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      user_id: buyer.userId,
      type: 'order_placed',
      message: body.message,
      audience: 'direct',
      order_id: null,
      delivery_status: 'pending',
      read_at: null,
    });
    expect(typeof r.body.notification_id).toBe('string');
    expect((await list(buyer)).map((n) => n.notification_id)).toContain(r.body.notification_id);
    const mails = await eventually(async () => {
      const m = await mailsTo(buyer.email);
      return m.length > 0 && m;
    });
    expect(mails[0]!.Snippet).toContain('placed successfully');

    const asCustomer = await send(buyer, body);
    expect(asCustomer.status).toBe(403);
    expect(asCustomer.body.error.code).toBe('forbidden');
    expect((await send(buyer, { nonsense: true })).status).toBe(403); // the role is checked before the body
    expect((await send(undefined, body)).status).toBe(401);

    const unknown = await send(adminUser, { ...body, user_id: 'u123' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  test('POST /notifications: invalid bodies are 400 in the contract format', async () => {
    const good = { user_id: buyer.userId, type: 'order_placed', message: 'hello' };
    for (const bad of [
      {},
      { ...good, message: undefined },
      { ...good, message: '' },
      { ...good, message: 'x'.repeat(1001) },
      { ...good, type: 'Order Placed' },
      { ...good, type: { $gt: '' } },
      { ...good, user_id: { $ne: null } },
      { ...good, extra: 1 },
      [good],
    ]) {
      const r = await send(adminUser, bad);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
      expect(typeof r.body.error.message).toBe('string');
    }
    const notJson = await call(p.baseUrl, 'POST', '/notifications', {
      token: adminUser.token,
      rawBody: '{"user_id":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('invalid_json');
  });

  test("GET /users/{id}/notifications: only yourself or an admin; another user's is 403", async () => {
    expect((await call(p.baseUrl, 'GET', `/users/${buyer.userId}/notifications`, { token: other.token })).status).toBe(
      403,
    );
    expect((await call(p.baseUrl, 'GET', `/users/${buyer.userId}/notifications`)).status).toBe(401);
    expect(
      (await call(p.baseUrl, 'GET', `/users/${buyer.userId}/notifications`, { token: adminUser.token })).status,
    ).toBe(200);
    expect((await call(p.baseUrl, 'GET', `/users/u-nobody/notifications`, { token: adminUser.token })).status).toBe(
      404,
    );
    const bad = await call(p.baseUrl, 'GET', `/users/${buyer.userId}/notifications?limit=0`, { token: buyer.token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    expect(
      (await call(p.baseUrl, 'GET', `/users/${buyer.userId}/notifications?cursor=bm9wZQ`, { token: buyer.token }))
        .status,
    ).toBe(400);
    expect(
      (await call(p.baseUrl, 'GET', `/users/${buyer.userId}/notifications?sort=x`, { token: buyer.token })).status,
    ).toBe(400);
  });

  test('newest first with cursor pages; unread filter; marking read', async () => {
    const u = await makeUser(p.stores.mysql, p.deps.tokens);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++)
      sent.push(
        (await send(adminUser, { user_id: u.userId, type: 'promo', message: `message ${i}` })).body.notification_id,
      );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; body: { notifications: N[]; next_cursor: string | null } } = await call(
        p.baseUrl,
        'GET',
        `/users/${u.userId}/notifications?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: u.token },
      );
      expect(r.status).toBe(200);
      expect(r.body.notifications.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.notifications.map((n) => n.notification_id));
      cursor = r.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...sent].reverse());

    const read = await call(p.baseUrl, 'POST', `/users/${u.userId}/notifications/${sent[1]}/read`, { token: u.token });
    expect(read.status).toBe(200);
    expect(read.body.read_at).not.toBeNull();
    expect((await list(u, '?unread=true')).map((n) => n.notification_id)).not.toContain(sent[1]);
    expect((await list(u, '?unread=true')).length).toBe(4);
    expect((await list(u, '?unread=false')).map((n) => n.notification_id)).toEqual([sent[1]]);
    // Someone else's notification cannot be marked through your id, nor yours by them.
    expect(
      (await call(p.baseUrl, 'POST', `/users/${other.userId}/notifications/${sent[2]}/read`, { token: other.token }))
        .status,
    ).toBe(404);
    expect(
      (await call(p.baseUrl, 'POST', `/users/${u.userId}/notifications/${sent[2]}/read`, { token: other.token }))
        .status,
    ).toBe(403);
  });
});

describe('delivery', () => {
  test('a notification stored but never sent (the sender died mid-send) is sent once its claim lapses; failed sends are retried, then marked failed', async () => {
    await notifier?.stop(); // no other sender in this process while this test drives its own
    notifier = undefined;
    const repo = new NotificationRepository(p.stores.mysql);
    const ok = await makeUser(p.stores.mysql, p.deps.tokens);
    const bounced = await makeUser(p.stores.mysql, p.deps.tokens);
    const a = await repo.create({
      user_id: ok.userId,
      type: 'promo',
      message: 'stored before a crash',
      order_id: null,
    });
    const b = await repo.create({
      user_id: bounced.userId,
      type: 'promo',
      message: 'never deliverable',
      order_id: null,
    });

    // A sender claims them and dies before sending: the claim holds them for its lease, then they are due again.
    const claimed = await repo.claimDue(500, 400);
    expect(claimed.map((n) => n.notification_id)).toEqual(
      expect.arrayContaining([a.notification_id, b.notification_id]),
    );
    expect(claimed.find((n) => n.notification_id === a.notification_id)).toMatchObject({
      email: ok.email,
      attempts: 1,
    });
    expect((await repo.claimDue(500, 400)).map((n) => n.notification_id)).not.toContain(a.notification_id);

    const email = createChannel({ ...cfg, NOTIFY_CHANNEL: 'email' });
    const sender = new NotificationSender(
      repo,
      {
        name: 'email',
        async send(n) {
          if (n.user_id === bounced.userId) throw new Error('550 mailbox unavailable');
          await email.send(n);
        },
      },
      log,
      { pollMs: 50, batch: 50, leaseMs: 10_000, maxAttempts: 3, retryBaseMs: 100 },
    );
    sender.start();
    try {
      await eventually(async () => (await repo.get(a.notification_id))?.delivery_status === 'sent', 20_000);
      await eventually(async () => (await repo.get(b.notification_id))?.delivery_status === 'failed', 20_000);
    } finally {
      await sender.stop();
      await email.close?.();
    }
    expect(await repo.get(a.notification_id)).toMatchObject({ delivery_status: 'sent', channel: 'email', attempts: 2 });
    const failed = await p.stores.mysql('notifications').where({ notification_id: b.notification_id }).first();
    expect(failed).toMatchObject({ delivery_status: 'failed', attempts: 3, last_error: '550 mailbox unavailable' });
    const mails = await eventually(async () => {
      const m = await mailsTo(ok.email);
      return m.length > 0 && m;
    });
    expect(mails).toHaveLength(1);
    expect(await mailsTo(bounced.email)).toHaveLength(0);
    // As the API shows them.
    expect((await list(bounced))[0]).toMatchObject({ notification_id: b.notification_id, delivery_status: 'failed' });
  });
});

/**
 * The saga's store steps that carry the Redis mirror on their way (patch mirror-in-store-steps), on the real MySQL
 * and Redis: the claim writes `order:{id}` with the payment window as its TTL, placing and canceling remove it.
 * With Redis down (the worker's fail-fast client on a port nobody listens on) the MySQL step still happens and
 * answers that the mirror was not done, so the saga runs its mirror activity instead; it neither fails nor waits.
 * And the reconciler's pass (orders/mirror-repair.ts) that gives the mirror back to every order waiting for its
 * payment once Redis has lost it (it runs without persistence: a restart loses every mirror).
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { createFailFastRedis, type Redis } from '../../stores/redis/client';
import { createUser } from '../../users/repository';
import { mirrorKey } from '../../orders/mirror';
import { repairMirrors } from '../../orders/mirror-repair';
import { createOrderStateActivities } from '../../activities/order-state-activities';
import type { OrderActivityContext } from '../../activities/deps';
import { makeOrder, stockOf } from '../support/fixtures';
import { deadPort } from '../support/dead-port';

const cfg = loadConfig(process.env);
const mysql = createMysql(cfg.MYSQL_URL);
const redis = createFailFastRedis(cfg.REDIS_URL, 1_000);
let deadRedis: Redis;

let userId: string;
beforeAll(async () => {
  deadRedis = createFailFastRedis(`redis://127.0.0.1:${await deadPort()}`, 1_000);
  while (deadRedis.status !== 'reconnecting') await new Promise((r) => setTimeout(r, 10));
  const u = await createUser(mysql, {
    name: 'Mirror test',
    email: `mirror-${randomUUID()}@test.shopflow.dev`,
    password: 'correct horse battery',
    role: 'customer',
    supplierApproved: true,
  });
  userId = u.user_id;
});
afterAll(async () => {
  deadRedis.disconnect();
  redis.disconnect();
  await mysql.destroy();
});

const activitiesOn = (r: Redis) => createOrderStateActivities({ mysql, redis: r } as unknown as OrderActivityContext);

/** A created order of one unit of a fresh item (stock 3). */
const createdOrder = () => makeOrder(mysql, userId, { stock: 3, quantity: 1 });

const statusOf = async (orderId: string) =>
  (await mysql('orders').select('status', 'saga_started_at').where({ order_id: orderId }).first()) as {
    status: string;
    saga_started_at: Date | null;
  };

test('the claim writes the mirror with the payment window as its TTL; placing removes it', async () => {
  const { orderId } = await createdOrder();
  const steps = activitiesOn(redis);
  const claimed = await steps.claimOrder({ orderId, mirror: true });
  expect(claimed.mirrored).toBe(true);
  expect(JSON.parse((await redis.get(mirrorKey(orderId)))!)).toEqual({
    order_id: orderId,
    user_id: userId,
    status: 'created',
    expiry_time: claimed.order.expires_at,
  });
  const ttl = await redis.pttl(mirrorKey(orderId));
  expect(ttl).toBeGreaterThan(50_000);
  expect(ttl).toBeLessThanOrEqual(60_000);

  expect(await steps.markPlacedAndUnmirror({ orderId, chargeId: 'ch_mirror', late: false })).toEqual({
    placed: true,
    unmirrored: true,
  });
  expect(await redis.exists(mirrorKey(orderId))).toBe(0);
  expect((await statusOf(orderId)).status).toBe('placed');
  // Again (a retry after a lost answer): still placed, nothing to remove.
  expect(await steps.markPlacedAndUnmirror({ orderId, chargeId: 'ch_mirror', late: false })).toEqual({
    placed: true,
    unmirrored: true,
  });
});

test('canceling removes the mirror with the order canceled and its stock back', async () => {
  const { orderId, itemId } = await createdOrder();
  const steps = activitiesOn(redis);
  await steps.claimOrder({ orderId, mirror: true });
  expect(await stockOf(mysql, itemId)).toBe(2);
  const { view, unmirrored } = await steps.cancelOrderAndUnmirror({
    orderId,
    reason: 'payment_timeout',
    paymentStatus: 'expired',
  });
  expect([view?.status, unmirrored]).toEqual(['canceled', true]);
  expect(await redis.exists(mirrorKey(orderId))).toBe(0);
  expect(await stockOf(mysql, itemId)).toBe(3);
});

test('without `mirror` (sagas from before the patch) the claim leaves Redis alone', async () => {
  const { orderId } = await createdOrder();
  const claimed = await activitiesOn(redis).claimOrder({ orderId });
  expect(claimed.mirrored).toBeUndefined();
  expect(await redis.exists(mirrorKey(orderId))).toBe(0);
});

test('Redis down: every MySQL step still happens, at once, and says the mirror was not done', async () => {
  const { orderId, itemId } = await createdOrder();
  const steps = activitiesOn(deadRedis);
  const started = Date.now();
  const claimed = await steps.claimOrder({ orderId, mirror: true });
  expect(claimed.mirrored).toBe(false);
  expect((await statusOf(orderId)).saga_started_at).not.toBeNull();
  expect(await steps.markPlacedAndUnmirror({ orderId, chargeId: 'ch_down', late: false })).toEqual({
    placed: true,
    unmirrored: false,
  });
  expect((await statusOf(orderId)).status).toBe('placed');
  const { view, unmirrored } = await steps.cancelOrderAndUnmirror({
    orderId,
    reason: 'canceled_by_customer',
    paymentStatus: 'refunded',
  });
  expect([view?.status, unmirrored]).toEqual(['canceled', false]);
  expect(await stockOf(mysql, itemId)).toBe(3);
  // The fail-fast client refuses at once; nothing waited for a reconnect.
  expect(Date.now() - started).toBeLessThan(5_000);
});

test('a refused placing (the order was canceled under the saga) does not touch the mirror', async () => {
  const { orderId } = await createdOrder();
  const steps = activitiesOn(redis);
  await steps.claimOrder({ orderId, mirror: true });
  await mysql('orders').where({ order_id: orderId }).update({ status: 'canceled', cancel_reason: 'payment_timeout' });
  expect(await steps.markPlacedAndUnmirror({ orderId, chargeId: 'ch_late', late: false })).toEqual({
    placed: false,
    unmirrored: false,
  });
  // The cancel's own step removes it.
  expect(await redis.exists(mirrorKey(orderId))).toBe(1);
});

test("Redis lost the mirrors (a restart): the reconciler's pass writes them again, only for orders still waiting", async () => {
  const steps = activitiesOn(redis);
  const waiting = await createdOrder();
  const placed = await createdOrder();
  const unclaimed = await createdOrder(); // no saga has claimed it yet: its saga will mirror it
  for (const o of [waiting, placed]) await steps.claimOrder({ orderId: o.orderId, mirror: true });
  await steps.markPlaced({ orderId: placed.orderId, chargeId: 'ch_placed', late: false });
  await redis.del(mirrorKey(waiting.orderId), mirrorKey(placed.orderId)); // what a restart does

  // Claimed a moment ago: left to its saga.
  expect(await repairMirrors(mysql, redis, 60_000)).not.toContain(waiting.orderId);
  expect(await redis.exists(mirrorKey(waiting.orderId))).toBe(0);

  const written = await repairMirrors(mysql, redis, 0);
  expect(written).toContain(waiting.orderId);
  expect(written).not.toContain(placed.orderId);
  expect(written).not.toContain(unclaimed.orderId);
  const mirror = JSON.parse((await redis.get(mirrorKey(waiting.orderId)))!);
  expect(mirror).toMatchObject({ order_id: waiting.orderId, user_id: userId, status: 'created' });
  const row = await mysql('orders').select('expires_at').where({ order_id: waiting.orderId }).first();
  expect(Date.parse(mirror.expiry_time)).toBe(new Date(row.expires_at).getTime());
  expect(await redis.pttl(mirrorKey(waiting.orderId))).toBeGreaterThan(30_000);
  expect(await redis.exists(mirrorKey(placed.orderId))).toBe(0);
  expect(await redis.exists(mirrorKey(unclaimed.orderId))).toBe(0);
  // Nothing missing any more: a second pass writes nothing of these.
  expect(await repairMirrors(mysql, redis, 0)).not.toContain(waiting.orderId);
});

test('Redis down during the pass: it fails at once (the reconciler logs it and tries on its next run)', async () => {
  await createdOrder().then(({ orderId }) => activitiesOn(redis).claimOrder({ orderId }));
  await expect(repairMirrors(mysql, deadRedis, 0)).rejects.toThrow();
});

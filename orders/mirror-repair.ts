/**
 * The reconciler's third step: every order that waits for its payment has its Redis mirror (`order:{id}`, see
 * ./mirror.ts). Redis runs without persistence, so a restart loses every mirror at once, and a saga's own mirror
 * write gives up after its bound during a long outage: without this pass those orders would have no mirror for
 * the rest of their payment window.
 *
 * Only missing mirrors are written. A mirror left behind by an order that moved on (its removal failed while Redis
 * was down) expires with the payment window it carries, so it is not hunted for (that would scan Redis's whole
 * keyspace on every run).
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { mirrorKey, writeMirror } from './mirror';
import type { OrderStatus } from './model';

/** A saga's own mirror write ends within 15 s of its claim (workflows/order.ts, the mirror activity's bound):
 * orders claimed more recently are left to it. */
export const MIRROR_GRACE_MS = 30_000;
/** Orders looked at per run, soonest deadline first (the rest wait for the next run). */
const MAX_ORDERS_PER_RUN = 5000;
const BATCH = 500;

interface WaitingOrder {
  order_id: string;
  user_id: string;
  status: OrderStatus;
  expires_at: Date;
}

/** Writes the missing mirrors of orders waiting for their payment; returns their ids. Orders whose saga claimed
 * them less than `graceMs` ago are left to it. */
export async function repairMirrors(mysql: Knex, redis: Redis, graceMs: number): Promise<string[]> {
  const now = Date.now();
  const waiting: WaitingOrder[] = await mysql('orders')
    .select('order_id', 'user_id', 'status', 'expires_at')
    .where({ status: 'created' })
    .where('saga_started_at', '<', new Date(now - graceMs))
    .where('expires_at', '>', new Date(now))
    .orderBy('expires_at')
    .limit(MAX_ORDERS_PER_RUN);
  const written: string[] = [];
  for (let i = 0; i < waiting.length; i += BATCH) {
    const missing = await missingMirrors(redis, waiting.slice(i, i + BATCH));
    // Together, not one round trip each: the client pipelines them (after a restart, thousands are missing).
    await Promise.all(missing.map((o) => writeMirror(redis, { ...o, expires_at: o.expires_at.toISOString() })));
    written.push(...missing.map((o) => o.order_id));
  }
  await removeIfMovedOn(mysql, redis, written);
  return written;
}

async function missingMirrors(redis: Redis, orders: WaitingOrder[]): Promise<WaitingOrder[]> {
  const answers = await redis.pipeline(orders.map((o) => ['exists', mirrorKey(o.order_id)])).exec();
  return orders.filter((_, i) => {
    const [err, exists] = answers?.[i] ?? [new Error('no answer'), null];
    if (err) throw err;
    return exists === 0;
  });
}

/** A saga may have placed or canceled an order (and removed its mirror) between the read above and the write:
 * the order is read again after the write, and the mirror of one that moved on goes again. */
async function removeIfMovedOn(mysql: Knex, redis: Redis, orderIds: string[]): Promise<void> {
  for (let i = 0; i < orderIds.length; i += BATCH) {
    const moved: { order_id: string }[] = await mysql('orders')
      .select('order_id')
      .whereIn('order_id', orderIds.slice(i, i + BATCH))
      .whereNot({ status: 'created' });
    if (moved.length > 0) await redis.del(...moved.map((m) => mirrorKey(m.order_id)));
  }
}

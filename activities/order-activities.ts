/**
 * The order saga's activities, built by a factory that receives its clients (so tests can hand it fakes or
 * real stores). Each one is idempotent: Temporal may run it again after a lost answer.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { isDuplicateKey, isLockConflict } from '../stores/mysql/client';
import { enqueueStockChanged, normalizeLines, returnStock, takeStock } from '../orders/inventory';
import { applyTransition, enqueueOrderEvent, loadOrder } from '../orders/repository';
import { mirrorKey, OrderMirror } from '../orders/mirror';
import { clearSoldOut } from '../orders/soldout-gate';
import type { PaymentGateway } from '../payments/gateway';
import type { OrderInput, OrderStatus, OrderView, PaymentStatus, ReservationResult, Shortage } from '../workflows/types';

export interface OrderActivityDeps {
  mysql: Knex;
  redis: Redis;
  gateway: PaymentGateway;
}

class OutOfStock extends Error {
  constructor(readonly shortages: Shortage[]) {
    super('out of stock');
  }
}

/** Runs a transaction again when MySQL gave up on a lock (it rolled everything back). */
async function withLockRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isLockConflict(err) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 10 * i + Math.random() * 20));
    }
  }
}

const cents = (n: number) => Math.round(n * 100);

export function createOrderActivities({ mysql, redis, gateway }: OrderActivityDeps) {
  return {
    /** All lines or none: inserts the order, takes the stock, prices the lines from the catalog, and writes
     * `order.created` to the outbox, in one transaction. */
    async reserveStock(input: Omit<OrderInput, 'paymentTimeoutMs' | 'latePaymentPolicy' | 'latePaymentWindowMs'> & { expiresAt: string }): Promise<ReservationResult> {
      const { orderId } = input;
      const lines = normalizeLines(input.lines);
      const already = await loadOrder(mysql, orderId);
      if (already) return { ok: true, order: already };
      try {
        return await withLockRetry(() =>
          mysql.transaction(async (trx) => {
            // The order row first: its primary key makes a concurrent second attempt wait here, then fail.
            await trx('orders').insert({
              order_id: orderId,
              user_id: input.userId,
              status: 'created',
              total_price: 0,
              payment_method: input.paymentMethod,
              payment_status: 'pending',
              expires_at: new Date(input.expiresAt),
            });
            const shortages = await takeStock(trx, lines);
            if (shortages.length > 0) throw new OutOfStock(shortages);
            const ids = lines.map((l) => l.item_id);
            const prices = new Map<string, number>(
              (await trx('items').select('item_id', 'price').whereIn('item_id', ids)).map((r: { item_id: string; price: number }) => [r.item_id, Number(r.price)]),
            );
            await trx('order_items').insert(
              lines.map((l, i) => ({ order_item_id: `${orderId}-${i + 1}`, order_id: orderId, item_id: l.item_id, quantity: l.quantity, price: prices.get(l.item_id)! })),
            );
            const total = lines.reduce((sum, l) => sum + cents(prices.get(l.item_id)!) * l.quantity, 0) / 100;
            await trx('orders').where({ order_id: orderId }).update({ total_price: total });
            await trx('order_status_history').insert({ order_id: orderId, status: 'created' });
            await enqueueOrderEvent(trx, 'order.created', orderId);
            await enqueueStockChanged(trx, ids, 'reserved');
            return { ok: true as const, order: (await loadOrder(trx, orderId))! };
          }),
        );
      } catch (err) {
        if (err instanceof OutOfStock) return { ok: false, shortages: err.shortages };
        if (isDuplicateKey(err)) {
          const existing = await loadOrder(mysql, orderId);
          if (existing) return { ok: true, order: existing };
        }
        if ((err as { code?: string }).code === 'ER_NO_REFERENCED_ROW_2') {
          throw ApplicationFailure.nonRetryable(`unknown user or item in order ${orderId}`, 'InvalidOrder');
        }
        throw err;
      }
    },

    /** The compensation: cancels a created or placed order and puts its stock back. A no-op once done (or
     * when the order was never written). */
    async cancelOrder({ orderId, reason, paymentStatus }: { orderId: string; reason: string; paymentStatus: PaymentStatus }): Promise<OrderView | null> {
      return withLockRetry(() =>
        mysql.transaction(async (trx) => {
          const lines = await trx('order_items').select('item_id', 'quantity').where({ order_id: orderId });
          const changed = await applyTransition(trx, orderId, {
            from: ['created', 'placed'],
            set: { status: 'canceled', payment_status: paymentStatus, cancel_reason: reason },
            reason,
          });
          if (changed) {
            await returnStock(trx, lines);
            await enqueueOrderEvent(trx, 'order.canceled', orderId, { reason });
            await enqueueStockChanged(trx, lines.map((l: { item_id: string }) => l.item_id), 'released');
          }
          return { view: await loadOrder(trx, orderId), released: changed ? lines.map((l: { item_id: string }) => l.item_id as string) : [] };
        }),
      ).then(async ({ view, released }) => {
        await clearSoldOut(redis, released); // released stock can be bought again at once
        return view;
      });
    },

    async markPlaced({ orderId, late }: { orderId: string; chargeId: string; late: boolean }): Promise<void> {
      await mysql.transaction(async (trx) => {
        const changed = await applyTransition(trx, orderId, {
          from: ['created'],
          set: { status: 'placed', payment_status: 'succeeded', ...(late ? { late_payment: 'accepted' as const } : {}) },
        });
        if (changed) await enqueueOrderEvent(trx, 'order.placed', orderId);
      });
    },

    /** LATE_PAYMENT_POLICY=accept: an expired order whose payment arrived late is placed again if its stock
     * can still be taken; otherwise false and the caller refunds. */
    async acceptLatePayment({ orderId }: { orderId: string; chargeId: string }): Promise<boolean> {
      try {
        return await withLockRetry(() =>
          mysql.transaction(async (trx) => {
            const lines = await trx('order_items').select('item_id', 'quantity').where({ order_id: orderId });
            const order = await trx('orders').where({ order_id: orderId }).first().forUpdate();
            if (order?.status === 'placed' && order.late_payment === 'accepted') return true; // an earlier attempt
            if (order?.status !== 'canceled' || order.cancel_reason !== 'payment_timeout') return false;
            const shortages = await takeStock(trx, lines);
            if (shortages.length > 0) throw new OutOfStock(shortages);
            await applyTransition(trx, orderId, {
              from: ['canceled'],
              set: { status: 'placed', payment_status: 'succeeded', late_payment: 'accepted', cancel_reason: null },
              reason: 'late_payment_accepted',
            });
            await enqueueOrderEvent(trx, 'order.placed', orderId, { late_payment: 'accepted' });
            await enqueueStockChanged(trx, lines.map((l: { item_id: string }) => l.item_id), 'reserved');
            return true;
          }),
        );
      } catch (err) {
        if (err instanceof OutOfStock) return false;
        throw err;
      }
    },

    async recordRefund({ orderId, late }: { orderId: string; late: boolean }): Promise<void> {
      await mysql.transaction(async (trx) => {
        const changed = await trx('orders')
          .where({ order_id: orderId })
          .whereNot('payment_status', 'refunded')
          .update({ payment_status: 'refunded', ...(late ? { late_payment: 'refunded' } : {}), updated_at: trx.fn.now(3) });
        if (changed) await enqueueOrderEvent(trx, 'order.refunded', orderId, { late });
      });
    },

    async advanceFulfilment({ orderId, from, to }: { orderId: string; from: OrderStatus; to: 'in_transit' | 'delivered' }): Promise<void> {
      await mysql.transaction(async (trx) => {
        if (await applyTransition(trx, orderId, { from: [from], set: { status: to } })) {
          await enqueueOrderEvent(trx, `order.${to}`, orderId);
        }
      });
    },

    /** The seed's Redis record of a live order, expiring with its payment window. */
    async mirrorOrder(order: OrderView): Promise<void> {
      const ttl = Date.parse(order.expires_at) - Date.now();
      if (ttl <= 0) return;
      const mirror: OrderMirror = { order_id: order.order_id, user_id: order.user_id, status: order.status, expiry_time: order.expires_at };
      await redis.set(mirrorKey(order.order_id), JSON.stringify(mirror), 'PX', ttl);
    },

    async removeMirror({ orderId }: { orderId: string }): Promise<void> {
      await redis.del(mirrorKey(orderId));
    },

    /** Charges with the order id as the gateway's idempotency key: a retried charge never charges twice. */
    async chargePayment(req: { orderId: string; amount: number; paymentMethod: string; expiresAt: string }): Promise<{ status: 'succeeded' | 'pending'; chargeId: string }> {
      const res = await gateway.charge({ idempotencyKey: req.orderId, orderId: req.orderId, amount: req.amount, paymentMethod: req.paymentMethod, expiresAt: req.expiresAt });
      if (res.status === 'declined') {
        throw ApplicationFailure.nonRetryable(`payment declined: ${res.declineCode ?? 'card_declined'}`, 'PaymentDeclined', res.chargeId);
      }
      return { status: res.status, chargeId: res.chargeId };
    },

    async refundPayment({ orderId }: { orderId: string }): Promise<{ refunded: boolean }> {
      const res = await gateway.refund({ idempotencyKey: `refund-${orderId}`, orderId });
      return { refunded: res.status === 'refunded' };
    },
  };
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;

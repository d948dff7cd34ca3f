/**
 * The order saga's activities, built by a factory that receives its clients (so tests can hand it fakes or
 * real stores). Each one is idempotent: Temporal may run it again after a lost answer.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Client as CassandraClient } from 'cassandra-driver';
import { ArchiveOutcome, OrderArchive } from '../orders/archive';
import { enqueueStockChanged, returnStock, takeStock } from '../orders/inventory';
import { InvalidOrder, OutOfStock, reserveOrder, ReservationInput, withLockRetry } from '../orders/reservation';
import { applyTransition, enqueueOrderEvent, loadOrder } from '../orders/repository';
import { mirrorKey, OrderMirror } from '../orders/mirror';
import { clearSoldOut } from '../orders/soldout-gate';
import { chargesOfOrder, GatewayRejected, toMinor, type PaymentGateway } from '../payments/gateway';
import { config } from '../lib/config';
import type { OrderStatus, OrderView, PaymentStatus, ReservationResult } from '../workflows/types';

export interface OrderActivityDeps {
  mysql: Knex;
  redis: Redis;
  gateway: PaymentGateway;
  cassandra: CassandraClient;
}

export function createOrderActivities({ mysql, redis, gateway, cassandra }: OrderActivityDeps) {
  const archive = new OrderArchive(cassandra, mysql);
  return {
    /** The saga's first step: reserves the order (normally done already by the API, which makes this a
     * read) and records that the saga runs, so the sweeper leaves the order alone. */
    async reserveStock(input: ReservationInput): Promise<ReservationResult> {
      try {
        const result = await reserveOrder(mysql, input);
        if (result.ok) await mysql('orders').where({ order_id: input.orderId }).whereNull('saga_started_at').update({ saga_started_at: mysql.fn.now(3) });
        return result;
      } catch (err) {
        if (err instanceof InvalidOrder) throw ApplicationFailure.nonRetryable(err.message, 'InvalidOrder');
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

    /** The saga's last step: a delivered or canceled order moves to the Cassandra archive and leaves MySQL
     * (copy, then delete: see orders/archive.ts). Retried until done; a repeat finds it archived. */
    async archiveOrder({ orderId }: { orderId: string }): Promise<ArchiveOutcome> {
      const outcome = await archive.archive(orderId);
      // A live order here would be a saga bug: fail loudly (and retry) rather than end the saga without it.
      if (outcome === 'not_finished') throw ApplicationFailure.retryable(`order ${orderId} is not finished and cannot be archived`, 'OrderNotFinished');
      return outcome;
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
      const charge = await gatewayCall(() =>
        gateway.createCharge({
          idempotencyKey: req.orderId,
          orderId: req.orderId,
          amountMinor: toMinor(req.amount),
          currency: config().PAYMENT_CURRENCY,
          paymentMethod: req.paymentMethod,
          expiresAt: req.expiresAt,
        }),
      );
      if (charge.status === 'declined') {
        throw ApplicationFailure.nonRetryable(`payment declined: ${charge.declineCode ?? 'card_declined'}`, 'PaymentDeclined', charge.chargeId);
      }
      if (charge.status !== 'succeeded' && charge.status !== 'pending') {
        // This order's charge was voided or refunded already (a compensation ran first): it cannot pay now.
        throw ApplicationFailure.nonRetryable(`the order's charge ${charge.chargeId} is ${charge.status}`, 'GatewayRejected', charge.chargeId);
      }
      return { status: charge.status, chargeId: charge.chargeId };
    },

    /** Gives back whatever the order paid: each pending charge voided, each succeeded one refunded in full
     * (idempotency key refund-<charge id>, so a retry refunds nothing twice). True when money went back. */
    async refundPayment({ orderId }: { orderId: string }): Promise<{ refunded: boolean }> {
      let refunded = false;
      for (const charge of await gatewayCall(() => chargesOfOrder(gateway, orderId))) {
        if (charge.status === 'pending') {
          await gatewayCall(() => gateway.voidCharge(charge.chargeId, `void-${charge.chargeId}`)).catch((err) => {
            // It completed meanwhile: the next attempt of this activity refunds it.
            if (err instanceof ApplicationFailure && err.details?.[0] === 'charge_not_pending') throw ApplicationFailure.retryable(err.message, 'ChargeCompleted');
            throw err;
          });
        } else if (charge.status === 'succeeded') {
          await gatewayCall(() => gateway.refundCharge({ chargeId: charge.chargeId, idempotencyKey: `refund-${charge.chargeId}` }));
          refunded = true;
        } else if (charge.status === 'refunded') {
          refunded = true; // an earlier attempt did it
        }
      }
      return { refunded };
    },
  };
}

/** A refusal of the gateway (4xx) is final; anything else (unreachable, 5xx) is retried by Temporal. */
async function gatewayCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GatewayRejected) throw ApplicationFailure.nonRetryable(`${err.code}: ${err.message}`, 'GatewayRejected', err.code, err.status);
    throw err;
  }
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;

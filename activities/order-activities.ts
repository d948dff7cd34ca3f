/**
 * The order saga's activities, built by a factory that receives its clients (so tests can hand it fakes or
 * real stores). Each one is idempotent: Temporal may run it again after a lost answer.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Client as CassandraClient } from 'cassandra-driver';
import { ArchiveOutcome, OrderArchive } from '../orders/archive';
import { recordRefundOn } from '../orders/refunds';
import { enqueueStockChanged, takeStock } from '../stock/levels';
import { OutOfStock, ReservationInput, withLockRetry } from '../orders/reservation';
import { applyTransition, enqueueOrderEvent, loadOrder } from '../orders/repository';
import { mirrorKey, OrderMirror } from '../orders/mirror';
import { cancelAndRelease } from '../orders/cancel';
import { GatewayRejected, toMinor, type PaymentGateway } from '../payments/gateway';
import { settleCharge, settleOrderPayments, type Settlement } from '../payments/settlement';
import {
  deliverLines,
  FulfilmentRefused,
  recordAction,
  shipLines,
  type DeliverRequest,
  type FulfilmentOutcome,
  type ShipRequest,
} from '../orders/shipments';
import type { SagaMetrics } from './metrics';
import type { ClaimedOrder, OrderStatus, OrderView, PaymentStatus, ReservationResult } from '../orders/model';

export interface OrderActivityDeps {
  mysql: Knex;
  redis: Redis;
  gateway: PaymentGateway;
  cassandra: CassandraClient;
  /** ISO 4217 code of the shop's prices (PAYMENT_CURRENCY). */
  currency?: string;
  /** Where outcomes, saga latency and payment failures are counted (the worker's /metrics). */
  metrics?: SagaMetrics;
}

/** The gateway refused for good (a 4xx): retrying cannot help, the saga decides. */
function gatewayFailure(err: unknown): unknown {
  return err instanceof GatewayRejected
    ? ApplicationFailure.nonRetryable(err.message, 'GatewayRejected', err.code)
    : err;
}

/** A refused fulfilment step fails the activity for good (type FulfilmentRefused), with the reason. */
async function refusedIsFinal<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FulfilmentRefused) throw ApplicationFailure.nonRetryable(err.message, 'FulfilmentRefused');
    throw err;
  }
}

export function createOrderActivities({
  mysql,
  redis,
  gateway,
  cassandra,
  currency = 'USD',
  metrics,
}: OrderActivityDeps) {
  const archive = new OrderArchive(cassandra, mysql);

  /** Counts an order that this call moved out of `created` or `placed` (a retry that finds it done counts nothing). */
  async function settled(orderId: string, outcome: 'placed' | 'canceled', reason: string): Promise<void> {
    if (!metrics) return;
    const row: { created_at: Date } | undefined = await mysql('orders')
      .select('created_at')
      .where({ order_id: orderId })
      .first()
      .catch(() => undefined);
    metrics.settled(outcome, reason, row?.created_at);
  }

  /** The live order the saga runs for, marked as having its saga (the sweeper then leaves it alone). Never
   * inserts or reserves: a saga Reset or started for a finished order finds nothing and stops. */
  async function claim(orderId: string): Promise<ClaimedOrder | null> {
    const row: { status: OrderStatus; charge_id: string | null } | undefined = await mysql('orders')
      .select('status', 'charge_id')
      .where({ order_id: orderId })
      .first();
    if (!row || (row.status !== 'created' && row.status !== 'placed')) return null;
    await mysql('orders')
      .where({ order_id: orderId })
      .whereNull('saga_started_at')
      .update({ saga_started_at: mysql.fn.now(3) });
    const order = await loadOrder(mysql, orderId);
    return order ? { order, chargeId: row.charge_id } : null;
  }

  return {
    /** The saga's first step (v2). */
    async claimOrder({ orderId }: { orderId: string }): Promise<ClaimedOrder> {
      const claimed = await claim(orderId);
      if (!claimed) throw ApplicationFailure.nonRetryable(`order ${orderId} is not live`, 'OrderNotLive');
      return claimed;
    },

    /** The first step of sagas started before v2 (their histories call it): now a read like claimOrder, so a
     * Reset of such a saga can never reserve the stock of a finished order a second time. */
    async reserveStock(input: ReservationInput): Promise<ReservationResult> {
      const claimed = await claim(input.orderId);
      if (!claimed) throw ApplicationFailure.nonRetryable(`order ${input.orderId} is not live`, 'InvalidOrder');
      return { ok: true, order: claimed.order };
    },

    /** The compensation: cancels a created or placed order and puts its stock back. A no-op once done (or
     * when the order was never written). */
    async cancelOrder({
      orderId,
      reason,
      paymentStatus,
      actor,
    }: {
      orderId: string;
      reason: string;
      paymentStatus: PaymentStatus;
      actor?: string;
    }): Promise<OrderView | null> {
      const before: { status: OrderStatus } | undefined = metrics
        ? await mysql('orders').select('status').where({ order_id: orderId }).first()
        : undefined;
      const view = await cancelAndRelease(mysql, redis, orderId, reason, paymentStatus, actor);
      if (view?.status === 'canceled' && (before?.status === 'created' || before?.status === 'placed'))
        await settled(orderId, 'canceled', reason);
      return view;
    },

    /** One seller's lines leave (saga v3). A refusal (not that seller's order, shipped already with another
     * tracking number, not placed) is the caller's mistake: not retried, the saga answers the update with it. */
    async shipLines(req: ShipRequest): Promise<FulfilmentOutcome> {
      return refusedIsFinal(() => shipLines(mysql, req));
    },

    /** One seller's shipment arrived (saga v3); the order is delivered with the last one. */
    async deliverLines(req: DeliverRequest): Promise<FulfilmentOutcome> {
      return refusedIsFinal(() => deliverLines(mysql, req));
    },

    /** An operator's later payment deadline (saga v3): MySQL first (the sweeper and the reconciler read it),
     * then the Redis mirror. False when the order no longer waits for its payment. */
    async extendPaymentWindow({
      orderId,
      expiresAt,
      actor,
      note,
    }: {
      orderId: string;
      expiresAt: string;
      actor: string;
      note?: string;
    }): Promise<boolean> {
      const extended = await mysql.transaction(async (trx) => {
        const changed = await trx('orders')
          .where({ order_id: orderId, status: 'created' })
          .where('expires_at', '<', new Date(expiresAt))
          .update({ expires_at: new Date(expiresAt), updated_at: trx.fn.now(3) });
        const row = await trx('orders').select('status', 'expires_at').where({ order_id: orderId }).first();
        if (row?.status !== 'created') return false;
        if (changed)
          await recordAction(
            trx,
            orderId,
            'created',
            `payment window extended to ${expiresAt}${note ? `: ${note}` : ''}`,
            actor,
          );
        return true;
      });
      if (extended) {
        const ttl = Date.parse(expiresAt) - Date.now();
        const raw = await redis.get(mirrorKey(orderId)).catch(() => null);
        if (raw && ttl > 0)
          await redis
            .set(
              mirrorKey(orderId),
              JSON.stringify({ ...(JSON.parse(raw) as OrderMirror), expiry_time: expiresAt }),
              'PX',
              ttl,
            )
            .catch(() => undefined);
      }
      return extended;
    },

    /** A line in the order's status history for an operator's action that changes no status (saga v3). */
    async recordOrderAction({ orderId, what, actor }: { orderId: string; what: string; actor: string }): Promise<void> {
      await mysql.transaction(async (trx) => {
        const row = await trx('orders').select('status').where({ order_id: orderId }).first();
        if (row) await recordAction(trx, orderId, row.status, what, actor);
      });
    },

    /** Places a created order paid by `chargeId`. True when it is placed (now or by an earlier attempt);
     * false when it had left `created` (canceled meanwhile): then the caller refunds the charge. */
    async markPlaced({
      orderId,
      chargeId,
      late,
    }: {
      orderId: string;
      chargeId: string;
      late: boolean;
    }): Promise<boolean> {
      let changed = false;
      const placed = await mysql.transaction(async (trx) => {
        changed = await applyTransition(trx, orderId, {
          from: ['created'],
          set: {
            status: 'placed',
            payment_status: 'succeeded',
            charge_id: chargeId,
            ...(late ? { late_payment: 'accepted' as const } : {}),
          },
        });
        if (changed) {
          await enqueueOrderEvent(trx, 'order.placed', orderId);
          return true;
        }
        const row = await trx('orders').select('status', 'charge_id').where({ order_id: orderId }).first();
        return row?.status === 'placed' && (row.charge_id === chargeId || row.charge_id === null);
      });
      if (changed) await settled(orderId, 'placed', late ? 'late_payment' : 'paid');
      return placed;
    },

    /** LATE_PAYMENT_POLICY=accept: an expired order whose payment arrived late is placed again if its stock
     * can still be taken; otherwise false and the caller refunds. */
    async acceptLatePayment({ orderId, chargeId }: { orderId: string; chargeId: string }): Promise<boolean> {
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
              set: {
                status: 'placed',
                payment_status: 'succeeded',
                late_payment: 'accepted',
                cancel_reason: null,
                charge_id: chargeId,
              },
              reason: 'late_payment_accepted',
            });
            await enqueueOrderEvent(trx, 'order.placed', orderId, { late_payment: 'accepted' });
            await enqueueStockChanged(
              trx,
              lines.map((l: { item_id: string }) => l.item_id),
              'reserved',
            );
            return true;
          }),
        );
      } catch (err) {
        if (err instanceof OutOfStock) return false;
        throw err;
      }
    },

    /** Records money given back on the order, wherever it lives (MySQL, or the archive once the saga moved
     * it), with one `order.refunded` event. Call it only when a refund really happened. */
    async recordRefund({ orderId, late }: { orderId: string; late: boolean }): Promise<void> {
      await recordRefundOn(mysql, archive, orderId, late);
    },

    async advanceFulfilment({
      orderId,
      from,
      to,
    }: {
      orderId: string;
      from: OrderStatus;
      to: 'in_transit' | 'delivered';
    }): Promise<void> {
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
      // A live order here would be a saga bug: fail loudly (a person looks) rather than end the saga without it.
      if (outcome === 'not_finished')
        throw ApplicationFailure.nonRetryable(
          `order ${orderId} is not finished and cannot be archived`,
          'OrderNotFinished',
        );
      return outcome;
    },

    /** The seed's Redis record of a live order, expiring with its payment window. */
    async mirrorOrder(order: OrderView): Promise<void> {
      const ttl = Date.parse(order.expires_at) - Date.now();
      if (ttl <= 0) return;
      const mirror: OrderMirror = {
        order_id: order.order_id,
        user_id: order.user_id,
        status: order.status,
        expiry_time: order.expires_at,
      };
      await redis.set(mirrorKey(order.order_id), JSON.stringify(mirror), 'PX', ttl);
    },

    async removeMirror({ orderId }: { orderId: string }): Promise<void> {
      await redis.del(mirrorKey(orderId));
    },

    /** Charges with the order id as the gateway's idempotency key: a retried charge never charges twice.
     * Heartbeats while the gateway thinks, so the saga's cancel reaches it and aborts the request. */
    async chargePayment(req: {
      orderId: string;
      amount: number;
      paymentMethod: string;
      expiresAt: string;
    }): Promise<{ status: 'succeeded' | 'pending'; chargeId: string }> {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 500);
      try {
        const charge = await gateway.createCharge(
          {
            idempotencyKey: req.orderId,
            orderId: req.orderId,
            amountMinor: toMinor(req.amount),
            currency,
            paymentMethod: req.paymentMethod,
            expiresAt: req.expiresAt,
          },
          { signal: ctx.cancellationSignal },
        );
        if (charge.status === 'declined') {
          metrics?.paymentFailures.inc({ reason: charge.declineCode ?? 'card_declined' });
          throw ApplicationFailure.nonRetryable(
            `payment declined: ${charge.declineCode ?? 'card_declined'}`,
            'PaymentDeclined',
            charge.chargeId,
          );
        }
        // A charge voided or refunded already (e.g. a saga Reset after a cancel) pays for nothing: say pending,
        // the saga's deadline and settlement decide.
        return { status: charge.status === 'succeeded' ? 'succeeded' : 'pending', chargeId: charge.chargeId };
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('the saga stopped waiting for the charge');
        if (!(err instanceof ApplicationFailure))
          metrics?.paymentFailures.inc({
            reason: err instanceof GatewayRejected ? 'gateway_rejected' : 'gateway_unavailable',
          });
        throw gatewayFailure(err);
      } finally {
        clearInterval(beat);
      }
    },

    /** Gives an order's money back: one charge by id (a late success after the saga closed), or every charge
     * of the order. */
    async refundPayment({ orderId, chargeId }: { orderId: string; chargeId?: string }): Promise<{ refunded: boolean }> {
      try {
        if (chargeId) {
          const charge = await gateway.retrieveCharge(chargeId);
          if (!charge || charge.orderId !== orderId) return { refunded: false };
          return { refunded: (await settleCharge(gateway, charge)).kind === 'refunded' };
        }
        return { refunded: (await settleOrderPayments(gateway, orderId, null)).refundedChargeIds.length > 0 };
      } catch (err) {
        throw gatewayFailure(err);
      }
    },

    /** Voids every pending charge of the order and refunds every captured one but `keepChargeId`. */
    async settlePayment({
      orderId,
      keepChargeId,
    }: {
      orderId: string;
      keepChargeId: string | null;
    }): Promise<Settlement> {
      try {
        return await settleOrderPayments(gateway, orderId, keepChargeId);
      } catch (err) {
        throw gatewayFailure(err);
      }
    },
  };
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;

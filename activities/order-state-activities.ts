/**
 * The order's state in MySQL through the saga: claimed, placed (or a late payment accepted), canceled with its
 * stock back (the compensation), an operator's extension or action recorded, a refund recorded.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { recordExtraRefundOn, recordRefundOn, type ExtraRefund } from '../orders/refunds';
import { enqueueStockChanged, takeStock } from '../stock/levels';
import { OutOfStock, ReservationInput, withLockRetry } from '../orders/reservation';
import { applyTransition, enqueueOrderEvent, loadOrder } from '../orders/repository';
import { deleteMirror, mirrorKey, OrderMirror, writeMirror } from '../orders/mirror';
import { cancelAndRelease } from '../orders/cancel';
import { recordAction } from '../orders/shipments';
import type {
  CanceledAndUnmirrored,
  ClaimedOrder,
  OrderStatus,
  OrderView,
  PaymentStatus,
  PlacedAndUnmirrored,
  ReservationResult,
} from '../orders/model';
import type { OrderActivityContext } from './deps';

interface CancelArgs {
  orderId: string;
  reason: string;
  paymentStatus: PaymentStatus;
  actor?: string;
  /** The operator's note of a force-cancel. */
  note?: string;
}

interface PlaceArgs {
  orderId: string;
  chargeId: string;
  late: boolean;
}

/** One try at a Redis write on a store step's way: true when it was done. False leaves it to the saga's own
 * bounded mirror activity, so a Redis outage never fails (or holds up) the step that matters. */
const once = (op: Promise<unknown>): Promise<boolean> =>
  op.then(
    () => true,
    () => false,
  );

export function createOrderStateActivities({ mysql, redis, archive, metrics }: OrderActivityContext) {
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

  async function cancel({ orderId, reason, paymentStatus, actor, note }: CancelArgs): Promise<OrderView | null> {
    const before: { status: OrderStatus } | undefined = metrics
      ? await mysql('orders').select('status').where({ order_id: orderId }).first()
      : undefined;
    const view = await cancelAndRelease(mysql, redis, orderId, reason, paymentStatus, { actor, note });
    if (view?.status === 'canceled' && (before?.status === 'created' || before?.status === 'placed'))
      await settled(orderId, 'canceled', reason);
    return view;
  }

  async function place({ orderId, chargeId, late }: PlaceArgs): Promise<boolean> {
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
  }

  return {
    /** The saga's first step (v2). With `mirror` (saga patch `mirror-in-store-steps`), a created order's Redis
     * mirror is written on the way, one try: `mirrored` says whether it was. */
    async claimOrder({ orderId, mirror }: { orderId: string; mirror?: boolean }): Promise<ClaimedOrder> {
      const claimed = await claim(orderId);
      if (!claimed) throw ApplicationFailure.nonRetryable(`order ${orderId} is not live`, 'OrderNotLive');
      if (!mirror || claimed.order.status !== 'created') return claimed;
      return { ...claimed, mirrored: await once(writeMirror(redis, claimed.order)) };
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
    cancelOrder: cancel,

    /** cancelOrder, then the Redis mirror removed, one try (saga patch `mirror-in-store-steps`). */
    async cancelOrderAndUnmirror(args: CancelArgs): Promise<CanceledAndUnmirrored> {
      const view = await cancel(args);
      return { view, unmirrored: await once(deleteMirror(redis, args.orderId)) };
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
    markPlaced: place,

    /** markPlaced, then (once placed) the Redis mirror removed, one try (saga patch `mirror-in-store-steps`). */
    async markPlacedAndUnmirror(args: PlaceArgs): Promise<PlacedAndUnmirrored> {
      const placed = await place(args);
      return { placed, unmirrored: placed && (await once(deleteMirror(redis, args.orderId))) };
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
    async recordRefund({
      orderId,
      late,
      chargeId,
      amountMinor,
    }: {
      orderId: string;
      late: boolean;
      /** The late charge that went back (the late-payment workflow): for an archived paid order it was a second
       * payment, and its buyer is told as the saga tells them (recordRefundOn). */
      chargeId?: string;
      amountMinor?: number;
    }): Promise<void> {
      await recordRefundOn(
        mysql,
        archive,
        orderId,
        late,
        chargeId ? { chargeId, amountMinor: amountMinor ?? 0 } : undefined,
      );
    },

    /** Records money that went back beside the charge that still pays for the order (the buyer paid twice), and
     * tells the buyer; the order stays paid. */
    async recordExtraRefund(r: ExtraRefund): Promise<void> {
      await recordExtraRefundOn(mysql, archive, r);
    },
  };
}

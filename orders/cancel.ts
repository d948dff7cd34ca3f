/**
 * Canceling an order and releasing its stock, in one MySQL transaction with its `order.canceled` and
 * `stock.changed` events: the saga's compensation, and the repair of the sweeper and the reconciler. Guarded
 * (`WHERE status IN ('created','placed')`), so a repeat or a concurrent second cancel releases nothing twice.
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { OrderView, PaymentStatus } from './model';
import { enqueueStockChanged, returnStock } from '../stock/levels';
import { applyTransition, enqueueOrderEvent, loadOrder } from './repository';
import { withLockRetry } from './reservation';
import { clearSoldOut } from '../stock/soldout-gate';

export async function cancelAndRelease(
  mysql: Knex,
  redis: Redis,
  orderId: string,
  reason: string,
  paymentStatus: PaymentStatus,
  /** Who asked, and the note they gave (an operator's why: kept in the status history after the saga is gone). */
  by: { actor?: string; note?: string } = {},
): Promise<OrderView | null> {
  const { view, released } = await withLockRetry(() =>
    mysql.transaction(async (trx) => {
      const lines: { item_id: string; quantity: number }[] = await trx('order_items')
        .select('item_id', 'quantity')
        .where({ order_id: orderId });
      const changed = await applyTransition(trx, orderId, {
        from: ['created', 'placed'],
        set: { status: 'canceled', payment_status: paymentStatus, cancel_reason: reason },
        reason: by.note ? `${reason}: ${by.note}`.slice(0, 255) : reason,
        actor: by.actor,
      });
      if (changed) {
        await returnStock(trx, lines);
        await enqueueOrderEvent(trx, 'order.canceled', orderId, { reason });
        await enqueueStockChanged(
          trx,
          lines.map((l) => l.item_id),
          'released',
        );
      }
      return { view: await loadOrder(trx, orderId), released: changed ? lines.map((l) => l.item_id) : [] };
    }),
  );
  await clearSoldOut(redis, released).catch(() => undefined); // released stock can be bought again at once (the gate's TTL heals a miss)
  return view;
}

/**
 * Recording that an order's money went back, wherever the order lives: a guarded UPDATE in MySQL while it is
 * live, a conditional (lightweight-transaction) update of its Cassandra copy once archived. Either way exactly
 * one `order.refunded` event is written (the guard / the LWT's `[applied]` makes a repeat change nothing), so
 * the buyer is told once. A refund for an archived paid order is of a charge beside the one that paid (the
 * buyer paid twice; the order's own charge is never refunded once it is archived): its payment still stands, so
 * nothing is recorded on it ('kept_paid').
 */
import type { Knex } from 'knex';
import type { OrderArchive } from './archive';
import { enqueueOrderEvent } from './repository';
import { PAID } from './payment-facts';

export type RefundRecord = 'recorded' | 'already_recorded' | 'missing' | 'kept_paid';

export async function recordRefundOn(
  mysql: Knex,
  archive: OrderArchive,
  orderId: string,
  late: boolean,
): Promise<RefundRecord> {
  const live = await mysql.transaction(async (trx) => {
    const row = await trx('orders').select('payment_status').where({ order_id: orderId }).forUpdate().first();
    if (!row) return 'missing' as const;
    if (row.payment_status === 'refunded') return 'already_recorded' as const;
    await trx('orders')
      .where({ order_id: orderId })
      .update({ payment_status: 'refunded', ...(late ? { late_payment: 'refunded' } : {}), updated_at: trx.fn.now(3) });
    await enqueueOrderEvent(trx, 'order.refunded', orderId, { late });
    return 'recorded' as const;
  });
  if (live !== 'missing') return live;
  // Not in MySQL: archived (readers look in MySQL first, then the archive; the copy exists before the row goes).
  // Looked up first: the conditional update must never create a row for an order that is nowhere.
  const archived = await archive.find(orderId);
  if (!archived) return 'missing';
  if (PAID.includes(archived.status)) return 'kept_paid';
  const applied = await archive.markRefunded(orderId, late);
  if (applied !== 'recorded') return applied;
  const { history: _history, charge_id: _charge, ...order } = archived;
  const refunded = {
    ...order,
    payment_status: 'refunded' as const,
    ...(late ? { late_payment: 'refunded' as const } : {}),
  };
  await mysql.transaction((trx) => enqueueOrderEvent(trx, 'order.refunded', orderId, { late }, refunded));
  return 'recorded';
}

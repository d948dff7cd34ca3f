/**
 * Recording that an order's money went back, wherever the order lives: a guarded UPDATE in MySQL while it is
 * live, a conditional (lightweight-transaction) update of its Cassandra copy once archived. Either way exactly
 * one `order.refunded` event is written per kind of refund, the order's own payment and a late payment (the
 * guard / the LWT's `[applied]` makes a repeat change nothing), so the buyer is told once of each. A refund for an
 * archived paid order is of a charge beside the one that paid (the buyer paid twice; the order's own charge is never
 * refunded once it is archived): its payment still stands, so its payment is left as it is ('kept_paid'), and when
 * the caller names that charge its history and its buyer are told as recordExtraRefundOn tells them.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { ArchivedOrder, OrderArchive } from './archive';
import type { OrderView } from './model';
import { enqueueOrderEvent, loadOrder, orderEvent } from './repository';
import { PAID } from './payment-facts';
import { recordAction } from './shipments';
import { enqueue } from '../outbox/outbox';

export type RefundRecord = 'recorded' | 'already_recorded' | 'missing' | 'kept_paid';

export async function recordRefundOn(
  mysql: Knex,
  archive: OrderArchive,
  orderId: string,
  late: boolean,
  /** The charge that went back, when the caller knows it (the late-payment workflow). */
  charge?: { chargeId: string; amountMinor: number },
): Promise<RefundRecord> {
  const live = await mysql.transaction(async (trx) => {
    const row = await trx('orders')
      .select('payment_status', 'late_payment')
      .where({ order_id: orderId })
      .forUpdate()
      .first();
    if (!row) return 'missing' as const;
    // Once per kind: a late payment's refund is told even when the order's own payment went back before.
    if (late ? row.late_payment === 'refunded' : row.payment_status === 'refunded') return 'already_recorded' as const;
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
  if (PAID.includes(archived.status)) {
    if (charge) {
      await tellArchivedExtraRefund(mysql, archive, archived, {
        orderId,
        chargeIds: [charge.chargeId],
        keptChargeId: archived.charge_id,
        refundedMinor: charge.amountMinor,
      });
    }
    return 'kept_paid';
  }
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

export interface ExtraRefund {
  orderId: string;
  /** The charges that went back, paid beside `keptChargeId`, the one that pays for the order (null: an order
   * placed before charges were recorded on orders). */
  chargeIds: string[];
  keptChargeId: string | null;
  /** In minor units. */
  refundedMinor: number;
}

/**
 * Records money that went back beside the charge that still pays for the order (the buyer paid twice): a line in
 * the order's history and an `order.refunded` event with `extra_charge`, so the buyer is told; the order's payment
 * is left as it is. The event's id is fixed by the charges, so a retried call changes nothing more: the history
 * line is checked under the order's lock (an archived order's by a compare-and-set), and a repeat of the event (an
 * archived order) is dropped by the outbox's unique id or by the consumers.
 */
export async function recordExtraRefundOn(mysql: Knex, archive: OrderArchive, r: ExtraRefund): Promise<void> {
  const what = extraRefundLine(r);
  const live = await mysql.transaction(async (trx) => {
    const row = await trx('orders').select('status').where({ order_id: r.orderId }).forUpdate().first();
    if (!row) return false;
    const done = await trx('order_status_history').where({ order_id: r.orderId, reason: what }).first('id');
    if (done) return true;
    await recordAction(trx, r.orderId, row.status, what, 'saga');
    const view = await loadOrder(trx, r.orderId);
    await enqueue(trx, [extraRefundEvent(view!, r)]);
    return true;
  });
  if (live) return;
  const archived = await archive.find(r.orderId);
  if (archived) await tellArchivedExtraRefund(mysql, archive, archived, r);
}

/** As the history stores it (255 characters at most), so that a retry's check finds an earlier attempt's line. */
const extraRefundLine = (r: ExtraRefund) =>
  `refunded ${r.chargeIds.join(', ')}, paid beside ${r.keptChargeId ?? "the order's charge"}`.slice(0, 255);

/** The archived order's history gets the line (once), then its buyer the event. */
async function tellArchivedExtraRefund(
  mysql: Knex,
  archive: OrderArchive,
  archived: ArchivedOrder,
  r: ExtraRefund,
): Promise<void> {
  await archive.addHistoryLine(archived, { status: archived.status, reason: extraRefundLine(r), actor: 'saga' });
  const { history: _history, charge_id: _charge, ...order } = archived;
  try {
    await enqueue(mysql, [extraRefundEvent(order, r)]);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ER_DUP_ENTRY') throw err; // the earlier attempt's event is still queued
  }
}

/** The buyer's `order.refunded` with `extra_charge`, its id fixed by the refunded charges. */
const extraRefundEvent = (order: OrderView, r: ExtraRefund) =>
  orderEvent(
    'order.refunded',
    order,
    { extra_charge: { charge_ids: r.chargeIds, amount: r.refundedMinor / 100 } },
    extraRefundEventId(r.chargeIds),
  );

/** A UUID-shaped id fixed by the refunded charges. */
function extraRefundEventId(chargeIds: string[]): string {
  const h = createHash('sha256')
    .update(`extra-refund:${[...chargeIds].sort().join(',')}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

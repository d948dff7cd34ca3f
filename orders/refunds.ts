/**
 * Recording that an order's money went back, wherever the order lives: a guarded UPDATE in MySQL while it is
 * live, a conditional (lightweight-transaction) update of its Cassandra copy once archived. Either way exactly
 * one `order.refunded` event is written per kind of refund, the order's own payment and a late payment (the
 * guard / the LWT's `[applied]` makes a repeat change nothing), and per charge for late payments whose charge the
 * caller names (a history line checked under the order's lock, or added by a compare-and-set once archived), so
 * the buyer is told once of each. A refund for an archived paid order is of a charge beside the one that paid
 * (the buyer paid twice; the order's own charge is never refunded once it is archived): its payment is left as it
 * is ('kept_paid'), and when the caller names that charge its history and its buyer are told as
 * recordExtraRefundOn tells them.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { ArchivedOrder, OrderArchive } from './archive';
import type { OrderStatus, OrderView } from './model';
import { loadOrder, orderEvent } from './repository';
import { PAID } from './payment-facts';
import { recordAction } from './shipments';
import { enqueue } from '../outbox/outbox';
import { isDuplicateKey } from '../stores/mysql/client';

export type RefundRecord = 'recorded' | 'already_recorded' | 'missing' | 'kept_paid';

export async function recordRefundOn(
  mysql: Knex,
  archive: OrderArchive,
  orderId: string,
  late: boolean,
  /** The charge that went back, when the caller knows it (the late-payment workflow, the reconciler). */
  charge?: { chargeId: string; amountMinor: number },
): Promise<RefundRecord> {
  // A late refund whose charge is known is recorded once per charge (a history line, an event under the charge's
  // id): a second late payment of the same order is told too, and a retry of either tells nobody twice.
  const perCharge = late && charge ? lateRefund(charge.chargeId) : undefined;
  const live = await mysql.transaction(async (trx) => {
    const row = await trx('orders')
      .select('status', 'payment_status', 'late_payment')
      .where({ order_id: orderId })
      .forUpdate()
      .first();
    if (!row) return 'missing' as const;
    if (perCharge) {
      if (!(await addLiveLineOnce(trx, orderId, row.status, perCharge.line))) return 'already_recorded' as const;
    } else if (late ? row.late_payment === 'refunded' : row.payment_status === 'refunded') {
      // Once per kind: a late payment's refund is told even when the order's own payment went back before.
      return 'already_recorded' as const;
    }
    await trx('orders')
      .where({ order_id: orderId })
      .update({ payment_status: 'refunded', ...(late ? { late_payment: 'refunded' } : {}), updated_at: trx.fn.now(3) });
    const view = (await loadOrder(trx, orderId))!;
    await enqueue(trx, [orderEvent('order.refunded', view, { late }, perCharge?.eventId)]);
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
  const at = new Date();
  const applied = await archive.markRefunded(orderId, late, at);
  if (applied === 'missing') return applied;
  if (!perCharge && applied !== 'recorded') return applied;
  const { history: _history, charge_id: _charge, ...order } = archived;
  const refunded = {
    ...order,
    payment_status: 'refunded' as const,
    ...(late ? { late_payment: 'refunded' as const } : {}),
  };
  let recorded: RefundRecord = 'recorded';
  if (perCharge) {
    // The row as it is now: an update of ours moved its updated_at, which the compare-and-set expects.
    const current = applied === 'recorded' ? { ...archived, updated_at: at.toISOString() } : archived;
    const line = await archive.addHistoryLine(current, {
      status: archived.status,
      reason: perCharge.line,
      actor: 'saga',
    });
    if (line === 'missing') return 'missing';
    if (line === 'already_there') recorded = 'already_recorded';
  }
  // Written even when the line was there: an earlier attempt may have stopped before its event. The event's id
  // (per charge) makes that copy one the outbox or the consumers drop.
  await enqueueArchivedEvent(mysql, orderEvent('order.refunded', refunded, { late }, perCharge?.eventId));
  return recorded;
}

/** A late charge's refund: its line in the order's history and its event's id, both fixed by the charge. */
const lateRefund = (chargeId: string) => ({
  line: `late payment ${chargeId} refunded`.slice(0, 255),
  eventId: eventIdOf(`late-refund:${chargeId}`),
});

/** An event about an archived order, once: a copy of an event still in the outbox (same id) is dropped here. */
async function enqueueArchivedEvent(mysql: Knex, event: ReturnType<typeof orderEvent>): Promise<void> {
  try {
    await enqueue(mysql, [event]);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** A line in a live order's history, once (the caller holds the order's lock): false when it is there already.
 * The archive's twin is OrderArchive.addHistoryLine. */
async function addLiveLineOnce(
  trx: Knex.Transaction,
  orderId: string,
  status: OrderStatus,
  line: string,
): Promise<boolean> {
  if (await trx('order_status_history').where({ order_id: orderId, reason: line }).first('id')) return false;
  await recordAction(trx, orderId, status, line, 'saga');
  return true;
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
    if (!(await addLiveLineOnce(trx, r.orderId, row.status, what))) return true;
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
  await enqueueArchivedEvent(mysql, extraRefundEvent(order, r));
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
const extraRefundEventId = (chargeIds: string[]) => eventIdOf(`extra-refund:${[...chargeIds].sort().join(',')}`);

/** A UUID-shaped event id fixed by `key`. */
function eventIdOf(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

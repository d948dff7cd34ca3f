/**
 * What an order says about its payment, wherever the order lives (MySQL while live, else the Cassandra
 * archive): its status, the charge that paid for it and why it was canceled. The webhook (a success after the
 * saga closed) and the reconciler decide from it whether a charge pays for the order or must go back.
 */
import type { Knex } from 'knex';
import type { OrderStatus, PaymentStatus } from './model';
import type { OrderArchive } from './archive';

export interface OrderPaymentFacts {
  status: OrderStatus;
  /** null: never placed, or placed before charges were recorded on orders. */
  chargeId: string | null;
  cancelReason: string | null;
  paymentStatus: PaymentStatus;
}

/** A live order's payment facts and its total (the webhook checks a charge's amount against it), from MySQL only;
 * null when the order is not live there. One query. */
export async function livePaymentFacts(
  mysql: Knex,
  orderId: string,
): Promise<(OrderPaymentFacts & { totalPrice: number }) | null> {
  const live = await mysql('orders')
    .select('status', 'charge_id', 'cancel_reason', 'payment_status', 'total_price')
    .where({ order_id: orderId })
    .first();
  if (!live) return null;
  return {
    status: live.status,
    chargeId: live.charge_id ?? null,
    cancelReason: live.cancel_reason ?? null,
    paymentStatus: live.payment_status,
    totalPrice: Number(live.total_price),
  };
}

/** MySQL first, then the archive (the copy exists before the row goes); null when the order is nowhere. */
export async function orderPaymentFacts(
  mysql: Knex,
  archive: OrderArchive,
  orderId: string,
): Promise<OrderPaymentFacts | null> {
  const live = await livePaymentFacts(mysql, orderId);
  if (live) {
    const { totalPrice: _total, ...facts } = live;
    return facts;
  }
  const archived = await archive.find(orderId);
  return archived
    ? {
        status: archived.status,
        chargeId: archived.charge_id,
        cancelReason: archived.cancel_reason,
        paymentStatus: archived.payment_status,
      }
    : null;
}

export const PAID: OrderStatus[] = ['placed', 'in_transit', 'delivered'];

/** True when the order is paid and `chargeId` is what paid it (or the order recorded no charge id). */
export const isPaidBy = (facts: OrderPaymentFacts | null, chargeId: string): boolean =>
  facts !== null && PAID.includes(facts.status) && (facts.chargeId === null || facts.chargeId === chargeId);

/** True when the order records that `chargeId`, the charge it was paid with, was already given back: an operator's
 * refund outside the gateway (markManualRefund after the gateway refused it), while the gateway may still show the
 * charge captured. Refunding it again would pay the buyer twice. */
export const isRefundedAlready = (facts: OrderPaymentFacts | null, chargeId: string): boolean =>
  facts !== null && facts.paymentStatus === 'refunded' && facts.chargeId === chargeId;

/**
 * Settling an order's money at the gateway: every pending charge voided, every captured one refunded in full by
 * its charge id, except the one charge that pays for a placed order. Asked of the gateway itself (by the
 * order's idempotency key), so it also finds charges whose answer or webhook was lost.
 *
 * Idempotent and safe to run concurrently with itself: a void or refund carries a key derived from the charge
 * (`void-<charge>`, `refund-<charge>`), so a repeat answers the first result, and a refund of money already
 * refunded is refused by the gateway (409) and counted as done.
 */
import { chargesOfOrder, GatewayRejected, type Charge, type PaymentGateway, type RequestOptions } from './gateway';

/** What settling an order's payments did at the gateway: every captured charge but the kept one refunded,
 * every pending one voided (activities' `settlePayment`). */
export interface Settlement {
  refundedChargeIds: string[];
  voidedChargeIds: string[];
  refundedMinor: number;
  /** Charges the gateway would not settle (left for the reconciler and a person). */
  unsettledChargeIds: string[];
}

export async function settleOrderPayments(
  gateway: PaymentGateway,
  orderId: string,
  keepChargeId: string | null,
  opts?: RequestOptions,
): Promise<Settlement> {
  const result: Settlement = { refundedChargeIds: [], voidedChargeIds: [], refundedMinor: 0, unsettledChargeIds: [] };
  for (const charge of await chargesOfOrder(gateway, orderId, opts)) {
    if (charge.chargeId === keepChargeId) continue;
    const done = await settleCharge(gateway, charge, opts);
    if (done.kind === 'refunded') {
      result.refundedChargeIds.push(charge.chargeId);
      result.refundedMinor += done.amountMinor;
    } else if (done.kind === 'voided') result.voidedChargeIds.push(charge.chargeId);
    else if (done.kind === 'unsettled') result.unsettledChargeIds.push(charge.chargeId);
  }
  return result;
}

export type ChargeSettlement =
  { kind: 'refunded'; amountMinor: number } | { kind: 'voided' } | { kind: 'nothing' } | { kind: 'unsettled' };

/** One charge: void it while pending, refund what is left of it once captured. A charge that moves between
 * the two while we act (a pending charge that just succeeded) is read again, a few times at most. */
export async function settleCharge(
  gateway: PaymentGateway,
  first: Charge,
  opts?: RequestOptions,
): Promise<ChargeSettlement> {
  let charge: Charge | null = first;
  for (let attempt = 0; attempt < 3 && charge; attempt++) {
    try {
      if (charge.status === 'pending') {
        await gateway.voidCharge(charge.chargeId, `void-${charge.chargeId}`, opts);
        return { kind: 'voided' };
      }
      if (charge.status === 'succeeded' && charge.amountMinor > charge.amountRefundedMinor) {
        const refund = await gateway.refundCharge(
          { chargeId: charge.chargeId, idempotencyKey: `refund-${charge.chargeId}` },
          opts,
        );
        return { kind: 'refunded', amountMinor: refund.amountMinor };
      }
      return { kind: 'nothing' }; // declined, voided or refunded already
    } catch (err) {
      if (!(err instanceof GatewayRejected) || err.status !== 409) throw err;
      charge = await gateway.retrieveCharge(charge.chargeId, opts); // it changed under us: look again
    }
  }
  return charge ? { kind: 'unsettled' } : { kind: 'nothing' };
}

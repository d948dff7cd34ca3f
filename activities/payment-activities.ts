/**
 * The saga's payment activities: charge, refund, settle, at the gateway by the order's idempotency keys. They
 * run on the payments task queue (workflows/task-queues.ts), so a slow gateway cannot starve compensations.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { GatewayRejected, toMinor } from '../payments/gateway';
import { settleCharge, settleOrderPayments, type Settlement } from '../payments/settlement';
import type { OrderActivityContext } from './deps';
import { heartbeating } from './heartbeat';

/** The gateway refused for good (a 4xx): retrying cannot help, the saga decides. */
function gatewayFailure(err: unknown): unknown {
  return err instanceof GatewayRejected
    ? ApplicationFailure.nonRetryable(err.message, 'GatewayRejected', err.code)
    : err;
}

export function createPaymentActivities({ gateway, currency = 'USD', metrics }: OrderActivityContext) {
  return {
    /** Charges with the order id as the gateway's idempotency key: a retried charge never charges twice.
     * Heartbeats while the gateway thinks, so the saga's cancel reaches it and aborts the request. */
    async chargePayment(req: {
      orderId: string;
      amount: number;
      paymentMethod: string;
      expiresAt: string;
    }): Promise<{ status: 'succeeded' | 'pending'; chargeId: string }> {
      const ctx = Context.current();
      return heartbeating(500, async () => {
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
        }
      });
    },

    /** Gives an order's money back: one charge by id (a late success after the saga closed), or every charge
     * of the order. */
    async refundPayment({
      orderId,
      chargeId,
    }: {
      orderId: string;
      chargeId?: string;
    }): Promise<{ refunded: boolean; amountMinor?: number }> {
      try {
        if (chargeId) {
          const charge = await gateway.retrieveCharge(chargeId);
          if (!charge || charge.orderId !== orderId) return { refunded: false };
          const refunded = (await settleCharge(gateway, charge)).kind === 'refunded';
          return refunded ? { refunded, amountMinor: charge.amountMinor } : { refunded };
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

import { patched, proxyActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/order-activities';

const acts = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    nonRetryableErrorTypes: ['GatewayRejected'],
  },
});

/** Since this patch the refund goes to the one charge that succeeded late, and is recorded only when money
 * really went back (on the order in MySQL or in the archive). */
export const LATE_PAYMENT_BY_CHARGE_PATCH = 'late-payment-by-charge';

/**
 * A gateway success for an order whose saga has closed (archived, or past its late-payment window): the money
 * is returned and the refund recorded on the order. Started by the payment webhook with id
 * `late-payment-<charge>`, so a redelivered webhook finds it and refunds nothing twice, while another late
 * charge of the same order gets a refund of its own.
 */
export async function latePaymentWorkflow(input: { orderId: string; chargeId: string }): Promise<void> {
  if (patched(LATE_PAYMENT_BY_CHARGE_PATCH)) {
    const { refunded, amountMinor } = await acts.refundPayment({ orderId: input.orderId, chargeId: input.chargeId });
    // The charge and its amount let a paid order's buyer be told of a second payment's refund (see recordRefund).
    if (refunded)
      await acts.recordRefund({ orderId: input.orderId, late: true, chargeId: input.chargeId, amountMinor });
    return;
  }
  await acts.refundPayment({ orderId: input.orderId });
  await acts.recordRefund({ orderId: input.orderId, late: true });
}

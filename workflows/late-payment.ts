import { proxyActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../activities/order-activities';

const acts = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '1m' },
});

/**
 * A gateway success for an order whose saga has already closed (past its late-payment window): the money is
 * returned and the refund recorded on the order. Started by the payment webhook with id `late-payment-<order>`,
 * so a redelivered webhook finds it and refunds nothing twice.
 */
export async function latePaymentWorkflow(input: { orderId: string; chargeId: string }): Promise<void> {
  await acts.refundPayment({ orderId: input.orderId });
  await acts.recordRefund({ orderId: input.orderId, late: true });
}

/**
 * Shipping and delivery: per seller (saga v3) or the whole order (before v3).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { applyTransition, enqueueOrderEvent } from '../orders/repository';
import {
  deliverLines,
  FulfilmentRefused,
  shipLines,
  type DeliverRequest,
  type FulfilmentOutcome,
  type ShipRequest,
} from '../orders/shipments';
import type { OrderStatus } from '../orders/model';
import type { OrderActivityContext } from './deps';

/** A refused fulfilment step fails the activity for good (type FulfilmentRefused), with the reason. */
async function refusedIsFinal<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FulfilmentRefused) throw ApplicationFailure.nonRetryable(err.message, 'FulfilmentRefused');
    throw err;
  }
}

export function createFulfilmentActivities({ mysql }: OrderActivityContext) {
  return {
    /** One seller's lines leave (saga v3). A refusal (not that seller's order, shipped already with another
     * tracking number, not placed) is the caller's mistake: not retried, the saga answers the update with it. */
    async shipLines(req: ShipRequest): Promise<FulfilmentOutcome> {
      return refusedIsFinal(() => shipLines(mysql, req));
    },

    /** One seller's shipment arrived (saga v3); the order is delivered with the last one. */
    async deliverLines(req: DeliverRequest): Promise<FulfilmentOutcome> {
      return refusedIsFinal(() => deliverLines(mysql, req));
    },

    async advanceFulfilment({
      orderId,
      from,
      to,
    }: {
      orderId: string;
      from: OrderStatus;
      to: 'in_transit' | 'delivered';
    }): Promise<void> {
      await mysql.transaction(async (trx) => {
        if (await applyTransition(trx, orderId, { from: [from], set: { status: to } })) {
          await enqueueOrderEvent(trx, `order.${to}`, orderId);
        }
      });
    },
  };
}

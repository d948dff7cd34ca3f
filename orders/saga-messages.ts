/**
 * The order saga's messages (signals, updates, queries), defined once and imported by the workflow and by the
 * code that sends them (the order service, the API). Their names are in the recorded histories: never rename.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ActorArgs,
  DeliverArgs,
  ExtendPaymentArgs,
  FulfilmentOutcome,
  ManualRefundArgs,
  OrderDetails,
  OrderState,
  OrderView,
  PaymentResult,
  ReservationResult,
  ShipArgs,
} from './model';

/** Sent with the workflow's start (update-with-start) by sagas before v2: answers once the stock is reserved or
 * refused. Kept so their histories replay. */
export const reservationUpdate = defineUpdate<ReservationResult>('reservation');

/** The customer cancels (before shipping). Rejected when the order is past that point. Saga v3 records `by`. */
export const cancelUpdate = defineUpdate<OrderView | null, [ActorArgs | undefined]>('cancel');

/** A seller (or an admin for it) ships its lines, then they are delivered; the order is in_transit with the first
 * shipment and delivered with the last (saga v3, per seller). Before v3: the whole order, with no arguments. */
export const shipUpdate = defineUpdate<FulfilmentOutcome | void, [ShipArgs | undefined]>('ship');
export const deliverUpdate = defineUpdate<FulfilmentOutcome | void, [DeliverArgs | undefined]>('deliver');

// ---- operators (saga v3): each validated, refused with a reason, and recorded with who asked ----------------

/** Cancels and compensates (stock released, charges voided or refunded) any order not yet shipped. */
export const forceCancelUpdate = defineUpdate<OrderView | null, [ActorArgs]>('forceCancel');
/** Gives an order awaiting payment a later deadline. */
export const extendPaymentWindowUpdate = defineUpdate<string, [ExtendPaymentArgs]>('extendPaymentWindow');
/** Asks the gateway again under the order's idempotency key: a charge that never arrived is made now, one that
 * did answers with its state (the cure for a lost webhook). */
export const retryPaymentUpdate = defineUpdate<void, [ActorArgs]>('retryPayment');
/** Records money given back outside the gateway, for an order whose refund the gateway refused (NeedsAttention). */
export const markManualRefundUpdate = defineUpdate<void, [ManualRefundArgs]>('markManualRefund');

/** A payment gateway's webhook, verified by the API. */
export const paymentResultSignal = defineSignal<[PaymentResult]>('paymentResult');

export const stateQuery = defineQuery<OrderState>('state');
/** The order, its payment, what the saga waits for and its history (saga v3). */
export const detailsQuery = defineQuery<OrderDetails>('details');

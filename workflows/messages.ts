/**
 * The order workflow's messages, defined once and imported by the workflow and the API alike.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderState, OrderView, PaymentResult, ReservationResult } from './types';

/** Sent with the workflow's start (update-with-start): answers once the stock is reserved or refused. */
export const reservationUpdate = defineUpdate<ReservationResult>('reservation');

/** The customer cancels (before shipping). Rejected when the order is past that point. */
export const cancelUpdate = defineUpdate<OrderView | null>('cancel');

/** Seller or admin moves a placed order along: placed -> in_transit -> delivered. */
export const shipUpdate = defineUpdate<void>('ship');
export const deliverUpdate = defineUpdate<void>('deliver');

/** A payment gateway's webhook, verified by the API. */
export const paymentResultSignal = defineSignal<[PaymentResult]>('paymentResult');

export const stateQuery = defineQuery<OrderState>('state');

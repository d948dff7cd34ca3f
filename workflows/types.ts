/** The data the order saga works on. Shared by the workflow, its activities and the API (types only). */

export type OrderStatus = 'created' | 'placed' | 'in_transit' | 'delivered' | 'canceled';
export type PaymentStatus = 'pending' | 'succeeded' | 'declined' | 'expired' | 'refunded' | 'voided';
export type LatePaymentPolicy = 'refund' | 'accept';
export type CancelReason = 'payment_declined' | 'payment_timeout' | 'canceled_by_customer' | 'canceled_by_operator';

/** Stripe-style test payment methods: each drives one branch of the saga from outside. */
export const PAYMENT_METHODS = ['pm_card_visa', 'pm_card_chargeDeclined', 'pm_card_noResponse', 'pm_card_lateSuccess'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export interface OrderLine {
  item_id: string;
  quantity: number;
}

/** A line with the catalog's price at the time of the order. */
export interface PricedLine extends OrderLine {
  price: number;
}

/** What POST /orders hands the saga. Timings travel in the input so they are fixed in the history. */
export interface OrderInput {
  orderId: string;
  userId: string;
  lines: OrderLine[];
  paymentMethod: PaymentMethod;
  paymentTimeoutMs: number;
  latePaymentPolicy: LatePaymentPolicy;
  latePaymentWindowMs: number;
  /** The payment deadline fixed when the API reserved the order (absent in sagas started before it was). */
  expiresAt?: string;
}

/** An order as clients see it (the API contract's shape). */
export interface OrderView {
  order_id: string;
  user_id: string;
  status: OrderStatus;
  items: PricedLine[];
  total_price: number;
  payment_method: string;
  payment_status: PaymentStatus;
  cancel_reason: string | null;
  late_payment: 'refunded' | 'accepted' | null;
  expires_at: string;
  created_at: string;
  updated_at: string;
}

export interface Shortage {
  item_id: string;
  requested: number;
  available: number;
}

export type ReservationResult =
  | { ok: true; order: OrderView }
  | { ok: false; shortages: Shortage[] };

/** Where a saga ended, as its workflow result. */
export interface OrderOutcome {
  orderId: string;
  result: 'rejected' | 'delivered' | 'canceled';
  shortages?: Shortage[];
  cancelReason?: CancelReason;
  latePayment?: 'refunded' | 'accepted';
}

/** What the workflow reports about itself (the `state` query). */
export interface OrderState {
  phase: 'reserving' | 'rejected' | 'awaiting_payment' | 'placed' | 'in_transit' | 'delivered' | 'canceled';
  payment: PaymentStatus;
  cancelReason?: CancelReason;
  latePayment?: 'refunded' | 'accepted';
  /** True once the finished order has moved to the Cassandra archive. */
  archived?: boolean;
  /** The charge that paid for the order (saga v2). */
  chargeId?: string;
  /** Why a person should look at this order (saga v2), e.g. a refund the gateway refused. */
  needsAttention?: string;
}

/** What settling an order's payments did at the gateway: every captured charge but the kept one refunded,
 * every pending one voided (activities' `settlePayment`). */
export interface Settlement {
  refundedChargeIds: string[];
  voidedChargeIds: string[];
  refundedMinor: number;
  /** Charges the gateway would not settle (left for the reconciler and a person). */
  unsettledChargeIds: string[];
}

/** The saga's first step (v2): the live order it runs for, and the charge already on it (after a Reset). */
export interface ClaimedOrder {
  order: OrderView;
  chargeId: string | null;
}

/** A payment gateway's word on a charge, by activity result or webhook. */
export interface PaymentResult {
  status: 'succeeded' | 'declined';
  chargeId: string;
}

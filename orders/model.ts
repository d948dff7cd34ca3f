/**
 * The order model (status, payment, lines, the order as clients see it) and the saga's contract (its input,
 * outcome, queries' and updates' shapes). The order domain owns it; the workflow, its activities and the API
 * import it from here (pure: it is bundled into the workflow code too).
 */

export type OrderStatus = 'created' | 'placed' | 'in_transit' | 'delivered' | 'canceled';
export type PaymentStatus = 'pending' | 'succeeded' | 'declined' | 'expired' | 'refunded' | 'voided';
export type LatePaymentPolicy = 'refund' | 'accept';
export type CancelReason = 'payment_declined' | 'payment_timeout' | 'canceled_by_customer' | 'canceled_by_operator';

/** Stripe-style test payment methods: each drives one branch of the saga from outside. */
export const PAYMENT_METHODS = [
  'pm_card_visa',
  'pm_card_chargeDeclined',
  'pm_card_noResponse',
  'pm_card_lateSuccess',
] as const;
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

export type ReservationResult = { ok: true; order: OrderView } | { ok: false; shortages: Shortage[] };

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

/** The saga's first step (v2): the live order it runs for, and the charge already on it (after a Reset). */
export interface ClaimedOrder {
  order: OrderView;
  chargeId: string | null;
  /** Asked with `mirror` (saga patch `mirror-in-store-steps`): whether the Redis mirror was written on the way. */
  mirrored?: boolean;
}

/** markPlacedAndUnmirror's answer: placed as markPlaced says, and whether the Redis mirror was removed with it. */
export interface PlacedAndUnmirrored {
  placed: boolean;
  unmirrored: boolean;
}

/** cancelOrderAndUnmirror's answer: the canceled order as cancelOrder gives it, and whether the Redis mirror was
 * removed with it. */
export interface CanceledAndUnmirrored {
  view: OrderView | null;
  unmirrored: boolean;
}

/** A seller's shipment (orders/shipment-records.ts), as the saga reports it. */
export interface ShipmentView {
  supplier_id: string;
  carrier: string;
  tracking_number: string;
  status: 'in_transit' | 'delivered';
  shipped_at: string;
  delivered_at: string | null;
}

/** `ship` (saga v3): one seller's lines leave; `by` is who asked (a seller's or an admin's user id). */
export interface ShipArgs {
  supplierId: string;
  carrier: string;
  trackingNumber: string;
  by: string;
}

/** `deliver` (saga v3): one seller's shipment arrived. */
export interface DeliverArgs {
  supplierId: string;
  by: string;
}

/** What a ship or deliver did: the order's status after it, and the shipment. */
export interface FulfilmentOutcome {
  orderStatus: OrderStatus;
  shipment: ShipmentView;
}

/** Who asks for an action (saga v3): a customer's or an operator's id, recorded in the order's history. */
export interface ActorArgs {
  by: string;
  /** Free text kept in the history (an operator's reason). */
  note?: string;
}

export interface ExtendPaymentArgs extends ActorArgs {
  /** The new payment deadline (ISO 8601), later than the current one. */
  expiresAt: string;
}

export interface ManualRefundArgs extends ActorArgs {
  /** Where the money went back outside the gateway (a bank transfer's reference, a ticket). */
  reference: string;
}

/** One line of the saga's own history (the `details` query). */
export interface SagaEvent {
  at: string;
  event: string;
  by: string;
}

/** The `details` query (saga v3): what the order is, what it waits for and until when, and what happened. */
export interface OrderDetails {
  orderId: string;
  phase: OrderState['phase'];
  waitingFor: string;
  /** When the current wait ends by itself (the payment deadline), if it does. */
  until: string | null;
  order: OrderView | null;
  payment: {
    status: PaymentStatus;
    method: string;
    amount: number | null;
    chargeId: string | null;
    expiresAt: string;
    attempts: number;
    inFlight: boolean;
  };
  shipments: ShipmentView[];
  needsAttention: string | null;
  history: SagaEvent[];
}

/** A payment gateway's word on a charge, by activity result or webhook. */
export interface PaymentResult {
  status: 'succeeded' | 'declined';
  chargeId: string;
}

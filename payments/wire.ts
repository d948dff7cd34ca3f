/**
 * The gateway's JSON objects as they cross the wire (snake_case, minor units): the contract the HTTP adapter
 * (payments/gateway.ts) reads and the simulator (payments/simulator/) writes, defined once for both.
 */
export type ChargeStatus = 'pending' | 'succeeded' | 'declined' | 'voided' | 'refunded';

export interface WireRefund {
  id: string;
  object: 'refund';
  charge: string;
  amount: number;
  currency: string;
  status: 'succeeded';
  created: string;
}

export interface WireCharge {
  id: string;
  object: 'charge';
  order_id: string;
  idempotency_key: string;
  amount: number;
  currency: string;
  payment_method: string;
  status: ChargeStatus;
  decline_code?: string;
  amount_refunded: number;
  /** A charge's refunds as listed on it (without their own object/status fields). */
  refunds: Omit<WireRefund, 'object' | 'status'>[];
  created: string;
}

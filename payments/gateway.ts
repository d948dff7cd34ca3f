/** The payment gateway port, and its HTTP adapter (the simulator in payments/simulator.ts speaks it; a real
 * provider's adapter would implement the same interface). */

export interface ChargeRequest {
  idempotencyKey: string;
  orderId: string;
  amount: number;
  paymentMethod: string;
  expiresAt: string;
}
export interface ChargeResponse {
  chargeId: string;
  status: 'succeeded' | 'declined' | 'pending';
  declineCode?: string;
}
export interface RefundRequest {
  idempotencyKey: string;
  orderId: string;
}
export interface RefundResponse {
  status: 'refunded' | 'voided' | 'no_charge';
}

export interface PaymentGateway {
  charge(req: ChargeRequest): Promise<ChargeResponse>;
  refund(req: RefundRequest): Promise<RefundResponse>;
}

export class HttpPaymentGateway implements PaymentGateway {
  constructor(private readonly baseUrl: string, private readonly timeoutMs = 9000) {}

  async charge(req: ChargeRequest): Promise<ChargeResponse> {
    const body = await this.post('/v1/charges', {
      idempotency_key: req.idempotencyKey,
      order_id: req.orderId,
      amount: req.amount,
      payment_method: req.paymentMethod,
      expires_at: req.expiresAt,
    });
    return { chargeId: String(body.charge_id), status: body.status as ChargeResponse['status'], declineCode: body.decline_code as string | undefined };
  }

  async refund(req: RefundRequest): Promise<RefundResponse> {
    const body = await this.post('/v1/refunds', { idempotency_key: req.idempotencyKey, order_id: req.orderId });
    return { status: body.status as RefundResponse['status'] };
  }

  private async post(path: string, payload: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(this.baseUrl + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`payment gateway answered ${res.status} to ${path}`);
    return (await res.json()) as Record<string, unknown>;
  }
}

/**
 * The payment gateway port, shaped like a Stripe-style provider's API, and its HTTP adapter. The simulator
 * (payments/simulator.ts) speaks exactly this HTTP API (documented in the README, "The payment gateway"); a
 * real provider's adapter is another class implementing `PaymentGateway`, a drop-in file.
 *
 * Money is in minor units (cents) with an ISO 4217 currency. A charge is created once per idempotency key
 * (the saga uses the order id): the same key and body answer the same charge, another body is refused.
 */

import type { ChargeStatus, WireCharge, WireRefund } from './wire';

export type { ChargeStatus } from './wire';

export interface Refund {
  refundId: string;
  chargeId: string;
  amountMinor: number;
  currency: string;
  createdAt: string;
}

export interface Charge {
  chargeId: string;
  orderId: string;
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  paymentMethod: string;
  /** `succeeded` stays while part of it is refunded; `refunded` once all of it is. */
  status: ChargeStatus;
  declineCode?: string;
  amountRefundedMinor: number;
  refunds: Refund[];
  createdAt: string;
}

export interface CreateChargeRequest {
  idempotencyKey: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  paymentMethod: string;
  /** When the order stops waiting (the simulator's pm_card_lateSuccess succeeds just after it). */
  expiresAt: string;
}

export interface RefundRequest {
  chargeId: string;
  /** Minor units; absent: all that is left to refund. */
  amountMinor?: number;
  idempotencyKey: string;
}

export interface ListChargesQuery {
  orderId?: string;
  idempotencyKey?: string;
  /** Charges created at or after this instant (ISO 8601). */
  createdAfter?: string;
  limit?: number;
  /** A charge id: the page after it (oldest first). */
  startingAfter?: string;
}

/** The gateway refused the request for good (a 4xx): retrying the same request cannot succeed. */
export class GatewayRejected extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayRejected';
  }
}

/** The gateway could not be reached or failed (a 5xx, a timeout): the outcome is unknown, retry. */
export class GatewayUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayUnavailable';
  }
}

export interface PaymentGateway {
  /** Creates (or, for a known idempotency key, returns) a charge: `succeeded`, `declined` or `pending`. */
  createCharge(req: CreateChargeRequest, opts?: RequestOptions): Promise<Charge>;
  retrieveCharge(chargeId: string, opts?: RequestOptions): Promise<Charge | null>;
  /** Charges oldest first, one page. */
  listCharges(query: ListChargesQuery, opts?: RequestOptions): Promise<{ charges: Charge[]; hasMore: boolean }>;
  /** Cancels a pending charge: no money moves, no success follows. Refused (409 charge_not_pending) otherwise. */
  voidCharge(chargeId: string, idempotencyKey: string, opts?: RequestOptions): Promise<Charge>;
  /** Refunds a succeeded charge, all or part. Refused (409) when it is not captured or the amount exceeds
   * what is left; the same idempotency key answers the same refund. */
  refundCharge(req: RefundRequest, opts?: RequestOptions): Promise<Refund>;
}

export interface RequestOptions {
  /** Aborts the HTTP call (an activity's cancellation signal). */
  signal?: AbortSignal;
}

/** Every charge of an order, following the pages. */
export async function chargesOfOrder(
  gateway: PaymentGateway,
  orderId: string,
  opts?: RequestOptions,
): Promise<Charge[]> {
  const out: Charge[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    const page = await gateway.listCharges({ orderId, limit: 100, startingAfter }, opts);
    out.push(...page.charges);
    if (!page.hasMore || page.charges.length === 0) return out;
    startingAfter = page.charges[page.charges.length - 1]!.chargeId;
  }
}

export const toMinor = (amount: number): number => Math.round(amount * 100);

const fromWireRefund = (r: Omit<WireRefund, 'object' | 'status'>): Refund => ({
  refundId: r.id,
  chargeId: r.charge,
  amountMinor: r.amount,
  currency: r.currency,
  createdAt: r.created,
});
const fromWireCharge = (c: WireCharge): Charge => ({
  chargeId: c.id,
  orderId: c.order_id,
  idempotencyKey: c.idempotency_key,
  amountMinor: c.amount,
  currency: c.currency,
  paymentMethod: c.payment_method,
  status: c.status,
  ...(c.decline_code ? { declineCode: c.decline_code } : {}),
  amountRefundedMinor: c.amount_refunded,
  refunds: (c.refunds ?? []).map(fromWireRefund),
  createdAt: c.created,
});

/** The HTTP adapter: the simulator's (and a Stripe-like provider's) REST API. */
export class HttpPaymentGateway implements PaymentGateway {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 9000,
  ) {}

  async createCharge(req: CreateChargeRequest, opts?: RequestOptions): Promise<Charge> {
    const body = await this.send('POST', '/v1/charges', opts, req.idempotencyKey, {
      order_id: req.orderId,
      amount: req.amountMinor,
      currency: req.currency,
      payment_method: req.paymentMethod,
      expires_at: req.expiresAt,
    });
    return fromWireCharge(body as unknown as WireCharge);
  }

  async retrieveCharge(chargeId: string, opts?: RequestOptions): Promise<Charge | null> {
    try {
      return fromWireCharge(
        (await this.send('GET', `/v1/charges/${encodeURIComponent(chargeId)}`, opts)) as unknown as WireCharge,
      );
    } catch (err) {
      if (err instanceof GatewayRejected && err.status === 404) return null;
      throw err;
    }
  }

  async listCharges(q: ListChargesQuery, opts?: RequestOptions): Promise<{ charges: Charge[]; hasMore: boolean }> {
    const params = new URLSearchParams();
    if (q.orderId) params.set('order_id', q.orderId);
    if (q.idempotencyKey) params.set('idempotency_key', q.idempotencyKey);
    if (q.createdAfter) params.set('created_gte', q.createdAfter);
    if (q.limit) params.set('limit', String(q.limit));
    if (q.startingAfter) params.set('starting_after', q.startingAfter);
    const body = (await this.send('GET', `/v1/charges?${params}`, opts)) as { data: WireCharge[]; has_more: boolean };
    return { charges: body.data.map(fromWireCharge), hasMore: body.has_more };
  }

  async voidCharge(chargeId: string, idempotencyKey: string, opts?: RequestOptions): Promise<Charge> {
    return fromWireCharge(
      (await this.send(
        'POST',
        `/v1/charges/${encodeURIComponent(chargeId)}/void`,
        opts,
        idempotencyKey,
        {},
      )) as unknown as WireCharge,
    );
  }

  async refundCharge(req: RefundRequest, opts?: RequestOptions): Promise<Refund> {
    const body = await this.send('POST', '/v1/refunds', opts, req.idempotencyKey, {
      charge: req.chargeId,
      ...(req.amountMinor !== undefined ? { amount: req.amountMinor } : {}),
    });
    return fromWireRefund(body as unknown as WireRefund);
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    opts: RequestOptions | undefined,
    idempotencyKey?: string,
    payload?: unknown,
  ): Promise<Record<string, unknown>> {
    const signals = [AbortSignal.timeout(this.timeoutMs), ...(opts?.signal ? [opts.signal] : [])];
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        ...(payload !== undefined ? { body: JSON.stringify(payload) } : {}),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      throw new GatewayUnavailable(`payment gateway unreachable for ${method} ${path}: ${(err as Error).message}`);
    }
    const text = await res.text().catch(() => '');
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      /* not JSON: keep the status */
    }
    if (res.status >= 500 || res.status === 429)
      throw new GatewayUnavailable(`payment gateway answered ${res.status} to ${method} ${path}`);
    if (!res.ok) {
      const error = (body.error ?? {}) as { code?: string; message?: string };
      throw new GatewayRejected(
        res.status,
        error.code ?? `http_${res.status}`,
        error.message ?? `payment gateway answered ${res.status} to ${method} ${path}`,
      );
    }
    return body;
  }
}

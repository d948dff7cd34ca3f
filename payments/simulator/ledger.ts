/**
 * What the simulated gateway does, without HTTP: charges by payment method, voids, refunds and lists, each in
 * one SQLite transaction, with the outcome's webhook queued in the same transaction (./webhooks.ts), and the
 * faults (./faults.ts) that shape a request or its webhooks. The routes (./routes.ts) call it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SimulatorStore, WireCharge } from './store';
import { enqueueEvent, EventType, WebhookDispatcher } from './webhooks';
import { Fault, FaultRules, isWebhookFault, Operation } from './faults';
import { ApiError } from './http';

export const TEST_PAYMENT_METHODS = [
  'pm_card_visa',
  'pm_card_chargeDeclined',
  'pm_card_noResponse',
  'pm_card_lateSuccess',
] as const;

export const ChargeBody = z.object({
  order_id: z.string().min(1).max(200),
  amount: z.number().int().positive().max(99_999_999),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code such as USD')
    .transform((c) => c.toUpperCase()),
  payment_method: z.string().min(1).max(100),
  expires_at: z.string().refine((s) => Number.isFinite(Date.parse(s)), 'an ISO 8601 instant'),
});
export type ChargeRequest = z.infer<typeof ChargeBody>;

export const RefundBody = z.object({
  charge: z.string().min(1).max(200),
  amount: z.number().int().positive().max(99_999_999).optional(),
});
export type RefundRequest = z.infer<typeof RefundBody>;

export const ListQuery = z.object({
  order_id: z.string().min(1).max(200).optional(),
  idempotency_key: z.string().min(1).max(255).optional(),
  created_gte: z
    .string()
    .refine((s) => Number.isFinite(Date.parse(s)), 'an ISO 8601 instant')
    .transform((s) => new Date(s).toISOString())
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  starting_after: z.string().min(1).max(200).optional(),
});
export type ListRequest = z.infer<typeof ListQuery>;

const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;
const hashOf = (params: Record<string, unknown>) => createHash('sha256').update(JSON.stringify(params)).digest('hex');
const mismatch = (key: string) =>
  new ApiError(422, 'idempotency_key_mismatch', `Idempotency-Key ${key} was used with other parameters`);

export interface LedgerTimings {
  /** Every POST answers after this long (and a synchronous outcome's webhook is sent after it too). */
  latencyMs: number;
  /** How long after the order's expiry a pm_card_lateSuccess charge succeeds. */
  lateSuccessAfterExpiryMs: number;
}

export class SimulatedLedger {
  constructor(
    readonly store: SimulatorStore,
    readonly rules: FaultRules,
    private readonly dispatcher: WebhookDispatcher,
    private readonly timings: LedgerTimings,
  ) {}

  /** The request fault in force for an operation on a charge (or the charge a request asks for): the header's,
   * else the first matching rule's (consumed). */
  requestFault(
    op: Operation,
    header: Fault | undefined,
    charge: { order_id: string; payment_method: string },
  ): Fault | undefined {
    if (header && !isWebhookFault(header.fault)) return header;
    return this.rules.takeRequestFault(op, { orderId: charge.order_id, paymentMethod: charge.payment_method });
  }

  /** Faults that refuse a request before anything is done. */
  refuseBeforeWork(fault: Fault | undefined): void {
    if (fault?.fault === 'error_before_charge')
      throw new ApiError(503, 'injected_fault', 'simulated gateway failure: nothing was done');
    // A refusal for good, as a real gateway answers a refund to a closed card or a disputed charge.
    if (fault?.fault === 'refuse')
      throw new ApiError(402, 'refused', 'simulated refusal: the gateway will not do this');
  }

  /** Creates the charge for a new idempotency key; the same key and body answer the existing one. */
  charge(key: string, p: ChargeRequest, header: Fault | undefined): WireCharge {
    const hash = hashOf({
      order_id: p.order_id,
      amount: p.amount,
      currency: p.currency,
      payment_method: p.payment_method,
      expires_at: p.expires_at,
    });
    return this.store.tx(() => {
      const existing = this.store.chargeByKey(key);
      if (existing) {
        if (existing.requestHash !== hash) throw mismatch(key);
        return existing.wire;
      }
      const webhookFaults = header && isWebhookFault(header.fault) ? JSON.stringify([header]) : undefined;
      return this.newCharge(p, {
        id: newId('ch'),
        orderId: p.order_id,
        idempotencyKey: key,
        requestHash: hash,
        amount: p.amount,
        currency: p.currency,
        paymentMethod: p.payment_method,
        created: new Date().toISOString(),
        webhookFaults,
      });
    });
  }

  /** The charge a payment method makes: succeeded, declined, pending for ever, or pending until a late success. */
  private newCharge(p: ChargeRequest, base: NewCharge): WireCharge {
    const faults = base.webhookFaults ?? null;
    switch (p.payment_method) {
      case 'pm_card_visa': {
        const c = this.store.insertCharge({ ...base, status: 'succeeded' });
        this.emit('charge.succeeded', c, faults);
        return c;
      }
      case 'pm_card_chargeDeclined': {
        const c = this.store.insertCharge({ ...base, status: 'declined', declineCode: 'card_declined' });
        this.emit('charge.failed', c, faults);
        return c;
      }
      case 'pm_card_noResponse':
        return this.store.insertCharge({ ...base, status: 'pending' });
      case 'pm_card_lateSuccess':
        return this.store.insertCharge({
          ...base,
          status: 'pending',
          succeedAt: Date.parse(p.expires_at) + this.timings.lateSuccessAfterExpiryMs,
        });
      default:
        throw new ApiError(
          400,
          'unknown_payment_method',
          `unknown payment method ${p.payment_method}: one of ${TEST_PAYMENT_METHODS.join(', ')}`,
        );
    }
  }

  /** Voids a pending charge (idempotent: a voided one answers as it is). */
  void(id: string): WireCharge {
    return this.store.tx(() => {
      const c = this.store.chargeById(id)!;
      if (c.wire.status === 'voided') return c.wire;
      if (c.wire.status !== 'pending')
        throw new ApiError(
          409,
          'charge_not_pending',
          `charge ${id} is ${c.wire.status}: only a pending charge can be voided`,
        );
      return this.store.setChargeStatus(id, 'voided'); // also clears a late-success schedule
    });
  }

  /** Refunds a captured charge, all that is left of it by default; the same key and body answer the same refund. */
  refund(key: string, p: RefundRequest, header: Fault | undefined) {
    const hash = hashOf({ charge: p.charge, amount: p.amount ?? null });
    return this.store.tx(() => {
      const existing = this.store.refundByKey(key);
      if (existing) {
        if (existing.requestHash !== hash) throw mismatch(key);
        return existing.wire;
      }
      const c = this.store.chargeById(p.charge);
      if (!c) throw new ApiError(404, 'resource_missing', `no such charge: ${p.charge}`);
      if (c.wire.status !== 'succeeded' && c.wire.status !== 'refunded') {
        throw new ApiError(
          409,
          'charge_not_captured',
          `charge ${p.charge} is ${c.wire.status}: nothing was captured to refund`,
        );
      }
      const left = c.wire.amount - c.wire.amount_refunded;
      const amount = p.amount ?? left;
      if (left === 0 || amount > left)
        throw new ApiError(
          409,
          'amount_exceeds_refundable',
          `charge ${p.charge} has ${left} ${c.wire.currency} left to refund`,
        );
      const r = this.store.insertRefund({
        id: newId('re'),
        chargeId: c.wire.id,
        idempotencyKey: key,
        requestHash: hash,
        amount,
        currency: c.wire.currency,
        created: new Date().toISOString(),
      });
      // Faults asked at the charge's creation shape its outcome's webhooks, not the refunds' (those take this
      // request's header and the rules).
      this.emit('charge.refunded', this.store.chargeById(c.wire.id)!.wire, null, header, r);
      return r;
    });
  }

  /** A page of charges, oldest first, filtered by order, key or creation time. */
  list(q: ListRequest) {
    let afterSeq = 0;
    if (q.starting_after) {
      const seq = this.store.seqOfCharge(q.starting_after);
      if (seq === undefined)
        throw new ApiError(400, 'invalid_request', `starting_after: no charge ${q.starting_after}`);
      afterSeq = seq;
    }
    const page = this.store.listCharges({
      orderId: q.order_id,
      idempotencyKey: q.idempotency_key,
      createdGte: q.created_gte,
      afterSeq,
      limit: q.limit,
    });
    return { object: 'list', data: page.data, has_more: page.hasMore };
  }

  /** The clock: pending late successes that are due, then webhook attempts that are due. */
  tick(now = Date.now()): void {
    for (const id of this.store.dueLateSuccesses(now)) {
      this.store.tx(() => {
        const c = this.store.chargeById(id);
        if (!c || c.wire.status !== 'pending') return;
        this.emit('charge.succeeded', this.store.setChargeStatus(id, 'succeeded'), c.webhookFaults);
      });
    }
    this.dispatcher.pump(now);
  }

  /** Queues an event's webhook, shaped by the faults asked at the charge's creation, on this request, or by a rule. */
  private emit(
    type: EventType,
    charge: WireCharge,
    storedFaults: string | null,
    requestFault?: Fault,
    refund?: Parameters<typeof enqueueEvent>[5],
  ): void {
    const faults = [
      ...(storedFaults ? (JSON.parse(storedFaults) as Fault[]) : []),
      ...(requestFault && isWebhookFault(requestFault.fault) ? [requestFault] : []),
      ...this.rules.takeWebhookFaults({ orderId: charge.order_id, paymentMethod: charge.payment_method }),
    ];
    enqueueEvent(this.store, type, charge, faults, Date.now() + this.timings.latencyMs, refund);
  }
}

type NewCharge = Omit<Parameters<SimulatorStore['insertCharge']>[0], 'status' | 'declineCode' | 'succeedAt'>;

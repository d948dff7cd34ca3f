/**
 * The payment gateway simulator: a separate HTTP service that speaks the Stripe-like API of
 * `payments/gateway.ts` (documented in the README, "The payment gateway (simulator)"), keeps its ledger in a
 * SQLite file (a restart loses nothing), sends signed webhooks for every outcome from a durable outbox, and
 * injects faults on demand. Test payment methods:
 *   pm_card_visa            succeeds (answers after the configured latency)
 *   pm_card_chargeDeclined  declined (decline_code card_declined), answered with HTTP 200
 *   pm_card_noResponse      a pending charge, and the request is never answered (the caller times out)
 *   pm_card_lateSuccess     answers `pending`, then succeeds by webhook `lateSuccessAfterExpiryMs` after
 *                           `expires_at`, unless voided first
 */
import express, { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SimulatorStore, WireCharge } from './store';
import { enqueueEvent, EventType, WebhookDispatcher } from './webhooks';
import { Fault, FAULT_HEADER, FaultRules, FaultRulesBody, isWebhookFault, Operation, parseFaultHeader } from './faults';

export interface SimulatorOptions {
  /** Every POST answers after this long (and a synchronous outcome's webhook is sent after it too). */
  latencyMs: number;
  webhookUrl: string;
  webhookSecret: string;
  /** The SQLite file of the ledger (created with its folder when missing). */
  dbPath: string;
  /** How long after the order's expiry a pm_card_lateSuccess charge succeeds (default 1000). */
  lateSuccessAfterExpiryMs?: number;
  /** Webhook retries: first delay (default 500 ms), doubled per attempt up to the max (default 60 s), given
   * up after `webhookGiveUpAfterMs` (default 3 days). */
  webhookRetryBaseMs?: number;
  webhookRetryMaxMs?: number;
  webhookGiveUpAfterMs?: number;
  /** How often the clock looks for due late successes and webhook attempts (default 50 ms). */
  tickMs?: number;
}

export interface GatewaySimulator {
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
  /** Webhook deliveries acknowledged by the receiver since this instance started. */
  readonly webhooksSent: number;
}

export const TEST_PAYMENT_METHODS = [
  'pm_card_visa',
  'pm_card_chargeDeclined',
  'pm_card_noResponse',
  'pm_card_lateSuccess',
] as const;

/** A 4xx (or an injected 5xx) in the provider's error format. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ChargeBody = z.object({
  order_id: z.string().min(1).max(200),
  amount: z.number().int().positive().max(99_999_999),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code such as USD')
    .transform((c) => c.toUpperCase()),
  payment_method: z.string().min(1).max(100),
  expires_at: z.string().refine((s) => Number.isFinite(Date.parse(s)), 'an ISO 8601 instant'),
});
const RefundBody = z.object({
  charge: z.string().min(1).max(200),
  amount: z.number().int().positive().max(99_999_999).optional(),
});
const ListQuery = z.object({
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;
const hashOf = (params: Record<string, unknown>) => createHash('sha256').update(JSON.stringify(params)).digest('hex');

function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success)
    throw new ApiError(
      400,
      'invalid_request',
      r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  return r.data;
}

function idempotencyKey(req: Request, required: boolean): string | undefined {
  const key = req.header('idempotency-key');
  if (key === undefined || key === '') {
    if (required) throw new ApiError(400, 'idempotency_key_required', 'this request needs an Idempotency-Key header');
    return undefined;
  }
  if (key.length > 255)
    throw new ApiError(400, 'invalid_request', 'the Idempotency-Key header is longer than 255 characters');
  return key;
}

function headerFault(req: Request): Fault | undefined {
  try {
    return parseFaultHeader(req.header(FAULT_HEADER));
  } catch (err) {
    throw new ApiError(400, 'invalid_fault', (err as Error).message);
  }
}

export function createGatewaySimulator(opts: SimulatorOptions): GatewaySimulator {
  const store = new SimulatorStore(opts.dbPath);
  const rules = new FaultRules();
  let delivered = 0;
  const dispatcher = new WebhookDispatcher(store, {
    url: opts.webhookUrl,
    secret: opts.webhookSecret,
    retryBaseMs: opts.webhookRetryBaseMs ?? 500,
    retryMaxMs: opts.webhookRetryMaxMs ?? 60_000,
    giveUpAfterMs: opts.webhookGiveUpAfterMs ?? 3 * 24 * 3_600_000,
    concurrency: 16,
    onDelivered: () => delivered++,
  });
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let closed = false;

  /** The faults shaping an event of this charge: asked at its creation, on this request, or by a rule. */
  function eventFaults(charge: WireCharge, storedFaults: string | null, requestFault?: Fault): Fault[] {
    return [
      ...(storedFaults ? (JSON.parse(storedFaults) as Fault[]) : []),
      ...(requestFault && isWebhookFault(requestFault.fault) ? [requestFault] : []),
      ...rules.takeWebhookFaults({ orderId: charge.order_id, paymentMethod: charge.payment_method }),
    ];
  }

  function emit(
    type: EventType,
    charge: WireCharge,
    storedFaults: string | null,
    requestFault?: Fault,
    refund?: Parameters<typeof enqueueEvent>[5],
  ) {
    enqueueEvent(
      store,
      type,
      charge,
      eventFaults(charge, storedFaults, requestFault),
      Date.now() + opts.latencyMs,
      refund,
    );
  }

  /** The request fault in force: the header's, else the first matching rule's (consumed). */
  function requestFault(
    op: Operation,
    header: Fault | undefined,
    charge: { orderId: string; paymentMethod: string },
  ): Fault | undefined {
    if (header && !isWebhookFault(header.fault)) return header;
    return rules.takeRequestFault(op, charge);
  }

  /** Answers as the fault says: late, never, or with a 500 after the work was done. */
  async function answer(
    res: Response,
    fault: Fault | undefined,
    body: unknown,
    o: { latency: boolean; holdOpen?: boolean },
  ) {
    if (o.holdOpen || fault?.fault === 'timeout_after_charge') return; // never answered; the caller times out
    const wait = (o.latency ? opts.latencyMs : 0) + (fault?.fault === 'slow' ? fault.delayMs : 0);
    if (wait > 0) await sleep(wait);
    if (closed || res.headersSent) return;
    if (fault?.fault === 'error_after_charge') {
      res
        .status(500)
        .json({ error: { code: 'injected_fault', message: 'simulated gateway failure after the operation was done' } });
      return;
    }
    res.json(body);
  }

  function refuseBeforeWork(fault: Fault | undefined) {
    if (fault?.fault === 'error_before_charge')
      throw new ApiError(503, 'injected_fault', 'simulated gateway failure: nothing was done');
    // A refusal for good, as a real gateway answers a refund to a closed card or a disputed charge.
    if (fault?.fault === 'refuse')
      throw new ApiError(402, 'refused', 'simulated refusal: the gateway will not do this');
  }

  /** Creates the charge for a new idempotency key; the same key and body answer the existing one. */
  function createCharge(
    key: string,
    p: z.infer<typeof ChargeBody>,
    hash: string,
    header: Fault | undefined,
  ): WireCharge {
    return store.tx(() => {
      const existing = store.chargeByKey(key);
      if (existing) {
        if (existing.requestHash !== hash)
          throw new ApiError(422, 'idempotency_key_mismatch', `Idempotency-Key ${key} was used with other parameters`);
        return existing.wire;
      }
      const webhookFaults = header && isWebhookFault(header.fault) ? JSON.stringify([header]) : undefined;
      const base = {
        id: newId('ch'),
        orderId: p.order_id,
        idempotencyKey: key,
        requestHash: hash,
        amount: p.amount,
        currency: p.currency,
        paymentMethod: p.payment_method,
        created: new Date().toISOString(),
        webhookFaults,
      };
      switch (p.payment_method) {
        case 'pm_card_visa': {
          const c = store.insertCharge({ ...base, status: 'succeeded' });
          emit('charge.succeeded', c, webhookFaults ?? null);
          return c;
        }
        case 'pm_card_chargeDeclined': {
          const c = store.insertCharge({ ...base, status: 'declined', declineCode: 'card_declined' });
          emit('charge.failed', c, webhookFaults ?? null);
          return c;
        }
        case 'pm_card_noResponse':
          return store.insertCharge({ ...base, status: 'pending' });
        case 'pm_card_lateSuccess':
          return store.insertCharge({
            ...base,
            status: 'pending',
            succeedAt: Date.parse(p.expires_at) + (opts.lateSuccessAfterExpiryMs ?? 1000),
          });
        default:
          throw new ApiError(
            400,
            'unknown_payment_method',
            `unknown payment method ${p.payment_method}: one of ${TEST_PAYMENT_METHODS.join(', ')}`,
          );
      }
    });
  }

  /** The clock: pending late successes that are due, then webhook attempts that are due. */
  function tick() {
    const now = Date.now();
    for (const id of store.dueLateSuccesses(now)) {
      store.tx(() => {
        const c = store.chargeById(id);
        if (!c || c.wire.status !== 'pending') return;
        emit('charge.succeeded', store.setChargeStatus(id, 'succeeded'), c.webhookFaults);
      });
    }
    dispatcher.pump(now);
  }

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  const route =
    (fn: (req: Request, res: Response) => Promise<void> | void) =>
    (req: Request, res: Response, next: NextFunction) => {
      Promise.resolve()
        .then(() => fn(req, res))
        .catch(next);
    };

  app.post(
    '/v1/charges',
    route(async (req, res) => {
      const key = idempotencyKey(req, true)!;
      const header = headerFault(req);
      const p = parse(ChargeBody, req.body);
      const fault = requestFault('charge', header, { orderId: p.order_id, paymentMethod: p.payment_method });
      refuseBeforeWork(fault);
      const hash = hashOf({
        order_id: p.order_id,
        amount: p.amount,
        currency: p.currency,
        payment_method: p.payment_method,
        expires_at: p.expires_at,
      });
      const charge = createCharge(key, p, hash, header);
      await answer(res, fault, charge, {
        latency: true,
        holdOpen: charge.payment_method === 'pm_card_noResponse' && charge.status === 'pending',
      });
    }),
  );

  app.get(
    '/v1/charges',
    route(async (req, res) => {
      const fault = headerFault(req);
      const q = parse(ListQuery, req.query);
      refuseBeforeWork(fault);
      let afterSeq = 0;
      if (q.starting_after) {
        const seq = store.seqOfCharge(q.starting_after);
        if (seq === undefined)
          throw new ApiError(400, 'invalid_request', `starting_after: no charge ${q.starting_after}`);
        afterSeq = seq;
      }
      const page = store.listCharges({
        orderId: q.order_id,
        idempotencyKey: q.idempotency_key,
        createdGte: q.created_gte,
        afterSeq,
        limit: q.limit,
      });
      await answer(
        res,
        fault && !isWebhookFault(fault.fault) ? fault : undefined,
        { object: 'list', data: page.data, has_more: page.hasMore },
        { latency: false },
      );
    }),
  );

  app.get(
    '/v1/charges/:id',
    route(async (req, res) => {
      const fault = headerFault(req);
      refuseBeforeWork(fault);
      const id = String(req.params.id);
      // Compatibility: an id that is not a charge id is an order id, answered with the order's latest charge.
      const c = id.startsWith('ch_') ? store.chargeById(id) : store.latestChargeOfOrder(id);
      if (!c) throw new ApiError(404, 'resource_missing', `no such charge: ${id}`);
      await answer(res, fault && !isWebhookFault(fault.fault) ? fault : undefined, c.wire, { latency: false });
    }),
  );

  app.post(
    '/v1/charges/:id/void',
    route(async (req, res) => {
      idempotencyKey(req, false); // accepted for symmetry; voiding is idempotent by nature
      const header = headerFault(req);
      const id = String(req.params.id);
      const found = store.chargeById(id);
      if (!found) throw new ApiError(404, 'resource_missing', `no such charge: ${id}`);
      const fault = requestFault('void', header, {
        orderId: found.wire.order_id,
        paymentMethod: found.wire.payment_method,
      });
      refuseBeforeWork(fault);
      const charge = store.tx(() => {
        const c = store.chargeById(id)!;
        if (c.wire.status === 'voided') return c.wire;
        if (c.wire.status !== 'pending')
          throw new ApiError(
            409,
            'charge_not_pending',
            `charge ${id} is ${c.wire.status}: only a pending charge can be voided`,
          );
        return store.setChargeStatus(id, 'voided'); // also clears a late-success schedule
      });
      await answer(res, fault, charge, { latency: true });
    }),
  );

  app.post(
    '/v1/refunds',
    route(async (req, res) => {
      const key = idempotencyKey(req, true)!;
      const header = headerFault(req);
      const p = parse(RefundBody, req.body);
      const found = store.chargeById(p.charge);
      const fault = found
        ? requestFault('refund', header, { orderId: found.wire.order_id, paymentMethod: found.wire.payment_method })
        : header;
      refuseBeforeWork(fault);
      const hash = hashOf({ charge: p.charge, amount: p.amount ?? null });
      const refund = store.tx(() => {
        const existing = store.refundByKey(key);
        if (existing) {
          if (existing.requestHash !== hash)
            throw new ApiError(
              422,
              'idempotency_key_mismatch',
              `Idempotency-Key ${key} was used with other parameters`,
            );
          return existing.wire;
        }
        const c = store.chargeById(p.charge);
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
        const r = store.insertRefund({
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
        emit('charge.refunded', store.chargeById(c.wire.id)!.wire, null, header, r);
        return r;
      });
      await answer(res, fault, refund, { latency: true });
    }),
  );

  // Test control (the simulator is a test double; a real provider has no such endpoints).
  const listRules = () => ({
    object: 'list',
    data: rules.list().map((r) => ({
      id: r.id,
      fault: r.fault,
      operation: r.operation,
      order_id: r.orderId ?? null,
      payment_method: r.paymentMethod ?? null,
      delay_ms: r.delayMs ?? null,
      times_left: r.remaining ?? null,
    })),
  });
  app.post(
    '/v1/test/faults',
    route((req, res) => {
      const body = parse(FaultRulesBody, req.body);
      rules.add(body.rules);
      res.json(listRules());
    }),
  );
  app.get('/v1/test/faults', (_req, res) => void res.json(listRules()));
  app.delete('/v1/test/faults', (_req, res) => {
    rules.clear();
    res.json(listRules());
  });
  app.get('/v1/test/webhooks', (_req, res) => void res.json({ object: 'webhook_counts', ...store.webhookCounts() }));

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'not_found', message: `no route ${req.method} ${req.path}` } });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (err instanceof ApiError)
      return void res.status(err.status).json({ error: { code: err.code, message: err.message } });
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed')
      return void res.status(400).json({ error: { code: 'invalid_json', message: 'the body is not valid JSON' } });
    if (e.type === 'entity.too.large')
      return void res.status(413).json({ error: { code: 'payload_too_large', message: 'the body is too large' } });
    res.status(500).json({ error: { code: 'internal_error', message: e.message ?? 'internal error' } });
  });

  const clock = setInterval(() => {
    try {
      tick();
    } catch {
      /* the next tick tries again */
    }
  }, opts.tickMs ?? 50);

  function listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      server = app.listen(port, host, () => resolve((server!.address() as { port: number }).port));
      server.on('error', reject);
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
    });
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    clearInterval(clock);
    dispatcher.stop();
    for (const s of sockets) s.destroy();
    if (server?.listening) await new Promise<void>((r) => server!.close(() => r()));
    store.close();
  }

  return {
    listen,
    close,
    get webhooksSent() {
      return delivered;
    },
  };
}

/**
 * The simulator's HTTP API (the Stripe-like API of payments/gateway.ts) over the ledger, and its test-control
 * endpoints. Each answer is shaped by the request's fault: late, never, or a 500 after the work was done.
 */
import express, { type Express, type Response } from 'express';
import { errorHandler, headerFault, idempotencyKey, notFound, parse, route, ApiError } from './http';
import { ChargeBody, ListQuery, RefundBody, type SimulatedLedger } from './ledger';
import { Fault, FaultRulesBody, isWebhookFault } from './faults';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AnswerSettings {
  latencyMs: number;
  /** True once the simulator is closing: nothing more is answered. */
  closed: () => boolean;
}

/** Answers as the fault says: late, never, or with a 500 after the work was done. */
async function answer(
  s: AnswerSettings,
  res: Response,
  fault: Fault | undefined,
  body: unknown,
  o: { latency: boolean; holdOpen?: boolean },
): Promise<void> {
  if (o.holdOpen || fault?.fault === 'timeout_after_charge') return; // never answered; the caller times out
  const wait = (o.latency ? s.latencyMs : 0) + (fault?.fault === 'slow' ? fault.delayMs : 0);
  if (wait > 0) await sleep(wait);
  if (s.closed() || res.headersSent) return;
  if (fault?.fault === 'error_after_charge') {
    res
      .status(500)
      .json({ error: { code: 'injected_fault', message: 'simulated gateway failure after the operation was done' } });
    return;
  }
  res.json(body);
}

/** A read's fault: only request faults apply (a webhook fault in the header shapes no read). */
const readFault = (fault: Fault | undefined) => (fault && !isWebhookFault(fault.fault) ? fault : undefined);

export function simulatorApp(ledger: SimulatedLedger, s: AnswerSettings): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  chargeRoutes(app, ledger, s);
  refundRoutes(app, ledger, s);
  testControlRoutes(app, ledger);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}

function chargeRoutes(app: Express, ledger: SimulatedLedger, s: AnswerSettings): void {
  app.post(
    '/v1/charges',
    route(async (req, res) => {
      const key = idempotencyKey(req, true)!;
      const header = headerFault(req);
      const p = parse(ChargeBody, req.body);
      const fault = ledger.requestFault('charge', header, p);
      ledger.refuseBeforeWork(fault);
      const charge = ledger.charge(key, p, header);
      await answer(s, res, fault, charge, {
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
      ledger.refuseBeforeWork(fault);
      await answer(s, res, readFault(fault), ledger.list(q), { latency: false });
    }),
  );

  app.get(
    '/v1/charges/:id',
    route(async (req, res) => {
      const fault = headerFault(req);
      ledger.refuseBeforeWork(fault);
      const id = String(req.params.id);
      // Compatibility: an id that is not a charge id is an order id, answered with the order's latest charge.
      const c = id.startsWith('ch_') ? ledger.store.chargeById(id) : ledger.store.latestChargeOfOrder(id);
      if (!c) throw new ApiError(404, 'resource_missing', `no such charge: ${id}`);
      await answer(s, res, readFault(fault), c.wire, { latency: false });
    }),
  );

  app.post(
    '/v1/charges/:id/void',
    route(async (req, res) => {
      idempotencyKey(req, false); // accepted for symmetry; voiding is idempotent by nature
      const header = headerFault(req);
      const id = String(req.params.id);
      const found = ledger.store.chargeById(id);
      if (!found) throw new ApiError(404, 'resource_missing', `no such charge: ${id}`);
      const fault = ledger.requestFault('void', header, found.wire);
      ledger.refuseBeforeWork(fault);
      await answer(s, res, fault, ledger.void(id), { latency: true });
    }),
  );
}

function refundRoutes(app: Express, ledger: SimulatedLedger, s: AnswerSettings): void {
  app.post(
    '/v1/refunds',
    route(async (req, res) => {
      const key = idempotencyKey(req, true)!;
      const header = headerFault(req);
      const p = parse(RefundBody, req.body);
      const found = ledger.store.chargeById(p.charge);
      const fault = found ? ledger.requestFault('refund', header, found.wire) : header;
      ledger.refuseBeforeWork(fault);
      await answer(s, res, fault, ledger.refund(key, p, header), { latency: true });
    }),
  );
}

/** Test control (the simulator is a test double; a real provider has no such endpoints). */
function testControlRoutes(app: Express, ledger: SimulatedLedger): void {
  const listRules = () => ({
    object: 'list',
    data: ledger.rules.list().map((r) => ({
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
      ledger.rules.add(parse(FaultRulesBody, req.body).rules);
      res.json(listRules());
    }),
  );
  app.get('/v1/test/faults', (_req, res) => void res.json(listRules()));
  app.delete('/v1/test/faults', (_req, res) => {
    ledger.rules.clear();
    res.json(listRules());
  });
  app.get(
    '/v1/test/webhooks',
    (_req, res) => void res.json({ object: 'webhook_counts', ...ledger.store.webhookCounts() }),
  );
}

/**
 * A simulated payment gateway (a separate HTTP service, like a real provider), honouring Stripe-style test
 * payment methods so every branch of the saga can be driven from outside:
 *   pm_card_visa            succeeds after the configured latency
 *   pm_card_chargeDeclined  declined
 *   pm_card_noResponse      never answers the charge request
 *   pm_card_lateSuccess     answers `pending`, then succeeds by signed webhook just after the order expired
 * Charges and refunds are idempotent by their key, as a real gateway's are.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SIGNATURE_HEADER, signPayload } from './webhook-signature';

export interface SimulatorOptions {
  latencyMs: number;
  webhookUrl: string;
  webhookSecret: string;
  /** How long after the order's expiry a pm_card_lateSuccess charge succeeds. */
  lateSuccessAfterExpiryMs?: number;
}

interface Charge {
  chargeId: string;
  orderId: string;
  amount: number;
  method: string;
  status: 'succeeded' | 'declined' | 'pending' | 'refunded' | 'voided';
  timer?: NodeJS.Timeout;
}

export interface GatewaySimulator {
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
  charges: Map<string, Charge>;
  webhooksSent: number;
}

export function createGatewaySimulator(opts: SimulatorOptions): GatewaySimulator {
  const charges = new Map<string, Charge>(); // by order id (the idempotency key of charges)
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const sim: GatewaySimulator = { charges, webhooksSent: 0, listen, close };
  let server: Server | undefined;
  let closing = false;

  const app = express();
  app.use(express.json());
  const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

  app.post('/v1/charges', async (req, res) => {
    const { order_id: orderId, amount, payment_method: method, expires_at: expiresAt } = req.body ?? {};
    if (typeof orderId !== 'string' || typeof method !== 'string') return res.status(400).json({ error: 'order_id and payment_method are required' });
    let charge = charges.get(orderId);
    if (!charge) {
      charge = { chargeId: `ch_${randomUUID()}`, orderId, amount: Number(amount), method, status: 'pending' };
      charges.set(orderId, charge);
      if (method === 'pm_card_chargeDeclined') charge.status = 'declined';
      else if (method === 'pm_card_lateSuccess') scheduleLateSuccess(charge, String(expiresAt));
      else if (method !== 'pm_card_noResponse') charge.status = 'succeeded';
    }
    if (method === 'pm_card_noResponse') return; // hold the request open: the caller times out
    await delay(opts.latencyMs);
    res.json({ charge_id: charge.chargeId, status: charge.status === 'declined' ? 'declined' : charge.status === 'pending' ? 'pending' : 'succeeded', ...(charge.status === 'declined' ? { decline_code: 'card_declined' } : {}) });
  });

  app.post('/v1/refunds', async (req, res) => {
    const charge = charges.get(String(req.body?.order_id));
    await delay(opts.latencyMs);
    if (!charge || charge.status === 'declined' || charge.status === 'voided') return res.json({ status: charge?.status === 'voided' ? 'voided' : 'no_charge' });
    if (charge.status === 'pending') {
      // Cancels the payment before it completes: no money moves and no success will follow.
      if (charge.timer) clearTimeout(charge.timer);
      charge.status = 'voided';
      return res.json({ status: 'voided' });
    }
    charge.status = 'refunded';
    res.json({ status: 'refunded', charge_id: charge.chargeId });
  });

  app.get('/v1/charges/:orderId', (req, res) => {
    const c = charges.get(req.params.orderId);
    if (!c) return res.status(404).json({ error: 'no such charge' });
    res.json({ charge_id: c.chargeId, order_id: c.orderId, amount: c.amount, status: c.status });
  });

  function scheduleLateSuccess(charge: Charge, expiresAt: string) {
    const at = (Date.parse(expiresAt) || Date.now()) + (opts.lateSuccessAfterExpiryMs ?? 1000);
    charge.timer = setTimeout(() => {
      timers.delete(charge.timer!);
      if (charge.status !== 'pending') return;
      charge.status = 'succeeded';
      void deliverWebhook({ type: 'charge.succeeded', order_id: charge.orderId, charge_id: charge.chargeId, amount: charge.amount });
    }, Math.max(0, at - Date.now()));
    timers.add(charge.timer);
  }

  /** At-least-once delivery with backoff, as real gateways do. */
  async function deliverWebhook(event: Record<string, unknown>) {
    const body = JSON.stringify({ id: `evt_${randomUUID()}`, ...event });
    for (let attempt = 0; attempt < 12 && !closing; attempt++) {
      try {
        const res = await fetch(opts.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signPayload(opts.webhookSecret, body) },
          body,
          signal: AbortSignal.timeout(5000),
        });
        if (res.ok) {
          sim.webhooksSent++;
          return;
        }
      } catch {
        /* the receiver is down: try again */
      }
      await delay(Math.min(200 * 2 ** attempt, 10_000));
    }
  }

  function listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve) => {
      server = app.listen(port, host, () => resolve((server!.address() as { port: number }).port));
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
    });
  }

  async function close(): Promise<void> {
    closing = true;
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.destroy();
    if (server) await new Promise<void>((r) => server!.close(() => r()));
  }

  return sim;
}

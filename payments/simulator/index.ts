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
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { SimulatorStore } from './store';
import { WebhookDispatcher } from './webhooks';
import { FaultRules } from './faults';
import { SimulatedLedger } from './ledger';
import { simulatorApp } from './routes';

export { TEST_PAYMENT_METHODS } from './ledger';

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

/** The simulator's parts put together: the ledger, its webhook dispatcher, the clock that drives both, and the
 * HTTP server (closing destroys its open sockets: a pm_card_noResponse request is never answered). */
export function createGatewaySimulator(opts: SimulatorOptions): GatewaySimulator {
  const store = new SimulatorStore(opts.dbPath);
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
  const ledger = new SimulatedLedger(store, new FaultRules(), dispatcher, {
    latencyMs: opts.latencyMs,
    lateSuccessAfterExpiryMs: opts.lateSuccessAfterExpiryMs ?? 1000,
  });
  let closed = false;
  const app = simulatorApp(ledger, { latencyMs: opts.latencyMs, closed: () => closed });
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const clock = setInterval(() => {
    try {
      ledger.tick();
    } catch {
      /* the next tick tries again */
    }
  }, opts.tickMs ?? 50);

  return {
    listen(port: number, host = '127.0.0.1'): Promise<number> {
      return new Promise((resolve, reject) => {
        server = app.listen(port, host, () => resolve((server!.address() as { port: number }).port));
        server.on('error', reject);
        server.on('connection', (s) => {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
        });
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(clock);
      dispatcher.stop();
      for (const s of sockets) s.destroy();
      if (server?.listening) await new Promise<void>((r) => server!.close(() => r()));
      store.close();
    },
    get webhooksSent() {
      return delivered;
    },
  };
}

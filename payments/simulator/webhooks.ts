/**
 * Webhooks, as a provider sends them: every event is written to the outbox table in the same transaction as
 * the change it reports, then POSTed, signed, to the configured URL and retried with exponential backoff until
 * the receiver acknowledges it (any 2xx), for up to `giveUpAfterMs`. The outbox is in the SQLite file, so a
 * restart keeps retrying where it stopped. Webhook faults shape the rows written: dropped (written, never
 * sent), duplicated (two deliveries of the same event id), held back (sent after later events).
 */
import { randomUUID } from 'node:crypto';
import { SIGNATURE_HEADER, signPayload } from '../webhook-signature';
import type { Fault } from './faults';
import type { SimulatorStore, WireCharge, WireRefund } from './store';

export type EventType = 'charge.succeeded' | 'charge.failed' | 'charge.refunded';

export interface WebhookEvent {
  id: string;
  object: 'event';
  type: EventType;
  created: string;
  order_id: string;
  charge_id: string;
  /** The charge's amount (minor units) and currency. */
  amount: number;
  currency: string;
  /** The charge as it is after the change; `refund` on charge.refunded. */
  data: { object: WireCharge; refund?: Omit<WireRefund, 'object'> };
}

/** Writes one event (and its fault-shaped deliveries) to the outbox. Call inside the change's transaction. */
export function enqueueEvent(
  store: SimulatorStore,
  type: EventType,
  charge: WireCharge,
  faults: Fault[],
  notBefore: number,
  refund?: WireRefund,
): WebhookEvent {
  const event: WebhookEvent = {
    id: `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    type,
    created: new Date().toISOString(),
    order_id: charge.order_id,
    charge_id: charge.id,
    amount: charge.amount,
    currency: charge.currency,
    data: {
      object: charge,
      ...(refund
        ? {
            refund: {
              id: refund.id,
              charge: refund.charge,
              amount: refund.amount,
              currency: refund.currency,
              status: refund.status,
              created: refund.created,
            },
          }
        : {}),
    },
  };
  const body = JSON.stringify(event);
  const has = (name: Fault['fault']) => faults.find((f) => f.fault === name);
  const dropped = !!has('drop_webhooks');
  const heldBack = has('reorder_webhooks')?.delayMs ?? 0;
  const copies = has('duplicate_webhooks') ? 2 : 1;
  for (let i = 0; i < copies; i++) {
    store.enqueueWebhook({
      eventId: event.id,
      type,
      chargeId: charge.id,
      body,
      nextAttemptAt: notBefore + heldBack + i,
      state: dropped ? 'dropped' : 'pending',
    });
  }
  return event;
}

export interface DispatcherOptions {
  url: string;
  secret: string;
  /** First retry delay; doubled per attempt up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  giveUpAfterMs: number;
  /** Deliveries in flight at once. */
  concurrency: number;
  onDelivered?: () => void;
}

/** Sends due outbox rows; `pump()` is called by the simulator's clock. */
export class WebhookDispatcher {
  private readonly inFlight = new Set<number>();
  private readonly aborter = new AbortController();
  private stopped = false;

  constructor(
    private readonly store: SimulatorStore,
    private readonly opts: DispatcherOptions,
  ) {}

  pump(now = Date.now()): void {
    if (this.stopped) return;
    const room = this.opts.concurrency - this.inFlight.size;
    if (room <= 0) return;
    for (const row of this.store.dueWebhooks(now, room, this.inFlight)) {
      this.inFlight.add(row.seq);
      void this.deliver(row).finally(() => this.inFlight.delete(row.seq));
    }
  }

  /** Stops sending; deliveries in flight are aborted and stay pending in the outbox. */
  stop(): void {
    this.stopped = true;
    this.aborter.abort();
  }

  private async deliver(row: { seq: number; body: string; attempts: number; created_at: number }): Promise<void> {
    let error: string;
    try {
      const res = await fetch(this.opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signPayload(this.opts.secret, row.body) },
        body: row.body,
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(10_000)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (this.stopped) return;
      if (res.ok) {
        this.store.markWebhookDelivered(row.seq);
        this.opts.onDelivered?.();
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      if (this.stopped) return; // closing: the row stays pending for the next start
      error = (err as Error).message;
    }
    const now = Date.now();
    const next = now + Math.min(this.opts.retryBaseMs * 2 ** row.attempts, this.opts.retryMaxMs);
    this.store.markWebhookFailedAttempt(row.seq, error, next - row.created_at > this.opts.giveUpAfterMs ? null : next);
  }
}

/**
 * The sender loop: claims due pending notifications (a lease, so several notifier processes never send one
 * twice in the normal case), hands each to the channel, and records the outcome on the row: sent, or a failed
 * attempt retried with exponential backoff until NOTIFY_MAX_ATTEMPTS, then failed. Because it works from the
 * table, a notification stored just before a crash is sent by the next round of any notifier.
 */
import type { Logger } from '../lib/logger';
import { NotificationChannel, PermanentDeliveryError } from './channels';
import type { NotificationRepository, Outgoing } from './repository';

export interface SenderOptions {
  pollMs: number;
  batch: number;
  /** How long a claim lasts: longer than any send may take. */
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
}

const MAX_BACKOFF_MS = 10 * 60_000;

export function backoffMs(attempt: number, baseMs: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
}

export class NotificationSender {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  sent = 0;
  failedAttempts = 0;

  constructor(
    private readonly repo: NotificationRepository,
    private readonly channel: NotificationChannel,
    private readonly log: Logger,
    private readonly opts: SenderOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Starts a round now (e.g. right after the consumer stored new notifications). */
  wake(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.round();
      } catch (err) {
        this.log.warn({ err }, 'notification sender round failed; retrying');
      }
      if (claimed < this.opts.batch && this.running) await this.sleep(this.opts.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    }).then(() => {
      this.wakeUp = undefined;
    });
  }

  /** One round: claims and sends what is due. Returns how many it claimed. */
  async round(): Promise<number> {
    const due = await this.repo.claimDue(this.opts.batch, this.opts.leaseMs);
    await Promise.all(due.map((n) => this.deliver(n)));
    return due.length;
  }

  private async deliver(n: Outgoing): Promise<void> {
    try {
      await this.channel.send(n);
    } catch (err) {
      const final = err instanceof PermanentDeliveryError || n.attempts >= this.opts.maxAttempts;
      const retryIn = backoffMs(n.attempts, this.opts.retryBaseMs);
      this.failedAttempts += 1;
      this.log.warn(
        { notification_id: n.notification_id, attempt: n.attempts, final, err: (err as Error).message },
        'notification delivery failed',
      );
      await this.repo.markAttemptFailed(
        n.notification_id,
        this.channel.name,
        (err as Error).message ?? String(err),
        final,
        retryIn,
      );
      return;
    }
    await this.repo.markSent(n.notification_id, this.channel.name);
    this.sent += 1;
  }

  /** Stops after the round in flight (its sends finish and are recorded). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = undefined;
  }
}

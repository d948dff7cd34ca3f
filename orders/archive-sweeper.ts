/**
 * The archive sweeper: archives finished orders still in MySQL long after they finished. Normally the saga
 * archives every order as its last step; this catches the rest (orders finished before the archive step
 * existed, or whose saga was terminated by an operator). It waits past the late-payment window, during which
 * a saga may still revive an expired order, and archiving is idempotent, so racing a saga changes nothing.
 */
import type { Knex } from 'knex';
import type { Logger } from '../lib/logger';
import { FINAL_STATUSES, OrderArchive } from './archive';
import { runPeriodically } from '../lib/periodic';
import { expireKeys } from './idempotency-keys';

export class ArchiveSweeper {
  private stopTimer: (() => void) | undefined;

  constructor(
    private readonly mysql: Knex,
    private readonly archive: OrderArchive,
    private readonly finishedFor: number,
    private readonly log: Logger,
    /** Also deletes expired Idempotency-Keys on each pass (orders/idempotency-keys.ts), when given. */
    private readonly idempotencyKeyTtlMs?: number,
  ) {}

  start(everyMs = 60_000): void {
    this.stopTimer = runPeriodically(
      () => this.pass(),
      everyMs,
      (err) => this.log.warn({ err }, 'archive sweeper: sweep failed, will retry'),
    );
  }

  /** One pass as the schedule runs it: the sweep, then expired Idempotency-Keys. Returns the ids archived. */
  async pass(): Promise<string[]> {
    const archived = await this.sweep();
    if (archived.length > 0) this.log.info({ count: archived.length }, 'archive sweeper: archived finished orders');
    if (this.idempotencyKeyTtlMs !== undefined) await expireKeys(this.mysql, this.idempotencyKeyTtlMs);
    return archived;
  }

  stop(): void {
    this.stopTimer?.();
  }

  /** One pass over up to `batch` orders; returns the ids it archived. */
  async sweep(batch = 200): Promise<string[]> {
    const rows: { order_id: string }[] = await this.mysql('orders')
      .select('order_id')
      .whereIn('status', FINAL_STATUSES)
      .where('updated_at', '<', new Date(Date.now() - this.finishedFor))
      .orderBy('updated_at')
      .limit(batch);
    const archived: string[] = [];
    for (const { order_id } of rows) {
      if ((await this.archive.archive(order_id)) === 'archived') archived.push(order_id);
    }
    return archived;
  }
}

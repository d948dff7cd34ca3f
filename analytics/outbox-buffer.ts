/**
 * Analytics events off the request's critical path (issue 12): instead of one INSERT (one commit, one log
 * flush) per item view or search, events are queued in the process and written to the transactional outbox by
 * group commit: one multi-row INSERT per batch, every ANALYTICS_FLUSH_INTERVAL or as soon as
 * ANALYTICS_FLUSH_MAX events wait, and on graceful shutdown. The relay publishes them as before, so nothing is
 * lost while Kafka is down.
 *
 * What a crash (kill -9) can lose: the events queued or in a flush not yet committed, never more than
 * ANALYTICS_BUFFER_MAX per API process: past it a request waits for the flush of its event (backpressure)
 * rather than the queue growing. Only analytics events go through here; orders', payments' and stock events are
 * written in their change's own transaction (outbox/outbox.ts) and are never buffered.
 * A flush that fails (MySQL down) keeps its events queued and retries; the failure is logged per interval.
 */
import type { Knex } from 'knex';
import { logBestEffortFailure } from '../stores/errors';

export interface OutboxRow {
  event_id: string;
  topic: string;
  msg_key: string;
  payload: string;
}

export interface BufferSettings {
  ANALYTICS_FLUSH_INTERVAL: number;
  ANALYTICS_FLUSH_MAX: number;
  ANALYTICS_BUFFER_MAX: number;
}

const DEFAULTS: BufferSettings = { ANALYTICS_FLUSH_INTERVAL: 20, ANALYTICS_FLUSH_MAX: 200, ANALYTICS_BUFFER_MAX: 2000 };
const RETRY_MS = 500;

interface Pending {
  row: OutboxRow;
  done?: { resolve: () => void; reject: (err: unknown) => void };
}

export class AnalyticsOutbox {
  private queue: Pending[] = [];
  private inFlight = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  flushes = 0;

  constructor(
    private readonly mysql: Knex,
    private readonly s: BufferSettings = DEFAULTS,
  ) {}

  /** Events queued or being written, not yet committed: what a crash would lose now. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /**
   * Queues one event. Resolves at once, or, with `wait` (a caller that answers "recorded"), or while the
   * buffer is full, once the event's batch has committed (rejecting if that INSERT fails).
   */
  enqueue(row: OutboxRow, opts: { wait?: boolean } = {}): Promise<void> {
    if (this.closed)
      return this.mysql('outbox')
        .insert(row)
        .then(() => undefined);
    const mustWait = opts.wait || this.pending >= this.s.ANALYTICS_BUFFER_MAX;
    const p: Pending = { row };
    const committed = mustWait ? new Promise<void>((resolve, reject) => (p.done = { resolve, reject })) : undefined;
    this.queue.push(p);
    if (this.queue.length >= this.s.ANALYTICS_FLUSH_MAX || mustWait) this.kick(0);
    else this.kick(this.s.ANALYTICS_FLUSH_INTERVAL);
    return committed ?? Promise.resolve();
  }

  private kick(delayMs: number): void {
    if (this.flushing) return; // the running flush schedules the next one
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /** Writes what is queued, batch after batch, until the queue is empty (or a batch fails). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0 && !this.closed) this.kick(this.failedLast ? RETRY_MS : 0);
    });
    return this.flushing;
  }

  private failedLast = false;

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.s.ANALYTICS_FLUSH_MAX);
      this.inFlight = batch.length;
      try {
        await this.mysql('outbox').insert(batch.map((b) => b.row));
        this.failedLast = false;
        this.flushes += 1;
        for (const b of batch) b.done?.resolve();
      } catch (err) {
        this.failedLast = true;
        // Waiting callers learn of the failure; the others' events stay queued for the retry.
        for (const b of batch) b.done?.reject(err);
        this.queue.unshift(...batch.filter((b) => !b.done));
        logBestEffortFailure(
          err,
          'analytics events could not be written yet; retrying',
          { queued: this.queue.length },
          'error',
        );
        return;
      } finally {
        this.inFlight = 0;
      }
    }
  }

  /** Graceful shutdown: writes everything queued (retrying while MySQL answers, up to `timeoutMs`); later
   * events are written one by one. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) {
      await this.flush();
      if (this.queue.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    this.closed = true;
  }
}

// One buffer per MySQL pool (an API process has one; a test process may build several platforms).
const buffers = new WeakMap<Knex, AnalyticsOutbox>();

/** The analytics buffer of this pool, made with these settings on first use. */
export function analyticsOutbox(mysql: Knex, settings?: BufferSettings): AnalyticsOutbox {
  let b = buffers.get(mysql);
  if (!b) {
    b = new AnalyticsOutbox(mysql, settings ?? DEFAULTS);
    buffers.set(mysql, b);
  }
  return b;
}

/** Flushes and closes the pool's buffer, if it has one (before the pool itself is closed). */
export async function closeAnalyticsOutbox(mysql: Knex): Promise<void> {
  await buffers.get(mysql)?.close();
}

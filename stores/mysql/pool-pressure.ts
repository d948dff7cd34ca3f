import type { Knex } from 'knex';

/** What knex's pool (tarn) exposes and emits; typed here because knex types it as `any`. */
interface TarnPool {
  max: number;
  numUsed(): number;
  numPendingAcquires(): number;
  on(event: 'acquireRequest', listener: (eventId: number) => void): void;
  on(event: 'acquireSuccess' | 'acquireFail', listener: (eventId: number) => void): void;
  removeListener(event: string, listener: (...args: never[]) => void): void;
}

/** How busy the MySQL pool is now. */
export interface PoolPressure {
  max: number;
  used: number;
  /** Requests waiting for a connection. */
  pending: number;
  /** How long the oldest of them has waited (0 when none waits). */
  oldestWaitMs: number;
  /** The longest wait of an acquire that ended (got a connection or timed out) in the last second or so. */
  recentWaitMs: number;
}

const WINDOW_MS = 1000;

/**
 * Watches a knex pool: how many connections are in use, how many requests wait for one and for how long.
 * The wait of the oldest waiter is the signal that matters to a client (a long queue of fast queries drains at
 * once; a short one behind a stalled server does not).
 */
export class PoolPressureGauge {
  /** Pending acquires by event id, with when they started; a Map keeps insertion order, so the first is the oldest. */
  private readonly waiting = new Map<number, number>();
  /** Longest finished wait in the current and the previous window. */
  private window = { start: 0, max: 0, previousMax: 0 };
  private readonly onRequest = (id: number) => void this.waiting.set(id, Date.now());
  private readonly onDone = (id: number) => {
    const started = this.waiting.get(id);
    this.waiting.delete(id);
    if (started !== undefined) this.noteWait(Date.now() - started);
  };
  private readonly pool: TarnPool | undefined;

  constructor(mysql: Knex) {
    this.pool = (mysql.client as { pool?: TarnPool }).pool;
    this.pool?.on('acquireRequest', this.onRequest);
    this.pool?.on('acquireSuccess', this.onDone);
    this.pool?.on('acquireFail', this.onDone);
  }

  read(): PoolPressure {
    if (!this.pool) return { max: 0, used: 0, pending: 0, oldestWaitMs: 0, recentWaitMs: 0 };
    const oldest = this.waiting.values().next();
    this.noteWait(0); // rolls the window
    return {
      max: this.pool.max,
      used: this.pool.numUsed(),
      pending: this.pool.numPendingAcquires(),
      oldestWaitMs: oldest.done ? 0 : Date.now() - oldest.value,
      recentWaitMs: Math.max(this.window.max, this.window.previousMax),
    };
  }

  private noteWait(ms: number): void {
    const now = Date.now();
    if (now - this.window.start >= WINDOW_MS) {
      // The previous window counts only if it just ended; after a quiet spell both are forgotten.
      this.window = { start: now, max: 0, previousMax: now - this.window.start < 2 * WINDOW_MS ? this.window.max : 0 };
    }
    if (ms > this.window.max) this.window.max = ms;
  }

  close(): void {
    this.pool?.removeListener('acquireRequest', this.onRequest);
    this.pool?.removeListener('acquireSuccess', this.onDone);
    this.pool?.removeListener('acquireFail', this.onDone);
    this.waiting.clear();
  }
}

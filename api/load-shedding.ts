/**
 * Admission control for the MySQL-heavy routes that create orders (POST /orders, cart checkout): when the MySQL
 * pool is saturated or the event loop lags, a new order is refused at once with 503 `overloaded` and
 * Retry-After, before it takes a connection, instead of queueing until its acquire times out (and making every
 * order behind it slower). Reads are not shed: they hold a connection for a moment and fail fast on their own
 * (MYSQL_ACQUIRE_TIMEOUT).
 *
 * No library: toobusy-js and overload-protection only watch the event loop; the pool's queue is ours to read
 * (stores/mysql/pool-pressure.ts), and Node's perf_hooks measures the loop's delay.
 */
import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';
import type { Knex } from 'knex';
import type { RequestHandler } from 'express';
import type { Config } from '../lib/config';
import { logger } from '../lib/logger';
import { PoolPressureGauge } from '../stores/mysql/pool-pressure';
import { unavailable } from './errors';

export type LoadSettings = Pick<Config, 'SHED_MYSQL_PENDING' | 'SHED_MYSQL_WAIT' | 'SHED_EVENT_LOOP_DELAY'>;

/** Why a request would be shed now, or undefined when it may go on. */
export type Overload =
  | { store: 'mysql'; reason: 'pool_queue' | 'pool_wait' | 'pool_recent_wait' }
  | { store: 'api'; reason: 'event_loop_delay' };

const SAMPLE_MS = 500;
const RESOLUTION_MS = 10;

export class LoadMonitor {
  private readonly pool: PoolPressureGauge;
  private readonly loop: IntervalHistogram | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  /** The event loop's mean delay over the last sample window, beyond the histogram's own resolution. */
  private loopDelayMs = 0;
  shed = 0;

  constructor(
    mysql: Knex,
    private readonly s: LoadSettings,
  ) {
    this.pool = new PoolPressureGauge(mysql);
    if (s.SHED_EVENT_LOOP_DELAY > 0) {
      this.loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      this.loop.enable();
      this.timer = setInterval(() => {
        this.loopDelayMs = this.loop!.count > 0 ? Math.max(0, this.loop!.mean / 1e6 - RESOLUTION_MS) : 0;
        this.loop!.reset();
      }, SAMPLE_MS).unref();
    }
  }

  /** Whether a new order should be refused now, and why. */
  overload(): Overload | undefined {
    const p = this.pool.read();
    if (p.max > 0 && p.used >= p.max && p.pending >= this.s.SHED_MYSQL_PENDING)
      return { store: 'mysql', reason: 'pool_queue' };
    if (p.oldestWaitMs >= this.s.SHED_MYSQL_WAIT) return { store: 'mysql', reason: 'pool_wait' };
    // Still no free connection, and a request that just got one (or gave up) had waited too long: the queue
    // has emptied by timing out, not by draining, so a new request would wait as long.
    if (p.max > 0 && p.used >= p.max && p.recentWaitMs >= this.s.SHED_MYSQL_WAIT)
      return { store: 'mysql', reason: 'pool_recent_wait' };
    if (this.loop && this.loopDelayMs >= this.s.SHED_EVENT_LOOP_DELAY)
      return { store: 'api', reason: 'event_loop_delay' };
    return undefined;
  }

  /** For /metrics and logs. */
  snapshot() {
    return { ...this.pool.read(), eventLoopDelayMs: Math.round(this.loopDelayMs), shed: this.shed };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.loop?.disable();
    this.pool.close();
  }
}

/** Refuses requests while the monitor says the API is overloaded (503 `overloaded`, Retry-After, details.store).
 * Answers that need no MySQL go before it (api/routes/orders.ts answerKnownSoldOut). */
export function shedWhenOverloaded(monitor: LoadMonitor): RequestHandler {
  let lastLog = 0;
  return (req, _res, next) => {
    const why = monitor.overload();
    if (!why) return next();
    monitor.shed += 1;
    if (Date.now() - lastLog > 5_000) {
      lastLog = Date.now();
      logger.warn({ ...why, ...monitor.snapshot() }, 'shedding new orders: 503 overloaded');
    }
    next(
      unavailable(
        why.store,
        'overloaded',
        why.store === 'api'
          ? 'the service is too busy right now; try again shortly'
          : 'too many orders are waiting for the database; try again shortly',
      ),
    );
  };
}

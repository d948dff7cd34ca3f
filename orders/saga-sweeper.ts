/**
 * The saga sweeper: finds orders that were reserved but whose saga never started (the API died, or Temporal
 * was unreachable, between the reservation and the start) and starts it. Starting is idempotent, so a sweep
 * racing the API, or another sweeper, changes nothing. Each row is handled on its own (one bad row never
 * blocks the others):
 *   - the payment window has closed: no saga would be allowed to charge, so the order is canceled and its stock
 *     released here (nothing was ever charged: a saga marks the row before it charges);
 *   - a workflow with its id exists but is closed (terminated before its first step): the row is marked as
 *     started, and the reconciler (orders/reconciler.ts), which looks at closed sagas of live orders, repairs it;
 *   - otherwise its saga is started.
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { sagaInputFor, startSaga } from './saga';
import { cancelAndRelease } from './cancel';
import { runPeriodically } from '../lib/periodic';
import type { PaymentMethod } from './model';
import { pastKey, type Keyset } from '../stores/mysql/keyset';

export interface UnstartedOrder {
  order_id: string;
  user_id: string;
  payment_method: PaymentMethod;
  expires_at: Date;
  created_at: Date;
}

export type SweepAction = 'started' | 'expired' | 'closed' | 'failed';

export class SagaSweeper {
  private stopTimer: (() => void) | undefined;

  constructor(
    private readonly mysql: Knex,
    private readonly redis: Redis,
    private readonly temporal: Client,
    private readonly cfg: Pick<
      Config,
      | 'TEMPORAL_TASK_QUEUE'
      | 'ORDER_PAYMENT_TIMEOUT'
      | 'LATE_PAYMENT_POLICY'
      | 'ORDER_LATE_PAYMENT_WINDOW'
      | 'ORDER_SAGA_SWEEP_AFTER'
    >,
    private readonly log: Logger,
  ) {}

  start(everyMs = 2000): void {
    this.stopTimer = runPeriodically(
      () => this.sweep(),
      everyMs,
      (err) => this.log.warn({ err }, 'saga sweeper: sweep failed, will retry'),
    );
  }

  stop(): void {
    this.stopTimer?.();
  }

  /**
   * One pass over every order that is due, a page at a time (keyset on created_at, order_id), so that rows
   * that keep failing at the head of the queue never starve the ones behind them. Returns what it did with
   * each order it found.
   */
  async sweep(pageSize = 200): Promise<Map<string, SweepAction>> {
    const dueBefore = new Date(Date.now() - this.cfg.ORDER_SAGA_SWEEP_AFTER);
    const done = new Map<string, SweepAction>();
    let after: Keyset | undefined;
    for (;;) {
      const rows = await this.duePage(dueBefore, after, pageSize);
      for (const row of rows) {
        try {
          done.set(row.order_id, await this.sweepOne(row));
        } catch (err) {
          done.set(row.order_id, 'failed');
          this.log.warn({ err, orderId: row.order_id }, 'saga sweeper: could not handle a reserved order, will retry');
        }
      }
      if (rows.length < pageSize) return done;
      const last = rows[rows.length - 1]!;
      after = { at: last.created_at, id: last.order_id };
    }
  }

  private duePage(dueBefore: Date, after: Keyset | undefined, pageSize: number): Promise<UnstartedOrder[]> {
    const q = unstartedOrders(this.mysql).where('created_at', '<', dueBefore);
    if (after) q.where(pastKey({ time: 'created_at', id: 'order_id' }, after, 'asc'));
    return q.orderBy([{ column: 'created_at' }, { column: 'order_id' }]).limit(pageSize);
  }

  private sweepOne(row: UnstartedOrder): Promise<Exclude<SweepAction, 'failed'>> {
    const { mysql, redis, temporal, cfg } = this;
    return startReservedSaga({ mysql, redis, temporal, cfg }, row, this.log.child({ from: 'saga sweeper' }));
  }
}

/** Orders reserved whose saga has not started (no saga marked the row), as startReservedSaga needs them. */
export function unstartedOrders(mysql: Knex): Knex.QueryBuilder {
  return mysql('orders')
    .select('order_id', 'user_id', 'payment_method', 'expires_at', 'created_at')
    .where({ status: 'created' })
    .whereNull('saga_started_at');
}

/** What starting a reserved order's saga needs. */
export interface SagaStarter {
  mysql: Knex;
  redis: Redis;
  temporal: Client;
  cfg: Pick<
    Config,
    'TEMPORAL_TASK_QUEUE' | 'ORDER_PAYMENT_TIMEOUT' | 'LATE_PAYMENT_POLICY' | 'ORDER_LATE_PAYMENT_WINDOW'
  >;
}

/**
 * The saga of an order reserved without one, started; or, once its payment window has closed, the order canceled
 * and its stock released in place. Idempotent, so the sweeper and the API (a buyer's cancel that found no saga) may
 * both run it for the same order at once.
 */
export async function startReservedSaga(
  s: SagaStarter,
  row: UnstartedOrder,
  log: Logger,
): Promise<Exclude<SweepAction, 'failed'>> {
  if (new Date(row.expires_at).getTime() <= Date.now()) {
    await cancelAndRelease(s.mysql, s.redis, row.order_id, 'payment_timeout', 'expired');
    log.warn({ orderId: row.order_id }, 'a reserved order expired before its saga started: canceled, stock released');
    return 'expired';
  }
  const input = await sagaInputFor(s.mysql, row, {
    paymentTimeoutMs: s.cfg.ORDER_PAYMENT_TIMEOUT,
    latePaymentPolicy: s.cfg.LATE_PAYMENT_POLICY,
    latePaymentWindowMs: s.cfg.ORDER_LATE_PAYMENT_WINDOW,
  });
  const started = await startSaga(s.temporal, s.cfg.TEMPORAL_TASK_QUEUE, input);
  if (started === 'closed') {
    await s
      .mysql('orders')
      .where({ order_id: row.order_id })
      .whereNull('saga_started_at')
      .update({ saga_started_at: s.mysql.fn.now(3) });
    log.warn({ orderId: row.order_id }, 'the saga of a reserved order is closed; left to the reconciler');
    return 'closed';
  }
  log.info({ orderId: row.order_id }, 'started (or found) the saga of a reserved order');
  return 'started';
}

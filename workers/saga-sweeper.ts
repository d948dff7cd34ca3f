/**
 * The saga sweeper: finds orders that were reserved but whose saga never started (the API died, or Temporal
 * was unreachable, between the reservation and the start) and starts it. Starting is idempotent, so a sweep
 * racing the API, or another sweeper, changes nothing.
 */
import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { startSaga } from '../orders/saga';
import { runPeriodically } from '../lib/periodic';
import type { OrderLine, PaymentMethod } from '../workflows/types';

export class SagaSweeper {
  private stopTimer: (() => void) | undefined;

  constructor(
    private readonly mysql: Knex,
    private readonly temporal: Client,
    private readonly cfg: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'ORDER_PAYMENT_TIMEOUT' | 'LATE_PAYMENT_POLICY' | 'ORDER_LATE_PAYMENT_WINDOW' | 'ORDER_SAGA_SWEEP_AFTER'>,
    private readonly log: Logger,
  ) {}

  start(everyMs = 2000): void {
    this.stopTimer = runPeriodically(() => this.sweep(), everyMs, (err) => this.log.warn({ err }, 'saga sweeper: sweep failed, will retry'));
  }

  stop(): void {
    this.stopTimer?.();
  }

  /** One pass; returns the order ids whose saga it started (or found started). */
  async sweep(): Promise<string[]> {
    const rows: { order_id: string; user_id: string; payment_method: PaymentMethod; expires_at: Date }[] = await this.mysql('orders')
      .select('order_id', 'user_id', 'payment_method', 'expires_at')
      .where({ status: 'created' })
      .whereNull('saga_started_at')
      .where('created_at', '<', new Date(Date.now() - this.cfg.ORDER_SAGA_SWEEP_AFTER))
      .orderBy('created_at')
      .limit(200);
    for (const row of rows) {
      const lines: OrderLine[] = (await this.mysql('order_items').select('item_id', 'quantity').where({ order_id: row.order_id }).orderBy('item_id')).map(
        (l: { item_id: string; quantity: number }) => ({ item_id: l.item_id, quantity: Number(l.quantity) }),
      );
      await startSaga(this.temporal, this.cfg.TEMPORAL_TASK_QUEUE, {
        orderId: row.order_id,
        userId: row.user_id,
        lines,
        paymentMethod: row.payment_method,
        paymentTimeoutMs: this.cfg.ORDER_PAYMENT_TIMEOUT,
        latePaymentPolicy: this.cfg.LATE_PAYMENT_POLICY,
        latePaymentWindowMs: this.cfg.ORDER_LATE_PAYMENT_WINDOW,
        expiresAt: new Date(row.expires_at).toISOString(),
      });
      this.log.warn({ orderId: row.order_id }, 'saga sweeper: started the saga of a reserved order');
    }
    return rows.map((r) => r.order_id);
  }
}

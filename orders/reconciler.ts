/**
 * The reconciler: compares what the gateway holds with what the orders say, and what Temporal runs with what
 * MySQL holds, and repairs any drift. Run by a Temporal Schedule (workflows/reconcile.ts), one at a time.
 *
 *   1. Live orders whose saga is closed (an operator's Terminate, a saga that failed): a `created` order past
 *      its payment window is canceled, its stock released and its payments settled; any other is resumed by
 *      a new run of its saga (the saga's first step claims it and goes on from where the order is).
 *   2. Charges of the last RECONCILE_LOOKBACK that succeeded (or are pending) but pay for no placed order
 *      (the order was canceled, is unknown, or was paid by another charge) are refunded (or voided) by charge
 *      id, and the refund recorded on the order wherever it lives. Orders whose saga still runs are left to
 *      their saga, which settles every payment before it ends.
 *   3. Orders waiting for their payment whose Redis mirror is missing (Redis restarted, or was down longer than a
 *      saga's mirror write waits) get it back (./mirror-repair.ts).
 * Every repair is idempotent (guarded transitions, gateway keys per charge), so two runs racing, or a run
 * racing a saga, change nothing twice.
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { Charge, PaymentGateway } from '../payments/gateway';
import { settleCharge, settleOrderPayments } from '../payments/settlement';
import type { OrderInput, OrderStatus, PaymentMethod } from './model';
import type { OrderArchive } from './archive';
import { cancelAndRelease } from './cancel';
import { recordExtraRefundOn, recordRefundOn } from './refunds';
import { sagaInputFor } from './saga';
import { isPaidBy, isRefundedAlready, orderPaymentFacts, PAID, type OrderPaymentFacts } from './payment-facts';
import { MIRROR_GRACE_MS, repairMirrors } from './mirror-repair';

export interface ReconcileReport {
  chargesChecked: number;
  refunded: string[];
  voided: string[];
  ordersCanceled: string[];
  sagasResumed: string[];
  /** Orders waiting for their payment whose Redis mirror was missing and is written again. */
  mirrorsWritten: string[];
  /** Drift it could not repair by itself (a person looks). */
  attention: string[];
}

export interface ReconcilerSettings {
  taskQueue: string;
  /** Charges created this long ago or less are compared. */
  lookbackMs: number;
  /** Charges and orders younger than this are left alone (their saga is about to act). */
  graceMs: number;
  paymentTimeoutMs: number;
  latePaymentPolicy: OrderInput['latePaymentPolicy'];
  latePaymentWindowMs: number;
}

export function reconcilerSettingsFrom(cfg: Config): ReconcilerSettings {
  return {
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    lookbackMs: cfg.RECONCILE_LOOKBACK,
    graceMs: cfg.RECONCILE_GRACE,
    paymentTimeoutMs: cfg.ORDER_PAYMENT_TIMEOUT,
    latePaymentPolicy: cfg.LATE_PAYMENT_POLICY,
    latePaymentWindowMs: cfg.ORDER_LATE_PAYMENT_WINDOW,
  };
}

interface OrphanRow {
  order_id: string;
  status: OrderStatus;
  expires_at: Date;
  user_id: string;
  payment_method: PaymentMethod;
}

export class Reconciler {
  constructor(
    private readonly mysql: Knex,
    private readonly redis: Redis,
    private readonly temporal: Client,
    private readonly gateway: PaymentGateway,
    private readonly archive: OrderArchive,
    private readonly settings: ReconcilerSettings,
    private readonly log: Logger,
  ) {}

  async run(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      chargesChecked: 0,
      refunded: [],
      voided: [],
      ordersCanceled: [],
      sagasResumed: [],
      mirrorsWritten: [],
      attention: [],
    };
    await this.repairOrphanedOrders(report);
    await this.repairStrayCharges(report);
    await this.repairMirrors(report);
    if (
      report.refunded.length +
        report.voided.length +
        report.ordersCanceled.length +
        report.sagasResumed.length +
        report.mirrorsWritten.length +
        report.attention.length >
      0
    ) {
      this.log.warn({ report }, 'reconciler: repaired drift');
    }
    return report;
  }

  // ---- 1. live orders without a running saga ------------------------------------------------------------------

  private async repairOrphanedOrders(report: ReconcileReport): Promise<void> {
    for (const row of await this.orphanCandidates()) {
      try {
        if (await this.sagaRunning(row.order_id)) continue;
        if (row.status === 'created' && new Date(row.expires_at).getTime() <= Date.now()) {
          await cancelAndRelease(this.mysql, this.redis, row.order_id, 'payment_timeout', 'expired');
          const settled = await settleOrderPayments(this.gateway, row.order_id, null);
          if (settled.refundedChargeIds.length > 0) await recordRefundOn(this.mysql, this.archive, row.order_id, true);
          report.ordersCanceled.push(row.order_id);
        } else {
          await this.resumeSaga(row);
          report.sagasResumed.push(row.order_id);
        }
      } catch (err) {
        report.attention.push(row.order_id);
        this.log.warn({ err, orderId: row.order_id }, 'reconciler: could not repair an order whose saga is closed');
      }
    }
  }

  /**
   * Live orders that may have lost their saga: those whose order workflow closed within the lookback (from
   * Temporal's visibility), and `created` orders well past their payment window (a saga would have decided by
   * now; this also finds an order whose workflow is gone altogether).
   */
  private async orphanCandidates(): Promise<OrphanRow[]> {
    const since = new Date(Date.now() - this.settings.lookbackMs).toISOString();
    const closed: string[] = [];
    const query = `WorkflowType = 'orderWorkflow' AND ExecutionStatus != 'Running' AND CloseTime > '${since}'`;
    for await (const wf of this.temporal.workflow.list({ query, pageSize: 500 })) {
      closed.push(wf.workflowId);
      if (closed.length >= 5000) break;
    }
    const columns = ['order_id', 'status', 'expires_at', 'user_id', 'payment_method'];
    const byId = new Map<string, OrphanRow>();
    for (let i = 0; i < closed.length; i += 500) {
      const rows: OrphanRow[] = await this.mysql('orders')
        .select(columns)
        .whereIn('order_id', closed.slice(i, i + 500))
        .whereIn('status', ['created', 'placed']);
      for (const r of rows) byId.set(r.order_id, r);
    }
    const stale: OrphanRow[] = await this.mysql('orders')
      .select(columns)
      .where({ status: 'created' })
      .whereNotNull('saga_started_at')
      .where('expires_at', '<', new Date(Date.now() - this.settings.graceMs))
      .orderBy('expires_at')
      .limit(500);
    for (const r of stale) byId.set(r.order_id, r);
    return [...byId.values()];
  }

  /** A new run of a closed saga (ALLOW_DUPLICATE: the id was closed): it claims the live order and goes on. */
  private async resumeSaga(row: OrphanRow): Promise<void> {
    const { paymentTimeoutMs, latePaymentPolicy, latePaymentWindowMs } = this.settings;
    const input = await sagaInputFor(this.mysql, row, { paymentTimeoutMs, latePaymentPolicy, latePaymentWindowMs });
    await this.temporal.workflow.start('orderWorkflow', {
      workflowId: row.order_id,
      taskQueue: this.settings.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      memo: { user_id: row.user_id, resumed_by: 'reconciler' },
    });
  }

  private async sagaRunning(orderId: string): Promise<boolean> {
    try {
      const d = await this.temporal.workflow.getHandle(orderId).describe();
      return d.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  // ---- 2. charges that pay for nothing -----------------------------------------------------------------------

  private async repairStrayCharges(report: ReconcileReport): Promise<void> {
    const createdAfter = new Date(Date.now() - this.settings.lookbackMs).toISOString();
    const graceEdge = Date.now() - this.settings.graceMs;
    let startingAfter: string | undefined;
    for (let page = 0; page < 50; page++) {
      const { charges, hasMore } = await this.gateway.listCharges({ createdAfter, limit: 100, startingAfter });
      for (const charge of charges) {
        report.chargesChecked++;
        if (Date.parse(charge.createdAt) > graceEdge) continue;
        try {
          await this.reconcileCharge(charge, report);
        } catch (err) {
          report.attention.push(charge.chargeId);
          this.log.warn(
            { err, chargeId: charge.chargeId, orderId: charge.orderId },
            'reconciler: could not settle a charge',
          );
        }
      }
      if (!hasMore || charges.length === 0) return;
      startingAfter = charges[charges.length - 1]!.chargeId;
    }
  }

  private async reconcileCharge(charge: Charge, report: ReconcileReport): Promise<void> {
    const holdsMoney =
      charge.status === 'pending' || (charge.status === 'succeeded' && charge.amountMinor > charge.amountRefundedMinor);
    if (!holdsMoney) return;
    const order = await orderPaymentFacts(this.mysql, this.archive, charge.orderId);
    if (isPaidBy(order, charge.chargeId)) return; // it pays for the order
    if (isRefundedAlready(order, charge.chargeId)) return; // given back outside the gateway, by an operator
    if (order && order.status === 'created') return; // still waiting for this very payment: its saga (or step 1) decides
    if (await this.sagaRunning(charge.orderId)) return; // the saga settles every payment before it ends
    const done = await settleCharge(this.gateway, charge);
    if (done.kind === 'refunded') {
      report.refunded.push(charge.chargeId);
      if (order) await this.recordStrayRefund(order, charge);
    } else if (done.kind === 'voided') report.voided.push(charge.chargeId);
    else if (done.kind === 'unsettled') report.attention.push(charge.chargeId);
  }

  /** A paid order keeps its payment: the stray charge was a second one, its buyer told (as the saga does). A success
   * for a canceled order that is not the charge it was once paid with came after the cancel: a late payment, as
   * the late-payment workflow and the saga record it. */
  private async recordStrayRefund(order: OrderPaymentFacts, charge: Charge): Promise<void> {
    if (PAID.includes(order.status)) {
      await recordExtraRefundOn(this.mysql, this.archive, {
        orderId: charge.orderId,
        chargeIds: [charge.chargeId],
        keptChargeId: order.chargeId,
        refundedMinor: charge.amountMinor - charge.amountRefundedMinor,
      });
      return;
    }
    const late =
      order.cancelReason === 'payment_timeout' || (order.status === 'canceled' && order.chargeId !== charge.chargeId);
    await recordRefundOn(this.mysql, this.archive, charge.orderId, late, {
      chargeId: charge.chargeId,
      amountMinor: charge.amountMinor - charge.amountRefundedMinor,
    });
  }

  // ---- 3. the Redis mirrors of orders waiting for their payment ----------------------------------------------

  /** Best effort, as the mirror is: Redis down now is no drift to report, the next run tries again. */
  private async repairMirrors(report: ReconcileReport): Promise<void> {
    try {
      const grace = Math.min(this.settings.graceMs, MIRROR_GRACE_MS);
      report.mirrorsWritten = await repairMirrors(this.mysql, this.redis, grace);
    } catch (err) {
      this.log.warn({ err }, 'reconciler: could not check the Redis mirrors; the next run tries again');
    }
  }
}

/** The reconciler's activity, built by a factory that receives the reconciler (and where to count repairs). */
import type { Reconciler, ReconcileReport } from '../orders/reconciler';
import { HOUSEKEEPING_HEARTBEAT_MS, heartbeating } from './heartbeat';

export interface RepairCounter {
  inc(labels: { kind: string }, value: number): void;
}

export function createReconcilerActivities(reconciler: Reconciler, repairs?: RepairCounter) {
  return {
    async reconcile(): Promise<ReconcileReport> {
      const report = await heartbeating(HOUSEKEEPING_HEARTBEAT_MS, () => reconciler.run());
      if (repairs) {
        repairs.inc({ kind: 'refunded' }, report.refunded.length);
        repairs.inc({ kind: 'voided' }, report.voided.length);
        repairs.inc({ kind: 'order_canceled' }, report.ordersCanceled.length);
        repairs.inc({ kind: 'saga_resumed' }, report.sagasResumed.length);
        repairs.inc({ kind: 'mirror_written' }, report.mirrorsWritten.length);
        repairs.inc({ kind: 'attention' }, report.attention.length);
      }
      return report;
    },
  };
}

export type ReconcilerActivities = ReturnType<typeof createReconcilerActivities>;

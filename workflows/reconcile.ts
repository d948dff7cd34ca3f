import { proxyActivities } from '@temporalio/workflow';
import type { ReconcilerActivities } from '../activities/reconciler-activities';
import type { ReconcileReport } from '../orders/reconciler';

const { reconcile } = proxyActivities<ReconcilerActivities>({
  startToCloseTimeout: '5m',
  // The pass heartbeats (activities/heartbeat.ts): a worker that dies mid-pass is noticed in 30 s, not 5 minutes
  // during which the Schedule (overlap SKIP) would skip every run.
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', maximumAttempts: 3 },
});

/**
 * One pass of the reconciler (orders/reconciler.ts), started by the `shopflow-reconciler` Temporal Schedule
 * (one run at a time, whatever the number of workers; visible and pausable in the Web UI). Its result is the
 * report of what it repaired.
 */
export async function reconcileWorkflow(): Promise<ReconcileReport> {
  return reconcile();
}

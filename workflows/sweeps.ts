import { proxyActivities } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/sweep-activities';

const { sweepSagas, sweepArchive } = proxyActivities<SweepActivities>({
  startToCloseTimeout: '2m',
  // The passes heartbeat (activities/heartbeat.ts): a worker that dies mid-pass is noticed in 30 s, not 2 minutes.
  heartbeatTimeout: '30s',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

/** One pass of the saga sweeper (orders/saga-sweeper.ts), started by the `shopflow-saga-sweeper` Schedule. */
export async function sagaSweepWorkflow(): Promise<Record<string, number>> {
  return sweepSagas();
}

/** One pass of the archive sweeper (orders/archive-sweeper.ts), started by the `shopflow-archive-sweeper` Schedule. */
export async function archiveSweepWorkflow(): Promise<{ archived: number }> {
  return sweepArchive();
}

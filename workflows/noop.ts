import { proxyActivities } from '@temporalio/workflow';
import type { NoopActivities } from '../activities/noop-activities';

const { noop } = proxyActivities<NoopActivities>({ startToCloseTimeout: '10s' });

/** The benchmark's ceiling: a workflow with one activity and nothing else (bench/flashsale.ts). */
export async function noopWorkflow(): Promise<void> {
  await noop();
}

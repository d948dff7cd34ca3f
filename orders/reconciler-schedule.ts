/**
 * The reconciler's Temporal Schedule: one `reconcileWorkflow` every RECONCILE_INTERVAL, never two at once
 * (overlap SKIP), whatever the number of workers that call this at start. Visible and pausable in the Web UI
 * (Schedules); an operator's pause is kept (an existing schedule's spec is updated, its state left alone).
 */
import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';

export const reconcilerScheduleId = (taskQueue: string): string => (taskQueue === 'orders' ? 'shopflow-reconciler' : `shopflow-reconciler-${taskQueue}`);

export async function ensureReconcilerSchedule(temporal: Client, taskQueue: string, everyMs: number): Promise<string> {
  const scheduleId = reconcilerScheduleId(taskQueue);
  const action = { type: 'startWorkflow' as const, workflowType: 'reconcileWorkflow', taskQueue, workflowId: `${scheduleId}-run` };
  try {
    await temporal.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: everyMs }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
      memo: { purpose: 'compares gateway charges with orders and live orders with their sagas; repairs drift' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await temporal.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec: { intervals: [{ every: everyMs }] }, action }));
  }
  return scheduleId;
}

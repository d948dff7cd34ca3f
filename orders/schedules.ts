/**
 * The platform's periodic jobs as Temporal Schedules (issue 15): the payment reconciler, the saga sweeper and
 * the archive sweeper. One schedule each per task queue, whatever the number of workers that call this at start;
 * a job never overlaps itself (overlap SKIP); each is visible and pausable in the Web UI (Schedules), and an
 * operator's pause is kept (an existing schedule's spec and action are updated, its state left alone).
 */
import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';

export interface ScheduledJob {
  /** The id on the default task queue (`shopflow-<name>`); other queues (tests) get `-<queue>` appended. */
  name: 'reconciler' | 'saga-sweeper' | 'archive-sweeper';
  workflowType: 'reconcileWorkflow' | 'sagaSweepWorkflow' | 'archiveSweepWorkflow';
  everyMs: number;
  purpose: string;
}

/** Every job's name (a test that ran a worker process deletes their schedules afterwards). */
export const SCHEDULED_JOBS: ScheduledJob['name'][] = ['reconciler', 'saga-sweeper', 'archive-sweeper'];

export const scheduleIdOf = (name: ScheduledJob['name'], taskQueue: string): string =>
  taskQueue === 'orders' ? `shopflow-${name}` : `shopflow-${name}-${taskQueue}`;
export const reconcilerScheduleId = (taskQueue: string): string => scheduleIdOf('reconciler', taskQueue);

/** Creates the job's schedule, or brings an existing one's interval and action up to date. */
export async function ensureSchedule(temporal: Client, taskQueue: string, job: ScheduledJob): Promise<string> {
  const scheduleId = scheduleIdOf(job.name, taskQueue);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: job.workflowType,
    taskQueue,
    workflowId: `${scheduleId}-run`,
    staticSummary: job.purpose,
  };
  const spec = { intervals: [{ every: job.everyMs }] };
  try {
    await temporal.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
      memo: { purpose: job.purpose },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await temporal.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
  }
  return scheduleId;
}

export async function ensureReconcilerSchedule(temporal: Client, taskQueue: string, everyMs: number): Promise<string> {
  return ensureSchedule(temporal, taskQueue, {
    name: 'reconciler',
    workflowType: 'reconcileWorkflow',
    everyMs,
    purpose: 'compares gateway charges with orders and live orders with their sagas; repairs drift',
  });
}

/** Every periodic job of the worker, with the intervals of its settings. */
export async function ensureSchedules(
  temporal: Client,
  taskQueue: string,
  every: { reconcileMs: number; sagaSweepMs: number; archiveSweepMs: number },
): Promise<string[]> {
  return [
    await ensureReconcilerSchedule(temporal, taskQueue, every.reconcileMs),
    await ensureSchedule(temporal, taskQueue, {
      name: 'saga-sweeper',
      workflowType: 'sagaSweepWorkflow',
      everyMs: every.sagaSweepMs,
      purpose: 'starts the saga of every reserved order that has none (the API died between the two)',
    }),
    await ensureSchedule(temporal, taskQueue, {
      name: 'archive-sweeper',
      workflowType: 'archiveSweepWorkflow',
      everyMs: every.archiveSweepMs,
      purpose: 'archives finished orders left in MySQL and expires old Idempotency-Keys',
    }),
  ];
}

/** Deletes every job's schedule of a task queue (a test's worker process made them; nothing polls it after). */
export async function deleteSchedules(temporal: Client, taskQueue: string): Promise<void> {
  await Promise.all(
    SCHEDULED_JOBS.map((job) =>
      temporal.schedule
        .getHandle(scheduleIdOf(job, taskQueue))
        .delete()
        .catch(() => undefined),
    ),
  );
}

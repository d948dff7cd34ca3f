/**
 * The saga's payment activities (charge, settle) run on a task queue of their own, polled by a worker of their
 * own (workers/order-worker.ts createPaymentsWorker) with its own slots: a slow or unreachable gateway fills
 * those slots, never the ones the compensations, the placing and the archive need (saga v3).
 */
export const paymentsQueueOf = (taskQueue: string): string => `${taskQueue}-payments`;

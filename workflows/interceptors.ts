/**
 * The workflow interceptors (bundled with the workflows: scripts/bundle-workflows.ts, workers/order-worker.ts):
 * OpenTelemetry spans for the saga's run, its signals, updates and the activities it schedules, continuing the
 * trace of the API request that started it. The spans leave the sandbox through the worker's `exporter` sink.
 */
export { interceptors } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';

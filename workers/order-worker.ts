/**
 * The order worker: runs the order saga's workflows and activities on the `orders` task queue. It loads the
 * pre-built workflow bundle (`npm run build` writes dist/workflow-bundle.js) and bundles on the fly only when
 * there is none.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Client as CassandraClient } from 'cassandra-driver';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { createOrderActivities } from '../activities/order-activities';
import { paymentsQueueOf } from '../workflows/task-queues';
import { createNoopActivities } from '../activities/noop-activities';
import { createReconcilerActivities, type RepairCounter } from '../activities/reconciler-activities';
import type { Reconciler } from '../orders/reconciler';
import { createSweepActivities } from '../activities/sweep-activities';
import type { SagaSweeper } from '../orders/saga-sweeper';
import type { ArchiveSweeper } from '../orders/archive-sweeper';
import type { PaymentGateway } from '../payments/gateway';
import type { SagaMetrics } from '../activities/metrics';

/** Bundles the workflows with their interceptors (when no pre-built bundle is at hand). */
export function bundleWorkflows() {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_PATH],
    logger: new DefaultLogger('WARN'),
  });
}

export const WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, '..', 'workflow-bundle.js');
export const WORKFLOWS_PATH = require.resolve('../workflows');
/** The workflow interceptors (the trace's header, carried to the activities) every bundle includes. */
export const WORKFLOW_INTERCEPTORS_PATH = require.resolve('../workflows/interceptors');

export interface OrderWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  mysql: Knex;
  redis: Redis;
  cassandra: CassandraClient;
  gateway: PaymentGateway;
  /** The shop's currency (PAYMENT_CURRENCY). */
  currency?: string;
  /** The reconciler the scheduled `reconcileWorkflow` runs, and where its repairs are counted. */
  reconciler?: Reconciler;
  /** The sweepers the scheduled `sagaSweepWorkflow` and `archiveSweepWorkflow` run. */
  sweepers?: { sagas: SagaSweeper; archive: ArchiveSweeper };
  repairs?: RepairCounter;
  /** A bundle's code (tests build it once); otherwise the file on disk, otherwise bundled now. */
  workflowBundleCode?: string;
  /** Concurrent store activities: the MySQL pool's size (each holds at most one connection at a time). */
  activitySlots?: number;
  /** Concurrent payment activities (charges and settlements: HTTP calls to the gateway). */
  paymentSlots?: number;
  /** Order outcomes, saga latency and payment failures (the worker's /metrics). */
  metrics?: SagaMetrics;
}

/** Activities continue the trace that started their workflow (its header, carried by workflows/interceptors.ts). */
const tracedActivities: WorkerOptions['interceptors'] = {
  activity: [
    (ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
  ],
};

export async function createOrderWorker(deps: OrderWorkerDeps, extra: Partial<WorkerOptions> = {}): Promise<Worker> {
  const workflowSource: Pick<WorkerOptions, 'workflowBundle'> = deps.workflowBundleCode
    ? { workflowBundle: { code: deps.workflowBundleCode } }
    : existsSync(WORKFLOW_BUNDLE_PATH)
      ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
      : { workflowBundle: await bundleWorkflows() };
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    ...workflowSource,
    activities: {
      ...createOrderActivities(deps),
      ...createNoopActivities(),
      ...(deps.reconciler ? createReconcilerActivities(deps.reconciler, deps.repairs) : {}),
      ...(deps.sweepers ? createSweepActivities(deps.sweepers.sagas, deps.sweepers.archive) : {}),
    },
    // Tracing: activities continue the trace of the request that started the workflow.
    interceptors: tracedActivities,
    maxConcurrentActivityTaskExecutions: deps.activitySlots ?? 30,
    maxConcurrentLocalActivityExecutions: deps.activitySlots ?? 30,
    maxConcurrentWorkflowTaskExecutions: 100,
    // A dead worker's sticky tasks move to the shared queue after this: a restarted or other worker takes the
    // sagas over within seconds, well inside a payment window.
    stickyQueueScheduleToStartTimeout: '3s',
    ...extra,
  });
}

/**
 * The payments worker (saga v3): the charge and the settlement on their own task queue with their own slots, so a
 * slow gateway never starves the store activities (compensations, placing, archiving) of the order worker.
 */
export async function createPaymentsWorker(deps: OrderWorkerDeps, extra: Partial<WorkerOptions> = {}): Promise<Worker> {
  const { chargePayment, settlePayment, refundPayment } = createOrderActivities(deps);
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: paymentsQueueOf(deps.taskQueue),
    activities: { chargePayment, settlePayment, refundPayment },
    interceptors: tracedActivities,
    maxConcurrentActivityTaskExecutions: deps.paymentSlots ?? 100,
    ...extra,
  });
}

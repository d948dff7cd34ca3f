/**
 * The platform in one test process, on the real servers of the native stack: the API (on a free port), the
 * payment gateway simulator, and an order worker on a task queue of its own (so tests never share sagas with
 * a running dev worker). Settings come from the environment (`npm test` points them at the test stores) with
 * per-test overrides such as short payment timers.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { loadConfig, Config } from '../../lib/config';
import { connectStores, Stores } from '../../stores';
import { createApp } from '../../api/app';
import { buildApiDeps } from '../../api/build';
import type { ApiDeps } from '../../api/deps';
import { createGatewaySimulator, GatewaySimulator } from '../../payments/simulator';
import { HttpPaymentGateway, PaymentGateway } from '../../payments/gateway';
import { createOrderWorker, createPaymentsWorker } from '../../workers/order-worker';
import { SagaSweeper } from '../../orders/saga-sweeper';
import { ArchiveSweeper } from '../../orders/archive-sweeper';
import { OutboxRelay } from '../../outbox/relay';
import { KafkaTopicDirectory } from '../../stores/kafka/topic-directory';
import { logger } from '../../lib/logger';
import { closeAnalyticsOutbox } from '../../analytics/outbox-buffer';
import { OrderArchive } from '../../orders/archive';
import { Reconciler, reconcilerSettingsFrom } from '../../orders/reconciler';

let runtimeInstalled = false;
function quietTemporalRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    /* already installed by another test file in this process */
  }
}

export interface Platform {
  cfg: Config;
  baseUrl: string;
  deps: ApiDeps & { stores: Stores };
  stores: Stores;
  sim: GatewaySimulator;
  gateway: PaymentGateway;
  worker: Worker | undefined;
  /** The payments worker beside it (the charge and the settlement on their own task queue). */
  paymentsWorker: Worker | undefined;
  relay: OutboxRelay | undefined;
  /** The reconciler the worker's scheduled workflow runs (tests call `run()` directly). */
  reconciler: Reconciler;
  /** Starts (again) the in-process worker, e.g. after a test stopped it. */
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  env?: Record<string, string>;
  /** Run an order worker in this process (default true). */
  worker?: boolean;
  /** Run the outbox relay (default false: tests that need Kafka delivery turn it on). */
  relay?: boolean;
  /** Connect the stores as the API process does: start even when one is down (stores/index.ts). */
  failFast?: boolean;
}

export async function startPlatform(opts: PlatformOptions = {}): Promise<Platform> {
  quietTemporalRuntime();
  const taskQueue = `test-${randomUUID().slice(0, 8)}`;
  const base = loadConfig({
    ...process.env,
    TEMPORAL_TASK_QUEUE: taskQueue,
    RATE_LIMIT_ORDERS: '100000',
    GATEWAY_LATENCY: '5ms',
    // Rate-limit counters of this platform only (Redis is shared by every test process).
    RATE_LIMIT_REDIS_PREFIX: `ratelimit:${taskQueue}:`,
    // Tests place many orders per buyer: purchase limits out of the way unless a test sets them.
    PURCHASE_MAX_UNPAID_ORDERS: '100000',
    PURCHASE_MAX_UNITS_PER_ITEM: '1000000',
    PURCHASE_EXPIRED_COOLDOWN: '0',
    ...opts.env,
  });
  const stores = await connectStores(base, { failFast: opts.failFast });

  // API first (the simulator needs its webhook URL), then the simulator, then the worker (needs the gateway).
  const cfgHolder: { cfg: Config } = { cfg: base };
  const deps = await buildApiDeps(base, stores);
  const server: Server = await new Promise((resolve) => {
    const s = createApp(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const simDbPath = join(tmpdir(), `shopflow-gateway-${randomUUID()}.sqlite`);
  const sim = createGatewaySimulator({
    dbPath: simDbPath,
    webhookRetryBaseMs: 100,
    latencyMs: base.GATEWAY_LATENCY,
    webhookUrl: `${baseUrl}/payments/webhook`,
    webhookSecret: base.PAYMENT_WEBHOOK_SECRET,
    lateSuccessAfterExpiryMs: base.GATEWAY_LATE_SUCCESS_DELAY ?? 300,
  });
  const simPort = await sim.listen(0);
  const gateway = new HttpPaymentGateway(`http://127.0.0.1:${simPort}`, 2000);
  cfgHolder.cfg = { ...base, PAYMENT_GATEWAY_URL: `http://127.0.0.1:${simPort}` };

  const reconciler = new Reconciler(
    stores.mysql,
    stores.redis,
    stores.temporal,
    gateway,
    new OrderArchive(stores.cassandra, stores.mysql),
    reconcilerSettingsFrom(cfgHolder.cfg),
    logger,
  );
  let connection: NativeConnection | undefined;
  let running: Promise<void> | undefined;
  /** The relay's view of the cluster's topics (when the relay runs), closed with the platform. */
  let relayTopics: KafkaTopicDirectory | undefined;
  const platform: Platform = {
    cfg: cfgHolder.cfg,
    baseUrl,
    deps,
    stores,
    sim,
    gateway,
    worker: undefined,
    paymentsWorker: undefined,
    relay: undefined,
    reconciler,
    async startWorker() {
      connection ??= await NativeConnection.connect({ address: base.TEMPORAL_ADDRESS });
      const workerDeps = {
        connection,
        namespace: base.TEMPORAL_NAMESPACE,
        taskQueue,
        mysql: stores.mysql,
        redis: stores.redis,
        cassandra: stores.cassandra,
        gateway,
        currency: base.PAYMENT_CURRENCY,
        reconciler,
        sweepers: {
          sagas: new SagaSweeper(stores.mysql, stores.redis, stores.temporal, cfgHolder.cfg, logger),
          archive: new ArchiveSweeper(
            stores.mysql,
            new OrderArchive(stores.cassandra, stores.mysql),
            cfgHolder.cfg.ORDER_ARCHIVE_SWEEP_AFTER,
            logger,
          ),
        },
      };
      const worker = await createOrderWorker(workerDeps, { shutdownGraceTime: '1s' });
      const paymentsWorker = await createPaymentsWorker(workerDeps, { shutdownGraceTime: '1s' });
      platform.worker = worker;
      platform.paymentsWorker = paymentsWorker;
      running = Promise.all([worker.run(), paymentsWorker.run()]).then(() => undefined);
      // A first workflow loads the bundle into the worker: tests with short payment windows then time the
      // saga's decisions, not a cold start.
      await stores.temporal.workflow.execute('noopWorkflow', { taskQueue, workflowId: `warm-${randomUUID()}` });
    },
    async stopWorker() {
      for (const w of [platform.worker, platform.paymentsWorker]) if (w && w.getState() === 'RUNNING') w.shutdown();
      await running?.catch(() => undefined);
      platform.worker = undefined;
      platform.paymentsWorker = undefined;
    },
    async stop() {
      await platform.stopWorker();
      await platform.relay?.stop();
      await relayTopics?.close();
      await sim.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(simDbPath + suffix, { force: true });
      deps.load.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await connection?.close();
      await closeAnalyticsOutbox(stores.mysql);
      await stores.close();
    },
  };
  if (opts.worker !== false) await platform.startWorker();
  if (opts.relay) {
    relayTopics = new KafkaTopicDirectory(stores.kafka);
    platform.relay = new OutboxRelay(stores.mysql, stores.producer, logger, { intervalMs: 50, topics: relayTopics });
    platform.relay.start();
  }
  return platform;
}

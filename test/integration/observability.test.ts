/**
 * Metrics and traces (issue 15), end to end on the stack's Prometheus and Jaeger: the order worker and the
 * notifier run as real processes (dist/workers/*.js, as `npm start` runs them) with tracing on; the API runs in
 * this process with tracing on. One order then shows up as the new counters on the metrics endpoints, the SDK's
 * worker metrics, one trace in Jaeger from the API request through the workflow, an activity, the outbox relay
 * and a Kafka consumer, and Prometheus scraping the processes.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { initTracing, Tracing } from '../../telemetry/tracing';
import { loadConfig } from '../../lib/config';
import { deleteSchedules } from '../../orders/schedules';

const DIST = path.resolve(__dirname, '../../dist/workers');
const JAEGER_URL = process.env.JAEGER_URL ?? 'http://127.0.0.1:16686';
const PROMETHEUS_URL = process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
const TARGETS_DIR = process.env.PROMETHEUS_TARGETS_DIR ?? path.resolve(__dirname, '../../.stack/prometheus/targets');
const service = `shopflow-test-${randomUUID().slice(0, 8)}`;
const targetsFile = path.join(TARGETS_DIR, `${service}.json`);

let p: Platform;
let tracing: Tracing;
let buyer: TestUser;
const procs: ChildProcess[] = [];
const ports = { worker: 0, sdk: 0, notifier: 0 };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
  });
}

/** Starts dist/workers/NAME.js and resolves once it logged `ready` (it logs at info for this). */
function startProcess(name: string, env: Record<string, string>, ready: string): Promise<void> {
  const child = spawn(process.execPath, [path.join(DIST, `${name}.js`)], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-4000);
      if (out.includes(ready)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
  });
}

const text = async (url: string, headers: Record<string, string> = {}) => (await fetch(url, { headers })).text();
const json = async (url: string) => (await fetch(url)).json();
/** The value of one sample line (`name{labels} value`) of a Prometheus text page; 0 when absent. */
function sample(page: string, name: string, labels: Record<string, string> = {}): number {
  const line = page
    .split('\n')
    .find(
      (l) =>
        l.startsWith(name) &&
        (l[name.length] === '{' || l[name.length] === ' ') &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

beforeAll(async () => {
  const cfg = loadConfig({ ...process.env, OTEL_SERVICE_NAME: service, OTEL_SDK_DISABLED: 'false' });
  tracing = initTracing(cfg, 'api'); // this process's API: the request's span and the saga's start
  p = await startPlatform({ worker: false, env: { ORDER_PAYMENT_TIMEOUT: '20s' } });
  buyer = await makeUser(p.stores.mysql, p.deps.tokens);
  Object.assign(ports, { worker: await freePort(), sdk: await freePort(), notifier: await freePort() });
  const common = {
    OTEL_SERVICE_NAME: service,
    OTEL_SDK_DISABLED: 'false',
    TEMPORAL_TASK_QUEUE: p.cfg.TEMPORAL_TASK_QUEUE,
    PAYMENT_GATEWAY_URL: p.cfg.PAYMENT_GATEWAY_URL,
  };
  await Promise.all([
    startProcess(
      'main',
      { ...common, WORKER_METRICS_PORT: String(ports.worker), TEMPORAL_METRICS_PORT: String(ports.sdk) },
      'order worker running',
    ),
    startProcess(
      'notifier',
      {
        ...common,
        NOTIFIER_METRICS_PORT: String(ports.notifier),
        NOTIFICATIONS_GROUP: `${service}-notifier`,
        NOTIFY_CHANNEL: 'none',
      },
      'notifier running',
    ),
  ]);
}, 120_000);

afterAll(async () => {
  rmSync(targetsFile, { force: true });
  await Promise.all(
    procs.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r).kill('SIGTERM'))),
  );
  // The worker process made the Schedules for this test's task queue: nothing polls it after us.
  if (p) await deleteSchedules(p.stores.temporal, p.cfg.TEMPORAL_TASK_QUEUE);
  await p?.stop();
  await tracing?.shutdown();
  // The OpenTelemetry globals outlive this file in Jest's process: later files run untraced, as before.
  trace.disable();
  propagation.disable();
  context.disable();
}, 60_000);

describe('one paid order', () => {
  const traceId = randomBytes(16).toString('hex');
  let orderId: string;

  beforeAll(async () => {
    const item = await makeItem(p.stores.mysql, { stock: 3 });
    // The caller's trace context: the API continues it, so the whole order is under this trace id.
    const r = await call(p.baseUrl, 'POST', '/orders', {
      token: buyer.token,
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 1 }], payment_method: 'pm_card_visa' },
    });
    expect(r.status).toBe(201);
    orderId = r.body.order_id;
    await eventually(
      async () => (await call(p.baseUrl, 'GET', `/orders/${orderId}`, { token: buyer.token })).body.status === 'placed',
      30_000,
      200,
    );
  }, 60_000);

  test('the worker counts the outcome, the saga latency and the relay; the SDK serves its worker metrics', async () => {
    const page = await eventually(
      async () => {
        const t = await text(`http://127.0.0.1:${ports.worker}/metrics`);
        return sample(t, 'shopflow_outbox_published_total', { topic: 'shopflow.orders' }) > 0 && t;
      },
      20_000,
      250,
    );
    expect(sample(page, 'shopflow_order_outcomes_total', { outcome: 'placed', reason: 'paid' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(sample(page, 'shopflow_saga_duration_seconds_count', { outcome: 'placed' })).toBeGreaterThanOrEqual(1);
    expect(sample(page, 'shopflow_outbox_relay_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(page).toMatch(/^shopflow_outbox_backlog \d+/m);

    const sdk = await text(`http://127.0.0.1:${ports.sdk}/metrics`);
    for (const name of [
      'temporal_workflow_task_schedule_to_start_latency',
      'temporal_activity_execution_latency',
      'temporal_worker_task_slots_available',
      'temporal_sticky_cache_size',
    ]) {
      expect([name, sdk.includes(name)]).toEqual([name, true]);
    }
  });

  test('the notifier counts what it consumed, and how late', async () => {
    const page = await eventually(
      async () => {
        const t = await text(`http://127.0.0.1:${ports.notifier}/metrics`);
        return (
          sample(t, 'shopflow_consumer_messages_total', { consumer: 'notifier', topic: 'shopflow.orders' }) > 0 && t
        );
      },
      20_000,
      250,
    );
    expect(sample(page, 'shopflow_consumer_lag_seconds_count', { consumer: 'notifier' })).toBeGreaterThan(0);
  });

  test("the order is one trace in Jaeger: the API request, the saga's activities, the relay and the notifier", async () => {
    // The buyer cancels (refund, archive), so the trace holds the saga's last activities too.
    expect((await call(p.baseUrl, 'POST', `/orders/${orderId}/cancel`, { token: buyer.token })).status).toBe(200);
    type JaegerTrace = {
      spans: { spanID: string; operationName: string; processID: string }[];
      processes: Record<string, { serviceName: string }>;
    };
    const wanted = [
      `${service}-api:POST /orders`,
      `${service}-api:StartWorkflow:orderWorkflow`,
      `${service}-worker:RunActivity:claimOrder`,
      `${service}-worker:RunActivity:markPlacedAndUnmirror`,
      `${service}-worker:RunActivity:archiveOrder`,
      `${service}-worker:shopflow.orders publish`,
      `${service}-notifier:shopflow.orders process`,
    ];
    const seen = await eventually(
      async () => {
        const body = (await json(`${JAEGER_URL}/api/traces/${traceId}`)) as { data?: JaegerTrace[] };
        const t = body.data?.[0];
        if (!t) return false;
        const names = new Set(t.spans.map((s) => `${t.processes[s.processID]!.serviceName}:${s.operationName}`));
        return wanted.every((w) => names.has(w)) && names;
      },
      45_000,
      500,
    );
    expect([...seen]).toEqual(expect.arrayContaining(wanted));
    // Found by service too, as an operator would search the UI.
    const byService = (await json(`${JAEGER_URL}/api/traces?service=${service}-api&limit=20&lookback=1h`)) as {
      data: { traceID: string }[];
    };
    expect(byService.data.map((t) => t.traceID)).toContain(traceId);
  }, 60_000);
});

test('a declined payment and a refused buyer are counted', async () => {
  const item = await makeItem(p.stores.mysql, { stock: 1 });
  const declined = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 1 }], payment_method: 'pm_card_chargeDeclined' },
  });
  expect(declined.status).toBe(201);
  const refused = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: item, quantity: 1 }] },
  });
  expect(refused.status).toBe(409);
  const page = await eventually(
    async () => {
      const t = await text(`http://127.0.0.1:${ports.worker}/metrics`);
      return sample(t, 'shopflow_order_outcomes_total', { outcome: 'canceled', reason: 'payment_declined' }) > 0 && t;
    },
    20_000,
    250,
  );
  expect(sample(page, 'shopflow_payment_failures_total', { reason: 'card_declined' })).toBeGreaterThanOrEqual(1);
  // The API's /metrics answers Prometheus's bearer (METRICS_TOKEN) as it answers an admin.
  const api = await text(`${p.baseUrl}/metrics`, { authorization: `Bearer ${p.cfg.METRICS_TOKEN}` });
  expect(sample(api, 'shopflow_stock_refusals_total', { route: 'orders' })).toBeGreaterThanOrEqual(1);
  expect(
    (await call(p.baseUrl, 'GET', '/metrics', { headers: { authorization: 'Bearer not-the-token-at-all' } })).status,
  ).toBe(401);
}, 60_000);

test('Prometheus scrapes the processes it is pointed at', async () => {
  const targets = [`127.0.0.1:${ports.worker}`, `127.0.0.1:${ports.sdk}`, `127.0.0.1:${ports.notifier}`];
  writeFileSync(targetsFile, JSON.stringify([{ targets, labels: { job: service } }]));
  type Target = { labels: { job: string; instance: string }; health: string };
  const up = await eventually(
    async () => {
      const body = (await json(`${PROMETHEUS_URL}/api/v1/targets?state=active`)) as {
        data: { activeTargets: Target[] };
      };
      const ours = body.data.activeTargets.filter((t) => t.labels.job === service);
      return ours.length === targets.length && ours.every((t) => t.health === 'up') && ours;
    },
    45_000,
    1000,
  );
  expect(up.map((t) => t.labels.instance).sort()).toEqual([...targets].sort());
  // And its queries see them (the dashboard's source).
  const q = (await json(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(`up{job="${service}"}`)}`)) as {
    data: { result: unknown[] };
  };
  expect(q.data.result).toHaveLength(3);
  // The dashboard (stack/prometheus/consoles/shopflow.html, a Go template rendered by Prometheus) renders: a
  // template that does not parse is answered with a one-line error instead.
  const dashboard = await text(`${PROMETHEUS_URL}/consoles/shopflow.html`);
  expect(dashboard).not.toMatch(/error (parsing|executing) template/);
  expect(dashboard).toContain('Order outcomes (saga)');
  expect(dashboard).toContain('Scrape targets');
}, 60_000);

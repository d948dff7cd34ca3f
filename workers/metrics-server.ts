/**
 * The worker process's Prometheus endpoint: GET /metrics on WORKER_METRICS_PORT (loopback), with the
 * reconciler's repairs and Node's defaults.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly repairs = new Counter({
    name: 'shopflow_reconciler_repairs_total',
    help: 'Drift the reconciler repaired (refunded, voided, order_canceled, saga_resumed) or left for a person (attention)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private server: Server | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  listen(port: number, host = '127.0.0.1'): Promise<void> {
    if (port === 0) return Promise.resolve();
    this.server = createServer(async (req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': this.registry.contentType }).end(await this.registry.metrics());
    });
    return new Promise((resolve, reject) => this.server!.once('error', reject).listen(port, host, () => resolve()));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A process's Prometheus endpoint: GET /metrics on a loopback port (0: none), with Node's default metrics. */
import { createServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';

export class MetricsServer {
  readonly registry = new Registry();
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
      try {
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(await this.registry.metrics());
      } catch {
        res.writeHead(500).end();
      }
    });
    return new Promise((resolve, reject) => this.server!.once('error', reject).listen(port, host, () => resolve()));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

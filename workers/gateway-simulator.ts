/** Entry point of the simulated payment gateway service (payments/simulator/): its ledger is the SQLite file
 * PAYMENT_GATEWAY_DB, so a restart (even after SIGKILL) loses no charge, refund or pending webhook. */
import { resolve } from 'node:path';
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createGatewaySimulator } from '../payments/simulator';

const cfg = config();
const dbPath = resolve(cfg.PAYMENT_GATEWAY_DB);
const sim = createGatewaySimulator({
  latencyMs: cfg.GATEWAY_LATENCY,
  webhookUrl: cfg.PAYMENT_WEBHOOK_URL,
  webhookSecret: cfg.PAYMENT_WEBHOOK_SECRET,
  lateSuccessAfterExpiryMs: cfg.GATEWAY_LATE_SUCCESS_DELAY,
  webhookRetryBaseMs: cfg.GATEWAY_WEBHOOK_RETRY_BASE,
  dbPath,
});
sim
  .listen(cfg.PAYMENT_GATEWAY_PORT)
  .then((port) => logger.info({ port, dbPath }, 'payment gateway simulator listening'));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void sim.close().then(() => process.exit(0)));

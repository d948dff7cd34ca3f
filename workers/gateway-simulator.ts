/** Entry point of the simulated payment gateway service (payments/simulator.ts). */
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createGatewaySimulator } from '../payments/simulator';

const cfg = config();
const sim = createGatewaySimulator({
  latencyMs: cfg.GATEWAY_LATENCY,
  webhookUrl: cfg.PAYMENT_WEBHOOK_URL,
  webhookSecret: cfg.PAYMENT_WEBHOOK_SECRET,
  lateSuccessAfterExpiryMs: cfg.GATEWAY_LATE_SUCCESS_DELAY,
});
sim.listen(cfg.PAYMENT_GATEWAY_PORT).then((port) => logger.info({ port }, 'payment gateway simulator listening'));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void sim.close().then(() => process.exit(0)));

/** The API process: builds the app on the real stores, listens on PORT, and shuts down gracefully. */
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createApp } from './app';
import { buildApiDeps } from './build';
import { answerClientErrors } from './errors';
import { applyHttpTimeouts } from './http-timeouts';
import { closeAnalyticsOutbox } from '../analytics/outbox-buffer';
import { initTracing } from '../telemetry/tracing';

async function main(): Promise<void> {
  const cfg = config();
  const tracing = initTracing(cfg, 'api');
  const deps = await buildApiDeps(cfg);
  const server = createApp(deps).listen({ port: cfg.PORT, backlog: cfg.API_LISTEN_BACKLOG }, () => {
    logger.info(
      { port: cfg.PORT, docs: `http://127.0.0.1:${cfg.PORT}/docs`, temporalUi: cfg.TEMPORAL_UI_URL },
      'shopflow API listening',
    );
  });
  answerClientErrors(server);
  applyHttpTimeouts(server, cfg);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    deps.load.close();
    // Requests in flight finish, then the buffered analytics events are written, then the stores close.
    server.close(
      () =>
        void closeAnalyticsOutbox(deps.stores.mysql).finally(() =>
          Promise.allSettled([deps.stores.close(), tracing.shutdown()]).then(() => process.exit(0)),
        ),
    );
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  logger.fatal({ err }, 'API failed to start');
  process.exit(1);
});

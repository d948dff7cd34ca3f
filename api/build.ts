/** Builds the API's dependencies from the configuration: stores, services, tokens, metrics. */
import type { Config } from '../lib/config';
import { checkReadiness, connectStores, Stores } from '../stores';
import { OrderService } from '../orders/service';
import { OrderArchive } from '../orders/archive';
import { ensureAdmin } from '../users/repository';
import { AuthStates } from '../users/auth-states';
import { TokenService } from './auth';
import type { ApiDeps } from './deps';
import { ApiMetrics } from './metrics';
import { newRegistry } from './openapi';
import { LoadMonitor } from './load-shedding';
import { classifyStoreError } from '../stores/errors';
import { logger } from '../lib/logger';
import { analyticsOutbox } from '../analytics/outbox-buffer';

export async function buildApiDeps(cfg: Config, stores?: Stores): Promise<ApiDeps & { stores: Stores }> {
  const s = stores ?? (await connectStores(cfg, { failFast: true }));
  const authStates = new AuthStates(s.mysql, s.redis, cfg.AUTH_CACHE_TTL);
  await ensureAdminWhenReachable(s, cfg, authStates);
  analyticsOutbox(s.mysql, cfg); // the group-committed analytics events, with this configuration
  return {
    cfg,
    stores: s,
    tokens: new TokenService(cfg.JWT_SECRET, Math.floor(cfg.JWT_TTL / 1000), cfg.AUTH_TOKEN_CACHE_MAX),
    authStates,
    metrics: new ApiMetrics(),
    orders: new OrderService(s.mysql, s.redis, s.temporal, new OrderArchive(s.cassandra, s.mysql), cfg),
    registry: newRegistry(),
    readiness: () => checkReadiness(s),
    load: new LoadMonitor(s.mysql, cfg),
  };
}

/** The first admin is made at start; if MySQL is down then, the API starts anyway (answering 503 where MySQL is
 * needed) and makes the admin once MySQL answers. */
async function ensureAdminWhenReachable(s: Stores, cfg: Config, authStates: AuthStates): Promise<void> {
  const attempt = async () => {
    const takenOver = await ensureAdmin(s.mysql, cfg.ADMIN_EMAIL, cfg.ADMIN_PASSWORD);
    if (takenOver) await authStates.refresh(takenOver); // the squatter's tokens die at once
  };
  try {
    await attempt();
  } catch (err) {
    if (!classifyStoreError(err)) throw err;
    logger.warn({ err }, 'MySQL is unavailable at start: the admin account is made once it answers');
    const retry = (): void => {
      setTimeout(
        () =>
          void attempt().catch((e) =>
            classifyStoreError(e) ? retry() : logger.error({ err: e }, 'admin account not made'),
          ),
        5_000,
      ).unref();
    };
    retry();
  }
}

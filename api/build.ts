/** Builds the API's dependencies from the configuration: stores, services, tokens, metrics. */
import type { Config } from '../lib/config';
import { checkReadiness, connectStores, Stores } from '../stores';
import { OrderService } from '../orders/service';
import { OrderArchive } from '../orders/archive';
import { ensureAdmin } from '../users/repository';
import { TokenService } from './auth';
import type { ApiDeps } from './deps';
import { ApiMetrics } from './metrics';
import { newRegistry } from './openapi';

export async function buildApiDeps(cfg: Config, stores?: Stores): Promise<ApiDeps & { stores: Stores }> {
  const s = stores ?? (await connectStores(cfg));
  await ensureAdmin(s.mysql, cfg.ADMIN_EMAIL, cfg.ADMIN_PASSWORD);
  return {
    cfg,
    stores: s,
    tokens: new TokenService(cfg.JWT_SECRET, Math.floor(cfg.JWT_TTL / 1000)),
    metrics: new ApiMetrics(),
    orders: new OrderService(s.mysql, s.redis, s.temporal, new OrderArchive(s.cassandra, s.mysql), cfg),
    registry: newRegistry(),
    readiness: () => checkReadiness(s),
  };
}

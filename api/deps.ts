import type { Config } from '../lib/config';
import type { Stores, ReadinessReport } from '../stores';
import type { TokenService } from './auth';
import type { ApiMetrics } from './metrics';
import type { OrderService } from '../orders/service';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { LoadMonitor } from './load-shedding';
import type { AuthStates } from '../users/auth-states';

/** What every router gets: the configuration, the stores, and the services built on them. */
export interface ApiDeps {
  cfg: Config;
  stores: Omit<Stores, 'close'>;
  tokens: TokenService;
  /** The account state each token is checked against (Redis-shared, MySQL the authority). */
  authStates: AuthStates;
  metrics: ApiMetrics;
  orders: OrderService;
  registry: OpenAPIRegistry;
  readiness: () => Promise<ReadinessReport>;
  /** Admission control for new orders (api/load-shedding.ts). */
  load: LoadMonitor;
}

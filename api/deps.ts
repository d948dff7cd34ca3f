import type { Config } from '../lib/config';
import type { Stores, ReadinessReport } from '../stores';
import type { TokenService } from './auth';
import type { ApiMetrics } from './metrics';
import type { OrderService } from '../orders/service';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { LoadMonitor } from './load-shedding';

/** What every router gets: the configuration, the stores, and the services built on them. */
export interface ApiDeps {
  cfg: Config;
  stores: Omit<Stores, 'close'>;
  tokens: TokenService;
  metrics: ApiMetrics;
  orders: OrderService;
  registry: OpenAPIRegistry;
  readiness: () => Promise<ReadinessReport>;
  /** Admission control for new orders (api/load-shedding.ts). */
  load: LoadMonitor;
}

import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Client as CassandraClient } from 'cassandra-driver';
import type { PaymentGateway } from '../payments/gateway';
import type { OrderArchive } from '../orders/archive';
import type { SagaMetrics } from './metrics';

/** The clients the order saga's activities are built with (activities/order-activities.ts). */
export interface OrderActivityDeps {
  mysql: Knex;
  redis: Redis;
  gateway: PaymentGateway;
  cassandra: CassandraClient;
  /** ISO 4217 code of the shop's prices (PAYMENT_CURRENCY). */
  currency?: string;
  /** Where outcomes, saga latency and payment failures are counted (the worker's /metrics). */
  metrics?: SagaMetrics;
}

/** The same, with the archive the factories share. */
export type OrderActivityContext = OrderActivityDeps & { archive: OrderArchive };

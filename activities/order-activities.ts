/**
 * The order saga's activities, built by factories that receive their clients (so tests can hand them fakes or
 * real stores), one per concern. Each one is idempotent: Temporal may run it again after a lost answer.
 */
import { OrderArchive } from '../orders/archive';
import type { OrderActivityDeps } from './deps';
import { createOrderStateActivities } from './order-state-activities';
import { createPaymentActivities } from './payment-activities';
import { createFulfilmentActivities } from './fulfilment-activities';
import { createOrderRecordActivities } from './order-record-activities';

export type { OrderActivityDeps } from './deps';

/** Every activity of the order saga, by the names its histories use. */
export function createOrderActivities(deps: OrderActivityDeps) {
  const context = { ...deps, archive: new OrderArchive(deps.cassandra, deps.mysql) };
  return {
    ...createOrderStateActivities(context),
    ...createFulfilmentActivities(context),
    ...createOrderRecordActivities(context),
    ...createPaymentActivities(context),
  };
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;

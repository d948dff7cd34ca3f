import type { Knex } from 'knex';
import * as core from './migrations/001_core';
import * as sagaStarted from './migrations/002_saga_started';
import * as noItemFk from './migrations/003_order_items_no_item_fk';
import * as orderChargeId from './migrations/004_order_charge_id';
import * as catalog from './migrations/010_catalog';
import * as notifications from './migrations/020_notifications';
import * as notificationsByOrder from './migrations/021_notifications_by_order';
import * as itemListing from './migrations/030_item_listing';
import * as shippingAddresses from './migrations/031_shipping_addresses';
import * as security from './migrations/040_security';
import * as outboxTraceContext from './migrations/045_outbox_trace_context';
import * as shipments from './migrations/050_shipments';
import * as takeStockAndCommit from './migrations/060_take_stock_and_commit';
import * as takeStockProcedure from './migrations/061_take_stock';

/** The migrations in order. Listed in code (not loaded from a folder) so they run the same from ts-jest and
 * from the compiled dist/. */
const MIGRATIONS: Record<string, Knex.Migration> = {
  '001_core': core,
  '002_saga_started': sagaStarted,
  '003_order_items_no_item_fk': noItemFk,
  '004_order_charge_id': orderChargeId,
  '010_catalog': catalog,
  '020_notifications': notifications,
  '021_notifications_by_order': notificationsByOrder,
  '030_item_listing': itemListing,
  '031_shipping_addresses': shippingAddresses,
  '040_security': security,
  '045_outbox_trace_context': outboxTraceContext,
  '050_shipments': shipments,
  '060_take_stock_and_commit': takeStockAndCommit,
  '061_take_stock': takeStockProcedure,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};

/** Brings the schema up to date; a no-op when it already is. */
export async function migrateMysql(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

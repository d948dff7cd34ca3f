import type { Knex } from 'knex';

/**
 * Per-seller shipments (issue 16) and who did what (issue 15).
 * - `shipments`: one per seller of an order, created when that seller ships its lines, delivered on its own.
 *   The order is in_transit once one left and delivered once every seller's shipment is delivered.
 * - `order_status_history.actor`: who moved the order (a seller, an admin, the saga, the customer); `reason`
 *   grows to hold an operator's note (an extended window, a manual refund's reference).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('shipments', (t) => {
    t.string('order_id', 50).notNullable().references('order_id').inTable('orders').onDelete('CASCADE');
    t.string('supplier_id', 50).notNullable();
    t.string('carrier', 100).notNullable();
    t.string('tracking_number', 100).notNullable();
    t.string('status', 20).notNullable();
    t.timestamp('shipped_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('delivered_at', { precision: 3 }).nullable();
    t.primary(['order_id', 'supplier_id']);
  });
  await knex.schema.alterTable('order_status_history', (t) => {
    t.string('actor', 255).nullable();
    t.string('reason', 255).nullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('order_status_history', (t) => {
    t.dropColumn('actor');
  });
  await knex.schema.dropTableIfExists('shipments');
}

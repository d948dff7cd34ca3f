import type { Knex } from 'knex';

/** The gateway charge that paid for an order: refunds go to that charge by its id, and the reconciler tells the
 * charge that pays for a placed order from any other charge of it. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.string('charge_id', 100).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('charge_id');
  });
}

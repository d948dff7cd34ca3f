import type { Knex } from 'knex';

/** The notifier looks up which sellers were told of an order (to tell them of its cancel): by order id. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notifications', (t) => {
    t.index(['order_id', 'audience'], 'notifications_order_audience');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notifications', (t) => {
    t.dropIndex(['order_id', 'audience'], 'notifications_order_audience');
  });
}

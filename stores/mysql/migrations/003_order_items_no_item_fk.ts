import type { Knex } from 'knex';

/**
 * order_items.item_id loses its foreign key to items: the check took a shared lock on the item row inside every
 * reservation, so the flash sale's buyers of one item queued (and could deadlock) on it. The reservation's
 * conditional stock UPDATE already proves the item exists (no row, no stock), and items are never deleted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('order_items', (t) => {
    t.dropForeign(['item_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('order_items', (t) => {
    t.foreign('item_id').references('item_id').inTable('items');
  });
}

import type { Knex } from 'knex';

/**
 * Items: `listed` (a seller delists an item: out of search, refused by new orders, still named by
 * old ones) and `ever_ordered` (set by the first reservation that takes the item's stock; only an item never
 * ordered may be deleted). Existing rows that were ever updated may have been ordered by an order that is
 * archived by now (its lines left MySQL), so they count as ordered: only untouched rows (version 1) do not.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('items', (t) => {
    t.boolean('listed').notNullable().defaultTo(true);
    t.boolean('ever_ordered').notNullable().defaultTo(false);
  });
  // Not through the version trigger's eyes: the backfill is no change of the item.
  await knex.raw('DROP TRIGGER IF EXISTS items_version_bump');
  await knex.raw('UPDATE items SET ever_ordered = 1 WHERE version > 1 OR item_id IN (SELECT item_id FROM order_items)');
  await knex.raw(
    'CREATE TRIGGER items_version_bump BEFORE UPDATE ON items FOR EACH ROW SET NEW.version = OLD.version + 1',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('items', (t) => {
    t.dropColumn('ever_ordered');
    t.dropColumn('listed');
  });
}

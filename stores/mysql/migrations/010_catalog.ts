import type { Knex } from 'knex';

/**
 * Catalog: every item row gets
 * - `version`, bumped by the database on every UPDATE of the row (a trigger, so the saga's conditional stock
 *   UPDATEs bump it too without knowing about it). The search index stores it as the document's external
 *   version: an older state of an item can never overwrite a newer one, whatever order events arrive in.
 * - `details_rev`, the revision of the item's MongoDB details document that this row commits to (see
 *   catalog/details.ts): readers only ever see details whose MySQL row committed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('items', (t) => {
    t.bigInteger('version').unsigned().notNullable().defaultTo(1);
    t.string('details_rev', 36).nullable();
    t.index(['category']);
  });
  await knex.raw('DROP TRIGGER IF EXISTS items_version_bump');
  await knex.raw(
    'CREATE TRIGGER items_version_bump BEFORE UPDATE ON items FOR EACH ROW SET NEW.version = OLD.version + 1',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS items_version_bump');
  await knex.schema.alterTable('items', (t) => {
    t.dropIndex(['category']);
    t.dropColumn('details_rev');
    t.dropColumn('version');
  });
}

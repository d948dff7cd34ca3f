import type { Knex } from 'knex';

/**
 * Shipping addresses: a user's saved addresses, and each order's own copy of the address it ships
 * to (JSON; null only for orders placed before addresses existed).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_addresses', (t) => {
    t.string('address_id', 50).primary();
    t.string('user_id', 50).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.string('name', 100).notNullable();
    t.string('line1', 200).notNullable();
    t.string('line2', 200).nullable();
    t.string('city', 100).notNullable();
    t.string('region', 100).nullable();
    t.string('postal_code', 20).notNullable();
    t.string('country', 2).notNullable();
    t.string('phone', 20).nullable();
    t.timestamp('created_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['user_id', 'created_at']);
  });
  await knex.schema.alterTable('orders', (t) => {
    t.json('shipping_address').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('shipping_address');
  });
  await knex.schema.dropTableIfExists('user_addresses');
}

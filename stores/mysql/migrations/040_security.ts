import type { Knex } from 'knex';

/** Issue 13 (security):
 * - users.token_version: in every token; a password change or a role change bumps it, which revokes every
 *   earlier token (api/auth.ts checks it on each request with one primary-key read).
 * - users.supplier_approved_at: a supplier lists items only once an admin approved it. Suppliers that exist
 *   when this runs are approved (they listed items before approval existed).
 * - orders (user_id, status): the purchase limits count a user's live orders (orders/purchase-limits.ts).
 * - idempotency_keys.created_at: keys expire (IDEMPOTENCY_KEY_TTL), deleted by age. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.integer('token_version').unsigned().notNullable().defaultTo(0);
    t.timestamp('supplier_approved_at', { precision: 3 }).nullable();
  });
  await knex('users')
    .where({ role: 'supplier' })
    .update({ supplier_approved_at: knex.fn.now(3) });
  await knex.schema.alterTable('orders', (t) => {
    t.index(['user_id', 'status', 'updated_at'], 'orders_user_status');
  });
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.index(['created_at'], 'idempotency_keys_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.dropIndex(['created_at'], 'idempotency_keys_created'));
  await knex.schema.alterTable('orders', (t) => t.dropIndex(['user_id', 'status', 'updated_at'], 'orders_user_status'));
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('supplier_approved_at');
    t.dropColumn('token_version');
  });
}

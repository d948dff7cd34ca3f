import type { Knex } from 'knex';

/** The API reserves an order, then starts its saga; `saga_started_at` is set by the saga's first step, so the
 * sweeper (workers/saga-sweeper.ts) finds a reserved order whose saga never started (the API died in between). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.timestamp('saga_started_at', { precision: 3 }).nullable();
    t.index(['status', 'saga_started_at', 'created_at'], 'orders_unstarted');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropIndex(['status', 'saga_started_at', 'created_at'], 'orders_unstarted');
    t.dropColumn('saga_started_at');
  });
}

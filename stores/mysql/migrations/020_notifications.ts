import type { Knex } from 'knex';

/**
 * Notifications: one row per message to one user, written by the notifier's Kafka consumer (one per
 * order change) or by `POST /notifications`, and delivered by the notifier's sender loop.
 * - `UNIQUE (source_event_id, user_id, audience)`: the consumer inserts with INSERT IGNORE, so a redelivered
 *   event (same `event_id`) never makes a second notification. Direct notifications have no source event (NULL,
 *   never a duplicate of anything).
 * - Delivery state lives on the row (`delivery_status` pending -> sent | failed, `attempts`, `last_error`): the
 *   sender claims due pending rows (`next_attempt_at` doubles as the claim's lease, `claim_token` names the
 *   claimer), so a crash between storing and sending, or in the middle of a send, leaves a pending row that a
 *   later round picks up.
 * - `id` orders a user's notifications (newest first) and is the pagination cursor; `notification_id` is the
 *   public id.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('notifications', (t) => {
    t.bigIncrements('id');
    t.string('notification_id', 36).notNullable().unique();
    t.string('user_id', 50).notNullable();
    t.enu('audience', ['customer', 'seller', 'direct']).notNullable();
    t.string('type', 50).notNullable();
    t.string('message', 1000).notNullable();
    t.string('order_id', 50).nullable();
    t.string('source_event_id', 36).nullable();
    t.enu('delivery_status', ['pending', 'sent', 'failed']).notNullable().defaultTo('pending');
    t.string('channel', 20).nullable();
    t.integer('attempts').unsigned().notNullable().defaultTo(0);
    t.string('last_error', 500).nullable();
    t.timestamp('next_attempt_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.string('claim_token', 36).nullable();
    t.timestamp('sent_at', { precision: 3 }).nullable();
    t.timestamp('read_at', { precision: 3 }).nullable();
    t.timestamp('created_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.unique(['source_event_id', 'user_id', 'audience'], { indexName: 'notifications_source_recipient' });
    t.index(['user_id', 'id']);
    t.index(['delivery_status', 'next_attempt_at']);
    t.index(['claim_token']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('notifications');
}

import type { Knex } from 'knex';

/** The seed's users, items, orders and order_items, plus what the design needs (roles, supplier_id, expiry,
 * payment state, status history, idempotency keys, the event outbox). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.string('user_id', 50).primary();
    t.string('name', 255).notNullable();
    t.string('email', 255).notNullable().unique();
    t.string('password_hash', 255).notNullable();
    t.string('phone', 20).nullable();
    t.enu('role', ['customer', 'supplier', 'admin']).notNullable().defaultTo('customer');
    t.timestamp('created_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });

  await knex.schema.createTable('items', (t) => {
    t.string('item_id', 50).primary();
    t.string('supplier_id', 50).nullable().references('user_id').inTable('users');
    t.string('name', 255).notNullable();
    t.string('category', 255).notNullable();
    t.decimal('price', 10, 2).notNullable();
    // UNSIGNED: the database itself refuses a negative stock, whatever the code does.
    t.integer('stock').unsigned().notNullable().defaultTo(0);
    t.text('description').nullable();
    t.timestamp('created_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['supplier_id']);
  });

  await knex.schema.createTable('orders', (t) => {
    t.string('order_id', 50).primary();
    t.string('user_id', 50).notNullable().references('user_id').inTable('users');
    t.enu('status', ['created', 'placed', 'in_transit', 'delivered', 'canceled']).notNullable();
    t.decimal('total_price', 12, 2).notNullable().defaultTo(0);
    t.string('payment_method', 64).notNullable();
    t.enu('payment_status', ['pending', 'succeeded', 'declined', 'expired', 'refunded', 'voided'])
      .notNullable()
      .defaultTo('pending');
    t.string('cancel_reason', 50).nullable();
    t.enu('late_payment', ['refunded', 'accepted']).nullable();
    t.timestamp('expires_at', { precision: 3 }).notNullable();
    t.timestamp('created_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['user_id', 'created_at']);
    t.index(['status', 'updated_at']);
  });

  await knex.schema.createTable('order_items', (t) => {
    t.string('order_item_id', 60).primary();
    t.string('order_id', 50).notNullable().references('order_id').inTable('orders').onDelete('CASCADE');
    t.string('item_id', 50).notNullable().references('item_id').inTable('items');
    t.integer('quantity').unsigned().notNullable();
    t.decimal('price', 10, 2).notNullable();
    t.unique(['order_id', 'item_id']);
  });

  await knex.schema.createTable('order_status_history', (t) => {
    t.bigIncrements('id');
    t.string('order_id', 50).notNullable().references('order_id').inTable('orders').onDelete('CASCADE');
    t.string('status', 20).notNullable();
    t.string('reason', 50).nullable();
    t.timestamp('at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['order_id', 'id']);
  });

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.string('user_id', 50).notNullable();
    t.string('idem_key', 255).notNullable();
    t.string('request_hash', 64).notNullable();
    t.string('order_id', 50).notNullable();
    t.timestamp('created_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.primary(['user_id', 'idem_key']);
  });

  // Transactional outbox: an event is written in the same transaction as the change it reports, and the
  // relay (workers/outbox-relay.ts) publishes it to Kafka, so a Kafka outage delays events but never loses one.
  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id');
    t.string('event_id', 36).notNullable().unique();
    t.string('topic', 100).notNullable();
    t.string('msg_key', 100).notNullable();
    t.text('payload', 'mediumtext').notNullable();
    t.timestamp('created_at', { precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('published_at', { precision: 3 }).nullable();
    t.index(['published_at', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['outbox', 'idempotency_keys', 'order_status_history', 'order_items', 'orders', 'items', 'users']) {
    await knex.schema.dropTableIfExists(t);
  }
}

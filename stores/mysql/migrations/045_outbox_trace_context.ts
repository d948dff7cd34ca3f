import type { Knex } from 'knex';

/** Issue 15 (tracing): an outbox row keeps the W3C trace context (`traceparent`) of the change that wrote it, so
 * the relay puts it into the Kafka message's headers and the consumers continue the same trace. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.string('trace_context', 255).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('trace_context');
  });
}

/** The one writer of the transactional outbox. Event contracts and their messages: events/. */
import type { Knex } from 'knex';
import type { OutboxMessage } from '../events/envelope';
import { currentTraceparent } from '../telemetry/tracing';

/** Writes messages into the outbox inside the caller's transaction: they are published if and only if the change
 * they report commits. Many rows go in one INSERT (500 at most). The active trace goes with them (the relay hands
 * it on in the Kafka headers). */
export async function enqueue(db: Knex | Knex.Transaction, messages: OutboxMessage[]): Promise<void> {
  const traceContext = currentTraceparent();
  for (let i = 0; i < messages.length; i += 500) {
    await db('outbox').insert(
      messages.slice(i, i + 500).map((m) => ({
        event_id: m.event_id,
        topic: m.topic,
        msg_key: m.key,
        payload: m.payload,
        trace_context: traceContext,
      })),
    );
  }
}

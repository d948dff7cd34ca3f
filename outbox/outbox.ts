import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { currentTraceparent } from '../telemetry/tracing';

/** A domain event as it travels on Kafka. `event_id` lets every consumer drop a redelivery. */
export interface DomainEvent<P = Record<string, unknown>> {
  event_id: string;
  type: string;
  occurred_at: string;
  data: P;
}

/** Writes an event into the outbox inside the caller's transaction: it is published if and only if the
 * change it reports commits. The active trace goes with it (the relay hands it on in the Kafka headers). */
export async function enqueueEvent(trx: Knex.Transaction, topic: string, key: string, type: string, data: Record<string, unknown>): Promise<DomainEvent> {
  const event: DomainEvent = { event_id: randomUUID(), type, occurred_at: new Date().toISOString(), data };
  await trx('outbox').insert({ event_id: event.event_id, topic, msg_key: key, payload: JSON.stringify(event), trace_context: currentTraceparent() });
  return event;
}

/** The catalog's events, written to the transactional outbox in the same transaction as the change they
 * report (the same envelope as outbox/outbox.ts's enqueueEvent, many rows in one INSERT). */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { DomainEvent } from '../outbox/outbox';
import { TOPICS } from '../stores/kafka/topics';
import { currentTraceparent } from '../telemetry/tracing';

export interface PendingEvent {
  topic: string;
  key: string;
  type: string;
  data: Record<string, unknown>;
}

export async function enqueueEvents(trx: Knex.Transaction, events: PendingEvent[]): Promise<void> {
  if (events.length === 0) return;
  const occurred = new Date().toISOString();
  const traceContext = currentTraceparent();
  const rows = events.map((e) => {
    const event: DomainEvent = { event_id: randomUUID(), type: e.type, occurred_at: occurred, data: e.data };
    return { event_id: event.event_id, topic: e.topic, msg_key: e.key, payload: JSON.stringify(event), trace_context: traceContext };
  });
  for (let i = 0; i < rows.length; i += 500) await trx('outbox').insert(rows.slice(i, i + 500));
}

/** `item.upserted` on shopflow.items, keyed by item id; `version` is the row's version after the change. */
export function itemUpserted(r: { item_id: string; version: number; supplier_id: string | null; price: number; stock: number }): PendingEvent {
  return {
    topic: TOPICS.items.name,
    key: r.item_id,
    type: 'item.upserted',
    data: { item_id: r.item_id, version: Number(r.version), supplier_id: r.supplier_id, price: Number(r.price), stock: Number(r.stock) },
  };
}

/** `item.deleted` on shopflow.items: the indexer removes the document once MySQL has no row for it. */
export function itemDeleted(r: { item_id: string; version: number; supplier_id: string | null }): PendingEvent {
  return { topic: TOPICS.items.name, key: r.item_id, type: 'item.deleted', data: { item_id: r.item_id, version: Number(r.version), supplier_id: r.supplier_id } };
}

/** `stock.changed` on shopflow.inventory (the saga's event, same shape), for a seller's restock. */
export function stockChanged(r: { item_id: string; stock: number; version: number }, cause: string): PendingEvent {
  return { topic: TOPICS.inventory.name, key: r.item_id, type: 'stock.changed', data: { item_id: r.item_id, stock: Number(r.stock), version: Number(r.version), cause } };
}

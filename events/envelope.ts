/**
 * The envelope every outbox event travels in on Kafka (shopflow.orders, .inventory, .items):
 * `{event_id, type, v, occurred_at, data}`. `event_id` lets every consumer drop a redelivery; `v` is the version
 * of the type's data schema (events written before versions existed have none and are version 1).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** One row for the transactional outbox (outbox/outbox.ts writes it, outbox/relay.ts publishes it). */
export interface OutboxMessage {
  event_id: string;
  topic: string;
  key: string;
  payload: string;
}

/** An event contract: its type, the version of its data schema, the topic it travels on and the schema. */
export interface EventContract<T extends string, D extends z.ZodType> {
  type: T;
  version: number;
  topic: string;
  data: D;
}

/** The schema of a contract's whole message (envelope and data), as consumers parse it. */
export const envelopeOf = <T extends string, D extends z.ZodType>(c: EventContract<T, D>) =>
  envelope(z.literal(c.type), c.version, c.data);

export function envelope<T extends z.ZodType<string>, D extends z.ZodType>(type: T, version: number, data: D) {
  return z.object({
    event_id: z.string().min(1).max(100),
    type,
    v: z.literal(version).optional(),
    occurred_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO timestamp'),
    data,
  });
}

/** The outbox message of one event (the producers' only way to make one). */
export function messageOf<T extends string, D extends z.ZodType>(
  c: EventContract<T, D>,
  key: string,
  data: z.input<D>,
  at = new Date(),
  /** A fixed id for an event that a retried step may write again: consumers then drop the repeat. */
  event_id: string = randomUUID(),
): OutboxMessage {
  return {
    event_id,
    topic: c.topic,
    key,
    payload: JSON.stringify({ event_id, type: c.type, v: c.version, occurred_at: at.toISOString(), data }),
  };
}

/** Parses a Kafka message value with a schema; undefined when it is not JSON or does not match. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: Buffer | string | null | undefined,
): z.output<S> | undefined {
  if (!value) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString());
  } catch {
    return undefined;
  }
  const r = schema.safeParse(raw);
  return r.success ? r.data : undefined;
}

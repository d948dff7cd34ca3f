/**
 * Analytics events on shopflow.analytics (version 1; flat, not in the outbox envelope): the seed's Hadoop schema
 * (user_id, search_query, timestamp, clicked_items) plus the event type, the item ids it concerns and an event
 * id (the dedupe key of every consumer). One JSON object per Kafka message, keyed by user id (so one user's
 * events stay in order on one partition). Events are denormalized (categories, order lines with prices) so
 * offline jobs need no joins.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { TOPICS } from '../stores/kafka/topics';
import type { OutboxMessage } from './envelope';

export const ANALYTICS_EVENT_VERSION = 1;

export const EVENT_TYPES = [
  'search',
  'search_click',
  'item_view',
  'cart_add',
  'wishlist_add',
  'order_placed',
  'order_canceled',
] as const;
export type AnalyticsEventType = (typeof EVENT_TYPES)[number];

export interface OrderLineFact {
  item_id: string;
  quantity: number;
  price: number;
  category: string | null;
}

export interface AnalyticsEvent {
  event_id: string;
  event_type: AnalyticsEventType;
  user_id: string | null;
  /** The query typed (search, search_click); '' for other events. */
  search_query: string;
  /** When it happened (ISO 8601, UTC): the event's minute bucket and its day partition. */
  timestamp: string;
  /** search_click: the result clicked. */
  clicked_items: string[];
  /** The items the event is about: results shown (search, first page), the item viewed/added/clicked, order lines. */
  item_ids: string[];
  /** Parallel to item_ids where known (views, cart and wishlist adds, orders). */
  categories?: (string | null)[];
  /** search: how many items matched (0 = a zero-result query). */
  result_count?: number;
  /** cart_add: units added. */
  quantity?: number;
  /** order_placed / order_canceled. */
  order_id?: string;
  lines?: OrderLineFact[];
  total_price?: number;
  /** Translated events (orders): the id of the domain event they come from. */
  source_event_id?: string;
}

const Text = (max: number) => z.string().max(max);
const ItemId = z.string().min(1).max(50);

/** What a consumer accepts from the topic (anything else is logged and skipped, never crashes the stream). */
export const AnalyticsEventSchema = z.object({
  event_id: z.string().min(1).max(100),
  event_type: z.enum(EVENT_TYPES),
  user_id: z.string().min(1).max(50).nullable(),
  search_query: Text(1000).default(''),
  timestamp: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO timestamp'),
  clicked_items: z.array(ItemId).max(100).default([]),
  item_ids: z.array(ItemId).max(200).default([]),
  categories: z.array(Text(255).nullable()).max(200).optional(),
  result_count: z.number().int().nonnegative().optional(),
  quantity: z.number().int().positive().max(1_000_000).optional(),
  order_id: z.string().max(100).optional(),
  lines: z
    .array(
      z.object({
        item_id: ItemId,
        quantity: z.number().int().positive().max(1_000_000),
        price: z.number().nonnegative(),
        category: Text(255).nullable(),
      }),
    )
    .max(200)
    .optional(),
  total_price: z.number().nonnegative().optional(),
  source_event_id: z.string().max(100).optional(),
});

/** Parses one message value; undefined when it is not an analytics event. */
export function parseAnalyticsEvent(value: Buffer | string | null): AnalyticsEvent | undefined {
  if (!value) return undefined;
  try {
    const r = AnalyticsEventSchema.safeParse(JSON.parse(value.toString()));
    return r.success ? (r.data as AnalyticsEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** The outbox message of an analytics event; a new event gets its id and time here. */
export type NewAnalyticsEvent = Omit<AnalyticsEvent, 'event_id' | 'timestamp' | 'search_query' | 'clicked_items'> &
  Partial<AnalyticsEvent>;
export function analyticsMessage(e: NewAnalyticsEvent): { event: AnalyticsEvent; message: OutboxMessage } {
  const event: AnalyticsEvent = {
    event_id: randomUUID(),
    timestamp: new Date().toISOString(),
    search_query: '',
    clicked_items: [],
    ...e,
  };
  return {
    event,
    message: {
      event_id: event.event_id,
      topic: TOPICS.analytics.name,
      key: event.user_id ?? 'anonymous',
      payload: JSON.stringify(event),
    },
  };
}

/** Queries are counted case- and space-insensitively (by both read models of these events). */
export const normalizeQuery = (q: string): string => q.trim().replace(/\s+/g, ' ').toLowerCase().slice(0, 200);

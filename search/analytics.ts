/**
 * Search analytics on shopflow.analytics, in the seed's Hadoop schema (user_id, search_query, timestamp,
 * clicked_items) plus event_type and event_id. Written to the transactional outbox (by group commit,
 * analytics/outbox-buffer.ts), so the relay publishes each one at least once, with retries, whatever Kafka is
 * doing; a consumer drops repeats by event_id. `wait`: resolve once the event is committed (a click's 202).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { TOPICS } from '../stores/kafka/topics';
import { analyticsOutbox } from '../analytics/outbox-buffer';

export interface AnalyticsEvent {
  event_id: string;
  event_type: 'search' | 'search_click';
  user_id: string | null;
  search_query: string;
  timestamp: string;
  clicked_items: string[];
  /** search: the ids of the results shown (the page served); search_click: the item clicked. */
  item_ids?: string[];
  /** search: how many items matched (0: a zero-result query, in the analytics reports). */
  result_count?: number;
}

export async function recordAnalytics(mysql: Knex, e: Omit<AnalyticsEvent, 'event_id' | 'timestamp'>, opts: { wait?: boolean } = {}): Promise<AnalyticsEvent> {
  const event: AnalyticsEvent = { event_id: randomUUID(), event_type: e.event_type, user_id: e.user_id, search_query: e.search_query, timestamp: new Date().toISOString(), clicked_items: e.clicked_items, item_ids: e.item_ids ?? e.clicked_items, ...(e.result_count === undefined ? {} : { result_count: e.result_count }) };
  await analyticsOutbox(mysql).enqueue({ event_id: event.event_id, topic: TOPICS.analytics.name, msg_key: event.user_id ?? 'anonymous', payload: JSON.stringify(event) }, opts);
  return event;
}

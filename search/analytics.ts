/**
 * Search analytics on shopflow.analytics, in the seed's Hadoop schema (user_id, search_query, timestamp,
 * clicked_items) plus event_type and event_id. Written to the transactional outbox, so the relay publishes
 * each one at least once, with retries, whatever Kafka is doing; a consumer drops repeats by event_id.
 */
import type { Knex } from 'knex';
import { analyticsMessage, AnalyticsEvent } from '../events/analytics';
import { enqueue } from '../outbox/outbox';

type SearchEvent = Pick<AnalyticsEvent, 'user_id' | 'search_query' | 'clicked_items' | 'result_count'> & Partial<Pick<AnalyticsEvent, 'item_ids'>> & { event_type: 'search' | 'search_click' };

export async function recordAnalytics(mysql: Knex, e: SearchEvent): Promise<AnalyticsEvent> {
  const { event, message } = analyticsMessage({ ...e, item_ids: e.item_ids ?? e.clicked_items });
  await enqueue(mysql, [message]);
  return event;
}

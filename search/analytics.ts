/**
 * Search analytics on shopflow.analytics, in the seed's Hadoop schema (user_id, search_query, timestamp,
 * clicked_items) plus event_type and event_id. Written to the transactional outbox (by group commit,
 * analytics/outbox-buffer.ts), so the relay publishes each one at least once, with retries, whatever Kafka is
 * doing; a consumer drops repeats by event_id. `wait`: resolve once the event is committed (a click's 202).
 */
import type { Knex } from 'knex';
import { analyticsMessage, AnalyticsEvent } from '../events/analytics';
import { analyticsOutbox } from '../analytics/outbox-buffer';

type SearchEvent = Pick<AnalyticsEvent, 'user_id' | 'search_query' | 'clicked_items' | 'result_count'> &
  Partial<Pick<AnalyticsEvent, 'item_ids'>> & { event_type: 'search' | 'search_click' };

export async function recordAnalytics(
  mysql: Knex,
  e: SearchEvent,
  opts: { wait?: boolean } = {},
): Promise<AnalyticsEvent> {
  const { event, message } = analyticsMessage({ ...e, item_ids: e.item_ids ?? e.clicked_items });
  await analyticsOutbox(mysql).enqueue(
    { event_id: message.event_id, topic: message.topic, msg_key: message.key, payload: message.payload },
    opts,
  );
  return event;
}

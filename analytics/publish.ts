/**
 * Publishing analytics events from the API: written to the transactional outbox (outbox/relay.ts publishes
 * them to shopflow.analytics at least once), like the search events of search/analytics.ts, by group commit
 * off the request's path (./outbox-buffer.ts). A failure to record is logged and never fails the shopper's
 * request.
 */
import type { Knex } from 'knex';
import { analyticsMessage, AnalyticsEvent, NewAnalyticsEvent } from '../events/analytics';
import { logBestEffortFailure } from '../stores/errors';
import { analyticsOutbox } from './outbox-buffer';

export type NewEvent = NewAnalyticsEvent;

export async function publishAnalytics(mysql: Knex, e: NewEvent): Promise<AnalyticsEvent> {
  const { event, message } = analyticsMessage(e);
  await analyticsOutbox(mysql).enqueue({
    event_id: message.event_id,
    topic: message.topic,
    msg_key: message.key,
    payload: message.payload,
  });
  return event;
}

/** An item view, cart add or wishlist add; the category is read from the catalog when the caller lacks it. */
export async function recordItemEvent(
  mysql: Knex,
  type: 'item_view' | 'cart_add' | 'wishlist_add',
  userId: string | null,
  itemId: string,
  opts: { category?: string | null; quantity?: number } = {},
): Promise<void> {
  try {
    let category = opts.category;
    if (category === undefined) {
      const row: { category: string } | undefined = await mysql('items')
        .select('category')
        .where({ item_id: itemId })
        .first();
      category = row?.category ?? null;
    }
    await publishAnalytics(mysql, {
      event_type: type,
      user_id: userId,
      item_ids: [itemId],
      categories: [category],
      ...(opts.quantity ? { quantity: opts.quantity } : {}),
    });
  } catch (err) {
    logBestEffortFailure(err, 'analytics event could not be written', { type, itemId }, 'error');
  }
}

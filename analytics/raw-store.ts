/**
 * The raw event log (the seed's Hadoop role): every analytics event appended to Cassandra's
 * `analytics_events_by_day`, partitioned by day (UTC) and clustered by (event_time, event_id). The event's own
 * timestamp and id are the row's key, so writing a redelivered event again overwrites the same row: the log
 * holds each event once. `payload` is the event's JSON, exactly as it travelled; offline jobs read it back by
 * day (scripts/export-events.ts writes newline-delimited JSON files).
 */
import { concurrent, types, type Client } from 'cassandra-driver';
import { AnalyticsEvent, dayOf } from './model';

const INSERT =
  'INSERT INTO analytics_events_by_day (day, event_time, event_id, event_type, user_id, search_query, clicked_items, item_ids, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

export class RawEventStore {
  constructor(private readonly cassandra: Client, private readonly concurrency = 64) {}

  async append(events: AnalyticsEvent[]): Promise<void> {
    if (events.length === 0) return;
    const params = events.map((e) => {
      const at = Date.parse(e.timestamp);
      return [types.LocalDate.fromString(dayOf(at)), new Date(at), e.event_id, e.event_type, e.user_id, e.search_query, e.clicked_items, e.item_ids, JSON.stringify(e)];
    });
    await concurrent.executeConcurrent(this.cassandra, INSERT, params, { concurrencyLevel: this.concurrency, raiseOnFirstError: true });
  }

  /** One day's events in time order, page by page (the driver fetches `fetchSize` rows at a time). */
  async *day(day: string, fetchSize = 2000): AsyncGenerator<string> {
    let pageState: string | undefined;
    do {
      const rs = await this.cassandra.execute('SELECT payload FROM analytics_events_by_day WHERE day = ?', [types.LocalDate.fromString(day)], { prepare: true, fetchSize, pageState });
      for (const row of rs.rows) yield row.payload as string;
      pageState = rs.pageState ?? undefined;
    } while (pageState);
  }

  /** Whether an event is in the log (tests). */
  async has(e: Pick<AnalyticsEvent, 'event_id' | 'timestamp'>): Promise<boolean> {
    const at = Date.parse(e.timestamp);
    const rs = await this.cassandra.execute('SELECT event_id FROM analytics_events_by_day WHERE day = ? AND event_time = ? AND event_id = ?', [types.LocalDate.fromString(dayOf(at)), new Date(at), e.event_id], { prepare: true });
    return rs.rowLength > 0;
  }
}

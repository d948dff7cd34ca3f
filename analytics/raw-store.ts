/**
 * The raw event log (the seed's Hadoop role): every analytics event appended to Cassandra's
 * `analytics_events_by_day_bucket`, partitioned by (day UTC, bucket) and clustered by (event_time, event_id).
 * The bucket is a hash of the event id (DAY_BUCKETS per day), so one busy day is spread over several
 * partitions (and nodes) instead of growing one without bound. The event's own timestamp and id are the row's
 * key, so writing a redelivered event again overwrites the same row: the log holds each event once. `payload`
 * is the event's JSON, exactly as it travelled; offline jobs read a day back in time order
 * (scripts/export-events.ts writes newline-delimited JSON files).
 */
import { types, type Client } from 'cassandra-driver';
import { AnalyticsEvent, dayOf } from './model';

/** Partitions per day. Fixed: changing it would hide the rows already written under the other count. */
export const DAY_BUCKETS = 16;
const BATCH_ROWS = 20;

/** FNV-1a over the event id: the same bucket in every process. */
export function bucketOf(eventId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) {
    h ^= eventId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % DAY_BUCKETS;
}

const INSERT =
  'INSERT INTO analytics_events_by_day_bucket (day, bucket, event_time, event_id, event_type, user_id, search_query, clicked_items, item_ids, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

interface Row {
  at: number;
  id: string;
  payload: string;
}

export class RawEventStore {
  constructor(
    private readonly cassandra: Client,
    private readonly concurrency = 16,
  ) {}

  /** Writes the events as unlogged batches of one partition each (one mutation per batch on the replica),
   * at most `BATCH_ROWS` rows (payloads are small; Cassandra refuses batches over 50 KiB by default). */
  async append(events: AnalyticsEvent[]): Promise<void> {
    if (events.length === 0) return;
    const byPartition = new Map<string, unknown[][]>();
    for (const e of events) {
      const at = Date.parse(e.timestamp);
      const day = dayOf(at);
      const bucket = bucketOf(e.event_id);
      const k = `${day}/${bucket}`;
      const rows = byPartition.get(k) ?? [];
      rows.push([
        types.LocalDate.fromString(day),
        bucket,
        new Date(at),
        e.event_id,
        e.event_type,
        e.user_id,
        e.search_query,
        e.clicked_items,
        e.item_ids,
        JSON.stringify(e),
      ]);
      byPartition.set(k, rows);
    }
    const batches: unknown[][][] = [];
    for (const rows of byPartition.values())
      for (let i = 0; i < rows.length; i += BATCH_ROWS) batches.push(rows.slice(i, i + BATCH_ROWS));
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const b = batches[next++]!;
        if (b.length === 1) await this.cassandra.execute(INSERT, b[0], { prepare: true });
        else
          await this.cassandra.batch(
            b.map((params) => ({ query: INSERT, params })),
            { prepare: true, logged: false },
          );
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
  }

  /** One bucket of a day, in time order, page by page. */
  private async *bucket(day: string, bucket: number, fetchSize: number): AsyncGenerator<Row> {
    let pageState: string | undefined;
    do {
      const rs = await this.cassandra.execute(
        'SELECT event_time, event_id, payload FROM analytics_events_by_day_bucket WHERE day = ? AND bucket = ?',
        [types.LocalDate.fromString(day), bucket],
        {
          prepare: true,
          fetchSize,
          pageState,
        },
      );
      for (const r of rs.rows)
        yield { at: (r.event_time as Date).getTime(), id: r.event_id as string, payload: r.payload as string };
      pageState = rs.pageState ?? undefined;
    } while (pageState);
  }

  /** One day's events in time order: the buckets' ordered streams merged (each holds one page at a time). */
  async *day(day: string, fetchSize = 1000): AsyncGenerator<string> {
    const streams = Array.from({ length: DAY_BUCKETS }, (_, b) => this.bucket(day, b, fetchSize));
    const heads = await Promise.all(streams.map((s) => s.next()));
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (h.done) continue;
        const b = best >= 0 ? (heads[best]!.value as Row) : undefined;
        if (!b || h.value.at < b.at || (h.value.at === b.at && h.value.id < b.id)) best = i;
      }
      if (best < 0) return;
      yield (heads[best]!.value as Row).payload;
      heads[best] = await streams[best]!.next();
    }
  }

  /** Whether an event is in the log (tests). */
  async has(e: Pick<AnalyticsEvent, 'event_id' | 'timestamp'>): Promise<boolean> {
    const at = Date.parse(e.timestamp);
    const rs = await this.cassandra.execute(
      'SELECT event_id FROM analytics_events_by_day_bucket WHERE day = ? AND bucket = ? AND event_time = ? AND event_id = ?',
      [types.LocalDate.fromString(dayOf(at)), bucketOf(e.event_id), new Date(at), e.event_id],
      {
        prepare: true,
      },
    );
    return rs.rowLength > 0;
  }
}

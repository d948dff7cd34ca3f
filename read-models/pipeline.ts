/**
 * The analytics stream's two read models, reports (analytics/) and recommendations (recommendations/), applied
 * together; neither folder imports the other, they meet here. What the consumer does with a chunk of analytics events, without Kafka (the consumer and the benchmark use
 * it): append them to the raw log in Cassandra (idempotent by key) and apply each one's report and
 * recommendation effects to Redis through the exactly-once script, side by side. Only then does the consumer
 * commit the offsets, so a crash anywhere replays the chunk harmlessly.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from 'cassandra-driver';
import type { Redis } from '../stores/redis/client';
import { RecsKeys } from '../recommendations/keys';
import { recsOps, RecsEffectOptions } from '../recommendations/effects';
import { reportOps } from '../analytics/effects';
import { ReportKeys } from '../analytics/keys';
import type { AnalyticsEvent } from '../events/analytics';
import { RawEventStore } from '../analytics/raw-store';
import { ExactlyOnceApplier } from '../stores/redis/exactly-once';

export interface PipelineSettings {
  prefix: string;
  /** Seconds: minute buckets, dedupe markers, the co-occurrence lists. */
  bucketTtl: number;
  dedupeTtl: number;
  recs: RecsEffectOptions & { coCap: number; crossLimit: number };
}

export class AnalyticsPipeline {
  readonly reportKeys: ReportKeys;
  readonly recsKeys: RecsKeys;
  private readonly applier: ExactlyOnceApplier;
  private readonly raw: RawEventStore | undefined;
  applied = 0;
  duplicates = 0;
  /** Time spent writing each store (ms), for the benchmark. */
  rawMs = 0;
  redisMs = 0;

  constructor(
    redis: Redis,
    cassandra: Client | undefined,
    private readonly s: PipelineSettings,
  ) {
    this.reportKeys = new ReportKeys(s.prefix);
    this.recsKeys = new RecsKeys(s.prefix);
    this.applier = new ExactlyOnceApplier(redis, {
      seenTtl: s.dedupeTtl,
      coPrefix: this.recsKeys.coPrefix,
      coViewPrefix: this.recsKeys.coViewPrefix,
      coCap: s.recs.coCap,
      coTtl: s.recs.userTtl,
      crossLimit: s.recs.crossLimit,
    });
    this.raw = cassandra ? new RawEventStore(cassandra) : undefined;
  }

  async process(events: AnalyticsEvent[]): Promise<{ applied: number; duplicates: number }> {
    if (events.length === 0) return { applied: 0, duplicates: 0 };
    // Both writes are idempotent (row key / dedupe marker), so they run side by side; the caller commits the
    // offsets only after both succeeded, and a failure of either replays the chunk.
    const timed = async <T>(f: () => Promise<T>, add: (ms: number) => void): Promise<T> => {
      const t0 = performance.now();
      try {
        return await f();
      } finally {
        add(performance.now() - t0);
      }
    };
    const [, fresh] = await Promise.all([
      timed(
        async () => this.raw?.append(events),
        (ms) => (this.rawMs += ms),
      ),
      timed(
        () =>
          this.applier.applyAll(
            events.map((e) => ({
              seenKey: this.reportKeys.seen(e.event_id),
              ops: [...reportOps(e, this.reportKeys, this.s.bucketTtl), ...recsOps(e, this.recsKeys, this.s.recs)],
            })),
          ),
        (ms) => (this.redisMs += ms),
      ),
    ]);
    const applied = fresh.filter(Boolean).length;
    this.applied += applied;
    this.duplicates += fresh.length - applied;
    return { applied, duplicates: fresh.length - applied };
  }
}

/**
 * The analytics stream consumer: one Kafka consumer group (ANALYTICS_GROUP; more instances share the
 * partitions) on two topics.
 * - shopflow.orders: order.placed / order.canceled are translated into analytics events (deterministic ids, see
 *   ./orders.ts) and published to shopflow.analytics, keyed by user id; the order offsets are committed only
 *   after Kafka acknowledged them. Other order events are skipped.
 * - shopflow.analytics: every event, in chunks: raw log (Cassandra) + reports and recommendations (Redis,
 *   exactly once per event id), then the chunk's offsets are resolved and committed. A crash or rebalance in
 *   the middle of a batch replays at most the unfinished chunk, which the dedupe absorbs.
 */
import type { EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Knex } from 'knex';
import type { Logger } from '../lib/logger';
import { TOPICS } from '../stores/kafka/topics';
import { ConsumerLifecycle, type BatchTools, type ConsumerMetrics } from '../stores/kafka/consumer';
import { AnalyticsEvent, parseAnalyticsEvent } from './model';
import { CategoryLookup, translateOrderEvents } from './orders';
/** What the consumer hands each chunk to (read-models/pipeline.ts). */
type AnalyticsPipeline = { process(events: AnalyticsEvent[]): Promise<unknown> };

export interface AnalyticsConsumerOptions {
  groupId: string;
  /** A new group reads the topics from the start (production) or only what comes next (tests, benchmark). */
  fromBeginning: boolean;
  /** Events applied per Redis pipeline / offset commit. */
  chunkSize?: number;
  /** Partitions processed at the same time by this instance (each partition stays in order). */
  partitionsConsumedConcurrently?: number;
  /** Tests: called after a chunk was applied and before its offsets are resolved (throwing simulates a crash). */
  afterChunkApplied?: (events: AnalyticsEvent[]) => Promise<void> | void;
  metrics?: ConsumerMetrics;
}

export class AnalyticsConsumer {
  private readonly lifecycle: ConsumerLifecycle;
  private readonly categories: CategoryLookup;
  /** Counters for logs and the benchmark. */
  events = 0;
  skipped = 0;
  translated = 0;
  lastLagMs = 0;

  constructor(
    kafka: Kafka,
    private readonly producer: Producer,
    mysql: Knex,
    readonly pipeline: AnalyticsPipeline,
    private readonly log: Logger,
    private readonly opts: AnalyticsConsumerOptions,
  ) {
    this.categories = new CategoryLookup(mysql);
    const { groupId, fromBeginning, metrics } = opts;
    this.lifecycle = new ConsumerLifecycle(
      kafka,
      log,
      {
        name: 'analytics',
        groupId,
        fromBeginning,
        metrics,
        topics: [TOPICS.analytics.name, TOPICS.orders.name],
        consumer: { maxWaitTimeInMs: 200, maxBytesPerPartition: 4 * 1024 * 1024 },
        run: { autoCommitInterval: 1000, partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 2 },
      },
      (p, t) => this.onBatch(p, t),
    );
  }

  /** Resolves once the group is joined and the first fetch has fixed the starting offsets. */
  async start(): Promise<void> {
    await this.lifecycle.start();
    this.log.info({ groupId: this.opts.groupId }, 'analytics consumer running');
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
  }

  private async onBatch(p: EachBatchPayload, tools: BatchTools): Promise<void> {
    const { batch, isRunning, isStale } = p;
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    if (batch.topic === TOPICS.orders.name) await this.onOrders(p, tools);
    else await this.onAnalytics(p, tools);
  }

  private async onOrders(
    { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }: EachBatchPayload,
    { done }: BatchTools,
  ): Promise<void> {
    const events = await translateOrderEvents(
      batch.messages.map((m) => m.value),
      this.categories,
    );
    if (events.length > 0) {
      await this.producer.send({
        topic: TOPICS.analytics.name,
        acks: -1,
        messages: events.map((e) => ({ key: e.user_id ?? 'anonymous', value: JSON.stringify(e) })),
      });
      this.translated += events.length;
    }
    resolveOffset(batch.lastOffset());
    done(batch.messages);
    await commitOffsetsIfNecessary();
    await heartbeat();
  }

  private async onAnalytics(
    { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload,
    { done }: BatchTools,
  ): Promise<void> {
    const size = this.opts.chunkSize ?? 500;
    for (let i = 0; i < batch.messages.length; i += size) {
      if (!isRunning() || isStale()) return;
      const chunk: KafkaMessage[] = batch.messages.slice(i, i + size);
      const events: AnalyticsEvent[] = [];
      let oldest = Number.POSITIVE_INFINITY;
      for (const m of chunk) {
        const e = parseAnalyticsEvent(m.value);
        if (e) events.push(e);
        else {
          this.skipped += 1;
          this.log.warn(
            { topic: batch.topic, partition: batch.partition, offset: m.offset },
            'analytics: not an analytics event, skipped',
          );
        }
        oldest = Math.min(oldest, Number(m.timestamp));
      }
      await this.pipeline.process(events);
      await this.opts.afterChunkApplied?.(events);
      resolveOffset(chunk[chunk.length - 1]!.offset);
      done(chunk);
      await commitOffsetsIfNecessary();
      await heartbeat();
      this.events += chunk.length;
      this.lastLagMs = Number.isFinite(oldest) ? Date.now() - oldest : 0;
    }
  }
}

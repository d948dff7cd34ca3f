/**
 * One Kafka consumer lifecycle for every consumer of the platform (the search indexer, the item cache, the
 * notifier, the analytics consumer): connect, subscribe, run batches with manual offset resolution, retry a
 * failed batch with backoff (kafkajs re-delivers it from the last resolved offset; after the retries the
 * consumer restarts), stop gracefully (the batch in hand finishes, the group is left), count what it processed,
 * and continue each message's trace (the `traceparent` header the outbox relay set).
 *
 * The handler does the work and reports progress through `done(messages)` after each chunk it stored.
 */
import type { Span } from '@opentelemetry/api';
import type { Consumer, ConsumerConfig, ConsumerRunConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../lib/logger';
import { contextFrom, endSpan, SpanKind, tracer } from '../../telemetry/tracing';
import { firstFetchAfterJoin } from './client';

/** Per consumer and topic: messages processed, batch attempts that failed (and are retried), and the lag from
 * the event's write to Kafka to its processing. */
export class ConsumerMetrics {
  readonly processed: Counter<'consumer' | 'topic'>;
  readonly failed: Counter<'consumer' | 'topic'>;
  readonly lag: Histogram<'consumer' | 'topic'>;
  constructor(registry: Registry) {
    this.processed = new Counter({
      name: 'shopflow_consumer_messages_total',
      help: 'Kafka messages a consumer processed',
      labelNames: ['consumer', 'topic'],
      registers: [registry],
    });
    this.failed = new Counter({
      name: 'shopflow_consumer_failures_total',
      help: 'Kafka batches whose processing failed (kafkajs retries them with backoff)',
      labelNames: ['consumer', 'topic'],
      registers: [registry],
    });
    this.lag = new Histogram({
      name: 'shopflow_consumer_lag_seconds',
      help: "From a message's append to Kafka to its processing",
      labelNames: ['consumer', 'topic'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
  }
}

export interface ConsumerLifecycleOptions {
  /** The consumer's name in metrics, spans and logs (search-indexer, notifier, analytics). */
  name: string;
  groupId: string;
  topics: string[];
  /** A group without committed offsets starts at the topics' start (true) or at their end (false). */
  fromBeginning: boolean;
  consumer?: Partial<Omit<ConsumerConfig, 'groupId'>>;
  run?: Pick<ConsumerRunConfig, 'autoCommit' | 'autoCommitInterval' | 'partitionsConsumedConcurrently'>;
  metrics?: ConsumerMetrics;
}

export interface BatchTools {
  /** These messages are processed (stored, applied): counted, their lag observed, their spans ended. */
  done(messages: KafkaMessage[]): void;
}

export type BatchHandler = (payload: EachBatchPayload, tools: BatchTools) => Promise<void>;

export class ConsumerLifecycle {
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly log: Logger,
    private readonly opts: ConsumerLifecycleOptions,
    private readonly handle: BatchHandler,
  ) {}

  /** Resolves once the group is joined and the first fetch has fixed the starting offsets. */
  async start(): Promise<void> {
    const { name, groupId } = this.opts;
    const consumer = this.kafka.consumer({
      groupId,
      maxWaitTimeInMs: 500,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      ...this.opts.consumer,
      // A failed batch is retried from its last resolved offset with exponential backoff; past the retries the
      // consumer crashes and kafkajs restarts it (rejoining the group), so a long outage never ends the process.
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 30_000, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) =>
      this.log.warn({ err: payload.error, groupId, restart: payload.restart }, `${name}: consumer crashed`),
    );
    const ready = firstFetchAfterJoin(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: this.opts.topics, fromBeginning: this.opts.fromBeginning });
    await consumer.run({ eachBatchAutoResolve: false, ...this.opts.run, eachBatch: (p) => this.onBatch(p) });
    await ready;
  }

  /** Graceful: waits for the batch in hand, commits what was resolved, leaves the group. */
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const { name, metrics } = this.opts;
    const labels = { consumer: name, topic: batch.topic };
    // One span per message that carries a trace (its producer's `traceparent` header), continuing it.
    const spans = new Map<string, Span>();
    for (const m of batch.messages) {
      if (!m.headers?.traceparent) continue;
      const parent = contextFrom(m.headers);
      spans.set(
        m.offset,
        tracer().startSpan(
          `${batch.topic} process`,
          {
            kind: SpanKind.CONSUMER,
            attributes: {
              'messaging.system': 'kafka',
              'messaging.destination.name': batch.topic,
              'messaging.consumer.group.name': this.opts.groupId,
              'messaging.kafka.offset': m.offset,
              'shopflow.consumer': name,
            },
          },
          parent,
        ),
      );
    }
    const tools: BatchTools = {
      done: (messages) => {
        const now = Date.now();
        for (const m of messages) {
          metrics?.lag.observe(labels, Math.max(0, (now - Number(m.timestamp)) / 1000));
          const span = spans.get(m.offset);
          if (span) endSpan(span);
          spans.delete(m.offset);
        }
        metrics?.processed.inc(labels, messages.length);
      },
    };
    try {
      await this.handle(payload, tools);
    } catch (err) {
      metrics?.failed.inc(labels);
      for (const span of spans.values()) endSpan(span, err);
      throw err;
    }
    // Left unprocessed (a rebalance or a stop in the middle): redelivered later, in a new span.
    for (const span of spans.values()) span.end();
  }
}

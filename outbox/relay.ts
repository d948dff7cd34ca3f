import type { Knex } from 'knex';
import type { Producer } from 'kafkajs';
import type { Logger } from '../lib/logger';
import { contextFrom, endSpan, headersOf, SpanKind, tracer } from '../telemetry/tracing';
import type { OutboxMetrics } from './metrics';
import type { TopicDirectory } from '../stores/kafka/topic-directory';

interface OutboxRow {
  id: number;
  topic: string;
  msg_key: string;
  payload: string;
  created_at: Date;
  trace_context: string | null;
}

export interface RelayOptions {
  /** Pause between polls when the last batch was not full (ms). */
  intervalMs?: number;
  batchSize?: number;
  /** Published rows older than this are deleted (Kafka keeps the events; the table stays small). */
  retentionMs?: number;
  /** Lag and counts (the worker's /metrics). */
  metrics?: OutboxMetrics;
  /**
   * Which topics exist: rows for any other topic are held back (and logged) instead of sent, so that one row
   * for a missing topic cannot fail every batch and stop all events. Without it every row is sent.
   */
  topics?: TopicDirectory;
}

/**
 * Publishes the outbox to Kafka: rows are claimed with SKIP LOCKED (so several relays share the work), sent,
 * and marked published in the same transaction. A crash between send and commit sends a row again: delivery
 * is at least once, and consumers drop duplicates by event_id.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly retentionMs: number;
  private readonly metrics: OutboxMetrics | undefined;
  private readonly topics: TopicDirectory | undefined;
  private heldWarnedAt = -Infinity;

  constructor(
    private readonly mysql: Knex,
    private readonly producer: Producer,
    private readonly log: Logger,
    options: RelayOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 100;
    this.batchSize = options.batchSize ?? 500;
    this.retentionMs = options.retentionMs ?? 24 * 60 * 60_000;
    this.metrics = options.metrics;
    this.topics = options.topics;
  }

  start(): void {
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      let sent = 0;
      try {
        sent = await this.publishBatch();
      } catch (err) {
        this.log.warn({ err }, 'outbox relay: publish failed, will retry');
      }
      if (!this.stopped) this.timer = setTimeout(tick, sent >= this.batchSize ? 0 : this.intervalMs);
    };
    this.timer = setTimeout(tick, 0);
    this.pruneTimer = setInterval(() => {
      this.prunePublished(this.retentionMs).catch((err) =>
        this.log.warn({ err }, 'outbox relay: prune failed, will retry'),
      );
    }, 60_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
  }

  /** Deletes rows published more than `olderThanMs` ago, in small batches (short locks); returns how many.
   * Rows not yet published are never deleted, however old. */
  async prunePublished(olderThanMs: number, batch = 1000): Promise<number> {
    const cutoff = new Date(Date.now() - olderThanMs);
    let total = 0;
    for (;;) {
      const deleted: number = await this.mysql('outbox')
        .whereNotNull('published_at')
        .where('published_at', '<', cutoff)
        .orderBy('published_at')
        .limit(batch)
        .delete();
      total += deleted;
      if (deleted < batch || this.stopped) return total;
    }
  }

  private observe(rows: OutboxRow[]): void {
    if (!this.metrics) return;
    const now = Date.now();
    for (const r of rows) {
      this.metrics.published.inc({ topic: r.topic });
      this.metrics.lag.observe(Math.max(0, (now - new Date(r.created_at).getTime()) / 1000));
    }
  }

  /** One batch; returns how many events were published.
   *
   * READ COMMITTED, not the server's REPEATABLE READ: there the claim's `FOR UPDATE` also locks the gap after
   * the last unpublished row, so every INSERT into the outbox (each order's reservation, each item view and
   * search) waits for this transaction, which lasts as long as the Kafka send retries (up to a minute while the
   * broker is down). That was the Kafka outage's 500s: the API's MySQL pool filled with inserts waiting on the
   * relay's lock. Read committed locks only the claimed rows; SKIP LOCKED still splits them between relays. */
  async publishBatch(): Promise<number> {
    this.running = true;
    try {
      const sendable = this.topics ? [...(await this.topics.existing())] : undefined;
      if (sendable) await this.warnAboutHeldRows(sendable);
      if (sendable?.length === 0) return 0; // the cluster has not answered yet
      return await this.mysql.transaction(
        async (trx) => {
          const rows: OutboxRow[] = await trx('outbox')
            .select('id', 'topic', 'msg_key', 'payload', 'created_at', 'trace_context')
            .whereNull('published_at')
            .modify((q) => {
              if (sendable) void q.whereIn('topic', sendable);
            })
            .orderBy('id')
            .limit(this.batchSize)
            .forUpdate()
            .skipLocked();
          if (rows.length === 0) return 0;
          // A row written inside a trace is published in a span of that trace, whose context rides in the
          // message's headers for the consumers to continue.
          const spans = rows.map((r) =>
            r.trace_context
              ? tracer().startSpan(
                  `${r.topic} publish`,
                  {
                    kind: SpanKind.PRODUCER,
                    attributes: {
                      'messaging.system': 'kafka',
                      'messaging.destination.name': r.topic,
                      'messaging.message.id': r.msg_key,
                    },
                  },
                  contextFrom({ traceparent: r.trace_context }),
                )
              : undefined,
          );
          const byTopic = new Map<string, { key: string; value: string; headers?: Record<string, string> }[]>();
          rows.forEach((r, i) => {
            const list = byTopic.get(r.topic) ?? [];
            list.push({ key: r.msg_key, value: r.payload, ...(spans[i] ? { headers: headersOf(spans[i]!) } : {}) });
            byTopic.set(r.topic, list);
          });
          try {
            await this.producer.sendBatch({
              acks: -1,
              topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
            });
          } catch (err) {
            for (const span of spans) if (span) endSpan(span, err);
            throw err;
          }
          await trx('outbox')
            .whereIn(
              'id',
              rows.map((r) => r.id),
            )
            .update({ published_at: trx.fn.now(3) });
          for (const span of spans) if (span) endSpan(span);
          this.observe(rows);
          return rows.length;
        },
        { isolationLevel: 'read committed' },
      );
    } finally {
      this.running = false;
    }
  }

  /** At most once a minute: names the topics whose rows are held back because the topic does not exist. */
  private async warnAboutHeldRows(sendable: string[]): Promise<void> {
    if (sendable.length === 0 || Date.now() - this.heldWarnedAt < 60_000) return;
    this.heldWarnedAt = Date.now();
    const held = (await this.mysql('outbox')
      .whereNull('published_at')
      .whereNotIn('topic', sendable)
      .groupBy('topic')
      .select('topic', this.mysql.raw('COUNT(*) AS n'))) as { topic: string; n: number }[];
    if (held.length > 0) {
      this.log.warn(
        { held: held.map((h) => ({ topic: h.topic, rows: Number(h.n) })) },
        'outbox relay: rows held back, their topic does not exist in Kafka (create it to publish them)',
      );
    }
  }
}

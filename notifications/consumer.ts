/**
 * The Notification service's Kafka side: a consumer group of its own (NOTIFICATIONS_GROUP) on shopflow.orders.
 * Each batch is handled in chunks: parse the events, build the notifications (customer for every change,
 * sellers for new orders: `model.ts`), keep those whose recipient is a user of this database, store them with
 * INSERT IGNORE, and only then resolve and commit the chunk's offsets. So a consumer that stops or crashes
 * anywhere re-reads at most what it had not committed, and re-storing it changes nothing (the unique key on
 * source event and recipient): exactly one notification per change, whatever is redelivered.
 */
import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Knex } from 'knex';
import type { Logger } from '../lib/logger';
import { TOPICS } from '../stores/kafka/topics';
import { ConsumerLifecycle, type BatchTools, type ConsumerMetrics } from '../stores/kafka/consumer';
import {
  customerDraft,
  notifies,
  NotificationDraft,
  OrderEvent,
  parseOrderEvent,
  SELLER_NEW_ORDER,
  sellerCancelDrafts,
  sellerDrafts,
} from './model';
import type { NotificationRepository } from './repository';

export interface NotificationConsumerOptions {
  groupId: string;
  /** A group without committed offsets starts at the topic's start (true) or at its end (false: a new
   * deployment does not notify customers about months-old orders). A group with offsets resumes from them. */
  fromBeginning: boolean;
  /** Messages per stored-then-committed step (default 100). */
  chunkSize?: number;
  /** Called after each chunk is stored. */
  onStored?: (inserted: number) => void;
  /** Test hook: runs after a chunk is stored and before its offsets are resolved; throwing here is a crash
   * between storing and committing. */
  beforeCommit?: (info: { inserted: number; messages: number }) => Promise<void>;
  metrics?: ConsumerMetrics;
}

export class NotificationConsumer {
  private readonly lifecycle: ConsumerLifecycle;
  /** Counters for logs and tests. */
  events = 0;
  stored = 0;
  skipped = 0;

  constructor(
    kafka: Kafka,
    private readonly mysql: Knex,
    private readonly repo: NotificationRepository,
    private readonly log: Logger,
    private readonly opts: NotificationConsumerOptions,
  ) {
    const { groupId, fromBeginning, metrics } = opts;
    this.lifecycle = new ConsumerLifecycle(
      kafka,
      log,
      { name: 'notifier', groupId, fromBeginning, metrics, topics: [TOPICS.orders.name], run: { autoCommit: true } },
      (p, t) => this.onBatch(p, t),
    );
  }

  /** Resolves once the group is joined and the first fetch has fixed the starting offsets. */
  async start(): Promise<void> {
    await this.lifecycle.start();
    this.log.info({ groupId: this.opts.groupId }, 'notifier consuming order events');
  }

  private async onBatch(
    { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload,
    { done }: BatchTools,
  ): Promise<void> {
    const size = this.opts.chunkSize ?? 100;
    for (let i = 0; i < batch.messages.length; i += size) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + size);
      const inserted = await this.handle(chunk, batch.partition);
      await this.opts.beforeCommit?.({ inserted, messages: chunk.length });
      resolveOffset(chunk[chunk.length - 1]!.offset);
      done(chunk);
      await commitOffsetsIfNecessary();
      await heartbeat();
      if (inserted > 0) this.opts.onStored?.(inserted);
    }
  }

  /** Stores the notifications of these messages; returns how many were new. Throws on a store failure (the
   * batch is then retried by kafkajs, from the last committed offset). */
  async handle(messages: KafkaMessage[], partition = -1): Promise<number> {
    const events: OrderEvent[] = [];
    for (const m of messages) {
      const ev = parseOrderEvent(m.value);
      if (!ev) {
        this.skipped += 1;
        this.log.warn({ partition, offset: m.offset }, 'notifier: not an order event, skipped');
        continue;
      }
      if (notifies(ev)) events.push(ev);
    }
    this.events += messages.length;
    if (events.length === 0) return 0;
    const drafts = await this.draftsFor(events);
    const inserted = await this.repo.storeAll(drafts);
    this.stored += inserted;
    this.log.debug({ partition, events: events.length, drafts: drafts.length, inserted }, 'notifier chunk stored');
    return inserted;
  }

  private async draftsFor(events: OrderEvent[]): Promise<NotificationDraft[]> {
    const placedItems = [
      ...new Set(events.filter((e) => e.type === 'order.placed').flatMap((e) => e.data.items.map((l) => l.item_id))),
    ];
    const suppliers = new Map<string, string>();
    for (let i = 0; i < placedItems.length; i += 500) {
      const rows: { item_id: string; supplier_id: string }[] = await this.mysql('items')
        .select('item_id', 'supplier_id')
        .whereIn('item_id', placedItems.slice(i, i + 500))
        .whereNotNull('supplier_id');
      for (const r of rows) suppliers.set(r.item_id, r.supplier_id);
    }
    const drafts = events.flatMap((e) =>
      [customerDraft(e), ...sellerDrafts(e, suppliers)].filter((d): d is NotificationDraft => d !== undefined),
    );
    // A canceled order is announced to the sellers who were told to ship it: stored earlier, or drafted above
    // (one order's events arrive in order on one partition, so its `placed` is never behind its `canceled`).
    const canceled = events.filter((e) => e.type === 'order.canceled');
    if (canceled.length > 0) {
      const told = new Map<string, string[]>();
      const note = (orderId: string | null, userId: string) =>
        orderId && told.set(orderId, [...(told.get(orderId) ?? []), userId]);
      for (const d of drafts) if (d.audience === 'seller' && d.type === SELLER_NEW_ORDER) note(d.order_id, d.user_id);
      for (const r of await this.repo.sellersToldOf(canceled.map((e) => e.data.order_id))) note(r.order_id, r.user_id);
      drafts.push(...canceled.flatMap((e) => sellerCancelDrafts(e, told.get(e.data.order_id) ?? [])));
    }
    // Only recipients who are users here: the topic may carry another environment's orders (a shared broker).
    const ids = [...new Set(drafts.map((d) => d.user_id))];
    const known = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows: { user_id: string }[] = await this.mysql('users')
        .select('user_id')
        .whereIn('user_id', ids.slice(i, i + 500));
      for (const r of rows) known.add(r.user_id);
    }
    return drafts.filter((d) => known.has(d.user_id));
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
  }
}

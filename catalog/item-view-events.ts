/**
 * The item-cache consumer: every `item.*` event (shopflow.items) and `stock.changed` event (shopflow.inventory)
 * drops the cached GET /items/{id} answer of the item it names (./item-views.ts), in one Redis round trip per
 * batch. It is what keeps the cache current for changes made outside the API (the saga's releases and
 * compensations, the sweepers) and for an API drop that failed. Its own consumer group (ITEM_CACHE_GROUP), so a
 * slow search engine never delays it. Runs in the search-indexer process (workers/search-indexer.ts).
 */
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../lib/logger';
import { TOPICS } from '../stores/kafka/topics';
import { ConsumerLifecycle, type BatchTools, type ConsumerMetrics } from '../stores/kafka/consumer';
import { itemIdOf } from '../events/item-events';
import type { ItemViewCache } from './item-views';

export class ItemViewEvents {
  private readonly lifecycle: ConsumerLifecycle;
  events = 0;

  constructor(
    kafka: Kafka,
    private readonly views: ItemViewCache,
    private readonly log: Logger,
    private readonly groupId: string,
    metrics?: ConsumerMetrics,
  ) {
    // Only events from the start on matter (the cache holds nothing older than its TTL): a new group starts at
    // the end of the topics.
    this.lifecycle = new ConsumerLifecycle(
      kafka,
      log,
      {
        name: 'item-cache',
        groupId,
        topics: [TOPICS.items.name, TOPICS.inventory.name],
        fromBeginning: false,
        consumer: { maxWaitTimeInMs: 100 },
        metrics,
      },
      (payload, tools) => this.onBatch(payload, tools),
    );
  }

  /** Resolves once the group is joined and its starting offsets are fixed. */
  async start(): Promise<void> {
    await this.lifecycle.start();
    this.log.info({ groupId: this.groupId }, 'item cache consumer running');
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
  }

  /** One Redis round trip per batch: the cached views of every item the batch names are dropped. */
  private async onBatch(
    { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
    tools: BatchTools,
  ): Promise<void> {
    if (!isRunning() || isStale()) return;
    const ids = new Set<string>();
    for (const m of batch.messages) {
      const id = itemIdOf(m.value, m.key);
      if (id) ids.add(id);
    }
    await this.views.drop([...ids]);
    resolveOffset(batch.lastOffset());
    tools.done(batch.messages);
    await heartbeat();
    this.events += batch.messages.length;
  }
}

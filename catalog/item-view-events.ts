/**
 * The item-cache consumer: every `item.*` event (shopflow.items) and `stock.changed` event (shopflow.inventory)
 * drops the cached GET /items/{id} answer of the item it names (./item-views.ts), in one Redis round trip per
 * batch. It is what keeps the cache current for changes made outside the API (the saga's releases and
 * compensations, the sweepers) and for an API drop that failed. Its own consumer group (ITEM_CACHE_GROUP), so a
 * slow search engine never delays it. Runs in the search-indexer process (workers/search-indexer.ts).
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../lib/logger';
import { TOPICS } from '../stores/kafka/topics';
import { firstFetchAfterJoin } from '../stores/kafka/client';
import { itemIdOf } from '../events/item-events';
import type { ItemViewCache } from './item-views';

export class ItemViewEvents {
  private consumer: Consumer | undefined;
  events = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly views: ItemViewCache,
    private readonly log: Logger,
    private readonly groupId: string,
  ) {}

  /** Resolves once the group is joined; only events from then on matter (the cache holds nothing older than
   * its TTL), so a new group starts at the end of the topics. */
  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: 100,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
    });
    this.consumer = consumer;
    const ready = firstFetchAfterJoin(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.items.name, TOPICS.inventory.name], fromBeginning: false });
    await consumer.run({ eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(p) });
    await ready;
    this.log.info({ groupId: this.groupId }, 'item cache consumer running');
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const ids = new Set<string>();
    for (const m of batch.messages) {
      const id = itemIdOf(m.value, m.key);
      if (id) ids.add(id);
    }
    await this.views.drop([...ids]);
    resolveOffset(batch.lastOffset());
    await heartbeat();
    this.events += batch.messages.length;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }
}

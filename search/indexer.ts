/**
 * Keeps the search index in step with the catalog. Events (`item.upserted` on shopflow.items, `stock.changed`
 * on shopflow.inventory) are notifications: for every item they name, the indexer reads the current state
 * from the authorities (MySQL row, committed Mongo details) and writes it with the row's `version` as the
 * document's external version (`external_gte`). So redelivered, duplicated or reordered events are harmless:
 * the newest state wins, an older read is refused by the engine as stale, and a sold-out item
 * (`in_stock: false`) leaves the results until it is restocked.
 */
import { parseWith } from '../events/envelope';
import { ItemEvent, itemIdOf } from '../events/item-events';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Knex } from 'knex';
import type { Db } from 'mongodb';
import type { Logger } from '../lib/logger';
import { ItemDetailsStore } from '../catalog/details';
import { ItemExtras, ItemRow, ITEM_COLUMNS } from '../catalog/model';
import { TOPICS } from '../stores/kafka/topics';
import { ConsumerLifecycle, type BatchTools, type ConsumerMetrics } from '../stores/kafka/consumer';
import type { ItemDocument } from '../stores/search/mapping';
import type { SearchPort, VersionedDocument } from '../stores/search/port';

export interface SyncReport {
  requested: number;
  indexed: number;
  stale: number;
  missing: number;
  withoutAttributes: number;
}

export function toDocument(row: ItemRow, { attributes, images }: ItemExtras): ItemDocument {
  const stock = Number(row.stock);
  return {
    item_id: row.item_id,
    supplier_id: row.supplier_id,
    name: row.name,
    description: row.description,
    category: row.category,
    price: Number(row.price),
    stock,
    in_stock: stock > 0 && Boolean(row.listed ?? true),
    images,
    attributes,
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

export class SearchIndexer {
  private readonly details: ItemDetailsStore;
  constructor(
    private readonly mysql: Knex,
    mongo: Db,
    private readonly search: SearchPort,
    private readonly log: Logger,
  ) {
    this.details = new ItemDetailsStore(mongo);
  }

  /** Indexes the current state of these items (ids as events carry them). Throws when the engine fails, so
   * the caller (the consumer) retries the batch. */
  async sync(itemIds: string[]): Promise<SyncReport> {
    const report: SyncReport = { requested: itemIds.length, indexed: 0, stale: 0, missing: 0, withoutAttributes: 0 };
    for (let i = 0; i < itemIds.length; i += 500) {
      const chunk = itemIds.slice(i, i + 500);
      const rows: ItemRow[] = await this.mysql('items')
        .select(...ITEM_COLUMNS)
        .whereIn('item_id', chunk);
      report.missing += chunk.length - rows.length; // not in this database (e.g. another environment's event)
      await this.write(rows, report);
    }
    return report;
  }

  /** `item.deleted` events: each named item that MySQL no longer holds leaves the index. (Only for these
   * events: other environments' events also name items this database lacks, and those are left alone.) */
  async removeDeleted(itemIds: string[]): Promise<number> {
    if (itemIds.length === 0) return 0;
    const present = new Set(
      (await this.mysql('items').select('item_id').whereIn('item_id', itemIds)).map((r: { item_id: string }) =>
        r.item_id.toLowerCase(),
      ),
    );
    const gone = itemIds.filter((id) => !present.has(id.toLowerCase()));
    for (const id of gone) await this.search.remove(id);
    return gone.length;
  }

  /** Every item of the catalog, in pages (a backfill, or a new index). */
  async reindexAll(pageSize = 1000): Promise<SyncReport> {
    const report: SyncReport = { requested: 0, indexed: 0, stale: 0, missing: 0, withoutAttributes: 0 };
    let after = '';
    for (;;) {
      const rows: ItemRow[] = await this.mysql('items')
        .select(...ITEM_COLUMNS)
        .where('item_id', '>', after)
        .orderBy('item_id')
        .limit(pageSize);
      if (rows.length === 0) return report;
      report.requested += rows.length;
      await this.write(rows, report);
      after = rows[rows.length - 1]!.item_id;
    }
  }

  private async write(rows: ItemRow[], report: SyncReport): Promise<void> {
    if (rows.length === 0) return;
    const extras = await this.details.committedExtras(rows);
    const docs: VersionedDocument[] = rows.map((r) => ({
      doc: toDocument(r, extras.get(r.item_id) ?? { attributes: {}, images: [] }),
      version: Number(r.version),
    }));
    const out = await this.search.bulkUpsert(docs);
    report.indexed += out.indexed;
    report.stale += out.stale;
    if (out.failed.length === 0) return;
    // A document the mapping refuses (e.g. the index's field limit reached by attribute keys) is indexed
    // without its attributes rather than blocking the stream; anything else (overload, outage) is retried.
    const refused = out.failed.filter((f) => f.status === 400);
    const other = out.failed.filter((f) => f.status !== 400);
    if (other.length > 0)
      throw new Error(`search index refused ${other.length} documents: ${other[0]!.status} ${other[0]!.reason}`);
    const byId = new Map(docs.map((d) => [d.doc.item_id, d]));
    this.log.warn({ refused: refused.slice(0, 5) }, 'search index refused documents; indexing them without attributes');
    const retry = refused
      .map((f) => byId.get(f.item_id)!)
      .filter(Boolean)
      .map((d) => ({ ...d, doc: { ...d.doc, attributes: {} } }));
    const again = await this.search.bulkUpsert(retry);
    report.indexed += again.indexed;
    report.stale += again.stale;
    report.withoutAttributes += again.indexed;
    if (again.failed.length > 0)
      throw new Error(`search index refused ${again.failed.length} documents: ${again.failed[0]!.reason}`);
  }
}

export interface IndexerConsumerOptions {
  groupId: string;
  /** A new group reads the topics from the start (a production indexer) or only what comes next (tests). */
  fromBeginning: boolean;
  metrics?: ConsumerMetrics;
}

/** True for an `item.deleted` event. */
export function isDeletion(value: Buffer | null): boolean {
  return parseWith(ItemEvent, value)?.type === 'item.deleted';
}

/** The Kafka side: a consumer group of its own on shopflow.items and shopflow.inventory. */
export class SearchIndexConsumer {
  private readonly lifecycle: ConsumerLifecycle;
  /** Event time to indexed, of the latest batch (ms), and counters, for logs and the benchmark. */
  lastLagMs = 0;
  batches = 0;
  events = 0;

  constructor(
    kafka: Kafka,
    private readonly indexer: SearchIndexer,
    private readonly log: Logger,
    private readonly opts: IndexerConsumerOptions,
  ) {
    const { groupId, fromBeginning, metrics } = opts;
    this.lifecycle = new ConsumerLifecycle(
      kafka,
      log,
      { name: 'search-indexer', groupId, fromBeginning, metrics, topics: [TOPICS.items.name, TOPICS.inventory.name] },
      (p, t) => this.onBatch(p, t),
    );
  }

  /** Resolves once the group is joined and the first fetch has fixed the starting offsets. */
  async start(): Promise<void> {
    await this.lifecycle.start();
    this.log.info({ groupId: this.opts.groupId }, 'search indexer consuming');
  }

  private async onBatch(
    { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
    { done }: BatchTools,
  ): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const ids = new Set<string>();
    const deleted = new Set<string>();
    let oldest = Number.POSITIVE_INFINITY;
    for (const m of batch.messages) {
      const id = itemIdOf(m.value, m.key);
      if (id && isDeletion(m.value)) deleted.add(id);
      else if (id) ids.add(id);
      else this.log.warn({ topic: batch.topic, offset: m.offset }, 'search indexer: event without an item id, skipped');
      oldest = Math.min(oldest, Number(m.timestamp));
    }
    const report = await this.indexer.sync([...ids]);
    await this.indexer.removeDeleted([...deleted]);
    resolveOffset(batch.lastOffset());
    done(batch.messages);
    await heartbeat();
    this.batches += 1;
    this.events += batch.messages.length;
    this.lastLagMs = Number.isFinite(oldest) ? Date.now() - oldest : 0;
    this.log.debug(
      {
        topic: batch.topic,
        partition: batch.partition,
        events: batch.messages.length,
        ...report,
        lagMs: this.lastLagMs,
      },
      'search index batch',
    );
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
  }
}

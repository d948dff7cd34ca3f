import type { ItemDocument } from './mapping';
import type { SearchQuery, SearchResult } from '../../search/query';

/** One document of a bulk write, with the item row's version: the engine keeps it as the document's external
 * version (`external_gte`), so an older state never overwrites a newer one. */
export interface VersionedDocument {
  doc: ItemDocument;
  version: number;
}

export interface BulkOutcome {
  indexed: number;
  /** Refused because the index already holds this or a newer version: a stale event, ignored. */
  stale: number;
  failed: { item_id: string; status: number; reason: string }[];
}

/** What the platform needs from a search engine. OpenSearch (the native stack) and Elasticsearch 8 each have
 * an adapter; both speak the same query DSL, built once (search/query.ts). */
export interface SearchPort {
  ping(): Promise<void>;
  ensureIndex(): Promise<void>;
  upsert(doc: ItemDocument): Promise<void>;
  bulkUpsert(docs: VersionedDocument[]): Promise<BulkOutcome>;
  get(itemId: string): Promise<ItemDocument | null>;
  search(query: SearchQuery): Promise<SearchResult>;
  remove(itemId: string): Promise<void>;
  refresh(): Promise<void>;
  close(): Promise<void>;
}

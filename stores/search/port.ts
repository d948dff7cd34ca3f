import type { ItemDocument } from './mapping';

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

/** A search request body in the query DSL both engines speak (the search domain builds it: search/query.ts),
 * and the documents' sources that matched. */
export type SearchBody = Record<string, unknown>;
export interface RawSearchResult {
  total: number;
  /** false when the engine stopped counting at the body's `track_total_hits` (then `total` is a lower bound). */
  totalIsExact: boolean;
  sources: Record<string, unknown>[];
}

/** What the platform needs from a search engine. OpenSearch (the native stack) and Elasticsearch 8 each have
 * an adapter. */
export interface SearchPort {
  ping(): Promise<void>;
  ensureIndex(): Promise<void>;
  upsert(doc: ItemDocument): Promise<void>;
  bulkUpsert(docs: VersionedDocument[]): Promise<BulkOutcome>;
  get(itemId: string): Promise<ItemDocument | null>;
  search(body: SearchBody): Promise<RawSearchResult>;
  remove(itemId: string): Promise<void>;
  refresh(): Promise<void>;
  close(): Promise<void>;
}

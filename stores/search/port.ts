import type { ItemDocument } from './mapping';

/** What the platform needs from a search engine. OpenSearch (the native stack) and Elasticsearch 8 each have
 * an adapter; both speak the same query DSL, built once. */
export interface SearchPort {
  ping(): Promise<void>;
  ensureIndex(): Promise<void>;
  upsert(doc: ItemDocument): Promise<void>;
  get(itemId: string): Promise<ItemDocument | null>;
  remove(itemId: string): Promise<void>;
  refresh(): Promise<void>;
  close(): Promise<void>;
}

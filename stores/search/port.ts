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
/** One search of a `searchMany`: its result, or the engine's refusal of that search alone (a ResponseError with
 * the status the engine gave it, as `search` would have thrown). */
export type SearchOutcome = RawSearchResult | Error;

/** The `hits` object of a search response, as both engines send it. */
export interface EngineHits {
  total?: number | { value: number; relation?: string };
  hits: { _source?: Record<string, unknown> }[];
}

export function rawResult(hits: EngineHits): RawSearchResult {
  const total = hits.total;
  return {
    total: typeof total === 'number' ? total : (total?.value ?? 0),
    totalIsExact: typeof total === 'number' || total?.relation !== 'gte',
    sources: hits.hits.map((h) => h._source ?? {}),
  };
}

/** One answer of `_msearch`: a search's response, or its error with the status it would have had alone. */
export interface MsearchItem {
  hits?: EngineHits;
  error?: unknown;
  status?: number;
}

/** An `_msearch` answer as an outcome; a refused search becomes the engine client's own `ResponseError` (given
 * as `responseError`), so stores/errors.ts and the route read it exactly as if `search` had thrown it. */
export function msearchOutcome(item: MsearchItem, responseError: new (meta: never) => Error): SearchOutcome {
  if (item.error === undefined) return rawResult(item.hits!);
  const meta = { body: item, statusCode: item.status, headers: {}, warnings: null, meta: {} };
  return new responseError(meta as never);
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
  /** Several searches in one engine request (`_msearch`), outcomes in the bodies' order. Rejects only when the
   * request as a whole failed (the engine down, a timeout): then none of them ran or was answered. */
  searchMany(bodies: SearchBody[]): Promise<SearchOutcome[]>;
  remove(itemId: string): Promise<void>;
  refresh(): Promise<void>;
  close(): Promise<void>;
}

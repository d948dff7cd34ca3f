/**
 * The one query builder both search adapters use (OpenSearch and Elasticsearch speak the same DSL here).
 * User text only ever lands in a `multi_match` query's `query` string (analyzed as words, never parsed as
 * query syntax) and filter values only in `term(s)` values; field names come from a fixed list or from an
 * attribute key that matched ATTRIBUTE_KEY. Out-of-stock items are filtered out of every query.
 */
import { ATTRIBUTE_KEY } from '../catalog/model';
import type { SearchPort } from '../stores/search/port';

export const SORTS = ['relevance', 'price', '-price'] as const;
export type SortOrder = (typeof SORTS)[number];

export const SEARCH_LIMITS = {
  maxLimit: 100,
  /** from + size never beyond this (the engines' max_result_window). */
  maxWindow: 10_000,
  maxQueryLength: 200,
  maxFilters: 10,
  maxFilterValue: 256,
  defaultLimit: 20,
} as const;

/** How far a search counts its matches exactly by default (SEARCH_EXACT_TOTAL_UP_TO); past it the total is
 * "at least". Counting every match of a broad query scored all of them and halved the engine's throughput. */
export const DEFAULT_EXACT_TOTAL_UP_TO = 1000;

export interface SearchQuery {
  text?: string;
  sort: SortOrder;
  categories: string[];
  /** attribute key -> accepted values (OR); keys are ATTRIBUTE_KEY-valid. */
  attributes: Record<string, string[]>;
  minPrice?: number;
  maxPrice?: number;
  limit: number;
  offset: number;
}

export interface SearchHit {
  item_id: string;
  name: string;
  price: number;
  category: string;
  supplier_id: string | null;
  attributes: Record<string, string>;
  images: string[];
}

export interface SearchResult {
  /** Exact when totalIsExact; else the engine stopped counting there ("1,000 or more"). */
  total: number;
  totalIsExact: boolean;
  hits: SearchHit[];
}

export class SearchInputError extends Error {}

/** Document fields that are not attribute filters (price has min_price/max_price; stock is never a filter). */
const RESERVED = new Set([
  'item_id',
  'supplier_id',
  'name',
  'description',
  'price',
  'stock',
  'in_stock',
  'images',
  'updated_at',
  'attributes',
  '_id',
  '_source',
  '_index',
]);
const CONTROL = /[\u0000-\u001f\u007f]/;

/** `category:Electronics,brand:Sony` -> categories and attribute filters; anything else is a SearchInputError. */
export function parseFilter(filter: string | undefined): Pick<SearchQuery, 'categories' | 'attributes'> {
  const out: Pick<SearchQuery, 'categories' | 'attributes'> = {
    categories: [],
    attributes: Object.create(null) as Record<string, string[]>,
  };
  if (filter === undefined || filter === '') return out;
  const parts = filter.split(',');
  if (parts.length > SEARCH_LIMITS.maxFilters)
    throw new SearchInputError(`at most ${SEARCH_LIMITS.maxFilters} filters`);
  for (const part of parts) {
    const at = part.indexOf(':');
    if (at <= 0) throw new SearchInputError(`a filter is field:value, got "${part.slice(0, 50)}"`);
    const field = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (value === '' || value.length > SEARCH_LIMITS.maxFilterValue || CONTROL.test(value))
      throw new SearchInputError(`bad value for filter ${field.slice(0, 64)}`);
    if (field === 'category') {
      out.categories.push(value);
    } else if (RESERVED.has(field) || !ATTRIBUTE_KEY.test(field)) {
      throw new SearchInputError(
        `unknown filter field "${field.slice(0, 64)}": use category or an attribute name${field === 'price' ? ' (and min_price/max_price for prices)' : ''}`,
      );
    } else {
      (out.attributes[field] ??= []).push(value);
    }
  }
  return out;
}

export function checkText(text: string): void {
  if (text.length > SEARCH_LIMITS.maxQueryLength)
    throw new SearchInputError(`query is at most ${SEARCH_LIMITS.maxQueryLength} characters`);
  if (CONTROL.test(text)) throw new SearchInputError('query has control characters');
}

export function checkPage(limit: number, offset: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_LIMITS.maxLimit)
    throw new SearchInputError(`limit is 1 to ${SEARCH_LIMITS.maxLimit}`);
  if (!Number.isInteger(offset) || offset < 0 || offset + limit > SEARCH_LIMITS.maxWindow)
    throw new SearchInputError(`offset + limit is at most ${SEARCH_LIMITS.maxWindow}`);
}

export const TEXT_FIELDS = ['name^3', 'category.text^2', 'description', 'attributes.*.text'];
export const SOURCE_FIELDS = ['item_id', 'name', 'price', 'category', 'supplier_id', 'attributes', 'images'];

/** The request body (query, sort, paging) for a search; validated again here so no caller can skip it.
 * Matches are counted exactly up to `exactTotalUpTo`, then the engine stops counting (the total is a floor). */
export function buildSearchBody(
  q: SearchQuery,
  exactTotalUpTo: number = DEFAULT_EXACT_TOTAL_UP_TO,
): Record<string, unknown> {
  checkPage(q.limit, q.offset);
  const text = q.text?.trim();
  if (text) checkText(text);
  for (const key of Object.keys(q.attributes))
    if (RESERVED.has(key) || !ATTRIBUTE_KEY.test(key)) throw new SearchInputError(`bad attribute ${key}`);
  if (!SORTS.includes(q.sort)) throw new SearchInputError('unknown sort');

  const filter: Record<string, unknown>[] = [{ term: { in_stock: true } }, { range: { stock: { gt: 0 } } }];
  if (q.categories.length > 0) filter.push({ terms: { category: q.categories } });
  for (const [key, values] of Object.entries(q.attributes)) filter.push({ terms: { [`attributes.${key}`]: values } });
  if (q.minPrice !== undefined || q.maxPrice !== undefined) {
    filter.push({
      range: {
        price: {
          ...(q.minPrice !== undefined ? { gte: q.minPrice } : {}),
          ...(q.maxPrice !== undefined ? { lte: q.maxPrice } : {}),
        },
      },
    });
  }
  const must: Record<string, unknown>[] = text
    ? [
        {
          multi_match: {
            query: text,
            fields: TEXT_FIELDS,
            type: 'best_fields',
            operator: 'or',
            tie_breaker: 0.3,
            lenient: true,
          },
        },
      ]
    : [];
  const should: Record<string, unknown>[] = text ? [{ match_phrase: { name: { query: text, boost: 2 } } }] : [];

  const tiebreak = { item_id: { order: 'asc' } };
  const sort =
    q.sort === 'price'
      ? [{ price: { order: 'asc' } }, tiebreak]
      : q.sort === '-price'
        ? [{ price: { order: 'desc' } }, tiebreak]
        : [{ _score: { order: 'desc' } }, tiebreak];

  return {
    from: q.offset,
    size: q.limit,
    track_total_hits: exactTotalUpTo,
    _source: SOURCE_FIELDS,
    query: { bool: { filter, ...(must.length ? { must } : {}), ...(should.length ? { should } : {}) } },
    sort,
  };
}

export function toHit(source: Record<string, unknown>): SearchHit {
  return {
    item_id: String(source.item_id),
    name: String(source.name),
    price: Number(source.price),
    category: String(source.category),
    supplier_id: (source.supplier_id as string | null) ?? null,
    attributes: (source.attributes as Record<string, string>) ?? {},
    images: (source.images as string[]) ?? [],
  };
}

/** Runs a search on the engine: the body built (and checked) here, the hits mapped back. */
export async function searchItems(
  engine: SearchPort,
  q: SearchQuery,
  exactTotalUpTo: number = DEFAULT_EXACT_TOTAL_UP_TO,
): Promise<SearchResult> {
  const r = await engine.search(buildSearchBody(q, exactTotalUpTo));
  return { total: r.total, totalIsExact: r.totalIsExact, hits: r.sources.map(toHit) };
}

import { BatchingSearch, type SearchBatching } from './batching';
import { ElasticsearchAdapter } from './elasticsearch';
import { OpenSearchAdapter } from './opensearch';
import type { SearchPort } from './port';

/** The engine's adapter; with `batching`, a process's concurrent searches share engine requests (batching.ts). */
export function createSearch(
  engine: 'opensearch' | 'elasticsearch',
  url: string,
  index: string,
  batching?: SearchBatching,
): SearchPort {
  const adapter = engine === 'elasticsearch' ? new ElasticsearchAdapter(url, index) : new OpenSearchAdapter(url, index);
  return batching ? new BatchingSearch(adapter, batching) : adapter;
}
export type { SearchPort, SearchBatching };

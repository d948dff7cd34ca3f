import { ElasticsearchAdapter } from './elasticsearch';
import { OpenSearchAdapter } from './opensearch';
import type { SearchPort } from './port';

export function createSearch(engine: 'opensearch' | 'elasticsearch', url: string, index: string): SearchPort {
  return engine === 'elasticsearch' ? new ElasticsearchAdapter(url, index) : new OpenSearchAdapter(url, index);
}
export type { SearchPort };

import { Client } from '@opensearch-project/opensearch';
import { ITEMS_INDEX_BODY, ItemDocument } from './mapping';
import type { SearchPort } from './port';

export class OpenSearchAdapter implements SearchPort {
  private readonly client: Client;
  constructor(url: string, private readonly index: string) {
    this.client = new Client({ node: url, requestTimeout: 10_000 });
  }
  async ping(): Promise<void> {
    await this.client.cluster.health({ timeout: '2s' });
  }
  async ensureIndex(): Promise<void> {
    const exists = await this.client.indices.exists({ index: this.index });
    if (exists.body) return;
    try {
      await this.client.indices.create({ index: this.index, body: ITEMS_INDEX_BODY as never });
    } catch (err) {
      // Another process created it between the check and the create: fine.
      if (!String((err as Error).message).includes('resource_already_exists')) throw err;
    }
  }
  async upsert(doc: ItemDocument): Promise<void> {
    await this.client.index({ index: this.index, id: doc.item_id, body: doc as never });
  }
  async get(itemId: string): Promise<ItemDocument | null> {
    const res = await this.client.get({ index: this.index, id: itemId }, { ignore: [404] });
    const body = res.body as { found?: boolean; _source?: ItemDocument };
    return body.found ? body._source! : null;
  }
  async remove(itemId: string): Promise<void> {
    await this.client.delete({ index: this.index, id: itemId }, { ignore: [404] });
  }
  async refresh(): Promise<void> {
    await this.client.indices.refresh({ index: this.index });
  }
  async close(): Promise<void> {
    await this.client.close();
  }
}

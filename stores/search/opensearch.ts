import { Client, errors } from '@opensearch-project/opensearch';
import { ADDED_FIELDS, ITEMS_INDEX_BODY, ItemDocument } from './mapping';
import {
  rawResult,
  type BulkOutcome,
  type EngineHits,
  type MsearchItem,
  msearchOutcome,
  type RawSearchResult,
  type SearchBody,
  type SearchOutcome,
  type SearchPort,
  type VersionedDocument,
} from './port';
import { bulkOperations, bulkOutcome } from './bulk';

export class OpenSearchAdapter implements SearchPort {
  private readonly client: Client;
  constructor(
    url: string,
    private readonly index: string,
  ) {
    this.client = new Client({ node: url, requestTimeout: 10_000 });
  }
  async ping(): Promise<void> {
    await this.client.cluster.health({ timeout: '2s' });
  }
  async ensureIndex(): Promise<void> {
    const exists = await this.client.indices.exists({ index: this.index });
    if (exists.body) {
      await this.client.indices.putMapping({ index: this.index, body: { properties: ADDED_FIELDS } as never });
      return;
    }
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
  async bulkUpsert(docs: VersionedDocument[]): Promise<BulkOutcome> {
    if (docs.length === 0) return { indexed: 0, stale: 0, failed: [] };
    const res = await this.client.bulk({ body: bulkOperations(this.index, docs) as never });
    return bulkOutcome((res.body as unknown as { items: never[] }).items);
  }
  async search(body: SearchBody): Promise<RawSearchResult> {
    const res = await this.client.search({ index: this.index, body: body as never });
    return rawResult(res.body.hits as EngineHits);
  }
  async searchMany(bodies: SearchBody[]): Promise<SearchOutcome[]> {
    const res = await this.client.msearch({ index: this.index, body: bodies.flatMap((b) => [{}, b]) as never });
    return (res.body.responses as MsearchItem[]).map((item) => msearchOutcome(item, errors.ResponseError));
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

import { Client, errors } from '@elastic/elasticsearch';
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

/** For Elasticsearch 8 deployments (the `elasticsearch` profile of docker-compose.yml). The client refuses
 * OpenSearch (product check), hence the separate adapter. */
export class ElasticsearchAdapter implements SearchPort {
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
    if (await this.client.indices.exists({ index: this.index })) {
      await this.client.indices.putMapping({ index: this.index, properties: ADDED_FIELDS as never });
      return;
    }
    try {
      await this.client.indices.create({ index: this.index, ...(ITEMS_INDEX_BODY as object) });
    } catch (err) {
      if (!String((err as Error).message).includes('resource_already_exists')) throw err;
    }
  }
  async upsert(doc: ItemDocument): Promise<void> {
    await this.client.index({ index: this.index, id: doc.item_id, document: doc });
  }
  async bulkUpsert(docs: VersionedDocument[]): Promise<BulkOutcome> {
    if (docs.length === 0) return { indexed: 0, stale: 0, failed: [] };
    const res = await this.client.bulk({ operations: bulkOperations(this.index, docs) as never });
    return bulkOutcome(res.items as never[]);
  }
  async search(body: SearchBody): Promise<RawSearchResult> {
    const res = await this.client.search<Record<string, unknown>>({ index: this.index, ...body });
    return rawResult(res.hits as EngineHits);
  }
  async searchMany(bodies: SearchBody[]): Promise<SearchOutcome[]> {
    const res = await this.client.msearch<Record<string, unknown>>({
      index: this.index,
      searches: bodies.flatMap((b) => [{}, b]) as never,
    });
    return res.responses.map((item) => msearchOutcome(item as MsearchItem, errors.ResponseError));
  }
  async get(itemId: string): Promise<ItemDocument | null> {
    const res = await this.client.get<ItemDocument>({ index: this.index, id: itemId }, { ignore: [404] });
    return res.found ? res._source! : null;
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

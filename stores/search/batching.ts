/**
 * A process's searches go to the engine together when it is busy (issue 12). Each engine request has a fixed
 * cost (HTTP, the REST layer, one search phase each) of about 2 ms of OpenSearch's CPU on the 2-core box, more
 * than a small query's own work, so 1,000 distinct queries over 100k items ran at 500-580 req/s one per request
 * and 1,000-1,130 in `_msearch` batches of 8-16 (OpenSearch alone, bench notes in the README).
 *
 * At most `inFlight` engine requests per process; a search that arrives while they are all busy waits for the
 * next free one and goes with every other search that waited meanwhile (up to `maxBatch` per request). An idle
 * process therefore sends each search at once, alone, as a plain `_search`: batching adds no wait, it only
 * replaces a queue of single requests by fewer, fuller ones. The cost: a batch answers when its slowest search
 * does, so one expensive query delays the others that went with it (queries are bounded: search/query.ts).
 * DataLoader (no cache: every search runs) does the batching; a batch is dispatched when a slot is free.
 *
 * The wait is bounded: while `maxWaiting` searches already wait (an engine that stopped answering holds
 * its slots until the client's 10 s timeout), a new search fails at once with `SearchBusyError`, which the API
 * answers 503 with Retry-After, instead of joining a queue that only grows.
 */
import DataLoader from 'dataloader';
import type { ItemDocument } from './mapping';
import type { BulkOutcome, RawSearchResult, SearchBody, SearchOutcome, SearchPort, VersionedDocument } from './port';

export interface SearchBatching {
  /** Engine search requests in flight per process (SEARCH_BATCH_IN_FLIGHT). */
  inFlight: number;
  /** Searches per engine request at most (SEARCH_BATCH_MAX). */
  maxBatch: number;
  /** Searches that may wait for a slot at most (SEARCH_BATCH_WAITING_MAX); past it a search fails at once. */
  maxWaiting: number;
}

/** Every engine request slot is taken and enough searches already wait for one: try again shortly. */
export class SearchBusyError extends Error {
  override readonly name = 'SearchBusyError';
  constructor(waiting: number) {
    super(`the search engine is busy: ${waiting} searches already wait for it`);
  }
}

/** Counts free request slots; a batch waits for one, in arrival order. */
class Slots {
  private readonly waiting: (() => void)[] = [];
  constructor(private free: number) {}

  /** Calls `go` once a slot is taken for it: on the next tick when one is free (so that searches made in the
   * same tick go together), else when a request ends. */
  take(go: () => void): void {
    if (this.free > 0) {
      this.free--;
      process.nextTick(go);
    } else this.waiting.push(go);
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

export class BatchingSearch implements SearchPort {
  private readonly batches: DataLoader<SearchBody, RawSearchResult>;
  /** Searches handed to DataLoader and not yet sent to the engine. */
  private waiting = 0;

  constructor(
    private readonly engine: SearchPort,
    private readonly opts: SearchBatching,
  ) {
    const slots = new Slots(opts.inFlight);
    this.batches = new DataLoader((bodies) => this.send(bodies, slots), {
      cache: false,
      maxBatchSize: opts.maxBatch,
      batchScheduleFn: (dispatch) => slots.take(dispatch),
    });
  }

  search(body: SearchBody): Promise<RawSearchResult> {
    if (this.waiting >= this.opts.maxWaiting) return Promise.reject(new SearchBusyError(this.waiting));
    this.waiting++;
    return this.batches.load(body);
  }

  /** The batch's searches; the slot it holds is given back when the engine has answered (or failed). */
  private async send(bodies: readonly SearchBody[], slots: Slots): Promise<SearchOutcome[]> {
    this.waiting -= bodies.length;
    try {
      if (bodies.length === 1) return [await this.engine.search(bodies[0]!)];
      return await this.engine.searchMany([...bodies]);
    } finally {
      slots.release();
    }
  }

  searchMany(bodies: SearchBody[]): Promise<SearchOutcome[]> {
    return this.engine.searchMany(bodies);
  }
  ping(): Promise<void> {
    return this.engine.ping();
  }
  ensureIndex(): Promise<void> {
    return this.engine.ensureIndex();
  }
  upsert(doc: ItemDocument): Promise<void> {
    return this.engine.upsert(doc);
  }
  bulkUpsert(docs: VersionedDocument[]): Promise<BulkOutcome> {
    return this.engine.bulkUpsert(docs);
  }
  get(itemId: string): Promise<ItemDocument | null> {
    return this.engine.get(itemId);
  }
  remove(itemId: string): Promise<void> {
    return this.engine.remove(itemId);
  }
  refresh(): Promise<void> {
    return this.engine.refresh();
  }
  close(): Promise<void> {
    return this.engine.close();
  }
}

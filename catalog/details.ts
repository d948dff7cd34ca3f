/**
 * Item details in MongoDB, written so that a failure between the Mongo write and the MySQL write never shows
 * a half item or half an update:
 *
 * - Every write of a details document is a new revision (`rev`, a uuid) and keeps the revision before it in
 *   `prev`. The MySQL row's `details_rev` says which revision is committed. Writers stage the document first,
 *   then write the row (in a transaction, with its outbox event).
 * - Readers read the MySQL row first (no row: no item) and take from Mongo only the revision the row names,
 *   the current one or `prev`. A staged revision whose MySQL write failed is never read.
 * - `reconcile()` removes orphans (staged for a row that never committed) and rolls back documents whose
 *   current revision never committed, once they are old enough not to be in flight.
 *
 * Documents are replaced whole on server-built filters (`_id`, `rev`); no client value becomes a field name
 * or an operator (attribute keys are validated, see model.ts).
 */
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import type { Knex } from 'knex';
import type { ItemDetails, ItemExtras } from './model';

interface DetailsSnapshot extends ItemDetails {
  rev: string;
}

export interface DetailsDoc extends DetailsSnapshot {
  _id: string;
  supplier_id: string | null;
  prev: DetailsSnapshot | null;
  /** True from staging until the row's commit is confirmed (reconcile looks only at these). */
  pending: boolean;
  staged_at: Date;
}

export interface StageEntry {
  itemId: string;
  supplierId: string | null;
  /** The revision the MySQL row commits to now (null for a new item or one without details). */
  committedRev: string | null;
  rev: string;
  details: ItemDetails;
}

function snapshot(d: DetailsSnapshot): DetailsSnapshot {
  return {
    rev: d.rev,
    name: d.name,
    category: d.category,
    description: d.description ?? null,
    attributes: d.attributes ?? {},
    images: d.images ?? [],
  };
}

/** The revision `rev` of a document, if the document still holds it. */
export function revisionOf(doc: DetailsDoc | null | undefined, rev: string | null): DetailsSnapshot | null {
  if (!doc || !rev) return null;
  if (doc.rev === rev) return snapshot(doc);
  if (doc.prev?.rev === rev) return snapshot(doc.prev);
  return null;
}

export interface ReconcileReport {
  scanned: number;
  orphansRemoved: number;
  rolledBack: number;
  confirmed: number;
}

export class ItemDetailsStore {
  readonly coll: Collection<DetailsDoc>;
  constructor(db: Db) {
    this.coll = db.collection<DetailsDoc>('items');
  }

  /** Bulk writes in batches of 50, one after the other: FerretDB 1.24 (SQLite) was seen to hang for good on
   * one unordered bulk of 500 updates, and on one ordered bulk of 100 `updateOne`s (50 pass). */
  private async bulk(ops: AnyBulkWriteOperation<DetailsDoc>[]): Promise<void> {
    for (let i = 0; i < ops.length; i += 50) await this.coll.bulkWrite(ops.slice(i, i + 50), { ordered: true });
  }

  /** Writes new revisions (pending) for many items in one round trip; the committed revision stays as `prev`. */
  async stage(entries: StageEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const existing = new Map(
      (await this.coll.find({ _id: { $in: entries.map((e) => e.itemId) } }).toArray()).map((d) => [d._id, d]),
    );
    const now = new Date();
    await this.bulk(
      entries.map((e) => {
        const d = existing.get(e.itemId);
        const prev = d ? (revisionOf(d, e.committedRev) ?? snapshot(d)) : null;
        const doc: DetailsDoc = {
          _id: e.itemId,
          supplier_id: e.supplierId,
          rev: e.rev,
          name: e.details.name,
          category: e.details.category,
          description: e.details.description,
          attributes: e.details.attributes,
          images: e.details.images,
          prev,
          pending: true,
          staged_at: now,
        };
        return { replaceOne: { filter: { _id: e.itemId }, replacement: doc, upsert: true } };
      }),
    );
  }

  /** After the MySQL commit: the staged revisions are committed (best effort; reconcile does it otherwise). */
  async confirm(entries: { itemId: string; rev: string }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.bulk(
      entries.map((e) => ({
        updateOne: { filter: { _id: e.itemId, rev: e.rev }, update: { $set: { pending: false } } },
      })),
    );
  }

  /** After a failed MySQL write: new items' staged documents go (best effort; reconcile does it otherwise).
   * A failed update's staged revision stays: readers keep reading `prev`, reconcile rolls it back. */
  async discardNew(entries: { itemId: string; rev: string }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.bulk(entries.map((e) => ({ deleteOne: { filter: { _id: e.itemId, rev: e.rev, prev: null } } })));
  }

  /** The committed details of one item (the revision its MySQL row names), or null. */
  async committed(itemId: string, rev: string | null): Promise<DetailsSnapshot | null> {
    if (!rev) return null;
    return revisionOf(await this.coll.findOne({ _id: itemId }), rev);
  }

  /** The committed attributes and images of many items; items without details are absent. */
  async committedExtras(items: { item_id: string; details_rev: string | null }[]): Promise<Map<string, ItemExtras>> {
    const wanted = items.filter((i) => i.details_rev);
    const out = new Map<string, ItemExtras>();
    if (wanted.length === 0) return out;
    const docs = new Map(
      (await this.coll.find({ _id: { $in: wanted.map((i) => i.item_id) } }).toArray()).map((d) => [d._id, d]),
    );
    for (const i of wanted) {
      const r = revisionOf(docs.get(i.item_id), i.details_rev);
      if (r) out.set(i.item_id, { attributes: r.attributes, images: r.images ?? [] });
    }
    return out;
  }

  /**
   * Cleans up after failed writes older than `olderThanMs` (so never a write in flight): a document with no
   * MySQL row is an orphan and goes; one whose current revision never committed is rolled back to `prev`.
   */
  async reconcile(mysql: Knex, olderThanMs: number, limit = 1000): Promise<ReconcileReport> {
    const cutoff = new Date(Date.now() - olderThanMs);
    const docs = await this.coll
      .find({ pending: true, staged_at: { $lt: cutoff } })
      .limit(limit)
      .toArray();
    const report: ReconcileReport = { scanned: docs.length, orphansRemoved: 0, rolledBack: 0, confirmed: 0 };
    if (docs.length === 0) return report;
    const rows: { item_id: string; details_rev: string | null }[] = await mysql('items')
      .select('item_id', 'details_rev')
      .whereIn(
        'item_id',
        docs.map((d) => d._id),
      );
    // MySQL compares ids case-insensitively, Mongo exactly: match on the exact spelling.
    const byId = new Map(rows.map((r) => [r.item_id, r.details_rev]));
    for (const d of docs) {
      if (!byId.has(d._id)) {
        const res = await this.coll.deleteOne({ _id: d._id, rev: d.rev });
        report.orphansRemoved += res.deletedCount;
        continue;
      }
      const committedRev = byId.get(d._id) ?? null;
      if (committedRev === d.rev) {
        await this.coll.updateOne({ _id: d._id, rev: d.rev }, { $set: { pending: false } });
        report.confirmed += 1;
      } else if (d.prev && d.prev.rev === committedRev) {
        const p = d.prev;
        await this.coll.updateOne(
          { _id: d._id, rev: d.rev },
          {
            $set: {
              rev: p.rev,
              name: p.name,
              category: p.category,
              description: p.description,
              attributes: p.attributes,
              images: p.images,
              prev: null,
              pending: false,
            },
          },
        );
        report.rolledBack += 1;
      }
    }
    return report;
  }
}

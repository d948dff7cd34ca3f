import type { Db, IndexDescription } from 'mongodb';

/** Item details (free-form attributes) live in `items`; carts and wishlists in their own collections. */
const INDEXES: Record<string, IndexDescription[]> = {
  items: [
    { key: { supplier_id: 1 }, name: 'by_supplier' },
    { key: { category: 1 }, name: 'by_category' },
    // catalog/details.ts: reconcile looks for staged writes whose MySQL commit was never confirmed.
    { key: { pending: 1, staged_at: 1 }, name: 'pending_staged' },
  ],
  carts: [{ key: { user_id: 1 }, name: 'by_user', unique: true }],
  wishlists: [{ key: { user_id: 1 }, name: 'by_user', unique: true }],
};

/** Creates the indexes that are missing. (FerretDB 1.24 on SQLite fails on createIndexes for an index that
 * already exists, so existing ones are skipped rather than re-declared.) */
export async function applyMongoIndexes(db: Db): Promise<void> {
  const existingCollections = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const [collection, wanted] of Object.entries(INDEXES)) {
    const coll = db.collection(collection);
    const have = existingCollections.has(collection)
      ? new Set((await coll.listIndexes().toArray()).map((i) => i.name as string))
      : new Set<string>();
    const missing = wanted.filter((i) => !have.has(i.name!));
    if (missing.length > 0) await coll.createIndexes(missing);
  }
}

import type { Db } from 'mongodb';

/** Item details (free-form attributes) live in `items`; carts and wishlists in their own collections. */
export async function applyMongoIndexes(db: Db): Promise<void> {
  await db.collection('items').createIndexes([
    { key: { supplier_id: 1 }, name: 'by_supplier' },
    { key: { category: 1 }, name: 'by_category' },
  ]);
  await db.collection('carts').createIndexes([{ key: { user_id: 1 }, name: 'by_user', unique: true }]);
  await db.collection('wishlists').createIndexes([{ key: { user_id: 1 }, name: 'by_user', unique: true }]);
}

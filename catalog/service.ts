/**
 * The catalog: items across MySQL (the row: price, stock, existence) and MongoDB (details), with the write
 * order and revision scheme of ./details.ts, outbox events in the row's transaction, and the Redis details
 * cache of ./cache.ts.
 *
 * Stock: a seller's restock (`stock` in PUT /items/{id} and the bulk route) gives the units ON HAND, counted on
 * the shelf, which include the units of orders not yet shipped. What is left to sell (`items.stock`) is set to
 * on hand minus the units those orders hold (stock/levels.ts `writeRestocks`), under the item row's lock; so a
 * count taken while orders are open, followed by their release, can never inflate the stock.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from 'mongodb';
import { conflict, DomainError, forbidden, notFound } from '../lib/errors';
import { isDuplicateKey } from '../stores/mysql/client';
import type { Redis } from '../stores/redis/client';
import { clearSoldOut } from '../stock/soldout-gate';
import { writeRestocks } from '../stock/levels';
import { logger } from '../lib/logger';
import { findUserById } from '../users/repository';
import { ItemDetailsCache } from './cache';
import { ItemViewCache } from './item-views';
import { ItemDetailsStore, StageEntry } from './details';
import { enqueueEvents, itemDeleted, itemUpserted, PendingEvent, stockChanged } from './events';
import {
  Actor,
  ItemDetails,
  ItemExtras,
  ItemPatch,
  ItemRow,
  ItemView,
  ITEM_COLUMNS,
  NewItem,
  Restock,
  toView,
} from './model';

export interface CatalogOptions {
  cacheTtlMs: number;
  /** GET /items/{id} from Redis (./item-views.ts); 0 or absent: every read from MySQL. */
  viewTtlMs?: number;
}

export interface BulkResult {
  created: ItemView[];
  restocked: { item_id: string; stock: number; price: number }[];
}

export interface SupplierInventory {
  supplier_id: string;
  items: { item_id: string; name: string; price: number; stock: number }[];
}

const lower = (s: string) => s.toLowerCase();

export class CatalogService {
  readonly details: ItemDetailsStore;
  readonly cache: ItemDetailsCache;
  readonly views: ItemViewCache;

  constructor(
    private readonly mysql: Knex,
    mongo: Db,
    private readonly redis: Redis,
    opts: CatalogOptions,
  ) {
    this.details = new ItemDetailsStore(mongo);
    this.cache = new ItemDetailsCache(redis, opts.cacheTtlMs);
    this.views = new ItemViewCache(redis, opts.viewTtlMs ?? 0);
  }

  // ---- reads ----

  async findRow(itemId: string, db: Knex | Knex.Transaction = this.mysql): Promise<ItemRow | undefined> {
    return db('items')
      .select(...ITEM_COLUMNS)
      .where({ item_id: itemId })
      .first();
  }

  /** GET /items/{id}: from Redis when cached (./item-views.ts); otherwise the MySQL row first (no row, no
   * item), then the committed details (cache, then Mongo), and the answer is cached. */
  async get(itemId: string): Promise<ItemView> {
    if (!this.views.enabled) return this.read(itemId);
    const cached = await this.views.get(itemId);
    if ('view' in cached) return cached.view;
    const view = await this.read(itemId);
    await this.views.fill(view, cached.gen);
    return view;
  }

  private async read(itemId: string): Promise<ItemView> {
    const row = await this.findRow(itemId);
    if (!row) throw notFound(`item ${itemId}`);
    return toView(row, await this.extrasOf(row));
  }

  private async extrasOf(row: ItemRow): Promise<ItemExtras> {
    const rev = row.details_rev;
    if (!rev) return { attributes: {}, images: [] };
    const cached = await this.cache.get(row.item_id, rev);
    if (cached) return cached;
    const committed = await this.details.committed(row.item_id, rev);
    if (!committed) {
      // Only reconcile could have lost the revision, and it never touches committed ones: worth a look.
      logger.warn({ itemId: row.item_id, rev }, 'item details revision missing in MongoDB; serving without attributes');
      return { attributes: {}, images: [] };
    }
    const extras = { attributes: committed.attributes, images: committed.images ?? [] };
    await this.cache.set(row.item_id, rev, extras);
    return extras;
  }

  /** The id as the catalog spells it, or undefined for an unknown item. */
  async canonicalId(itemId: string): Promise<string | undefined> {
    const row = await this.mysql('items').select('item_id').where({ item_id: itemId }).first();
    return row?.item_id;
  }

  async supplierInventory(supplierId: string, limit: number, offset: number): Promise<SupplierInventory> {
    const user = await findUserById(this.mysql, supplierId);
    if (!user) throw notFound(`supplier ${supplierId}`);
    const rows: { item_id: string; name: string; price: number; stock: number }[] = await this.mysql('items')
      .select('item_id', 'name', 'price', 'stock')
      .where({ supplier_id: user.user_id })
      .orderBy('item_id')
      .limit(limit)
      .offset(offset);
    return {
      supplier_id: user.user_id,
      items: rows.map((r) => ({ item_id: r.item_id, name: r.name, price: Number(r.price), stock: Number(r.stock) })),
    };
  }

  // ---- writes ----

  /** Who supplies items this actor creates: a supplier itself; an admin whoever it names (or nobody). */
  async resolveSupplier(actor: Actor, requested: string | undefined): Promise<string | null> {
    if (actor.role === 'supplier') {
      if (requested !== undefined && lower(requested) !== lower(actor.userId))
        throw forbidden('a supplier creates items under its own supplier id');
      return actor.userId;
    }
    if (actor.role !== 'admin') throw forbidden('this needs the role supplier or admin');
    if (requested === undefined) return null;
    const user = await findUserById(this.mysql, requested);
    if (!user) throw notFound(`supplier ${requested}`);
    if (user.role !== 'supplier') throw notFound(`supplier ${requested}`); // a user, but no supplier
    return user.user_id;
  }

  async create(item: NewItem, supplierId: string | null): Promise<ItemView> {
    const { created } = await this.bulk([item], [], supplierId, { userId: '', role: 'admin' });
    return created[0]!;
  }

  /**
   * Creates and restocks many items, all or nothing: the Mongo details of new items are staged first, then one
   * MySQL transaction inserts the rows, sets the restocked levels and writes every event. Any refusal (an
   * unknown or foreign item, an id taken) fails the whole request before anything is committed.
   */
  async bulk(creates: NewItem[], restocks: Restock[], supplierId: string | null, actor: Actor): Promise<BulkResult> {
    const ids = [...creates.flatMap((c) => (c.item_id ? [c.item_id] : [])), ...restocks.map((r) => r.item_id)].map(
      lower,
    );
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup) throw conflict('duplicate_item', `item ${dup} appears in more than one line of the request`);
    if (creates.length === 0 && restocks.length === 0) return { created: [], restocked: [] };

    const explicit = creates.flatMap((c) => (c.item_id ? [c.item_id] : []));
    if (explicit.length > 0) {
      const taken: { item_id: string }[] = await this.mysql('items').select('item_id').whereIn('item_id', explicit);
      if (taken.length > 0)
        throw conflict('item_exists', 'some item ids are taken', { item_ids: taken.map((t) => t.item_id) });
    }

    const staged: (StageEntry & { item: NewItem })[] = creates.map((item) => ({
      item,
      itemId: item.item_id ?? randomUUID(),
      supplierId,
      committedRev: null,
      rev: randomUUID(),
      details: {
        name: item.name,
        category: item.category,
        description: item.description ?? null,
        attributes: item.attributes ?? {},
        images: item.images ?? [],
      },
    }));
    await this.details.stage(staged);

    let restocked: BulkResult['restocked'];
    let createdRows = new Map<string, ItemRow>();
    try {
      restocked = await this.mysql.transaction(async (trx) => {
        const events: PendingEvent[] = [];
        let locked: { item_id: string; supplier_id: string | null }[] = [];
        if (restocks.length > 0) {
          locked = await trx('items')
            .select('item_id', 'supplier_id')
            .whereIn(
              'item_id',
              restocks.map((r) => r.item_id),
            )
            .orderBy('item_id')
            .forUpdate();
          const found = new Map(locked.map((r) => [lower(r.item_id), r]));
          const missing = restocks.filter((r) => !found.has(lower(r.item_id))).map((r) => r.item_id);
          if (missing.length > 0)
            throw new DomainError('not_found', 'item_not_found', 'some items do not exist', { item_ids: missing });
          if (actor.role !== 'admin') {
            const foreign = locked
              .filter((r) => r.supplier_id === null || lower(r.supplier_id) !== lower(actor.userId))
              .map((r) => r.item_id);
            if (foreign.length > 0) throw forbidden(`items of another supplier: ${foreign.join(', ')}`);
          }
        }
        if (staged.length > 0) {
          await trx('items').insert(
            staged.map((s) => ({
              item_id: s.itemId,
              supplier_id: supplierId,
              name: s.item.name,
              category: s.item.category,
              description: s.item.description ?? null,
              price: s.item.price,
              stock: s.item.stock,
              details_rev: s.rev,
            })),
          );
        }
        const byLower = new Map(restocks.map((r) => [lower(r.item_id), r]));
        const changed = locked.filter((row) => {
          const r = byLower.get(lower(row.item_id))!;
          return r.stock !== undefined || r.price !== undefined;
        });
        await writeRestocks(
          trx,
          changed.map((row) => {
            const r = byLower.get(lower(row.item_id))!;
            return {
              item_id: row.item_id,
              set: { updated_at: trx.fn.now(3), ...(r.price !== undefined ? { price: r.price } : {}) },
              onHand: r.stock,
            };
          }),
        );
        const touched = [...staged.map((s) => s.itemId), ...locked.map((r) => r.item_id)];
        const after: ItemRow[] = touched.length
          ? await trx('items')
              .select(...ITEM_COLUMNS)
              .whereIn('item_id', touched)
          : [];
        const afterById = new Map(after.map((r) => [r.item_id, r]));
        createdRows = afterById;
        for (const id of [...staged.map((s) => s.itemId), ...changed.map((r) => r.item_id)])
          events.push(itemUpserted(afterById.get(id)!));
        for (const row of changed) {
          if (byLower.get(lower(row.item_id))!.stock !== undefined)
            events.push(stockChanged(afterById.get(row.item_id)!, 'restock'));
        }
        await enqueueEvents(trx, events);
        return locked.map((l) => {
          const a = afterById.get(l.item_id)!;
          return { item_id: a.item_id, stock: Number(a.stock), price: Number(a.price) };
        });
      });
    } catch (err) {
      await this.details
        .discardNew(staged.map((s) => ({ itemId: s.itemId, rev: s.rev })))
        .catch((e) => logger.warn({ err: e }, 'discarding staged item details failed; reconcile removes them'));
      if (isDuplicateKey(err)) throw conflict('item_exists', 'an item id is taken');
      throw err;
    }
    await this.details
      .confirm(staged.map((s) => ({ itemId: s.itemId, rev: s.rev })))
      .catch((e) => logger.warn({ err: e }, 'confirming item details failed; reconcile does it'));

    // The rows as MySQL committed them (read back inside the transaction).
    const created = staged.map((s) =>
      toView(createdRows.get(s.itemId)!, { attributes: s.details.attributes, images: s.details.images ?? [] }),
    );
    await this.views.drop([...staged.map((s) => s.itemId), ...restocked.map((r) => r.item_id)]);
    await this.reopenSales(restocked.filter((r) => r.stock > 0).map((r) => r.item_id));
    return { created, restocked };
  }

  private checkOwner(row: ItemRow, actor: Actor): void {
    if (
      actor.role !== 'admin' &&
      (actor.role !== 'supplier' || row.supplier_id === null || lower(row.supplier_id) !== lower(actor.userId))
    ) {
      throw forbidden('only the supplier of the item or an admin may change it');
    }
  }

  /**
   * PUT /items/{id}: the row is locked (FOR UPDATE) for the whole change so two updates of one item are
   * serialized; new details are staged in Mongo (the committed revision kept as `prev`), then the row, its
   * new `details_rev` and the events commit together.
   */
  async update(itemId: string, patch: ItemPatch, actor: Actor): Promise<ItemView> {
    if (Object.values(patch).every((v) => v === undefined)) {
      // Nothing to change: the item as it is (after the same checks), no write, no event.
      const row = await this.findRow(itemId);
      if (!row) throw notFound(`item ${itemId}`);
      this.checkOwner(row, actor);
      return toView(row, await this.extrasOf(row));
    }
    let oldRev: string | null = null;
    let staged: { itemId: string; rev: string } | undefined;
    const canonical = await this.mysql.transaction(async (trx) => {
      const row = (await trx('items')
        .select(...ITEM_COLUMNS)
        .where({ item_id: itemId })
        .forUpdate()
        .first()) as ItemRow | undefined;
      if (!row) throw notFound(`item ${itemId}`);
      this.checkOwner(row, actor);
      oldRev = row.details_rev;
      const set: Record<string, unknown> = { updated_at: trx.fn.now(3) };
      const touchesDetails =
        patch.name !== undefined ||
        patch.category !== undefined ||
        patch.description !== undefined ||
        patch.attributes !== undefined ||
        patch.images !== undefined;
      if (touchesDetails) {
        const committed = await this.details.committed(row.item_id, row.details_rev);
        const next: ItemDetails = {
          name: patch.name ?? row.name,
          category: patch.category ?? row.category,
          description: patch.description !== undefined ? patch.description : row.description,
          attributes: patch.attributes ?? committed?.attributes ?? {},
          images: patch.images ?? committed?.images ?? [],
        };
        const rev = randomUUID();
        await this.details.stage([
          { itemId: row.item_id, supplierId: row.supplier_id, committedRev: row.details_rev, rev, details: next },
        ]);
        staged = { itemId: row.item_id, rev };
        Object.assign(set, {
          name: next.name,
          category: next.category,
          description: next.description,
          details_rev: rev,
        });
      }
      if (patch.price !== undefined) set.price = patch.price;
      if (patch.listed !== undefined) set.listed = patch.listed; // delisting hides it from search and orders
      await writeRestocks(trx, [{ item_id: row.item_id, set, onHand: patch.stock }]);
      const after = (await trx('items')
        .select(...ITEM_COLUMNS)
        .where({ item_id: row.item_id })
        .first()) as ItemRow;
      const events = [itemUpserted(after)];
      if (patch.stock !== undefined) events.push(stockChanged(after, 'restock'));
      await enqueueEvents(trx, events);
      return row.item_id;
    });
    if (staged) {
      await this.details
        .confirm([staged])
        .catch((e) => logger.warn({ err: e }, 'confirming item details failed; reconcile does it'));
      await this.cache.invalidate(canonical, oldRev);
    }
    await this.views.drop([canonical]);
    if (patch.stock !== undefined && patch.stock > 0) await this.reopenSales([canonical]);
    return this.read(canonical);
  }

  /**
   * DELETE /items/{id}: only an item no order ever took stock of (`ever_ordered`, set by the reservation), so
   * no order, live or archived, names an item that is gone; an ordered item can be delisted instead (409).
   * The row goes with an `item.deleted` event (the indexer drops the document), then its Mongo details.
   */
  async remove(itemId: string, actor: Actor): Promise<void> {
    const row = await this.mysql.transaction(async (trx) => {
      const r = (await trx('items')
        .select(...ITEM_COLUMNS, 'ever_ordered')
        .where({ item_id: itemId })
        .forUpdate()
        .first()) as ItemRow | undefined;
      if (!r) throw notFound(`item ${itemId}`);
      this.checkOwner(r, actor);
      const live = await trx('order_items').select('order_id').where({ item_id: r.item_id }).first();
      if (r.ever_ordered || live)
        throw conflict('item_ordered', 'this item was ordered: delist it instead (PUT /items/{id} {"listed": false})');
      await trx('items').where({ item_id: r.item_id }).delete();
      await enqueueEvents(trx, [itemDeleted(r)]);
      return r;
    });
    await this.details.coll
      .deleteOne({ _id: row.item_id })
      .catch((e) =>
        logger.warn({ err: e, itemId }, 'deleting item details failed; the orphan is harmless (no row, no item)'),
      );
    await this.cache.invalidate(row.item_id, row.details_rev);
    await this.views.drop([row.item_id]);
  }

  /** A restock reopens sales at once: the order API's sold-out gate would otherwise refuse for up to its TTL.
   * Best effort: the gate's own TTL is the fallback. */
  private async reopenSales(itemIds: string[]): Promise<void> {
    await clearSoldOut(this.redis, itemIds).catch((err) =>
      logger.warn({ err, itemIds }, 'clearing the sold-out gate failed; it expires on its own'),
    );
  }
}

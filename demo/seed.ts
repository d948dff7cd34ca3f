/**
 * Loads the demo catalog (./catalog.ts) into an empty shop: a few sellers, a demo customer, about 300 items
 * with their details in MongoDB, indexed for search. It never touches a database that holds data: the check is
 * "no items at all", made under a MySQL named lock so two starts at once cannot both load.
 */
import type { Knex } from 'knex';
import type { Db } from 'mongodb';
import type { Redis } from 'ioredis';
import { CatalogService } from '../catalog/service';
import { createUser, findUserByEmail, Role } from '../users/repository';
import { SearchIndexer } from '../search/indexer';
import type { SearchPort } from '../stores/search/port';
import type { Logger } from '../lib/logger';
import { demoCatalog, DEMO_CUSTOMER, DEMO_SELLERS } from './catalog';
import { DEMO_ADDRESS } from './address';
import { addAddress, listAddresses } from '../users/addresses';

export interface DemoStores {
  mysql: Knex;
  mongo: Db;
  redis: Redis;
  search: SearchPort;
}

export type DemoOutcome =
  | { loaded: false; reason: string }
  | {
      loaded: true;
      items: number;
      sellers: { name: string; email: string }[];
      customer: { email: string; user_id: string };
      indexed: number;
    };

const LOCK = 'shopflow_demo_data';

/** True when the shop has no item at all: the only state the demo data is ever loaded into. */
export async function isEmptyShop(mysql: Knex): Promise<boolean> {
  return (await mysql('items').select('item_id').first()) === undefined;
}

export async function loadDemoData(s: DemoStores, password: string, log: Logger): Promise<DemoOutcome> {
  // The lock needs one session for its whole life: a transaction holds one connection of the pool.
  return s.mysql.transaction(async (lockSession) => {
    const [[got]] = await lockSession.raw('SELECT GET_LOCK(?, 60) AS got', [LOCK]);
    if (Number(got.got) !== 1) return { loaded: false, reason: 'another process is loading the demo data' };
    try {
      if (!(await isEmptyShop(s.mysql))) return { loaded: false, reason: 'the shop already has items' };
      return await load(s, password, log);
    } finally {
      await lockSession.raw('SELECT RELEASE_LOCK(?)', [LOCK]);
    }
  });
}

async function account(mysql: Knex, name: string, email: string, password: string, role: Role): Promise<string> {
  const existing = await findUserByEmail(mysql, email);
  if (existing) return existing.user_id; // an account of an earlier, interrupted load
  return (await createUser(mysql, { name, email, password, role, supplierApproved: role === 'supplier' })).user_id;
}

async function load(s: DemoStores, password: string, log: Logger): Promise<DemoOutcome> {
  const catalog = new CatalogService(s.mysql, s.mongo, s.redis, { cacheTtlMs: 60_000 });
  const sellerIds = new Map<string, string>();
  for (const seller of DEMO_SELLERS)
    sellerIds.set(seller.key, await account(s.mysql, seller.name, seller.email, password, 'supplier'));
  const customerId = await account(s.mysql, DEMO_CUSTOMER.name, DEMO_CUSTOMER.email, password, 'customer');
  if ((await listAddresses(s.mysql, customerId)).length === 0) await addAddress(s.mysql, customerId, DEMO_ADDRESS);

  const items = demoCatalog();
  for (const seller of DEMO_SELLERS) {
    const mine = items.filter((i) => i.seller === seller.key).map(({ seller: _s, ...item }) => item);
    // Each seller's items in one all-or-nothing bulk write (details in Mongo, rows and events in MySQL).
    await catalog.bulk(mine, [], sellerIds.get(seller.key)!, { userId: sellerIds.get(seller.key)!, role: 'supplier' });
  }
  // The items' events reach the search indexer through the outbox; indexing here as well makes search answer
  // as soon as the API is up (the versioned writes make the second indexing a no-op).
  const report = await new SearchIndexer(s.mysql, s.mongo, s.search, log).reindexAll();
  await s.search.refresh();
  log.info({ items: items.length, indexed: report.indexed }, 'demo data loaded');
  return {
    loaded: true,
    items: items.length,
    sellers: DEMO_SELLERS.map((x) => ({ name: x.name, email: x.email })),
    customer: { email: DEMO_CUSTOMER.email, user_id: customerId },
    indexed: report.indexed,
  };
}

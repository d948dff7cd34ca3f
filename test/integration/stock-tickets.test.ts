/**
 * Admission tickets on the real Redis: an item admits as many units as MySQL showed, all lines of an order or
 * none; a failed reservation gives its tickets back; a release or restock starts the count again.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../lib/config';
import { createRedis } from '../../stores/redis/client';
import { admit, giveBack, ticketKey, TICKET_TTL_MS } from '../../stock/tickets';
import { clearSoldOut, knownShortages, markSoldOut } from '../../stock/soldout-gate';

const redis = createRedis(loadConfig(process.env).REDIS_URL);
afterAll(() => redis.quit());
const id = () => `it-${randomUUID().slice(0, 12)}`;

test('as many buyers are admitted as there are units; the next is refused with what is left', async () => {
  const item = id();
  const stock = new Map([[item, 3]]);
  const results = await Promise.all(
    Array.from({ length: 5 }, () => admit(redis, [{ item_id: item, quantity: 1 }], stock)),
  );
  expect(results.filter((r) => r.admitted)).toHaveLength(3);
  expect(results.filter((r) => !r.admitted)).toEqual(
    Array(2).fill({ admitted: false, shortages: [{ item_id: item, requested: 1, available: 0 }] }),
  );
  const ttl = await redis.pttl(ticketKey(item));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(TICKET_TTL_MS); // a counter always starts again from MySQL soon
});

test('an order takes every line or none', async () => {
  const a = id();
  const b = id();
  const stock = new Map([
    [a, 2],
    [b, 1],
  ]);
  expect(
    await admit(
      redis,
      [
        { item_id: a, quantity: 2 },
        { item_id: b, quantity: 2 },
      ],
      stock,
    ),
  ).toEqual({ admitted: false, shortages: [{ item_id: b, requested: 2, available: 1 }] });
  expect(await redis.get(ticketKey(a))).toBe('2'); // untouched by the refused order
  expect(
    (
      await admit(
        redis,
        [
          { item_id: a, quantity: 2 },
          { item_id: b, quantity: 1 },
        ],
        stock,
      )
    ).admitted,
  ).toBe(true);
  expect([await redis.get(ticketKey(a)), await redis.get(ticketKey(b))]).toEqual(['0', '0']);
});

test('tickets of a failed reservation are given back; a release or restock restarts the count from MySQL', async () => {
  const item = id();
  const line = [{ item_id: item, quantity: 1 }];
  expect((await admit(redis, line, new Map([[item, 1]]))).admitted).toBe(true);
  expect((await admit(redis, line, new Map([[item, 1]]))).admitted).toBe(false);
  await giveBack(redis, line);
  expect((await admit(redis, line, new Map([[item, 1]]))).admitted).toBe(true);
  await clearSoldOut(redis, [item]); // e.g. a seller restocked to 5
  expect(await redis.exists(ticketKey(item))).toBe(0);
  expect((await admit(redis, [{ item_id: item, quantity: 5 }], new Map([[item, 5]]))).admitted).toBe(true);
  await giveBack(redis, [{ item_id: `${item}-gone`, quantity: 3 }]); // an expired counter is not brought back
  expect(await redis.exists(ticketKey(`${item}-gone`))).toBe(0);
});

test('what Redis alone knows to refuse: the gate flags and spent tickets, nothing else', async () => {
  const [flagged, spent, open, fresh] = [id(), id(), id(), id()];
  await markSoldOut(redis, [{ item_id: flagged, requested: 1, available: 0 }]);
  expect((await admit(redis, [{ item_id: spent, quantity: 2 }], new Map([[spent, 2]]))).admitted).toBe(true); // 0 left
  expect((await admit(redis, [{ item_id: open, quantity: 1 }], new Map([[open, 3]]))).admitted).toBe(true); // 2 left
  const line = (item_id: string, quantity = 1) => ({ item_id, quantity });
  expect(await knownShortages(redis, [line(flagged), line(spent), line(open, 2), line(fresh)])).toEqual([
    { item_id: flagged, requested: 1, available: 0 },
    { item_id: spent, requested: 1, available: 0 },
  ]);
  expect(await knownShortages(redis, [line(open, 3)])).toEqual([{ item_id: open, requested: 3, available: 2 }]);
  await clearSoldOut(redis, [flagged, spent]); // stock came back: nothing is known to be short
  expect(await knownShortages(redis, [line(flagged), line(spent)])).toEqual([]);
});

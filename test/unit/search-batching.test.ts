/**
 * BatchingSearch against a fake engine (the batching is the point): an idle process sends a search alone, a
 * busy one sends the searches that waited together, never more than its slots or batch size, and one search's
 * refusal or the engine's failure reaches exactly the searches it concerns.
 */
import { BatchingSearch, SearchBusyError } from '../../stores/search/batching';
import { classifyStoreError } from '../../stores/errors';
import type { RawSearchResult, SearchBody, SearchOutcome, SearchPort } from '../../stores/search/port';

type Request = { kind: 'single' | 'many'; bodies: SearchBody[]; answer: () => void; fail: (e: Error) => void };

/** An engine whose requests stay open until the test answers them; a body `{ bad: true }` is refused alone. */
function fakeEngine() {
  const requests: Request[] = [];
  let open = 0;
  let mostOpen = 0;
  const result = (b: SearchBody): RawSearchResult => ({ total: 1, totalIsExact: true, sources: [{ echo: b }] });
  const outcome = (b: SearchBody): SearchOutcome => ((b as { bad?: boolean }).bad ? new Error('bad query') : result(b));
  const request = <T>(kind: Request['kind'], bodies: SearchBody[], value: () => T) =>
    new Promise<T>((resolve, reject) => {
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      const done = () => (open -= 1);
      requests.push({
        kind,
        bodies,
        answer: () => (done(), resolve(value())),
        fail: (e) => (done(), reject(e)),
      });
    });
  const engine = {
    search: (b: SearchBody) =>
      request('single', [b], () => {
        const o = outcome(b);
        if (o instanceof Error) throw o;
        return o;
      }),
    searchMany: (bodies: SearchBody[]) => request('many', bodies, () => bodies.map(outcome)),
  } as unknown as SearchPort;
  return { engine, requests, mostOpen: () => mostOpen };
}

const tick = () => new Promise((r) => setImmediate(r));
const q = (n: number): SearchBody => ({ n });

test('an idle process sends each search at once, alone, as a plain search', async () => {
  const { engine, requests } = fakeEngine();
  const search = new BatchingSearch(engine, { inFlight: 2, maxBatch: 32, maxWaiting: 64 });
  const a = search.search(q(1));
  await tick();
  expect(requests.map((r) => [r.kind, r.bodies])).toEqual([['single', [q(1)]]]);
  requests[0]!.answer();
  expect((await a).sources).toEqual([{ echo: q(1) }]);
});

test('while every slot is busy, the searches that arrive wait and then go together, in order, up to the batch size', async () => {
  const { engine, requests, mostOpen } = fakeEngine();
  const search = new BatchingSearch(engine, { inFlight: 2, maxBatch: 2, maxWaiting: 4 });
  const first = search.search(q(0));
  await tick();
  const second = search.search(q(1));
  await tick();
  const waiting = [2, 3, 4, 5].map((n) => search.search(q(n)));
  await tick();
  expect(requests.map((r) => r.kind)).toEqual(['single', 'single']); // both slots taken: nothing else went yet

  requests[0]!.answer();
  await first;
  await tick();
  expect(requests[2]).toMatchObject({ kind: 'many', bodies: [q(2), q(3)] });
  expect(requests).toHaveLength(3); // the rest waits for the other slot
  requests[1]!.answer();
  await second;
  await tick();
  expect(requests[3]).toMatchObject({ kind: 'many', bodies: [q(4), q(5)] });
  requests[2]!.answer();
  requests[3]!.answer();

  const results = await Promise.all(waiting);
  expect(results.map((r) => r.sources[0])).toEqual([2, 3, 4, 5].map((n) => ({ echo: q(n) })));
  expect(mostOpen()).toBe(2);
});

test('one refused search rejects only its own caller; the others in its batch get their results', async () => {
  const { engine, requests } = fakeEngine();
  const search = new BatchingSearch(engine, { inFlight: 1, maxBatch: 32, maxWaiting: 64 });
  const first = search.search(q(0));
  await tick();
  const good = search.search(q(1));
  const bad = search.search({ bad: true });
  requests[0]!.answer();
  await first;
  await tick();
  requests[1]!.answer();
  await expect(bad).rejects.toThrow('bad query');
  expect((await good).sources).toEqual([{ echo: q(1) }]);
});

test('an engine that fails the whole request fails every search in it, and the slot is free again after', async () => {
  const { engine, requests } = fakeEngine();
  const search = new BatchingSearch(engine, { inFlight: 1, maxBatch: 32, maxWaiting: 64 });
  const first = search.search(q(0));
  await tick();
  const batch = [search.search(q(1)), search.search(q(2))];
  requests[0]!.fail(new Error('connection refused'));
  await expect(first).rejects.toThrow('connection refused');
  await tick();
  requests[1]!.fail(new Error('connection refused'));
  for (const s of batch) await expect(s).rejects.toThrow('connection refused');

  const later = search.search(q(3));
  await tick();
  expect(requests[2]).toMatchObject({ kind: 'single', bodies: [q(3)] });
  requests[2]!.answer();
  expect((await later).total).toBe(1);
});

test('searches made in the same tick on an idle process go in one request', async () => {
  const { engine, requests } = fakeEngine();
  const search = new BatchingSearch(engine, { inFlight: 2, maxBatch: 32, maxWaiting: 64 });
  const both = [search.search(q(1)), search.search(q(2))];
  await tick();
  expect(requests).toHaveLength(1);
  expect(requests[0]).toMatchObject({ kind: 'many', bodies: [q(1), q(2)] });
  requests[0]!.answer();
  expect((await Promise.all(both)).map((r) => r.sources[0])).toEqual([{ echo: q(1) }, { echo: q(2) }]);
});

test('while the slots are held and a full round already waits, a new search fails at once as the engine being busy', async () => {
  const { engine, requests } = fakeEngine(); // an engine that does not answer until told to
  const search = new BatchingSearch(engine, { inFlight: 1, maxBatch: 2, maxWaiting: 2 });
  const first = search.search(q(0));
  await tick();
  const waiting = [search.search(q(1)), search.search(q(2))]; // 1 slot x 2 per request may wait
  const refused = search.search(q(3));
  await expect(refused).rejects.toBeInstanceOf(SearchBusyError);
  expect(classifyStoreError(await refused.catch((e) => e))).toEqual({ store: 'search', kind: 'overloaded' });
  expect(requests).toHaveLength(1);

  requests[0]!.answer();
  await first;
  await tick();
  const next = search.search(q(4)); // the waiting pair went: there is room again
  requests[1]!.answer();
  expect((await Promise.all(waiting)).map((r) => r.sources[0])).toEqual([{ echo: q(1) }, { echo: q(2) }]);
  await tick();
  requests[2]!.answer();
  expect((await next).sources[0]).toEqual({ echo: q(4) });
});

import { SingleFlight } from '../../lib/single-flight';

test('concurrent callers of one key share one call; other keys and later callers get their own', async () => {
  const flight = new SingleFlight<number>();
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = async () => {
    calls += 1;
    await gate;
    return calls;
  };
  const a = flight.run('k', slow);
  const b = flight.run('k', slow);
  const other = flight.run('other', async () => 99);
  release();
  expect(await Promise.all([a, b, other])).toEqual([1, 1, 99]);
  expect(calls).toBe(1);
  expect(await flight.run('k', slow)).toBe(2); // settled: the next caller starts a new call
});

test('an error reaches every caller waiting on it and is not kept for the next', async () => {
  const flight = new SingleFlight<string>();
  let fail = true;
  const fn = async () => {
    await new Promise((r) => setTimeout(r, 5));
    if (fail) throw new Error('store down');
    return 'ok';
  };
  const waiting = [flight.run('k', fn), flight.run('k', fn)];
  for (const p of waiting) await expect(p).rejects.toThrow('store down');
  fail = false;
  expect(await flight.run('k', fn)).toBe('ok');
});

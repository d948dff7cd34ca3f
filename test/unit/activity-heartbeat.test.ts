/**
 * The long housekeeping activities (reconciler, sweepers) and the charge heartbeat while they work, so that with a
 * heartbeatTimeout the server learns of a worker that died mid-attempt in seconds, not at startToCloseTimeout.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeating } from '../../activities/heartbeat';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('beats while the work runs, stops when it ends, and answers what the work answered', async () => {
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on('heartbeat', () => beats++);
  const result = await env.run(() =>
    heartbeating(20, async () => {
      await sleep(150);
      return 'done';
    }),
  );
  expect(result).toBe('done');
  expect(beats).toBeGreaterThanOrEqual(4);
  const atEnd = beats;
  await sleep(100);
  expect(beats).toBe(atEnd);
});

test("the work's failure is the activity's failure, and the beat stops with it", async () => {
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on('heartbeat', () => beats++);
  await expect(
    env.run(() =>
      heartbeating(20, async () => {
        await sleep(60);
        throw new Error('store down');
      }),
    ),
  ).rejects.toThrow('store down');
  const atEnd = beats;
  await sleep(100);
  expect(beats).toBe(atEnd);
});

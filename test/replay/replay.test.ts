/**
 * Determinism guard: every committed history (recorded from real runs by test/replay/record.ts) replays against
 * the current workflow code. A change that would break sagas in flight fails here; guard it with patched().
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { workflowBundle } from '../support/temporal-env';

const DIR = path.join(__dirname, 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

test('there is a recorded history for every branch of the saga', () => {
  expect(files.map((f) => f.replace(/\.json$/, ''))).toEqual(
    expect.arrayContaining(['delivered', 'pre-archive-out-of-stock', 'declined', 'no-response', 'late-success-refunded', 'late-success-accepted', 'canceled-while-waiting', 'canceled-after-placed', 'cancel-refused-in-transit']),
  );
});

test('the current histories end with the archive step, the pre-archive ones without it', () => {
  const archives = (file: string) => readFileSync(path.join(DIR, file), 'utf8').includes('"archiveOrder"');
  for (const file of files) {
    if (file.startsWith('pre-archive-')) expect([file, archives(file)]).toEqual([file, false]);
    else expect([file, archives(file)]).toEqual([file, true]);
  }
  expect(files.filter((f) => f.startsWith('pre-archive-')).length).toBeGreaterThanOrEqual(8);
});

test.each(files)('%s replays without non-determinism', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')));
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
});

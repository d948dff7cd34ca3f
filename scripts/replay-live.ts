/**
 * `npm run replay:live`: before a deploy, replays the histories of the workflows running now on the Temporal
 * server (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE) against the code about to be deployed (the workflow bundle
 * `npm run build` wrote). A history in flight that the new code cannot replay would fail its saga with a
 * non-determinism error after the deploy: this prints each one and exits 1, so the deploy stops.
 * REPLAY_LIVE_QUERY narrows the list (default: every running order saga and late-payment workflow);
 * REPLAY_LIVE_LIMIT caps how many are fetched (default 1000, newest first).
 */
import { existsSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { config } from '../lib/config';
import { bundleWorkflows, WORKFLOW_BUNDLE_PATH } from '../workers/order-worker';

const DEFAULT_QUERY = `(WorkflowType = 'orderWorkflow' OR WorkflowType = 'latePaymentWorkflow') AND ExecutionStatus = 'Running'`;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const cfg = config();
  const query = process.env.REPLAY_LIVE_QUERY ?? DEFAULT_QUERY;
  const limit = Number(process.env.REPLAY_LIVE_LIMIT ?? 1000);
  const client = new Client({
    connection: await Connection.connect({ address: cfg.TEMPORAL_ADDRESS }),
    namespace: cfg.TEMPORAL_NAMESPACE,
  });
  const workflowBundle = existsSync(WORKFLOW_BUNDLE_PATH)
    ? { codePath: WORKFLOW_BUNDLE_PATH }
    : await bundleWorkflows();
  let replayed = 0;
  let failed = 0;
  const histories = client.workflow.list({ query, pageSize: 100 }).intoHistories({ concurrency: 5 });
  for await (const result of Worker.runReplayHistories({ workflowBundle }, limited(histories, limit))) {
    replayed++;
    if (result.error) {
      failed++;
      console.error(`NOT REPLAYABLE ${result.workflowId}: ${result.error.message}`);
    }
  }
  console.log(
    `replay:live: ${replayed} running workflow(s) replayed against this build (${query}), ${failed} not replayable`,
  );
  await client.connection.close();
  process.exit(failed > 0 ? 1 : 0);
}

async function* limited<T>(it: AsyncIterable<T>, n: number): AsyncIterable<T> {
  let i = 0;
  for await (const x of it) {
    if (i++ >= n) return;
    yield x;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});

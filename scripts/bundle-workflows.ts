/** Writes the pre-built workflow bundle the worker loads (dist/workflow-bundle.js). Run by `npm run build`. */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

const quietLogger = new DefaultLogger('WARN');
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH } from '../workers/order-worker';

async function main() {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  await writeFile(WORKFLOW_BUNDLE_PATH, code);
  console.log(`workflow bundle: ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)`);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/** Writes the pre-built workflow bundle the worker loads (dist/workflow-bundle.js). Run by `npm run build`. */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflows, WORKFLOW_BUNDLE_PATH } from '../workers/order-worker';

async function main() {
  const { code } = await bundleWorkflows(); // the workflows and their interceptors (workflows/interceptors.ts)
  await writeFile(WORKFLOW_BUNDLE_PATH, code);
  console.log(`workflow bundle: ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)`);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * A Temporal dev server of the test's own, started by @temporalio/testing from the local `temporal` binary
 * (the stack builds it; nothing is downloaded), and the workflow bundle the worker runs.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { bundleWorkflows, WORKFLOW_BUNDLE_PATH } from '../../workers/order-worker';
import {
  CustomerIdKey,
  NeedsAttentionKey,
  OrderStatusKey,
  OrderTotalKey,
  PaymentExpiresAtKey,
  PaymentStatusKey,
} from '../../workflows/search-attributes';

export function temporalBinary(): string {
  const p =
    process.env.TEMPORAL_CLI ??
    path.join(process.env.SHOPFLOW_CACHE ?? path.join(os.homedir(), '.cache', 'shopflow'), 'bin', 'temporal');
  if (!existsSync(p)) throw new Error(`no temporal binary at ${p}: run \`npm run stack -- up temporal\` first`);
  return p;
}

/** The SDK's own logs only for errors: test output stays quiet (a failing test still shows its error). */
export function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    /* installed already */
  }
}

export async function localTestEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary() },
      extraArgs: [
        '--dynamic-config-value',
        'frontend.enableExecuteMultiOperation=true',
        '--sqlite-pragma',
        'journal_mode=WAL',
        '--sqlite-pragma',
        'synchronous=OFF',
      ],
      // The saga's search attributes, as the stack registers them on its dev server.
      searchAttributes: [
        CustomerIdKey,
        NeedsAttentionKey,
        OrderStatusKey,
        OrderTotalKey,
        PaymentExpiresAtKey,
        PaymentStatusKey,
      ],
    },
  });
}

let cached: { code: string } | undefined;
/** The pre-built bundle when `npm run build` made one, else bundled once per test process. */
export async function workflowBundle(): Promise<{ codePath: string } | { code: string }> {
  quietRuntime();
  if (existsSync(WORKFLOW_BUNDLE_PATH)) return { codePath: WORKFLOW_BUNDLE_PATH };
  cached ??= { code: (await bundleWorkflows()).code };
  return cached;
}

/**
 * What the chaos suite drives and inspects: the platform's API, the gateway simulator, the stores it reads
 * directly (MySQL for stock, the order archive for status histories, Kafka for events), and the native stack
 * whose servers it kills. `npm run chaos` builds one for the platform started by `npm start`; the short Jest
 * version builds one for the in-process platform of `npm test`.
 */
import path from 'node:path';
import os from 'node:os';
import type { Knex } from 'knex';
import type { Kafka } from 'kafkajs';
import type { OrderArchive } from '../../orders/archive';

export interface ChaosTarget {
  apiUrl: string;
  gatewayUrl: string;
  mysql: Knex;
  /** Live orders' histories (MySQL) and archived ones (Cassandra). */
  archive: OrderArchive;
  kafka: Kafka;
  temporalAddress: string;
  temporalNamespace: string;
  /** The `temporal` CLI binary (operator faults). */
  temporalCli: string;
  /** The repository (for `bash stack/stack.sh up`) and the stack's state dir (pid files in run/). */
  repoDir: string;
  stateDir: string;
  /** The order payment timeout and late-payment window the platform runs with (bound the waits). */
  paymentTimeoutMs: number;
  latePaymentWindowMs: number;
  /** Starts a killed app process again (api, worker, gateway-sim); absent when the platform runs in-process. */
  restartApp?: (name: string) => Promise<void>;
}

export const REPO_DIR = path.resolve(
  __dirname,
  '..',
  '..',
  ...(path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? ['..'] : []),
);

/** Where the native stack keeps its pids (stack/lib.sh: $SHOPFLOW_STATE, default <repo>/.stack). */
export function stackStateDir(repoDir = REPO_DIR): string {
  return process.env.SHOPFLOW_STATE ?? path.join(repoDir, '.stack');
}

export function temporalCliPath(): string {
  return (
    process.env.TEMPORAL_CLI ??
    path.join(process.env.SHOPFLOW_CACHE ?? path.join(os.homedir(), '.cache', 'shopflow'), 'bin', 'temporal')
  );
}

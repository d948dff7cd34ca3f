/**
 * The API as several processes behind one port (issue 12): node:cluster forks API_PROCESSES workers (0: one per
 * core), each the whole API (api/server.ts) on the shared PORT, accepting its own connections
 * (API_CLUSTER_SCHEDULING); the primary only restarts a worker that dies. Everything the processes must agree
 * on lives in Redis (rate limits, purchase locks, the sold-out gate, the item and search caches); each has its
 * own MySQL pool of MYSQL_POOL_MAX.
 * SIGTERM/SIGINT: every worker finishes its requests in flight and writes its buffered analytics events, then
 * the primary exits.
 */
import cluster, { Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { config } from '../lib/config';
import { logger } from '../lib/logger';

const RESTART_DELAY_MS = 1_000;

function main(): void {
  const cfg = config();
  const n = cfg.API_PROCESSES > 0 ? cfg.API_PROCESSES : availableParallelism();
  cluster.schedulingPolicy = cfg.API_CLUSTER_SCHEDULING === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: path.join(__dirname, 'server.js') });
  let stopping = false;
  // With `none`, libuv accepts every pending connection in one go, so under a burst of new connections one
  // process takes nearly all of them and sheds load while the other idles (2,000 buyers: 695 answers 503). One
  // accept per turn of the event loop (libuv's UV_TCP_SINGLE_ACCEPT) lets the processes share them (53).
  const forkEnv =
    cfg.API_CLUSTER_SCHEDULING === 'none' ? { UV_TCP_SINGLE_ACCEPT: process.env.UV_TCP_SINGLE_ACCEPT ?? '1' } : {};
  const fork = (): Worker => cluster.fork(forkEnv);
  cluster.on('exit', (w, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ pid: w.process.pid, code, signal }, 'an API process exited; starting another');
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });
  for (let i = 0; i < n; i++) fork();
  logger.info({ processes: n, port: cfg.PORT }, 'shopflow API cluster starting');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    setTimeout(() => process.exit(1), 20_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main();

/**
 * Heartbeats while an activity works. With a `heartbeatTimeout` on the workflow's side, the server learns that a
 * worker died mid-attempt within that timeout and retries elsewhere; without one it waits out the whole
 * startToCloseTimeout (5 minutes for a reconciler pass, during which its Schedule skips every run).
 */
import { Context } from '@temporalio/activity';

/** The reconciler's and the sweepers' beat; their workflows (workflows/reconcile.ts, sweeps.ts) allow 30 s without
 * one, several beats, so a busy event loop is not taken for a dead worker. */
export const HOUSEKEEPING_HEARTBEAT_MS = 5_000;

export async function heartbeating<T>(everyMs: number, work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

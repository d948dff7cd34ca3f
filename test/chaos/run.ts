/**
 * One chaos round: fresh buyers and a fresh item, a stream of orders, the fault injected a few seconds in and
 * healed a few seconds later, the first 201 after the heal timed, then the checks until everything settled
 * (or a bound passed). Shared by `npm run chaos` (test/chaos/main.ts) and the short Jest version.
 */
import type { ChaosTarget } from './target';
import { Fault, FaultContext, sleep } from './faults';
import { ChargeLedger, EventLog, Findings, settle, violations } from './checks';
import { createStockedItem, OrderAttempt, OrderStream, registerBuyers, tally } from './stream';
import { ReadStream } from './reads';
import { percentile } from '../support/percentile';

export interface RoundOptions {
  ratePerSecond: number;
  streamMs: number;
  /** When the fault is injected, and how long after that it is healed. */
  injectAtMs: number;
  healAfterMs: number;
  buyers: number;
  initialStock: number;
  requestTimeoutMs: number;
  /** After the last order's payment and late-payment windows, this long for the orders to settle... */
  settleMs: number;
  /** ...and past that, this much longer while orders still end (one within settleStallMs of the last). */
  settleGraceMs: number;
  settleStallMs: number;
  /** After the heal, at most this long probing for the first 201. */
  recoverMs: number;
}

export interface RoundResult {
  fault: string;
  findings: Findings;
  violations: string[];
  /** From the heal to the first 201 of a request sent after it (null: none within the bound or no heal). */
  recoverMs: number | null;
  /** How long the heal itself took (the restart until the server answered). */
  healTookMs: number | null;
  /** From the end of the stream until every order had ended and the invariants held (null: never). */
  settledMs: number | null;
  touched: string[];
  errors: string[];
  /** Answers by the phase their request was sent in: before the fault (answered before it too, or in flight
   * when it came), while it lasted, after the heal. */
  timeline: string;
  /** How long the orders sent before the fault waited for their answer (p50, p90, max), e.g. "p50 80 ms ...". */
  latencyBefore: string;
  /** The catalog reads' answers by status, and from the heal to the first search answered 200 (null: none). */
  reads: string;
  readRecoverMs: number | null;
}

function timeline(
  attempts: OrderAttempt[],
  p: { injectAt: number; healAt: number | null; healedAt: number | null },
): string {
  // A request sent before the fault but answered after it met the fault: it is counted apart, not as "before".
  const phase = (a: OrderAttempt) =>
    a.sentAt < p.injectAt
      ? (a.answeredAt ?? Infinity) < p.injectAt
        ? 'before'
        : 'in flight at the fault'
      : p.healedAt === null || a.sentAt < p.healedAt
        ? 'during'
        : 'after';
  return tally(attempts, phase, ['before', 'in flight at the fault', 'during', 'after']);
}

/** Answer times of the orders sent before `until`: a slow platform shows here before any fault does. */
function latencies(attempts: OrderAttempt[], until: number): string {
  const ms = attempts
    .filter((a) => a.sentAt < until && a.answeredAt !== undefined)
    .map((a) => a.answeredAt! - a.sentAt)
    .sort((x, y) => x - y);
  if (ms.length === 0) return 'none answered';
  return `p50 ${percentile(ms, 0.5)} ms, p90 ${percentile(ms, 0.9)} ms, max ${ms[ms.length - 1]} ms (${ms.length} orders)`;
}

/**
 * Waits (at most `maxMs`) until the orders of earlier rounds stop moving: no order still `created` well past
 * its expiry, or no progress on them for 15 s (e.g. sagas an operator terminated). A backlog left by one
 * fault would otherwise be counted against the next.
 */
export async function waitForQuiet(target: ChaosTarget, maxMs: number, log: (m: string) => void): Promise<void> {
  const deadline = Date.now() + maxMs;
  const overdue = async () =>
    Number(
      (
        await target
          .mysql('orders')
          .where({ status: 'created' })
          .where('expires_at', '<', new Date(Date.now() - 10_000))
          .count({ n: '*' })
          .first()
      )?.n ?? 0,
    );
  let last = Infinity;
  let still = 0;
  for (;;) {
    const n = await overdue().catch(() => last);
    if (n === 0) return;
    still = n >= last ? still + 1 : 0;
    if (still >= 3 || Date.now() > deadline) {
      log(`earlier rounds leave ${n} orders created past their expiry${still >= 3 ? ' (not moving)' : ''}; going on`);
      return;
    }
    last = Math.min(last, n);
    await sleep(5000);
  }
}

/** Fresh buyers and a fresh item, an order stream for them at the rounds' rate and catalog reads at half of it
 * (neither started yet). */
async function newFlows(target: ChaosTarget, o: RoundOptions) {
  const buyers = await registerBuyers(target.apiUrl, o.buyers);
  const itemId = await createStockedItem(target.mysql, o.initialStock);
  const stream = new OrderStream(target.apiUrl, {
    ratePerSecond: o.ratePerSecond,
    itemId,
    buyers,
    requestTimeoutMs: o.requestTimeoutMs,
  });
  const reads = new ReadStream(target.apiUrl, itemId, {
    ratePerSecond: Math.max(2, o.ratePerSecond / 2),
    requestTimeoutMs: o.requestTimeoutMs,
  });
  return { buyers, itemId, stream, reads };
}

export async function runRound(
  target: ChaosTarget,
  fault: Fault,
  o: RoundOptions,
  log: (m: string) => void,
): Promise<RoundResult> {
  const errors: string[] = [];
  const { buyers, itemId, stream, reads } = await newFlows(target, o);
  const events = await EventLog.mark(target.kafka);
  const ctx: FaultContext = { target, stream, log };
  const t0 = Date.now();
  stream.start();
  reads.start();
  // The flows end on time even while a slow heal runs.
  const stopFlow = setTimeout(() => (stream.pause(), reads.pause()), o.streamMs);
  let healAt: number | undefined;
  let healTookMs: number | null = null;
  let injected = false;
  try {
    await sleep(o.injectAtMs);
    await fault.inject(ctx);
    injected = true;
    if (fault.heal) {
      await sleep(Math.max(0, t0 + o.injectAtMs + o.healAfterMs - Date.now()));
      healAt = Date.now();
      await fault.heal(ctx);
      healTookMs = Date.now() - healAt;
    }
  } catch (err) {
    errors.push(`fault ${fault.name}: ${(err as Error).message}`);
    log(`fault ${fault.name} failed: ${(err as Error).message}`);
  }
  await sleep(Math.max(0, t0 + o.streamMs - Date.now()));
  clearTimeout(stopFlow);
  stream.pause();
  reads.pause();
  // Past the stream and not yet recovered: probe (one order every 500 ms) until a 201, within the bound.
  if (healAt !== undefined) {
    while (!stream.firstAcceptedSince(healAt) && Date.now() < healAt + o.recoverMs) {
      await stream.sendOne();
      if (!stream.firstAcceptedSince(healAt)) await sleep(500);
    }
  }
  await stream.stop();
  const first = healAt !== undefined ? stream.firstAcceptedSince(healAt) : undefined;
  const recoverMs = first && healAt !== undefined ? first.answeredAt! - healAt : null;
  const readRecoverMs =
    healAt !== undefined && healTookMs !== null ? await reads.probeRecovery(healAt, o.recoverMs) : null;
  await reads.stop();

  // Orders accepted last expire one payment timeout later; a late success comes shortly after the expiry.
  const lastExpiry = Date.now() + target.paymentTimeoutMs;
  const pendingUntil = lastExpiry + 10_000;
  const deadline = Math.max(lastExpiry + target.latePaymentWindowMs, Date.now()) + o.settleMs;
  const subject = {
    itemId,
    initialStock: o.initialStock,
    buyers,
    attempts: stream.attempts,
    events,
    ledger: new ChargeLedger(target.gatewayUrl),
    apiKilled: !!fault.killsApi,
  };
  const streamEnd = Date.now();
  let findings: Findings;
  let settledMs: number | null;
  try {
    const settled = await settle(
      target,
      subject,
      { deadline, stallMs: o.settleStallMs, graceMs: o.settleGraceMs },
      pendingUntil,
      log,
    );
    findings = settled.findings;
    settledMs = settled.settledAt === null ? null : settled.settledAt - streamEnd;
  } finally {
    await events.close();
  }
  const v = violations(findings, subject.apiKilled);
  const badReads = reads.failures();
  if (badReads.length > 0)
    v.push(
      `${badReads.length} catalog reads answered a 5xx other than 503 with Retry-After (e.g. ${badReads[0]!.path}: ${badReads[0]!.status})`,
    );
  if (healAt !== undefined && healTookMs !== null && readRecoverMs === null)
    v.push(`no search answered 200 within ${o.recoverMs / 1000}s of the heal`);
  if (!injected) v.unshift('the fault could not be injected (see errors)');
  const phases = {
    injectAt: t0 + o.injectAtMs,
    healAt: healAt ?? null,
    healedAt: healAt !== undefined && healTookMs !== null ? healAt + healTookMs : null,
  };
  return {
    fault: fault.name,
    findings,
    violations: v,
    recoverMs,
    healTookMs,
    settledMs,
    touched: fault.touched ?? [],
    errors,
    timeline: timeline(stream.attempts, phases),
    latencyBefore: latencies(stream.attempts, phases.injectAt),
    reads: reads.summary(),
    readRecoverMs,
  };
}

/** The chaos suite's table: one row per fault, then each fault's failed invariants with example order ids. */
import type { RoundResult } from './run';

const COLUMNS = [
  'fault',
  'accepted',
  '503',
  'other 5xx',
  'dropped',
  'timed out',
  'placed',
  'canceled',
  'stuck',
  'charged+canceled',
  'placed w/o charge',
  'stock drift',
  'missing events',
  'recover',
  'settled',
  'verdict',
];

export function row(r: RoundResult): string[] {
  const f = r.findings;
  const secs = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);
  return [
    r.fault,
    String(f.api.accepted),
    f.api.s503WithoutRetryAfter ? `${f.api.s503} (${f.api.s503WithoutRetryAfter} no Retry-After)` : String(f.api.s503),
    f.api.s500 + f.api.other5xx ? `${f.api.s500 + f.api.other5xx}${f.api.s500 ? ` (${f.api.s500}x500)` : ''}` : '0',
    String(f.api.dropped),
    String(f.api.timedOut),
    String(f.placed),
    String(f.canceled),
    String(f.live.length),
    String(f.chargedButCanceled.length + f.chargedNotPlaced.length),
    String(f.placedWithoutCharge.length),
    f.stockMoving ? `${f.stockDrift}?` : String(f.stockDrift),
    String(f.missingEvents.length),
    r.healTookMs === null ? '-' : secs(r.recoverMs),
    r.settledMs === null ? 'never' : secs(r.settledMs),
    r.violations.length ? 'FAIL' : 'ok',
  ];
}

/** A Markdown table (readable in a terminal and pasteable in a note). */
export function table(results: RoundResult[]): string {
  const rows = [COLUMNS, ...results.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

export function details(results: RoundResult[]): string {
  // "?" after a stock drift: the stock moved while the orders were read, so the figure is not conclusive.
  const out: string[] = [];
  for (const r of results) {
    const extra: string[] = [];
    if (r.healTookMs !== null) extra.push(`restart took ${(r.healTookMs / 1000).toFixed(1)}s`);
    const other = Object.entries(r.findings.api.other).map(([s, n]) => `${n}x${s}`);
    if (other.length) extra.push(`other answers: ${other.join(', ')}`);
    if (r.findings.pendingOnCanceled.length)
      extra.push(
        `${r.findings.pendingOnCanceled.length} canceled orders with a charge still pending (e.g. ${r.findings.pendingOnCanceled[0]})`,
      );
    if (r.touched.length) extra.push(`acted on: ${r.touched.join(', ')}`);
    out.push(`${r.fault}: ${extra.join('; ') || 'nothing to add'}`);
    out.push(`  answers ${r.timeline}`);
    out.push(`  answer times before the fault: ${r.latencyBefore}`);
    const readsBack =
      r.readRecoverMs === null ? '' : `; search answered 200 ${(r.readRecoverMs / 1000).toFixed(1)}s after the heal`;
    out.push(`  catalog reads ${r.reads}${readsBack}`);
    for (const v of r.violations) out.push(`  FAIL ${v}`);
    for (const e of r.errors) out.push(`  error ${e}`);
  }
  return out.join('\n');
}

/**
 * Exports the raw analytics events (Cassandra `analytics_events_by_day_bucket`) to newline-delimited JSON, one file per
 * day, for offline jobs (Spark, a notebook, a warehouse load):
 *   npm run export:events -- --from 2026-11-01 --to 2026-11-26 [--out exports/events]
 * writes {out}/events-YYYY-MM-DD.ndjson (one event per line, in time order; an empty day gives an empty file).
 * Each file is written to a temporary name and renamed when complete, so a reader never sees half a day.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createCassandra } from '../stores/cassandra/client';
import { RawEventStore } from '../analytics/raw-store';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_DAYS = 3660;

export function parseArgs(argv: string[]): { from: string; to: string; out: string } {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const today = new Date().toISOString().slice(0, 10);
  const from = get('from') ?? today;
  const to = get('to') ?? from;
  const out = get('out') ?? 'exports/events';
  for (const d of [from, to])
    if (!DAY.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`))) throw new Error(`not a day (YYYY-MM-DD): ${d}`);
  if (from > to) throw new Error(`--from ${from} is after --to ${to}`);
  return { from, to, out };
}

export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (
    let t = Date.parse(`${from}T00:00:00Z`);
    t <= Date.parse(`${to}T00:00:00Z`) && out.length < MAX_DAYS;
    t += 86_400_000
  )
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export async function exportDays(
  store: RawEventStore,
  days: string[],
  outDir: string,
): Promise<{ day: string; events: number; file: string }[]> {
  await mkdir(outDir, { recursive: true });
  const report = [];
  for (const day of days) {
    const file = join(outDir, `events-${day}.ndjson`);
    const tmp = `${file}.partial`;
    const ws = createWriteStream(tmp, { encoding: 'utf8' });
    let events = 0;
    for await (const payload of store.day(day)) {
      if (!ws.write(`${payload}\n`)) await once(ws, 'drain');
      events += 1;
    }
    ws.end();
    await once(ws, 'finish');
    await rename(tmp, file);
    report.push({ day, events, file });
  }
  return report;
}

async function main(): Promise<void> {
  const cfg = config();
  const args = parseArgs(process.argv.slice(2));
  const cassandra = createCassandra(cfg, cfg.CASSANDRA_KEYSPACE);
  try {
    for (const r of await exportDays(new RawEventStore(cassandra), daysBetween(args.from, args.to), args.out)) {
      process.stdout.write(`${r.day}: ${r.events} events -> ${r.file}\n`);
    }
  } finally {
    await cassandra.shutdown();
  }
}

if (require.main === module) {
  main().catch((err) => {
    logger.fatal({ err }, 'export failed');
    process.exit(1);
  });
}

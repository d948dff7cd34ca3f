/**
 * Where the box's CPU went between two moments, per process (Linux /proc): on a box that runs the whole stack,
 * the API's latency under a burst depends on what else is busy (Temporal, the worker, the bench's own client).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** CPU ticks (user + system) of every process now, by pid, with its name. */
export type CpuSnapshot = { at: number; procs: Map<number, ProcCpu> };
export type ProcCpu = { name: string; ppid: number; ticks: number };

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function cpuSnapshot(): CpuSnapshot {
  const procs = new Map<number, ProcCpu>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return { at: performance.now(), procs }; // not Linux: nothing to tell
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state)
      procs.set(Number(pid), {
        name: stat.slice(stat.indexOf('(') + 1, close),
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]), // utime, stime
      });
    } catch {
      /* the process ended meanwhile */
    }
  }
  return { at: performance.now(), procs };
}

/** The CPU seconds each label's processes used between two snapshots, their total, and the window's length. */
export function cpuUse(
  from: CpuSnapshot,
  to: CpuSnapshot,
  label: (pid: number, p: ProcCpu) => string,
): { seconds: number; total: number; byLabel: Map<string, number> } {
  const byLabel = new Map<string, number>();
  let total = 0;
  for (const [pid, p] of to.procs) {
    const used = (p.ticks - (from.procs.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
    if (used <= 0) continue;
    total += used;
    const key = label(pid, p);
    byLabel.set(key, (byLabel.get(key) ?? 0) + used);
  }
  return { seconds: (to.at - from.at) / 1000, total, byLabel };
}

/** One line: the window's length, the CPU seconds all processes used of those the cores had, and the busiest
 * processes, each labelled by `label(pid, proc)` (e.g. "api" for the API's pids). */
export function cpuSplit(from: CpuSnapshot, to: CpuSnapshot, label: (pid: number, p: ProcCpu) => string): string {
  const { seconds, total, byLabel } = cpuUse(from, to, label);
  const busiest = [...byLabel]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, s]) => `${k} ${s.toFixed(2)}`)
    .join(', ');
  return `${seconds.toFixed(2)} s, CPU used ${total.toFixed(2)} of ${(seconds * os.cpus().length).toFixed(2)} s: ${busiest}`;
}

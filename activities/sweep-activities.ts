/** The sweepers' activities (their Temporal Schedules run them), built from the sweepers they drive. */
import type { SagaSweeper } from '../orders/saga-sweeper';
import type { ArchiveSweeper } from '../orders/archive-sweeper';
import { HOUSEKEEPING_HEARTBEAT_MS, heartbeating } from './heartbeat';

export function createSweepActivities(sagas: SagaSweeper, archive: ArchiveSweeper) {
  return {
    /** Starts the missing sagas; answers how many rows ended how (started, expired, closed, failed). */
    async sweepSagas(): Promise<Record<string, number>> {
      const done = await heartbeating(HOUSEKEEPING_HEARTBEAT_MS, () => sagas.sweep());
      const counts: Record<string, number> = {};
      for (const action of done.values()) counts[action] = (counts[action] ?? 0) + 1;
      return counts;
    },
    async sweepArchive(): Promise<{ archived: number }> {
      return { archived: (await heartbeating(HOUSEKEEPING_HEARTBEAT_MS, () => archive.pass())).length };
    },
  };
}

export type SweepActivities = ReturnType<typeof createSweepActivities>;

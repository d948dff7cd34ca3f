/** The chaos suite's settings (CHAOS_*), each with a default; durations as in lib/config.ts (5s, 300ms). */
import { z } from 'zod';
import { parseDurationMs } from '../../lib/config';
import { ALL_FAULTS } from './faults';
import type { RoundOptions } from './run';

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h)?$/, 'a duration such as 300ms, 5s or 1m')
  .transform(parseDurationMs);

const schema = z.object({
  /** Which faults, comma-separated, in this order (default: all). */
  CHAOS_FAULTS: z
    .string()
    .default(ALL_FAULTS.join(','))
    .transform((s) =>
      s
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean),
    )
    .refine((fs) => fs.every((f) => ALL_FAULTS.includes(f)), { message: `known faults: ${ALL_FAULTS.join(', ')}` }),
  /** Orders per second, and how long the stream flows. */
  CHAOS_RATE: z.coerce.number().positive().max(200).default(20),
  CHAOS_STREAM: duration.default(15_000),
  /** The fault comes this long into the stream and is healed this long after. */
  CHAOS_INJECT_AT: duration.default(5_000),
  CHAOS_HEAL_AFTER: duration.default(8_000),
  /** Fresh buyers per fault (each places rate*stream/buyers orders: keep under RATE_LIMIT_ORDERS per minute). */
  CHAOS_BUYERS: z.coerce.number().int().min(1).max(100).default(10),
  CHAOS_STOCK: z.coerce.number().int().positive().default(100_000),
  /** A POST /orders unanswered this long counts as timed out. */
  CHAOS_REQUEST_TIMEOUT: duration.default(30_000),
  /** Extra time, after the last order's payment window and late-payment window, for orders to settle. */
  CHAOS_SETTLE: duration.default(30_000),
  /** Past that, how much longer while orders still end, and how long without one ending counts as stuck. */
  CHAOS_SETTLE_GRACE: duration.default(120_000),
  CHAOS_SETTLE_STALL: duration.default(15_000),
  /** After the heal, how long to probe for the first 201. */
  CHAOS_RECOVER: duration.default(90_000),
});

export interface ChaosSettings {
  faults: string[];
  round: RoundOptions;
}

export function loadChaosSettings(env: NodeJS.ProcessEnv = process.env): ChaosSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success)
    throw new Error(
      `invalid chaos settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const s = parsed.data;
  return {
    faults: s.CHAOS_FAULTS,
    round: {
      ratePerSecond: s.CHAOS_RATE,
      streamMs: s.CHAOS_STREAM,
      injectAtMs: s.CHAOS_INJECT_AT,
      healAfterMs: s.CHAOS_HEAL_AFTER,
      buyers: s.CHAOS_BUYERS,
      initialStock: s.CHAOS_STOCK,
      requestTimeoutMs: s.CHAOS_REQUEST_TIMEOUT,
      settleMs: s.CHAOS_SETTLE,
      settleGraceMs: s.CHAOS_SETTLE_GRACE,
      settleStallMs: s.CHAOS_SETTLE_STALL,
      recoverMs: s.CHAOS_RECOVER,
    },
  };
}

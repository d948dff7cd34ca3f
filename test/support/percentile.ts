/** The q-quantile (0 < q <= 1) of ascending numbers by nearest rank: the smallest value with at least q of them at
 * or below it; NaN for none. Shared by the benches' and the chaos suite's latency figures. */
export const percentile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

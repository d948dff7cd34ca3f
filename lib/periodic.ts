/**
 * Runs `task` every `everyMs`, each run starting `everyMs` after the previous one ended (runs never overlap).
 * A failed run is reported to `onError` and the next one goes ahead. Returns a function that stops it.
 */
export function runPeriodically(
  task: () => Promise<unknown>,
  everyMs: number,
  onError: (err: unknown) => void,
): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      await task();
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = setTimeout(tick, everyMs);
  };
  timer = setTimeout(tick, everyMs);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

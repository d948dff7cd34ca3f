/** The benchmark's ceiling activity: does nothing. */
export function createNoopActivities() {
  return { async noop(): Promise<void> {} };
}
export type NoopActivities = ReturnType<typeof createNoopActivities>;

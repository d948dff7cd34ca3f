/**
 * Concurrent callers asking for the same key share one call: while `fn` for a key is in flight, later callers get
 * its promise (its answer or its error); the next caller after it settles starts a new one. Per process.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const shared = this.inFlight.get(key);
    if (shared) return shared;
    const p = fn().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }
}

/**
 * The catalog reads of a chaos round: GET /search and GET /items/{id} at a steady rate beside the order stream,
 * then, after the heal, one search every 500 ms until one answers 200. A store down may make a read answer 503
 * (with Retry-After), never another 5xx; and once the server is back, search answers again.
 */
import { sleep } from './faults';

export interface ReadAttempt {
  path: string;
  sentAt: number;
  status?: number;
  retryAfter?: string | null;
  dropped?: string;
  timedOut?: boolean;
}

export class ReadStream {
  readonly attempts: ReadAttempt[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private seq = 0;

  constructor(
    private readonly apiUrl: string,
    private readonly itemId: string,
    private readonly opts: { ratePerSecond: number; requestTimeoutMs: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sendOne(), 1000 / this.opts.ratePerSecond);
  }

  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async stop(): Promise<void> {
    this.pause();
    await Promise.allSettled([...this.inFlight]);
  }

  /** After the heal: a search every 500 ms until one sent after `healedAt` answers 200, at most `maxMs`. */
  async probeRecovery(healedAt: number, maxMs: number): Promise<number | null> {
    while (Date.now() < healedAt + maxMs) {
      const a = await this.sendOne('search');
      if (a.status === 200) return Date.now() - healedAt;
      await sleep(500);
    }
    return null;
  }

  /** Reads answered with a 5xx other than 503, or a 503 without Retry-After. */
  failures(): ReadAttempt[] {
    return this.attempts.filter(
      (a) => a.status !== undefined && a.status >= 500 && (a.status !== 503 || !a.retryAfter),
    );
  }

  /** Answers by status (`dropped`, `timeout` for no answer), e.g. "search 40x200 3x503; item 43x200". */
  summary(): string {
    const counts: Record<string, Record<string, number>> = {};
    for (const a of this.attempts) {
      const kind = a.path.startsWith('/search') ? 'search' : 'item';
      const k = a.dropped ? 'dropped' : a.timedOut ? 'timeout' : String(a.status);
      const c = (counts[kind] ??= {});
      c[k] = (c[k] ?? 0) + 1;
    }
    return Object.entries(counts)
      .map(
        ([kind, c]) =>
          `${kind} ${Object.entries(c)
            .map(([k, n]) => `${n}x${k}`)
            .join(' ')}`,
      )
      .join('; ');
  }

  private sendOne(only?: 'search'): Promise<ReadAttempt> {
    const n = this.seq++;
    // Distinct words, so that the result cache does not answer for the engine.
    const path =
      only === 'search' || n % 2 === 0
        ? `/search?query=chaos%20${n}&limit=5`
        : `/items/${encodeURIComponent(this.itemId)}`;
    const a: ReadAttempt = { path, sentAt: Date.now() };
    this.attempts.push(a);
    const p = this.send(a);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p.then(() => a);
  }

  private async send(a: ReadAttempt): Promise<void> {
    try {
      const res = await fetch(this.apiUrl + a.path, { signal: AbortSignal.timeout(this.opts.requestTimeoutMs) });
      await res.arrayBuffer();
      a.status = res.status;
      a.retryAfter = res.headers.get('retry-after');
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') a.timedOut = true;
      else a.dropped = e.cause?.code ?? e.message;
    }
  }
}

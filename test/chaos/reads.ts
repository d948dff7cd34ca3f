/**
 * The catalog reads of a chaos round: GET /search and GET /items/{id} at a steady rate beside the order stream,
 * then, after the heal, one search every 500 ms until one answers 200. A store down may make a read answer 503
 * (with Retry-After), never another 5xx; and once the server is back, search answers again.
 */
import { sleep } from './faults';
import { Answer, recordFailure, SteadyFlow, tally, parseBody, whyFailed } from './stream';

export interface ReadAttempt extends Answer {
  path: string;
  sentAt: number;
  retryAfter?: string | null;
}

export class ReadStream extends SteadyFlow {
  readonly attempts: ReadAttempt[] = [];
  private seq = 0;

  constructor(
    private readonly apiUrl: string,
    private readonly itemId: string,
    private readonly opts: { ratePerSecond: number; requestTimeoutMs: number },
  ) {
    super(opts.ratePerSecond);
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

  /** Answers by status (`dropped`, `timeout` for no answer), e.g. "search: 40x200 3x503; item: 43x200". */
  summary(): string {
    return tally(this.attempts, (a) => (a.path.startsWith('/search') ? 'search' : 'item'), ['search', 'item']);
  }

  protected sendOne(only?: 'search'): Promise<ReadAttempt> {
    const n = this.seq++;
    // Distinct words, so that the result cache does not answer for the engine.
    const path =
      only === 'search' || n % 2 === 0
        ? `/search?query=chaos%20${n}&limit=5`
        : `/items/${encodeURIComponent(this.itemId)}`;
    const a: ReadAttempt = { path, sentAt: Date.now() };
    this.attempts.push(a);
    return this.track(this.send(a)).then(() => a);
  }

  private async send(a: ReadAttempt): Promise<void> {
    try {
      const res = await fetch(this.apiUrl + a.path, { signal: AbortSignal.timeout(this.opts.requestTimeoutMs) });
      const text = await res.text();
      a.status = res.status;
      if (res.status >= 500) a.why = whyFailed(res.status, parseBody(text));
      a.retryAfter = res.headers.get('retry-after');
    } catch (err) {
      recordFailure(a, err);
    }
  }
}

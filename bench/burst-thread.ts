/**
 * The flash sale's buyers, on a thread of their own (bench/flashsale.ts): the bench process also runs the order
 * worker, whose activities would otherwise hold up this event loop and count as the API's latency. Each buyer
 * sends one POST /orders on its own connection at the same moment; the answers' statuses and latencies go back
 * to the parent. Warm-up sales (`warmups`) run first on the same thread, unmeasured.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { postJson } from './buyer-client';

export interface BurstInput {
  baseUrl: string;
  itemId: string;
  buyers: { userId: string; token: string }[];
  shippingAddress: unknown;
  /** Small sales run before the measured one (BENCH_WARMUP_ROUNDS), each with its own item and buyers. */
  warmups: { itemId: string; buyers: { userId: string; token: string }[] }[];
}

export interface BurstAnswers {
  /** One per buyer: the HTTP status, or 0 when the connection failed (refused or reset). */
  statuses: number[];
  /** Milliseconds from sending to the whole answer, one per buyer. */
  latencies: number[];
  wallMs: number;
}

async function burst(input: BurstInput): Promise<BurstAnswers> {
  const statuses: number[] = [];
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    input.buyers.map(async (b) => {
      const s = performance.now();
      const status = await postJson(input.baseUrl, '/orders', b.token, {
        user_id: b.userId,
        items: [{ item_id: input.itemId, quantity: 1 }],
        shipping_address: input.shippingAddress,
      }).then(
        (r) => r.status,
        () => 0,
      );
      latencies.push(performance.now() - s);
      statuses.push(status);
    }),
  );
  return { statuses, latencies, wallMs: performance.now() - t0 };
}

if (parentPort) {
  const port = parentPort;
  // A rejection would end the thread with an 'error' event, which the parent awaits as well.
  const input = workerData as BurstInput;
  const run = async () => {
    for (const w of input.warmups) await burst({ ...input, itemId: w.itemId, buyers: w.buyers });
    port.postMessage('measured burst starts'); // the parent notes the CPU counters
    return burst(input);
  };
  void run().then((answers) => port.postMessage(answers));
}

/**
 * The workflows carry the trace under the header that Temporal's OpenTelemetry client and activity interceptors
 * write and read (workflows/interceptors.ts keeps its own copy of the name: importing the library into the
 * workflow bundle is what it avoids).
 */
import { TRACE_HEADER as LIBRARY_TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import type { Headers } from '@temporalio/common';
import { interceptors, TRACE_HEADER } from '../../workflows/interceptors';

const payload = (s: string) => ({ metadata: {}, data: Buffer.from(s) });

test('the header name is the one the OpenTelemetry interceptors use', () => {
  expect(TRACE_HEADER).toBe(LIBRARY_TRACE_HEADER);
});

test("an activity scheduled by the run carries the trace of the run's start, and keeps a header of its own", async () => {
  const { inbound, outbound } = interceptors();
  const started = payload('start');
  await inbound![0]!.execute!({ headers: { [TRACE_HEADER]: started }, args: [] }, async () => undefined);
  const seen: Headers[] = [];
  const next = async (input: { headers: Headers }) => void seen.push(input.headers);
  const schedule = outbound![0]!.scheduleActivity!;
  await schedule({ headers: {} } as never, next as never);
  await schedule({ headers: { [TRACE_HEADER]: payload('own') } } as never, next as never);
  expect(seen[0]![TRACE_HEADER]).toBe(started);
  expect(Buffer.from(seen[1]![TRACE_HEADER]!.data!).toString()).toBe('own');
});

test('a run started without a trace schedules its activities without one', async () => {
  const { inbound, outbound } = interceptors();
  await inbound![0]!.execute!({ headers: {}, args: [] }, async () => undefined);
  const seen: Headers[] = [];
  await outbound![0]!.scheduleActivity!(
    { headers: {} } as never,
    (async (i: { headers: Headers }) => void seen.push(i.headers)) as never,
  );
  expect(seen[0]).toEqual({});
});

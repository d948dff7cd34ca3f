/**
 * The workflow interceptors (bundled with the workflows: scripts/bundle-workflows.ts, workers/order-worker.ts):
 * they carry the trace of the API request that started the saga to every activity, child workflow and signal the
 * saga sends, so its activities' spans (the worker's OpenTelemetry activity interceptors) join the request's
 * trace. The workflow makes no spans of its own: Temporal's Web UI shows its history and timing.
 *
 * Why not @temporalio/interceptors-opentelemetry's workflow interceptors: in a profile of bench:flashsale they took
 * about 30% of the workflow thread's CPU (their modules are evaluated again for every new workflow, and each span's
 * promises pay the SDK's per-promise stack-trace hook); without them the same run cost the worker half the CPU.
 */
import type { Headers } from '@temporalio/common';
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The header @temporalio/interceptors-opentelemetry reads and writes (its TRACE_HEADER). */
export const TRACE_HEADER = '_tracer-data';

/** The same input with the run's trace header added, when the run has one and the input has none of its own. */
function carrying<T extends { headers: Headers }>(trace: Headers[string] | undefined, input: T): T {
  if (!trace || input.headers[TRACE_HEADER]) return input;
  return { ...input, headers: { ...input.headers, [TRACE_HEADER]: trace } };
}

export const interceptors = (): WorkflowInterceptors => {
  let trace: Headers[string] | undefined;
  const inbound: WorkflowInboundCallsInterceptor = {
    execute(input, next) {
      trace = input.headers[TRACE_HEADER];
      return next(input);
    },
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => next(carrying(trace, input)),
    scheduleLocalActivity: (input, next) => next(carrying(trace, input)),
    startChildWorkflowExecution: (input, next) => next(carrying(trace, input)),
    signalWorkflow: (input, next) => next(carrying(trace, input)),
    continueAsNew: (input, next) => next(carrying(trace, input)),
  };
  return { inbound: [inbound], outbound: [outbound] };
};

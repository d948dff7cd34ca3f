import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { orderWorkflow } from '../workflows/order';
import type { OrderInput } from '../workflows/types';

/**
 * Starts an order's saga, its workflow id the order id. Idempotent: a saga already running is left as it is
 * (USE_EXISTING), and a closed one is never started again (REJECT_DUPLICATE): then it answers 'closed'.
 */
export async function startSaga(temporal: Client, taskQueue: string, input: OrderInput, deadlineMs = 5000): Promise<'started' | 'closed'> {
  try {
    await temporal.withDeadline(Date.now() + deadlineMs, () =>
      temporal.workflow.start<typeof orderWorkflow>('orderWorkflow', {
        workflowId: input.orderId,
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        memo: { user_id: input.userId },
      }),
    );
    return 'started';
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return 'closed';
  }
}

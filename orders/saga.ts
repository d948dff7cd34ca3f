import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Knex } from 'knex';
import type { OrderInput, OrderLine, OrderOutcome, PaymentMethod } from './model';

/** The saga's signature (workflows/order.ts), by name: the order domain starts it without importing it. */
type OrderWorkflowFn = (input: OrderInput) => Promise<OrderOutcome>;

/** The settings a saga's input carries (fixed in its history). */
export type SagaTimings = Pick<OrderInput, 'paymentTimeoutMs' | 'latePaymentPolicy' | 'latePaymentWindowMs'>;

/** The saga input of an order already reserved in MySQL: its lines and its own payment deadline. */
export async function sagaInputFor(
  mysql: Knex,
  row: { order_id: string; user_id: string; payment_method: PaymentMethod; expires_at: Date },
  timings: SagaTimings,
): Promise<OrderInput> {
  const lines: OrderLine[] = (
    await mysql('order_items').select('item_id', 'quantity').where({ order_id: row.order_id }).orderBy('item_id')
  ).map((l: { item_id: string; quantity: number }) => ({ item_id: l.item_id, quantity: Number(l.quantity) }));
  return {
    orderId: row.order_id,
    userId: row.user_id,
    lines,
    paymentMethod: row.payment_method,
    ...timings,
    expiresAt: new Date(row.expires_at).toISOString(),
  };
}

/**
 * Starts an order's saga, its workflow id the order id. Idempotent: a saga already running is left as it is
 * (USE_EXISTING), and a closed one is never started again (REJECT_DUPLICATE): then it answers 'closed'.
 */
export async function startSaga(
  temporal: Client,
  taskQueue: string,
  input: OrderInput,
  deadlineMs = 5000,
): Promise<'started' | 'closed'> {
  try {
    await temporal.withDeadline(Date.now() + deadlineMs, () =>
      temporal.workflow.start<OrderWorkflowFn>('orderWorkflow', {
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

/** Every workflow the worker registers (the bundle's entry point). */
export { orderWorkflow } from './order';
export { latePaymentWorkflow } from './late-payment';
export { noopWorkflow } from './noop';
export { reconcileWorkflow } from './reconcile';
export { sagaSweepWorkflow, archiveSweepWorkflow } from './sweeps';

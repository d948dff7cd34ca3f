/**
 * Faults on demand: per request with the `Simulator-Fault: <name>[; delay_ms=N]` header, or by rules set
 * through `POST /v1/test/faults` that match requests (and the webhooks of charges) by order id and payment
 * method, each for `times` matches or until cleared. Rules live in the process's memory: a restart clears them.
 */
import { z } from 'zod';

/** Faults of the answer to a request. */
export const REQUEST_FAULTS = [
  'slow',
  'timeout_after_charge',
  'error_before_charge',
  'error_after_charge',
  'refuse',
] as const;
/** Faults of the webhooks a charge causes. */
export const WEBHOOK_FAULTS = ['drop_webhooks', 'duplicate_webhooks', 'reorder_webhooks'] as const;
export type RequestFaultName = (typeof REQUEST_FAULTS)[number];
export type WebhookFaultName = (typeof WEBHOOK_FAULTS)[number];
export type FaultName = RequestFaultName | WebhookFaultName;

export const FAULT_HEADER = 'simulator-fault';
/** How long `slow` waits and `reorder_webhooks` holds an event back, when the fault gives no delay_ms. */
export const DEFAULT_FAULT_DELAY_MS = 1000;

export interface Fault {
  fault: FaultName;
  delayMs: number;
}

/** Which request a rule applies to (its request faults); its webhook faults apply to the matching charges. */
export type Operation = 'charge' | 'refund' | 'void';

export const FaultRuleInput = z
  .object({
    fault: z.enum([...REQUEST_FAULTS, ...WEBHOOK_FAULTS]),
    times: z.number().int().positive().optional(),
    order_id: z.string().min(1).max(200).optional(),
    payment_method: z.string().min(1).max(100).optional(),
    delay_ms: z.number().int().min(0).max(600_000).optional(),
    operation: z.enum(['charge', 'refund', 'void']).default('charge'),
  })
  .strict();
export const FaultRulesBody = z.object({ rules: z.array(FaultRuleInput).min(1).max(100) }).strict();

export interface FaultRule {
  id: string;
  fault: FaultName;
  /** Matches left; undefined: until cleared. */
  remaining?: number;
  orderId?: string;
  paymentMethod?: string;
  delayMs?: number;
  operation: Operation;
}

export const isWebhookFault = (f: FaultName): f is WebhookFaultName =>
  (WEBHOOK_FAULTS as readonly string[]).includes(f);

/** Parses the header; throws a message for a 400 when it names no known fault. */
export function parseFaultHeader(header: string | undefined): Fault | undefined {
  if (!header) return undefined;
  const [name, ...params] = header.split(';').map((s) => s.trim());
  if (!name || ![...REQUEST_FAULTS, ...WEBHOOK_FAULTS].includes(name as FaultName)) {
    throw new Error(`unknown fault "${name}": one of ${[...REQUEST_FAULTS, ...WEBHOOK_FAULTS].join(', ')}`);
  }
  let delayMs = DEFAULT_FAULT_DELAY_MS;
  for (const p of params) {
    const m = /^delay_ms=(\d{1,6})$/.exec(p);
    if (!m) throw new Error(`unknown fault parameter "${p}": only delay_ms=N`);
    delayMs = Number(m[1]);
  }
  return { fault: name as FaultName, delayMs };
}

export class FaultRules {
  private rules: FaultRule[] = [];
  private nextId = 1;

  add(inputs: z.infer<typeof FaultRuleInput>[]): FaultRule[] {
    const added = inputs.map((r) => ({
      id: `fr_${this.nextId++}`,
      fault: r.fault,
      operation: r.operation,
      ...(r.times !== undefined ? { remaining: r.times } : {}),
      ...(r.order_id !== undefined ? { orderId: r.order_id } : {}),
      ...(r.payment_method !== undefined ? { paymentMethod: r.payment_method } : {}),
      ...(r.delay_ms !== undefined ? { delayMs: r.delay_ms } : {}),
    }));
    this.rules.push(...added);
    return added;
  }

  list(): FaultRule[] {
    return [...this.rules];
  }

  clear(): void {
    this.rules = [];
  }

  /** The first request-fault rule matching this request, consumed once. */
  takeRequestFault(op: Operation, charge: { orderId: string; paymentMethod: string }): Fault | undefined {
    const rule = this.rules.find((r) => !isWebhookFault(r.fault) && r.operation === op && matches(r, charge));
    return rule && this.consume(rule);
  }

  /** Every webhook-fault rule matching this charge's event, each consumed once. */
  takeWebhookFaults(charge: { orderId: string; paymentMethod: string }): Fault[] {
    return this.rules.filter((r) => isWebhookFault(r.fault) && matches(r, charge)).map((r) => this.consume(r));
  }

  private consume(rule: FaultRule): Fault {
    if (rule.remaining !== undefined && --rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return { fault: rule.fault, delayMs: rule.delayMs ?? DEFAULT_FAULT_DELAY_MS };
  }
}

const matches = (r: FaultRule, c: { orderId: string; paymentMethod: string }) =>
  (r.orderId === undefined || r.orderId === c.orderId) &&
  (r.paymentMethod === undefined || r.paymentMethod === c.paymentMethod);

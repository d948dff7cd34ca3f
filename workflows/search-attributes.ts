/**
 * The order saga's custom search attributes (saga v3), so operators find orders in the Temporal Web UI and CLI:
 *   temporal workflow list --query "OrderStatus='created' AND PaymentExpiresAt < '2026-12-04T18:00:00Z'"
 * The stack registers them on the dev server (stack/components/temporal.sh); on a real cluster run
 * `temporal operator search-attribute create --name <Name> --type <Type>` once for each (README, Runbook).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const PaymentStatusKey = defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderTotalKey = defineSearchAttributeKey('OrderTotal', SearchAttributeType.DOUBLE);
export const PaymentExpiresAtKey = defineSearchAttributeKey('PaymentExpiresAt', SearchAttributeType.DATETIME);
export const NeedsAttentionKey = defineSearchAttributeKey('NeedsAttention', SearchAttributeType.BOOL);

/** Name -> CLI type, for registering them (the stack script, the worker's start-up check, the test server). */
export const ORDER_SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Double' | 'Datetime' | 'Bool'> = {
  OrderStatus: 'Keyword',
  PaymentStatus: 'Keyword',
  CustomerId: 'Keyword',
  OrderTotal: 'Double',
  PaymentExpiresAt: 'Datetime',
  NeedsAttention: 'Bool',
};

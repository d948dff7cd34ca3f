/**
 * The order saga upserts its search attributes (workflows/search-attributes.ts); on a namespace without them
 * every saga's workflow task would fail and retry forever. The worker checks at start and refuses to run,
 * saying what to register, instead.
 */
import type { Client } from '@temporalio/client';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export async function requireSearchAttributes(client: Client, namespace: string): Promise<void> {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.keys(ORDER_SEARCH_ATTRIBUTES).filter((name) => !(name in (customAttributes ?? {})));
  if (missing.length === 0) return;
  const how = missing
    .map(
      (n) =>
        `temporal operator search-attribute create --namespace ${namespace} --name ${n} --type ${ORDER_SEARCH_ATTRIBUTES[n]}`,
    )
    .join('\n  ');
  throw new Error(
    `the namespace ${namespace} lacks the order saga's search attributes ${missing.join(', ')}; register them:\n  ${how}`,
  );
}

/**
 * Where a live order is mirrored (Redis, with its payment expiry) and where a finished one goes (the Cassandra
 * archive).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ArchiveOutcome } from '../orders/archive';
import { deleteMirror, writeMirror } from '../orders/mirror';
import type { OrderView } from '../orders/model';
import type { OrderActivityContext } from './deps';

export function createOrderRecordActivities({ redis, archive }: OrderActivityContext) {
  return {
    /** The saga's last step: a delivered or canceled order moves to the Cassandra archive and leaves MySQL
     * (copy, then delete: see orders/archive.ts). Retried until done; a repeat finds it archived. */
    async archiveOrder({ orderId }: { orderId: string }): Promise<ArchiveOutcome> {
      const outcome = await archive.archive(orderId);
      // A live order here would be a saga bug: fail loudly (a person looks) rather than end the saga without it.
      if (outcome === 'not_finished')
        throw ApplicationFailure.nonRetryable(
          `order ${orderId} is not finished and cannot be archived`,
          'OrderNotFinished',
        );
      return outcome;
    },

    /** The seed's Redis record of a live order, expiring with its payment window. */
    async mirrorOrder(order: OrderView): Promise<void> {
      await writeMirror(redis, order);
    },

    async removeMirror({ orderId }: { orderId: string }): Promise<void> {
      await deleteMirror(redis, orderId);
    },
  };
}

/** The bulk request and response handling both adapters share. */
import type { BulkOutcome, VersionedDocument } from './port';

export function bulkOperations(index: string, docs: VersionedDocument[]): object[] {
  return docs.flatMap(({ doc, version }) => [
    { index: { _index: index, _id: doc.item_id, version, version_type: 'external_gte' } },
    doc,
  ]);
}

interface BulkItem {
  index?: { _id?: string | null; status: number; error?: { type?: string; reason?: string | null } };
}

export function bulkOutcome(items: BulkItem[]): BulkOutcome {
  const out: BulkOutcome = { indexed: 0, stale: 0, failed: [] };
  for (const it of items) {
    const r = it.index;
    if (!r) continue;
    if (r.status >= 200 && r.status < 300) out.indexed += 1;
    else if (r.status === 409) out.stale += 1;
    else
      out.failed.push({
        item_id: String(r._id),
        status: r.status,
        reason: `${r.error?.type ?? 'error'}: ${r.error?.reason ?? ''}`.slice(0, 300),
      });
  }
  return out;
}

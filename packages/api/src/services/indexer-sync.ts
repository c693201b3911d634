/**
 * Brings the mirrored tables up to the chain head before a read that must not lag (a pass
 * just bought, a consent just revoked). Syncs on one indexer run one after another: two
 * procedures syncing at once would otherwise fetch and apply the same range twice (harmless,
 * the indexer is idempotent, but wasted work and lock contention on SQLite).
 */
import type { Indexer } from "@opencohort/chain/indexer/indexer";

interface SyncQueue {
  /** The sync in progress (or the last one). */
  running: Promise<void>;
  /** A sync queued after it and not started yet: it will see whatever a new caller needs. */
  waiting: Promise<void> | null;
}
const queues = new WeakMap<Indexer, SyncQueue>();

/**
 * Syncs the indexer (or `chain.indexer`) up to the chain head as of the call. Callers that
 * arrive while a sync runs share the one queued after it, which starts after they arrived,
 * so 32 concurrent submits cost two syncs, not 32.
 */
export function syncIndexer(chain: Indexer | { indexer: Indexer }): Promise<void> {
  const indexer = "indexer" in chain ? chain.indexer : chain;
  const queue = queues.get(indexer) ?? { running: Promise.resolve(), waiting: null };
  queues.set(indexer, queue);
  if (queue.waiting) return queue.waiting;
  const next = queue.running
    .catch(() => undefined)
    .then(async () => {
      queue.waiting = null;
      await indexer.syncOnce();
    });
  queue.waiting = next;
  queue.running = next;
  return next;
}

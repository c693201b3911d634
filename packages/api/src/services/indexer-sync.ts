/**
 * Brings the mirrored tables up to the chain head before a read that must not lag (a pass
 * just bought, a consent just revoked). Calls on one indexer run one after another: two
 * procedures syncing at once would otherwise fetch and apply the same range twice (harmless,
 * the indexer is idempotent, but wasted work and lock contention on SQLite).
 */
import type { Indexer } from "@opencohort/chain/indexer/indexer";

const running = new WeakMap<Indexer, Promise<void>>();

/** Syncs the indexer (or `chain.indexer`) up to the chain head. */
export function syncIndexer(chain: Indexer | { indexer: Indexer }): Promise<void> {
  const indexer = "indexer" in chain ? chain.indexer : chain;
  const previous = running.get(indexer) ?? Promise.resolve();
  const next = previous
    .catch(() => undefined)
    .then(async () => {
      await indexer.syncOnce();
    });
  running.set(indexer, next);
  return next;
}

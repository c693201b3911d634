/**
 * Brings the mirrored tables up to the chain head before a read that must not lag (a pass
 * just bought, a consent just revoked). Calls on one indexer run one after another: two
 * procedures syncing at once would otherwise fetch and apply the same range twice (harmless,
 * the indexer is idempotent, but wasted work and lock contention on SQLite).
 *
 * viem caches `getBlockNumber` for the client's polling interval, and the indexer asks for
 * the head with the cache on: a block mined a moment ago (the revocation the patient just
 * sent) could be left for the next sync. Asking once with `cacheTime: 0` refreshes that
 * cache, so the indexer sees the real head.
 */
import type { Indexer } from "@opencohort/chain/indexer/indexer";
import type { PublicClient } from "viem";

const running = new WeakMap<Indexer, Promise<void>>();

/**
 * Syncs `chain.indexer` up to the real head of `chain.client` (the client the indexer reads
 * with). A bare indexer (or an indexer and its client) is accepted too.
 */
export function syncIndexer(
  chain: Indexer | { indexer: Indexer; client: PublicClient },
  explicitClient?: PublicClient,
): Promise<void> {
  const indexer = "indexer" in chain ? chain.indexer : chain;
  const client = "indexer" in chain ? chain.client : explicitClient;
  const previous = running.get(indexer) ?? Promise.resolve();
  const next = previous
    .catch(() => undefined)
    .then(async () => {
      await client?.getBlockNumber({ cacheTime: 0 });
      await indexer.syncOnce();
    });
  running.set(indexer, next);
  return next;
}
